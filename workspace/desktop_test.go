package workspace

import (
	"context"
	"encoding/json"
	stdimage "image"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"gioui.org/io/key"
	"gioui.org/layout"

	"github.com/phoenix-image/phoenix/agent"
	"github.com/phoenix-image/phoenix/agent/llmtest"
	"github.com/phoenix-image/phoenix/agent/memory"
	"github.com/phoenix-image/phoenix/bootstrap"
	"github.com/phoenix-image/phoenix/browser/browsertest"
	"github.com/phoenix-image/phoenix/image"
	"github.com/phoenix-image/phoenix/sandbox"
	"github.com/phoenix-image/phoenix/vm"
)

// vmLoop is the one goroutine that owns the VM in these tests, as
// cmd/phoenix's does in the window.
type vmLoop struct {
	mu     sync.Mutex
	queue  chan func(*vm.VM)
	closed bool
	done   chan struct{}
}

func newVMLoop(v *vm.VM) *vmLoop {
	l := &vmLoop{queue: make(chan func(*vm.VM), 64), done: make(chan struct{})}
	go func() {
		defer close(l.done)
		for f := range l.queue {
			f(v)
		}
	}()
	return l
}

func (l *vmLoop) Go(f func(*vm.VM)) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return false
	}
	l.queue <- f
	return true
}

// sync runs f on the VM's goroutine and waits for it.
func (l *vmLoop) sync(f func(*vm.VM)) {
	done := make(chan struct{})
	l.Go(func(v *vm.VM) { f(v); close(done) })
	<-done
}

func (l *vmLoop) Close() {
	l.mu.Lock()
	l.closed = true
	close(l.queue)
	l.mu.Unlock()
	<-l.done
}

// loopEvaluator is an asynchronous Evaluator over a vmLoop.
type loopEvaluator struct {
	loop *vmLoop
	mu   sync.Mutex
	src  string
	busy bool
	done *EvalResult
	stop context.CancelFunc
}

func (e *loopEvaluator) Eval(src string) (EvalResult, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.done != nil && e.src == src {
		r := *e.done
		e.done = nil
		return r, nil
	}
	if e.busy {
		return EvalResult{}, ErrPending
	}
	ctx, cancel := context.WithCancel(context.Background())
	e.src, e.busy, e.stop = src, true, cancel
	e.loop.Go(func(v *vm.VM) {
		r, _ := VMEvaluator{VM: v, Author: vm.AuthorHuman, Context: ctx}.Eval(src)
		cancel()
		e.mu.Lock()
		e.done, e.busy = &r, false
		e.mu.Unlock()
	})
	return EvalResult{}, ErrPending
}

func (e *loopEvaluator) Stop() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.stop != nil {
		e.stop()
	}
}

const (
	withdrawSource = "function Account:withdraw(n)\n  self.balance = self.balance - n\n  return self\nend"
	withdrawTests  = "function ProposalTest:testWithdraw()\n  local a = Account:clone(); a.balance = 10\n  self:assertEquals(7, a:withdraw(3).balance)\nend"
)

func proposeArgs() string {
	b, _ := json.Marshal(map[string]string{"source": withdrawSource, "tests": withdrawTests, "explanation": "subtracts n from the balance"})
	return string(b)
}

// desk is the workspace, the notifier and the approvals pane over a real
// image with the agent (fake LLM, in-process validator) on a VM goroutine.
type desk struct {
	*driver
	s         *bootstrap.Session
	srv       *llmtest.Server
	loop      *vmLoop
	notifier  *Notifier
	approvals *Approvals
	resolver  *agent.Resolver
}

