//go:build cgo

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	openai "github.com/sashabaranov/go-openai"

	"github.com/phoenix-image/phoenix/agent"
	"github.com/phoenix-image/phoenix/vm"
	"github.com/phoenix-image/phoenix/workspace"
)

// plannerChat implements workspace.ChatEngine with agent.Planner, as the
// shell drives it: each request is one Planner.Run on a goroutine of its
// own, continuing the conversation's history. The model's calls (the
// streamed LLM requests), the plan's confirmation and ask_person wait
// there, never on the VM's goroutine, so do-its, the browser and the
// inspector go on while the agent thinks; only the tools that read or
// change the image (inspect_object, propose_method, …) are queued to the
// vmLoop, one call at a time (onLoop). Its events are posted to the chat
// and the window invalidated (the streamed "delta" events too, which the
// chat shows as the step's text grows until the step's whole thought or
// answer replaces them). ConfirmPlan and ask_person block the run until
// the person answers in the chat, or the turn is stopped. Proposals that
// need approval are asked about in the approvals pane (the resolver's
// Approver, which waits on the VM's goroutine like a message not
// understood does).
type plannerChat struct {
	loop       *vmLoop
	resolver   *agent.Resolver // nil: no agent
	invalidate func()
	// tools is the planner's registry; nil: agent.BuiltinTools.
	tools *agent.Registry
	// held, if set and true, refuses a new turn (a revert is swapping
	// the image and the resolver's journal).
	held func() bool

	mu      sync.Mutex
	events  []workspace.ChatEvent
	running bool
	cancel  context.CancelFunc
	confirm chan bool   // the person's Run/Decline for the plan asked about
	answer  chan string // the person's answer to the question asked

	// On the turn's goroutine only (turns run one at a time).
	planner *agent.Planner
	history []openai.ChatCompletionMessage
}

var _ workspace.ChatEngine = (*plannerChat)(nil)

func newPlannerChat(loop *vmLoop, r *agent.Resolver, invalidate func()) *plannerChat {
	return &plannerChat{loop: loop, resolver: r, invalidate: invalidate,
		confirm: make(chan bool, 1), answer: make(chan string, 1)}
}

// attachChat gives the right pane's Chat tab an agent over r (nil: the
// chat reports that no LLM is configured).
func (u *gui) attachChat(r *agent.Resolver, invalidate func()) {
	u.inspector.Chat.Engine = newPlannerChat(u.loop, r, invalidate)
}

func (c *plannerChat) post(e workspace.ChatEvent) {
	c.mu.Lock()
	c.events = append(c.events, e)
	c.mu.Unlock()
	if c.invalidate != nil {
		c.invalidate()
	}
}

// Drain implements workspace.ChatEngine.
func (c *plannerChat) Drain() []workspace.ChatEvent {
	c.mu.Lock()
	defer c.mu.Unlock()
	evs := c.events
	c.events = nil
	return evs
}

var (
	errChatBusy = errors.New("the agent is still working on the last request")
	errChatHeld = errors.New("the image is being reverted to a snapshot; ask again when it is done")
)

// Send implements workspace.ChatEngine: it queues a Planner.Run of text.
func (c *plannerChat) Send(text string) error {
	if c.held != nil && c.held() {
		return errChatHeld
	}
	c.mu.Lock()
	if c.running {
		c.mu.Unlock()
		return errChatBusy
	}
	ctx, cancel := context.WithCancel(context.Background())
	c.running, c.cancel = true, cancel
	c.mu.Unlock()
	// Replies left from an earlier turn must not answer this one.
	select {
	case <-c.confirm:
	default:
	}
	select {
	case <-c.answer:
	default:
	}
	go c.turn(ctx, cancel, text)
	return nil
}

// turn is one Planner.Run, off the VM's goroutine.
func (c *plannerChat) turn(ctx context.Context, cancel context.CancelFunc, text string) {
	defer c.finish(cancel)
	p, err := c.plannerFor(ctx)
	if err != nil {
		if ctx.Err() != nil {
			err = errors.New("stopped")
		}
		c.post(workspace.ChatEvent{Kind: "error", Text: err.Error()})
		return
	}
	errored := false
	p.OnEvent = func(e agent.Event) {
		errored = e.Kind == "error"
		c.post(workspace.ChatEvent{Kind: e.Kind, Text: e.Text, Tool: e.Tool, Args: e.Args})
	}
	_, h, err := p.Run(ctx, c.history, text)
	c.history = h // kept even after an error, so the conversation goes on
	switch {
	case ctx.Err() != nil:
		c.post(workspace.ChatEvent{Kind: "error", Text: "stopped"})
	case err != nil && !errored:
		c.post(workspace.ChatEvent{Kind: "error", Text: err.Error()})
	}
}

