package agent

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/phoenix-image/phoenix/sandbox"
	"github.com/phoenix-image/phoenix/vm"
)

// newPersonalityRun is a planner run whose tools include the personality
// tools over real runsc personalities (the Debian rootfs must be built).
func newPersonalityRun(t *testing.T) *plannerRun {
	t.Helper()
	if _, err := sandbox.ResolveRootfs(sandbox.DebianRootfs); err != nil {
		t.Fatalf("the Debian personality is required: %v", err)
	}
	pr := newPlannerRun(t, true)
	if err := sandbox.InstallPersonalityObjects(context.Background(), pr.f.s.VM); err != nil {
		t.Fatal(err)
	}
	p, err := sandbox.NewPersonalities(sandbox.PersonalityOptions{StateDir: t.TempDir(), Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	pr.p.Env.Personalities = p
	pr.p.Tools = NewRegistry(append(BuiltinTools(), PersonalityTools()...)...)
	return pr
}

func TestPersonalityToolsRunCommandsAsObservations(t *testing.T) {
	pr := newPersonalityRun(t)
	reg, env, ctx := pr.p.Tools, pr.p.Env, context.Background()
	out, err := reg.Call(ctx, env, PersonalityStartTool, `{"name":"debian"}`)
	if err != nil || !strings.Contains(out, "personality debian started") || !strings.Contains(out, "Debian GNU/Linux 12 (bookworm)") || !strings.Contains(out, "no network") {
		t.Fatalf("start: %q %v", out, err)
	}
	out, err = reg.Call(ctx, env, PersonalityStartTool, `{"name":"debian"}`)
	if err != nil || !strings.Contains(out, "already running") {
		t.Fatalf("second start: %q %v", out, err)
	}
	out, err = reg.Call(ctx, env, PersonalityRunTool, `{"name":"debian","command":"cat /etc/debian_version; echo oops >&2; exit 2"}`)
	if err != nil || !strings.HasPrefix(out, "exit 2 (debian") || !strings.Contains(out, "stdout:\n12.") || !strings.Contains(out, "stderr:\noops") {
		t.Fatalf("run: %q %v", out, err)
	}
	out, _ = reg.Call(ctx, env, PersonalityRunTool, `{"name":"windows","command":"ver"}`)
	if !strings.HasPrefix(out, "error:") || !strings.Contains(out, `no personality "windows"`) || !strings.Contains(out, "debian") {
		t.Fatalf("unknown personality: %q", out)
	}
	// A session without personalities says so.
	env.Personalities = nil
	out, _ = reg.Call(ctx, env, PersonalityRunTool, `{"name":"debian","command":"true"}`)
	if !strings.Contains(out, "no environment personalities") {
		t.Fatalf("without a runner: %q", out)
	}
	// The command's text is audited as a hash, never verbatim.
	for _, e := range auditEntries(t, pr.f) {
		if strings.Contains(string(e.Data), "debian_version") {
			t.Errorf("a command's text in the audit log: %s", e.Data)
		}
	}
}

func TestCreatePrototype(t *testing.T) {
	pr := newPlannerRun(t, true)
	pr.p.Tools = NewRegistry(append(BuiltinTools(), PersonalityTools()...)...)
	reg, env, ctx := pr.p.Tools, pr.p.Env, context.Background()
	out, err := reg.Call(ctx, env, CreatePrototypeTool, `{"name":"Savings","proto":"Account","description":"an account that earns"}`)
	if err != nil || !strings.Contains(out, "created Savings, a clone of Account") {
		t.Fatalf("%q %v", out, err)
	}
	if got, _ := pr.f.eval(t, `return Savings.balance, Savings.description, Savings:clone().balance`); got != "0\tan account that earns\t0" {
		t.Fatalf("Savings: %s", got)
	}
	if o := pr.f.s.VM.Global("Savings"); o == nil || o.Name() != "Savings" {
		t.Fatalf("Savings is not a named global: %v", o)
	}
	for args, want := range map[string]string{
		`{"name":"Account"}`:                "already exists",
		`{"name":"end"}`:                    "not a name",
		`{"name":"1x"}`:                     "not a name",
		`{"name":"X.y"}`:                    "not a name",
		`{"name":"Fresh","proto":"Nobody"}`: "no global object named",
	} {
		out, _ := reg.Call(ctx, env, CreatePrototypeTool, args)
		if !strings.HasPrefix(out, "error:") || !strings.Contains(out, want) {
			t.Errorf("%s: %q, want %q", args, out, want)
		}
	}
	if got, _ := pr.f.eval(t, `return Fresh, Account.description`); got != "nil\tnil" {
		t.Fatalf("a refused creation changed the image: %s", got)
	}
}

func TestMethodsThatUsePersonalitiesNeedAPerson(t *testing.T) {
	pr := newPlannerRun(t, true)
	v := pr.f.s.VM
	if _, err := pr.f.eval(t, `Policy.mode = "auto"; Policy.autoApprove = {"Joker"}`); err != nil {
		t.Fatal(err)
	}
	var pol *Policy
	v.Do(context.Background(), vm.TxOptions{Rollback: true}, func() error { pol = LoadPolicy(v); return nil })
	for _, src := range []string{
		`function Joker:speak() return Personalities.debian:run("cowsay hi").stdout end`,
		`function Joker:speak() return personality.run(Personalities.debian, "cowsay hi").stdout end`,
	} {
		if d := pol.Decide("Joker", false, src, true); !d.NeedsPerson {
			t.Errorf("%s: auto-approved (%s)", src, d.Reason)
		}
	}
	if d := pol.Decide("Joker", false, `function Joker:speak() return "hi" end`, true); d.NeedsPerson {
		t.Errorf("a plain method needs a person: %s", d.Reason)
	}
}
