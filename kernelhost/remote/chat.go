package remote

import (
	"context"
	"encoding/json"
	"strconv"
)

// The agent's chat over the protocol (optional methods: a server lists
// them in "methods" when it has a ChatBackend). A connection holds one
// conversation, whose turns continue one history on the server, and runs
// at most one turn at a time. chat.send answers the turn's id at once;
// the turn then runs on the server (the agent runs where the image runs,
// with the server's LLM key, policy and approvals), and its events come
// as NotifyChatEvent notifications to the requesting connection only,
// ending with a "done" event. chat.confirm answers a "confirm" event (the
// plan shown waits for Run or Decline), chat.answer an "ask" event,
// chat.stop stops the turn. A connection that closes stops its turn.
const (
	MethodChatSend    = "chat.send"    // ChatSendParams → ChatSendResult: starts a turn
	MethodChatConfirm = "chat.confirm" // ChatConfirmParams → Empty: Run (run: true) or Decline the plan shown
	MethodChatAnswer  = "chat.answer"  // ChatAnswerParams → Empty: the person's answer to an "ask"
	MethodChatStop    = "chat.stop"    // TurnParams → Empty: stops the turn ("done" follows)

	NotifyChatEvent = "chat.event" // ChatEvent: something a turn did, to the requesting connection only
)

// Chat event kinds (ChatEvent.Kind).
const (
	ChatDelta   = "delta"   // a piece of the running step's text, as the model streams it
	ChatStep    = "step"    // a step: Step is "thought", "tool" (Tool, Args), "observation" (Tool, Text) or "answer"
	ChatPlan    = "plan"    // the plan's numbered steps (Text)
	ChatConfirm = "confirm" // the turn waits for chat.confirm on the plan just shown
	ChatAsk     = "ask"     // the agent asks the person (Text); the turn waits for chat.answer
	ChatError   = "error"   // something failed (Text)
	ChatDone    = "done"    // the turn is over; nothing follows for it
)

// ChatSendParams is a request to the agent.
type ChatSendParams struct {
	Text string `json:"text"`
}

// ChatSendResult names the turn started.
type ChatSendResult struct {
	Turn string `json:"turn"`
}

// TurnParams names a turn of the connection.
type TurnParams struct {
	Turn string `json:"turn"`
}

// ChatConfirmParams runs (Run) or declines the plan a turn waits on.
type ChatConfirmParams struct {
	Turn string `json:"turn"`
	Run  bool   `json:"run"`
}

// ChatAnswerParams answers the question a turn waits on.
type ChatAnswerParams struct {
	Turn string `json:"turn"`
	Text string `json:"text"`
}

// ChatEvent is the params of NotifyChatEvent: one event of a turn.
type ChatEvent struct {
	Turn string `json:"turn"`
	Kind string `json:"kind"`
	Step string `json:"step,omitempty"`
	Text string `json:"text,omitempty"`
	Tool string `json:"tool,omitempty"`
	Args string `json:"args,omitempty"`
}

// ChatEvent decodes a NotifyChatEvent notification.
func (n Notification) ChatEvent() (ChatEvent, bool) {
	var e ChatEvent
	return e, n.Method == NotifyChatEvent && json.Unmarshal(n.Params, &e) == nil
}

// ChatBackend is the agent behind the chat methods (Server.Chat). The
// wiring layer implements it (phoenix serve, with the agent's planner).
type ChatBackend interface {
	// OpenChat opens the conversation of one connection.
	OpenChat() Chat
}

// Chat is one connection's conversation with the agent. The server calls
// Turn for one turn at a time, and Confirm and Answer from the
// connection's requests while a turn runs.
type Chat interface {
	// Turn runs one turn on text and returns when it is over; it reports
	// what happens through emit (which does not block; Turn leaves
	// ChatEvent.Turn empty, and sends no "done": the server does). A turn
	// whose ctx ends is stopped and returns soon.
	Turn(ctx context.Context, text string, emit func(ChatEvent))
	// Confirm answers the plan the turn waits on; Answer its question.
	// Either is dropped when nothing waits.
	Confirm(run bool)
	Answer(text string)
}

// chatTurn is a connection's running turn.
type chatTurn struct {
	id     string
	cancel context.CancelFunc
}

// chatMethods are listed in "methods" when the server has a ChatBackend.
var chatMethods = []string{MethodChatSend, MethodChatConfirm, MethodChatAnswer, MethodChatStop}

