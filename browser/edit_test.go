package browser

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"

	lua "github.com/yuin/gopher-lua"

	"github.com/phoenix-image/phoenix/bootstrap"
	"github.com/phoenix-image/phoenix/vm"
)

// countingStore counts the transactions committed to a MemStore.
type countingStore struct {
	vm.Store
	commits atomic.Int32
}

func (s *countingStore) Commit(b *vm.Batch) error {
	s.commits.Add(1)
	return s.Store.Commit(b)
}

// editImage is a fresh image with Account, whose deposit was defined
// and then redefined (two history entries), and a Bank whose payIn sends
// deposit. It returns the store that counts commits.
func editImage(t testing.TB) (*vm.VM, *countingStore) {
	t.Helper()
	ctx := context.Background()
	st := &countingStore{Store: vm.NewMemStore()}
	v, err := bootstrap.Genesis(ctx, vm.Options{Store: st})
	if err != nil {
		t.Fatalf("genesis: %v", err)
	}
	t.Cleanup(v.Close)
	for _, src := range []string{
		"Account = Object:clone(); Account.balance = 0",
		"function Account:deposit(n) self.balance = self.balance + n; return self end",
		"function Account:deposit(n)\n  self.balance = self.balance + n\n  self.deposits = (self.deposits or 0) + 1\n  return self\nend",
		"Bank = Object:clone(); Bank.name = 'b'\nfunction Bank:payIn(a, n) return a:deposit(n) end",
	} {
		if _, err := v.Eval(ctx, src, vm.EvalOptions{}); err != nil {
			t.Fatalf("evaluating %q: %v", src, err)
		}
	}
	return v, st
}

func evalValue(t testing.TB, v *vm.VM, src string) lua.LValue {
	t.Helper()
	res, err := v.Eval(context.Background(), src, vm.EvalOptions{})
	if err != nil {
		t.Fatalf("%s: %v", src, err)
	}
	if len(res.Values) == 0 {
		return lua.LNil
	}
	return res.Values[0]
}

func TestEditingBoundaryOverVMImage(t *testing.T) {
	v, st := editImage(t)
	m := VMImage{VM: v}
	acc := v.Global("Account")
	ref := ObjectRef{OID: acc.OID(), Name: "Account"}

	hs, err := m.History(ref, "deposit")
	if err != nil || len(hs) != 2 {
		t.Fatalf("history = %+v, %v; want 2 entries", hs, err)
	}
	diff := UnifiedDiff(hs[1].Old, hs[1].New)
	if !strings.Contains(diff, "\n-") || !strings.Contains(diff, "\n+") {
		t.Errorf("diff has no -/+ lines:\n%s", diff)
	}

	ss, err := m.Senders("deposit")
	if err != nil || len(ss) != 1 || ss[0].Object.Name != "Bank" || ss[0].Selector != "payIn" {
		t.Errorf("senders of deposit = %+v, %v; want Bank>>payIn only", ss, err)
	}
	is, err := m.Implementors("deposit")
	if err != nil || len(is) != 1 || is[0].Name != "Account" {
		t.Errorf("implementors of deposit = %+v, %v; want Account", is, err)
	}

	step := func(what string, f func() error) {
		t.Helper()
		before := st.commits.Load()
		if err := f(); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if n := st.commits.Load() - before; n != 1 {
			t.Errorf("%s committed %d transactions, want 1", what, n)
		}
	}
	step("revert", func() error { return m.Revert(ref, "deposit") })
	if got := evalValue(t, v, "local a = Account:clone(); a:deposit(1); return a.deposits"); got != lua.LNil {
		t.Errorf("after revert deposit counts deposits (%v): not the first version", got)
	}
	step("create", func() error { return m.CreateObject("Savings", "Account") })
	if got := evalValue(t, v, "return Savings:clone():deposit(3).balance"); got != lua.LNumber(3) {
		t.Errorf("Savings deposit gives %v", got)
	}
	step("create trait", func() error { return m.CreateObject("Audited", "Trait") })
	if got := evalValue(t, v, "return Audited ~= nil"); got != lua.LTrue {
		t.Errorf("no trait Audited")
	}
	step("remove slot", func() error { return m.RemoveSlot(ObjectRef{Name: "Bank"}, "name") })
	if got := evalValue(t, v, "return rawget(Bank, 'name')"); got != lua.LNil {
		t.Errorf("Bank.name still %v", got)
	}
	step("remove method", func() error { return m.RemoveMethod(ObjectRef{Name: "Bank"}, "payIn") })
	if got := evalValue(t, v, "return rawget(Bank, 'payIn')"); got != lua.LNil {
		t.Errorf("Bank.payIn still %v", got)
	}
	step("remove global", func() error { return m.RemoveGlobal("Savings") })
	if v.Global("Savings") != nil {
		t.Errorf("Savings still a global")
	}
	if err := m.CreateObject("Account", "Object"); err == nil || !strings.Contains(err.Error(), "Account") {
		t.Errorf("creating an existing global: %v", err)
	}
	if err := m.RemoveMethod(ObjectRef{Name: "Bank"}, "nope"); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("removing a missing method: %v", err)
	}
}
