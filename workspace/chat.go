package workspace

import (
	"encoding/json"
	"image/color"
	"regexp"
	"strconv"
	"strings"

	"gioui.org/io/key"
	"gioui.org/layout"
	"gioui.org/unit"
	"gioui.org/widget"
	"gioui.org/widget/material"
)

// ChatEvent is something the agent did during a turn, as the chat shows
// it: plain text, safe to hand between goroutines. Kind is one of
//
//   - "plan": the numbered steps (Text);
//   - "confirm": the engine waits for Run or Decline of the last plan
//     (ChatEngine.ConfirmPlan);
//   - "delta": a piece of the running step's assistant text as the model
//     streams it; the chat shows the growing text until the step's next
//     event. A "thought" or "answer" then replaces it (it carries the
//     whole text, so nothing shows twice); any other event keeps the text
//     (if not blank) as a thought, so that a stopped or failed step still
//     shows what the model said;
//   - "thought", "answer": assistant text, appended to what was said
//     before in the turn;
//   - "tool": a tool call (Tool, Args);
//   - "observation": what the tool returned (Tool, Text);
//   - "question": the agent asks the person (Text); the engine waits for
//     ChatEngine.Answer;
//   - "error": something failed (Text);
//   - "done": the turn is over.
type ChatEvent struct {
	Kind, Text, Tool, Args string
}

// ChatEngine is the chat's boundary to the agent. Send starts a turn and
// returns at once; the turn's events are collected by Drain, which the
// chat calls every frame (an engine invalidates the window when it has
// events). ConfirmPlan and Answer reply to "confirm" and "question"
// events; Stop interrupts the running turn.
type ChatEngine interface {
	Send(text string) error
	Drain() []ChatEvent
	ConfirmPlan(run bool)
	Answer(text string)
	Stop()
}

// chatStep is one row between a request and its answer.
type chatStep struct {
	kind     string // "plan", "thought", "tool", "error", "question"
	text     string // the plan, the thought, the error, the question
	tool     string
	args     string
	obs      string
	hasObs   bool
	open     bool   // a tool row shows its observation
	awaiting bool   // a plan waits for Run/Decline; a question for its answer
	verdict  string // "run", "declined", or a question's answer
	row      widget.Clickable
	run      widget.Clickable
	decline  widget.Clickable
	answer   widget.Editor
	send     widget.Clickable
	links    objectLinks // "Inspect NAME" under the step
}

// chatTurn is a request and what the agent did about it.
type chatTurn struct {
	user   string
	steps  []*chatStep
	answer string
	done   bool
	// streaming is the running step's text so far, from "delta" events.
	streaming string
	links     objectLinks // "Inspect NAME" under the answer
}

// Chat is the chat with the agent: a transcript of turns (the person's
// request, the agent's plan, tool calls that expand to their
// observations, errors, and the answer as it streams), an input line
// (Enter sends) and a Stop button while a turn runs.
type Chat struct {
	Engine ChatEngine

	Input      widget.Editor
	SendButton widget.Clickable
	StopButton widget.Clickable
	List       widget.List

	// Known says whether name is an object the Inspector can open (a
	// global of the image); Inspect opens it. With both set, the objects
	// named by a tool step's arguments or by the agent's text get an
	// "Inspect NAME" link under the step (a click, or Ctrl-I when the link
	// has the focus), and Ctrl-I in the input line inspects the object
	// named last in the chat.
	Known   func(name string) bool
	Inspect func(name string)

	turns  []*chatTurn
	err    string
	scroll bool // show the end of the transcript on the next frame
}

// objectLinks are the Inspect links of one step or answer, by name.
type objectLinks map[string]*widget.Clickable

func (l *objectLinks) get(name string) *widget.Clickable {
	if *l == nil {
		*l = make(objectLinks)
	}
	c := (*l)[name]
	if c == nil {
		c = new(widget.Clickable)
		(*l)[name] = c
	}
	return c
}

