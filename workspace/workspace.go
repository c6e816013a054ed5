package workspace

import (
	"errors"
	"image/color"
	"strings"
	"unicode/utf8"

	"gioui.org/io/key"
	"gioui.org/layout"
	"gioui.org/op/clip"
	"gioui.org/op/paint"
	"gioui.org/unit"
	"gioui.org/widget"
	"gioui.org/widget/material"
)

// MaxTranscriptLines is how many lines the Transcript pane keeps.
const MaxTranscriptLines = 1000

// Action is what to do with the outcome of an evaluation.
type Action uint8

const (
	DoIt      Action = iota // evaluate for its effect
	PrintIt                 // insert the printString after the source
	InspectIt               // record the result in Inspected
)

func (a Action) String() string {
	switch a {
	case PrintIt:
		return "print it"
	case InspectIt:
		return "inspect it"
	}
	return "do it"
}

// Inspection is the result of the last Inspect it, for the GUI to open an
// inspector on.
type Inspection struct {
	Source string
	Result EvalResult
}

// Outcome is the last finished evaluation.
type Outcome struct {
	Action Action
	Source string
	Result EvalResult
}

// Workspace is the state of a playground over one Evaluator. The zero
// value plus an Evaluator is ready to use; Layout draws it and handles the
// input of the previous frame.
type Workspace struct {
	Evaluator Evaluator

	Editor         widget.Editor // the code
	DoButton       widget.Clickable
	PrintButton    widget.Clickable
	InspectButton  widget.Clickable
	StopButton     widget.Clickable
	TracebackFold  widget.Clickable // shows or hides the last error's traceback
	InspectLink    widget.Clickable // "Inspect result" next to a do-it's or print-it's object result
	TranscriptView widget.List

	// Running is set while an evaluation is pending (the Evaluator
	// answered ErrPending).
	Running bool
	// Inspected is the result of the last successful Inspect it (or of the
	// last result's "Inspect result" link), or nil.
	Inspected *Inspection
	// ShowTraceback unfolds the last error's traceback.
	ShowTraceback bool

	pending  *request
	stopping bool
	last     *Outcome
	lines    []string // complete lines of the Transcript
	partial  string   // the Transcript's unfinished last line
	follow   bool     // scroll the Transcript to its end on the next frame
}

// request is an evaluation asked for; start and end are the rune offsets
// of its source in the editor (a print-it inserts at end).
type request struct {
	action     Action
	src        string
	start, end int
}

// Last returns the last finished evaluation, or nil.
func (w *Workspace) Last() *Outcome { return w.last }

// Err returns the last evaluation's error with its traceback, or "".
func (w *Workspace) Err() string {
	if w.last == nil {
		return ""
	}
	return w.last.Result.Error
}

// Transcript returns the text of the Transcript pane.
func (w *Workspace) Transcript() string {
	s := strings.Join(w.lines, "\n")
	if len(w.lines) > 0 {
		s += "\n"
	}
	return s + w.partial
}

// TranscriptLines returns the Transcript's lines, the unfinished last one
// included.
func (w *Workspace) TranscriptLines() []string {
	out := append([]string(nil), w.lines...)
	if w.partial != "" {
		out = append(out, w.partial)
	}
	return out
}

// Show appends s to the Transcript, keeping its last MaxTranscriptLines
// lines.
func (w *Workspace) Show(s string) {
	if s == "" {
		return
	}
	parts := strings.Split(s, "\n")
	parts[0] = w.partial + parts[0]
	w.lines = append(w.lines, parts[:len(parts)-1]...)
	w.partial = parts[len(parts)-1]
	max := MaxTranscriptLines
	if w.partial != "" {
		max--
	}
	if n := len(w.lines) - max; n > 0 {
		w.lines = append(w.lines[:0:0], w.lines[n:]...)
	}
	w.follow = true
}

// ClearTranscript empties the Transcript.
func (w *Workspace) ClearTranscript() { w.lines, w.partial = nil, "" }

// DoIt evaluates the selection, or the caret's line when nothing is
// selected.
func (w *Workspace) DoIt() { w.Evaluate(DoIt) }

// PrintIt evaluates like DoIt and inserts " " and the result's printString
// after the evaluated text, selected.
func (w *Workspace) PrintIt() { w.Evaluate(PrintIt) }

