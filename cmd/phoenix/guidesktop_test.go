//go:build cgo

package main

import (
	"image"
	"strings"
	"testing"
	"time"

	"gioui.org/layout"
	"gioui.org/op"
	"gioui.org/unit"

	"github.com/phoenix-image/phoenix/workspace"
)

// TestDesktopImplementItMyself checks the wiring: the window's evaluation
// raises the notifier installed by attachDesktop, and "Implement it
// myself" opens the browser's editor on the skeleton.
func TestDesktopImplementItMyself(t *testing.T) {
	v := guiTestImage(t)
	loop := newVMLoop(v)
	t.Cleanup(func() { loop.Close(); v.Close() })
	u := newGUI("test.image", loop, func() {})
	u.attachDesktop(nil, nil, func() {})
	src := "Account:clone():withdraw(3)"
	if _, err := u.eval.Eval(src); err != workspace.ErrPending {
		t.Fatalf("Eval: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if n, ok := u.desk.Notifier.Notice(); ok {
			if n.Selector != "withdraw" || n.Target != "Account" {
				t.Fatalf("notice %+v", n)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no notice")
		}
		time.Sleep(5 * time.Millisecond)
	}
	u.desk.Notifier.Choose(workspace.ImplementIt)
	var res workspace.EvalResult
	for {
		r, err := u.eval.Eval(src)
		if err == nil {
			res = r
			break
		}
		if err != workspace.ErrPending || time.Now().After(deadline) {
			t.Fatalf("Eval: %v", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if !strings.Contains(res.Error, workspace.ReasonImplement) {
		t.Fatalf("result %+v", res)
	}
	var ops op.Ops
	gtx := layout.Context{Ops: &ops, Metric: unit.Metric{PxPerDp: 1, PxPerSp: 1}, Constraints: layout.Exact(image.Pt(1000, 700))}
	u.Layout(gtx)
	if ref, ok := u.Browser.Selected(); !ok || ref.Name != "Account" {
		t.Fatalf("the browser shows %+v", ref)
	}
	if got := u.Browser.Source.Text(); got != "function Account:withdraw(a)\n  \nend" || u.Browser.Selector() != "withdraw" {
		t.Fatalf("the editor holds %q for %q", got, u.Browser.Selector())
	}
}
