//go:build cgo

package main

import (
	"context"
	"errors"
	"sync"

	"github.com/phoenix-image/phoenix/agent"
	"github.com/phoenix-image/phoenix/workspace"
)

// plannerChat implements workspace.ChatEngine with agent.Planner, as the
// shell drives it: each request is one chatSession.Turn (chatsession.go,
// shared with phoenix serve's chat) on a goroutine of its own, continuing
// the conversation's history. The model's calls (the streamed LLM
// requests), the plan's confirmation and ask_person wait there, never on
// the VM's goroutine, so do-its, the browser and the inspector go on while
// the agent thinks; only the tools that read or change the image
// (inspect_object, propose_method, …) are queued to the vmLoop, one call
// at a time (onLoop). Its events are posted to the chat and the window
// invalidated (the streamed "delta" events too, which the chat shows as
// the step's text grows until the step's whole thought or answer replaces
// them). ConfirmPlan and ask_person block the run until the person
// answers in the chat, or the turn is stopped. Proposals that need
// approval are asked about in the approvals pane (the resolver's
// Approver, which waits on the VM's goroutine like a message not
// understood does).
type plannerChat struct {
	loop       *vmLoop
	resolver   *agent.Resolver // nil: no agent
	invalidate func()
	// held, if set and true, refuses a new turn (a revert is swapping
	// the image and the resolver's journal).
	held func() bool

	session *chatSession

	mu      sync.Mutex
	events  []workspace.ChatEvent
	running bool
	cancel  context.CancelFunc
}

var _ workspace.ChatEngine = (*plannerChat)(nil)

func newPlannerChat(loop *vmLoop, r *agent.Resolver, invalidate func()) *plannerChat {
	return &plannerChat{loop: loop, resolver: r, invalidate: invalidate, session: newChatSession(loop.Do, r)}
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
	c.session.reset()
	go c.turn(ctx, cancel, text)
	return nil
}

// turn is one Planner.Run, off the VM's goroutine.
func (c *plannerChat) turn(ctx context.Context, cancel context.CancelFunc, text string) {
	defer c.finish(cancel)
	c.session.Turn(ctx, text, func(e agent.Event) {
		c.post(workspace.ChatEvent{Kind: e.Kind, Text: e.Text, Tool: e.Tool, Args: e.Args})
	})
}

func (c *plannerChat) finish(cancel context.CancelFunc) {
	cancel()
	c.mu.Lock()
	c.running, c.cancel = false, nil
	c.mu.Unlock()
	c.post(workspace.ChatEvent{Kind: "done"})
}

// ConfirmPlan implements workspace.ChatEngine.
func (c *plannerChat) ConfirmPlan(run bool) { c.session.Confirm(run) }

// Answer implements workspace.ChatEngine.
func (c *plannerChat) Answer(text string) { c.session.Answer(text) }

// Stop implements workspace.ChatEngine: it cancels the running turn.
func (c *plannerChat) Stop() {
	c.mu.Lock()
	cancel := c.cancel
	c.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}
