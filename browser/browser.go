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

// Browser is the state of an object browser over one Image. The zero value
// plus an Image is ready to use; Layout draws it and handles the input of
// the previous frame.
type Browser struct {
	Image Image

	// Left pane.
	Search  widget.Editor // filters the Lobby's objects by name
	Objects widget.List   // the tree of objects, flattened to its visible rows
	// Middle pane.
	Detail widget.List
	// Right pane.
	Source       widget.Editor // the method being edited
	AcceptButton widget.Clickable

	globals       []ObjectRef
	byName        map[string]int // index of globals by name, built by Global
	lower         []string       // lower-cased names of globals, for the search
	globalsLoaded bool
	visible       []visRow // the tree's rows after the search filter (tree.go)
	shown         int      // globals among visible
	query         string   // the search text visible is computed for
	filterValid   bool
	resetScroll   bool              // scroll to the top when next filtering
	rows          map[int]*treeNode // by index into globals; only rows that were shown or expanded
	anyExpanded   bool              // some node of rows was expanded
	wantChildren  []*treeNode       // expanded nodes whose children are asked for

	selected     ObjectRef
	hasSelection bool
	view         *ObjectView
	needView     bool
	chainClicks  []widget.Clickable
	traitClicks  []widget.Clickable
	methodClicks []widget.Clickable
	detailRows   []detailRow

	selector string // method in the editor; "" for a new one
	pending  *acceptRequest
	status   string // last outcome of Accept, or ""
	err      error  // last error of Accept, Describe or Globals
	errLine  int    // the error's line in the source, or 0

	ed editState // history, senders, implementors, create and remove (editing.go)
}

type acceptRequest struct {
	ref              ObjectRef
	selector, source string
}

// Selected returns the object shown in the middle pane.
func (b *Browser) Selected() (ObjectRef, bool) { return b.selected, b.hasSelection }

// View returns the snapshot shown in the middle pane, or nil.
func (b *Browser) View() *ObjectView { return b.view }

// Selector returns the selector of the method in the editor ("" for a new method).
func (b *Browser) Selector() string { return b.selector }

// Listed returns the objects the left pane lists (after the search
// filter): the rows of the tree, children under their expanded parents.
func (b *Browser) Listed() []ObjectRef {
	out := make([]ObjectRef, len(b.visible))
	for i, r := range b.visible {
		if r.g >= 0 {
			out[i] = b.globals[r.g]
		} else {
			out[i] = r.node.ref
		}
	}
	return out
}

// Global returns the global named name, whatever the search shows; false
// if there is none or the globals have not arrived yet.
func (b *Browser) Global(name string) (ObjectRef, bool) {
	if b.byName == nil && len(b.globals) > 0 {
		b.byName = make(map[string]int, len(b.globals))
		for i, g := range b.globals {
			if _, dup := b.byName[g.Name]; !dup {
				b.byName[g.Name] = i
			}
		}
	}
	i, ok := b.byName[name]
	if !ok {
		return ObjectRef{}, false
	}
	return b.globals[i], true
}

// Status returns the message of the last successful Accept, or "".
func (b *Browser) Status() string { return b.status }

// Err returns the last error shown and, for a compile error, its line in
// the editor's source (1-based), else 0.
func (b *Browser) Err() (error, int) { return b.err, b.errLine }

// Refresh forgets the cached globals and snapshot, so the next frame asks
// the Image again (after the image changed under the browser).
func (b *Browser) Refresh() {
	b.globalsLoaded = false
	if b.hasSelection {
		b.needView = true
	}
}

// Select shows ref in the middle pane and clears the editor.
func (b *Browser) Select(ref ObjectRef) {
	b.selected, b.hasSelection = ref, true
	b.view, b.needView = nil, true
	b.selector = ""
	b.Source.SetText("")
	b.status, b.err, b.errLine = "", nil, 0
	b.resetHistory()
	b.ed.slot, b.ed.confirmRemove, b.ed.editAfter = "", false, ""
}

