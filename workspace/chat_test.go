package workspace

import (
	"image"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"gioui.org/io/input"
	"gioui.org/io/key"
	"gioui.org/io/semantic"
	"gioui.org/layout"
	"github.com/phoenix-image/phoenix/browser/browsertest"
)

// scriptedEngine is a ChatEngine that answers every request with scripted
// events: before is sent on Send, after on ConfirmPlan(true), declined on
// ConfirmPlan(false).
type scriptedEngine struct {
	mu                      sync.Mutex
	before, after, declined []ChatEvent
	queue                   []ChatEvent
	sent, answers           []string
	confirms                []bool
	stopped                 int
}

func (e *scriptedEngine) push(evs ...ChatEvent) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.queue = append(e.queue, evs...)
}

func (e *scriptedEngine) Send(text string) error {
	e.mu.Lock()
	e.sent = append(e.sent, text)
	e.mu.Unlock()
	e.push(e.before...)
	return nil
}

func (e *scriptedEngine) Drain() []ChatEvent {
	e.mu.Lock()
	defer e.mu.Unlock()
	q := e.queue
	e.queue = nil
	return q
}

func (e *scriptedEngine) ConfirmPlan(run bool) {
	e.mu.Lock()
	e.confirms = append(e.confirms, run)
	e.mu.Unlock()
	if run {
		e.push(e.after...)
	} else {
		e.push(e.declined...)
	}
}

func (e *scriptedEngine) Answer(text string) {
	e.mu.Lock()
	e.answers = append(e.answers, text)
	e.mu.Unlock()
	e.push(ChatEvent{Kind: "answer", Text: "heard " + text}, ChatEvent{Kind: "done"})
}

func (e *scriptedEngine) Stop() {
	e.mu.Lock()
	e.stopped++
	e.mu.Unlock()
	e.push(ChatEvent{Kind: "error", Text: "context canceled"}, ChatEvent{Kind: "done"})
}

// newChatDriver lays out c under the test driver's input.Router.
func newChatDriver(t testing.TB, c *Chat) *driver {
	d := &driver{t: t, th: browsertest.Theme(), size: image.Pt(600, 800), now: time.Unix(1e9, 0)}
	d.lay = func(gtx layout.Context) { c.Layout(gtx, d.th) }
	d.frame()
	return d
}

// typeInto clicks the first editor on screen and replaces its text (cur)
// with s, then presses Enter.
func (d *driver) typeInto(cur, s string) {
	d.t.Helper()
	var r image.Rectangle
	for _, n := range d.nodes() {
		if n.Desc.Class == semantic.Editor {
			r = n.Desc.Bounds
			break
		}
	}
	if r.Empty() {
		d.t.Fatal("no editor on screen")
	}
	d.now = d.now.Add(time.Second)
	d.click(image.Pt((r.Min.X+r.Max.X)/2, (r.Min.Y+r.Max.Y)/2))
	n := utf8.RuneCountInString(s)
	d.r.Queue(
		key.EditEvent{Range: key.Range{Start: 0, End: utf8.RuneCountInString(cur)}, Text: s},
		key.SelectionEvent{Start: n, End: n},
	)
	d.frame()
	d.press(key.NameReturn, 0)
}