// maxLinks bounds the Inspect links of one row.
const maxLinks = 6

var identRE = regexp.MustCompile(`[A-Za-z_][A-Za-z0-9_]*`)

// Named returns the objects a step names, in order, each once: a tool's
// "name" and "object" arguments, and the known identifiers of the text
// the agent wrote (thoughts, answers, questions).
func (c *Chat) named(kind, text, args string) []string {
	if c.Known == nil || c.Inspect == nil {
		return nil
	}
	var out []string
	seen := map[string]bool{}
	add := func(n string) {
		if len(out) < maxLinks && n != "" && !seen[n] && c.Known(n) {
			seen[n] = true
			out = append(out, n)
		}
	}
	switch kind {
	case "tool":
		var a map[string]any
		if json.Unmarshal([]byte(args), &a) == nil {
			for _, k := range []string{"name", "object"} {
				if s, ok := a[k].(string); ok {
					add(s)
				}
			}
		}
	case "thought", "answer", "question":
		for _, w := range identRE.FindAllString(text, 200) {
			add(w)
		}
	}
	return out
}

// NamedObjects lists the objects the chat offers to inspect, in the
// order shown (for tests and Ctrl-I).
func (c *Chat) NamedObjects() []string {
	var out []string
	for _, t := range c.turns {
		for _, s := range t.steps {
			out = append(out, c.named(s.kind, s.text, s.args)...)
		}
		out = append(out, c.named("answer", t.answer, "")...)
	}
	return out
}

// Running reports whether a turn is under way.
func (c *Chat) Running() bool {
	return len(c.turns) > 0 && !c.turns[len(c.turns)-1].done
}

// Err is the last error of Send, or "".
func (c *Chat) Err() string { return c.err }

// Send starts a turn with text (what Enter in the input line does).
func (c *Chat) Send(text string) {
	text = strings.TrimSpace(text)
	if text == "" || c.Running() || c.Engine == nil {
		return
	}
	if err := c.Engine.Send(text); err != nil {
		c.err = err.Error()
		return
	}
	c.err = ""
	c.turns = append(c.turns, &chatTurn{user: text})
	c.scroll = true
}

// Stop interrupts the running turn.
func (c *Chat) Stop() {
	if c.Running() && c.Engine != nil {
		c.Engine.Stop()
	}
}

// Transcript is the chat as text, one row a line: for tests and for
// copying. Closed tool rows show only their call.
func (c *Chat) Transcript() string {
	var b strings.Builder
	for _, t := range c.turns {
		b.WriteString("you: " + t.user + "\n")
		for _, s := range t.steps {
			b.WriteString(s.line() + "\n")
			if s.kind == "tool" && s.open {
				b.WriteString("  " + s.obs + "\n")
			}
		}
		if t.streaming != "" {
			b.WriteString(t.streaming + "\n")
		}
		if t.answer != "" {
			b.WriteString("agent: " + t.answer + "\n")
		}
	}
	return b.String()
}

func (s *chatStep) line() string {
	switch s.kind {
	case "plan":
		return "Plan:\n" + s.text
	case "tool":
		return "→ " + s.tool + " " + oneLineText(s.args, 200)
	case "error":
		return "error: " + s.text
	case "question":
		return "? " + s.text
	}
	return s.text
}

// ToggleTool opens or closes the i-th tool row of the last turn.
func (c *Chat) ToggleTool(i int) {
	if len(c.turns) == 0 {
		return
	}
	n := 0
	for _, s := range c.turns[len(c.turns)-1].steps {
		if s.kind == "tool" {
			if n == i {
				s.open = !s.open
				return
			}
			n++
		}
	}
}