// InspectIt evaluates like DoIt and records the result in Inspected.
func (w *Workspace) InspectIt() { w.Evaluate(InspectIt) }

// Evaluate runs the selection, or the caret's line when nothing is
// selected (Pharo's rule), and handles the outcome as action says. While
// an evaluation is running another is ignored.
func (w *Workspace) Evaluate(action Action) {
	if w.pending != nil || w.Evaluator == nil {
		return
	}
	src, start, end := w.source()
	if strings.TrimSpace(src) == "" {
		return
	}
	w.pending = &request{action: action, src: src, start: start, end: end}
	w.run()
}

// Stop asks the Evaluator to interrupt the running evaluation, if it can.
func (w *Workspace) Stop() {
	if w.pending == nil {
		return
	}
	if s, ok := w.Evaluator.(Stopper); ok {
		s.Stop()
		w.stopping = true
	}
}

// CanStop reports whether Stop can interrupt the running evaluation.
func (w *Workspace) CanStop() bool {
	_, ok := w.Evaluator.(Stopper)
	return w.pending != nil && ok && !w.stopping
}

// source returns the text to evaluate and its rune range in the editor.
func (w *Workspace) source() (string, int, int) {
	start, end := w.Editor.Selection()
	if start > end {
		start, end = end, start
	}
	text := w.Editor.Text()
	if start != end {
		return w.Editor.SelectedText(), start, end
	}
	// The caret's line.
	caret := byteOffset(text, start)
	lo := strings.LastIndexByte(text[:caret], '\n') + 1
	hi := len(text)
	if i := strings.IndexByte(text[caret:], '\n'); i >= 0 {
		hi = caret + i
	}
	rlo := utf8.RuneCountInString(text[:lo])
	return text[lo:hi], rlo, rlo + utf8.RuneCountInString(text[lo:hi])
}

func byteOffset(s string, runes int) int {
	for i := range s {
		if runes == 0 {
			return i
		}
		runes--
	}
	return len(s)
}

// run asks the Evaluator for the pending request's answer.
func (w *Workspace) run() {
	p := w.pending
	if p == nil {
		return
	}
	res, err := w.Evaluator.Eval(p.src)
	if errors.Is(err, ErrPending) {
		w.Running = true
		return
	}
	w.pending, w.Running, w.stopping = nil, false, false
	if err != nil {
		res = EvalResult{Error: ErrorDetail(err)}
	}
	w.Show(res.Transcript)
	w.last = &Outcome{Action: p.action, Source: p.src, Result: res}
	w.ShowTraceback = false
	if res.Failed() {
		return
	}
	switch p.action {
	case PrintIt:
		s := " " + res.PrintString()
		at := min(p.end, w.Editor.Len())
		w.Editor.SetCaret(at, at)
		n := w.Editor.Insert(s)
		w.Editor.SetCaret(at+n, at)
	case InspectIt:
		w.Inspected = &Inspection{Source: p.src, Result: res}
	}
}

// CanInspectLast reports whether the last result is an object or table
// that the "Inspect result" link can open (a print-it's or do-it's; an
// inspect-it's opens by itself).
func (w *Workspace) CanInspectLast() bool {
	o := w.last
	return o != nil && o.Action != InspectIt && !o.Result.Failed() && o.Result.Ref != 0
}

// InspectLast records the last result in Inspected, as an inspect-it of
// the same source would, without evaluating it again.
func (w *Workspace) InspectLast() {
	if w.CanInspectLast() {
		w.Inspected = &Inspection{Source: w.last.Source, Result: w.last.Result}
	}
}

// Layout handles the last frame's input and draws the toolbar, the
// editor, the result line and the Transcript.
func (w *Workspace) Layout(gtx layout.Context, th *material.Theme) layout.Dimensions {
	w.TranscriptView.Axis = layout.Vertical
	w.run()
	w.update(gtx)

	paint.FillShape(gtx.Ops, th.Bg, clip.Rect{Max: gtx.Constraints.Max}.Op())
	return layout.UniformInset(unit.Dp(4)).Layout(gtx, func(gtx layout.Context) layout.Dimensions {
		return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
			layout.Rigid(func(gtx layout.Context) layout.Dimensions { return w.layoutToolbar(gtx, th) }),
			layout.Flexed(0.55, func(gtx layout.Context) layout.Dimensions { return w.layoutEditor(gtx, th) }),
			layout.Rigid(func(gtx layout.Context) layout.Dimensions { return w.layoutResult(gtx, th) }),
			layout.Rigid(func(gtx layout.Context) layout.Dimensions {
				l := material.Subtitle2(th, "Transcript")
				l.Color = headerColor
				return layout.Inset{Top: unit.Dp(6), Bottom: unit.Dp(2)}.Layout(gtx, l.Layout)
			}),
			layout.Flexed(0.45, func(gtx layout.Context) layout.Dimensions { return w.layoutTranscript(gtx, th) }),
		)
	})
}

