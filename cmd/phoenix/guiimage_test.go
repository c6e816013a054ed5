//go:build cgo

package main

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/phoenix-image/phoenix/bootstrap"
	"github.com/phoenix-image/phoenix/browser"
	"github.com/phoenix-image/phoenix/vm"
)

// guiTestImage is a fresh in-memory image with an Account and an object
// whose printString never returns.
func guiTestImage(t *testing.T) *vm.VM {
	t.Helper()
	ctx := context.Background()
	v, err := bootstrap.Genesis(ctx, vm.Options{Store: vm.NewMemStore()})
	if err != nil {
		t.Fatalf("genesis: %v", err)
	}
	src := "Account = Object:clone(); Account.balance = 0\n" +
		"function Account:deposit(n) self.balance = self.balance + n; return self end\n" +
		"Forever = Object:clone(); function Forever:printString() while true do end end\n" +
		"Holder = Object:clone(); Holder.bad = Forever:clone(); Holder.good = 7"
	if _, err := v.Eval(ctx, src, vm.EvalOptions{}); err != nil {
		t.Fatalf("defining the test objects: %v", err)
	}
	return v
}

// newTestAsync starts an asyncImage over v; invalidations are counted on
// the returned channel. The loop is closed (and v with it) at cleanup.
func newTestAsync(t *testing.T, v *vm.VM) (*asyncImage, *vmLoop, chan struct{}) {
	loop := newVMLoop(v)
	inval := make(chan struct{}, 100)
	a := newAsyncImage(loop, func() { inval <- struct{}{} })
	t.Cleanup(func() { loop.Close(); v.Close() })
	return a, loop, inval
}

// await asks q until it stops answering ErrPending, waiting for an
// invalidation between questions, as a window's frames would.
func await[T any](t *testing.T, inval chan struct{}, q func() (T, error)) (T, error) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		val, err := q()
		if !errors.Is(err, browser.ErrPending) {
			return val, err
		}
		select {
		case <-inval:
		case <-deadline:
			t.Fatal("no answer within 10s")
		}
	}
}

func TestAsyncImageGlobalsAndDescribe(t *testing.T) {
	a, _, inval := newTestAsync(t, guiTestImage(t))
	if _, err := a.Globals(); !errors.Is(err, browser.ErrPending) {
		t.Fatalf("first Globals: err = %v, want ErrPending", err)
	}
	gs, err := await(t, inval, a.Globals)
	if err != nil {
		t.Fatal(err)
	}
	var acct browser.ObjectRef
	for _, g := range gs {
		if g.Name == "Account" {
			acct = g
		}
	}
	if acct.Name == "" {
		t.Fatalf("no Account among %v", gs)
	}
	if a.Objects() != len(gs) {
		t.Errorf("Objects() = %d, want %d", a.Objects(), len(gs))
	}
	// An answer is taken once: asking again asks the VM again.
	if _, err := a.Globals(); !errors.Is(err, browser.ErrPending) {
		t.Fatalf("Globals after an answer: err = %v, want ErrPending (a fresh question)", err)
	}
	view, err := await(t, inval, func() (browser.ObjectView, error) { return a.Describe(acct) })
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := view.Method("deposit"); !ok {
		t.Fatalf("Account's view has no deposit: %+v", view)
	}
}

func TestAsyncImageAcceptOnce(t *testing.T) {
	v := guiTestImage(t)
	a, loop, inval := newTestAsync(t, v)
	acct := browser.ObjectRef{Name: "Account"}
	src := "function Account:withdraw(n) self.balance = self.balance - n; return self end"
	// Hold the VM so that the repeated Accept surely finds the first pending.
	release := make(chan struct{})
	loop.Go(func(*vm.VM) { <-release })
	for i := 0; i < 3; i++ {
		if err := a.Accept(acct, "", src); !errors.Is(err, browser.ErrPending) {
			t.Fatalf("Accept #%d: err = %v, want ErrPending", i, err)
		}
	}
	if !loop.Busy() {
		t.Error("Busy() = false with requests queued")
	}
	close(release)
	if _, err := await(t, inval, func() (struct{}, error) { return struct{}{}, a.Accept(acct, "", src) }); err != nil {
		t.Fatalf("Accept: %v", err)
	}
	if len(a.accepts) != 0 {
		t.Errorf("%d accept answers kept after delivery", len(a.accepts))
	}
	// A compile error comes back with its line.
	_, err := await(t, inval, func() (struct{}, error) {
		return struct{}{}, a.Accept(acct, "", "function Account:x()\n  return (\nend")
	})
	if browser.ErrorLine(err) == 0 {
		t.Errorf("compile error %v has no line", err)
	}
	loop.Close()
	if loop.Busy() {
		t.Error("Busy() after Close")
	}
	if src, ok := v.MethodSource(v.Global("Account"), "withdraw"); !ok || !strings.Contains(src, "withdraw") {
		t.Errorf("withdraw after Accept: %q, %v", src, ok)
	}
}