// Edit puts method selector of the selected object in the editor.
func (b *Browser) Edit(selector string) {
	b.selector = selector
	src := ""
	if b.view != nil {
		if m, ok := b.view.Method(selector); ok {
			src = m.Source
		}
	}
	b.Source.SetText(src)
	b.status, b.err, b.errLine = "", nil, 0
	if b.ed.showHistory && selector != "" {
		b.loadHistory()
	} else {
		b.resetHistory()
	}
}

// Accept sends the editor's source to the Image as the selected object's
// method. The outcome shows on a following frame (Status, Err).
func (b *Browser) Accept() {
	if !b.hasSelection {
		b.setErr(errors.New("select an object first"))
		return
	}
	b.pending = &acceptRequest{ref: b.selected, selector: b.selector, source: b.Source.Text()}
	b.runPending()
}

func (b *Browser) setErr(err error) {
	b.err, b.errLine, b.status = err, ErrorLine(err), ""
}

func (b *Browser) runPending() {
	p := b.pending
	if p == nil {
		return
	}
	err := b.Image.Accept(p.ref, p.selector, p.source)
	if errors.Is(err, ErrPending) {
		return
	}
	b.pending = nil
	if err != nil {
		b.setErr(err)
		return
	}
	name := p.selector
	if name == "" {
		name = "a new method"
	}
	b.status, b.err, b.errLine = "accepted "+p.ref.Name+">>"+name, nil, 0
	b.needView = true
}

// load asks the Image for what the panes need and does not have yet.
func (b *Browser) load() {
	if b.Image == nil {
		return
	}
	b.runPending()
	b.runRequests()
	if !b.globalsLoaded {
		gs, err := b.Image.Globals()
		switch {
		case errors.Is(err, ErrPending):
		case err != nil:
			b.setErr(err)
			b.globalsLoaded = true
		default:
			b.globals, b.globalsLoaded, b.filterValid, b.resetScroll = gs, true, false, true
			b.byName = nil
			b.lower = make([]string, len(gs))
			for i, g := range gs {
				b.lower[i] = strings.ToLower(g.Name)
			}
			old := b.rows
			b.rows = make(map[int]*treeNode)
			b.anyExpanded = false
			b.wantChildren = b.wantChildren[:0]
			b.keepExpanded(old)
			b.anyExpanded = len(b.rows) > 0
			b.afterGlobals()
		}
	}
	b.loadChildren()
	if b.needView && b.hasSelection {
		v, err := b.Image.Describe(b.selected)
		switch {
		case errors.Is(err, ErrPending):
		case err != nil:
			b.needView = false
			b.setErr(err)
		default:
			b.needView = false
			b.view = &v
			b.buildDetail()
			b.afterView()
		}
	}
}

// Layout handles the last frame's input and draws the three panes.
func (b *Browser) Layout(gtx layout.Context, th *material.Theme) layout.Dimensions {
	b.Search.SingleLine = true
	b.Objects.Axis = layout.Vertical
	b.Detail.Axis = layout.Vertical
	b.update(gtx)
	b.load()
	b.filter()

	paint.FillShape(gtx.Ops, th.Bg, clip.Rect{Max: gtx.Constraints.Max}.Op())
	return layout.Flex{Axis: layout.Horizontal}.Layout(gtx,
		layout.Flexed(0.25, func(gtx layout.Context) layout.Dimensions { return pane(gtx, b.layoutObjects, th) }),
		layout.Flexed(0.30, func(gtx layout.Context) layout.Dimensions { return pane(gtx, b.layoutDetail, th) }),
		layout.Flexed(0.45, func(gtx layout.Context) layout.Dimensions { return pane(gtx, b.layoutEditor, th) }),
	)
}

