package workspace

import (
	"context"
	"errors"
	"fmt"
	"image/color"
	"strings"
	"sync"

	"gioui.org/layout"
	"gioui.org/op/clip"
	"gioui.org/op/paint"
	"gioui.org/unit"
	"gioui.org/widget"
	"gioui.org/widget/material"

	"github.com/phoenix-image/phoenix/agent"
	"github.com/phoenix-image/phoenix/agent/memory"
	"github.com/phoenix-image/phoenix/browser"
	"github.com/phoenix-image/phoenix/image"
	"github.com/phoenix-image/phoenix/sandbox"
	"github.com/phoenix-image/phoenix/vm"
)

// ProposalView is what the approvals pane shows of one proposal: plain
// text, safe to hand between goroutines.
type ProposalView struct {
	ID          string // the queued approval's id; "" for the proposal being asked about now
	Target      string
	Selector    string
	Source      string
	Tests       string
	Explanation string
	Model       string
	Sandbox     string   // summary of the sandbox's result
	TestLines   []string // one line per test: status, name, message
	Reason      string   // why the policy wants a person
	// Current is the source of the method the proposal would replace
	// (Target's own method Selector) when Replaces; filled on the VM's
	// goroutine by WithCurrent.
	Current  string
	Replaces bool
	// Compared says whether Current and Replaces were looked up (a view
	// made without the VM shows the plain source, no diff).
	Compared bool
	// Alternatives asked for so far (alternatives.go).
	Alternatives []AlternativeView
}

// WithCurrent fills in the method p would replace from v's image. It runs
// on the VM's goroutine.
func (p ProposalView) WithCurrent(v *vm.VM) ProposalView {
	if v == nil {
		return p
	}
	p.Compared = true
	if o := v.Global(p.Target); o != nil {
		p.Current, p.Replaces = v.MethodSource(o, p.Selector)
	}
	return p
}

// Diff is the unified diff of the method p would replace against p's
// source, "" when p defines a new method (or was not compared).
func (p ProposalView) Diff() string {
	if !p.Replaces {
		return ""
	}
	return browser.UnifiedDiff(p.Current, p.Source)
}

// Title is "Target>>selector".
func (p ProposalView) Title() string { return p.Target + ">>" + p.Selector }

// ViewOf describes a proposal, its sandbox result and the policy's reason.
func ViewOf(id string, p *agent.Proposal, r *sandbox.Result, reason string) ProposalView {
	v := ProposalView{ID: id, Target: p.Target, Selector: p.Selector, Source: p.Source, Tests: p.Tests,
		Explanation: p.Explanation, Model: p.Model, Reason: reason}
	if r != nil {
		v.Sandbox = fmt.Sprintf("sandbox (%s): %d passed, %d failed", r.Boundary, r.Passed, r.Failed)
		if r.CallResult != "" || r.CallError != "" {
			v.Sandbox += "; the call gives " + strings.TrimSpace(r.CallResult+" "+r.CallError)
		}
		for _, t := range r.Tests {
			v.TestLines = append(v.TestLines, strings.TrimSpace(t.Status+" "+t.Name+" "+t.Message))
		}
	}
	return v
}

// ApprovalQueue is the image's queue of proposals waiting for a person, as
// the approvals pane sees it. An asynchronous implementation follows the
// browser.Image contract: it returns ErrPending until the answer arrives,
// and a repeated identical call while pending is the same request.
type ApprovalQueue interface {
	// List returns the pending approvals, oldest first.
	List() ([]ProposalView, error)
	// Approve installs the proposal id and marks it approved.
	Approve(id string) error
	// Reject marks the proposal id rejected.
	Reject(id string) error
}

// QueueJournal is what AsyncQueue needs of the image (*image.Image
// implements it).
type QueueJournal interface {
	agent.Journal
	Approvals(status string) ([]*image.Approval, error)
}

