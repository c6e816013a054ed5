package browser

import (
	"errors"
	"image/color"
	"strings"

	"gioui.org/layout"
	"gioui.org/op/clip"
	"gioui.org/op/paint"
	"gioui.org/unit"
	"gioui.org/widget"
	"gioui.org/widget/material"
)

// Inspector is the state of an inspector over one Inspecting image: the
// value it shows (a header with its printString, kind and prototype, then
// its slots or items), a breadcrumb of the values drilled through, an edit
// line for the selected slot and an evaluation line with self bound to the
// value. The zero value plus an Image is ready to use; Open gives it a
// value. Layout draws it and handles the input of the previous frame.
type Inspector struct {
	Image Inspecting

	Entries       widget.List
	EditLine      widget.Editor // a Lua expression for the selected slot; Enter sets it
	EvalLine      widget.Editor // evaluated with self bound; Enter evaluates
	BackButton    widget.Clickable
	RefreshButton widget.Clickable
	ProtoLink     widget.Clickable

	crumbs      []crumb // the values drilled through; the last is shown
	crumbClicks []widget.Clickable
	view        *InspectView
	needView    bool
	keyClicks   []widget.Clickable
	valueClicks []widget.Clickable

	selected string // the key of the slot in the edit line, "" for none
	setReq   *setRequest
	evalReq  *evalRequest
	changed  bool

	status string // outcome of the last SetSlot
	result string // outcome of the last EvalIn
	err    string // last error, with its traceback
}

type crumb struct {
	ref   ValueRef
	label string
}

type setRequest struct {
	ref       ValueRef
	key, expr string
}

type evalRequest struct {
	ref  ValueRef
	expr string
}

// Open shows ref, forgetting the breadcrumb; label names it there.
func (in *Inspector) Open(ref ValueRef, label string) {
	in.crumbs = []crumb{{ref, label}}
	in.show()
}

// Drill shows ref after the current value; label names it in the breadcrumb.
func (in *Inspector) Drill(ref ValueRef, label string) {
	in.crumbs = append(in.crumbs, crumb{ref, label})
	in.show()
}

// Back returns to the previous value of the breadcrumb.
func (in *Inspector) Back() {
	if len(in.crumbs) > 1 {
		in.crumbs = in.crumbs[:len(in.crumbs)-1]
		in.show()
	}
}

func (in *Inspector) show() {
	in.view, in.needView = nil, true
	in.selected = ""
	in.EditLine.SetText("")
	in.status, in.result, in.err = "", "", ""
	in.Entries.Position = layout.Position{}
}

// Current returns the value shown.
func (in *Inspector) Current() (ValueRef, bool) {
	if len(in.crumbs) == 0 {
		return ValueRef{}, false
	}
	return in.crumbs[len(in.crumbs)-1].ref, true
}

// Path returns the labels of the breadcrumb, the current value last.
func (in *Inspector) Path() []string {
	out := make([]string, len(in.crumbs))
	for i, c := range in.crumbs {
		out[i] = c.label
	}
	return out
}

// View returns the snapshot shown, or nil.
func (in *Inspector) View() *InspectView { return in.view }

// Selected returns the key of the slot in the edit line, or "".
func (in *Inspector) Selected() string { return in.selected }

// Status returns the outcome of the last successful SetSlot, or "".
func (in *Inspector) Status() string { return in.status }

// Result returns the printString of the last successful evaluation, or "".
func (in *Inspector) Result() string { return in.result }

// Err returns the last error shown, with its traceback, or "".
func (in *Inspector) Err() string { return in.err }

// Busy reports whether a SetSlot or an evaluation is pending.
func (in *Inspector) Busy() bool { return in.setReq != nil || in.evalReq != nil }

// TakeChanged reports (once) that a SetSlot or an evaluation finished, so
// that the window refreshes what else shows the image.
func (in *Inspector) TakeChanged() bool {
	c := in.changed
	in.changed = false
	return c
}

// Refresh asks the Image again for the value shown (after the image
// changed under the inspector).
func (in *Inspector) Refresh() {
	if len(in.crumbs) > 0 {
		in.needView = true
	}
}

