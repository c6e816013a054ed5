//go:build cgo

package main

import (
	"context"
	"image"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"gioui.org/io/input"
	"gioui.org/io/semantic"
	"gioui.org/layout"
	"gioui.org/op"
	"gioui.org/unit"

	"github.com/phoenix-image/phoenix/agent"
	"github.com/phoenix-image/phoenix/agent/llmtest"
	"github.com/phoenix-image/phoenix/bootstrap"
	"github.com/phoenix-image/phoenix/browser/browsertest"
	"github.com/phoenix-image/phoenix/kernelhost/remote"
	"github.com/phoenix-image/phoenix/sandbox"
	"github.com/phoenix-image/phoenix/vm"
)

// attachedChatGUI is the attached window over an image served as phoenix
// serve serves it: the agent's objects, the fake LLM, the in-process
// validator (allowed by the image's policy for this test), the server's
// chat (serveChat) and no Approver, so proposals wait in the queue. The
// window is driven frame by frame under an input.Router.
type attachedChatGUI struct {
	t       *testing.T
	srv     *llmtest.Server
	u       *attachedGUI
	check   *remote.Client // another client, behind the window's back
	others  atomic.Int32   // chat events the other client got
	r       input.Router
	ops     op.Ops
	size    image.Point
	backend *bootstrap.RemoteBackend
}

func newAttachedChatGUI(t *testing.T) *attachedChatGUI { return newAttachedChatGUIWith(t, true) }

