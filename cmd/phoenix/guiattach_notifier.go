//go:build cgo

package main

import (
	"context"
	"strings"

	"github.com/phoenix-image/phoenix/kernelhost/remote"
	"github.com/phoenix-image/phoenix/workspace"
)

// The not-understood notifier on a remote image. A do-it on the server
// runs to its end there (the server's VM cannot wait for this window), so
// the notice comes after the evaluation failed and rolled back, from the
// error's data (receiver, target, selector, arguments, traceback). The
// choices then say what the failure becomes: "Implement it myself" opens
// the browser's editor on a skeleton of the method on the target,
// "Abandon" leaves it, and "Ask the agent" hands the message to the
// server's agent in the Chat tab (a request to implement it; what the
// agent proposes waits in the approvals pane), or, for a server without
// chat.*, says that the agent runs where the image runs and is not
// reachable from this window.

// Why the evaluation failed, by the choice made on the notifier.
const (
	reasonAgentUnreachable = "the agent runs where the image runs and is not reachable from an attached window (what the server's agent queues shows in the approvals pane)"
	reasonDismissed        = "the notifier was dismissed"
	reasonAskedInChat      = "asked the agent in the Chat tab"
	reasonChatBusy         = "the agent is still working on the Chat tab's last request; ask again when it is done"
)

// askRequest is the chat request "Ask the agent" sends for n.
func askRequest(n workspace.Notice) string {
	sig := n.Target + ":" + n.Selector + "(" + strings.Join(n.Args, ", ") + ")"
	return "A do-it sent " + sig + " to " + n.Receiver + ", which does not understand " + n.Selector +
		". Implement " + n.Target + ":" + n.Selector + " (propose it with tests)."
}

// notUnderstood shows d on the notifier, waits for the choice (or Stop),
// and returns the evaluation's error text with the reason. It runs on the
// evaluation's goroutine.
func (e *remoteEvaluator) notUnderstood(d remote.ErrorDetail) string {
	target := d.Target
	if target == "" {
		target = "Object"
	}
	notice := workspace.Notice{Receiver: d.Receiver, Target: target, Selector: d.Selector, Args: d.Arguments, Traceback: strings.Join(d.Traceback, "\n")}
	ctx, cancel := context.WithCancel(context.Background())
	e.mu.Lock()
	e.cancel = cancel // Stop dismisses the notice
	e.mu.Unlock()
	c, err := e.notifier.Ask(ctx, notice)
	cancel()
	reason := reasonDismissed
	if err == nil {
		switch c {
		case workspace.ImplementIt:
			reason = workspace.ReasonImplement
		case workspace.Abandon:
			reason = workspace.ReasonAbandoned
		case workspace.AskAgent:
			reason = reasonAgentUnreachable
			if e.askAgent != nil {
				reason = reasonAskedInChat
				if !e.askAgent(askRequest(notice)) {
					reason = reasonChatBusy
				}
			}
		}
	}
	if d.Message != "" && strings.Contains(d.Detail, d.Message) {
		return strings.Replace(d.Detail, d.Message, d.Message+": "+reason, 1)
	}
	return d.Detail + "\n" + reason
}