// newDesk opens a fresh image; before the loop takes the VM, prepare (if
// not nil) runs on it.
func newDesk(t *testing.T, prepare func(*bootstrap.Session, *agent.Resolver)) *desk {
	t.Helper()
	t.Setenv("OPENAI_API_KEY", "sk-test")
	ctx := context.Background()
	s, err := bootstrap.NewImage(ctx, filepath.Join(t.TempDir(), "a.image"), bootstrap.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := agent.InstallObjects(ctx, s.VM); err != nil {
		t.Fatal(err)
	}
	if _, err := s.VM.Eval(ctx, `Account = Object:clone(); Account.balance = 0; Policy.allowInProcess = true`, vm.EvalOptions{}); err != nil {
		t.Fatal(err)
	}
	srv := llmtest.NewServer(t)
	cfg := agent.LLMConfig{BaseURL: srv.URL(), Model: "fake-coder", KeyEnv: "OPENAI_API_KEY", Retries: -1}
	r := &agent.Resolver{LLM: agent.NewLLMClient(cfg, nil), Model: "fake-coder", InProcess: sandbox.NewInProcess(), Journal: s.Image}
	if prepare != nil {
		prepare(s, r)
	}
	k := &desk{s: s, srv: srv, resolver: r, notifier: &Notifier{}, approvals: &Approvals{}}
	r.Approver = k.approvals.ApproverOn(s.VM)
	s.VM.SetNotUnderstood(&NotifierHook{Notifier: k.notifier, Agent: r})
	k.loop = newVMLoop(s.VM)
	t.Cleanup(k.loop.Close)
	k.approvals.Queue = &AsyncQueue{Go: k.loop.Go, Journal: s.Image}
	ev := &loopEvaluator{loop: k.loop}
	t.Cleanup(ev.Stop) // a test that fails with a notice up must not hang the loop
	k.driver = &driver{t: t, w: &Workspace{Evaluator: ev}, th: browsertest.Theme(), size: stdimage.Pt(1200, 800), now: time.Unix(1e9, 0)}
	k.lay = func(gtx layout.Context) {
		layout.Flex{}.Layout(gtx,
			layout.Flexed(0.5, func(gtx layout.Context) layout.Dimensions {
				gtx.Constraints.Min = gtx.Constraints.Max
				return k.w.Layout(gtx, k.th)
			}),
			layout.Flexed(0.5, func(gtx layout.Context) layout.Dimensions {
				gtx.Constraints.Min = gtx.Constraints.Max
				return k.approvals.Layout(gtx, k.th)
			}),
		)
		k.notifier.Layout(gtx, k.th)
	}
	k.frame()
	return k
}

// waitFor lays out frames until cond holds (the VM works meanwhile).
func (k *desk) waitFor(what string, cond func() bool) {
	k.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			k.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
		k.frame()
	}
	k.frame()
}

func (k *desk) notice() Notice {
	k.t.Helper()
	var n Notice
	k.waitFor("the notifier", func() bool {
		var ok bool
		n, ok = k.notifier.Notice()
		return ok
	})
	return n
}

func (k *desk) finished() EvalResult {
	k.t.Helper()
	k.waitFor("the do-it to finish", func() bool { return !k.w.Running })
	return k.w.Last().Result
}

// hasWithdraw reports whether Account understands withdraw now.
func (k *desk) hasWithdraw() bool {
	var ok bool
	k.loop.sync(func(v *vm.VM) { _, ok = v.MethodSource(v.Global("Account"), "withdraw") })
	return ok
}

// doIt types src in the workspace and does it.
func (k *desk) doIt(src string) {
	k.typeText(src)
	k.press("D", key.ModShortcut)
}

func TestNotifierAbandon(t *testing.T) {
	k := newDesk(t, nil)
	k.doIt("Account:clone():withdraw(3)")
	n := k.notice()
	if n.Selector != "withdraw" || len(n.Args) != 1 || n.Args[0] != "3" || n.Target != "Account" {
		t.Fatalf("notice %+v", n)
	}
	if n.Traceback == "" || !strings.Contains(n.Receiver, "Account") {
		t.Fatalf("notice without traceback or receiver: %+v", n)
	}
	for _, s := range []string{"does not understand withdraw", "arguments: 3", "Ask the agent", "Implement it myself", "Abandon"} {
		if !k.shows(s) {
			t.Errorf("the notifier does not show %q", s)
		}
	}
	k.click(k.find("Abandon"))
	res := k.finished()
	if !strings.Contains(res.Error, "MessageNotUnderstood") || !strings.Contains(res.Error, ReasonAbandoned) {
		t.Fatalf("result after Abandon: %+v", res)
	}
	if _, up := k.notifier.Notice(); up {
		t.Fatal("the notifier is still up")
	}
	if k.hasWithdraw() || len(k.srv.Requests()) != 0 {
		t.Fatal("Abandon changed the image or asked the LLM")
	}
}

