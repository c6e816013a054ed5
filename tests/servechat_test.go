package tests

import (
	"bufio"
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/phoenix-image/phoenix/agent"
	"github.com/phoenix-image/phoenix/agent/llmtest"
	"github.com/phoenix-image/phoenix/kernelhost/remote"
)

// TestServeChatRunsTheAgentOnTheServer: the built phoenix serve (the
// static binary) runs a chat turn for a remote client: the plan waits for
// chat.confirm, inspect_object reads the served image, propose_method
// leaves the proposal in the server's approvals
// queue (serve's policy: a person approves), and the answer streams back.
// The events reach only the client that asked, and the LLM key, which is in
// the server's environment only, appears in no event and no log.
func TestServeChatRunsTheAgentOnTheServer(t *testing.T) {
	llm := llmtest.NewServer(t)
	home := t.TempDir()
	img := filepath.Join(home, "chat.image")
	env := agentEnv(home, llm.URL())
	if out, errOut, err := runPhoenix(t, env, "image", "new", img); err != nil {
		t.Fatalf("image new: %v\n%s%s", err, out, errOut)
	}
	if out, errOut, err := runPhoenix(t, env, "eval", "--image", img, "Account = Object:clone(); Account.balance = 0"); err != nil {
		t.Fatalf("eval: %v\n%s%s", err, out, errOut)
	}
	tok := filepath.Join(home, "token")
	cmd := exec.Command(phoenixBin, "serve", "--image", img, "--addr", "127.0.0.1:0", "--token-file", tok)
	cmd.Env = env
	stderr := &stringsBuilder{}
	cmd.Stderr = stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if addr, ok := strings.CutPrefix(sc.Text(), "READY "); ok {
				ready <- addr
			}
		}
		exited <- cmd.Wait()
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-exited
		}
	})
	var addr string
	select {
	case addr = <-ready:
	case err := <-exited:
		t.Fatalf("serve exited: %v\n%s", err, stderr)
	case <-time.After(60 * time.Second):
		t.Fatalf("no READY\n%s", stderr)
	}
	token, err := remote.ReadToken(tok)
	if err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	var raw []string
	events := make(chan remote.ChatEvent, 256)
	ctx := context.Background()
	c, err := remote.Dial(ctx, addr, token, remote.ClientOptions{Name: "test", Notify: func(n remote.Notification) {
		if e, ok := n.ChatEvent(); ok {
			mu.Lock()
			raw = append(raw, string(n.Params))
			mu.Unlock()
			events <- e
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	others := make(chan remote.Notification, 16)
	o, err := remote.Dial(ctx, addr, token, remote.ClientOptions{Name: "other", Notify: func(n remote.Notification) {
		if n.Method == remote.NotifyChatEvent {
			others <- n
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()

	plan, _ := json.Marshal(map[string]any{"steps": []string{"Inspect Account", "Propose Account:withdraw", "Report"}})
	prop, _ := json.Marshal(map[string]string{"object": "Account", "selector": "withdraw", "source": e2eWithdraw, "tests": e2eWithdrawTests, "explanation": "subtracts n"})
	llm.Script(
		llmtest.ToolCall(agent.ShowPlanTool, string(plan)),
		llmtest.ToolCall("inspect_object", `{"name":"Account"}`),
		llmtest.ToolCall(agent.ProposeTool, string(prop)),
		llmtest.Stream("Proposed ", "withdraw."),
	)
	turn, err := c.ChatSend(ctx, "Accounts should support withdraw(n)")
	if err != nil {
		t.Fatalf("chat.send: %v\n%s", err, stderr)
	}
	var seen []string
	until := func(kind string) {
		t.Helper()
		for {
			select {
			case e := <-events:
				if e.Turn != turn {
					t.Fatalf("an event of turn %q in turn %q", e.Turn, turn)
				}
				s := e.Kind + "/" + e.Step + " " + e.Tool + " " + e.Text
				seen = append(seen, s)
				if e.Kind == kind {
					return
				}
			case <-time.After(120 * time.Second): // gVisor validation
				t.Fatalf("no %s event; saw %q\n%s", kind, seen, stderr)
			}
		}
	}
	until(remote.ChatConfirm)
	if err := c.ChatConfirm(ctx, turn, true); err != nil {
		t.Fatal(err)
	}
	until(remote.ChatDone)
	all := strings.Join(seen, "\n")
	for _, want := range []string{"plan/ ", "step/tool inspect_object", "step/observation inspect_object Account", "step/tool propose_method", "waits for a person's approval",
		"delta/  Proposed ", "step/answer  Proposed withdraw."} {
		if !strings.Contains(all, want) {
			t.Fatalf("no %q in the events:\n%s", want, all)
		}
	}
	t.Logf("events:\n%s", all)
	if strings.Contains(all, "error/") {
		t.Fatalf("the turn failed:\n%s\n%s", all, stderr)
	}
	// The proposal waits for a person on the server.
	as, err := c.Approvals(ctx, false)
	if err != nil || len(as.Approvals) != 1 || as.Approvals[0].Selector != "withdraw" {
		t.Fatalf("pending approvals: %+v, %v", as, err)
	}
	if res, err := c.Eval(ctx, `rawget(Account, "withdraw") == nil`); err != nil || res.Values[0] != "true" {
		t.Fatalf("installed without approval: %v %v", res, err)
	}
	select {
	case n := <-others:
		t.Fatalf("another client got %s", n.Params)
	default:
	}
	mu.Lock()
	leaked := strings.Contains(strings.Join(raw, ""), e2eKey)
	mu.Unlock()
	if leaked || strings.Contains(stderr.String(), e2eKey) {
		t.Fatal("the LLM key left the server's environment")
	}
}