func (c *plannerChat) finish(cancel context.CancelFunc) {
	cancel()
	c.mu.Lock()
	c.running, c.cancel = false, nil
	c.mu.Unlock()
	c.post(workspace.ChatEvent{Kind: "done"})
}

// plannerFor makes the planner once: the image's "planner" role object's
// LLM if it has one (read on the VM's goroutine), else the resolver's.
func (c *plannerChat) plannerFor(ctx context.Context) (*agent.Planner, error) {
	if c.planner != nil {
		return c.planner, nil
	}
	var llm agent.Chatter
	if c.resolver != nil && c.resolver.LLM != nil {
		llm = c.resolver.LLM
		var cfg agent.LLMConfig
		found := false
		if err := c.loop.Do(ctx, func(v *vm.VM) {
			if o := agent.RoleObject(v, "planner"); o != nil {
				cfg, found = agent.ConfigOf(v, o)
			}
		}); err != nil {
			return nil, err
		}
		if found {
			llm = agent.NewLLMClient(cfg, slog.Default())
		}
	}
	tools := c.tools
	if tools == nil {
		tools = agent.NewRegistry(append(agent.BuiltinTools(), agent.PersonalityTools()...)...)
	}
	env := &agent.ToolEnv{Resolver: c.resolver, Log: slog.Default(), Ask: c.ask}
	c.planner = &agent.Planner{LLM: llm, Tools: onLoop(c.loop, tools), Env: env, ConfirmPlan: c.confirmPlan}
	return c.planner, nil
}

// offLoopTools need no VM: they run on the turn's goroutine.
var offLoopTools = map[string]bool{"ask_person": true}

// onLoop returns reg with each tool that works on the image wrapped to
// run on the VM's goroutine, with the ToolEnv's VM set there. A turn
// stopped while its tool waits in the queue stops waiting (the tool is
// skipped if it has not started; one that has started sees the cancelled
// context). A tool that panics fails its call, as in Registry.Call.
func onLoop(loop *vmLoop, reg *agent.Registry) *agent.Registry {
	out := agent.NewRegistry()
	for _, name := range reg.Names() {
		t, _ := reg.Get(name)
		if run := t.Run; run != nil && !offLoopTools[name] {
			t.Run = func(ctx context.Context, env *agent.ToolEnv, args json.RawMessage) (string, error) {
				type result struct {
					out string
					err error
				}
				res := make(chan result, 1)
				err := loop.Do(ctx, func(v *vm.VM) {
					defer func() {
						if p := recover(); p != nil {
							res <- result{err: fmt.Errorf("the tool %s failed: internal error: %v", name, p)}
						}
					}()
					e := *env
					e.VM = v
					if e.Personalities == nil {
						e.Personalities = personalitiesOf(v)
					}
					o, err := run(ctx, &e, args)
					res <- result{o, err}
				})
				if err != nil {
					return "", err
				}
				r := <-res
				return r.out, r.err
			}
		}
		out.Add(t)
	}
	return out
}

// confirmPlan asks the chat to Run or Decline the plan just shown.
func (c *plannerChat) confirmPlan(ctx context.Context, steps []string) (bool, error) {
	c.post(workspace.ChatEvent{Kind: "confirm"})
	select {
	case ok := <-c.confirm:
		return ok, nil
	case <-ctx.Done():
		return false, ctx.Err()
	}
}

// ask puts the agent's question in the chat and waits for the answer.
func (c *plannerChat) ask(ctx context.Context, q string) (string, error) {
	c.post(workspace.ChatEvent{Kind: "question", Text: q})
	select {
	case a := <-c.answer:
		return a, nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// ConfirmPlan implements workspace.ChatEngine.
func (c *plannerChat) ConfirmPlan(run bool) {
	select {
	case c.confirm <- run:
	default:
	}
}

// Answer implements workspace.ChatEngine.
func (c *plannerChat) Answer(text string) {
	select {
	case c.answer <- text:
	default:
	}
}

// Stop implements workspace.ChatEngine: it cancels the running turn.
func (c *plannerChat) Stop() {
	c.mu.Lock()
	cancel := c.cancel
	c.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}
