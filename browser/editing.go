package browser

import (
	"errors"
	"fmt"
	"image/color"
	"strings"

	"gioui.org/io/key"
	"gioui.org/layout"
	"gioui.org/op/clip"
	"gioui.org/op/paint"
	"gioui.org/unit"
	"gioui.org/widget"
	"gioui.org/widget/material"
)

// editState is the browser's state for the tools of Editing: the history
// of the method in the editor, senders and implementors, and the toolbars
// that create and remove things.
type editState struct {
	// Right pane.
	HistoryButton      widget.Clickable // toggles the history in place of the editor
	RevertButton       widget.Clickable
	SendersButton      widget.Clickable
	ImplementorsButton widget.Clickable
	CloseResults       widget.Clickable
	HistoryList        widget.List
	ResultList         widget.List
	// Left pane.
	NewObjectButton widget.Clickable
	NewTraitButton  widget.Clickable
	RemoveButton    widget.Clickable // asks for a confirming second click
	CreateButton    widget.Clickable
	CancelButton    widget.Clickable
	Name, Proto     widget.Editor
	// Middle pane.
	RemoveSlotButton   widget.Clickable
	RemoveMethodButton widget.Clickable
	AddSlotButton      widget.Clickable // opens the add-slot form
	AddSlotRun         widget.Clickable
	AddSlotCancel      widget.Clickable
	SlotName           widget.Editor    // the form's name
	SlotValue          widget.Editor    // the form's Lua expression (Enter adds)
	TraitsButton       widget.Clickable // opens the traits form
	UseTraitRun        widget.Clickable
	StopTraitRun       widget.Clickable
	TraitCancel        widget.Clickable
	TraitName          widget.Editor // the traits form's trait

	showHistory bool
	history     []Change
	historyRows []historyRow
	historyOf   string // selector the history is of; "" when not loaded

	results      []MethodRef
	resultsTitle string
	resultClicks []widget.Clickable
	showResults  bool

	addingSlot bool   // the add-slot form is open
	addSlotErr string // the last AddSlot's error, shown in the form
	traitsOpen bool   // the traits form is open
	traitErr   string // the last UseTrait's or StopUsingTrait's error

	creating      string // "", "object" or "trait"
	confirmRemove bool
	slot          string // the selected data slot, "" for none
	slotClicks    []widget.Clickable

	requests   []*request
	editAfter  string // selector to put in the editor once the view arrives
	selectName string // global to select once the globals arrive
}

// request is a question or change in flight: run asks the Image (the
// same question each frame until it stops answering ErrPending), done
// takes a successful outcome.
type request struct {
	run  func() error
	done func()
	fail func(error) // nil: the browser's error line shows it
}

type historyRow struct {
	header bool
	text   string
}

// editing returns the Image's Editing, if it has it.
func (b *Browser) editing() (Editing, bool) {
	e, ok := b.Image.(Editing)
	return e, ok
}

// ask starts a request and runs it once now.
func (b *Browser) ask(run func() error, done func()) {
	b.ed.requests = append(b.ed.requests, &request{run: run, done: done})
	b.runRequests()
}

func (b *Browser) runRequests() {
	rs := b.ed.requests
	b.ed.requests = nil
	var keep []*request
	for _, r := range rs {
		err := r.run()
		switch {
		case errors.Is(err, ErrPending):
			keep = append(keep, r)
		case err != nil && r.fail != nil:
			r.fail(err)
		case err != nil:
			b.setErr(err)
		default:
			r.done()
		}
	}
	b.ed.requests = append(keep, b.ed.requests...)
}

// change runs a change of the image and refreshes the panes after it.
func (b *Browser) change(run func(Editing) error, status string, after func()) {
	e, ok := b.editing()
	if !ok {
		return
	}
	b.ask(func() error { return run(e) }, func() {
		b.status, b.err, b.errLine = status, nil, 0
		b.Refresh()
		if after != nil {
			after()
		}
	})
}