// handle applies one engine event to the transcript.
func (c *Chat) handle(e ChatEvent) {
	if len(c.turns) == 0 || c.turns[len(c.turns)-1].done {
		if e.Kind == "done" {
			return
		}
		c.turns = append(c.turns, &chatTurn{}) // an engine speaking unasked
	}
	t := c.turns[len(c.turns)-1]
	last := func() *chatStep {
		if len(t.steps) == 0 {
			return nil
		}
		return t.steps[len(t.steps)-1]
	}
	c.scroll = true
	if e.Kind == "delta" {
		t.streaming += e.Text
		return
	}
	if t.streaming != "" {
		// The step's text ends: a thought or answer says it whole; any
		// other event keeps what was streamed.
		text := strings.TrimSpace(t.streaming)
		t.streaming = ""
		if e.Kind != "thought" && e.Kind != "answer" && text != "" {
			t.steps = append(t.steps, &chatStep{kind: "thought", text: text})
		}
	}
	switch e.Kind {
	case "plan":
		t.steps = append(t.steps, &chatStep{kind: "plan", text: e.Text})
	case "confirm":
		for i := len(t.steps) - 1; i >= 0; i-- {
			if t.steps[i].kind == "plan" {
				t.steps[i].awaiting = true
				break
			}
		}
	case "thought":
		if s := last(); s != nil && s.kind == "thought" {
			s.text += e.Text
		} else {
			t.steps = append(t.steps, &chatStep{kind: "thought", text: e.Text})
		}
	case "answer":
		t.answer += e.Text
	case "tool":
		t.steps = append(t.steps, &chatStep{kind: "tool", tool: e.Tool, args: e.Args})
	case "observation":
		for i := len(t.steps) - 1; i >= 0; i-- {
			if s := t.steps[i]; s.kind == "tool" && s.tool == e.Tool && !s.hasObs {
				s.obs, s.hasObs = e.Text, true
				return
			}
		}
		// An observation without its call (a malformed plan): a row of its own.
		t.steps = append(t.steps, &chatStep{kind: "tool", tool: e.Tool, obs: e.Text, hasObs: true})
	case "question":
		s := &chatStep{kind: "question", text: e.Text, awaiting: true}
		s.answer.SingleLine, s.answer.Submit = true, true
		t.steps = append(t.steps, s)
	case "error":
		t.steps = append(t.steps, &chatStep{kind: "error", text: e.Text})
	case "done":
		t.done = true
		for _, s := range t.steps {
			if s.awaiting {
				s.awaiting = false
				if s.verdict == "" {
					s.verdict = "not answered"
				}
			}
		}
	}
}

// Decide answers the plan awaiting confirmation, if any.
func (c *Chat) Decide(run bool) {
	for _, s := range c.awaiting("plan") {
		s.awaiting = false
		s.verdict = "declined"
		if run {
			s.verdict = "run"
		}
		c.Engine.ConfirmPlan(run)
	}
}

// AnswerQuestion answers the agent's open question, if any.
func (c *Chat) AnswerQuestion(text string) {
	for _, s := range c.awaiting("question") {
		s.awaiting = false
		s.verdict = text
		c.Engine.Answer(text)
	}
}

func (c *Chat) awaiting(kind string) []*chatStep {
	if len(c.turns) == 0 || c.Engine == nil {
		return nil
	}
	var out []*chatStep
	for _, s := range c.turns[len(c.turns)-1].steps {
		if s.kind == kind && s.awaiting {
			out = append(out, s)
		}
	}
	return out
}

