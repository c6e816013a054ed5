package tests

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/phoenix-image/phoenix/agent/llmtest"
)

const (
	prefGuarded      = "function Account:withdraw(n)\n  if n > self.balance then error(\"insufficient funds\") end\n  self.balance = self.balance - n\n  return self\nend"
	prefGuardedTests = "function ProposalTest:testGuard()\n  local a = Account:clone(); a.balance = 10\n  self:assertEquals(7, a:withdraw(3).balance)\n  self:assertError(function() a:withdraw(100) end)\nend"
	prefClamped      = "function Account:withdraw(n)\n  self.balance = math.max(0, self.balance - n)\n  return self\nend"
	prefBroken       = "function Account:withdraw(n)\n  self.balance = self.balance + n\n  return self\nend"
)

func proposalWhy(source, tests, why string) llmtest.Step {
	return llmtest.ToolCall("propose_method", shellJSON(map[string]string{"source": source, "tests": tests, "explanation": why}))
}

func lastPrompt(srv *llmtest.Server) string {
	reqs := srv.Requests()
	m := reqs[len(reqs)-1].Body.Messages
	return m[len(m)-1].Content
}

// TestApprovalsAlternativesPickRate: through the built binary, with the
// fake LLM and gVisor, a queued proposal gets three alternatives (one
// failing its tests), the person picks one and rates it, and the next
// prompt the agent sends carries that choice and rating.
func TestApprovalsAlternativesPickRate(t *testing.T) {
	srv := llmtest.NewServer(t)
	home := t.TempDir()
	img := filepath.Join(home, "my.image")
	env := agentEnv(home, srv.URL())
	must := func(args ...string) string {
		t.Helper()
		out, errOut, err := runPhoenix(t, env, args...)
		if err != nil {
			t.Fatalf("phoenix %v: %v\n%s%s", args, err, out, errOut)
		}
		return out
	}
	fails := func(want string, args ...string) {
		t.Helper()
		out, errOut, err := runPhoenix(t, env, args...)
		if err == nil || !strings.Contains(errOut, want) {
			t.Fatalf("phoenix %v: want an error with %q, got %v\n%s%s", args, want, err, out, errOut)
		}
	}
	must("image", "new", img)
	must("eval", "--image", img, "Account = Object:clone(); Account.balance = 0")
	srv.Script(proposal(e2eWithdraw, e2eWithdrawTests))
	if _, errOut, err := runPhoenix(t, env, "eval", "--image", img, e2eCall); err == nil || !strings.Contains(errOut, "waits for a person's approval as a1") {
		t.Fatalf("not queued: %v %s", err, errOut)
	}
	if strings.Contains(lastPrompt(srv), "The person's preferences") {
		t.Fatal("a preferences section before any preference")
	}

	srv.Script(
		proposalWhy(prefGuarded, prefGuardedTests, "refuses to overdraw"),
		proposalWhy(prefClamped, "function ProposalTest:testClamp()\n  local a = Account:clone(); a.balance = 2\n  self:assertEquals(0, a:withdraw(5).balance)\nend", "never below zero"),
		proposalWhy(prefBroken, e2eWithdrawTests, "adds"),
	)
	out, errOut, err := runPhoenix(t, env, "approvals", "alternatives", "--image", img, "a1", "-n", "3")
	if err != nil {
		t.Fatalf("alternatives: %v\n%s%s", err, out, errOut)
	}
	for _, want := range []string{
		"alternative 1: sandbox (gvisor): 1 passed, 0 failed",
		"refuses to overdraw", "insufficient funds",
		"alternative 2: sandbox (gvisor): 1 passed",
		"alternative 3: validation failed",
		"3 alternative(s) to a1",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("alternatives output lacks %q", want)
		}
	}
	if !strings.Contains(errOut, "alternative 3 of 3 asked and validated") {
		t.Errorf("no progress on stderr: %s", errOut)
	}
	if t.Failed() {
		t.Fatalf("output:\n%s", out)
	}
	if list := must("approvals", "list", "--image", img); !strings.Contains(list, "Account>>withdraw (+3 alternatives)") {
		t.Fatalf("list does not count the alternatives:\n%s", list)
	}
	if show := must("approvals", "show", "--image", img, "a1"); !strings.Contains(show, "3 alternative(s):") || !strings.Contains(show, "never below zero") {
		t.Fatalf("show does not list the alternatives:\n%s", show)
	}

	fails("alternative 3 of approval a1 cannot be installed", "approvals", "pick", "--image", img, "a1", "3")
	fails(`ALT "two" is not a number`, "approvals", "pick", "--image", img, "a1", "two")
	fails("has no alternative 7", "approvals", "pick", "--image", img, "a1", "7")
	fails("score 9", "approvals", "rate", "--image", img, "a1", "9")
	fails(`approval "a9"`, "approvals", "rate", "--image", img, "a9", "3")
	if got := must("eval", "--image", img, "return Account.withdraw"); strings.TrimSpace(got) != "nil" {
		t.Fatalf("a refused pick installed something: %s", got)
	}

	if got := must("approvals", "pick", "--image", img, "a1", "2"); !strings.Contains(got, "approved a1 with alternative 2: Account>>withdraw installed") {
		t.Fatalf("pick: %s", got)
	}
	if got := must("eval", "--image", img, "local a = Account:clone(); a.balance = 2; return a:withdraw(5).balance"); strings.TrimSpace(got) != "0" {
		t.Fatalf("the picked alternative (clamping) is not installed: %s", got)
	}
	must("approvals", "rate", "--image", img, "a1", "5", "--comment", "clamp, never raise")
	must("approvals", "rate", "--image", img, "a1", "1", "--alt", "3")
	fails("is approved, not pending", "approvals", "pick", "--image", img, "a1", "1")

	// The next request the agent sends carries the preferences.
	srv.Script(proposal("function Account:deposit(n)\n  self.balance = self.balance + n\n  return self\nend",
		"function ProposalTest:testDeposit() local a = Account:clone(); a.balance = 1; self:assertEquals(3, a:deposit(2).balance) end"))
	if got := must("eval", "--image", img, "--auto-approve", "local a = Account:clone(); a.balance = 1; return a:deposit(2).balance"); strings.TrimSpace(got) != "3" {
		t.Fatalf("deposit: %s", got)
	}
	prompt := lastPrompt(srv)
	for _, want := range []string{
		"The person's preferences",
		`For Account>>withdraw they chose alternative 2 ("never below zero") over 3 other(s)`,
		`saying: "clamp, never raise"`,
		`rated alternative 3 ("adds") for Account>>withdraw 1 of 5`,
		"math.max(0, self.balance - n)",
	} {
		if !strings.Contains(prompt, want) {
			t.Errorf("the next prompt lacks %q", want)
		}
	}
	if t.Failed() {
		t.Fatalf("prompt:\n%s", prompt)
	}

	audit := must("audit", "list", "--image", img, "-n", "200")
	if strings.Count(audit, " preference ") != 3 || !strings.Contains(audit, `"picked":2`) || !strings.Contains(audit, `"score":5`) {
		t.Fatalf("audit:\n%s", audit)
	}
	if strings.Contains(audit, "clamp, never raise") || strings.Contains(audit, "math.max") || strings.Contains(audit, e2eKey) {
		t.Fatalf("the audit log holds a comment, a source or the key:\n%s", audit)
	}
	if out := must("audit", "verify", "--image", img); !strings.Contains(out, "ok") {
		t.Fatalf("audit verify: %s", out)
	}
}