// ShowHistory shows (or hides) the history of the method in the editor.
func (b *Browser) ShowHistory(on bool) {
	b.ed.showHistory = on
	if on {
		b.loadHistory()
	}
}

// History returns the loaded history of the method in the editor.
func (b *Browser) History() []Change { return b.ed.history }

// HistoryText returns the lines the history shows, headers and diffs.
func (b *Browser) HistoryText() string {
	var s []string
	for _, r := range b.ed.historyRows {
		s = append(s, r.text)
	}
	return strings.Join(s, "\n")
}

// Results returns the senders or implementors shown, and their title.
func (b *Browser) Results() ([]MethodRef, string) { return b.ed.results, b.ed.resultsTitle }

func (b *Browser) loadHistory() {
	e, ok := b.editing()
	if !ok || !b.hasSelection || b.selector == "" {
		return
	}
	ref, sel := b.selected, b.selector
	b.ask(func() error {
		hs, err := e.History(ref, sel)
		if err == nil && b.selected == ref && b.selector == sel {
			b.setHistory(sel, hs)
		}
		return err
	}, func() {})
}

func (b *Browser) setHistory(sel string, hs []Change) {
	b.ed.history, b.ed.historyOf = hs, sel
	var rows []historyRow
	for i := len(hs) - 1; i >= 0; i-- {
		h := hs[i]
		head := fmt.Sprintf("#%d  %s  %s", i+1, h.Time.Format("2006-01-02 15:04:05"), h.Author)
		if h.Note != "" {
			head += "  " + h.Note
		}
		switch {
		case h.Old == "":
			head += "  (defined)"
		case h.New == "":
			head += "  (removed)"
		}
		rows = append(rows, historyRow{header: true, text: head})
		for _, l := range strings.Split(UnifiedDiff(h.Old, h.New), "\n") {
			rows = append(rows, historyRow{text: l})
		}
	}
	b.ed.historyRows = rows
}

func (b *Browser) resetHistory() {
	b.ed.history, b.ed.historyRows, b.ed.historyOf = nil, nil, ""
	b.ed.showHistory = false
}

func (b *Browser) findSenders(implementors bool) {
	e, ok := b.editing()
	sel := b.selector
	if !ok || sel == "" {
		return
	}
	b.ask(func() error {
		var out []MethodRef
		title := "Senders of " + sel
		if implementors {
			title = "Implementors of " + sel
			refs, err := e.Implementors(sel)
			if err != nil {
				return err
			}
			for _, r := range refs {
				out = append(out, MethodRef{Object: r, Selector: sel})
			}
		} else {
			var err error
			if out, err = e.Senders(sel); err != nil {
				return err
			}
		}
		b.ed.results, b.ed.resultsTitle, b.ed.showResults = out, title, true
		b.ed.resultClicks = make([]widget.Clickable, len(out))
		return nil
	}, func() {})
}

// OpenMethod selects ref and puts its method selector in the editor once
// the object's view has arrived.
func (b *Browser) OpenMethod(m MethodRef) {
	b.Select(m.Object)
	b.ed.editAfter = m.Selector
}

