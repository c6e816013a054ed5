//go:build cgo

package main

import (
	"context"
	"sync"

	"github.com/phoenix-image/phoenix/kernelhost/remote"
	"github.com/phoenix-image/phoenix/workspace"
)

// remoteChat implements workspace.ChatEngine over the protocol's chat
// (chat.*): the agent runs on the server, where the image runs, with the
// server's LLM key, policy and approvals (a proposal waits in the
// server's queue, which the approvals pane lists). Send starts a turn
// (chat.send); the turn's chat.event notifications, which the server sends
// to this connection only, become the chat's events (streamed deltas,
// plan, confirm, tool steps, questions); ConfirmPlan, Answer and Stop go
// to the turn (chat.confirm, chat.answer, chat.stop). The connection holds
// the conversation, so later requests continue it.
type remoteChat struct {
	c          *remote.Client
	invalidate func()

	mu      sync.Mutex
	events  []workspace.ChatEvent
	running bool
	turn    string // the running turn's id, once known
	stop    bool   // Stop before the turn's id was known
}

var _ workspace.ChatEngine = (*remoteChat)(nil)

func (r *remoteChat) post(evs ...workspace.ChatEvent) {
	r.mu.Lock()
	r.events = append(r.events, evs...)
	r.mu.Unlock()
	r.invalidate()
}

// Running reports whether a turn runs (for the status bar).
func (r *remoteChat) Running() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.running
}

// Drain implements workspace.ChatEngine.
func (r *remoteChat) Drain() []workspace.ChatEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	evs := r.events
	r.events = nil
	return evs
}

// Send implements workspace.ChatEngine: chat.send on a goroutine.
func (r *remoteChat) Send(text string) error {
	r.mu.Lock()
	if r.running {
		r.mu.Unlock()
		return errChatBusy
	}
	r.running, r.turn, r.stop = true, "", false
	r.mu.Unlock()
	go func() {
		turn, err := r.c.ChatSend(context.Background(), text)
		r.mu.Lock()
		if err != nil {
			r.running = false
			r.mu.Unlock()
			r.post(workspace.ChatEvent{Kind: "error", Text: err.Error()}, workspace.ChatEvent{Kind: "done"})
			return
		}
		stop := false
		if r.running && (r.turn == "" || r.turn == turn) {
			r.turn = turn
			stop, r.stop = r.stop, false
		}
		r.mu.Unlock()
		if stop {
			r.c.ChatStop(context.Background(), turn)
		}
	}()
	return nil
}

// event takes a chat.event notification (on the client's reader
// goroutine; the server sends this connection's turns' events only).
func (r *remoteChat) event(e remote.ChatEvent) {
	r.mu.Lock()
	if !r.running {
		r.mu.Unlock()
		return // a turn this window no longer waits for
	}
	if r.turn == "" {
		r.turn = e.Turn // the event came before chat.send's answer was read
	}
	if e.Kind == remote.ChatDone {
		r.running, r.turn = false, ""
	}
	r.mu.Unlock()
	r.post(localChatEvent(e))
}

// localChatEvent maps the protocol's event to the chat's.
func localChatEvent(e remote.ChatEvent) workspace.ChatEvent {
	out := workspace.ChatEvent{Kind: e.Kind, Text: e.Text, Tool: e.Tool, Args: e.Args}
	switch e.Kind {
	case remote.ChatStep:
		out.Kind = e.Step
	case remote.ChatAsk:
		out.Kind = "question"
	}
	return out
}

// call sends a reply to the running turn, on a goroutine; a failure shows
// in the chat.
func (r *remoteChat) call(f func(turn string) error) {
	r.mu.Lock()
	turn := r.turn
	r.mu.Unlock()
	if turn == "" {
		return
	}
	go func() {
		if err := f(turn); err != nil {
			r.post(workspace.ChatEvent{Kind: "error", Text: err.Error()})
		}
	}()
}

// ConfirmPlan implements workspace.ChatEngine.
func (r *remoteChat) ConfirmPlan(run bool) {
	r.call(func(turn string) error { return r.c.ChatConfirm(context.Background(), turn, run) })
}

// Answer implements workspace.ChatEngine.
func (r *remoteChat) Answer(text string) {
	r.call(func(turn string) error { return r.c.ChatAnswer(context.Background(), turn, text) })
}

// Stop implements workspace.ChatEngine: chat.stop; "done" follows.
func (r *remoteChat) Stop() {
	r.mu.Lock()
	if r.running && r.turn == "" {
		r.stop = true
	}
	r.mu.Unlock()
	r.call(func(turn string) error { return r.c.ChatStop(context.Background(), turn) })
}
