package browser

import (
	"context"
	"image"
	"slices"
	"sort"
	"strings"
	"testing"
	"unicode/utf8"

	"gioui.org/io/key"
	"gioui.org/io/semantic"
	"gioui.org/layout"
	"gioui.org/widget/material"
	lua "github.com/yuin/gopher-lua"

	"github.com/phoenix-image/phoenix/browser/browsertest"
	"github.com/phoenix-image/phoenix/vm"
)

// historyImage is accountImage with a table slot: Account.history.
func historyImage(t testing.TB) *vm.VM {
	t.Helper()
	v := accountImage(t)
	if _, err := v.Eval(context.Background(), `Account.history = {10, 20, "x"}`, vm.EvalOptions{}); err != nil {
		t.Fatal(err)
	}
	return v
}

// inspectorDriver lays out an Inspector opened on Account, frame by frame.
func inspectorDriver(t testing.TB, v *vm.VM) (*driver, *Inspector) {
	t.Helper()
	in := &Inspector{Image: VMImage{VM: v}}
	in.Open(ValueRef{OID: v.Global("Account").OID()}, "Account")
	d := &driver{t: t, th: browsertest.Theme(), size: image.Pt(900, 700)}
	d.lay = func(gtx layout.Context, th *material.Theme) layout.Dimensions { return in.Layout(gtx, th) }
	d.frame()
	d.frame()
	return d, in
}

// at returns the centre of the first widget whose text starts with label.
func (d *driver) at(label string) image.Point {
	d.t.Helper()
	for _, n := range d.nodes() {
		if n.Desc.Bounds.Dy() > 100 {
			continue
		}
		if strings.HasPrefix(d.label(n), label) {
			bd := n.Desc.Bounds
			return image.Pt((bd.Min.X+bd.Max.X)/2, (bd.Min.Y+bd.Max.Y)/2)
		}
	}
	d.t.Fatalf("no widget %q", label)
	return image.Point{}
}