// updateEditing handles the clicks on the editing tools.
func (b *Browser) updateEditing(gtx layout.Context) {
	ed := &b.ed
	if _, ok := b.editing(); !ok {
		return
	}
	for i := range ed.slotClicks {
		if ed.slotClicks[i].Clicked(gtx) && b.view != nil && i < len(b.view.Slots) {
			ed.slot = b.view.Slots[i].Name
		}
	}
	for i := range ed.resultClicks {
		if ed.resultClicks[i].Clicked(gtx) {
			b.OpenMethod(ed.results[i])
		}
	}
	if ed.CloseResults.Clicked(gtx) {
		ed.showResults = false
	}
	if ed.HistoryButton.Clicked(gtx) {
		b.ShowHistory(!ed.showHistory)
	}
	if ed.SendersButton.Clicked(gtx) {
		b.findSenders(false)
	}
	if ed.ImplementorsButton.Clicked(gtx) {
		b.findSenders(true)
	}
	if ed.RevertButton.Clicked(gtx) && b.hasSelection && b.selector != "" {
		ref, sel := b.selected, b.selector
		b.change(func(e Editing) error { return e.Revert(ref, sel) }, "reverted "+ref.Name+">>"+sel, func() {
			b.ed.editAfter = sel // Edit reloads the history shown
		})
	}
	if ed.NewObjectButton.Clicked(gtx) {
		ed.creating, ed.confirmRemove = "object", false
	}
	if ed.NewTraitButton.Clicked(gtx) {
		ed.creating, ed.confirmRemove = "trait", false
	}
	if ed.CancelButton.Clicked(gtx) {
		ed.creating = ""
	}
	if ed.CreateButton.Clicked(gtx) {
		name := strings.TrimSpace(ed.Name.Text())
		proto := strings.TrimSpace(ed.Proto.Text())
		if ed.creating == "trait" {
			proto = "Trait"
		} else if proto == "" {
			proto = "Object"
		}
		b.change(func(e Editing) error { return e.CreateObject(name, proto) }, "created "+name+" = "+proto+":clone()", func() {
			b.ed.creating, b.ed.selectName = "", name
			b.ed.Name.SetText("")
			b.ed.Proto.SetText("")
		})
	}
	if ed.RemoveButton.Clicked(gtx) && b.hasSelection {
		if !ed.confirmRemove {
			ed.confirmRemove = true
		} else {
			ed.confirmRemove = false
			name := b.selected.Name
			b.change(func(e Editing) error { return e.RemoveGlobal(name) }, "removed "+name, func() {
				if b.hasSelection && b.selected.Name == name {
					b.selected, b.hasSelection, b.view, b.needView = ObjectRef{}, false, nil, false
					b.selector = ""
					b.Source.SetText("")
				}
			})
		}
	}
	if ed.AddSlotButton.Clicked(gtx) && b.hasSelection {
		ed.addingSlot, ed.addSlotErr = true, ""
		gtx.Execute(key.FocusCmd{Tag: &ed.SlotName})
	}
	if ed.AddSlotCancel.Clicked(gtx) {
		ed.addingSlot, ed.addSlotErr = false, ""
	}
	add := ed.AddSlotRun.Clicked(gtx)
	for {
		ev, ok := ed.SlotValue.Update(gtx)
		if !ok {
			break
		}
		if _, ok := ev.(widget.SubmitEvent); ok {
			add = true
		}
	}
	if ed.TraitsButton.Clicked(gtx) && b.hasSelection {
		ed.traitsOpen, ed.traitErr = !ed.traitsOpen, ""
		gtx.Execute(key.FocusCmd{Tag: &ed.TraitName})
	}
	if ed.TraitCancel.Clicked(gtx) {
		ed.traitsOpen, ed.traitErr = false, ""
		ed.TraitName.SetText("")
	}
	if ed.UseTraitRun.Clicked(gtx) && ed.traitsOpen {
		b.ComposeTrait(strings.TrimSpace(ed.TraitName.Text()), true)
	}
	if ed.StopTraitRun.Clicked(gtx) && ed.traitsOpen {
		b.ComposeTrait(strings.TrimSpace(ed.TraitName.Text()), false)
	}
	if add && ed.addingSlot && b.hasSelection {
		b.AddSlot(strings.TrimSpace(ed.SlotName.Text()), ed.SlotValue.Text())
	}
	if ed.RemoveSlotButton.Clicked(gtx) && b.hasSelection && ed.slot != "" {
		ref, key := b.selected, ed.slot
		b.change(func(e Editing) error { return e.RemoveSlot(ref, key) }, "removed "+ref.Name+"."+key, func() { b.ed.slot = "" })
	}
	if ed.RemoveMethodButton.Clicked(gtx) && b.hasSelection && b.selector != "" {
		ref, sel := b.selected, b.selector
		b.change(func(e Editing) error { return e.RemoveMethod(ref, sel) }, "removed "+ref.Name+">>"+sel, func() {
			if b.selected == ref && b.selector == sel {
				b.selector = ""
				b.Source.SetText("")
				b.resetHistory()
			}
		})
	}
}