// Select puts slot key in the edit line, with its value's printString when
// the value is not an object or table.
func (in *Inspector) Select(key string) {
	in.selected = key
	text := ""
	if in.view != nil {
		if e, ok := in.view.Entry(key); ok && e.Ref.IsZero() {
			text = e.Value
		}
	}
	in.EditLine.SetText(text)
	in.EditLine.SetCaret(in.EditLine.Len(), 0)
}

// SetSelected asks the Image to set the selected slot to the edit line's
// expression. The outcome shows on a following frame (Status, Err).
func (in *Inspector) SetSelected() {
	ref, ok := in.Current()
	if !ok || in.selected == "" {
		in.err, in.status = "select a slot first", ""
		return
	}
	in.setReq = &setRequest{ref: ref, key: in.selected, expr: strings.TrimSpace(in.EditLine.Text())}
	in.run()
}

// Evaluate asks the Image to evaluate the evaluation line with self bound
// to the value shown. The outcome shows on a following frame (Result, Err).
func (in *Inspector) Evaluate() {
	ref, ok := in.Current()
	expr := strings.TrimSpace(in.EvalLine.Text())
	if !ok || expr == "" {
		return
	}
	in.evalReq = &evalRequest{ref: ref, expr: expr}
	in.run()
}

// run asks the Image for the answers of pending requests.
func (in *Inspector) run() {
	if in.Image == nil {
		return
	}
	if p := in.setReq; p != nil {
		err := in.Image.SetSlot(p.ref, p.key, p.expr)
		if !errors.Is(err, ErrPending) {
			in.setReq, in.changed = nil, true
			if err != nil {
				in.err, in.status = ErrorDetail(err), ""
			} else {
				in.err, in.status = "", p.key+" := "+p.expr
				in.needView = true
			}
		}
	}
	if p := in.evalReq; p != nil {
		s, err := in.Image.EvalIn(p.ref, p.expr)
		if !errors.Is(err, ErrPending) {
			in.evalReq, in.changed = nil, true
			if err != nil {
				in.err, in.result = ErrorDetail(err), ""
			} else {
				in.err, in.result = "", s
			}
			in.needView = true // the evaluation may have changed self
		}
	}
}

func (in *Inspector) load() {
	if in.Image == nil {
		return
	}
	in.run()
	ref, ok := in.Current()
	if !ok || !in.needView {
		return
	}
	v, err := in.Image.Inspect(ref)
	switch {
	case errors.Is(err, ErrPending):
		return
	case err != nil:
		in.err = ErrorDetail(err)
	default:
		in.view = &v
		if n := len(v.Entries); len(in.keyClicks) < n {
			in.keyClicks = make([]widget.Clickable, n)
			in.valueClicks = make([]widget.Clickable, n)
		}
	}
	in.needView = false
}

// Layout handles the last frame's input and draws the inspector.
func (in *Inspector) Layout(gtx layout.Context, th *material.Theme) layout.Dimensions {
	in.Entries.Axis = layout.Vertical
	in.EditLine.SingleLine, in.EditLine.Submit = true, true
	in.EvalLine.SingleLine, in.EvalLine.Submit = true, true
	in.update(gtx)
	in.load()

	paint.FillShape(gtx.Ops, th.Bg, clip.Rect{Max: gtx.Constraints.Max}.Op())
	return pane(gtx, func(gtx layout.Context, th *material.Theme) layout.Dimensions {
		return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
			layout.Rigid(func(gtx layout.Context) layout.Dimensions { return in.layoutHeader(gtx, th) }),
			layout.Flexed(1, func(gtx layout.Context) layout.Dimensions { return in.layoutEntries(gtx, th) }),
			layout.Rigid(func(gtx layout.Context) layout.Dimensions { return in.layoutLines(gtx, th) }),
		)
	}, th)
}