// editors returns the centres of the text editors, top to bottom.
func (d *driver) editors() []image.Point {
	var out []image.Point
	for _, n := range d.nodes() {
		if n.Desc.Class == semantic.Editor {
			bd := n.Desc.Bounds
			p := image.Pt((bd.Min.X+bd.Max.X)/2, (bd.Min.Y+bd.Max.Y)/2)
			if !slices.Contains(out, p) { // a node may be listed more than once
				out = append(out, p)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Y < out[j].Y })
	return out
}

// typeLine focuses the i-th editor, replaces its text old with s and
// presses Enter.
func (d *driver) typeLine(i int, old, s string) {
	d.t.Helper()
	eds := d.editors()
	if len(eds) <= i {
		d.t.Fatalf("%d editors, want at least %d", len(eds), i+1)
	}
	d.click(eds[i])
	d.r.Queue(key.EditEvent{Range: key.Range{Start: 0, End: utf8.RuneCountInString(old)}, Text: s})
	d.frame()
	d.press(key.NameReturn, 0)
}

func balance(t testing.TB, v *vm.VM) lua.LValue {
	t.Helper()
	res, err := v.Eval(context.Background(), "return Account.balance", vm.EvalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return res.Values[0]
}

func TestInspectorShowsSlotsAndDrillsIntoATable(t *testing.T) {
	v := historyImage(t)
	d, in := inspectorDriver(t, v)
	view := in.View()
	if view == nil {
		t.Fatal("no view of Account")
	}
	if view.Kind != "object" || view.ProtoName != "Object" || !strings.HasPrefix(view.PrintString, "Account") {
		t.Errorf("header: kind %q proto %q printString %q", view.Kind, view.ProtoName, view.PrintString)
	}
	if e, ok := view.Entry("balance"); !ok || e.Value != "0" || !e.Ref.IsZero() {
		t.Errorf("balance entry = %+v (%v), want 0 and not drillable", e, ok)
	}
	h, ok := view.Entry("history")
	if !ok || h.Ref.IsZero() {
		t.Fatalf("history entry = %+v (%v), want a drillable table", h, ok)
	}

	d.click(d.at(h.Value))
	view = in.View()
	if got := strings.Join(in.Path(), " › "); got != "Account › history" {
		t.Errorf("breadcrumb = %q", got)
	}
	if view == nil || view.Kind != "table" {
		t.Fatalf("after drilling the view is %+v", view)
	}
	var items []string
	for _, e := range view.Entries {
		items = append(items, e.Key+"="+e.Value)
	}
	if got := strings.Join(items, " "); got != `1=10 2=20 3="x"` {
		t.Errorf("items = %s", got)
	}

	d.click(d.at("Back"))
	if got := strings.Join(in.Path(), " › "); got != "Account" {
		t.Errorf("after Back the breadcrumb is %q", got)
	}
	if in.View() == nil || len(in.View().Entries) != 2 {
		t.Errorf("after Back the view is %+v", in.View())
	}

	d.click(d.at("prototype: Object"))
	if ref, _ := in.Current(); ref.OID != v.Global("Object").OID() {
		t.Errorf("the prototype link shows %v", ref)
	}
}

func TestInspectorEditsASlotAndEvaluatesWithSelf(t *testing.T) {
	v := historyImage(t)
	d, in := inspectorDriver(t, v)

	d.click(d.at("balance"))
	if in.Selected() != "balance" || in.EditLine.Text() != "0" {
		t.Fatalf("selected %q with edit line %q", in.Selected(), in.EditLine.Text())
	}
	d.typeLine(0, "0", "2 + 3")
	if in.Err() != "" {
		t.Fatalf("setting balance failed: %s", in.Err())
	}
	if got := balance(t, v); got != lua.LNumber(5) {
		t.Errorf("Account.balance = %v after setting it to 2 + 3, want 5", got)
	}
	if e, _ := in.View().Entry("balance"); e.Value != "5" {
		t.Errorf("the view was not refreshed: balance = %q", e.Value)
	}
	if !in.TakeChanged() {
		t.Error("TakeChanged is false after a SetSlot")
	}

	d.typeLine(1, "", "self.balance * 2")
	if in.Err() != "" || in.Result() != "10" {
		t.Errorf("self.balance * 2 gave %q, error %q", in.Result(), in.Err())
	}

	// A bad expression shows an error and changes nothing.
	d.typeLine(0, "2 + 3", "1 +")
	if in.Err() == "" {
		t.Error("no error for setting balance to `1 +`")
	}
	d.typeLine(0, "1 +", "nosuch.field")
	if !strings.Contains(in.Err(), "field") {
		t.Errorf("error for nosuch.field = %q", in.Err())
	}
	d.typeLine(1, "self.balance * 2", "self.balance = 99; error('boom')")
	if !strings.Contains(in.Err(), "boom") || !strings.Contains(in.Err(), "traceback") && !strings.Contains(in.Err(), "inspector:1") {
		t.Errorf("error for a failing evaluation = %q", in.Err())
	}
	if got := balance(t, v); got != lua.LNumber(5) {
		t.Errorf("Account.balance = %v after failed edits, want 5", got)
	}
	if e, _ := in.View().Entry("balance"); e.Value != "5" {
		t.Errorf("the view shows balance = %q after failed edits", e.Value)
	}

	// Statements work too, and the view follows.
	d.typeLine(1, "self.balance = 99; error('boom')", "self.balance = self.balance + 1")
	if in.Err() != "" || in.Result() != "nil" {
		t.Errorf("statement gave %q, error %q", in.Result(), in.Err())
	}
	if e, _ := in.View().Entry("balance"); e.Value != "6" {
		t.Errorf("after the statement the view shows balance = %q", e.Value)
	}
}

func TestInspectingATransientResult(t *testing.T) {
	v := accountImage(t)
	res, err := v.Eval(context.Background(), `return {a = Account:clone(), n = 1}`, vm.EvalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ref := RefOf(v, res.Values[0])
	if ref.Handle == 0 {
		t.Fatalf("ref of a transient table = %v, want a handle", ref)
	}
	img := VMImage{VM: v}
	view, err := img.Inspect(ref)
	if err != nil {
		t.Fatal(err)
	}
	a, ok := view.Entry("a")
	if !ok || a.Ref.IsZero() || !strings.Contains(a.Value, "Account") {
		t.Fatalf("entry a = %+v", a)
	}
	av, err := img.Inspect(a.Ref)
	if err != nil || av.ProtoName != "Account" {
		t.Errorf("inspecting the clone: %+v, %v", av, err)
	}
	if err := img.SetSlot(a.Ref, "balance", "41 + 1"); err != nil {
		t.Fatal(err)
	}
	if s, err := img.EvalIn(a.Ref, "self.balance"); err != nil || s != "42" {
		t.Errorf("EvalIn = %q, %v", s, err)
	}
}