// dispatchChat answers the chat methods; ok is false for other methods.
// It runs on the connection's worker goroutine, so the connection's chat
// state needs no lock but for the turn's end (c.tmu).
func (c *conn) dispatchChat(ctx context.Context, m *Message) (res any, err error, ok bool) {
	switch m.Method {
	case MethodChatSend, MethodChatConfirm, MethodChatAnswer, MethodChatStop:
	default:
		return nil, nil, false
	}
	if c.srv.Chat == nil {
		return nil, Errorf(CodeMethodNotFound, "method %q not found: this server has no agent chat", m.Method), true
	}
	if c.chat == nil {
		c.chat = c.srv.Chat.OpenChat()
	}
	if m.Method == MethodChatSend {
		var p ChatSendParams
		if err := decodeParams(m, &p); err != nil {
			return nil, err, true
		}
		if p.Text == "" {
			return nil, Errorf(CodeInvalidParams, "%s: text is required", m.Method), true
		}
		c.tmu.Lock()
		busy := c.turn != nil
		c.tmu.Unlock()
		if busy {
			return nil, Errorf(CodeFailed, "the agent is still working on turn %s of this connection; stop it or wait for its done event", c.turnID()), true
		}
		c.turns++
		t := &chatTurn{id: "t" + strconv.Itoa(c.turns)}
		tctx, cancel := context.WithCancel(c.connCtx)
		t.cancel = cancel
		c.tmu.Lock()
		c.turn = t
		c.tmu.Unlock()
		// The turn starts after the response, so that the client knows
		// its id before the first event.
		c.afterReply = func() { c.startTurn(tctx, t, p.Text) }
		return &ChatSendResult{Turn: t.id}, nil, true
	}
	var tp TurnParams
	var run bool
	var text string
	switch m.Method {
	case MethodChatConfirm:
		var p ChatConfirmParams
		if err := decodeParams(m, &p); err != nil {
			return nil, err, true
		}
		tp.Turn, run = p.Turn, p.Run
	case MethodChatAnswer:
		var p ChatAnswerParams
		if err := decodeParams(m, &p); err != nil {
			return nil, err, true
		}
		tp.Turn, text = p.Turn, p.Text
	default:
		if err := decodeParams(m, &tp); err != nil {
			return nil, err, true
		}
	}
	c.tmu.Lock()
	t := c.turn
	c.tmu.Unlock()
	if t == nil || t.id != tp.Turn {
		return nil, Errorf(CodeNotFound, "%s: no running turn %q on this connection", m.Method, tp.Turn), true
	}
	switch m.Method {
	case MethodChatConfirm:
		c.chat.Confirm(run)
	case MethodChatAnswer:
		c.chat.Answer(text)
	default:
		t.cancel()
	}
	return Empty{}, nil, true
}

func (c *conn) turnID() string {
	c.tmu.Lock()
	defer c.tmu.Unlock()
	if c.turn == nil {
		return ""
	}
	return c.turn.id
}

// startTurn runs t on a goroutine of its own; its events go to this
// connection only. The connection waits for it when it closes (its
// context, from the connection's, is cancelled then).
func (c *conn) startTurn(ctx context.Context, t *chatTurn, text string) {
	c.turnWG.Add(1)
	go func() {
		defer c.turnWG.Done()
		emit := func(e ChatEvent) {
			e.Turn = t.id
			c.notify(NewNotification(NotifyChatEvent, e), e.Kind != ChatDelta)
		}
		defer func() {
			if r := recover(); r != nil {
				c.srv.log().Error("remote: chat turn panicked; recovered", "turn", t.id, "panic", r)
				emit(ChatEvent{Kind: ChatError, Text: "internal error in the agent's turn"})
			}
			t.cancel()
			c.tmu.Lock()
			c.turn = nil
			c.tmu.Unlock()
			emit(ChatEvent{Kind: ChatDone})
		}()
		c.chat.Turn(ctx, text, emit)
	}()
}

// ChatSend starts a turn of the server's agent on text and returns its
// id; its events arrive as NotifyChatEvent notifications (ClientOptions.Notify).
func (c *Client) ChatSend(ctx context.Context, text string) (string, error) {
	var r ChatSendResult
	err := c.Call(ctx, MethodChatSend, ChatSendParams{Text: text}, &r)
	return r.Turn, err
}

// ChatConfirm runs (run) or declines the plan turn waits on.
func (c *Client) ChatConfirm(ctx context.Context, turn string, run bool) error {
	return c.Call(ctx, MethodChatConfirm, ChatConfirmParams{Turn: turn, Run: run}, nil)
}

// ChatAnswer answers the question turn waits on.
func (c *Client) ChatAnswer(ctx context.Context, turn, text string) error {
	return c.Call(ctx, MethodChatAnswer, ChatAnswerParams{Turn: turn, Text: text}, nil)
}

// ChatStop stops turn; its "done" event follows.
func (c *Client) ChatStop(ctx context.Context, turn string) error {
	return c.Call(ctx, MethodChatStop, TurnParams{Turn: turn}, nil)
}