// TestShellOffersAlternativesAndRating: the interactive approver (the
// shell's, reading its one input) asks for alternatives with "a", installs
// the one picked and keeps the rating and comment.
func TestShellOffersAlternativesAndRating(t *testing.T) {
	home := t.TempDir()
	img := newImage(t, home, "a.image")
	mustEval(t, home, img, `Account = Object:clone(); Account.balance = 0; Policy.allowInProcess = true`)
	srv := llmtest.NewServer(t)
	srv.Script(
		llmtest.ToolCall("show_plan", shellJSON(map[string]any{"steps": []string{"Propose withdraw"}})),
		llmtest.ToolCall("propose_method", shellJSON(map[string]string{"object": "Account", "selector": "withdraw", "source": e2eWithdraw, "tests": e2eWithdrawTests})),
		proposalWhy(prefGuarded, prefGuardedTests, "refuses to overdraw"),
		proposalWhy(prefBroken, e2eWithdrawTests, "adds"),
		llmtest.Reply("Account now has withdraw(n)."),
	)
	input := "Accounts should support withdraw\ny\na 2\n2\n1\n4\nguards are good\nexit\n"
	out, stderr := runShell(t, home, img, srv, input)
	for _, want := range []string{
		"Install it? [y/N] (a: alternatives, r: rate)",
		"Asking the LLM for 2 alternative(s)",
		"alternative 1: sandbox (in-process (weaker boundary: no gVisor)): 1 passed",
		"alternative 2: validation failed",
		"Install which? [0: the original, 1-2, n: none]",
		"alternative 2 cannot be installed",
		"Rate it 1-5 (Enter to skip):",
		"Comment (Enter for none):",
		"  installed Account>>withdraw",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if t.Failed() {
		t.Fatalf("output:\n%s\nstderr:\n%s", out, stderr)
	}
	got, _, err := phoenix(t, home, "eval", "--image", img, "local a = Account:clone(); a.balance = 1; return pcall(function() a:withdraw(5) end)")
	if err != nil || !strings.Contains(got, "false") || !strings.Contains(got, "insufficient funds") {
		t.Fatalf("the picked alternative is not installed: %v %s", err, got)
	}
	audit, _, err := phoenix(t, home, "audit", "list", "--image", img, "-n", "100")
	if err != nil || !strings.Contains(audit, `"picked":1`) || !strings.Contains(audit, `"score":4`) || strings.Contains(audit, "guards are good") {
		t.Fatalf("audit: %v\n%s", err, audit)
	}
}