// update handles clicks and shortcuts of the previous frame.
func (b *Browser) update(gtx layout.Context) {
	b.updateEditing(gtx)
	b.updateTree(gtx)
	if b.view != nil {
		for i := range b.chainClicks {
			if b.chainClicks[i].Clicked(gtx) {
				b.Select(b.view.Chain[i])
				return
			}
		}
		for i := range b.traitClicks {
			if b.traitClicks[i].Clicked(gtx) {
				b.Select(b.view.Traits[i])
				return
			}
		}
		for i := range b.methodClicks {
			if b.methodClicks[i].Clicked(gtx) {
				b.Edit(b.view.Methods[i].Selector)
			}
		}
	}
	// Let the editors take their input now, so that this frame filters
	// and accepts what was typed.
	for {
		if _, ok := b.Search.Update(gtx); !ok {
			break
		}
	}
	for {
		if _, ok := b.Source.Update(gtx); !ok {
			break
		}
	}
	accept := b.AcceptButton.Clicked(gtx)
	for {
		ev, ok := gtx.Event(
			key.Filter{Focus: &b.Source, Name: "S", Required: key.ModShortcut},
			key.Filter{Focus: &b.Source, Name: key.NameReturn, Required: key.ModShortcut},
			key.Filter{Focus: &b.Source, Name: key.NameEnter, Required: key.ModShortcut},
		)
		if !ok {
			break
		}
		if e, ok := ev.(key.Event); ok && e.State == key.Press {
			accept = true
		}
	}
	if accept {
		b.Accept()
	}
}

var (
	borderColor   = color.NRGBA{R: 0xc0, G: 0xc0, B: 0xc0, A: 0xff}
	selectedColor = color.NRGBA{R: 0xcc, G: 0xe0, B: 0xff, A: 0xff}
	headerColor   = color.NRGBA{R: 0x30, G: 0x50, B: 0x90, A: 0xff}
	errorColor    = color.NRGBA{R: 0xb0, G: 0x10, B: 0x10, A: 0xff}
	okColor       = color.NRGBA{R: 0x10, G: 0x80, B: 0x30, A: 0xff}
)

func pane(gtx layout.Context, w func(layout.Context, *material.Theme) layout.Dimensions, th *material.Theme) layout.Dimensions {
	gtx.Constraints.Min = gtx.Constraints.Max
	return widget.Border{Color: borderColor, Width: unit.Dp(1)}.Layout(gtx, func(gtx layout.Context) layout.Dimensions {
		gtx.Constraints.Min = gtx.Constraints.Max
		return layout.UniformInset(unit.Dp(4)).Layout(gtx, func(gtx layout.Context) layout.Dimensions {
			return w(gtx, th)
		})
	})
}

func (b *Browser) layoutObjects(gtx layout.Context, th *material.Theme) layout.Dimensions {
	return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
		layout.Rigid(func(gtx layout.Context) layout.Dimensions {
			return widget.Border{Color: borderColor, Width: unit.Dp(1)}.Layout(gtx, func(gtx layout.Context) layout.Dimensions {
				return layout.UniformInset(unit.Dp(4)).Layout(gtx, material.Editor(th, &b.Search, "Search objects").Layout)
			})
		}),
		layout.Rigid(func(gtx layout.Context) layout.Dimensions { return b.layoutObjectTools(gtx, th) }),
		layout.Rigid(func(gtx layout.Context) layout.Dimensions {
			l := material.Caption(th, fmt.Sprintf("%d of %d objects", b.shown, len(b.globals)))
			return layout.Inset{Top: unit.Dp(2), Bottom: unit.Dp(2)}.Layout(gtx, l.Layout)
		}),
		layout.Flexed(1, func(gtx layout.Context) layout.Dimensions {
			return material.List(th, &b.Objects).Layout(gtx, len(b.visible), func(gtx layout.Context, i int) layout.Dimensions {
				return b.layoutTreeRow(gtx, th, b.visible[i])
			})
		}),
	)
}

func kindLabel(r ObjectRef) string {
	if r.Proto != "" {
		return r.Kind + " : " + r.Proto
	}
	return r.Kind
}