func (in *Inspector) update(gtx layout.Context) {
	if in.BackButton.Clicked(gtx) {
		in.Back()
	}
	if in.RefreshButton.Clicked(gtx) {
		in.Refresh()
	}
	for i := range in.crumbClicks {
		if in.crumbClicks[i].Clicked(gtx) && i < len(in.crumbs)-1 {
			in.crumbs = in.crumbs[:i+1]
			in.show()
			break
		}
	}
	if v := in.view; v != nil {
		if in.ProtoLink.Clicked(gtx) && !v.Proto.IsZero() {
			in.Drill(v.Proto, v.ProtoName)
			return
		}
		for i := range v.Entries {
			e := v.Entries[i]
			if in.keyClicks[i].Clicked(gtx) {
				in.Select(e.Key)
			}
			if in.valueClicks[i].Clicked(gtx) {
				if e.Ref.IsZero() {
					in.Select(e.Key)
				} else {
					in.Drill(e.Ref, e.Key)
					return
				}
			}
		}
	}
	for {
		ev, ok := in.EditLine.Update(gtx)
		if !ok {
			break
		}
		if _, ok := ev.(widget.SubmitEvent); ok {
			in.SetSelected()
		}
	}
	for {
		ev, ok := in.EvalLine.Update(gtx)
		if !ok {
			break
		}
		if _, ok := ev.(widget.SubmitEvent); ok {
			in.Evaluate()
		}
	}
}

var linkColor = color.NRGBA{R: 0x20, G: 0x40, B: 0xc0, A: 0xff}

func (in *Inspector) layoutHeader(gtx layout.Context, th *material.Theme) layout.Dimensions {
	if len(in.crumbClicks) < len(in.crumbs) {
		in.crumbClicks = make([]widget.Clickable, len(in.crumbs)+4)
	}
	crumbs := []layout.FlexChild{
		layout.Rigid(material.Button(th, &in.BackButton, "Back").Layout),
		layout.Rigid(layout.Spacer{Width: unit.Dp(4)}.Layout),
		layout.Rigid(material.Button(th, &in.RefreshButton, "Refresh").Layout),
		layout.Rigid(layout.Spacer{Width: unit.Dp(8)}.Layout),
	}
	for i := range in.crumbs {
		i := i
		if i > 0 {
			crumbs = append(crumbs, layout.Rigid(material.Body2(th, " › ").Layout))
		}
		crumbs = append(crumbs, layout.Rigid(func(gtx layout.Context) layout.Dimensions {
			return in.crumbClicks[i].Layout(gtx, func(gtx layout.Context) layout.Dimensions {
				l := material.Body2(th, in.crumbs[i].label)
				if i < len(in.crumbs)-1 {
					l.Color = linkColor
				}
				return l.Layout(gtx)
			})
		}))
	}
	title, kind := "Nothing to inspect", ""
	if len(in.crumbs) > 0 {
		title = "Loading…"
	}
	if v := in.view; v != nil {
		title, kind = v.PrintString, v.Kind
	}
	return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
		layout.Rigid(func(gtx layout.Context) layout.Dimensions {
			return layout.Flex{Axis: layout.Horizontal, Alignment: layout.Middle}.Layout(gtx, crumbs...)
		}),
		layout.Rigid(func(gtx layout.Context) layout.Dimensions {
			l := material.H6(th, title)
			l.MaxLines = 3
			return layout.Inset{Top: unit.Dp(4)}.Layout(gtx, l.Layout)
		}),
		layout.Rigid(func(gtx layout.Context) layout.Dimensions {
			if kind == "" {
				return layout.Dimensions{}
			}
			v := in.view
			return layout.Flex{Axis: layout.Horizontal, Alignment: layout.Baseline}.Layout(gtx,
				layout.Rigid(material.Caption(th, kind).Layout),
				layout.Rigid(func(gtx layout.Context) layout.Dimensions {
					if v.Proto.IsZero() {
						return layout.Dimensions{}
					}
					return in.ProtoLink.Layout(gtx, func(gtx layout.Context) layout.Dimensions {
						l := material.Caption(th, "prototype: "+v.ProtoName)
						l.Color = linkColor
						return layout.Inset{Left: unit.Dp(12)}.Layout(gtx, l.Layout)
					})
				}),
			)
		}),
	)
}

