package workspace

// The approvals pane's preference feedback: "Show alternatives" asks the
// agent for alternatives to a proposal (the live one or a queued one),
// lists them with their diff against the proposal and their sandbox
// results, each with a Pick button; a row of Rate 1..5 buttons and a
// comment field rate the proposal. Choices and ratings become the image's
// preferences (agent/preferences.go), which later prompts summarise.

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"gioui.org/layout"
	"gioui.org/unit"
	"gioui.org/widget"
	"gioui.org/widget/material"

	"github.com/phoenix-image/phoenix/agent"
	"github.com/phoenix-image/phoenix/browser"
	"github.com/phoenix-image/phoenix/vm"
)

// AlternativeView is one alternative as the pane shows it.
type AlternativeView struct {
	ProposalView        // its source, tests, explanation, sandbox result
	N            int    // 1, 2, ...
	OK           bool   // validated: it may be picked
	Status       string // one line: the sandbox's verdict or why it is unusable
	Diff         string // unified diff of the original proposal's source against this one
}

// AlternativesDefault is how many alternatives "Show alternatives" asks for.
const AlternativesDefault = 3

// AlternativeViews describes alts as alternatives to orig (for a queue
// that decodes approvals itself, e.g. a remote one).
func AlternativeViews(orig *agent.Proposal, alts []agent.Alternative) []AlternativeView {
	return alternativeViews(orig, alts)
}

// alternativeViews describes alts as alternatives to orig.
func alternativeViews(orig *agent.Proposal, alts []agent.Alternative) []AlternativeView {
	var out []AlternativeView
	for _, a := range alts {
		v := AlternativeView{N: a.N, OK: a.OK(), Status: a.Status()}
		if a.Proposal != nil {
			v.ProposalView = ViewOf("", a.Proposal, a.Sandbox, "")
			v.Diff = browser.UnifiedDiff(orig.Source, a.Proposal.Source)
		}
		out = append(out, v)
	}
	return out
}

// PreferenceQueue is an ApprovalQueue that can also ask for alternatives
// to a queued proposal, approve one of them and rate proposals. An
// asynchronous implementation follows the same ErrPending contract.
type PreferenceQueue interface {
	// Alternatives asks for n more alternatives to the pending proposal
	// id and returns all it has.
	Alternatives(id string, n int) ([]AlternativeView, error)
	// Pick approves id with its alternative k (0: the original).
	Pick(id string, k int) error
	// Rate rates id's installed (or, pending, original) proposal.
	Rate(id string, score int, comment string) error
}

var _ PreferenceQueue = (*AsyncQueue)(nil)

// Alternatives implements PreferenceQueue with the queue's Resolver.
func (q *AsyncQueue) Alternatives(id string, n int) ([]AlternativeView, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.alts == nil {
		q.alts = make(map[string]*result[[]AlternativeView])
	}
	slot := q.alts[id]
	out, err := run(q, &slot, func(v *vm.VM) ([]AlternativeView, error) {
		if q.Resolver == nil {
			return nil, errors.New("no agent is attached: alternatives need the LLM")
		}
		a, _, err := q.Resolver.AlternativesQueued(context.Background(), v, id, n, nil)
		if a == nil {
			return nil, err
		}
		rec := agent.DecodeApproval(a)
		return alternativeViews(&rec.Proposal, rec.Alternatives), err
	})
	if slot == nil {
		delete(q.alts, id)
	} else {
		q.alts[id] = slot
	}
	return out, err
}

// Pick implements PreferenceQueue through agent.PickQueued.
func (q *AsyncQueue) Pick(id string, k int) error {
	return q.op(fmt.Sprintf("pick %s %d", id, k), func(v *vm.VM) (struct{}, error) {
		a, err := agent.PickQueued(context.Background(), v, q.Journal, id, k, "human", "in the GUI")
		if err == nil && q.Memory != nil {
			agent.RememberApproved(context.Background(), q.Memory, a, nil)
		}
		return struct{}{}, err
	})
}