func TestChatPlanRunToolsAnswer(t *testing.T) {
	eng := &scriptedEngine{
		before: []ChatEvent{
			{Kind: "plan", Text: "1. Inspect Account\n2. Report"},
			{Kind: "confirm"},
		},
		after: []ChatEvent{
			{Kind: "tool", Tool: "inspect_object", Args: `{"name":"Account"}`},
			{Kind: "observation", Tool: "inspect_object", Text: "Account\nslot balance = 0\nprototypes: Object"},
			{Kind: "thought", Text: "Account has "},
			{Kind: "thought", Text: "one slot."},
			{Kind: "answer", Text: "Account holds "},
			{Kind: "answer", Text: "a balance."},
			{Kind: "done"},
		},
	}
	c := &Chat{Engine: eng}
	d := newChatDriver(t, c)
	d.typeInto("", "What is Account?")
	if len(eng.sent) != 1 || eng.sent[0] != "What is Account?" || c.Input.Text() != "" {
		t.Fatalf("sent %q, input %q", eng.sent, c.Input.Text())
	}
	d.frame()
	if !d.shows("1. Inspect Account") || !d.shows("You: What is Account?") {
		t.Fatalf("no plan on screen:\n%s", c.Transcript())
	}
	if !c.Running() || !d.shows("Stop") {
		t.Fatal("no Stop button while the turn runs")
	}
	d.click(d.find("Run"))
	if len(eng.confirms) != 1 || !eng.confirms[0] {
		t.Fatalf("confirms %v", eng.confirms)
	}
	d.frame()
	if !d.shows("→ inspect_object") || !d.shows("Account has one slot.") || !d.shows("Account holds a balance.") {
		t.Fatalf("after Run:\n%s", c.Transcript())
	}
	if d.shows("slot balance = 0") {
		t.Fatal("the tool row is open before it is clicked")
	}
	d.click(d.find("[+] → inspect_object"))
	if !d.shows("slot balance = 0") {
		t.Fatalf("the tool row did not expand:\n%s", c.Transcript())
	}
	d.click(d.find("[-] → inspect_object"))
	if d.shows("slot balance = 0") {
		t.Fatal("the tool row did not collapse")
	}
	if c.Running() || d.shows("Stop") || !d.shows("approved: running") {
		t.Fatal("the turn did not end")
	}

	// A second turn: the agent asks, the person answers.
	eng.before = []ChatEvent{{Kind: "question", Text: "Which account?"}}
	d.typeInto("", "withdraw?")
	d.frame()
	if !d.shows("The agent asks: Which account?") {
		t.Fatalf("no question:\n%s", c.Transcript())
	}
	d.typeInto("", "savings") // the answer line is the first editor on screen
	d.frame()
	if len(eng.answers) != 1 || eng.answers[0] != "savings" || !d.shows("heard savings") || !d.shows("you answered: savings") {
		t.Fatalf("answers %q:\n%s", eng.answers, c.Transcript())
	}
	if strings.Count(c.Transcript(), "you: ") != 2 {
		t.Fatalf("history lost:\n%s", c.Transcript())
	}
}

func TestChatDeclineAndStop(t *testing.T) {
	eng := &scriptedEngine{
		before:   []ChatEvent{{Kind: "plan", Text: "1. Propose withdraw"}, {Kind: "confirm"}},
		declined: []ChatEvent{{Kind: "answer", Text: "plan declined"}, {Kind: "done"}},
	}
	c := &Chat{Engine: eng}
	d := newChatDriver(t, c)
	d.typeInto("", "add withdraw")
	d.frame()
	d.click(d.find("Decline"))
	d.frame()
	if len(eng.confirms) != 1 || eng.confirms[0] || !d.shows("plan declined") || d.shows("→ ") || c.Running() {
		t.Fatalf("confirms %v:\n%s", eng.confirms, c.Transcript())
	}
	// Stop while the plan waits.
	d.typeInto("", "again")
	d.frame()
	d.click(d.find("Stop"))
	d.frame()
	if eng.stopped != 1 || c.Running() || !d.shows("error: context canceled") || d.shows("Run") {
		t.Fatalf("stopped %d, running %v:\n%s", eng.stopped, c.Running(), c.Transcript())
	}
}

// onScreen counts the widgets on screen whose label contains s (nodes
// lists a node once for each of its ancestors; they are counted once).
func (d *driver) onScreen(s string) int {
	seen := map[input.SemanticID]bool{}
	for _, node := range d.nodes() {
		if strings.Contains(node.Desc.Label, s) {
			seen[node.ID] = true
		}
	}
	return len(seen)
}