func TestAsyncImageLoopingPrintStringDoesNotHang(t *testing.T) {
	a, _, inval := newTestAsync(t, guiTestImage(t))
	a.budget = 300 * time.Millisecond
	start := time.Now()
	view, err := await(t, inval, func() (browser.ObjectView, error) { return a.Describe(browser.ObjectRef{Name: "Holder"}) })
	if err != nil {
		t.Fatalf("Describe(Holder): %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Describe took %v", d)
	}
	var bad string
	for _, s := range view.Slots {
		if s.Name == "bad" {
			bad = s.Value
		}
	}
	if !strings.HasPrefix(bad, "<") {
		t.Errorf("the looping slot shows %q, want an error in <>", bad)
	}
	// The VM is still usable afterwards.
	if _, err := await(t, inval, a.Globals); err != nil {
		t.Fatalf("Globals after the timeout: %v", err)
	}
}

func TestVMLoopClosedRefuses(t *testing.T) {
	a, loop, _ := newTestAsync(t, guiTestImage(t))
	loop.Close()
	if _, err := a.Globals(); !errors.Is(err, errClosed) {
		t.Fatalf("Globals on a closed loop: err = %v, want errClosed", err)
	}
}

func TestAsyncImageEditing(t *testing.T) {
	v := guiTestImage(t)
	a, loop, inval := newTestAsync(t, v)
	acct := browser.ObjectRef{Name: "Account"}
	src := "function Account:deposit(n) self.balance = self.balance + 2 * n; return self end"
	if _, err := await(t, inval, func() (struct{}, error) { return struct{}{}, a.Accept(acct, "deposit", src) }); err != nil {
		t.Fatal(err)
	}
	hs, err := await(t, inval, func() ([]browser.Change, error) { return a.History(acct, "deposit") })
	if err != nil || len(hs) != 2 {
		t.Fatalf("history = %+v, %v; want 2 entries", hs, err)
	}
	is, err := await(t, inval, func() ([]browser.ObjectRef, error) { return a.Implementors("deposit") })
	if err != nil || len(is) != 1 || is[0].Name != "Account" {
		t.Errorf("implementors = %+v, %v", is, err)
	}
	if _, err := await(t, inval, func() ([]browser.MethodRef, error) { return a.Senders("deposit") }); err != nil {
		t.Errorf("senders: %v", err)
	}
	// A repeated change while the first is pending is the same request.
	release := make(chan struct{})
	loop.Go(func(*vm.VM) { <-release })
	for i := 0; i < 3; i++ {
		if err := a.CreateObject("Savings", "Account"); !errors.Is(err, browser.ErrPending) {
			t.Fatalf("CreateObject #%d: err = %v, want ErrPending", i, err)
		}
	}
	close(release)
	steps := []func() error{
		func() error { return a.CreateObject("Savings", "Account") },
		func() error { return a.Revert(acct, "deposit") },
		func() error { return a.RemoveSlot(browser.ObjectRef{Name: "Holder"}, "good") },
		func() error { return a.RemoveMethod(acct, "deposit") },
		func() error { return a.RemoveGlobal("Savings") },
	}
	for i, f := range steps {
		if _, err := await(t, inval, func() (struct{}, error) { return struct{}{}, f() }); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	loop.Close()
	if v.Global("Savings") != nil {
		t.Error("Savings is still a global")
	}
	if _, ok := v.MethodSource(v.Global("Account"), "deposit"); ok {
		t.Error("deposit is still a method of Account")
	}
}

func TestAsyncImageChildren(t *testing.T) {
	a, _, inval := newTestAsync(t, guiTestImage(t))
	holder := browser.ObjectRef{Name: "Holder"}
	if _, err := a.Children(holder); !errors.Is(err, browser.ErrPending) {
		t.Fatalf("first Children: %v, want ErrPending", err)
	}
	cs, err := await(t, inval, func() ([]browser.ObjectRef, error) { return a.Children(holder) })
	if err != nil {
		t.Fatalf("Children(Holder): %v", err)
	}
	if len(cs) != 1 || cs[0].Slot != "bad" || cs[0].OID == 0 || cs[0].Name != "Holder.bad" {
		t.Fatalf("Children(Holder) = %+v, want the bad slot's Forever", cs)
	}
	// The child can be described by its reference.
	view, err := await(t, inval, func() (browser.ObjectView, error) { return a.Describe(cs[0]) })
	if err != nil || view.Ref.OID != cs[0].OID || len(view.Chain) == 0 || view.Chain[0].Name != "Forever" {
		t.Errorf("Describe(Holder.bad) = %+v, %v", view, err)
	}
}