// AsyncQueue implements ApprovalQueue over the VM's goroutine: every
// request is a func queued with Go, and the window is invalidated when its
// answer arrives. Approve installs through agent.ApproveQueued, as
// `phoenix approvals approve` does.
type AsyncQueue struct {
	Go         func(func(*vm.VM)) bool // queues work on the VM's goroutine; false once closed
	Journal    QueueJournal
	Invalidate func()
	// Resolver asks for alternatives (nil: none can be asked for).
	Resolver *agent.Resolver

	// Memory, if not nil, remembers the methods approved here (as the
	// resolver remembers those it installs).
	Memory memory.Store

	mu   sync.Mutex
	list *result[[]ProposalView]
	ops  map[string]*result[struct{}]
	alts map[string]*result[[]AlternativeView]
}

type result[T any] struct {
	done bool
	val  T
	err  error
}

var errQueueClosed = errors.New("the image is closed")

// run returns the answer in *slot, or queues f to fill it.
func run[T any](q *AsyncQueue, slot **result[T], f func(v *vm.VM) (T, error)) (T, error) {
	var zero T
	if r := *slot; r != nil {
		if !r.done {
			return zero, ErrPending
		}
		*slot = nil
		return r.val, r.err
	}
	r := &result[T]{}
	*slot = r
	ok := q.Go(func(v *vm.VM) {
		val, err := f(v)
		q.mu.Lock()
		r.val, r.err, r.done = val, err, true
		q.mu.Unlock()
		if q.Invalidate != nil {
			q.Invalidate()
		}
	})
	if !ok {
		*slot = nil
		return zero, errQueueClosed
	}
	return zero, ErrPending
}

// List implements ApprovalQueue.
func (q *AsyncQueue) List() ([]ProposalView, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return run(q, &q.list, func(v *vm.VM) ([]ProposalView, error) {
		as, err := q.Journal.Approvals(image.ApprovalPending)
		if err != nil {
			return nil, err
		}
		var out []ProposalView
		for _, a := range as {
			rec := agent.DecodeApproval(a)
			view := ViewOf(a.ID, &rec.Proposal, rec.Sandbox, rec.Decision).WithCurrent(v)
			view.Alternatives = alternativeViews(&rec.Proposal, rec.Alternatives)
			out = append(out, view)
		}
		return out, nil
	})
}

func (q *AsyncQueue) op(key string, f func(v *vm.VM) (struct{}, error)) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.ops == nil {
		q.ops = make(map[string]*result[struct{}])
	}
	slot := q.ops[key]
	_, err := run(q, &slot, f)
	if slot == nil {
		delete(q.ops, key)
	} else {
		q.ops[key] = slot
	}
	return err
}

// Approve implements ApprovalQueue.
func (q *AsyncQueue) Approve(id string) error {
	return q.op("approve "+id, func(v *vm.VM) (struct{}, error) {
		a, err := agent.ApproveQueued(context.Background(), v, q.Journal, id, "human", "in the GUI")
		if err == nil && q.Memory != nil {
			agent.RememberApproved(context.Background(), q.Memory, a, nil)
		}
		return struct{}{}, err
	})
}

// Reject implements ApprovalQueue.
func (q *AsyncQueue) Reject(id string) error {
	return q.op("reject "+id, func(*vm.VM) (struct{}, error) {
		_, err := agent.RejectQueued(q.Journal, id, "human", "in the GUI")
		return struct{}{}, err
	})
}

// Approvals is the approvals pane: the proposal the agent is asking about
// now (through Approver, while an evaluation waits), with Approve and
// Reject, and the image's queue of pending approvals, each with Approve
// and Reject; under each, Show alternatives and a rating (alternatives.go).
type Approvals struct {
	Queue ApprovalQueue // nil: no queue
	// Invalidate wakes the window when the agent asks.
	Invalidate func()

	ApproveButton widget.Clickable // the live proposal's
	RejectButton  widget.Clickable
	List          widget.List

	mu          sync.Mutex
	live        *ProposalView
	reply       chan agent.Choice
	more        chan int // asks the waiting live proposal for alternatives
	liveErr     string
	liveDone    int // alternatives answers for the live proposal
	liveSeen    int
	liveGen     int // live proposals asked about
	liveGenSeen int

	prefs map[string]*prefState // by approval id, "" the live proposal
	pref  *prefOp

	pending []ProposalView
	loaded  bool
	buttons map[string]*[2]widget.Clickable // approve, reject by id
	op      *queueOp
	status  string
	err     string
}

