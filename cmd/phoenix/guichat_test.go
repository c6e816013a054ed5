//go:build cgo

package main

import (
	"context"
	"encoding/json"
	"image"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"gioui.org/f32"
	"gioui.org/io/input"
	"gioui.org/io/key"
	"gioui.org/io/pointer"
	"gioui.org/io/semantic"
	"gioui.org/layout"
	"gioui.org/op"
	"gioui.org/unit"
	openai "github.com/sashabaranov/go-openai"

	"github.com/phoenix-image/phoenix/agent"
	"github.com/phoenix-image/phoenix/agent/llmtest"
	"github.com/phoenix-image/phoenix/bootstrap"
	"github.com/phoenix-image/phoenix/browser/browsertest"
	"github.com/phoenix-image/phoenix/sandbox"
	"github.com/phoenix-image/phoenix/vm"
)

const chatWithdraw = "function Account:withdraw(n)\n  self.balance = self.balance - n\n  return self\nend"
const chatWithdrawTests = "function ProposalTest:testWithdraw()\n  local a = Account:clone(); a.balance = 10\n  self:assertEquals(7, a:withdraw(3).balance)\nend"

func chatJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func chatPlan(steps ...string) string { return chatJSON(map[string]any{"steps": steps}) }

func chatProposal() string {
	return chatJSON(map[string]string{"object": "Account", "selector": "withdraw", "source": chatWithdraw,
		"tests": chatWithdrawTests, "explanation": "subtracts n"})
}

// chatGUI is the window over a fresh image with the agent's objects, the
// fake LLM and the in-process validator (allowed by the image's policy for
// this test), driven frame by frame under an input.Router.
type chatGUI struct {
	t    *testing.T
	s    *bootstrap.Session
	srv  *llmtest.Server
	loop *vmLoop
	u    *gui
	r    input.Router
	ops  op.Ops
	size image.Point
}

func newChatGUI(t *testing.T) *chatGUI {
	t.Helper()
	t.Setenv("OPENAI_API_KEY", "sk-test")
	ctx := context.Background()
	s, err := bootstrap.NewImage(ctx, filepath.Join(t.TempDir(), "chat.image"), bootstrap.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := agent.InstallObjects(ctx, s.VM); err != nil {
		t.Fatal(err)
	}
	if _, err := s.VM.Eval(ctx, `Account = Object:clone(); Account.balance = 0; Policy.allowInProcess = true`, vm.EvalOptions{}); err != nil {
		t.Fatal(err)
	}
	srv := llmtest.NewServer(t)
	cfg := agent.LLMConfig{BaseURL: srv.URL(), Model: "fake", KeyEnv: "OPENAI_API_KEY", Retries: -1}
	res := &agent.Resolver{LLM: agent.NewLLMClient(cfg, nil), Model: "fake", InProcess: sandbox.NewInProcess(), Journal: s.Image, AutoApprove: true}
	s.VM.SetNotUnderstood(res)
	loop := newVMLoop(s.VM)
	g := &chatGUI{t: t, s: s, srv: srv, loop: loop, size: image.Pt(1500, 900)}
	g.u = newGUI("test", loop, func() {})
	g.u.attachChat(res, func() {})
	t.Cleanup(func() { loop.Close(); s.Close() })
	g.frame()
	return g
}

func (g *chatGUI) frame() {
	g.ops.Reset()
	gtx := layout.Context{Ops: &g.ops, Metric: unit.Metric{PxPerDp: 1, PxPerSp: 1}, Constraints: layout.Exact(g.size),
		Source: g.r.Source(), Now: time.Now()}
	g.u.Layout(gtx)
	g.r.Frame(&g.ops)
}

func (g *chatGUI) nodes() []input.SemanticNode {
	return browsertest.Nodes(&g.r)
}

func nodeLabel(n input.SemanticNode) string { return browsertest.Label(n) }

// find is the centre of the smallest widget whose text starts with prefix.
func (g *chatGUI) find(prefix string) (image.Point, bool) {
	best, found := browsertest.Find(&g.r, prefix)
	return image.Pt((best.Min.X+best.Max.X)/2, (best.Min.Y+best.Max.Y)/2), found
}

func (g *chatGUI) shows(s string) bool {
	for _, n := range g.nodes() {
		if strings.Contains(n.Desc.Label, s) {
			return true
		}
	}
	return false
}

func (g *chatGUI) click(prefix string) {
	g.t.Helper()
	p, ok := g.find(prefix)
	if !ok {
		g.t.Fatalf("nothing labelled %q on screen:\n%s", prefix, g.u.inspector.Chat.Transcript())
	}
	browsertest.Click(&g.r, p)
	g.frame()
	g.frame()
}

// typeRequest types s into the chat's input line (the editor lowest in
// the right pane) and presses Enter.
func (g *chatGUI) typeRequest(s string) {
	g.t.Helper()
	var r image.Rectangle
	for _, n := range g.nodes() {
		if b := n.Desc.Bounds; n.Desc.Class == semantic.Editor && b.Min.X > g.size.X/2 && b.Min.Y > r.Min.Y {
			r = b
		}
	}
	if r.Empty() {
		g.t.Fatal("no chat input on screen")
	}
	browsertest.Enter(&g.r, r, s, g.frame)
}

func (g *chatGUI) waitFor(what string, ok func() bool) {
	g.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			g.t.Fatalf("timed out waiting for %s:\n%s", what, g.u.inspector.Chat.Transcript())
		}
		time.Sleep(5 * time.Millisecond)
		g.frame()
	}
}

