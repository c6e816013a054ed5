package browser

import (
	"context"
	"strings"
	"testing"

	"gioui.org/io/key"
	lua "github.com/yuin/gopher-lua"

	"github.com/phoenix-image/phoenix/vm"
)

// openDeposit clicks Account in the list and deposit among its methods.
func openDeposit(t *testing.T, d *driver) {
	t.Helper()
	d.click(d.find(0, "Account"))
	ref, ok := d.b.Selected()
	if !ok || ref.Name != "Account" {
		t.Fatalf("after clicking Account the selection is %+v (%v)", ref, ok)
	}
	if d.b.View() == nil {
		t.Fatal("no view of Account after selecting it")
	}
	d.click(d.find(1, "deposit"))
	if got := d.b.Selector(); got != "deposit" {
		t.Fatalf("after clicking deposit the editor holds %q", got)
	}
	if src := d.b.Source.Text(); !strings.Contains(src, "function Account:deposit(n)") {
		t.Fatalf("editor source is %q", src)
	}
}

func TestClickingAnObjectShowsItsSlotsAndMethods(t *testing.T) {
	d := newDriver(t, VMImage{VM: accountImage(t)})
	d.click(d.find(0, "Account"))
	v := d.b.View()
	if v == nil {
		t.Fatal("no view after clicking Account")
	}
	if len(v.Chain) == 0 || v.Chain[0].Name != "Object" {
		t.Errorf("prototype chain = %+v, want Object first", v.Chain)
	}
	if len(v.Slots) != 1 || v.Slots[0].Name != "balance" || v.Slots[0].Value != "0" {
		t.Errorf("slots = %+v, want balance = 0", v.Slots)
	}
	if _, ok := v.Method("deposit"); !ok {
		t.Errorf("methods = %+v, want deposit", v.Methods)
	}
}

func TestAcceptingAnEditedMethodChangesTheImage(t *testing.T) {
	v := accountImage(t)
	d := newDriver(t, VMImage{VM: v})
	openDeposit(t, d)
	old := d.b.Source.Text()
	src := "function Account:deposit(n)\n  self.balance = self.balance + 2 * n\n  return self\nend"
	d.replaceText(2, old, src)
	if got := d.b.Source.Text(); got != src {
		t.Fatalf("editor text after typing = %q", got)
	}
	d.click(d.find(2, "Accept"))
	if err, _ := d.b.Err(); err != nil {
		t.Fatalf("accept failed: %v", err)
	}
	if !strings.Contains(d.b.Status(), "accepted Account>>deposit") {
		t.Errorf("status = %q", d.b.Status())
	}
	res, err := v.Eval(context.Background(), "return Account:clone():deposit(5).balance", vm.EvalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Values) != 1 || res.Values[0] != lua.LNumber(10) {
		t.Errorf("deposit(5) after accepting gives balance %v, want 10", res.Values)
	}
	if m, _ := d.b.View().Method("deposit"); m.Source != src {
		t.Errorf("the view was not refreshed: deposit source %q", m.Source)
	}
}

func TestShortcutsAcceptTheEditor(t *testing.T) {
	for _, k := range []key.Name{"S", key.NameReturn, key.NameEnter} {
		t.Run("Ctrl-"+string(k), func(t *testing.T) {
			v := accountImage(t)
			d := newDriver(t, VMImage{VM: v})
			openDeposit(t, d)
			src := "function Account:deposit(n) self.balance = self.balance + n + 1; return self end"
			d.replaceText(2, d.b.Source.Text(), src)
			d.press(k, key.ModShortcut)
			if err, _ := d.b.Err(); err != nil {
				t.Fatalf("accept failed: %v", err)
			}
			if got := d.b.Source.Text(); got != src {
				t.Errorf("the shortcut changed the editor's text to %q", got)
			}
			res, err := v.Eval(context.Background(), "return Account:clone():deposit(5).balance", vm.EvalOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if res.Values[0] != lua.LNumber(6) {
				t.Errorf("deposit(5) after the shortcut gives balance %v, want 6", res.Values[0])
			}
		})
	}
}

func TestACompileErrorShowsItsLine(t *testing.T) {
	v := accountImage(t)
	d := newDriver(t, VMImage{VM: v})
	openDeposit(t, d)
	src := "function Account:deposit(n)\n  self.balance = self.balance +\nend"
	d.replaceText(2, d.b.Source.Text(), src)
	d.click(d.find(2, "Accept"))
	err, line := d.b.Err()
	if err == nil {
		t.Fatal("accepting a syntax error gave no error")
	}
	if line != 3 {
		t.Errorf("error %q reported at line %d, want 3", err, line)
	}
	// The image keeps the old method.
	res, err := v.Eval(context.Background(), "return Account:clone():deposit(5).balance", vm.EvalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Values[0] != lua.LNumber(5) {
		t.Errorf("deposit(5) after a failed accept gives %v, want 5", res.Values[0])
	}
	// The editor keeps what was typed.
	if d.b.Source.Text() != src {
		t.Errorf("editor lost the source: %q", d.b.Source.Text())
	}
}

func TestSearchFiltersTheList(t *testing.T) {
	d := newDriver(t, VMImage{VM: accountImage(t)})
	all := len(d.b.Listed())
	if all < 3 {
		t.Fatalf("only %d objects listed", all)
	}
	d.replaceText(0, "", "accou")
	got := d.b.Listed()
	if len(got) != 1 || got[0].Name != "Account" {
		t.Fatalf("searching accou lists %+v", got)
	}
	d.click(d.find(0, "Account"))
	if ref, _ := d.b.Selected(); ref.Name != "Account" {
		t.Errorf("selection after clicking the filtered row: %+v", ref)
	}
	d.replaceText(0, "accou", "")
	if n := len(d.b.Listed()); n != all {
		t.Errorf("clearing the search lists %d objects, want %d", n, all)
	}
}