// AddSlot adds the slot name = expr to the selected object (what the
// add-slot form's Create slot does). An error stays in the form, which keeps
// what was typed; success closes it and selects the new slot.
func (b *Browser) AddSlot(name, expr string) {
	e, ok := b.editing()
	if !ok || !b.hasSelection {
		return
	}
	ref := b.selected
	b.ed.addSlotErr = ""
	b.ed.requests = append(b.ed.requests, &request{
		run: func() error { return e.AddSlot(ref, name, expr) },
		done: func() {
			b.status, b.err, b.errLine = "added "+ref.Name+"."+name+" = "+strings.TrimSpace(expr), nil, 0
			b.ed.addingSlot, b.ed.addSlotErr, b.ed.slot = false, "", name
			b.ed.SlotName.SetText("")
			b.ed.SlotValue.SetText("")
			b.Refresh()
		},
		fail: func(err error) { b.ed.addSlotErr = err.Error() },
	})
	b.runRequests()
}

// ComposeTrait makes the selected object use (add) or stop using the
// global trait name (what the traits form's buttons do). An error, a
// trait conflict among them, stays in the form.
func (b *Browser) ComposeTrait(name string, add bool) {
	e, ok := b.editing()
	if !ok || !b.hasSelection {
		return
	}
	ref := b.selected
	b.ed.traitErr = ""
	status := ref.Name + " uses " + name
	if !add {
		status = ref.Name + " no longer uses " + name
	}
	b.ed.requests = append(b.ed.requests, &request{
		run: func() error {
			if add {
				return e.UseTrait(ref, name)
			}
			return e.StopUsingTrait(ref, name)
		},
		done: func() {
			b.status, b.err, b.errLine = status, nil, 0
			b.ed.traitsOpen, b.ed.traitErr = false, ""
			b.ed.TraitName.SetText("")
			b.Refresh()
		},
		fail: func(err error) { b.ed.traitErr = err.Error() },
	})
	b.runRequests()
}

// TraitErr is the traits form's error, "" when there is none.
func (b *Browser) TraitErr() string { return b.ed.traitErr }

// AddSlotErr is the add-slot form's error, "" when there is none.
func (b *Browser) AddSlotErr() string { return b.ed.addSlotErr }

// afterGlobals selects a global created by the browser once it is listed.
func (b *Browser) afterGlobals() {
	name := b.ed.selectName
	if name == "" {
		return
	}
	b.ed.selectName = ""
	for _, g := range b.globals {
		if g.Name == name {
			b.Select(g)
			return
		}
	}
}

// afterView puts the method asked for in the editor once the view arrived.
func (b *Browser) afterView() {
	b.ed.slotClicks = make([]widget.Clickable, len(b.view.Slots))
	if b.ed.slot != "" {
		found := false
		for _, s := range b.view.Slots {
			found = found || s.Name == b.ed.slot
		}
		if !found {
			b.ed.slot = ""
		}
	}
	if sel := b.ed.editAfter; sel != "" {
		b.ed.editAfter = ""
		status := b.status
		b.Edit(sel)
		b.status = status
	}
}

var (
	addedColor   = color.NRGBA{R: 0xd8, G: 0xf5, B: 0xd8, A: 0xff}
	removedColor = color.NRGBA{R: 0xfa, G: 0xd8, B: 0xd8, A: 0xff}
	hunkColor    = color.NRGBA{R: 0x70, G: 0x70, B: 0xa0, A: 0xff}
	toggledColor = color.NRGBA{R: 0x20, G: 0x40, B: 0x80, A: 0xff}
	dangerColor  = color.NRGBA{R: 0xb0, G: 0x30, B: 0x30, A: 0xff}
)

const monospace = "Go Mono, monospace"

