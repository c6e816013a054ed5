package remote_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/phoenix-image/phoenix/kernelhost/remote"
)

// scriptedChat stands in for the server's agent (the real planner is
// tested over the protocol in cmd/phoenix): a turn shows a plan and waits
// for its confirmation, then asks a question, then answers with what it
// was told, streaming the answer. Each turn's end is reported on ended
// with why (the context's error, or nil).
type scriptedChat struct {
	ended chan error
}

func (s *scriptedChat) OpenChat() remote.Chat {
	return &scriptedConv{s: s, confirm: make(chan bool, 1), answer: make(chan string, 1)}
}

type scriptedConv struct {
	s       *scriptedChat
	confirm chan bool
	answer  chan string
	turns   int
}

func (c *scriptedConv) Turn(ctx context.Context, text string, emit func(remote.ChatEvent)) {
	c.turns++
	end := func(err error) { c.s.ended <- err }
	emit(remote.ChatEvent{Kind: remote.ChatPlan, Text: "1. Think about " + text})
	emit(remote.ChatEvent{Kind: remote.ChatConfirm})
	select {
	case run := <-c.confirm:
		if !run {
			emit(remote.ChatEvent{Kind: remote.ChatStep, Step: "answer", Text: "plan declined"})
			end(nil)
			return
		}
	case <-ctx.Done():
		emit(remote.ChatEvent{Kind: remote.ChatError, Text: "stopped"})
		end(ctx.Err())
		return
	}
	emit(remote.ChatEvent{Kind: remote.ChatStep, Step: "tool", Tool: "inspect_object", Args: `{"name":"Account"}`})
	emit(remote.ChatEvent{Kind: remote.ChatAsk, Text: "Which colour?"})
	var a string
	select {
	case a = <-c.answer:
	case <-ctx.Done():
		end(ctx.Err())
		return
	}
	emit(remote.ChatEvent{Kind: remote.ChatDelta, Text: "turn "})
	emit(remote.ChatEvent{Kind: remote.ChatDelta, Text: a})
	emit(remote.ChatEvent{Kind: remote.ChatStep, Step: "answer", Text: "turn " + a + " of " + strings.Repeat("I", c.turns)})
	end(nil)
}

func (c *scriptedConv) Confirm(run bool) {
	select {
	case c.confirm <- run:
	default:
	}
}

func (c *scriptedConv) Answer(text string) {
	select {
	case c.answer <- text:
	default:
	}
}

// chatEvents collects one client's chat events.
type chatEvents struct {
	mu  sync.Mutex
	evs []remote.ChatEvent
	ch  chan remote.ChatEvent
}

func newChatEvents() *chatEvents { return &chatEvents{ch: make(chan remote.ChatEvent, 100)} }

func (e *chatEvents) notify(n remote.Notification) {
	if ev, ok := n.ChatEvent(); ok {
		e.mu.Lock()
		e.evs = append(e.evs, ev)
		e.mu.Unlock()
		e.ch <- ev
	} else if n.Method == remote.NotifyChatEvent {
		panic("undecodable chat event " + string(n.Params))
	}
}

func (e *chatEvents) all() []remote.ChatEvent {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.evs)
}

