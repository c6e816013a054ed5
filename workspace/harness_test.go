package workspace

import (
	"image"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"gioui.org/io/input"
	"gioui.org/io/key"
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
	browsertest.Click(&d.r, p)
	d.frame()
	d.frame()
}

// nodes lists the semantic nodes of the last frame.
func (d *driver) nodes() []input.SemanticNode {
	return browsertest.Nodes(&d.r)
}

// label is the text of n and its descendants.
func label(n input.SemanticNode) string { return browsertest.Label(n) }

// bounds returns the bounds of the smallest widget whose text starts with
// prefix, and whether there is one.
func (d *driver) bounds(prefix string) (image.Rectangle, bool) {
	return browsertest.Find(&d.r, prefix)
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