// smallButton is a compact button for the toolbars.
func smallButton(th *material.Theme, c *widget.Clickable, label string) material.ButtonStyle {
	btn := material.Button(th, c, label)
	btn.TextSize = unit.Sp(12)
	btn.Inset = layout.Inset{Top: unit.Dp(4), Bottom: unit.Dp(4), Left: unit.Dp(6), Right: unit.Dp(6)}
	return btn
}

// buttons lays out widgets in a row with a small gap between them.
func buttons(gtx layout.Context, ws ...layout.Widget) layout.Dimensions {
	var cs []layout.FlexChild
	for _, w := range ws {
		if w == nil {
			continue
		}
		w := w
		cs = append(cs, layout.Rigid(func(gtx layout.Context) layout.Dimensions {
			return layout.Inset{Right: unit.Dp(4), Top: unit.Dp(2), Bottom: unit.Dp(2)}.Layout(gtx, w)
		}))
	}
	return layout.Flex{Axis: layout.Horizontal, Alignment: layout.Middle}.Layout(gtx, cs...)
}

// layoutObjectTools is the toolbar of the object list.
func (b *Browser) layoutObjectTools(gtx layout.Context, th *material.Theme) layout.Dimensions {
	if _, ok := b.editing(); !ok {
		return layout.Dimensions{}
	}
	ed := &b.ed
	var remove layout.Widget
	if b.hasSelection {
		label := "Remove"
		if ed.confirmRemove {
			label = "Remove " + b.selected.Name + "? Click again"
		}
		btn := smallButton(th, &ed.RemoveButton, label)
		btn.Background = dangerColor
		remove = btn.Layout
	}
	children := []layout.FlexChild{
		layout.Rigid(func(gtx layout.Context) layout.Dimensions {
			return buttons(gtx, smallButton(th, &ed.NewObjectButton, "New object").Layout,
				smallButton(th, &ed.NewTraitButton, "New trait").Layout, remove)
		}),
	}
	if ed.creating != "" {
		field := func(e *widget.Editor, hint string) layout.FlexChild {
			e.SingleLine = true
			return layout.Rigid(func(gtx layout.Context) layout.Dimensions {
				return layout.Inset{Top: unit.Dp(2)}.Layout(gtx, func(gtx layout.Context) layout.Dimensions {
					return widget.Border{Color: borderColor, Width: unit.Dp(1)}.Layout(gtx, func(gtx layout.Context) layout.Dimensions {
						return layout.UniformInset(unit.Dp(3)).Layout(gtx, material.Editor(th, e, hint).Layout)
					})
				})
			})
		}
		hint := "Name of the new object"
		if ed.creating == "trait" {
			hint = "Name of the new trait"
		}
		children = append(children, field(&ed.Name, hint))
		if ed.creating == "object" {
			children = append(children, field(&ed.Proto, "Prototype (Object)"))
		}
		children = append(children, layout.Rigid(func(gtx layout.Context) layout.Dimensions {
			return buttons(gtx, smallButton(th, &ed.CreateButton, "Create").Layout, smallButton(th, &ed.CancelButton, "Cancel").Layout)
		}))
	}
	return layout.Inset{Top: unit.Dp(2)}.Layout(gtx, func(gtx layout.Context) layout.Dimensions {
		return layout.Flex{Axis: layout.Vertical}.Layout(gtx, children...)
	})
}

