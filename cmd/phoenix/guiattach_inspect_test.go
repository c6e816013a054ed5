//go:build cgo

package main

import (
	"context"
	"image"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"gioui.org/io/input"
	"gioui.org/io/key"
	"gioui.org/io/semantic"
	"gioui.org/layout"
	"gioui.org/op"
	"gioui.org/unit"

	"github.com/phoenix-image/phoenix/browser"
	"github.com/phoenix-image/phoenix/browser/browsertest"
)

// routed drives the attached window frame by frame under an input.Router,
// as the window's event loop would.
type routed struct {
	t     *testing.T
	u     *attachedGUI
	inval chan struct{}
	r     input.Router
	ops   op.Ops
	size  image.Point
}

func (h *routed) frame() {
	h.ops.Reset()
	gtx := layout.Context{Ops: &h.ops, Metric: unit.Metric{PxPerDp: 1, PxPerSp: 1}, Constraints: layout.Exact(h.size), Source: h.r.Source(), Now: time.Now()}
	h.u.Layout(gtx)
	h.r.Frame(&h.ops)
}

// until lays out frames until cond holds (10 s at most).
func (h *routed) until(what string, cond func() bool) {
	h.t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		h.frame()
		if cond() {
			return
		}
		select {
		case <-h.inval:
		case <-time.After(20 * time.Millisecond):
		case <-deadline:
			h.t.Fatalf("%s: not within 10 s (inspector error %q)", what, h.u.Pane.Inspector.Err())
		}
	}
}

// click clicks the smallest widget whose text starts with prefix.
func (h *routed) click(prefix string) {
	h.t.Helper()
	h.frame()
	at, ok := browsertest.Find(&h.r, prefix)
	if !ok {
		var labels []string
		for _, n := range browsertest.Nodes(&h.r) {
			if n.Desc.Label != "" {
				labels = append(labels, n.Desc.Label)
			}
		}
		h.t.Fatalf("no widget %q on screen; labels %q", prefix, labels)
	}
	c := at.Min.Add(at.Max).Div(2)
	if !c.In(image.Rectangle{Max: h.size}) {
		h.t.Fatalf("widget %q at %v is outside the %v window", prefix, at, h.size)
	}
	browsertest.Click(&h.r, c)
	h.frame()
	h.frame()
}

// typeIn focuses the i-th editor of the right pane (top to bottom),
// replaces its text with text, and presses Return.
func (h *routed) typeIn(i int, text string) {
	h.t.Helper()
	h.frame()
	var eds []image.Point
	for _, n := range browsertest.Nodes(&h.r) {
		bd := n.Desc.Bounds
		if n.Desc.Class != semantic.Editor || bd.Min.X < h.size.X*2/3 {
			continue
		}
		if p := bd.Min.Add(bd.Max).Div(2); !slices.Contains(eds, p) {
			eds = append(eds, p)
		}
	}
	sort.Slice(eds, func(a, b int) bool { return eds[a].Y < eds[b].Y })
	if len(eds) <= i {
		h.t.Fatalf("%d editors in the right pane, want %d", len(eds), i+1)
	}
	browsertest.Click(&h.r, eds[i])
	h.frame()
	h.r.Queue(key.EditEvent{Range: key.Range{Start: 0, End: 1 << 20}, Text: text})
	h.frame()
	h.enter()
}

// enter presses Return in the focused widget.
func (h *routed) enter() {
	h.r.Queue(key.Event{Name: key.NameReturn, State: key.Press}, key.Event{Name: key.NameReturn, State: key.Release})
	h.frame()
	h.frame()
}

// entry is the shown view's entry key (none while no view is shown).
func entry(in *browser.Inspector, key string) (browser.Entry, bool) {
	v := in.View()
	if v == nil {
		return browser.Entry{}, false
	}
	return v.Entry(key)
}

