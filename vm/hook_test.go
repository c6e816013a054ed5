package vm

import (
	"context"
	"errors"
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"
)

// resolver is a NotUnderstood hook that writes the missing method.
type resolver struct {
	calls  []string
	source string
	reason string
	fail   error
}

func (r *resolver) Resolve(ctx context.Context, v *VM, req *DNURequest) (bool, string, error) {
	r.calls = append(r.calls, req.Receiver.DisplayName()+">>"+req.Selector)
	if r.fail != nil {
		return false, "", r.fail
	}
	if r.source == "" {
		return false, r.reason, nil
	}
	target := req.Receiver
	for target.Proto() != nil && target.Name() == "" {
		target = target.Proto()
	}
	if err := v.DefineMethod(target, req.Selector, r.source); err != nil {
		return false, "", err
	}
	return true, "", nil
}

func TestNotUnderstoodHookDefinesAndResends(t *testing.T) {
	v, st, _ := newTestVM(t)
	r := &resolver{source: "function Account:withdraw(n) self.balance = self.balance - n; return self end"}
	v.SetNotUnderstood(r)
	evalOK(t, v, `Account = Object:clone(); Account.balance = 0`)
	if got := evalOK(t, v, `local a = Account:clone(); a.balance = 10; return a:withdraw(3).balance`); got != "7" {
		t.Fatalf("resent result %q", got)
	}
	if len(r.calls) != 1 || r.calls[0] != "an Account>>withdraw" {
		t.Fatalf("hook calls %v", r.calls)
	}
	// The method was installed as part of the evaluation's transaction.
	v2, err := Open(Options{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	defer v2.Close()
	if got := evalOK(t, v2, `return reflect(Account):source("withdraw")`); !strings.HasPrefix(got, "function Account:withdraw(n)") {
		t.Fatalf("installed source %q", got)
	}
}

func TestNotUnderstoodHookRefusalGivesReason(t *testing.T) {
	v, _, _ := newTestVM(t)
	v.SetNotUnderstood(&resolver{reason: "no LLM is configured"})
	evalOK(t, v, `Account = Object:clone()`)
	_, err := v.Eval(context.Background(), `Account:clone():withdraw(3)`, EvalOptions{})
	var e *Error
	if !errors.As(err, &e) || e.Kind != "MessageNotUnderstood" || e.Selector != "withdraw" || !strings.Contains(e.Message, "no LLM is configured") {
		t.Fatalf("got %#v", err)
	}
	if len(e.Arguments) != 1 || e.Arguments[0] != "3" || e.Receiver != "an Account" {
		t.Fatalf("structured fields: %+v", e)
	}
	v.SetNotUnderstood(&resolver{fail: errors.New("sandbox rejected it")})
	_, err = v.Eval(context.Background(), `Account:clone():withdraw(3)`, EvalOptions{})
	if err == nil || !strings.Contains(err.Error(), "sandbox rejected it") {
		t.Fatalf("got %v", err)
	}
	if got := evalOK(t, v, `return Account.withdraw`); got != "nil" {
		t.Fatalf("image changed: %s", got)
	}
}

// A commit that fails in the store leaves memory as it was before the
// evaluation: the in-memory half of "complete rollback in memory and on disk".
func TestStoreFailureRollsBackMemory(t *testing.T) {
	v, st, _ := newTestVM(t)
	evalOK(t, v, `Account = Object:clone(); Account.balance = 1; log = {1}`)
	st.FailNext = errors.New("disk full")
	_, err := v.Eval(context.Background(), `Account.balance = 2; log[2] = 2; New = Object:clone(); function Account:f() end`, EvalOptions{})
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("got %v", err)
	}
	if got := evalOK(t, v, `return Account.balance, #log, New, Account.f`); got != "1\t1\tnil\tnil" {
		t.Fatalf("after failed commit: %s", got)
	}
	// And the objects that were going to be new are new again next time.
	evalOK(t, v, `New = Object:clone(); New.x = {1}`)
	v2, err := Open(Options{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	defer v2.Close()
	if got := evalOK(t, v2, `return New.x[1], Account.balance`); got != "1\t1" {
		t.Fatalf("reopened: %s", got)
	}
}

func TestLazyOpenLoadsOnlyWhatIsTouched(t *testing.T) {
	v, st, _ := newTestVM(t)
	evalOK(t, v, `Items = {}; for i = 1, 5000 do local o = Object:clone(); o.i = i; Items[i] = o end`)
	v2, err := Open(Options{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	defer v2.Close()
	if got := evalOK(t, v2, `return Items[777].i`); got != "777" {
		t.Fatalf("got %s", got)
	}
	loaded, faults := v2.Loaded()
	if loaded > 10 {
		t.Fatalf("opening and touching one item loaded %d objects (%d faults)", loaded, faults)
	}
}

func TestInterruptRollsBack(t *testing.T) {
	v, _, _ := newTestVM(t)
	evalOK(t, v, `Flag = 0`)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		_, err := v.Eval(ctx, `Flag = 1; while true do end`, EvalOptions{})
		done <- err
	}()
	cancel()
	err := <-done
	var e *Error
	if !errors.As(err, &e) || e.Kind != "Interrupted" {
		t.Fatalf("got %v", err)
	}
	if got := evalOK(t, v, `return Flag`); got != "0" {
		t.Fatalf("Flag = %s", got)
	}
}

func TestEvalResultValues(t *testing.T) {
	v, _, _ := newTestVM(t)
	res, err := v.Eval(context.Background(), `return 1, "a", nil, {1, x = 2}`, EvalOptions{Print: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Values) != 4 || res.Values[1] != lua.LString("a") {
		t.Fatalf("values %v", res.Values)
	}
	if got := strings.Join(res.Strings, "|"); got != `1|a|nil|{1, x = 2}` {
		t.Fatalf("strings %q", got)
	}
}
