package vm

import (
	"context"
	"strings"
	"testing"
)

func newTestVM(t *testing.T) (*VM, *MemStore, *strings.Builder) {
	t.Helper()
	st := NewMemStore()
	var out strings.Builder
	v, err := Create(Options{Store: st, Transcript: &out})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	return v, st, &out
}

func evalOK(t *testing.T, v *VM, src string) string {
	t.Helper()
	res, err := v.Eval(context.Background(), src, EvalOptions{Print: true})
	if err != nil {
		if e, ok := err.(*Error); ok {
			t.Fatalf("eval %q: %s", src, e.Detail())
		}
		t.Fatalf("eval %q: %v", src, err)
	}
	return strings.Join(res.Strings, "\t")
}

func TestSmokeAccount(t *testing.T) {
	v, st, _ := newTestVM(t)
	evalOK(t, v, `Account = Object:clone(); Account.balance = 0`)
	evalOK(t, v, `function Account:deposit(n) self.balance = self.balance + n; return self end`)
	if got := evalOK(t, v, `local a = Account:clone(); a:deposit(5); return a.balance`); got != "5" {
		t.Fatalf("got %q", got)
	}
	// Reopen from the store.
	v2, err := Open(Options{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	defer v2.Close()
	if got := evalOK(t, v2, `local a = Account:clone(); a:deposit(7); return a.balance`); got != "7" {
		t.Fatalf("after reopen got %q", got)
	}
	if got := evalOK(t, v2, `local a = Account:clone(); a.balance = 5; return a`); got != "an Account {balance = 5}" {
		t.Fatalf("printString %q", got)
	}
}
