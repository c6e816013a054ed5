package browser

import (
	"context"
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

	"github.com/phoenix-image/phoenix/bootstrap"
	"github.com/phoenix-image/phoenix/browser/browsertest"
	"github.com/phoenix-image/phoenix/vm"
)

// accountImage is a fresh image with the README's Account in it.
func accountImage(t testing.TB) *vm.VM {
	t.Helper()
	ctx := context.Background()
	v, err := bootstrap.Genesis(ctx, vm.Options{Store: vm.NewMemStore()})
	if err != nil {
		t.Fatalf("genesis: %v", err)
	}
	t.Cleanup(v.Close)
	src := "Account = Object:clone(); Account.balance = 0\n" +
		"function Account:deposit(n) self.balance = self.balance + n; return self end"
	if _, err := v.Eval(ctx, src, vm.EvalOptions{}); err != nil {
		t.Fatalf("defining Account: %v", err)
	}
	return v
}

// driver lays out a Browser frame by frame under an input.Router, as a
// window would, so tests can queue input and read the state back.
type driver struct {
	t    testing.TB
	r    input.Router
	b    *Browser
	lay  func(layout.Context, *material.Theme) layout.Dimensions // what frame lays out, if not b
	th   *material.Theme
	size image.Point
	ops  op.Ops
	now  time.Time
}

func newDriver(t testing.TB, img Image) *driver {
	d := &driver{t: t, b: &Browser{Image: img}, th: browsertest.Theme(), size: image.Pt(1200, 800), now: time.Unix(1e9, 0)}
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
		d.lay(gtx, d.th)
	} else {
		d.b.Layout(gtx, d.th)
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

// find returns the centre of the first widget whose text starts with label,
// within the x range of pane (0 left, 1 middle, 2 right).
func (d *driver) find(pane int, label string) image.Point {
	d.t.Helper()
	for _, n := range d.nodes() {
		if n.Desc.Bounds.Dy() > 100 || !d.inPane(pane, n.Desc.Bounds) {
			continue
		}
		if strings.HasPrefix(d.label(n), label) {
			bd := n.Desc.Bounds
			return image.Pt((bd.Min.X+bd.Max.X)/2, (bd.Min.Y+bd.Max.Y)/2)
		}
	}
	d.t.Fatalf("no clickable %q in pane %d", label, pane)
	return image.Point{}
}

// label is the text of n and its descendants.
func (d *driver) label(n input.SemanticNode) string {
	s := n.Desc.Label
	for _, c := range n.Children {
		s += d.label(c)
	}
	return s
}

func (d *driver) inPane(pane int, r image.Rectangle) bool {
	x := (r.Min.X + r.Max.X) / 2
	lo := []int{0, d.size.X * 25 / 100, d.size.X * 55 / 100, d.size.X}
	return x >= lo[pane] && x < lo[pane+1]
}

// editor returns the centre of the text editor in pane.
func (d *driver) editor(pane int) image.Point {
	d.t.Helper()
	for _, n := range d.nodes() {
		if n.Desc.Class == semantic.Editor && d.inPane(pane, n.Desc.Bounds) {
			bd := n.Desc.Bounds
			return image.Pt((bd.Min.X+bd.Max.X)/2, (bd.Min.Y+bd.Max.Y)/2)
		}
	}
	d.t.Fatalf("no editor in pane %d", pane)
	return image.Point{}
}

// replaceText focuses the editor in pane by clicking it and replaces its
// whole text, as an input method would.
func (d *driver) replaceText(pane int, old, s string) {
	d.click(d.editor(pane))
	d.r.Queue(key.EditEvent{Range: key.Range{Start: 0, End: utf8.RuneCountInString(old)}, Text: s})
	d.frame()
}

// press sends a key press (and release) with modifiers to the focused widget.
func (d *driver) press(name key.Name, mods key.Modifiers) {
	d.r.Queue(key.Event{Name: name, Modifiers: mods, State: key.Press}, key.Event{Name: name, Modifiers: mods, State: key.Release})
	d.frame()
	d.frame()
}