type queueOp struct {
	id      string
	approve bool
}

// Approver returns the agent.Approver that asks through this pane,
// showing the proposal's source without a diff (see ApproverOn).
func (a *Approvals) Approver() agent.Approver { return paneApprover{a: a} }

// ApproverOn returns the agent.Approver that asks through this pane and
// shows the proposal as a diff against the method it would replace in v.
// The approver is called on v's goroutine.
func (a *Approvals) ApproverOn(v *vm.VM) agent.Approver { return paneApprover{a: a, v: v} }

type paneApprover struct {
	a *Approvals
	v *vm.VM
}

func (p paneApprover) Approve(ctx context.Context, prop *agent.Proposal, r *sandbox.Result, d agent.Decision) (bool, string, error) {
	return p.a.Ask(ctx, ViewOf("", prop, r, d.Reason).WithCurrent(p.v))
}

// Ask shows p as the live proposal and blocks until a person approves or
// rejects it, or ctx is done. It is called on the VM's goroutine.
func (a *Approvals) Ask(ctx context.Context, p ProposalView) (bool, string, error) {
	c, err := a.choose(ctx, p, nil)
	return c.Approved, c.Note, err
}

// Live returns the proposal being asked about now, if any.
func (a *Approvals) Live() (ProposalView, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.live == nil {
		return ProposalView{}, false
	}
	return *a.live, true
}

// Decide answers the live proposal; it does nothing if none waits.
func (a *Approvals) Decide(approved bool) { a.answer(agent.Choice{Approved: approved}) }

// answer gives c, with the live proposal's rating, to the waiting agent.
func (a *Approvals) answer(c agent.Choice) {
	if st := a.prefs[""]; st != nil && st.score != 0 {
		c.Score, c.Comment = st.score, strings.TrimSpace(st.comment.Text())
	}
	a.mu.Lock()
	if a.live == nil {
		a.mu.Unlock()
		return
	}
	a.reply <- c
	a.live, a.reply, a.more = nil, nil, nil
	a.status = "rejected"
	if c.Approved {
		a.status = "approved"
		if c.Pick > 0 {
			a.status += " " + altName(c.Pick)
		}
	}
	a.mu.Unlock()
	a.invalidate()
}

func (a *Approvals) invalidate() {
	if a.Invalidate != nil {
		a.Invalidate()
	}
}

// Refresh asks the queue again on the next frame.
func (a *Approvals) Refresh() { a.loaded = false }

// Pending returns the queued approvals last listed.
func (a *Approvals) Pending() []ProposalView { return a.pending }

// Status is the outcome of the last decision, or "".
func (a *Approvals) Status() string { return a.status }

// Err is the last error of the queue, or "".
func (a *Approvals) Err() string { return a.err }

// ApproveQueued approves the queued proposal id (installing its method).
func (a *Approvals) ApproveQueued(id string) { a.op = &queueOp{id, true}; a.runOp() }

// RejectQueued rejects the queued proposal id.
func (a *Approvals) RejectQueued(id string) { a.op = &queueOp{id, false}; a.runOp() }

func (a *Approvals) runOp() {
	op := a.op
	if op == nil || a.Queue == nil {
		return
	}
	var err error
	if op.approve {
		err = a.Queue.Approve(op.id)
	} else {
		err = a.Queue.Reject(op.id)
	}
	if errors.Is(err, ErrPending) {
		return
	}
	a.op = nil
	a.loaded = false
	if err != nil {
		a.err, a.status = err.Error(), ""
		return
	}
	a.err = ""
	if op.approve {
		a.status = "approved " + op.id + ": installed"
	} else {
		a.status = "rejected " + op.id
	}
}