// newAttachedChatGUIWith: resolveMisses makes the server's agent the VM's
// handler of messages not understood, as serve does.
func newAttachedChatGUIWith(t *testing.T, resolveMisses bool) *attachedChatGUI {
	t.Helper()
	t.Setenv("OPENAI_API_KEY", "sk-test") // the server's environment: the window never sees it
	ctx := context.Background()
	g := &attachedChatGUI{t: t, size: image.Pt(1500, 900)}
	var be atomic.Pointer[bootstrap.RemoteBackend]
	s, err := bootstrap.Open(ctx, filepath.Join(t.TempDir(), "chat.image"), bootstrap.Options{Create: true,
		OnCommit: func(b *vm.Batch) {
			if p := be.Load(); p != nil {
				p.Committed(b)
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	if err := agent.InstallObjects(ctx, s.VM); err != nil {
		t.Fatal(err)
	}
	if _, err := s.VM.Eval(ctx, `Account = Object:clone(); Account.balance = 0; Policy.allowInProcess = true`, vm.EvalOptions{}); err != nil {
		t.Fatal(err)
	}
	g.srv = llmtest.NewServer(t)
	cfg := agent.LLMConfig{BaseURL: g.srv.URL(), Model: "fake", KeyEnv: "OPENAI_API_KEY", Retries: -1}
	res := &agent.Resolver{LLM: agent.NewLLMClient(cfg, nil), Model: "fake", InProcess: sandbox.NewInProcess(), Journal: s.Image}
	if resolveMisses {
		s.VM.SetNotUnderstood(res)
	}
	b := bootstrap.NewRemoteBackend(s, bootstrap.RemoteOptions{Decider: agentDecider{r: res}})
	be.Store(b)
	g.backend = b
	srv := &remote.Server{Backend: b, Token: "t0ken", Chat: &serveChat{do: b.Do, resolver: res}}
	ln, err := remote.Listen(ctx, "127.0.0.1:0", false)
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close(); b.Close(); s.Close() })
	addr := ln.Addr().String()
	g.check, err = remote.Dial(ctx, addr, "t0ken", remote.ClientOptions{Notify: func(n remote.Notification) {
		if n.Method == remote.NotifyChatEvent {
			g.others.Add(1)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.check.Close() })
	g.u = newAttachedGUI(func() {})
	c, err := remote.Dial(ctx, addr, "t0ken", remote.ClientOptions{Name: "test gui", Notify: g.u.notify})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	g.u.connect(c, addr)
	g.frame()
	return g
}

func (g *attachedChatGUI) frame() {
	g.ops.Reset()
	gtx := layout.Context{Ops: &g.ops, Metric: unit.Metric{PxPerDp: 1, PxPerSp: 1}, Constraints: layout.Exact(g.size),
		Source: g.r.Source(), Now: time.Now()}
	g.u.Layout(gtx)
	g.r.Frame(&g.ops)
}

func (g *attachedChatGUI) shows(s string) bool {
	for _, n := range browsertest.Nodes(&g.r) {
		if strings.Contains(n.Desc.Label, s) {
			return true
		}
	}
	return false
}

func (g *attachedChatGUI) find(prefix string) (image.Point, bool) {
	best, found := browsertest.Find(&g.r, prefix)
	return image.Pt((best.Min.X+best.Max.X)/2, (best.Min.Y+best.Max.Y)/2), found
}

func (g *attachedChatGUI) click(prefix string) {
	g.t.Helper()
	p, ok := g.find(prefix)
	if !ok {
		g.t.Fatalf("nothing labelled %q on screen:\n%s", prefix, g.u.Pane.Chat.Transcript())
	}
	browsertest.Click(&g.r, p)
	g.frame()
	g.frame()
}

func (g *attachedChatGUI) waitFor(what string, ok func() bool) {
	g.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			g.t.Fatalf("timed out waiting for %s:\n%s", what, g.u.Pane.Chat.Transcript())
		}
		time.Sleep(5 * time.Millisecond)
		g.frame()
	}
}

// typeRequest types s into the chat's input line (the lowest editor of
// the right pane's tabs, above the approvals pane) and presses Enter.
func (g *attachedChatGUI) typeRequest(s string) {
	g.t.Helper()
	var r image.Rectangle
	for _, n := range browsertest.Nodes(&g.r) {
		if b := n.Desc.Bounds; n.Desc.Class == semantic.Editor && b.Min.X > g.size.X*2/3 && b.Max.Y < g.size.Y*6/10 && b.Min.Y > r.Min.Y {
			r = b
		}
	}
	if r.Empty() {
		g.t.Fatal("no chat input on screen")
	}
	browsertest.Enter(&g.r, r, s, g.frame)
}

// TestGUIAttachChatRunsTheServersAgent: in the attached window's Chat
// tab, a request runs the server's planner with the fake LLM: the plan
// shows and waits for Run, the tools run on the served image (the
// inspect_object step's observation is the server's Account; the
// proposal waits in the server's approvals queue, as serve's policy has
// it, and shows in the window's approvals pane), the answer streams into
// the widget, and the tool rows expand and collapse. Another client gets
// none of the turn's events. A second request continues the conversation
// and is stopped while its plan waits; the server is free again.
func TestGUIAttachChatRunsTheServersAgent(t *testing.T) {
	g := newAttachedChatGUI(t)
	g.srv.Script(
		llmtest.ToolCall(agent.ShowPlanTool, chatPlan("Inspect Account", "Propose Account:withdraw with tests", "Report")),
		llmtest.ToolCall("inspect_object", `{"name":"Account"}`),
		llmtest.ToolCall(agent.ProposeTool, chatProposal()),
		llmtest.Stream("Account:withdraw ", "waits for ", "your approval."),
	)
	g.waitFor("the Chat tab", func() bool { _, ok := g.find("Chat"); return ok })
	g.click("Chat")
	if !g.u.Pane.ShowingChat() {
		t.Fatal("the Chat tab did not open")
	}
	c := &g.u.Pane.Chat
	g.typeRequest("Accounts should support withdraw(n)")
	g.waitFor("the plan", func() bool { return g.shows("1. Inspect Account") })
	if !g.shows("You: Accounts should support withdraw(n)") || !c.Running() || !strings.Contains(g.u.Status(), "the server's agent is working") {
		t.Fatalf("after sending:\n%s", c.Transcript())
	}
	g.waitFor("Run", func() bool { _, ok := g.find("Run"); return ok })
	if g.shows("→ ") {
		t.Fatal("a tool ran before the plan was approved")
	}
	g.click("Run")
	g.waitFor("the answer", func() bool { return g.shows("Account:withdraw waits for your approval.") && !c.Running() })
	if n := strings.Count(c.Transcript(), "waits for your approval."); n != 1 {
		t.Fatalf("the streamed answer shows %d times:\n%s", n, c.Transcript())
	}
	if !g.shows("[+] → inspect_object") || !g.shows("[+] → propose_method") {
		t.Fatalf("tool rows:\n%s", c.Transcript())
	}
	g.click("[+] → inspect_object")
	if !g.shows("slot balance = 0") {
		t.Fatalf("the row did not expand to the server's Account:\n%s", c.Transcript())
	}
	g.click("[-] → inspect_object")
	if g.shows("slot balance = 0") {
		t.Fatal("the row did not collapse")
	}

	// On the server: the proposal waits for a person; nothing installed it.
	ctx := context.Background()
	as, err := g.check.Approvals(ctx, false)
	if err != nil || len(as.Approvals) != 1 || as.Approvals[0].Object != "Account" || as.Approvals[0].Selector != "withdraw" {
		t.Fatalf("the server's pending approvals: %+v, %v", as, err)
	}
	if res, err := g.check.Eval(ctx, `rawget(Account, "withdraw") == nil`); err != nil || res.Values[0] != "true" {
		t.Fatalf("withdraw installed without approval: %v, %v", res, err)
	}
	// ... and the window's approvals pane lists it.
	g.waitFor("the approvals pane", func() bool { return len(g.u.Approvals.Pending()) == 1 })

	// An object the agent named opens in the Inspector.
	g.waitFor("the Inspect link", func() bool { _, ok := g.find("Inspect Account"); return ok })
	g.click("Inspect Account")
	if !g.u.Pane.ShowingInspector() || g.u.Pane.ShowingChat() {
		t.Fatal("Inspect Account did not open the Inspector")
	}
	if n := g.others.Load(); n != 0 {
		t.Fatalf("another client got %d chat events", n)
	}

	// The conversation goes on; this turn is stopped while its plan waits.
	g.srv.Script(llmtest.ToolCall(agent.ShowPlanTool, chatPlan("Propose deposit")))
	g.click("Chat")
	g.typeRequest("and deposit")
	g.waitFor("the second plan", func() bool { return g.shows("1. Propose deposit") })
	g.waitFor("Run", func() bool { _, ok := g.find("Run"); return ok })
	g.click("Stop")
	g.waitFor("the stopped turn", func() bool { return !c.Running() })
	if !strings.Contains(c.Transcript(), "stopped") {
		t.Fatalf("the stopped turn:\n%s", c.Transcript())
	}
	reqs := g.srv.Requests()
	if len(reqs) != 5 || len(reqs[4].Body.Messages) < 10 {
		t.Fatalf("%d requests; the last sent %d messages (the history was not kept)", len(reqs), len(reqs[len(reqs)-1].Body.Messages))
	}
	if res, err := g.check.Eval(ctx, "Account.balance"); err != nil || res.Values[0] != "0" {
		t.Fatalf("the server after the stop: %v, %v", res, err)
	}

	// A headless render of the window with the chat.
	g.click("Chat")
	g.u.th = browsertest.Theme()
	var ops op.Ops
	gtx := layout.Context{Ops: &ops, Metric: unit.Metric{PxPerDp: 1, PxPerSp: 1}, Constraints: layout.Exact(g.size), Now: time.Now()}
	g.u.Layout(gtx)
	img := browsertest.Shoot(t, g.size, &ops)
	browsertest.SavePNG(t, img, "gui_attach_chat.png")
	bg := browsertest.Dominant(browsertest.Colours(img))
	chat := image.Rect(g.size.X*2/3, 40, g.size.X, g.size.Y*6/10)
	if n := browsertest.Ink(img, chat, bg); n < 2000 {
		t.Errorf("the chat drew almost nothing (%d pixels)", n)
	}
}

// TestGUIAttachAskTheAgentGoesToTheChat: "Ask the agent" on the notifier
// of a failed remote do-it sends a request to implement the method to the
// server's agent in the Chat tab, which opens; the agent's proposal waits
// in the server's queue.
func TestGUIAttachAskTheAgentGoesToTheChat(t *testing.T) {
	g := newAttachedChatGUIWith(t, false) // the miss fails on the server; the window asks
	g.srv.Script(
		llmtest.ToolCall(agent.ShowPlanTool, chatPlan("Propose Account:withdraw with tests")),
		llmtest.ToolCall(agent.ProposeTool, chatProposal()),
		llmtest.Reply("Proposed; approve it in the approvals pane."),
	)
	g.waitFor("the Chat tab", func() bool { _, ok := g.find("Chat"); return ok })
	g.u.Workspace.Editor.SetText("return Account:withdraw(3)")
	g.u.Workspace.DoIt()
	g.waitFor("the notice", func() bool { _, ok := g.u.Notifier.Notice(); return ok })
	g.click("Ask the agent")
	c := &g.u.Pane.Chat
	g.waitFor("the chat's request", func() bool { return g.u.Pane.ShowingChat() && g.shows("You: A do-it sent Account:withdraw(3)") })
	g.waitFor("Run", func() bool { _, ok := g.find("Run"); return ok })
	g.click("Run")
	g.waitFor("the answer", func() bool { return g.shows("Proposed; approve it in the approvals pane.") && !c.Running() })
	reqs := g.srv.Requests()
	if len(reqs) != 3 || !strings.Contains(chatJSON(reqs[0].Body.Messages), "Implement Account:withdraw") {
		t.Fatalf("%d model requests; the first did not carry the request", len(reqs))
	}
	as, err := g.check.Approvals(context.Background(), false)
	if err != nil || len(as.Approvals) != 1 || as.Approvals[0].Selector != "withdraw" {
		t.Fatalf("the server's pending approvals: %+v, %v", as, err)
	}
	// The do-it failed saying so (the workspace takes its result when its
	// tab shows again).
	g.click("Workspace")
	g.waitFor("the failed do-it", func() bool { return g.u.Workspace.Last() != nil && !g.u.Workspace.Running })
	if e := g.u.Workspace.Last(); !strings.Contains(e.Result.Error, reasonAskedInChat) {
		t.Fatalf("the do-it's error: %+v", e)
	}
}