// layoutDetailTools adds a slot to the selected object (its form) and
// removes the selected slot or method.
func (b *Browser) layoutDetailTools(gtx layout.Context, th *material.Theme) layout.Dimensions {
	if _, ok := b.editing(); !ok || b.view == nil {
		return layout.Dimensions{}
	}
	ed := &b.ed
	var slot, method layout.Widget
	if ed.slot != "" {
		btn := smallButton(th, &ed.RemoveSlotButton, "Remove slot "+ed.slot)
		btn.Background = dangerColor
		slot = btn.Layout
	}
	if b.selector != "" {
		btn := smallButton(th, &ed.RemoveMethodButton, "Remove method "+b.selector)
		btn.Background = dangerColor
		method = btn.Layout
	}
	rows := []layout.FlexChild{layout.Rigid(func(gtx layout.Context) layout.Dimensions {
		return buttons(gtx, smallButton(th, &ed.AddSlotButton, "Add slot").Layout, smallButton(th, &ed.TraitsButton, "Traits…").Layout, slot, method)
	})}
	if ed.addingSlot {
		ed.SlotName.SingleLine = true
		ed.SlotValue.SingleLine, ed.SlotValue.Submit = true, true
		field := func(e *widget.Editor, hint string, mono bool) layout.FlexChild {
			return layout.Rigid(func(gtx layout.Context) layout.Dimensions {
				return layout.Inset{Top: unit.Dp(2)}.Layout(gtx, func(gtx layout.Context) layout.Dimensions {
					return widget.Border{Color: borderColor, Width: unit.Dp(1)}.Layout(gtx, func(gtx layout.Context) layout.Dimensions {
						gtx.Constraints.Min.X = gtx.Constraints.Max.X
						return layout.UniformInset(unit.Dp(3)).Layout(gtx, func(gtx layout.Context) layout.Dimensions {
							me := material.Editor(th, e, hint)
							if mono {
								me.Font.Typeface = monospace
							}
							return me.Layout(gtx)
						})
					})
				})
			})
		}
		rows = append(rows,
			layout.Rigid(material.Caption(th, "New slot of "+b.selected.Name).Layout),
			field(&ed.SlotName, "Slot name", false),
			field(&ed.SlotValue, "Value: a Lua expression, e.g. 0", true),
			layout.Rigid(func(gtx layout.Context) layout.Dimensions {
				return buttons(gtx, smallButton(th, &ed.AddSlotRun, "Create slot").Layout, smallButton(th, &ed.AddSlotCancel, "Cancel").Layout)
			}))
		if ed.addSlotErr != "" {
			rows = append(rows, layout.Rigid(func(gtx layout.Context) layout.Dimensions {
				l := material.Body2(th, ed.addSlotErr)
				l.Color = dangerColor
				return l.Layout(gtx)
			}))
		}
	}
	if ed.traitsOpen {
		ed.TraitName.SingleLine = true
		rows = append(rows,
			layout.Rigid(material.Caption(th, "Traits of "+b.selected.Name+": use one, or stop using one").Layout),
			layout.Rigid(func(gtx layout.Context) layout.Dimensions {
				return layout.Inset{Top: unit.Dp(2)}.Layout(gtx, func(gtx layout.Context) layout.Dimensions {
					return widget.Border{Color: borderColor, Width: unit.Dp(1)}.Layout(gtx, func(gtx layout.Context) layout.Dimensions {
						gtx.Constraints.Min.X = gtx.Constraints.Max.X
						return layout.UniformInset(unit.Dp(3)).Layout(gtx, material.Editor(th, &ed.TraitName, "Trait name, e.g. Comparable").Layout)
					})
				})
			}),
			layout.Rigid(func(gtx layout.Context) layout.Dimensions {
				return buttons(gtx, smallButton(th, &ed.UseTraitRun, "Use trait").Layout,
					smallButton(th, &ed.StopTraitRun, "Stop using trait").Layout, smallButton(th, &ed.TraitCancel, "Cancel").Layout)
			}))
		if ed.traitErr != "" {
			rows = append(rows, layout.Rigid(func(gtx layout.Context) layout.Dimensions {
				l := material.Body2(th, ed.traitErr)
				l.Color = dangerColor
				return l.Layout(gtx)
			}))
		}
	}
	return layout.Flex{Axis: layout.Vertical}.Layout(gtx, rows...)
}

