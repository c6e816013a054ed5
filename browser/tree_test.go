package browser

import (
	"context"
	"image"
	"testing"

	"github.com/phoenix-image/phoenix/vm"
)

// ownerImage is accountImage with an unnamed object in Account.owner.
func ownerImage(t *testing.T) *vm.VM {
	t.Helper()
	v := accountImage(t)
	src := "Account.owner = Object:clone(); Account.owner.name = 'Ada'; Account.history = {}"
	if _, err := v.Eval(context.Background(), src, vm.EvalOptions{}); err != nil {
		t.Fatalf("defining Account.owner: %v", err)
	}
	return v
}

// toggle returns the centre of the expand toggle ("+" or "-") on the row
// of the left pane whose text starts with label.
func (d *driver) toggle(label string) image.Point {
	d.t.Helper()
	at := d.find(0, label)
	for _, n := range d.nodes() {
		l := d.label(n)
		bd := n.Desc.Bounds
		if (l == "+" || l == "-") && d.inPane(0, bd) && bd.Min.Y <= at.Y && at.Y < bd.Max.Y {
			return image.Pt((bd.Min.X+bd.Max.X)/2, (bd.Min.Y+bd.Max.Y)/2)
		}
	}
	d.t.Fatalf("no toggle on the row %q", label)
	return image.Point{}
}

func (d *driver) has(pane int, label string) bool {
	for _, n := range d.nodes() {
		if d.inPane(pane, n.Desc.Bounds) && len(d.label(n)) >= len(label) && d.label(n)[:len(label)] == label {
			return true
		}
	}
	return false
}

func TestTreeExpandsSelectsAndCollapses(t *testing.T) {
	v := ownerImage(t)
	d := newDriver(t, VMImage{VM: v})
	all := len(d.b.Listed())
	if d.has(0, "owner") {
		t.Fatal("a child row shows before expanding")
	}
	d.click(d.toggle("Account"))
	if !d.has(0, "owner → Account.owner") {
		t.Fatalf("expanding Account shows no owner row; listed %+v", d.b.Listed())
	}
	if d.has(0, "history") {
		t.Error("a table slot is listed as a child")
	}
	if n := len(d.b.Listed()); n != all+1 {
		t.Errorf("after expanding Account %d rows are listed, want %d", n, all+1)
	}

	d.click(d.find(0, "owner"))
	ref, ok := d.b.Selected()
	if !ok || ref.Name != "Account.owner" || ref.OID == 0 {
		t.Fatalf("after clicking the owner row the selection is %+v (%v)", ref, ok)
	}
	view := d.b.View()
	if view == nil || len(view.Slots) != 1 || view.Slots[0].Name != "name" || view.Slots[0].Value != "Ada" {
		t.Fatalf("the middle pane shows %+v, want owner's slot name = Ada", view)
	}
	if !d.has(1, "name = Ada") {
		t.Error("the middle pane does not show name = Ada")
	}

	// The editor works on the child.
	src := "function Account.owner:greet() return 'hi ' .. self.name end"
	d.replaceText(2, d.b.Source.Text(), src)
	d.click(d.find(2, "Accept"))
	if err, _ := d.b.Err(); err != nil {
		t.Fatalf("accepting a method of the owner: %v", err)
	}
	if _, ok := d.b.View().Method("greet"); !ok {
		t.Errorf("owner's view has no greet after accepting: %+v", d.b.View().Methods)
	}

	// Search filters the top level and keeps matching children of
	// expanded nodes.
	d.replaceText(0, "", "owner")
	got := d.b.Listed()
	if len(got) != 2 || got[0].Name != "Account" || got[1].Name != "Account.owner" {
		t.Errorf("searching owner lists %+v, want Account and its owner", got)
	}
	d.replaceText(0, "owner", "obj")
	for _, r := range d.b.Listed() {
		if r.Name == "Account" || r.Name == "Account.owner" {
			t.Errorf("searching obj lists %+v", d.b.Listed())
		}
	}
	d.replaceText(0, "obj", "")

	d.click(d.toggle("Account"))
	if d.has(0, "owner") {
		t.Error("collapsing Account leaves the owner row")
	}
	if n := len(d.b.Listed()); n != all {
		t.Errorf("after collapsing %d rows are listed, want %d", n, all)
	}
}
