package workspace

import (
	"context"
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"

	"github.com/phoenix-image/phoenix/bootstrap"
	"github.com/phoenix-image/phoenix/browser"
	"github.com/phoenix-image/phoenix/vm"
)

// freshImage is a new image on a MemStore.
func freshImage(t testing.TB) *vm.VM {
	t.Helper()
	v, err := bootstrap.Genesis(context.Background(), vm.Options{Store: vm.NewMemStore()})
	if err != nil {
		t.Fatalf("genesis: %v", err)
	}
	t.Cleanup(v.Close)
	return v
}

// global evaluates `return name` in the image.
func global(t testing.TB, v *vm.VM, name string) lua.LValue {
	t.Helper()
	res, err := v.Eval(context.Background(), "return "+name, vm.EvalOptions{})
	if err != nil {
		t.Fatalf("reading %s: %v", name, err)
	}
	if len(res.Values) == 0 {
		return lua.LNil
	}
	return res.Values[0]
}

func TestVMEvaluator(t *testing.T) {
	v := freshImage(t)
	ev := VMEvaluator{VM: v}
	res, err := ev.Eval(`print("a", 1); return 1, "two"`)
	if err != nil {
		t.Fatal(err)
	}
	if res.Failed() || len(res.Values) != 2 || res.PrintString() != "1, two" {
		t.Errorf("result = %+v", res)
	}
	if res.Transcript != "a\t1\n" {
		t.Errorf("transcript = %q", res.Transcript)
	}
	res, err = ev.Eval(`print("before"); error("boom")`)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(res.Error, "boom") || res.Transcript != "before\n" {
		t.Errorf("failed result = %+v", res)
	}
	res, _ = ev.Eval("1 +")
	if !strings.Contains(res.Error, "CompileError") && !strings.Contains(res.Error, "unexpected") {
		t.Errorf("compile error result = %+v", res)
	}
}

func TestVMEvaluatorRefersToTheFirstTable(t *testing.T) {
	v := freshImage(t)
	ev := VMEvaluator{VM: v}
	res, _ := ev.Eval("return {1, 2}, 3")
	if res.Ref == 0 {
		t.Fatalf("no Ref for a table result: %+v", res)
	}
	view, err := browser.VMImage{VM: v}.Inspect(browser.ValueRef{Handle: res.Ref})
	if err != nil || view.Kind != "table" || len(view.Entries) != 2 {
		t.Errorf("inspecting the Ref: %+v, %v", view, err)
	}
	if res, _ := ev.Eval("return 3, {}"); res.Ref != 0 {
		t.Errorf("Ref = %d for a number result", res.Ref)
	}
}