// row is a clickable line with a name and a grey note after it.
func row(gtx layout.Context, th *material.Theme, c *widget.Clickable, name, note string, selected bool) layout.Dimensions {
	gtx.Constraints.Min.X = gtx.Constraints.Max.X
	return c.Layout(gtx, func(gtx layout.Context) layout.Dimensions {
		return layout.Background{}.Layout(gtx,
			func(gtx layout.Context) layout.Dimensions {
				sz := gtx.Constraints.Min
				if selected {
					paint.FillShape(gtx.Ops, selectedColor, clip.Rect{Max: sz}.Op())
				} else if c.Hovered() {
					paint.FillShape(gtx.Ops, color.NRGBA{A: 0x10}, clip.Rect{Max: sz}.Op())
				}
				return layout.Dimensions{Size: sz}
			},
			func(gtx layout.Context) layout.Dimensions {
				return layout.Inset{Top: unit.Dp(2), Bottom: unit.Dp(2), Left: unit.Dp(4)}.Layout(gtx, func(gtx layout.Context) layout.Dimensions {
					return layout.Flex{Axis: layout.Horizontal, Alignment: layout.Baseline}.Layout(gtx,
						layout.Rigid(material.Body2(th, name).Layout),
						layout.Rigid(func(gtx layout.Context) layout.Dimensions {
							if note == "" {
								return layout.Dimensions{}
							}
							l := material.Caption(th, "  "+note)
							l.Color = color.NRGBA{R: 0x80, G: 0x80, B: 0x80, A: 0xff}
							return l.Layout(gtx)
						}),
					)
				})
			})
	})
}

type detailKind uint8

const (
	detailHeader detailKind = iota
	detailSection
	detailChain
	detailTrait
	detailSlot
	detailMethod
	detailConflict
	detailNone
)

// detailRow is one line of the middle pane; i indexes the view's list of
// that kind.
type detailRow struct {
	kind  detailKind
	i     int
	label string
}

func (b *Browser) buildDetail() {
	v := b.view
	b.chainClicks = make([]widget.Clickable, len(v.Chain))
	b.traitClicks = make([]widget.Clickable, len(v.Traits))
	b.methodClicks = make([]widget.Clickable, len(v.Methods))
	rows := []detailRow{{kind: detailHeader, label: v.Ref.Name + "  (" + v.Ref.Kind + ")"}}
	section := func(name string, n int, k detailKind) {
		rows = append(rows, detailRow{kind: detailSection, label: name})
		if n == 0 {
			rows = append(rows, detailRow{kind: detailNone, label: "none"})
		}
		for i := 0; i < n; i++ {
			rows = append(rows, detailRow{kind: k, i: i})
		}
	}
	section("Prototype chain", len(v.Chain), detailChain)
	section("Traits", len(v.Traits), detailTrait)
	section("Slots", len(v.Slots), detailSlot)
	section("Methods", len(v.Methods), detailMethod)
	if len(v.Conflicts) > 0 {
		section("Conflicts", len(v.Conflicts), detailConflict)
	}
	b.detailRows = rows
}

func (b *Browser) layoutDetail(gtx layout.Context, th *material.Theme) layout.Dimensions {
	if b.view == nil {
		msg := "Select an object"
		if b.hasSelection {
			msg = "Loading " + b.selected.Name + "…"
		}
		return material.Body2(th, msg).Layout(gtx)
	}
	return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
		layout.Rigid(func(gtx layout.Context) layout.Dimensions { return b.layoutDetailTools(gtx, th) }),
		layout.Flexed(1, func(gtx layout.Context) layout.Dimensions { return b.layoutDetailList(gtx, th) }),
	)
}

func (b *Browser) layoutDetailList(gtx layout.Context, th *material.Theme) layout.Dimensions {
	v := b.view
	return material.List(th, &b.Detail).Layout(gtx, len(b.detailRows), func(gtx layout.Context, n int) layout.Dimensions {
		r := b.detailRows[n]
		switch r.kind {
		case detailHeader:
			l := material.H6(th, r.label)
			return l.Layout(gtx)
		case detailSection:
			l := material.Subtitle2(th, r.label)
			l.Color = headerColor
			return layout.Inset{Top: unit.Dp(6)}.Layout(gtx, l.Layout)
		case detailNone:
			l := material.Caption(th, r.label)
			return layout.Inset{Left: unit.Dp(4)}.Layout(gtx, l.Layout)
		case detailChain:
			return row(gtx, th, &b.chainClicks[r.i], v.Chain[r.i].Name, v.Chain[r.i].Kind, false)
		case detailTrait:
			return row(gtx, th, &b.traitClicks[r.i], v.Traits[r.i].Name, "", false)
		case detailSlot:
			s := v.Slots[r.i]
			if _, ok := b.editing(); ok && r.i < len(b.ed.slotClicks) {
				return row(gtx, th, &b.ed.slotClicks[r.i], s.Name+" = "+s.Value, "", s.Name == b.ed.slot)
			}
			return layout.Inset{Left: unit.Dp(4)}.Layout(gtx, material.Body2(th, s.Name+" = "+s.Value).Layout)
		case detailMethod:
			sel := v.Methods[r.i].Selector
			return row(gtx, th, &b.methodClicks[r.i], sel, "", sel == b.selector)
		case detailConflict:
			c := v.Conflicts[r.i]
			l := material.Body2(th, c.Selector+": "+strings.Join(c.Traits, ", "))
			l.Color = errorColor
			return layout.Inset{Left: unit.Dp(4)}.Layout(gtx, l.Layout)
		}
		return layout.Dimensions{}
	})
}