// Update drains the engine's events and handles the last frame's input.
func (c *Chat) Update(gtx layout.Context) {
	if c.Engine != nil {
		for _, e := range c.Engine.Drain() {
			c.handle(e)
		}
	}
	c.Input.SingleLine, c.Input.Submit = true, true
	for {
		ev, ok := c.Input.Update(gtx)
		if !ok {
			break
		}
		if _, ok := ev.(widget.SubmitEvent); ok {
			c.submit()
		}
	}
	if c.SendButton.Clicked(gtx) {
		c.submit()
	}
	for {
		ev, ok := gtx.Event(key.Filter{Focus: &c.Input, Name: "I", Required: key.ModShortcut})
		if !ok {
			break
		}
		if e, ok := ev.(key.Event); ok && e.State == key.Press {
			if ns := c.NamedObjects(); len(ns) > 0 {
				c.Inspect(ns[len(ns)-1])
			}
		}
	}
	for _, t := range c.turns {
		c.updateLinks(gtx, t.links)
		for _, s := range t.steps {
			c.updateLinks(gtx, s.links)
		}
	}
	if c.StopButton.Clicked(gtx) {
		c.Stop()
	}
	for _, t := range c.turns {
		for _, s := range t.steps {
			if s.row.Clicked(gtx) && s.kind == "tool" {
				s.open = !s.open
			}
			if s.run.Clicked(gtx) && s.awaiting {
				c.Decide(true)
			}
			if s.decline.Clicked(gtx) && s.awaiting {
				c.Decide(false)
			}
			if s.kind == "question" {
				for {
					ev, ok := s.answer.Update(gtx)
					if !ok {
						break
					}
					if _, ok := ev.(widget.SubmitEvent); ok && s.awaiting {
						c.AnswerQuestion(s.answer.Text())
					}
				}
				if s.send.Clicked(gtx) && s.awaiting {
					c.AnswerQuestion(s.answer.Text())
				}
			}
		}
	}
}

// updateLinks opens the Inspector for a clicked link, or one that has the
// focus when Ctrl-I is pressed.
func (c *Chat) updateLinks(gtx layout.Context, links objectLinks) {
	for name, l := range links {
		if l.Clicked(gtx) && c.Inspect != nil {
			c.Inspect(name)
		}
		for {
			ev, ok := gtx.Event(key.Filter{Focus: l, Name: "I", Required: key.ModShortcut})
			if !ok {
				break
			}
			if e, ok := ev.(key.Event); ok && e.State == key.Press && c.Inspect != nil {
				c.Inspect(name)
			}
		}
	}
}

// layoutLinks draws "Inspect NAME" for each name, under a row.
func (c *Chat) layoutLinks(gtx layout.Context, th *material.Theme, links *objectLinks, names []string) layout.Dimensions {
	if len(names) == 0 {
		return layout.Dimensions{}
	}
	var cs []layout.FlexChild
	for _, n := range names {
		cl := links.get(n)
		label := "Inspect " + n
		cs = append(cs, layout.Rigid(func(gtx layout.Context) layout.Dimensions {
			return layout.Inset{Right: unit.Dp(8)}.Layout(gtx, func(gtx layout.Context) layout.Dimensions {
				return cl.Layout(gtx, func(gtx layout.Context) layout.Dimensions {
					l := material.Caption(th, label)
					l.Color = linkColor
					return l.Layout(gtx)
				})
			})
		}))
	}
	return layout.Inset{Left: unit.Dp(16), Top: unit.Dp(2)}.Layout(gtx, func(gtx layout.Context) layout.Dimensions {
		return layout.Flex{Alignment: layout.Middle}.Layout(gtx, cs...)
	})
}

func (c *Chat) submit() {
	if c.Running() {
		return
	}
	text := c.Input.Text()
	if strings.TrimSpace(text) == "" {
		return
	}
	c.Send(text)
	if c.err == "" {
		c.Input.SetText("")
	}
}

var (
	userBg    = color.NRGBA{R: 0xe6, G: 0xf2, B: 0xff, A: 0xff}
	userRim   = color.NRGBA{R: 0x90, G: 0xb0, B: 0xe0, A: 0xff}
	planBg    = color.NRGBA{R: 0xff, G: 0xf8, B: 0xe0, A: 0xff}
	planRim   = color.NRGBA{R: 0xd0, G: 0xa0, B: 0x30, A: 0xff}
	answerBg  = color.NRGBA{R: 0xee, G: 0xf8, B: 0xee, A: 0xff}
	answerRim = color.NRGBA{R: 0x70, G: 0xb0, B: 0x70, A: 0xff}
	toolColor = color.NRGBA{R: 0x40, G: 0x40, B: 0x60, A: 0xff}
	obsColor  = color.NRGBA{R: 0x50, G: 0x50, B: 0x50, A: 0xff}
)