// until returns the events up to and including the first of kind.
func (e *chatEvents) until(t *testing.T, kind string) []string {
	t.Helper()
	var out []string
	for {
		select {
		case ev := <-e.ch:
			s := ev.Turn + ":" + ev.Kind
			if ev.Step != "" {
				s += "/" + ev.Step
			}
			if ev.Text != "" {
				s += " " + ev.Text
			}
			out = append(out, s)
			if ev.Kind == kind {
				return out
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no %s event; saw %q", kind, out)
		}
	}
}

// A turn's events reach only the connection that asked; confirm and
// answer reach its turn; a second turn continues the conversation.
func TestChatTurnEventsReachOnlyTheRequester(t *testing.T) {
	chat := &scriptedChat{ended: make(chan error, 4)}
	f := serve(t, options{chat: chat})
	mine, theirs := newChatEvents(), newChatEvents()
	a := f.dial(t, mine.notify)
	b := f.dial(t, theirs.notify)
	ctx := context.Background()
	for _, m := range []string{remote.MethodChatSend, remote.MethodChatConfirm, remote.MethodChatAnswer, remote.MethodChatStop} {
		if !slices.Contains(a.Server.Methods, m) {
			t.Fatalf("methods %v lack %s", a.Server.Methods, m)
		}
	}
	turn, err := a.ChatSend(ctx, "colours")
	if err != nil || turn == "" {
		t.Fatalf("chat.send: %q, %v", turn, err)
	}
	got := mine.until(t, remote.ChatConfirm)
	if want := []string{turn + ":plan 1. Think about colours", turn + ":confirm"}; !slices.Equal(got, want) {
		t.Fatalf("events %q, want %q", got, want)
	}
	// A second request while the turn runs is refused; so is another
	// connection's reply to this turn, and a reply to no turn.
	if _, err := a.ChatSend(ctx, "again"); code(err) != remote.CodeFailed || !strings.Contains(err.Error(), "still working") {
		t.Fatalf("a second send: %v", err)
	}
	if err := b.ChatConfirm(ctx, turn, true); code(err) != remote.CodeNotFound {
		t.Fatalf("another connection's confirm: %v", err)
	}
	if err := a.ChatConfirm(ctx, "t99", true); code(err) != remote.CodeNotFound {
		t.Fatalf("a confirm of no turn: %v", err)
	}
	if err := a.ChatConfirm(ctx, turn, true); err != nil {
		t.Fatal(err)
	}
	got = mine.until(t, remote.ChatAsk)
	if want := []string{turn + ":step/tool", turn + ":ask Which colour?"}; !slices.Equal(got, want) {
		t.Fatalf("events %q, want %q", got, want)
	}
	if err := a.ChatAnswer(ctx, turn, "blue"); err != nil {
		t.Fatal(err)
	}
	got = mine.until(t, remote.ChatDone)
	if want := []string{turn + ":delta turn ", turn + ":delta blue", turn + ":step/answer turn blue of I", turn + ":done"}; !slices.Equal(got, want) {
		t.Fatalf("events %q, want %q", got, want)
	}
	if err := <-chat.ended; err != nil {
		t.Fatalf("the turn ended with %v", err)
	}
	// The conversation goes on: the second turn is the conversation's second.
	turn2, err := a.ChatSend(ctx, "more")
	if err != nil || turn2 == turn {
		t.Fatalf("second turn %q (first %q): %v", turn2, turn, err)
	}
	mine.until(t, remote.ChatConfirm)
	a.ChatConfirm(ctx, turn2, true)
	mine.until(t, remote.ChatAsk)
	a.ChatAnswer(ctx, turn2, "red")
	if got := mine.until(t, remote.ChatDone); !slices.Contains(got, turn2+":step/answer turn red of II") {
		t.Fatalf("second turn %q", got)
	}
	// The other client, which evaluates meanwhile, saw none of it.
	if _, err := b.Eval(ctx, "1 + 1"); err != nil {
		t.Fatal(err)
	}
	if evs := theirs.all(); len(evs) != 0 {
		t.Fatalf("another connection got %d chat events: %+v", len(evs), evs)
	}
}

// chat.stop ends a turn that waits for its plan's confirmation: the turn
// sees its context cancelled, and "done" follows.
func TestChatStopEndsTheTurn(t *testing.T) {
	chat := &scriptedChat{ended: make(chan error, 4)}
	f := serve(t, options{chat: chat})
	evs := newChatEvents()
	a := f.dial(t, evs.notify)
	ctx := context.Background()
	turn, err := a.ChatSend(ctx, "x")
	if err != nil {
		t.Fatal(err)
	}
	evs.until(t, remote.ChatConfirm)
	if err := a.ChatStop(ctx, turn); err != nil {
		t.Fatal(err)
	}
	if got := evs.until(t, remote.ChatDone); !slices.Equal(got, []string{turn + ":error stopped", turn + ":done"}) {
		t.Fatalf("after stop: %q", got)
	}
	if err := <-chat.ended; err != context.Canceled {
		t.Fatalf("the turn ended with %v", err)
	}
	// The stopped turn is gone; a new one starts.
	if err := a.ChatStop(ctx, turn); code(err) != remote.CodeNotFound {
		t.Fatalf("stopping a finished turn: %v", err)
	}
	if _, err := a.ChatSend(ctx, "y"); err != nil {
		t.Fatal(err)
	}
	evs.until(t, remote.ChatConfirm)
}

// A connection that closes stops its turn; the server goes on.
func TestChatClosedConnectionStopsItsTurn(t *testing.T) {
	chat := &scriptedChat{ended: make(chan error, 4)}
	f := serve(t, options{chat: chat})
	evs := newChatEvents()
	a := f.dial(t, evs.notify)
	ctx := context.Background()
	if _, err := a.ChatSend(ctx, "x"); err != nil {
		t.Fatal(err)
	}
	evs.until(t, remote.ChatConfirm)
	a.Close()
	select {
	case err := <-chat.ended:
		if err != context.Canceled {
			t.Fatalf("the turn ended with %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the closed connection's turn still runs")
	}
	b := f.dial(t, nil)
	if res, err := b.Eval(ctx, "Account.balance"); err != nil || res.Values[0] != "10" {
		t.Fatalf("after the close: %v %v", res, err)
	}
}

// A server without a ChatBackend neither lists nor answers the chat.
func TestChatWithoutBackendIsNotFound(t *testing.T) {
	f := serve(t, options{})
	a := f.dial(t, nil)
	if slices.Contains(a.Server.Methods, remote.MethodChatSend) {
		t.Fatalf("methods %v list the chat", a.Server.Methods)
	}
	if _, err := a.ChatSend(context.Background(), "x"); code(err) != remote.CodeMethodNotFound {
		t.Fatalf("chat.send: %v", err)
	}
	if _, err := a.ChatSend(context.Background(), ""); code(err) != remote.CodeMethodNotFound {
		t.Fatalf("chat.send: %v", err)
	}
}

// Bad chat params are answered and the connection goes on.
func TestChatBadParams(t *testing.T) {
	f := serve(t, options{chat: &scriptedChat{ended: make(chan error, 4)}})
	a := f.dial(t, nil)
	ctx := context.Background()
	if _, err := a.ChatSend(ctx, ""); code(err) != remote.CodeInvalidParams {
		t.Fatalf("empty text: %v", err)
	}
	if err := a.Call(ctx, remote.MethodChatConfirm, map[string]any{"turn": "t1", "run": "yes"}, nil); code(err) != remote.CodeInvalidParams {
		t.Fatalf("run as a string: %v", err)
	}
	if err := a.Call(ctx, remote.MethodChatStop, map[string]any{"turn": "t1", "extra": 1}, nil); code(err) != remote.CodeInvalidParams {
		t.Fatalf("unknown field: %v", err)
	}
	if _, err := a.Eval(ctx, "1"); err != nil {
		t.Fatal(err)
	}
}

// echoChat answers each turn with n deltas and the whole answer.
type echoChat struct{ n int }

func (e echoChat) OpenChat() remote.Chat { return e }
func (e echoChat) Turn(ctx context.Context, text string, emit func(remote.ChatEvent)) {
	for range e.n {
		emit(remote.ChatEvent{Kind: remote.ChatDelta, Text: "word "})
	}
	emit(remote.ChatEvent{Kind: remote.ChatStep, Step: "answer", Text: text})
}
func (echoChat) Confirm(bool)  {}
func (echoChat) Answer(string) {}

// benchTurns is chat.send to "done" over loopback, with n deltas a turn:
// the protocol's cost of a turn (the agent's own work excluded).
func benchTurns(b *testing.B, n int) {
	f := serve(b, options{chat: echoChat{n: n}})
	done := make(chan struct{}, 1)
	c := f.dial(b, func(note remote.Notification) {
		if e, ok := note.ChatEvent(); ok && e.Kind == remote.ChatDone {
			done <- struct{}{}
		}
	})
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := c.ChatSend(ctx, "hello"); err != nil {
			b.Fatal(err)
		}
		<-done
	}
}

// BenchmarkRemoteChatTurnLoopback: a turn with its answer only.
func BenchmarkRemoteChatTurnLoopback(b *testing.B) { benchTurns(b, 0) }

// BenchmarkRemoteChatTurn100DeltasLoopback: a turn streaming 100 deltas.
func BenchmarkRemoteChatTurn100DeltasLoopback(b *testing.B) { benchTurns(b, 100) }

// A client too slow for a turn's deltas may lose some of them, never the
// turn's answer or its "done".
func TestChatSlowClientStillGetsDone(t *testing.T) {
	f := serve(t, options{chat: echoChat{n: 5000}, notifyQueue: 2})
	evs := newChatEvents()
	evs.ch = make(chan remote.ChatEvent, 10000)
	a := f.dial(t, evs.notify)
	turn, err := a.ChatSend(context.Background(), "the end")
	if err != nil {
		t.Fatal(err)
	}
	got := evs.until(t, remote.ChatDone)
	if n := len(got); n < 2 || got[n-2] != turn+":step/answer the end" {
		t.Fatalf("the last events: %q", got[max(0, len(got)-3):])
	}
	if len(got) == 5002 || !strings.Contains(f.logs.String(), "dropping notifications") {
		t.Fatalf("a queue of 2 kept up with 5000 deltas (%d events): the test does not test", len(got))
	}
}
