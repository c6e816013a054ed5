package browser

import (
	"context"
	"image"
	"strings"
	"sync/atomic"
	"testing"

	"gioui.org/io/key"
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

// paneEditors returns the centres of the text editors in pane, top to bottom.
func (d *driver) paneEditors(pane int) []image.Point {
	var out []image.Point
	for _, p := range d.editors() {
		if d.inPane(pane, image.Rectangle{Min: p, Max: p}) {
			out = append(out, p)
		}
	}
	return out
}

// typeAt focuses the empty editor at p and types s into it.
func (d *driver) typeAt(p image.Point, s string) {
	d.click(p)
	d.r.Queue(key.EditEvent{Text: s})
	d.frame()
}

// commitsOf runs f and fails unless it committed exactly one transaction
// without an error shown.
func commitsOf(t *testing.T, d *driver, st *countingStore, what string, f func()) {
	t.Helper()
	before := st.commits.Load()
	f()
	if err, _ := d.b.Err(); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if n := st.commits.Load() - before; n != 1 {
		t.Errorf("%s committed %d transactions, want 1", what, n)
	}
}

const firstDeposit = "function Account:deposit(n) self.balance = self.balance + n; return self end"

func TestBrowserHistoryShowsDiffsAndReverts(t *testing.T) {
	v, st := editImage(t)
	d := newDriver(t, VMImage{VM: v})
	openDeposit(t, d)
	d.click(d.find(2, "History"))
	if hs := d.b.History(); len(hs) != 2 {
		t.Fatalf("history shows %d versions, want 2: %+v", len(hs), hs)
	}
	text := d.b.HistoryText()
	if !strings.Contains(text, "\n-") || !strings.Contains(text, "\n+") {
		t.Errorf("the history has no -/+ diff lines:\n%s", text)
	}
	if !strings.Contains(text, "#2") || !strings.Contains(text, "#1") {
		t.Errorf("the history does not list both versions:\n%s", text)
	}
	commitsOf(t, d, st, "revert", func() { d.click(d.find(2, "Revert")) })
	if got := evalValue(t, v, "local a = Account:clone(); a:deposit(1); return a.deposits"); got != lua.LNil {
		t.Errorf("after Revert deposit counts deposits (%v): not the first version", got)
	}
	if src, _ := v.MethodSource(v.Global("Account"), "deposit"); src != firstDeposit {
		t.Errorf("after Revert the source is %q", src)
	}
	if got := d.b.Source.Text(); got != firstDeposit {
		t.Errorf("after Revert the editor holds %q", got)
	}
	if hs := d.b.History(); len(hs) != 3 {
		t.Errorf("after Revert the history shows %d versions, want 3", len(hs))
	}
	if !strings.Contains(d.b.Status(), "reverted Account>>deposit") {
		t.Errorf("status = %q", d.b.Status())
	}
}

func TestBrowserSendersAndImplementors(t *testing.T) {
	v, _ := editImage(t)
	d := newDriver(t, VMImage{VM: v})
	openDeposit(t, d)
	d.click(d.find(2, "Implementors"))
	rs, title := d.b.Results()
	if title != "Implementors of deposit" || len(rs) != 1 || rs[0].Object.Name != "Account" {
		t.Errorf("implementors = %q %+v, want Account", title, rs)
	}
	d.click(d.find(2, "Senders"))
	rs, title = d.b.Results()
	if title != "Senders of deposit" || len(rs) != 1 || rs[0].Object.Name != "Bank" || rs[0].Selector != "payIn" {
		t.Fatalf("senders = %q %+v, want Bank>>payIn", title, rs)
	}
	d.click(d.find(2, "Bank>>payIn"))
	if ref, _ := d.b.Selected(); ref.Name != "Bank" || d.b.Selector() != "payIn" {
		t.Errorf("clicking Bank>>payIn selected %s>>%s", ref.Name, d.b.Selector())
	}
	if !strings.Contains(d.b.Source.Text(), "a:deposit(n)") {
		t.Errorf("the editor holds %q", d.b.Source.Text())
	}
}

func TestBrowserCreatesAndRemoves(t *testing.T) {
	v, st := editImage(t)
	d := newDriver(t, VMImage{VM: v})

	d.click(d.find(0, "New object"))
	eds := d.paneEditors(0)
	if len(eds) != 3 {
		t.Fatalf("%d editors in the object pane, want search, name and prototype", len(eds))
	}
	d.typeAt(eds[1], "Savings")
	d.typeAt(eds[2], "Account")
	commitsOf(t, d, st, "New object", func() { d.click(d.find(0, "Create")) })
	sav := v.Global("Savings")
	if sav == nil || sav.Proto() != v.Global("Account") {
		t.Fatalf("Savings = %v, want a clone of Account", sav)
	}
	if ref, _ := d.b.Selected(); ref.Name != "Savings" {
		t.Errorf("after creating, the selection is %+v", ref)
	}

	d.click(d.find(0, "Remove"))
	if v.Global("Savings") == nil {
		t.Fatal("one click on Remove removed Savings without confirmation")
	}
	commitsOf(t, d, st, "Remove", func() { d.click(d.find(0, "Remove Savings?")) })
	if v.Global("Savings") != nil {
		t.Error("Savings is still a global")
	}

	d.click(d.find(0, "New trait"))
	d.typeAt(d.paneEditors(0)[1], "Audited")
	commitsOf(t, d, st, "New trait", func() { d.click(d.find(0, "Create")) })
	if tr := v.Global("Audited"); tr == nil || tr.Kind() != vm.KindTrait {
		t.Errorf("Audited = %v, want a trait", tr)
	}

	d.click(d.find(0, "Bank"))
	d.click(d.find(1, "name = "))
	commitsOf(t, d, st, "Remove slot", func() { d.click(d.find(1, "Remove slot")) })
	if got := evalValue(t, v, "return rawget(Bank, 'name')"); got != lua.LNil {
		t.Errorf("Bank.name is still %v", got)
	}
	d.click(d.find(1, "payIn"))
	commitsOf(t, d, st, "Remove method", func() { d.click(d.find(1, "Remove method")) })
	if _, ok := v.MethodSource(v.Global("Bank"), "payIn"); ok {
		t.Error("Bank still has payIn")
	}
	if m := d.b.View(); m == nil || len(m.Methods) != 0 || len(m.Slots) != 0 {
		t.Errorf("the view of Bank was not refreshed: %+v", m)
	}
}