// Layout drains the engine, handles input and draws the chat.
func (c *Chat) Layout(gtx layout.Context, th *material.Theme) layout.Dimensions {
	c.Update(gtx)
	var items []layout.Widget
	items = append(items, material.H6(th, "Chat with the agent").Layout)
	if len(c.turns) == 0 {
		items = append(items, material.Body2(th, "Ask about the image or for a change. The agent shows its plan before it changes anything.").Layout)
	}
	for _, t := range c.turns {
		if t.user != "" {
			user := t.user
			items = append(items, func(gtx layout.Context) layout.Dimensions {
				gtx.Constraints.Min.X = gtx.Constraints.Max.X
				return card(gtx, userBg, userRim, material.Body1(th, "You: "+user).Layout)
			})
		}
		for _, s := range t.steps {
			items = append(items, func(gtx layout.Context) layout.Dimensions {
				names := c.named(s.kind, s.text, s.args)
				if len(names) == 0 {
					return c.layoutStep(gtx, th, s)
				}
				return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
					layout.Rigid(func(gtx layout.Context) layout.Dimensions { return c.layoutStep(gtx, th, s) }),
					layout.Rigid(func(gtx layout.Context) layout.Dimensions { return c.layoutLinks(gtx, th, &s.links, names) }),
				)
			})
		}
		if t.streaming != "" {
			items = append(items, material.Body2(th, t.streaming).Layout)
		}
		if t.answer != "" {
			answer, t := t.answer, t
			items = append(items, func(gtx layout.Context) layout.Dimensions {
				return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
					layout.Rigid(func(gtx layout.Context) layout.Dimensions {
						gtx.Constraints.Min.X = gtx.Constraints.Max.X
						return card(gtx, answerBg, answerRim, material.Body1(th, answer).Layout)
					}),
					layout.Rigid(func(gtx layout.Context) layout.Dimensions {
						return c.layoutLinks(gtx, th, &t.links, c.named("answer", answer, ""))
					}),
				)
			})
		}
	}
	if c.err != "" {
		items = append(items, func(gtx layout.Context) layout.Dimensions {
			l := material.Body2(th, c.err)
			l.Color = errorColor
			return l.Layout(gtx)
		})
	}
	c.List.Axis = layout.Vertical
	if c.scroll {
		c.List.Position = layout.Position{First: len(items) - 1, BeforeEnd: true}
		c.scroll = false
	}
	return layout.UniformInset(unit.Dp(6)).Layout(gtx, func(gtx layout.Context) layout.Dimensions {
		return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
			layout.Flexed(1, func(gtx layout.Context) layout.Dimensions {
				gtx.Constraints.Min = gtx.Constraints.Max
				return material.List(th, &c.List).Layout(gtx, len(items), func(gtx layout.Context, i int) layout.Dimensions {
					return layout.Inset{Bottom: unit.Dp(6)}.Layout(gtx, items[i])
				})
			}),
			layout.Rigid(func(gtx layout.Context) layout.Dimensions { return c.layoutInput(gtx, th) }),
		)
	})
}

func (c *Chat) layoutInput(gtx layout.Context, th *material.Theme) layout.Dimensions {
	return layout.Flex{Alignment: layout.Middle}.Layout(gtx,
		layout.Flexed(1, func(gtx layout.Context) layout.Dimensions {
			gtx.Constraints.Min.X = gtx.Constraints.Max.X
			return card(gtx, color.NRGBA{R: 0xff, G: 0xff, B: 0xff, A: 0xff}, queueRm, func(gtx layout.Context) layout.Dimensions {
				gtx.Constraints.Min.X = gtx.Constraints.Max.X
				return material.Editor(th, &c.Input, "Ask the agent…").Layout(gtx)
			})
		}),
		layout.Rigid(layout.Spacer{Width: unit.Dp(6)}.Layout),
		layout.Rigid(func(gtx layout.Context) layout.Dimensions {
			if c.Running() {
				b := material.Button(th, &c.StopButton, "Stop")
				b.Background = errorColor
				return b.Layout(gtx)
			}
			return material.Button(th, &c.SendButton, "Send").Layout(gtx)
		}),
	)
}