// update handles clicks and shortcuts of the previous frame.
func (w *Workspace) update(gtx layout.Context) {
	// Let the editor take its input first, so a shortcut evaluates what
	// was typed before it.
	for {
		if _, ok := w.Editor.Update(gtx); !ok {
			break
		}
	}
	act, do := DoIt, false
	refocus := false
	for _, b := range []struct {
		c *widget.Clickable
		a Action
	}{{&w.DoButton, DoIt}, {&w.PrintButton, PrintIt}, {&w.InspectButton, InspectIt}} {
		if b.c.Clicked(gtx) {
			act, do, refocus = b.a, true, true
		}
	}
	for {
		ev, ok := gtx.Event(
			key.Filter{Focus: &w.Editor, Name: "D", Required: key.ModShortcut},
			key.Filter{Focus: &w.Editor, Name: "P", Required: key.ModShortcut},
			key.Filter{Focus: &w.Editor, Name: "I", Required: key.ModShortcut},
		)
		if !ok {
			break
		}
		e, ok := ev.(key.Event)
		if !ok || e.State != key.Press {
			continue
		}
		switch e.Name {
		case "D":
			act, do = DoIt, true
		case "P":
			act, do = PrintIt, true
		case "I":
			act, do = InspectIt, true
		}
	}
	if w.StopButton.Clicked(gtx) {
		w.Stop()
		refocus = true
	}
	if w.TracebackFold.Clicked(gtx) {
		w.ShowTraceback = !w.ShowTraceback
	}
	if w.InspectLink.Clicked(gtx) {
		w.InspectLast()
	}
	if refocus {
		gtx.Execute(key.FocusCmd{Tag: &w.Editor})
	}
	if do {
		w.Evaluate(act)
	}
}

var (
	borderColor = color.NRGBA{R: 0xc0, G: 0xc0, B: 0xc0, A: 0xff}
	headerColor = color.NRGBA{R: 0x30, G: 0x50, B: 0x90, A: 0xff}
	errorColor  = color.NRGBA{R: 0xb0, G: 0x10, B: 0x10, A: 0xff}
	greyColor   = color.NRGBA{R: 0x70, G: 0x70, B: 0x70, A: 0xff}
	linkColor   = color.NRGBA{R: 0x20, G: 0x40, B: 0xc0, A: 0xff}
)

const mono = "Go Mono, monospace"

func (w *Workspace) layoutToolbar(gtx layout.Context, th *material.Theme) layout.Dimensions {
	button := func(c *widget.Clickable, label string, enabled bool) layout.FlexChild {
		return layout.Rigid(func(gtx layout.Context) layout.Dimensions {
			if !enabled {
				gtx = gtx.Disabled()
			}
			return layout.Inset{Right: unit.Dp(6)}.Layout(gtx, material.Button(th, c, label).Layout)
		})
	}
	idle := w.pending == nil
	return layout.Inset{Bottom: unit.Dp(4)}.Layout(gtx, func(gtx layout.Context) layout.Dimensions {
		return layout.Flex{Axis: layout.Horizontal, Alignment: layout.Middle}.Layout(gtx,
			button(&w.DoButton, "Do it", idle),
			button(&w.PrintButton, "Print it", idle),
			button(&w.InspectButton, "Inspect it", idle),
			button(&w.StopButton, "Stop", w.CanStop()),
			layout.Flexed(1, func(gtx layout.Context) layout.Dimensions {
				msg := "Ctrl-D do it · Ctrl-P print it · Ctrl-I inspect it"
				switch {
				case w.stopping:
					msg = "stopping…"
				case w.Running:
					msg = "running " + w.pending.action.String() + "…"
				}
				l := material.Caption(th, msg)
				l.Color = greyColor
				return layout.Inset{Left: unit.Dp(4)}.Layout(gtx, l.Layout)
			}),
		)
	})
}