func TestChatStreamsDeltasThenTheWholeText(t *testing.T) {
	eng := &scriptedEngine{before: []ChatEvent{
		{Kind: "delta", Text: "Let me "},
		{Kind: "delta", Text: "look."},
	}}
	c := &Chat{Engine: eng}
	d := newChatDriver(t, c)
	d.typeInto("", "What is Account?")
	d.frame()
	if d.onScreen("Let me look.") != 1 {
		t.Fatalf("the streamed text is not on screen once:\n%s", c.Transcript())
	}
	// The step ends with its whole thought, then a tool call.
	eng.push(ChatEvent{Kind: "thought", Text: "Let me look."},
		ChatEvent{Kind: "tool", Tool: "inspect_object", Args: `{"name":"Account"}`},
		ChatEvent{Kind: "observation", Tool: "inspect_object", Text: "Account"})
	d.frame()
	if d.onScreen("Let me look.") != 1 || strings.Count(c.Transcript(), "Let me look.") != 1 {
		t.Fatalf("the thought is not shown once:\n%s", c.Transcript())
	}
	// The answer streams, then comes whole.
	eng.push(ChatEvent{Kind: "delta", Text: "Account holds "}, ChatEvent{Kind: "delta", Text: "a balance."})
	d.frame()
	if d.onScreen("Account holds a balance.") != 1 || !c.Running() {
		t.Fatalf("the streamed answer is not on screen once:\n%s", c.Transcript())
	}
	eng.push(ChatEvent{Kind: "answer", Text: "Account holds a balance."}, ChatEvent{Kind: "done"})
	d.frame()
	if n := d.onScreen("Account holds a balance."); n != 1 {
		t.Fatalf("the answer is on screen %d times:\n%s", n, c.Transcript())
	}
	if tr := c.Transcript(); strings.Count(tr, "Account holds a balance.") != 1 || !strings.Contains(tr, "agent: Account holds a balance.") {
		t.Fatalf("transcript:\n%s", tr)
	}

	// A step stopped mid-stream keeps what was said, once.
	eng.before = []ChatEvent{{Kind: "delta", Text: "Half a "}, {Kind: "delta", Text: "sentence"}}
	d.typeInto("", "again")
	d.frame()
	eng.push(ChatEvent{Kind: "error", Text: "stopped"}, ChatEvent{Kind: "done"})
	d.frame()
	if d.onScreen("Half a sentence") != 1 || !d.shows("error: stopped") || c.Running() {
		t.Fatalf("after a stop mid-stream:\n%s", c.Transcript())
	}
}

// TestChatInspectLinks: objects named by a tool step's arguments and by
// the agent's answer get "Inspect NAME" links (only names the image
// knows); a click opens one, and Ctrl-I in the input line opens the
// object named last, as does Ctrl-I on a link that has the focus.
func TestChatInspectLinks(t *testing.T) {
	eng := &scriptedEngine{
		before: []ChatEvent{
			{Kind: "tool", Tool: "inspect_object", Args: `{"name":"Account"}`},
			{Kind: "observation", Tool: "inspect_object", Text: "Account\nslot balance = 0"},
			{Kind: "tool", Tool: "read_method", Args: `{"object":"Nowhere","selector":"x"}`},
			{Kind: "observation", Tool: "read_method", Text: "error: no object Nowhere"},
			{Kind: "answer", Text: "Account delegates to Bank; a balance is a number."},
			{Kind: "done"},
		},
	}
	var inspected []string
	known := map[string]bool{"Account": true, "Bank": true}
	c := &Chat{Engine: eng, Known: func(n string) bool { return known[n] }, Inspect: func(n string) { inspected = append(inspected, n) }}
	d := newChatDriver(t, c)
	d.typeInto("", "What is Account?")
	d.frame()
	d.frame()
	if got := strings.Join(c.NamedObjects(), " "); got != "Account Account Bank" {
		t.Fatalf("named objects %q:\n%s", got, c.Transcript())
	}
	if d.onScreen("Inspect Account") != 2 || d.onScreen("Inspect Bank") != 1 || d.shows("Inspect Nowhere") || d.shows("Inspect a") {
		t.Fatalf("links on screen: %d Account, %d Bank", d.onScreen("Inspect Account"), d.onScreen("Inspect Bank"))
	}
	d.click(d.find("Inspect Bank"))
	d.frame()
	if strings.Join(inspected, " ") != "Bank" {
		t.Fatalf("after clicking Inspect Bank: %q", inspected)
	}
	// Ctrl-I in the input line: the object named last.
	r := image.Rectangle{}
	for _, n := range d.nodes() {
		if n.Desc.Class == semantic.Editor {
			r = n.Desc.Bounds
		}
	}
	d.click(image.Pt((r.Min.X+r.Max.X)/2, (r.Min.Y+r.Max.Y)/2))
	d.press("I", key.ModShortcut)
	if strings.Join(inspected, " ") != "Bank Bank" {
		t.Fatalf("after Ctrl-I in the input: %q", inspected)
	}
	// Tab moves the focus to the first link; Ctrl-I there opens it.
	d.press(key.NameTab, 0)
	d.press("I", key.ModShortcut)
	if len(inspected) != 3 || inspected[2] == "" {
		t.Fatalf("after Tab and Ctrl-I: %q", inspected)
	}
}
