package tests

import (
	"encoding/json"
	"strings"
	"testing"

	openai "github.com/sashabaranov/go-openai"

	"github.com/phoenix-image/phoenix/agent/llmtest"
)

func shellJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// runShell runs phoenix shell on img with input on stdin, talking to srv.
func runShell(t *testing.T, home, img string, srv *llmtest.Server, input string) (string, string) {
	t.Helper()
	cmd := phoenixCmd(home, "shell", "--image", img, "--no-gvisor")
	cmd.Env = append(cmd.Env, "OPENAI_BASE_URL="+srv.URL(), "PHOENIX_MODEL=fake-planner", "OPENAI_API_KEY=sk-test")
	cmd.Stdin = strings.NewReader(input)
	var out, errb stringsBuilder
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("shell: %v\nstdout:\n%s\nstderr:\n%s", err, out.String(), errb.String())
	}
	return out.String(), errb.String()
}

func TestShellPlansAsksApprovesAndInstalls(t *testing.T) {
	home := t.TempDir()
	img := newImage(t, home, "a.image")
	mustEval(t, home, img, `Account = Object:clone(); Account.balance = 0; Policy.allowInProcess = true`)
	srv := llmtest.NewServer(t)
	source := "function Account:withdraw(n)\n  self.balance = self.balance - n\n  return self\nend"
	tests := "function ProposalTest:testWithdraw()\n  local a = Account:clone(); a.balance = 10\n  self:assertEquals(7, a:withdraw(3).balance)\nend"
	srv.Script(
		llmtest.ToolCall("show_plan", shellJSON(map[string]any{"steps": []string{"Inspect Account", "Ask which overdraft rule", "Propose withdraw"}})),
		llmtest.ToolCall("inspect_object", `{"name":"Account"}`),
		llmtest.ToolCall("ask_person", `{"question":"May the balance go negative?"}`),
		llmtest.ToolCall("propose_method", shellJSON(map[string]string{"object": "Account", "selector": "withdraw", "source": source, "tests": tests})),
		llmtest.Reply("Account now has withdraw(n)."),
		// The second request sees the first one's conversation.
		llmtest.Func(func(req openai.ChatCompletionRequest) llmtest.Step {
			for _, m := range req.Messages {
				if m.Role == "tool" && strings.Contains(m.Content, "the person answers: yes") {
					return llmtest.Reply("You said the balance may go negative.")
				}
			}
			return llmtest.Reply("I forgot.")
		}),
	)
	input := "Accounts should support withdraw\ny\nyes\ny\nwhat did I say?\nexit\n"
	out, stderr := runShell(t, home, img, srv, input)
	for _, want := range []string{
		"Plan:\n    1. Inspect Account\n    2. Ask which overdraft rule\n    3. Propose withdraw\nRun this plan? [y/N]",
		`→ inspect_object {"name":"Account"}`,
		"  Account: object (+",
		"? May the balance go negative?\nanswer> ",
		"The agent proposes Account>>withdraw",
		"Install it? [y/N]",
		"  installed Account>>withdraw",
		"Account now has withdraw(n).",
		"You said the balance may go negative.",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if t.Failed() {
		t.Fatalf("output:\n%s\nstderr:\n%s", out, stderr)
	}
	if got := mustEval(t, home, img, `local a = Account:clone(); a.balance = 10; return a:withdraw(3).balance`); got != "7" {
		t.Fatalf("withdraw: %s", got)
	}
	audit, _, err := phoenix(t, home, "audit", "list", "--image", img, "-n", "100")
	if err != nil || !strings.Contains(audit, " tool ") || !strings.Contains(audit, " plan ") || strings.Contains(audit, "self.balance") {
		t.Fatalf("audit: %v\n%s", err, audit)
	}
}

func TestShellDeclinedPlanChangesNothing(t *testing.T) {
	home := t.TempDir()
	img := newImage(t, home, "a.image")
	mustEval(t, home, img, `Account = Object:clone(); Account.balance = 0; Policy.allowInProcess = true`)
	srv := llmtest.NewServer(t)
	srv.Script(
		llmtest.ToolCalls(
			llmtest.Call{Name: "show_plan", Args: `{"steps":["Propose withdraw"]}`},
			llmtest.Call{Name: "propose_method", Args: `{"object":"Account","selector":"withdraw","source":"function Account:withdraw(n) return self end","tests":"function ProposalTest:testW() self:assert(true) end"}`},
		),
	)
	out, stderr := runShell(t, home, img, srv, "add withdraw\nn\n")
	if !strings.Contains(out, "Run this plan? [y/N]") || !strings.Contains(out, "plan declined") || strings.Contains(out, "→ propose_method") {
		t.Fatalf("output:\n%s\nstderr:\n%s", out, stderr)
	}
	if got := mustEval(t, home, img, `return rawget(Account, "withdraw")`); got != "nil" {
		t.Fatalf("withdraw installed: %s", got)
	}
}