func (a *Approvals) load() {
	a.runOp()
	a.runPrefOp()
	if a.loaded || a.Queue == nil {
		return
	}
	ps, err := a.Queue.List()
	switch {
	case errors.Is(err, ErrPending):
	case err != nil:
		a.err, a.loaded = err.Error(), true
	default:
		a.pending, a.loaded = ps, true
	}
}

var (
	liveBg  = color.NRGBA{R: 0xe6, G: 0xf2, B: 0xff, A: 0xff}
	liveRim = color.NRGBA{R: 0x30, G: 0x60, B: 0xc0, A: 0xff}
	queueBg = color.NRGBA{R: 0xf4, G: 0xf4, B: 0xf4, A: 0xff}
	queueRm = color.NRGBA{R: 0xb0, G: 0xb0, B: 0xb0, A: 0xff}
)

// Layout handles the clicks of the previous frame, loads the queue and
// draws the pane.
func (a *Approvals) Layout(gtx layout.Context, th *material.Theme) layout.Dimensions {
	if a.ApproveButton.Clicked(gtx) {
		a.Decide(true)
	}
	if a.RejectButton.Clicked(gtx) {
		a.Decide(false)
	}
	a.preferenceClicks(gtx)
	for id, b := range a.buttons {
		if b[0].Clicked(gtx) {
			a.ApproveQueued(id)
		}
		if b[1].Clicked(gtx) {
			a.RejectQueued(id)
		}
	}
	a.load()
	if a.buttons == nil {
		a.buttons = make(map[string]*[2]widget.Clickable)
	}
	live, hasLive := a.Live()
	var items []layout.Widget
	items = append(items, material.H6(th, "Approvals").Layout)
	if hasLive {
		items = append(items, func(gtx layout.Context) layout.Dimensions {
			return a.proposal(gtx, th, live, liveBg, liveRim, "The agent asks: install "+live.Title()+"?", &a.ApproveButton, &a.RejectButton, "Approve", "Reject")
		})
		items = append(items, a.preferenceItems(th, "", live.Alternatives)...)
	}
	head := fmt.Sprintf("Pending approvals (%d)", len(a.pending))
	if !a.loaded && a.Queue != nil {
		head = "Pending approvals (…)"
	}
	items = append(items, material.Body1(th, head).Layout)
	for _, p := range a.pending {
		b := a.buttons[p.ID]
		if b == nil {
			b = new([2]widget.Clickable)
			a.buttons[p.ID] = b
		}
		items = append(items, func(gtx layout.Context) layout.Dimensions {
			return a.proposal(gtx, th, p, queueBg, queueRm, p.ID+": "+p.Title(), &b[0], &b[1], "Approve "+p.ID, "Reject "+p.ID)
		})
		if _, ok := a.Queue.(PreferenceQueue); !ok {
			continue // alternatives and ratings: this queue cannot take them
		}
		alts := a.prefFor(p.ID).alts
		if len(alts) == 0 {
			alts = p.Alternatives
		}
		items = append(items, a.preferenceItems(th, p.ID, alts)...)
	}
	if a.status != "" {
		items = append(items, material.Body2(th, a.status).Layout)
	}
	if a.err != "" {
		items = append(items, func(gtx layout.Context) layout.Dimensions {
			l := material.Body2(th, a.err)
			l.Color = errorColor
			return l.Layout(gtx)
		})
	}
	a.List.Axis = layout.Vertical
	return layout.UniformInset(unit.Dp(6)).Layout(gtx, func(gtx layout.Context) layout.Dimensions {
		return material.List(th, &a.List).Layout(gtx, len(items), func(gtx layout.Context, i int) layout.Dimensions {
			return layout.Inset{Bottom: unit.Dp(6)}.Layout(gtx, items[i])
		})
	})
}

