package main

import (
	"context"

	"github.com/phoenix-image/phoenix/agent"
	"github.com/phoenix-image/phoenix/kernelhost/remote"
	"github.com/phoenix-image/phoenix/vm"
)

// serveChat is phoenix serve's agent chat (remote.ChatBackend): each
// connection gets a chatSession whose tools run on the backend's VM
// goroutine (do: RemoteBackend.Do), between the clients' requests. The
// agent runs here, under the server's resolver: its LLM and key (from the
// server's environment), its policy, and its approvals (serve has no
// Approver, so a proposal waits in the queue, which every client's
// approvals pane lists). No cgo: the static guest binary serves it too.
type serveChat struct {
	do       func(ctx context.Context, f func(*vm.VM)) error
	resolver *agent.Resolver
	tools    *agent.Registry // nil: the builtin and personality tools
}

var _ remote.ChatBackend = (*serveChat)(nil)

// OpenChat implements remote.ChatBackend.
func (s *serveChat) OpenChat() remote.Chat {
	cs := newChatSession(s.do, s.resolver)
	cs.tools = s.tools
	return serveConv{cs}
}

// serveConv is one connection's conversation.
type serveConv struct{ s *chatSession }

// Turn implements remote.Chat: the planner's events as the protocol's.
func (c serveConv) Turn(ctx context.Context, text string, emit func(remote.ChatEvent)) {
	c.s.reset()
	c.s.Turn(ctx, text, func(e agent.Event) { emit(remoteChatEvent(e)) })
}

func (c serveConv) Confirm(run bool)   { c.s.Confirm(run) }
func (c serveConv) Answer(text string) { c.s.Answer(text) }

// remoteChatEvent maps a chatSession event to the protocol's kinds.
func remoteChatEvent(e agent.Event) remote.ChatEvent {
	out := remote.ChatEvent{Text: e.Text, Tool: e.Tool, Args: e.Args}
	switch e.Kind {
	case "delta":
		out.Kind = remote.ChatDelta
	case "plan":
		out.Kind = remote.ChatPlan
	case "confirm":
		out.Kind = remote.ChatConfirm
	case "question":
		out.Kind = remote.ChatAsk
	case "error":
		out.Kind = remote.ChatError
	default: // thought, tool, observation, answer
		out.Kind, out.Step = remote.ChatStep, e.Kind
	}
	return out
}