func TestNotifierImplementItMyself(t *testing.T) {
	k := newDesk(t, nil)
	k.doIt("Account:clone():withdraw(3)")
	k.notice()
	k.click(k.find("Implement it myself"))
	res := k.finished()
	if !strings.Contains(res.Error, "MessageNotUnderstood") || !strings.Contains(res.Error, ReasonImplement) {
		t.Fatalf("result: %+v", res)
	}
	req, ok := k.notifier.TakeImplementRequest()
	if !ok {
		t.Fatal("no implement request")
	}
	if req.Target != "Account" || req.Selector != "withdraw" || req.Source != "function Account:withdraw(a)\n  \nend" {
		t.Fatalf("implement request %+v", req)
	}
	if _, again := k.notifier.TakeImplementRequest(); again {
		t.Fatal("the request is taken twice")
	}
	if k.hasWithdraw() {
		t.Fatal("the image changed")
	}
}

func TestSkeletonParameters(t *testing.T) {
	n := Notice{Target: "Point", Selector: "moveBy", Args: []string{"1", "2", "3"}}
	if got := n.Skeleton(); got != "function Point:moveBy(a, b, c)\n  \nend" {
		t.Fatalf("skeleton %q", got)
	}
}

func TestNotifierAskTheAgentApprove(t *testing.T) {
	k := newDesk(t, nil)
	k.srv.Script(llmtest.ToolCall(agent.ProposeTool, proposeArgs()))
	k.doIt("Account:clone():withdraw(3).balance")
	k.notice()
	k.click(k.find("Ask the agent"))
	var live ProposalView
	k.waitFor("the proposal in the approvals pane", func() bool {
		var ok bool
		live, ok = k.approvals.Live()
		return ok
	})
	if live.Source != withdrawSource || !strings.Contains(live.Sandbox, "1 passed, 0 failed") || live.Reason == "" {
		t.Fatalf("live proposal %+v", live)
	}
	for _, s := range []string{"install Account>>withdraw?", "self.balance - n", "testWithdraw", "1 passed", "policy:"} {
		if !k.shows(s) {
			t.Errorf("the approvals pane does not show %q", s)
		}
	}
	k.click(k.find("Approve"))
	res := k.finished()
	if res.Failed() || res.PrintString() != "-3" {
		t.Fatalf("the re-sent do-it: %+v", res)
	}
	if !k.hasWithdraw() {
		t.Fatal("withdraw is not installed")
	}
}

func TestNotifierAskTheAgentReject(t *testing.T) {
	k := newDesk(t, nil)
	k.srv.Script(llmtest.ToolCall(agent.ProposeTool, proposeArgs()))
	k.doIt("Account:clone():withdraw(3)")
	k.notice()
	k.click(k.find("Ask the agent"))
	k.waitFor("the proposal", func() bool { _, ok := k.approvals.Live(); return ok })
	k.click(k.find("Reject"))
	res := k.finished()
	if !strings.Contains(res.Error, "MessageNotUnderstood") || !strings.Contains(res.Error, "rejected") {
		t.Fatalf("result after Reject: %+v", res)
	}
	if k.hasWithdraw() {
		t.Fatal("a rejected proposal was installed")
	}
}

// queueWithdraw queues a validated withdraw proposal for Account with a
// resolver that has nobody to ask, as the CLI does without a terminal.
func queueWithdraw(t *testing.T) func(*bootstrap.Session, *agent.Resolver) {
	return func(s *bootstrap.Session, r *agent.Resolver) {
		q := *r
		q.Approver = nil
		p := &agent.Proposal{Target: "Account", Selector: "withdraw", Source: withdrawSource, Tests: withdrawTests, Explanation: "subtracts n", Model: "fake-coder", Via: "tool call"}
		ok, why := q.Consider(context.Background(), s.VM, s.VM.Global("Account"), p, "")
		if ok || !strings.Contains(why, "waits for a person") {
			t.Fatalf("not queued: %v %s", ok, why)
		}
	}
}