// Rate implements PreferenceQueue through agent.RateQueued.
func (q *AsyncQueue) Rate(id string, score int, comment string) error {
	return q.op(fmt.Sprintf("rate %s %d", id, score), func(*vm.VM) (struct{}, error) {
		_, err := agent.RateQueued(q.Journal, id, -1, score, comment)
		return struct{}{}, err
	})
}

// prefState is the preference widgets of one proposal ("" is the live one).
type prefState struct {
	show    widget.Clickable
	picks   []widget.Clickable
	stars   [5]widget.Clickable
	comment widget.Editor
	alts    []AlternativeView
	asking  bool
	score   int // the live proposal's rating, given when it is decided
}

func (a *Approvals) prefFor(id string) *prefState {
	if a.prefs == nil {
		a.prefs = make(map[string]*prefState)
	}
	s := a.prefs[id]
	if s == nil {
		s = &prefState{}
		s.comment.SingleLine = true
		s.comment.Submit = true
		a.prefs[id] = s
	}
	return s
}

// prefOp is a queued proposal's pending alternatives, pick or rating.
type prefOp struct {
	kind    string // "alternatives", "pick", "rate"
	id      string
	k       int
	comment string
}

// ShowAlternatives asks for alternatives to the queued proposal id, or
// with id "" to the live one.
func (a *Approvals) ShowAlternatives(id string) {
	st := a.prefFor(id)
	st.asking = true
	a.err = ""
	if id == "" {
		a.mu.Lock()
		more := a.more
		a.mu.Unlock()
		if more == nil {
			st.asking = false
			a.err = "no LLM is configured to ask for alternatives"
			return
		}
		select {
		case more <- AlternativesDefault:
		default:
		}
		return
	}
	a.pref = &prefOp{kind: "alternatives", id: id, k: AlternativesDefault}
	a.runPrefOp()
}

// Alternatives returns the alternatives shown for id ("" the live proposal).
func (a *Approvals) Alternatives(id string) []AlternativeView {
	if id == "" {
		a.mu.Lock()
		defer a.mu.Unlock()
		if a.live == nil {
			return nil
		}
		return a.live.Alternatives
	}
	return a.prefFor(id).alts
}

// Pick approves the queued proposal id with alternative k, or with id ""
// answers the live proposal with it.
func (a *Approvals) Pick(id string, k int) {
	if id == "" {
		a.answer(agent.Choice{Approved: true, Pick: k})
		return
	}
	a.pref = &prefOp{kind: "pick", id: id, k: k}
	a.runPrefOp()
}

// Rate rates the queued proposal id with score and the comment typed for
// it; for the live proposal ("") the rating is given with the decision.
func (a *Approvals) Rate(id string, score int) {
	st := a.prefFor(id)
	comment := strings.TrimSpace(st.comment.Text())
	if id == "" {
		st.score = score
		a.status = fmt.Sprintf("your rating: %d of 5 (kept when you decide)", score)
		return
	}
	a.pref = &prefOp{kind: "rate", id: id, k: score, comment: comment}
	a.runPrefOp()
}

func (a *Approvals) runPrefOp() {
	op := a.pref
	if op == nil {
		return
	}
	q, ok := a.Queue.(PreferenceQueue)
	if !ok {
		a.pref, a.err = nil, "this queue cannot show alternatives or take ratings"
		a.prefFor(op.id).asking = false
		return
	}
	var err error
	var alts []AlternativeView
	switch op.kind {
	case "alternatives":
		alts, err = q.Alternatives(op.id, op.k)
	case "pick":
		err = q.Pick(op.id, op.k)
	case "rate":
		err = q.Rate(op.id, op.k, op.comment)
	}
	if errors.Is(err, ErrPending) {
		return
	}
	a.pref = nil
	st := a.prefFor(op.id)
	switch op.kind {
	case "alternatives":
		st.asking = false
		if alts != nil {
			st.alts = alts
		}
		if err == nil {
			a.status = fmt.Sprintf("%d alternative(s) to %s", len(st.alts), op.id)
		}
	case "pick":
		a.loaded = false
		if err == nil {
			a.status = fmt.Sprintf("approved %s with %s: installed", op.id, altName(op.k))
		}
	case "rate":
		if err == nil {
			st.comment.SetText("")
			a.status = fmt.Sprintf("rated %s %d of 5", op.id, op.k)
		}
	}
	a.err = ""
	if err != nil {
		a.err, a.status = err.Error(), ""
	}
}