// TestGUIAttachInspector drives the attached window's Inspector against a
// served image: inspect-it opens it, a click drills into a slot's value,
// a slot set as a Lua expression and an evaluation with self bound run on
// the server, another client's commit refreshes it, a print-it's transient
// table opens through "Inspect result"; and a PNG of it.
func TestGUIAttachInspector(t *testing.T) {
	u, check, inval := attachedForTest(t)
	u.th = browsertest.Theme()
	ctx := context.Background()
	if _, err := check.Eval(ctx, "Account.owner = Object:clone(); Account.owner.name = 'ada'"); err != nil {
		t.Fatal(err)
	}
	h := &routed{t: t, u: u, inval: inval, size: image.Pt(1200, 700)}
	in := &u.Pane.Inspector
	h.until("Account listed", func() bool { return listed(u, "Account") })

	// Inspect it (the workspace's button) opens the Inspector tab.
	u.Workspace.Editor.SetText("Account")
	u.Workspace.Editor.SetCaret(0, u.Workspace.Editor.Len())
	h.click("Inspect it")
	h.until("the inspected view", func() bool {
		e, ok := entry(in, "balance")
		return u.Pane.ShowingInspector() && ok && e.Value == "5"
	})
	if v := in.View(); v.Kind != "object" || v.ProtoName != "Object" || len(v.Entries) != 2 {
		t.Fatalf("view %+v", v)
	}
	owner, _ := entry(in, "owner")
	if owner.Ref.IsZero() {
		t.Fatalf("owner has no ref: %+v", owner)
	}

	// Drill into owner by clicking its value.
	h.click(owner.Value)
	h.until("owner's view", func() bool { e, ok := entry(in, "name"); return ok && e.Value == `"ada"` })
	if p := strings.Join(in.Path(), " > "); p != "Account > owner" {
		t.Fatalf("breadcrumb %q", p)
	}

	// A headless PNG of the Inspector on the remote object.
	{
		var ops op.Ops
		gtx := layout.Context{Ops: &ops, Metric: unit.Metric{PxPerDp: 1, PxPerSp: 1}, Constraints: layout.Exact(h.size), Now: time.Now()}
		u.Layout(gtx)
		img := browsertest.Shoot(t, h.size, &ops)
		browsertest.SavePNG(t, img, "gui_attach_inspector.png")
		bg := browsertest.Dominant(browsertest.Colours(img))
		right := image.Rect(h.size.X*2/3, 40, h.size.X, h.size.Y-40)
		if browsertest.Ink(img, right, bg) < 400 {
			t.Error("the Inspector drew almost nothing")
		}
		found := map[string]bool{}
		for _, n := range browsertest.Nodes(&h.r) {
			for _, want := range []string{"name", `"ada"`, "self:"} {
				if strings.HasPrefix(n.Desc.Label, want) && n.Desc.Bounds.Min.X >= h.size.X*2/3 {
					found[want] = true
				}
			}
		}
		if len(found) != 3 {
			t.Errorf("the Inspector pane shows %v of name, \"ada\", self:", found)
		}
	}

	// Select the slot by clicking its key, type an expression, Enter.
	h.click("name")
	if in.Selected() != "name" {
		t.Fatalf("selected %q", in.Selected())
	}
	h.typeIn(0, "'bo' .. 'b'")
	h.until("the slot set", func() bool { e, _ := entry(in, "name"); return !in.Busy() && e.Value == `"bob"` })
	if res, err := check.Eval(ctx, "Account.owner.name"); err != nil || res.Values[0] != "bob" {
		t.Fatalf("name on the server = %v, %v", res, err)
	}

	// Evaluate with self bound.
	h.typeIn(1, "self.name:upper()")
	h.until("the evaluation", func() bool { return !in.Busy() && in.Result() != "" })
	if !strings.Contains(in.Result(), "BOB") {
		t.Fatalf("result %q, error %q", in.Result(), in.Err())
	}
	// An error shows with its traceback, and rolls back.
	h.typeIn(1, "self.name = 'x'; self:fly()")
	h.until("the error", func() bool { return !in.Busy() && in.Err() != "" })
	if !strings.Contains(in.Err(), "does not understand fly") || !strings.Contains(in.Err(), "traceback:") {
		t.Fatalf("error %q", in.Err())
	}

	// Another client's commit refreshes the view (the changed notification).
	if _, err := check.Eval(ctx, "Account.owner.name = 'eve'"); err != nil {
		t.Fatal(err)
	}
	h.until("the live refresh", func() bool { e, _ := entry(in, "name"); return e.Value == `"eve"` })

	// Back in the workspace, a print-it of a transient table, then its
	// "Inspect result" link; drill into the nested table (an @N on the
	// server).
	h.click("Workspace")
	u.Workspace.Editor.SetText("{10, 20, {30}}")
	u.Workspace.Editor.SetCaret(0, u.Workspace.Editor.Len())
	h.click("Print it")
	h.until("the print-it", func() bool { return u.Workspace.Last() != nil && !u.Workspace.Running })
	if !u.Workspace.CanInspectLast() {
		t.Fatalf("print-it result not inspectable: %+v", u.Workspace.Last().Result)
	}
	h.click("Inspect result")
	h.until("the table's view", func() bool { v := in.View(); return v != nil && v.Kind == "table" && len(v.Entries) == 3 })
	third, _ := entry(in, "3")
	if third.Ref.IsZero() || in.View().Entries[1].Value != "20" {
		t.Fatalf("table entries %+v", in.View().Entries)
	}
	in.Drill(third.Ref, "3")
	h.until("the nested table", func() bool { e, ok := entry(in, "1"); return ok && e.Value == "30" })
}