func (a *Approvals) proposal(gtx layout.Context, th *material.Theme, p ProposalView, bg, rim color.NRGBA, title string, approve, reject *widget.Clickable, approveLabel, rejectLabel string) layout.Dimensions {
	mono := func(s string) layout.Widget {
		l := material.Body2(th, s)
		l.Font.Typeface = "Go Mono"
		return l.Layout
	}
	rows := []layout.FlexChild{
		layout.Rigid(material.Body1(th, title).Layout),
		layout.Rigid(layout.Spacer{Height: unit.Dp(4)}.Layout),
	}
	switch {
	case p.Replaces:
		rows = append(rows, layout.Rigid(material.Caption(th, "replaces the current method:").Layout))
		for _, l := range strings.Split(p.Diff(), "\n") {
			rows = append(rows, layout.Rigid(diffLine(th, l)))
		}
	case p.Compared:
		rows = append(rows, layout.Rigid(material.Caption(th, "new method").Layout), layout.Rigid(mono(p.Source)))
	default:
		rows = append(rows, layout.Rigid(mono(p.Source)))
	}
	if p.Explanation != "" {
		rows = append(rows, layout.Rigid(material.Body2(th, "reasoning: "+p.Explanation).Layout))
	}
	if p.Tests != "" {
		rows = append(rows, layout.Rigid(material.Caption(th, "tests:").Layout), layout.Rigid(mono(p.Tests)))
	}
	if p.Sandbox != "" {
		rows = append(rows, layout.Rigid(material.Body2(th, p.Sandbox).Layout))
	}
	for _, t := range p.TestLines {
		rows = append(rows, layout.Rigid(material.Caption(th, "  "+t).Layout))
	}
	if p.Reason != "" {
		rows = append(rows, layout.Rigid(material.Body2(th, "policy: "+p.Reason).Layout))
	}
	rows = append(rows,
		layout.Rigid(layout.Spacer{Height: unit.Dp(6)}.Layout),
		layout.Rigid(func(gtx layout.Context) layout.Dimensions {
			return layout.Flex{}.Layout(gtx,
				layout.Rigid(material.Button(th, approve, approveLabel).Layout),
				layout.Rigid(layout.Spacer{Width: unit.Dp(8)}.Layout),
				layout.Rigid(material.Button(th, reject, rejectLabel).Layout),
			)
		}))
	gtx.Constraints.Min.X = gtx.Constraints.Max.X
	return card(gtx, bg, rim, func(gtx layout.Context) layout.Dimensions {
		return layout.Flex{Axis: layout.Vertical}.Layout(gtx, rows...)
	})
}

// The diff colours of the browser's history view.
var (
	addedColor   = color.NRGBA{R: 0xd8, G: 0xf5, B: 0xd8, A: 0xff}
	removedColor = color.NRGBA{R: 0xfa, G: 0xd8, B: 0xd8, A: 0xff}
	hunkColor    = color.NRGBA{R: 0x70, G: 0x70, B: 0xa0, A: 0xff}
)

// diffLine draws one line of a unified diff: added lines on green,
// removed lines on red, hunk headers in blue-grey.
func diffLine(th *material.Theme, text string) layout.Widget {
	return func(gtx layout.Context) layout.Dimensions {
		l := material.Body2(th, text)
		l.Font.Typeface = mono
		l.TextSize = unit.Sp(12)
		var bg color.NRGBA
		switch {
		case strings.HasPrefix(text, "+"):
			bg = addedColor
		case strings.HasPrefix(text, "-"):
			bg = removedColor
		case strings.HasPrefix(text, "@@"):
			l.Color = hunkColor
		}
		gtx.Constraints.Min.X = gtx.Constraints.Max.X
		return layout.Background{}.Layout(gtx,
			func(gtx layout.Context) layout.Dimensions {
				if bg.A != 0 {
					paint.FillShape(gtx.Ops, bg, clip.Rect{Max: gtx.Constraints.Min}.Op())
				}
				return layout.Dimensions{Size: gtx.Constraints.Min}
			},
			func(gtx layout.Context) layout.Dimensions {
				return layout.Inset{Left: unit.Dp(4)}.Layout(gtx, l.Layout)
			})
	}
}