func altName(k int) string {
	if k == 0 {
		return "the original proposal"
	}
	return fmt.Sprintf("alternative %d", k)
}

// Choose implements agent.Chooser: the live proposal with Show
// alternatives (run on the VM's goroutine, which waits here), Pick, the
// rating and Approve/Reject.
func (p paneApprover) Choose(ctx context.Context, o *agent.Offer) (agent.Choice, error) {
	return p.a.choose(ctx, ViewOf("", o.Proposal, o.Sandbox, o.Decision.Reason).WithCurrent(p.v), o)
}

var _ agent.Chooser = paneApprover{}

// choose shows view as the live proposal and blocks until the person
// decides or ctx is done; meanwhile it asks o for alternatives when the
// pane requests them. o may be nil (no alternatives).
func (a *Approvals) choose(ctx context.Context, view ProposalView, o *agent.Offer) (agent.Choice, error) {
	ch := make(chan agent.Choice, 1)
	var more chan int
	if o != nil && o.More != nil {
		more = make(chan int, 1)
	}
	a.mu.Lock()
	if a.live != nil {
		a.mu.Unlock()
		return agent.Choice{}, errors.New("another proposal is waiting for approval")
	}
	a.live, a.reply, a.more = &view, ch, more
	a.liveGen++ // the live proposal's widgets start afresh (on the UI's goroutine)
	a.mu.Unlock()
	a.invalidate()
	for {
		select {
		case c := <-ch:
			c.Note = "in the GUI"
			return c, nil
		case n := <-more:
			_, err := o.More(ctx, n)
			a.mu.Lock()
			if a.reply == ch {
				a.live.Alternatives = alternativeViews(o.Proposal, o.Alternatives)
				a.liveErr = ""
				if err != nil {
					a.liveErr = err.Error()
				}
				a.liveDone++
			}
			a.mu.Unlock()
			a.invalidate()
		case <-ctx.Done():
			a.mu.Lock()
			if a.reply == ch {
				a.live, a.reply, a.more = nil, nil, nil
			}
			a.mu.Unlock()
			a.invalidate()
			return agent.Choice{}, ctx.Err()
		}
	}
}

// preferenceItems are the list items under a proposal's card: Show
// alternatives and the rating row, then the alternatives.
func (a *Approvals) preferenceItems(th *material.Theme, id string, alts []AlternativeView) []layout.Widget {
	st := a.prefFor(id)
	suffix := ""
	if id != "" {
		suffix = " of " + id
	}
	var items []layout.Widget
	items = append(items, func(gtx layout.Context) layout.Dimensions {
		showLabel := "Show alternatives" + suffix
		if st.asking {
			showLabel = "Asking for alternatives…"
		}
		stars := []layout.FlexChild{layout.Rigid(material.Body2(th, "Rate it:").Layout), layout.Rigid(layout.Spacer{Width: unit.Dp(6)}.Layout)}
		for i := range st.stars {
			label := fmt.Sprintf("Rate %d", i+1)
			if id != "" {
				label = fmt.Sprintf("Rate %s: %d", id, i+1)
			}
			b := material.Button(th, &st.stars[i], label)
			if id == "" && st.score == i+1 {
				b.Background = liveRim
			} else {
				b.Background = queueRm
			}
			b.Inset = layout.UniformInset(unit.Dp(4))
			stars = append(stars, layout.Rigid(b.Layout), layout.Rigid(layout.Spacer{Width: unit.Dp(2)}.Layout))
		}
		return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
			layout.Rigid(func(gtx layout.Context) layout.Dimensions {
				gtx.Constraints.Min.X = 0
				return material.Button(th, &st.show, showLabel).Layout(gtx)
			}),
			layout.Rigid(layout.Spacer{Height: unit.Dp(4)}.Layout),
			layout.Rigid(func(gtx layout.Context) layout.Dimensions {
				return layout.Flex{Alignment: layout.Middle}.Layout(gtx, stars...)
			}),
			layout.Rigid(func(gtx layout.Context) layout.Dimensions {
				gtx.Constraints.Min.X = gtx.Constraints.Max.X
				e := material.Editor(th, &st.comment, "comment on the rating"+suffix)
				e.TextSize = unit.Sp(13)
				return widget.Border{Color: queueRm, Width: unit.Dp(1)}.Layout(gtx, func(gtx layout.Context) layout.Dimensions {
					return layout.UniformInset(unit.Dp(4)).Layout(gtx, e.Layout)
				})
			}),
		)
	})
	for len(st.picks) < len(alts) {
		st.picks = append(st.picks, widget.Clickable{})
	}
	for i, alt := range alts {
		pick := &st.picks[i]
		items = append(items, func(gtx layout.Context) layout.Dimensions {
			return a.alternative(gtx, th, id, alt, pick)
		})
	}
	return items
}