func (c *Chat) layoutStep(gtx layout.Context, th *material.Theme, s *chatStep) layout.Dimensions {
	gtx.Constraints.Min.X = gtx.Constraints.Max.X
	mono := func(text string, col color.NRGBA) layout.Widget {
		l := material.Body2(th, text)
		l.Font.Typeface = "Go Mono"
		l.Color = col
		return l.Layout
	}
	switch s.kind {
	case "plan":
		rows := []layout.FlexChild{
			layout.Rigid(material.Body1(th, "Plan").Layout),
			layout.Rigid(material.Body2(th, s.text).Layout),
		}
		switch {
		case s.awaiting:
			rows = append(rows, layout.Rigid(layout.Spacer{Height: unit.Dp(6)}.Layout),
				layout.Rigid(func(gtx layout.Context) layout.Dimensions {
					return layout.Flex{}.Layout(gtx,
						layout.Rigid(material.Button(th, &s.run, "Run").Layout),
						layout.Rigid(layout.Spacer{Width: unit.Dp(8)}.Layout),
						layout.Rigid(material.Button(th, &s.decline, "Decline").Layout),
					)
				}))
		case s.verdict == "run":
			rows = append(rows, layout.Rigid(material.Caption(th, "approved: running").Layout))
		case s.verdict != "":
			rows = append(rows, layout.Rigid(material.Caption(th, s.verdict).Layout))
		}
		return card(gtx, planBg, planRim, func(gtx layout.Context) layout.Dimensions {
			return layout.Flex{Axis: layout.Vertical}.Layout(gtx, rows...)
		})
	case "tool":
		arrow := "[+] "
		if s.open {
			arrow = "[-] "
		}
		return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
			layout.Rigid(func(gtx layout.Context) layout.Dimensions {
				return s.row.Layout(gtx, mono(arrow+s.line(), toolColor))
			}),
			layout.Rigid(func(gtx layout.Context) layout.Dimensions {
				obs := s.obs
				if !s.hasObs {
					obs = "…"
				}
				if !s.open {
					first, rest, _ := strings.Cut(strings.TrimSpace(obs), "\n")
					if rest != "" {
						first += " (+" + strconv.Itoa(strings.Count(rest, "\n")+1) + " lines)"
					}
					return layout.Inset{Left: unit.Dp(16)}.Layout(gtx, material.Caption(th, oneLineText(first, 100)).Layout)
				}
				return layout.Inset{Left: unit.Dp(16)}.Layout(gtx, mono(obs, obsColor))
			}),
		)
	case "error":
		l := material.Body2(th, "error: "+s.text)
		l.Color = errorColor
		return l.Layout(gtx)
	case "question":
		rows := []layout.FlexChild{layout.Rigid(material.Body1(th, "The agent asks: "+s.text).Layout)}
		if s.awaiting {
			rows = append(rows, layout.Rigid(func(gtx layout.Context) layout.Dimensions {
				return layout.Flex{Alignment: layout.Middle}.Layout(gtx,
					layout.Flexed(1, material.Editor(th, &s.answer, "Your answer…").Layout),
					layout.Rigid(material.Button(th, &s.send, "Answer").Layout),
				)
			}))
		} else if s.verdict != "" {
			rows = append(rows, layout.Rigid(material.Caption(th, "you answered: "+s.verdict).Layout))
		}
		return card(gtx, planBg, planRim, func(gtx layout.Context) layout.Dimensions {
			return layout.Flex{Axis: layout.Vertical}.Layout(gtx, rows...)
		})
	}
	return material.Body2(th, s.text).Layout(gtx)
}

func oneLineText(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}