func (in *Inspector) layoutEntries(gtx layout.Context, th *material.Theme) layout.Dimensions {
	v := in.view
	if v == nil {
		return layout.Dimensions{Size: gtx.Constraints.Min}
	}
	return layout.Inset{Top: unit.Dp(6), Bottom: unit.Dp(6)}.Layout(gtx, func(gtx layout.Context) layout.Dimensions {
		if len(v.Entries) == 0 {
			return material.Caption(th, "no slots").Layout(gtx)
		}
		return material.List(th, &in.Entries).Layout(gtx, len(v.Entries), func(gtx layout.Context, i int) layout.Dimensions {
			e := v.Entries[i]
			gtx.Constraints.Min.X = gtx.Constraints.Max.X
			sel := e.Key == in.selected
			return layout.Background{}.Layout(gtx,
				func(gtx layout.Context) layout.Dimensions {
					if sel {
						paint.FillShape(gtx.Ops, selectedColor, clip.Rect{Max: gtx.Constraints.Min}.Op())
					}
					return layout.Dimensions{Size: gtx.Constraints.Min}
				},
				func(gtx layout.Context) layout.Dimensions {
					return layout.Inset{Top: unit.Dp(2), Bottom: unit.Dp(2), Left: unit.Dp(4)}.Layout(gtx, func(gtx layout.Context) layout.Dimensions {
						return layout.Flex{Axis: layout.Horizontal}.Layout(gtx,
							layout.Flexed(0.3, func(gtx layout.Context) layout.Dimensions {
								gtx.Constraints.Min.X = gtx.Constraints.Max.X
								return in.keyClicks[i].Layout(gtx, func(gtx layout.Context) layout.Dimensions {
									l := material.Body2(th, e.Key)
									l.MaxLines = 1
									return l.Layout(gtx)
								})
							}),
							layout.Flexed(0.7, func(gtx layout.Context) layout.Dimensions {
								gtx.Constraints.Min.X = gtx.Constraints.Max.X
								return in.valueClicks[i].Layout(gtx, func(gtx layout.Context) layout.Dimensions {
									l := material.Body2(th, e.Value)
									l.MaxLines = 1
									if !e.Ref.IsZero() {
										l.Color = linkColor
									}
									return l.Layout(gtx)
								})
							}),
						)
					})
				})
		})
	})
}

func (in *Inspector) layoutLines(gtx layout.Context, th *material.Theme) layout.Dimensions {
	line := func(prompt, hint string, ed *widget.Editor) layout.FlexChild {
		return layout.Rigid(func(gtx layout.Context) layout.Dimensions {
			return layout.Inset{Top: unit.Dp(4)}.Layout(gtx, func(gtx layout.Context) layout.Dimensions {
				return layout.Flex{Axis: layout.Horizontal, Alignment: layout.Middle}.Layout(gtx,
					layout.Rigid(func(gtx layout.Context) layout.Dimensions {
						l := material.Body2(th, prompt)
						l.Color = headerColor
						return layout.Inset{Right: unit.Dp(6)}.Layout(gtx, l.Layout)
					}),
					layout.Flexed(1, func(gtx layout.Context) layout.Dimensions {
						return widget.Border{Color: borderColor, Width: unit.Dp(1)}.Layout(gtx, func(gtx layout.Context) layout.Dimensions {
							gtx.Constraints.Min.X = gtx.Constraints.Max.X
							return layout.UniformInset(unit.Dp(4)).Layout(gtx, func(gtx layout.Context) layout.Dimensions {
								e := material.Editor(th, ed, hint)
								e.Font.Typeface = "Go Mono, monospace"
								return e.Layout(gtx)
							})
						})
					}),
				)
			})
		})
	}
	editPrompt := "select a slot"
	if in.selected != "" {
		editPrompt = in.selected + " :="
	}
	return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
		line(editPrompt, "a Lua expression; Enter sets the slot", &in.EditLine),
		line("self:", "an expression with self bound; Enter evaluates", &in.EvalLine),
		layout.Rigid(func(gtx layout.Context) layout.Dimensions {
			return layout.Inset{Top: unit.Dp(4)}.Layout(gtx, func(gtx layout.Context) layout.Dimensions {
				var l material.LabelStyle
				switch {
				case in.err != "":
					l = material.Body2(th, in.err)
					l.Color = errorColor
					l.MaxLines = 8
				case in.Busy():
					l = material.Body2(th, "evaluating…")
				case in.result != "":
					l = material.Body2(th, "→ "+in.result)
					l.Color = okColor
					l.MaxLines = 4
				case in.status != "":
					l = material.Body2(th, in.status)
					l.Color = okColor
				default:
					l = material.Caption(th, "click a value to drill in, a slot to edit it")
				}
				return l.Layout(gtx)
			})
		}),
	)
}
