package remote_test

import (
	"context"
	"strings"
	"testing"

	"github.com/phoenix-image/phoenix/kernelhost/remote"
)

// The inspector's part of the protocol: inspect of objects, persistent
// and transient tables, eval with self bound, and eval's ref.
func TestInspectEvalSelfAndRef(t *testing.T) {
	f := serve(t, options{})
	c := f.dial(t, nil)
	ctx := context.Background()

	in, err := c.Inspect(ctx, "Account")
	if err != nil {
		t.Fatal(err)
	}
	if in.Kind != "object" || in.ProtoName != "Object" || !strings.HasPrefix(in.Proto, "#") || !strings.HasPrefix(in.Ref, "#") {
		t.Fatalf("inspect Account: %+v", in)
	}
	keys := []string{}
	for _, e := range in.Entries {
		keys = append(keys, e.Key+"="+e.Value)
	}
	if strings.Join(keys, " ") != `balance=10 owner=`+in.Entries[1].Value || in.Entries[1].Ref == "" || in.Entries[0].Ref != "" {
		t.Fatalf("entries (methods must not show): %+v", in.Entries)
	}
	// Drill into the owner by its ref.
	owner, err := c.Inspect(ctx, in.Entries[1].Ref)
	if err != nil || len(owner.Entries) != 1 || owner.Entries[0].Value != `"ada"` {
		t.Fatalf("inspect owner: %+v %v", owner, err)
	}

	// A transient table comes back as an @N handle; its items in order.
	res, err := c.EvalWith(ctx, remote.EvalParams{Code: "{10, 20, x = Account}", Ref: true})
	if err != nil || !strings.HasPrefix(res.Ref, "@") {
		t.Fatalf("eval ref: %+v %v", res, err)
	}
	tab, err := c.Inspect(ctx, res.Ref)
	if err != nil || tab.Kind != "table" || len(tab.Entries) != 3 || tab.Entries[0].Key != "1" || tab.Entries[1].Value != "20" || tab.Entries[2].Ref != in.Ref {
		t.Fatalf("inspect table: %+v %v", tab, err)
	}
	// A persistent result is named by its OID; no ref unless asked.
	if res, err := c.EvalWith(ctx, remote.EvalParams{Code: "Account", Ref: true}); err != nil || res.Ref != in.Ref {
		t.Fatalf("ref of Account: %+v %v", res, err)
	}
	if res, _ := c.Eval(ctx, "{}"); res.Ref != "" {
		t.Fatalf("ref without asking: %q", res.Ref)
	}

	// eval with self: an expression, statements (one transaction), a
	// transient self, and an error with its traceback.
	if res, err := c.EvalWith(ctx, remote.EvalParams{Code: "self.balance * 2", Self: "Account"}); err != nil || res.Values[0] != "20" {
		t.Fatalf("self expression: %+v %v", res, err)
	}
	if _, err := c.EvalWith(ctx, remote.EvalParams{Code: "self.balance = 11\nself.owner.name = 'bob'", Self: in.Ref}); err != nil {
		t.Fatal(err)
	}
	if res, _ := c.Eval(ctx, "Account.balance, Account.owner.name"); strings.Join(res.Values, " ") != `11 bob` {
		t.Fatalf("statements with self did not commit: %v", res.Values)
	}
	if res, err := c.EvalWith(ctx, remote.EvalParams{Code: "self[1] + self[2]", Self: res.Ref}); err != nil || res.Values[0] != "30" {
		t.Fatalf("transient self: %+v %v", res, err)
	}
	_, err = c.EvalWith(ctx, remote.EvalParams{Code: "self.balance = 0; self:fly()", Self: "Account"})
	if d := evalErr(t, err); d.Selector != "fly" || len(d.Traceback) == 0 {
		t.Fatalf("self error: %+v", d)
	}
	if res, _ := c.Eval(ctx, "Account.balance"); res.Values[0] != "11" {
		t.Fatalf("failed self eval not rolled back: %v", res.Values)
	}

	// Bad paths name themselves.
	for path, want := range map[string]int{"@0": remote.CodeInvalidParams, "@999": remote.CodeNotFound, "Nope": remote.CodeNotFound, "#x": remote.CodeInvalidParams} {
		if _, err := c.Inspect(ctx, path); code(err) != want || !strings.Contains(err.Error(), path) {
			t.Errorf("inspect %q: %v, want code %d", path, err, want)
		}
		if _, err := c.EvalWith(ctx, remote.EvalParams{Code: "self", Self: path}); code(err) != want {
			t.Errorf("eval self %q: %v, want code %d", path, err, want)
		}
	}
	if !strings.Contains(strings.Join(c.Server.Methods, " "), "inspect") {
		t.Fatalf("methods: %v", c.Server.Methods)
	}
}

// A message not understood names its arguments and the object a method
// would go to (for the attached window's notifier).
func TestEvalNotUnderstoodNamesTargetAndArguments(t *testing.T) {
	f := serve(t, options{})
	c := f.dial(t, nil)
	ctx := context.Background()
	_, err := c.Eval(ctx, "local a = Account:clone(); a:fly(1, 'two')")
	d := evalErr(t, err)
	if d.Selector != "fly" || d.Target != "Account" || strings.Join(d.Arguments, "|") != `1|"two"` || len(d.Traceback) == 0 {
		t.Fatalf("detail %+v", d)
	}
	_, err = c.EvalWith(ctx, remote.EvalParams{Code: "self:swim()", Self: "Account.owner"})
	if d := evalErr(t, err); d.Selector != "swim" || d.Target != "Object" {
		t.Fatalf("detail with self %+v", d)
	}
}