// TestGUIChatRunsThePlanner types a request into the Chat tab of the real
// window state; the real Planner shows its plan, runs the tools after Run
// and answers; the tool rows expand and collapse. The conversation goes on
// in a second request, whose plan is declined: no mutating tool runs.
func TestGUIChatRunsThePlanner(t *testing.T) {
	g := newChatGUI(t)
	g.srv.Script(
		llmtest.ToolCall(agent.ShowPlanTool, chatPlan("Inspect Account", "Propose Account:withdraw with tests", "Report")),
		llmtest.ToolCall("inspect_object", `{"name":"Account"}`),
		llmtest.ToolCall(agent.ProposeTool, chatProposal()),
		llmtest.Reply("Account now understands withdraw."),
	)
	g.click("Chat")
	if !g.u.inspector.showChat {
		t.Fatal("the Chat tab did not open")
	}
	c := &g.u.inspector.Chat
	g.typeRequest("Accounts should support withdraw(n)")
	g.waitFor("the plan", func() bool { return g.shows("1. Inspect Account") })
	if !g.shows("You: Accounts should support withdraw(n)") || !c.Running() || !g.shows("Stop") {
		t.Fatalf("after sending:\n%s", c.Transcript())
	}
	g.waitFor("Run", func() bool { _, ok := g.find("Run"); return ok })
	if g.shows("→ ") {
		t.Fatal("a tool ran before the plan was approved")
	}
	g.click("Run")
	g.waitFor("the answer", func() bool { return g.shows("Account now understands withdraw.") && !c.Running() })
	// The answer was streamed (as one chunk), then came whole: it shows once.
	if n := strings.Count(c.Transcript(), "Account now understands withdraw."); n != 1 {
		t.Fatalf("the answer shows %d times:\n%s", n, c.Transcript())
	}
	if !g.shows("[+] → inspect_object") || !g.shows("[+] → propose_method") {
		t.Fatalf("tool rows:\n%s", c.Transcript())
	}
	if g.shows("slot balance = 0") {
		t.Fatal("a tool row is open before it is clicked")
	}
	g.click("[+] → inspect_object")
	if !g.shows("slot balance = 0") {
		t.Fatalf("the row did not expand:\n%s", c.Transcript())
	}
	g.click("[-] → inspect_object")
	if g.shows("slot balance = 0") {
		t.Fatal("the row did not collapse")
	}

	// The second request continues the conversation; its plan is declined.
	g.srv.Script(llmtest.ToolCalls(
		llmtest.Call{Name: agent.ShowPlanTool, Args: chatPlan("Propose withdraw again")},
		llmtest.Call{Name: agent.ProposeTool, Args: chatJSON(map[string]string{"object": "Account", "selector": "deposit",
			"source": "function Account:deposit(n) self.balance = self.balance + n; return self end", "tests": chatWithdrawTests})},
	))
	g.typeRequest("and deposit")
	g.waitFor("the second plan", func() bool { return g.shows("1. Propose withdraw again") })
	g.waitFor("Decline", func() bool { _, ok := g.find("Decline"); return ok })
	g.click("Decline")
	g.waitFor("the declined answer", func() bool { return g.shows(agent.AnswerPlanDeclined) && !c.Running() })
	if strings.Contains(c.Transcript(), "→ propose_method {\"object\":\"Account\",\"selector\":\"deposit\"") {
		t.Fatalf("a mutating tool ran after Decline:\n%s", c.Transcript())
	}
	reqs := g.srv.Requests()
	if len(reqs) != 5 || len(reqs[4].Body.Messages) < 10 {
		t.Fatalf("%d requests; the last sent %d messages (the history was not kept)", len(reqs), len(reqs[len(reqs)-1].Body.Messages))
	}

	g.loop.Close()
	ctx := context.Background()
	res, err := g.s.VM.Eval(ctx, `local a = Account:clone(); a.balance = 10; return a:withdraw(3).balance, rawget(Account, "deposit")`, vm.EvalOptions{Print: true})
	if err != nil || strings.Join(res.Strings, " ") != "7 nil" {
		t.Fatalf("after the chat: %v, %v", res, err)
	}
}

