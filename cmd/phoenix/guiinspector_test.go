//go:build cgo

package main

import (
	"context"
	"image"
	"testing"
	"time"

	"gioui.org/layout"
	"gioui.org/op"
	"gioui.org/unit"
	lua "github.com/yuin/gopher-lua"

	"github.com/phoenix-image/phoenix/browser"
	"github.com/phoenix-image/phoenix/vm"
)

func TestAsyncImageInspectSetSlotEvalIn(t *testing.T) {
	v := guiTestImage(t)
	acct := browser.ValueRef{OID: v.Global("Account").OID()}
	holder := browser.ValueRef{OID: v.Global("Holder").OID()}
	a, _, inval := newTestAsync(t, v)
	a.budget = 200 * time.Millisecond

	view, err := await(t, inval, func() (browser.InspectView, error) { return a.Inspect(acct) })
	if err != nil {
		t.Fatal(err)
	}
	if e, ok := view.Entry("balance"); !ok || e.Value != "0" {
		t.Errorf("Account entries = %+v", view.Entries)
	}
	// A looping printString is cut short by the budget, not the window.
	view, err = await(t, inval, func() (browser.InspectView, error) { return a.Inspect(holder) })
	if err != nil {
		t.Fatal(err)
	}
	if e, _ := view.Entry("good"); e.Value != "7" {
		t.Errorf("Holder entries = %+v", view.Entries)
	}

	if _, err := await(t, inval, func() (struct{}, error) { return struct{}{}, a.SetSlot(acct, "balance", "2 + 3") }); err != nil {
		t.Fatal(err)
	}
	s, err := await(t, inval, func() (string, error) { return a.EvalIn(acct, "self.balance * 2") })
	if err != nil || s != "10" {
		t.Errorf("EvalIn = %q, %v", s, err)
	}
	if _, err := await(t, inval, func() (string, error) { return a.EvalIn(acct, "self.nope.x") }); err == nil {
		t.Error("no error for self.nope.x")
	}
}

// TestGUIInspectItOpensTheInspector drives the window's right pane: an
// inspect-it in the workspace opens the Inspector on its result.
func TestGUIInspectItOpensTheInspector(t *testing.T) {
	v := guiTestImage(t)
	loop := newVMLoop(v)
	t.Cleanup(func() { loop.Close(); v.Close() })
	u := newGUI("test", loop, func() {})
	var ops op.Ops
	frame := func() {
		ops.Reset()
		gtx := layout.Context{Ops: &ops, Metric: unit.Metric{PxPerDp: 1, PxPerSp: 1}, Constraints: layout.Exact(image.Pt(1200, 800)), Now: time.Now()}
		u.Layout(gtx)
	}
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(5 * time.Millisecond)
			frame()
		}
	}
	frame()
	u.Workspace.Editor.SetText("Account")
	u.Workspace.Editor.SetCaret(0, u.Workspace.Editor.Len())
	u.Workspace.InspectIt()
	waitFor("the inspect-it", func() bool { return u.Workspace.Inspected != nil })
	if u.Workspace.Inspected.Result.Ref == 0 {
		t.Fatalf("inspect-it result has no Ref: %+v", u.Workspace.Inspected.Result)
	}
	waitFor("the Inspector's view", func() bool { return u.inspector.Inspector.View() != nil })
	in := &u.inspector.Inspector
	if e, ok := in.View().Entry("balance"); !u.inspector.showInspector || !ok || e.Value != "0" {
		t.Fatalf("inspector shown %v, view %+v", u.inspector.showInspector, in.View())
	}
	in.Select("balance")
	in.EditLine.SetText("40 + 2")
	in.SetSelected()
	waitFor("the SetSlot", func() bool { return !in.Busy() })
	waitFor("the refreshed view", func() bool { e, _ := in.View().Entry("balance"); return e.Value == "42" })
	if in.Err() != "" {
		t.Fatal(in.Err())
	}
	in.EvalLine.SetText("self.balance + 1")
	in.Evaluate()
	waitFor("the evaluation", func() bool { return !in.Busy() })
	if in.Result() != "43" {
		t.Errorf("evaluation = %q, error %q", in.Result(), in.Err())
	}
	loop.Close()
	res, err := v.Eval(context.Background(), "return Account.balance", vm.EvalOptions{})
	if err != nil || res.Values[0] != lua.LNumber(42) {
		t.Errorf("Account.balance = %v, %v", res, err)
	}
}

// TestGUIPrintItInspectLink: after a print-it of an object, the result
// line's "Inspect result" link opens it in the Inspector tab.
func TestGUIPrintItInspectLink(t *testing.T) {
	v := guiTestImage(t)
	loop := newVMLoop(v)
	t.Cleanup(func() { loop.Close(); v.Close() })
	u := newGUI("test", loop, func() {})
	var ops op.Ops
	frame := func() {
		ops.Reset()
		gtx := layout.Context{Ops: &ops, Metric: unit.Metric{PxPerDp: 1, PxPerSp: 1}, Constraints: layout.Exact(image.Pt(1200, 800)), Now: time.Now()}
		u.Layout(gtx)
	}
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(5 * time.Millisecond)
			frame()
		}
	}
	frame()
	u.Workspace.Editor.SetText("Account")
	u.Workspace.Editor.SetCaret(0, u.Workspace.Editor.Len())
	u.Workspace.PrintIt()
	waitFor("the print-it", func() bool { return u.Workspace.Last() != nil })
	frame()
	if u.inspector.showInspector || u.Workspace.Inspected != nil {
		t.Fatal("a print-it opened the Inspector by itself")
	}
	if !u.Workspace.CanInspectLast() {
		t.Fatalf("no Inspect link for %+v", u.Workspace.Last().Result)
	}
	u.Workspace.InspectLast() // what the link's click does
	waitFor("the Inspector's view", func() bool { return u.inspector.Inspector.View() != nil })
	if e, ok := u.inspector.Inspector.View().Entry("balance"); !u.inspector.showInspector || !ok || e.Value != "0" {
		t.Fatalf("inspector shown %v, view %+v", u.inspector.showInspector, u.inspector.Inspector.View())
	}
}