func (w *Workspace) layoutEditor(gtx layout.Context, th *material.Theme) layout.Dimensions {
	gtx.Constraints.Min = gtx.Constraints.Max
	return widget.Border{Color: borderColor, Width: unit.Dp(1)}.Layout(gtx, func(gtx layout.Context) layout.Dimensions {
		gtx.Constraints.Min = gtx.Constraints.Max
		return layout.UniformInset(unit.Dp(4)).Layout(gtx, func(gtx layout.Context) layout.Dimensions {
			e := material.Editor(th, &w.Editor, "Lobby.answer = 6 * 7")
			e.Font.Typeface = mono
			return e.Layout(gtx)
		})
	})
}

// layoutResult draws the last outcome: an error's first line in red with
// its traceback folded, or the printString of the result.
func (w *Workspace) layoutResult(gtx layout.Context, th *material.Theme) layout.Dimensions {
	return layout.Inset{Top: unit.Dp(4)}.Layout(gtx, func(gtx layout.Context) layout.Dimensions {
		o := w.last
		if o == nil {
			l := material.Body2(th, "No result yet")
			l.Color = greyColor
			return l.Layout(gtx)
		}
		if o.Result.Failed() {
			first, rest, _ := strings.Cut(o.Result.Error, "\n")
			children := []layout.FlexChild{layout.Rigid(func(gtx layout.Context) layout.Dimensions {
				l := material.Body2(th, first)
				l.Color = errorColor
				return l.Layout(gtx)
			})}
			if rest != "" {
				children = append(children, layout.Rigid(func(gtx layout.Context) layout.Dimensions {
					label := "▸ traceback"
					if w.ShowTraceback {
						label = "▾ traceback"
					}
					return w.TracebackFold.Layout(gtx, func(gtx layout.Context) layout.Dimensions {
						l := material.Caption(th, label)
						l.Color = errorColor
						return l.Layout(gtx)
					})
				}))
				if w.ShowTraceback {
					children = append(children, layout.Rigid(func(gtx layout.Context) layout.Dimensions {
						l := material.Caption(th, rest)
						l.Color = errorColor
						l.Font.Typeface = mono
						return l.Layout(gtx)
					}))
				}
			}
			return layout.Flex{Axis: layout.Vertical}.Layout(gtx, children...)
		}
		prefix := "Result: "
		if o.Action == InspectIt {
			prefix = "Inspecting: "
		}
		l := material.Body2(th, prefix+o.Result.PrintString())
		l.Font.Typeface = mono
		l.MaxLines = 3
		if !w.CanInspectLast() {
			return l.Layout(gtx)
		}
		return layout.Flex{Axis: layout.Horizontal, Alignment: layout.Baseline}.Layout(gtx,
			layout.Flexed(1, l.Layout),
			layout.Rigid(func(gtx layout.Context) layout.Dimensions {
				return layout.Inset{Left: unit.Dp(8)}.Layout(gtx, func(gtx layout.Context) layout.Dimensions {
					return w.InspectLink.Layout(gtx, func(gtx layout.Context) layout.Dimensions {
						l := material.Caption(th, "Inspect result")
						l.Color = linkColor
						return l.Layout(gtx)
					})
				})
			}),
		)
	})
}

func (w *Workspace) layoutTranscript(gtx layout.Context, th *material.Theme) layout.Dimensions {
	gtx.Constraints.Min = gtx.Constraints.Max
	lines := w.TranscriptLines()
	if w.follow {
		// Past the last line: the list lays out backwards from its end.
		w.TranscriptView.Position = layout.Position{First: len(lines) + 1}
		w.follow = false
	}
	return widget.Border{Color: borderColor, Width: unit.Dp(1)}.Layout(gtx, func(gtx layout.Context) layout.Dimensions {
		gtx.Constraints.Min = gtx.Constraints.Max
		return layout.UniformInset(unit.Dp(4)).Layout(gtx, func(gtx layout.Context) layout.Dimensions {
			return material.List(th, &w.TranscriptView).Layout(gtx, len(lines), func(gtx layout.Context, i int) layout.Dimensions {
				l := material.Body2(th, lines[i])
				l.Font.Typeface = mono
				return l.Layout(gtx)
			})
		})
	})
}
