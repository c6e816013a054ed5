package tests

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/phoenix-image/phoenix/agent"
	"github.com/phoenix-image/phoenix/agent/llmtest"
	"github.com/phoenix-image/phoenix/sandbox"
)

const e2eKey = "sk-e2e-SECRET-4711"

// agentEnv is a private data dir plus the fake LLM's configuration.
func agentEnv(home, url string) []string {
	return append(os.Environ(), "XDG_DATA_HOME="+filepath.Join(home, "data"), "HOME="+home,
		"PHOENIX_RUNSC="+sandbox.DefaultRunsc(),
		"OPENAI_BASE_URL="+url, "PHOENIX_MODEL=fake-coder", "OPENAI_API_KEY="+e2eKey)
}

func runPhoenix(t *testing.T, env []string, args ...string) (string, string, error) {
	t.Helper()
	cmd := exec.Command(phoenixBin, args...)
	cmd.Env = env
	var out, errb stringsBuilder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	return out.String(), errb.String(), err
}

func proposal(source, tests string) llmtest.Step {
	b, _ := json.Marshal(map[string]string{"source": source, "tests": tests, "explanation": "as asked"})
	return llmtest.ToolCall(agent.ProposeTool, string(b))
}

const (
	e2eWithdraw      = "function Account:withdraw(n)\n  self.balance = self.balance - n\n  return self\nend"
	e2eWithdrawTests = "function ProposalTest:testWithdraw()\n  local a = Account:clone(); a.balance = 10\n  self:assertEquals(7, a:withdraw(3).balance)\nend"
	e2eCall          = "local a = Account:clone(); a.balance = 10; return a:withdraw(3).balance"
)

// TestAgentEndToEnd: a message not understood becomes a validated (under
// gVisor), approved, persistent method, through the built binary.
func TestAgentEndToEnd(t *testing.T) {
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
	must("image", "new", img)
	must("eval", "--image", img, "Account = Object:clone(); Account.balance = 0")

	// Installed, re-sent, printed.
	srv.Script(proposal(e2eWithdraw, e2eWithdrawTests))
	if out := must("eval", "--image", img, "--auto-approve", e2eCall); strings.TrimSpace(out) != "7" {
		t.Fatalf("eval printed %q, want 7", out)
	}
	// Persisted across a restart, without asking the LLM again.
	if out := must("eval", "--image", img, "local a = Account:clone(); a.balance = 5; return a:withdraw(1).balance"); strings.TrimSpace(out) != "4" {
		t.Fatalf("after restart: %q", out)
	}
	if n := len(srv.Requests()); n != 1 {
		t.Fatalf("the LLM was asked %d times", n)
	}
	hist := must("history", "--image", img, "Account", "withdraw")
	if !strings.Contains(hist, "defined by agent") {
		t.Fatalf("history: %s", hist)
	}
	audit := must("audit", "list", "--image", img)
	for _, kind := range []string{"prompt", "sandbox", "install"} {
		if !strings.Contains(audit, kind) {
			t.Errorf("audit has no %s entry:\n%s", kind, audit)
		}
	}
	if !strings.Contains(audit, `"boundary":"gvisor"`) {
		t.Errorf("the validation did not run under gVisor:\n%s", audit)
	}
	if strings.Contains(audit, e2eKey) || strings.Contains(audit, "withdraw(3)") {
		t.Errorf("the audit log holds the key or prompt text:\n%s", audit)
	}
	if out := must("audit", "verify", "--image", img); !strings.Contains(out, "ok") {
		t.Fatalf("audit verify: %s", out)
	}

	// Without --auto-approve and no terminal: queued; rejected; not installed.
	srv.Script(proposal("function Account:deposit(n)\n  self.balance = self.balance + n\n  return self\nend",
		"function ProposalTest:testDeposit() local a = Account:clone(); a.balance = 1; self:assertEquals(3, a:deposit(2).balance) end"))
	_, errOut, err := runPhoenix(t, env, "eval", "--image", img, "local a = Account:clone(); a.balance = 1; return a:deposit(2).balance")
	if err == nil || !strings.Contains(errOut, "waits for a person's approval as a1") {
		t.Fatalf("expected a queued approval: %v\n%s", err, errOut)
	}
	if out := must("approvals", "list", "--image", img); !strings.Contains(out, "a1") || !strings.Contains(out, "Account>>deposit") {
		t.Fatalf("approvals list: %s", out)
	}
	if out := must("approvals", "show", "--image", img, "a1"); !strings.Contains(out, "function Account:deposit(n)") || !strings.Contains(out, "sandbox (gvisor)") {
		t.Fatalf("approvals show: %s", out)
	}
	must("approvals", "reject", "--image", img, "a1", "--note", "not now")
	if out := must("eval", "--image", img, "return Account.deposit"); strings.TrimSpace(out) != "nil" {
		t.Fatalf("rejected method installed: %s", out)
	}

	// Queued again, then approved by a person: installed with provenance.
	srv.Script(proposal("function Account:double()\n  return self.balance * 2\nend",
		"function ProposalTest:testDouble() local a = Account:clone(); a.balance = 4; self:assertEquals(8, a:double()) end"))
	runPhoenix(t, env, "eval", "--image", img, "local a = Account:clone(); a.balance = 4; return a:double()")
	must("approvals", "approve", "--image", img, "a2")
	if out := must("eval", "--image", img, "local a = Account:clone(); a.balance = 21; return a:double()"); strings.TrimSpace(out) != "42" {
		t.Fatalf("approved method: %q", out)
	}

	// A proposal that fails its own tests is not installed.
	srv.Script(proposal("function Account:triple()\n  return self.balance * 2\nend",
		"function ProposalTest:testTriple() local a = Account:clone(); a.balance = 2; self:assertEquals(6, a:triple()) end"))
	_, errOut, err = runPhoenix(t, env, "eval", "--image", img, "--auto-approve", "return Account:triple()")
	if err == nil || !strings.Contains(errOut, "validation failed") {
		t.Fatalf("failing proposal: %v\n%s", err, errOut)
	}
	if out := must("eval", "--image", img, "return Account.triple"); strings.TrimSpace(out) != "nil" {
		t.Fatalf("failing method installed: %s", out)
	}

	// The LLM unreachable: a clear error, nothing changes.
	dead := agentEnv(home, "http://127.0.0.1:1/v1")
	_, errOut, err = runPhoenix(t, dead, "eval", "--image", img, "--auto-approve", "return Account:quadruple()")
	if err == nil || !strings.Contains(errOut, "does not understand quadruple()") || !strings.Contains(errOut, "the LLM failed") {
		t.Fatalf("unreachable LLM: %v\n%s", err, errOut)
	}
	if strings.Contains(errOut, e2eKey) {
		t.Fatal("the key leaked into an error")
	}
}
