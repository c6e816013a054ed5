package workspace

import (
	"image"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"gioui.org/f32"
	"gioui.org/io/input"
	"gioui.org/io/key"
	"gioui.org/io/pointer"
	"gioui.org/io/semantic"
	"gioui.org/layout"
	"gioui.org/op"
	"gioui.org/unit"
	"gioui.org/widget/material"
	"github.com/phoenix-image/phoenix/browser/browsertest"
)

// driver lays out a Workspace frame by frame under an input.Router, as a
// window would, so tests can queue input and read the state back.
type driver struct {
	t    testing.TB
	r    input.Router
	w    *Workspace
	th   *material.Theme
	size image.Point
	ops  op.Ops
	now  time.Time
	// lay, if set, lays out the frame instead of w alone (w must still be
	// one of the widgets it draws).
	lay func(gtx layout.Context)
}

func newDriver(t testing.TB, ev Evaluator) *driver {
	d := &driver{t: t, w: &Workspace{Evaluator: ev}, th: browsertest.Theme(), size: image.Pt(900, 700), now: time.Unix(1e9, 0)}
	d.frame()
	return d
}

func (d *driver) frame() {
	d.ops.Reset()
	gtx := layout.Context{
		Ops:         &d.ops,
		Metric:      unit.Metric{PxPerDp: 1, PxPerSp: 1},
		Constraints: layout.Exact(d.size),
		Source:      d.r.Source(),
		Now:         d.now,
	}
	if d.lay != nil {
		d.lay(gtx)
	} else {
		d.w.Layout(gtx, d.th)
	}
	d.r.Frame(&d.ops)
	d.now = d.now.Add(20 * time.Millisecond)
}

// click presses and releases the primary button at p, then lays out the
// frame that handles it.
func (d *driver) click(p image.Point) {
	pos := f32.Pt(float32(p.X), float32(p.Y))
	d.r.Queue(
		pointer.Event{Kind: pointer.Move, Source: pointer.Mouse, Position: pos},
		pointer.Event{Kind: pointer.Press, Source: pointer.Mouse, Buttons: pointer.ButtonPrimary, Position: pos},
		pointer.Event{Kind: pointer.Release, Source: pointer.Mouse, Position: pos},
	)
	d.frame()
	d.frame()
}

// nodes lists the semantic nodes of the last frame.
func (d *driver) nodes() []input.SemanticNode {
	var all []input.SemanticNode
	var walk func([]input.SemanticNode)
	walk = func(ns []input.SemanticNode) {
		for _, n := range ns {
			all = append(all, n)
			walk(n.Children)
		}
	}
	walk(d.r.AppendSemantics(nil))
	return all
}

// label is the text of n and its descendants.
func label(n input.SemanticNode) string {
	s := n.Desc.Label
	for _, c := range n.Children {
		s += label(c)
	}
	return s
}

// bounds returns the bounds of the smallest widget whose text starts with
// prefix, and whether there is one.
func (d *driver) bounds(prefix string) (image.Rectangle, bool) {
	var best image.Rectangle
	found := false
	for _, n := range d.nodes() {
		if n.Desc.Bounds.Empty() || !strings.HasPrefix(label(n), prefix) {
			continue
		}
		if !found || n.Desc.Bounds.Dx()*n.Desc.Bounds.Dy() < best.Dx()*best.Dy() {
			best, found = n.Desc.Bounds, true
		}
	}
	return best, found
}

// find returns the centre of the widget whose text starts with prefix.
func (d *driver) find(prefix string) image.Point {
	d.t.Helper()
	r, ok := d.bounds(prefix)
	if !ok {
		d.t.Fatalf("nothing labelled %q on screen", prefix)
	}
	return image.Pt((r.Min.X+r.Max.X)/2, (r.Min.Y+r.Max.Y)/2)
}

// shows reports whether some widget's text contains s.
func (d *driver) shows(s string) bool {
	for _, n := range d.nodes() {
		if strings.Contains(n.Desc.Label, s) {
			return true
		}
	}
	return false
}

// editorBounds returns the bounds of the code editor.
func (d *driver) editorBounds() image.Rectangle {
	d.t.Helper()
	for _, n := range d.nodes() {
		if n.Desc.Class == semantic.Editor {
			return n.Desc.Bounds
		}
	}
	d.t.Fatal("no editor on screen")
	return image.Rectangle{}
}

// typeText focuses the editor by clicking it and replaces its whole text,
// as an input method would, leaving the caret at the end.
func (d *driver) typeText(s string) {
	r := d.editorBounds()
	d.now = d.now.Add(time.Second) // not a double click, which selects a word
	d.click(image.Pt((r.Min.X+r.Max.X)/2, (r.Min.Y+r.Max.Y)/2))
	n := utf8.RuneCountInString(s)
	d.r.Queue(
		key.EditEvent{Range: key.Range{Start: 0, End: utf8.RuneCountInString(d.w.Editor.Text())}, Text: s},
		key.SelectionEvent{Start: n, End: n}, // the caret after the text, as after typing
	)
	d.frame()
	if start, end := d.w.Editor.Selection(); start != n || end != n {
		d.t.Fatalf("after typing %q the selection is %d..%d", s, start, end)
	}
}

// press sends a key press (and release) with modifiers to the focused widget.
func (d *driver) press(name key.Name, mods key.Modifiers) {
	d.r.Queue(key.Event{Name: name, Modifiers: mods, State: key.Press}, key.Event{Name: name, Modifiers: mods, State: key.Release})
	d.frame()
	d.frame()
}