func TestApprovalsPaneApprovesQueued(t *testing.T) {
	k := newDesk(t, queueWithdraw(t))
	mem, err := memory.OpenEmbedded(k.s.Image, memory.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	k.approvals.Queue.(*AsyncQueue).Memory = mem
	k.waitFor("the queue", func() bool { return len(k.approvals.Pending()) == 1 })
	p := k.approvals.Pending()[0]
	if p.Source != withdrawSource || p.Reason == "" || !strings.Contains(p.Sandbox, "1 passed") {
		t.Fatalf("queued proposal %+v", p)
	}
	if !k.shows("Pending approvals (1)") || !k.shows("subtracts n") {
		t.Fatal("the pane does not list the queued approval")
	}
	k.click(k.find("Approve " + p.ID))
	k.waitFor("the approval", func() bool { return strings.HasPrefix(k.approvals.Status(), "approved") })
	if e := k.approvals.Err(); e != "" {
		t.Fatal(e)
	}
	if !k.hasWithdraw() {
		t.Fatal("approving did not install withdraw")
	}
	a, err := k.s.Image.GetApproval(p.ID)
	if err != nil || a.Status != image.ApprovalApproved {
		t.Fatalf("approval %v %+v", err, a)
	}
	if items, err := mem.List(context.Background(), memory.Filter{Kind: memory.KindMethod}); err != nil || len(items) != 1 || items[0].Selector != "withdraw" || items[0].Purpose != "subtracts n" {
		t.Fatalf("the approved method was not remembered: %+v %v", items, err)
	}
	k.waitFor("the emptied queue", func() bool { return len(k.approvals.Pending()) == 0 && k.approvals.loaded })
	k.doIt("Account:clone():withdraw(3).balance")
	if res := k.finished(); res.PrintString() != "-3" {
		t.Fatalf("the installed method: %+v", res)
	}
}

func TestApprovalsPaneRejectsQueued(t *testing.T) {
	k := newDesk(t, queueWithdraw(t))
	k.waitFor("the queue", func() bool { return len(k.approvals.Pending()) == 1 })
	id := k.approvals.Pending()[0].ID
	k.click(k.find("Reject " + id))
	k.waitFor("the rejection", func() bool { return strings.HasPrefix(k.approvals.Status(), "rejected") })
	a, err := k.s.Image.GetApproval(id)
	if err != nil || a.Status != image.ApprovalRejected || k.hasWithdraw() {
		t.Fatalf("approval %v %+v", err, a)
	}
}

func TestNotifierStopDismisses(t *testing.T) {
	k := newDesk(t, nil)
	k.doIt("Account:clone():withdraw(3)")
	k.notice()
	k.w.Stop()
	res := k.finished()
	if !res.Failed() {
		t.Fatalf("stopped do-it: %+v", res)
	}
	if _, up := k.notifier.Notice(); up {
		t.Fatal("Stop left the notifier up")
	}
}

func TestApprovalsPaneDiffsAgainstCurrentMethod(t *testing.T) {
	const old = "function Account:withdraw(n)\n  self.balance = self.balance - n - 1\n  return self\nend"
	k := newDesk(t, func(s *bootstrap.Session, r *agent.Resolver) {
		if _, err := s.VM.Eval(context.Background(), old, vm.EvalOptions{}); err != nil {
			t.Fatal(err)
		}
		queueWithdraw(t)(s, r)
	})
	k.waitFor("the queue", func() bool { return len(k.approvals.Pending()) == 1 })
	p := k.approvals.Pending()[0]
	if !p.Replaces || !strings.Contains(p.Current, "- n - 1") {
		t.Fatalf("the proposal does not know the method it replaces: %+v", p)
	}
	for _, s := range []string{"replaces the current method:", "-  self.balance = self.balance - n - 1", "+  self.balance = self.balance - n", "@@"} {
		if !k.shows(s) {
			t.Errorf("the approvals pane does not show %q", s)
		}
	}
	if k.shows("new method") {
		t.Error("a redefinition is shown as a new method")
	}
}

func TestApprovalsPaneNewMethod(t *testing.T) {
	k := newDesk(t, queueWithdraw(t))
	k.waitFor("the queue", func() bool { return len(k.approvals.Pending()) == 1 })
	if p := k.approvals.Pending()[0]; p.Replaces || !p.Compared {
		t.Fatalf("%+v", p)
	}
	if !k.shows("new method") || k.shows("replaces the current method:") {
		t.Fatal("a new method is not shown as one")
	}
}