// layoutMethodTools is the toolbar above the editor.
func (b *Browser) layoutMethodTools(gtx layout.Context, th *material.Theme) layout.Dimensions {
	if _, ok := b.editing(); !ok || !b.hasSelection || b.selector == "" {
		return layout.Dimensions{}
	}
	hist := smallButton(th, &b.ed.HistoryButton, "History")
	if b.ed.showHistory {
		hist.Background = toggledColor
		hist.Text = "Hide history"
	}
	return buttons(gtx, hist.Layout,
		smallButton(th, &b.ed.SendersButton, "Senders").Layout,
		smallButton(th, &b.ed.ImplementorsButton, "Implementors").Layout)
}

// layoutResults lists senders or implementors above the editor.
func (b *Browser) layoutResults(gtx layout.Context, th *material.Theme) layout.Dimensions {
	ed := &b.ed
	if !ed.showResults {
		return layout.Dimensions{}
	}
	ed.ResultList.Axis = layout.Vertical
	if max := gtx.Dp(unit.Dp(160)); gtx.Constraints.Max.Y > max {
		gtx.Constraints.Max.Y = max
	}
	return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
		layout.Rigid(func(gtx layout.Context) layout.Dimensions {
			return layout.Flex{Axis: layout.Horizontal, Alignment: layout.Middle}.Layout(gtx,
				layout.Flexed(1, func(gtx layout.Context) layout.Dimensions {
					l := material.Subtitle2(th, fmt.Sprintf("%s (%d)", ed.resultsTitle, len(ed.results)))
					l.Color = headerColor
					return l.Layout(gtx)
				}),
				layout.Rigid(smallButton(th, &ed.CloseResults, "Close").Layout),
			)
		}),
		layout.Flexed(1, func(gtx layout.Context) layout.Dimensions {
			if len(ed.results) == 0 {
				return material.Caption(th, "none").Layout(gtx)
			}
			return material.List(th, &ed.ResultList).Layout(gtx, len(ed.results), func(gtx layout.Context, i int) layout.Dimensions {
				r := ed.results[i]
				sel := b.hasSelection && b.selected.Name == r.Object.Name && b.selector == r.Selector
				return row(gtx, th, &ed.resultClicks[i], r.Object.Name+">>"+r.Selector, r.Object.Kind, sel)
			})
		}),
	)
}

// layoutHistory lists the versions of the method, newest first, each with
// the unified diff of its change.
func (b *Browser) layoutHistory(gtx layout.Context, th *material.Theme) layout.Dimensions {
	ed := &b.ed
	ed.HistoryList.Axis = layout.Vertical
	if ed.historyOf != b.selector {
		return material.Body2(th, "Loading the history…").Layout(gtx)
	}
	if len(ed.historyRows) == 0 {
		return material.Body2(th, "No committed history").Layout(gtx)
	}
	return material.List(th, &ed.HistoryList).Layout(gtx, len(ed.historyRows), func(gtx layout.Context, i int) layout.Dimensions {
		r := ed.historyRows[i]
		if r.header {
			l := material.Subtitle2(th, r.text)
			l.Color = headerColor
			return layout.Inset{Top: unit.Dp(6), Bottom: unit.Dp(2)}.Layout(gtx, l.Layout)
		}
		l := material.Body2(th, r.text)
		l.Font.Typeface = monospace
		l.TextSize = unit.Sp(12)
		var bg color.NRGBA
		switch {
		case strings.HasPrefix(r.text, "+"):
			bg = addedColor
		case strings.HasPrefix(r.text, "-"):
			bg = removedColor
		case strings.HasPrefix(r.text, "@@"):
			l.Color = hunkColor
		}
		gtx.Constraints.Min.X = gtx.Constraints.Max.X
		return layout.Background{}.Layout(gtx,
			func(gtx layout.Context) layout.Dimensions {
				if bg.A != 0 {
					paint.FillShape(gtx.Ops, bg, clip.Rect{Max: gtx.Constraints.Min}.Op())
				}
				return layout.Dimensions{Size: gtx.Constraints.Min}
			},
			func(gtx layout.Context) layout.Dimensions {
				return layout.Inset{Left: unit.Dp(4)}.Layout(gtx, l.Layout)
			})
	})
}
