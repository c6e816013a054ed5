//go:build cgo

package main

import (
	"context"
	"errors"
	"log/slog"
	"sync"

	openai "github.com/sashabaranov/go-openai"

	"github.com/phoenix-image/phoenix/agent"
	"github.com/phoenix-image/phoenix/vm"
	"github.com/phoenix-image/phoenix/workspace"
)

// plannerChat implements workspace.ChatEngine with agent.Planner, as the
// shell drives it: each request is one Planner.Run on the VM's goroutine
// (the tools read and change the VM), continuing the conversation's
// history; its events are posted to the chat and the window invalidated
// (the streamed "delta" events too, which the chat shows as the step's
// text grows until the step's whole thought or answer replaces them).
// ConfirmPlan and ask_person block the run until the person answers in
// the chat, or the turn is stopped. Proposals that need approval are asked
// about in the approvals pane (the resolver's Approver).
type plannerChat struct {
	loop       *vmLoop
	resolver   *agent.Resolver // nil: no agent
	invalidate func()
	// tools is the planner's registry; nil: agent.BuiltinTools.
	tools *agent.Registry

	mu      sync.Mutex
	events  []workspace.ChatEvent
	running bool
	cancel  context.CancelFunc
	confirm chan bool   // the person's Run/Decline for the plan asked about
	answer  chan string // the person's answer to the question asked

	// On the VM's goroutine only.
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

var errChatBusy = errors.New("the agent is still working on the last request")

// Send implements workspace.ChatEngine: it queues a Planner.Run of text.
func (c *plannerChat) Send(text string) error {
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
	ok := c.loop.Go(func(v *vm.VM) {
		defer c.finish(cancel)
		p := c.plannerFor(v)
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
	})
	if !ok {
		c.finish(cancel)
		return errClosed
	}
	return nil
}

func (c *plannerChat) finish(cancel context.CancelFunc) {
	cancel()
	c.mu.Lock()
	c.running, c.cancel = false, nil
	c.mu.Unlock()
	c.post(workspace.ChatEvent{Kind: "done"})
}

// plannerFor makes the planner once, on the VM's goroutine: the image's
// "planner" role object's LLM if it has one, else the resolver's.
func (c *plannerChat) plannerFor(v *vm.VM) *agent.Planner {
	if c.planner != nil {
		return c.planner
	}
	var llm agent.Chatter
	if c.resolver != nil && c.resolver.LLM != nil {
		llm = c.resolver.LLM
		if o := agent.RoleObject(v, "planner"); o != nil {
			if cfg, ok := agent.ConfigOf(v, o); ok {
				llm = agent.NewLLMClient(cfg, slog.Default())
			}
		}
	}
	tools := c.tools
	if tools == nil {
		tools = agent.NewRegistry(append(agent.BuiltinTools(), agent.PersonalityTools()...)...)
	}
	env := &agent.ToolEnv{VM: v, Resolver: c.resolver, Log: slog.Default(), Ask: c.ask, Personalities: personalitiesOf(v)}
	c.planner = &agent.Planner{LLM: llm, Tools: tools, Env: env, ConfirmPlan: c.confirmPlan}
	return c.planner
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