func (b *Browser) layoutEditor(gtx layout.Context, th *material.Theme) layout.Dimensions {
	title := "New method"
	if b.hasSelection {
		if b.selector != "" {
			title = b.selected.Name + ">>" + b.selector
		} else {
			title = "New method of " + b.selected.Name
		}
	}
	return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
		layout.Rigid(material.Subtitle1(th, title).Layout),
		layout.Rigid(func(gtx layout.Context) layout.Dimensions { return b.layoutMethodTools(gtx, th) }),
		layout.Rigid(func(gtx layout.Context) layout.Dimensions { return b.layoutResults(gtx, th) }),
		layout.Flexed(1, func(gtx layout.Context) layout.Dimensions {
			if b.ed.showHistory {
				return b.layoutHistory(gtx, th)
			}
			gtx.Constraints.Min = gtx.Constraints.Max
			return widget.Border{Color: borderColor, Width: unit.Dp(1)}.Layout(gtx, func(gtx layout.Context) layout.Dimensions {
				gtx.Constraints.Min = gtx.Constraints.Max
				return layout.UniformInset(unit.Dp(4)).Layout(gtx, func(gtx layout.Context) layout.Dimensions {
					e := material.Editor(th, &b.Source, "function Object:selector(...)\n  ...\nend")
					e.Font.Typeface = "Go Mono, monospace"
					return e.Layout(gtx)
				})
			})
		}),
		layout.Rigid(func(gtx layout.Context) layout.Dimensions {
			return layout.Inset{Top: unit.Dp(4)}.Layout(gtx, func(gtx layout.Context) layout.Dimensions {
				return layout.Flex{Axis: layout.Horizontal, Alignment: layout.Middle}.Layout(gtx,
					layout.Rigid(func(gtx layout.Context) layout.Dimensions {
						if b.ed.showHistory {
							return material.Button(th, &b.ed.RevertButton, "Revert").Layout(gtx)
						}
						return material.Button(th, &b.AcceptButton, "Accept").Layout(gtx)
					}),
					layout.Flexed(1, func(gtx layout.Context) layout.Dimensions {
						return layout.Inset{Left: unit.Dp(8)}.Layout(gtx, b.layoutStatus(th))
					}),
				)
			})
		}),
	)
}

func (b *Browser) layoutStatus(th *material.Theme) layout.Widget {
	return func(gtx layout.Context) layout.Dimensions {
		switch {
		case b.err != nil:
			msg := b.err.Error()
			if b.errLine > 0 {
				msg = fmt.Sprintf("line %d: %s", b.errLine, msg)
			}
			l := material.Body2(th, msg)
			l.Color = errorColor
			return l.Layout(gtx)
		case b.pending != nil:
			return material.Body2(th, "accepting…").Layout(gtx)
		case b.status != "":
			l := material.Body2(th, b.status)
			l.Color = okColor
			return l.Layout(gtx)
		}
		hint := "Ctrl-S or Ctrl-Enter accepts"
		if b.ed.showHistory {
			hint = "Revert puts back the source before the last change"
		}
		l := material.Caption(th, hint)
		return l.Layout(gtx)
	}
}

// Open selects ref and puts source in the editor as its method selector
// (a new one, or a replacement), for the person to edit and accept: the
// workspace's "Implement it myself" opens a skeleton this way.
func (b *Browser) Open(ref ObjectRef, selector, source string) {
	b.Select(ref)
	b.selector = selector
	b.Source.SetText(source)
}