// TestPlannerChatStopWhileThePlanWaits stops a turn whose plan waits for
// Run: the run ends as stopped, the VM is free again, and a later request
// continues the conversation.
func TestPlannerChatStopWhileThePlanWaits(t *testing.T) {
	g := newChatGUI(t)
	eng := g.u.inspector.Chat.Engine.(*plannerChat)
	g.srv.Script(llmtest.ToolCall(agent.ShowPlanTool, chatPlan("Propose withdraw")), llmtest.Reply("Hello again."))
	var seen []string
	wait := func(kind string) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			for _, e := range eng.Drain() {
				seen = append(seen, e.Kind+":"+e.Text)
				if e.Kind == kind {
					return
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("no %s event; saw %q", kind, seen)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	if err := eng.Send("add withdraw"); err != nil {
		t.Fatal(err)
	}
	if err := eng.Send("again"); err != errChatBusy {
		t.Fatalf("a second Send while running: %v", err)
	}
	wait("confirm")
	eng.Stop()
	wait("done")
	if strings.Join(seen, "|") != "plan:1. Propose withdraw|confirm:|error:asking to approve the plan failed: context canceled|error:stopped|done:" {
		t.Fatalf("events: %q", seen)
	}
	seen = nil
	if err := eng.Send("hello"); err != nil {
		t.Fatal(err)
	}
	wait("done")
	// The fake's reply is served as one chunk of the streamed request.
	if strings.Join(seen, "|") != "delta:Hello again.|answer:Hello again.|done:" {
		t.Fatalf("events: %q", seen)
	}
	if reqs := g.srv.Requests(); len(reqs) != 2 || len(reqs[1].Body.Messages) < 4 {
		t.Fatalf("the history was not kept: %d requests", len(reqs))
	}
}

// typeDoIt clicks the workspace's code editor (the Workspace tab must be
// shown), types src and presses Ctrl-D.
func (g *chatGUI) typeDoIt(src string) {
	g.t.Helper()
	var r image.Rectangle
	for _, n := range g.nodes() {
		if b := n.Desc.Bounds; n.Desc.Class == semantic.Editor && b.Min.X > g.size.X/2 && b.Dy() > r.Dy() {
			r = b
		}
	}
	if r.Empty() {
		g.t.Fatal("no workspace editor on screen")
	}
	pos := f32.Pt(float32(r.Min.X+r.Max.X)/2, float32(r.Min.Y+r.Max.Y)/2)
	g.r.Queue(
		pointer.Event{Kind: pointer.Press, Source: pointer.Mouse, Buttons: pointer.ButtonPrimary, Position: pos},
		pointer.Event{Kind: pointer.Release, Source: pointer.Mouse, Position: pos},
	)
	g.frame()
	n := utf8.RuneCountInString(src)
	g.r.Queue(key.EditEvent{Text: src}, key.SelectionEvent{Start: n, End: n})
	g.frame()
	g.r.Queue(key.Event{Name: "D", Modifiers: key.ModShortcut, State: key.Press}, key.Event{Name: "D", Modifiers: key.ModShortcut, State: key.Release})
	g.frame()
}

// TestGUIDoItCompletesWhileTheChatWaitsForTheLLM: while a chat turn waits
// for the model's streamed reply, a do-it typed into the workspace runs
// and commits (the LLM wait is not on the VM's goroutine), and so does a
// tool call of the same turn once the model answers.
func TestGUIDoItCompletesWhileTheChatWaitsForTheLLM(t *testing.T) {
	g := newChatGUI(t)
	release := make(chan struct{})
	g.srv.Script(
		llmtest.ToolCall(agent.ShowPlanTool, chatPlan("Inspect Account", "Report")),
		llmtest.Func(func(openai.ChatCompletionRequest) llmtest.Step {
			<-release // the model is slow to answer the second step
			return llmtest.ToolCall("inspect_object", `{"name":"Account"}`)
		}),
		llmtest.Stream("Account ", "has ", "a balance."),
	)
	defer func() {
		select {
		case <-release:
		default:
			close(release)
		}
	}()
	c := &g.u.inspector.Chat
	g.click("Chat")
	g.typeRequest("What is Account?")
	g.waitFor("Run", func() bool { _, ok := g.find("Run"); return ok })
	g.click("Run")
	g.waitFor("the second model request", func() bool { return len(g.srv.Requests()) == 2 })

	g.click("Workspace")
	g.typeDoIt("Lobby.smoke = 42")
	g.waitFor("the do-it", func() bool { return g.u.Workspace.Last() != nil && !g.u.Workspace.Running })
	if !c.Running() {
		t.Fatal("the chat turn ended before the model answered")
	}
	if err := g.u.Workspace.Err(); err != "" {
		t.Fatalf("the do-it failed: %s", err)
	}
	// The VM is free: the browser's question is answered too.
	g.waitFor("the browser's globals", func() bool { return g.u.image.Objects() > 0 })

	close(release)
	g.click("Chat")
	g.waitFor("the answer", func() bool { return g.shows("Account has a balance.") && !c.Running() })
	if !g.shows("[+] → inspect_object") {
		t.Fatalf("the tool did not run:\n%s", c.Transcript())
	}
	g.click("[+] → inspect_object")
	if !g.shows("slot balance = 0") {
		t.Fatalf("the tool's observation:\n%s", c.Transcript())
	}
	g.loop.Close()
	res, err := g.s.VM.Eval(context.Background(), `return smoke`, vm.EvalOptions{Print: true})
	if err != nil || strings.Join(res.Strings, " ") != "42" {
		t.Fatalf("smoke = %v, %v", res, err)
	}
}

// TestGUIStopEndsARunningDoIt: Stop interrupts a do-it that loops; the
// evaluation fails as interrupted and rolls back, and the next do-it runs.
func TestGUIStopEndsARunningDoIt(t *testing.T) {
	g := newChatGUI(t)
	g.typeDoIt("Lobby.spun = 1; while true do end")
	g.waitFor("the do-it to run", func() bool { return g.u.Workspace.Running && g.u.Workspace.CanStop() })
	g.click("Stop")
	g.waitFor("the stopped do-it", func() bool { return g.u.Workspace.Last() != nil && !g.u.Workspace.Running })
	if err := g.u.Workspace.Err(); err == "" {
		t.Fatal("a stopped do-it reports no error")
	}
	g.u.Workspace.Editor.SetText("")
	g.typeDoIt("Lobby.after = 7")
	g.waitFor("the next do-it", func() bool {
		o := g.u.Workspace.Last()
		return o != nil && !g.u.Workspace.Running && o.Source == "Lobby.after = 7"
	})
	if err := g.u.Workspace.Err(); err != "" {
		t.Fatalf("the do-it after Stop failed: %s", err)
	}
	g.loop.Close()
	res, err := g.s.VM.Eval(context.Background(), `return spun, after`, vm.EvalOptions{Print: true})
	if err != nil || strings.Join(res.Strings, " ") != "nil 7" {
		t.Fatalf("spun, after = %v, %v", res, err)
	}
}

// TestGUIChatOpensTheInspector: after a turn whose tool step and answer
// name Account, its "Inspect Account" link opens Account in the Inspector
// tab; back in the chat, Ctrl-I in the input line does the same.
func TestGUIChatOpensTheInspector(t *testing.T) {
	g := newChatGUI(t)
	g.srv.Script(
		llmtest.ToolCall(agent.ShowPlanTool, chatPlan("Inspect Account")),
		llmtest.ToolCall("inspect_object", `{"name":"Account"}`),
		llmtest.Reply("Account holds a balance."),
	)
	c := &g.u.inspector.Chat
	g.click("Chat")
	g.typeRequest("What is Account?")
	g.waitFor("Run", func() bool { _, ok := g.find("Run"); return ok })
	g.click("Run")
	g.waitFor("the answer with its link", func() bool { return !c.Running() && g.shows("Inspect Account") })
	g.click("Inspect Account")
	in := &g.u.inspector.Inspector
	g.waitFor("the Inspector on Account", func() bool { return in.View() != nil })
	if e, ok := in.View().Entry("balance"); !g.u.inspector.showInspector || !ok || e.Value != "0" {
		t.Fatalf("inspector shown %v, view %+v", g.u.inspector.showInspector, in.View())
	}
	if !g.shows("balance") {
		t.Fatal("the Inspector tab does not show Account's slots")
	}

	g.click("Chat")
	if g.u.inspector.showInspector && !g.u.inspector.showChat {
		t.Fatal("the Chat tab did not open")
	}
	g.typeRequest("") // focuses the input line
	g.r.Queue(key.Event{Name: "I", Modifiers: key.ModShortcut, State: key.Press}, key.Event{Name: "I", Modifiers: key.ModShortcut, State: key.Release})
	g.frame()
	g.waitFor("the Inspector on Account again", func() bool {
		if !g.u.inspector.showInspector || g.u.inspector.showChat || in.View() == nil {
			return false
		}
		e, ok := in.View().Entry("balance")
		return ok && e.Value == "0"
	})
}