// alternative draws one alternative: its verdict, reasoning, diff against
// the proposal, test lines and a Pick button when it passed.
func (a *Approvals) alternative(gtx layout.Context, th *material.Theme, id string, alt AlternativeView, pick *widget.Clickable) layout.Dimensions {
	title := fmt.Sprintf("Alternative %d", alt.N)
	if id != "" {
		title += " of " + id
	}
	rows := []layout.FlexChild{
		layout.Rigid(material.Body1(th, title+": "+alt.Status).Layout),
	}
	if alt.Explanation != "" {
		rows = append(rows, layout.Rigid(material.Body2(th, "reasoning: "+alt.Explanation).Layout))
	}
	if alt.Diff != "" {
		rows = append(rows, layout.Rigid(material.Caption(th, "against the proposal:").Layout))
		for _, l := range strings.Split(alt.Diff, "\n") {
			rows = append(rows, layout.Rigid(diffLine(th, l)))
		}
	}
	for _, t := range alt.TestLines {
		rows = append(rows, layout.Rigid(material.Caption(th, "  "+firstLineOf(t)).Layout))
	}
	if alt.OK {
		label := fmt.Sprintf("Pick %d", alt.N)
		if id != "" {
			label = fmt.Sprintf("Pick %d for %s", alt.N, id)
		}
		rows = append(rows, layout.Rigid(layout.Spacer{Height: unit.Dp(4)}.Layout),
			layout.Rigid(material.Button(th, pick, label).Layout))
	}
	gtx.Constraints.Min.X = gtx.Constraints.Max.X
	inset := layout.Inset{Left: unit.Dp(24)}
	return inset.Layout(gtx, func(gtx layout.Context) layout.Dimensions {
		bg, rim := queueBg, queueRm
		if !alt.OK {
			rim = errorColor
		}
		return card(gtx, bg, rim, func(gtx layout.Context) layout.Dimensions {
			return layout.Flex{Axis: layout.Vertical}.Layout(gtx, rows...)
		})
	})
}

func firstLineOf(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

// preferenceClicks handles the preference widgets' clicks of the last
// frame, before the pane is drawn.
func (a *Approvals) preferenceClicks(gtx layout.Context) {
	a.mu.Lock()
	done, liveErr, gen := a.liveDone, a.liveErr, a.liveGen
	a.mu.Unlock()
	if gen != a.liveGenSeen {
		delete(a.prefs, "")
		a.liveGenSeen = gen
	}
	for id, st := range a.prefs {
		if st.show.Clicked(gtx) && !st.asking {
			a.ShowAlternatives(id)
		}
		for i := range st.stars {
			if st.stars[i].Clicked(gtx) {
				a.Rate(id, i+1)
			}
		}
		for i := range st.picks {
			if st.picks[i].Clicked(gtx) {
				k := i + 1
				if alts := a.Alternatives(id); i < len(alts) {
					k = alts[i].N
				}
				a.Pick(id, k)
			}
		}
	}

	if st := a.prefs[""]; st != nil && st.asking && done != a.liveSeen {
		st.asking = false
		a.liveSeen = done
		if liveErr != "" {
			a.err = liveErr
		}
	}
}
