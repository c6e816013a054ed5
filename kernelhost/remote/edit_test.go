package remote_test

import (
	"context"
	"strings"
	"testing"

	"github.com/phoenix-image/phoenix/kernelhost/remote"
	"github.com/phoenix-image/phoenix/vm"
)

// The browser's editing tools over the protocol: history, senders,
// implementors and trait composition.
func TestHistorySendersImplementorsCompose(t *testing.T) {
	f := serve(t, options{setup: func(v *vm.VM) {
		if _, err := v.Eval(context.Background(), `Saver = Object:clone()
			function Saver:save() return Account:deposit(1) end
			function Saver:note() return "deposit(1) is not a send here" end
			Shows = Trait:clone(); function Shows:show() return "shown" end
			Greets = Trait:clone(); function Greets:greet() return "hi" end
			Account:uses(Greets:exclude("nothing"))`, vm.EvalOptions{}); err != nil {
			t.Fatal(err)
		}
	}})
	c := f.dial(t, nil)
	ctx := context.Background()

	if _, err := c.Define(ctx, "Account", "deposit", "function Account:deposit(n) self.balance = self.balance + 2 * n; return self.balance end"); err != nil {
		t.Fatal(err)
	}
	h, err := c.History(ctx, "Account", "deposit")
	if err != nil || len(h.Changes) != 2 || h.Changes[0].Old != "" || !strings.Contains(h.Changes[1].New, "2 * n") || !strings.Contains(h.Changes[1].Old, "+ n") || h.Changes[1].Time.IsZero() {
		t.Fatalf("history: %+v %v", h, err)
	}

	s, err := c.Senders(ctx, "deposit")
	if err != nil || len(s.Methods) != 1 || s.Methods[0].Object.Name != "Saver" || s.Methods[0].Selector != "save" {
		t.Fatalf("senders (a string is not a send): %+v %v", s, err)
	}
	im, err := c.Implementors(ctx, "greet")
	if err != nil || len(im.Objects) != 1 || im.Objects[0].Name != "Greets" || im.Objects[0].Kind != "trait" {
		t.Fatalf("implementors: %+v %v", im, err)
	}

	// Use a second trait: the first keeps its exclusion; then stop.
	if err := c.Compose(ctx, "Account", "Shows", true); err != nil {
		t.Fatal(err)
	}
	if res, err := c.Eval(ctx, "Account:show() .. Account:greet()"); err != nil || res.Values[0] != "shownhi" {
		t.Fatalf("after use: %v %v", res, err)
	}
	if m, _ := c.Mirror(ctx, "Account"); len(m.Traits) != 2 {
		t.Fatalf("traits %+v", m.Traits)
	}
	if err := c.Compose(ctx, "Account", "Shows", true); err == nil || !strings.Contains(err.Error(), "uses it already") {
		t.Fatalf("using twice: %v", err)
	}
	if err := c.Compose(ctx, "Account", "Shows", false); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Eval(ctx, "Account:show()"); err == nil {
		t.Fatal("show still understood after stop using")
	}
	if err := c.Compose(ctx, "Account", "Nope", true); code(err) != remote.CodeFailed || !strings.Contains(err.Error(), `no trait "Nope"`) {
		t.Fatalf("unknown trait: %v", err)
	}
	for _, m := range []string{remote.MethodHistory, remote.MethodSenders, remote.MethodImpls} {
		if err := c.Call(ctx, m, map[string]string{"path": "Account"}, nil); code(err) != remote.CodeInvalidParams {
			t.Errorf("%s without selector: %v", m, err)
		}
	}
}
