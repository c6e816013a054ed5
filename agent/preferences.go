package agent

// Preference feedback (Chapter 13 of the seed): the person asks for
// alternatives to a proposal, picks one and rates them; the choices and
// ratings are kept in the image (image.Preference, outside transactions)
// and summarised in later prompts under "The person's preferences".
//
// Everything about it lives in this file: the alternatives' prompt, the
// preference records, their summary for prompts, and the queued and
// interactive ways to ask for, pick and rate alternatives. The resolver
// calls in at two points only: Resolve appends preferencesSection to its
// prompt, and Consider asks a Chooser through askPerson.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/phoenix-image/phoenix/image"
	"github.com/phoenix-image/phoenix/sandbox"
	"github.com/phoenix-image/phoenix/vm"
)

// Alternative is one more proposal for the same method, asked of the LLM
// after the first, with its sandbox result. N counts from 1; 0 names the
// original proposal wherever alternatives are picked.
type Alternative struct {
	N        int             `json:"n"`
	Proposal *Proposal       `json:"proposal,omitempty"`
	Sandbox  *sandbox.Result `json:"sandbox,omitempty"`
	Error    string          `json:"error,omitempty"` // why there is no usable, validated proposal
}

// OK reports whether the alternative was validated and may be installed.
func (a Alternative) OK() bool { return a.Proposal != nil && a.Sandbox != nil && a.Sandbox.OK }

// Status is a one-line summary of the alternative's validation.
func (a Alternative) Status() string {
	switch {
	case a.Error != "":
		return "unusable: " + a.Error
	case a.Sandbox == nil:
		return "not validated"
	case a.Sandbox.OK:
		s := fmt.Sprintf("sandbox (%s): %d passed, %d failed", a.Sandbox.Boundary, a.Sandbox.Passed, a.Sandbox.Failed)
		if a.Sandbox.CallResult != "" {
			s += "; the call gives " + a.Sandbox.CallResult
		}
		return s
	}
	return "validation failed: " + failureText(a.Sandbox)
}

// MaxAlternatives bounds how many alternatives one request may ask for.
const MaxAlternatives = 8

// PreferenceStore is where preferences are kept (*image.Image implements
// it). The resolver uses its Journal when that implements it.
type PreferenceStore interface {
	AddPreference(p *image.Preference) (*image.Preference, error)
	PreferencesTail(n int) ([]*image.Preference, error)
}

// Preference kinds.
const (
	PrefChoice = "choice" // the person picked one proposal over others
	PrefRating = "rating" // the person rated one proposal
)

// Sketch is what a preference keeps of one proposal: enough to remind a
// model of its approach, bounded in size.
type Sketch struct {
	Label       string `json:"label"` // "the original proposal", "alternative 2"
	Explanation string `json:"explanation,omitempty"`
	Source      string `json:"source,omitempty"`
}

// PreferenceData is the Data of an image.Preference the agent writes.
type PreferenceData struct {
	Chosen   *Sketch  `json:"chosen,omitempty"`   // choice: the one picked (nil: all rejected)
	Rejected []Sketch `json:"rejected,omitempty"` // choice: the others
	Rated    *Sketch  `json:"rated,omitempty"`    // rating: the one rated
	Score    int      `json:"score,omitempty"`    // rating: 1..5
	Comment  string   `json:"comment,omitempty"`  // rating: the person's words
}

const (
	maxSketchSource      = 600
	maxSketchExplanation = 200
	maxComment           = 500
	// maxPreferencesPrompt bounds the prompt section in bytes.
	maxPreferencesPrompt = 2400
	// preferencesScanned is how many recent preferences a prompt looks at.
	preferencesScanned = 200
)

func clip(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8Start(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }

func sketch(label string, p *Proposal) Sketch {
	return Sketch{Label: label, Explanation: clip(firstLine(p.Explanation), maxSketchExplanation), Source: clip(p.Source, maxSketchSource)}
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return l
}

func altLabel(k int) string {
	if k == 0 {
		return "the original proposal"
	}
	return fmt.Sprintf("alternative %d", k)
}

// preferenceStore is the resolver's store of preferences, or nil.
func (r *Resolver) preferenceStore() PreferenceStore {
	return storeOf(r.Journal)
}

func storeOf(j Journal) PreferenceStore {
	ps, _ := j.(PreferenceStore)
	return ps
}

// RecordChoice keeps that the person chose proposal k (0: the original;
// -1: none of them) among the original and alts for approval id ("" when
// not queued), and
// audits it as indices and a hash (the sources stay out of the log).
func RecordChoice(j Journal, id string, orig *Proposal, alts []Alternative, k int) error {
	ps := storeOf(j)
	if ps == nil {
		return errors.New("the image keeps no preferences")
	}
	all := append([]*Proposal{orig}, make([]*Proposal, len(alts))...)
	for i, a := range alts {
		all[i+1] = a.Proposal
	}
	var d PreferenceData
	for i, p := range all {
		if p == nil {
			continue
		}
		if i == k {
			s := sketch(altLabel(i), p)
			d.Chosen = &s
		} else {
			d.Rejected = append(d.Rejected, sketch(altLabel(i), p))
		}
	}
	data, _ := json.Marshal(d)
	if _, err := ps.AddPreference(&image.Preference{Kind: PrefChoice, Object: orig.Target, Selector: orig.Selector, Approval: id, Data: data}); err != nil {
		return err
	}
	audit := map[string]any{"kind": PrefChoice, "approval": id, "picked": k, "of": len(all)}
	if k >= 0 && k < len(all) && all[k] != nil {
		audit["sha256"] = sha(all[k].Source)
	}
	j.AppendAudit("preference", "human", orig.Target+">>"+orig.Selector, audit)
	return nil
}

// RecordRating keeps the person's score (1 to 5) and comment for proposal
// p (labelled, e.g. "alternative 2") and audits the score; the comment is
// audited as hash and size, since it goes into later prompts.
func RecordRating(j Journal, id, label string, p *Proposal, score int, comment string) error {
	if score < 1 || score > 5 {
		return fmt.Errorf("score %d: a rating is 1 to 5", score)
	}
	ps := storeOf(j)
	if ps == nil {
		return errors.New("the image keeps no preferences")
	}
	s := sketch(label, p)
	comment = clip(comment, maxComment)
	data, _ := json.Marshal(PreferenceData{Rated: &s, Score: score, Comment: comment})
	if _, err := ps.AddPreference(&image.Preference{Kind: PrefRating, Object: p.Target, Selector: p.Selector, Approval: id, Data: data}); err != nil {
		return err
	}
	audit := map[string]any{"kind": PrefRating, "approval": id, "of": label, "score": score, "sha256": sha(p.Source)}
	if comment != "" {
		audit["comment"] = map[string]any{"sha256": sha(comment), "bytes": len(comment)}
	}
	j.AppendAudit("preference", "human", p.Target+">>"+p.Selector, audit)
	return nil
}

// preferencesSection is the prompt's "The person's preferences" section
// for a method of target: the recent choices and ratings about target
// first, then the others, bounded to maxPreferencesPrompt bytes; "" when
// there are none.
func preferencesSection(ps PreferenceStore, target string) string {
	if ps == nil {
		return ""
	}
	prefs, err := ps.PreferencesTail(preferencesScanned)
	if err != nil || len(prefs) == 0 {
		return ""
	}
	var here, elsewhere []*image.Preference
	sum, n := 0, 0
	for _, p := range prefs {
		var d PreferenceData
		if json.Unmarshal(p.Data, &d) == nil && p.Kind == PrefRating && d.Score > 0 {
			sum += d.Score
			n++
		}
		if p.Object == target {
			here = append(here, p)
		} else {
			elsewhere = append(elsewhere, p)
		}
	}
	var sb strings.Builder
	sb.WriteString("\n\nThe person's preferences (from their recent choices among proposals and their ratings, newest first; follow them where they apply):\n")
	head := sb.Len()
	for _, p := range append(here, elsewhere...) {
		line := preferenceLine(p)
		if line == "" {
			continue
		}
		if sb.Len()+len(line) > maxPreferencesPrompt {
			break
		}
		sb.WriteString(line)
	}
	if sb.Len() == head {
		return ""
	}
	if n > 0 {
		fmt.Fprintf(&sb, "- Overall: %d rating(s), average %.1f of 5.\n", n, float64(sum)/float64(n))
	}
	return sb.String()
}

func preferenceLine(p *image.Preference) string {
	var d PreferenceData
	if err := json.Unmarshal(p.Data, &d); err != nil {
		return ""
	}
	subject := p.Object + ">>" + p.Selector
	var sb strings.Builder
	switch p.Kind {
	case PrefChoice:
		if d.Chosen == nil {
			fmt.Fprintf(&sb, "- For %s they rejected every proposal", subject)
		} else {
			fmt.Fprintf(&sb, "- For %s they chose %s over %d other(s)", subject, describeSketch(d.Chosen), len(d.Rejected))
		}
		for i, r := range d.Rejected {
			if i == 0 {
				sb.WriteString("; not chosen: ")
			} else {
				sb.WriteString("; ")
			}
			sb.WriteString(r.Label)
			if r.Explanation != "" {
				fmt.Fprintf(&sb, " (%q)", r.Explanation)
			}
		}
		sb.WriteString(".\n")
		if d.Chosen != nil && d.Chosen.Source != "" {
			fmt.Fprintf(&sb, "  The chosen one:\n```lua\n%s\n```\n", d.Chosen.Source)
		}
	case PrefRating:
		if d.Rated == nil {
			return ""
		}
		fmt.Fprintf(&sb, "- They rated %s for %s %d of 5", describeSketch(d.Rated), subject, d.Score)
		if d.Comment != "" {
			fmt.Fprintf(&sb, ", saying: %q", d.Comment)
		}
		sb.WriteString(".\n")
	default:
		return ""
	}
	return sb.String()
}

func describeSketch(s *Sketch) string {
	if s.Explanation != "" {
		return fmt.Sprintf("%s (%q)", s.Label, s.Explanation)
	}
	return s.Label
}

// Alternatives asks the LLM for n alternatives to p for target, one
// request each, and validates each in the sandbox as any proposal is;
// they are numbered after the first and alternatives already there
// (prior). It runs on the VM's goroutine. An alternative whose reply is
// unusable or whose validation fails is returned with its reason; the
// error is for having no LLM or no sandbox at all. progress, if not nil,
// is told after each alternative.
func (r *Resolver) Alternatives(ctx context.Context, v *vm.VM, target *vm.Object, p *Proposal, call string, prior []Alternative, n int, progress func(done, total int)) ([]Alternative, error) {
	if r.LLM == nil {
		return nil, errors.New("no LLM is configured (set OPENAI_BASE_URL and PHOENIX_MODEL, or configure an LLM object)")
	}
	if n < 1 || n > MaxAlternatives {
		return nil, fmt.Errorf("%d alternatives: ask for 1 to %d", n, MaxAlternatives)
	}
	val, err := r.Sandbox(v)
	if err != nil {
		return nil, err
	}
	tname := target.Name()
	subject := tname + ">>" + p.Selector
	var ctxText, ctxSrc string
	err = v.Do(ctx, vm.TxOptions{Rollback: true}, func() error { // read only
		ctxText = describeContext(v, target, &vm.DNURequest{Receiver: target, Selector: p.Selector}, call)
		var err error
		ctxSrc, err = image.FileoutSource(v, tname)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("cannot describe %s: %w", tname, err)
	}
	prefs := preferencesSection(r.preferenceStore(), tname)
	seen := append([]Alternative{{Proposal: p}}, prior...)
	var out []Alternative
	for i := 0; i < n; i++ {
		k := len(prior) + len(out) + 1
		msgs := []openai.ChatCompletionMessage{
			{Role: openai.ChatMessageRoleSystem, Content: systemPrompt},
			{Role: openai.ChatMessageRoleUser, Content: ctxText + alternativeRequest(seen, k) + prefs},
		}
		r.audit("prompt", "agent", subject, withAlt(promptDigest(msgs, r.Model), k))
		alt := Alternative{N: k}
		start := time.Now()
		resp, err := r.LLM.Chat(ctx, ChatRequest{Messages: msgs, Tools: []openai.Tool{proposeToolSpec}})
		if err != nil {
			r.audit("llm-error", "agent", subject, map[string]any{"error": err.Error(), "alternative": k})
			if ctx.Err() != nil {
				return out, ctx.Err()
			}
			alt.Error = "the LLM failed: " + err.Error()
		} else {
			toolName, toolArgs := "", ""
			if len(resp.ToolCalls) > 0 {
				toolName, toolArgs = resp.ToolCalls[0].Function.Name, resp.ToolCalls[0].Function.Arguments
			}
			ap, perr := ParseProposal(resp.Content, toolName, toolArgs, tname, p.Selector)
			r.audit("response", "agent", subject, map[string]any{
				"tool": toolName, "sha256": sha(resp.Content + toolArgs), "bytes": len(resp.Content) + len(toolArgs),
				"latencyMs": time.Since(start).Milliseconds(), "parsed": perr == nil, "alternative": k,
			})
			if perr != nil {
				alt.Error = perr.Error()
			} else {
				ap.Model = r.Model
				alt.Proposal = ap
				res, verr := val.Validate(ctx, &sandbox.Request{Context: ctxSrc, Receiver: tname, Selector: p.Selector, Source: ap.Source, Tests: ap.Tests, Call: call})
				if verr != nil {
					r.audit("sandbox", "system", subject, map[string]any{"boundary": val.Boundary(), "error": verr.Error(), "alternative": k})
					alt.Error = "the sandbox failed: " + verr.Error()
				} else {
					r.audit("sandbox", "system", subject, withAlt(sandboxSummary(res), k))
					alt.Sandbox = res
				}
			}
		}
		out = append(out, alt)
		seen = append(seen, alt)
		if progress != nil {
			progress(i+1, n)
		}
	}
	return out, nil
}

func withAlt(m map[string]any, k int) map[string]any {
	m["alternative"] = k
	return m
}

// alternativeRequest asks for alternative k, showing the proposals so far
// (their sources bounded) so that it differs from them.
func alternativeRequest(seen []Alternative, k int) string {
	var sb strings.Builder
	sb.WriteString("\nThe person asked for alternatives to what was proposed so far:\n")
	budget := maxContextSource / 2
	for i, a := range seen {
		if a.Proposal == nil {
			continue
		}
		src := a.Proposal.Source
		if len(src) > budget {
			src = "(source omitted)"
		}
		budget -= len(src)
		fmt.Fprintf(&sb, "%s:\n```lua\n%s\n```\n", strings.ToUpper(altLabel(i)[:1])+altLabel(i)[1:], src)
	}
	fmt.Fprintf(&sb, "Write alternative %d: the same method with a genuinely different approach, behaviour or style, with its own tests. Answer with propose_method.\n", k)
	return sb.String()
}

// AlternativesQueued asks for n more alternatives to the pending approval
// id, validates them, keeps them in the approval (numbered after those it
// has) and returns the approval as stored and the new alternatives. It
// runs on the VM's goroutine.
func (r *Resolver) AlternativesQueued(ctx context.Context, v *vm.VM, id string, n int, progress func(done, total int)) (*image.Approval, []Alternative, error) {
	if r.Journal == nil {
		return nil, nil, errors.New("no approval queue")
	}
	a, err := r.Journal.GetApproval(id)
	if err != nil {
		return nil, nil, err
	}
	if a.Status != image.ApprovalPending {
		return nil, nil, fmt.Errorf("approval %s is %s, not pending: alternatives are for proposals that wait", a.ID, a.Status)
	}
	rec := DecodeApproval(a)
	target := v.Global(rec.Proposal.Target)
	if target == nil {
		return nil, nil, fmt.Errorf("approval %s: the image has no object %s any more", a.ID, rec.Proposal.Target)
	}
	alts, err := r.Alternatives(ctx, v, target, &rec.Proposal, rec.Call, rec.Alternatives, n, progress)
	if len(alts) == 0 {
		return nil, nil, err
	}
	rec.Alternatives = append(rec.Alternatives, alts...)
	data, merr := json.Marshal(rec)
	if merr != nil {
		return nil, nil, merr
	}
	a.Data = data
	a, perr := r.Journal.PutApproval(a)
	if perr != nil {
		return nil, nil, fmt.Errorf("keeping the alternatives in approval %s: %w", id, perr)
	}
	return a, alts, err
}

// chosen returns proposal k of rec (0: the original) and its sandbox
// result, or an error naming what is wrong with it.
func chosen(id string, rec *ProposalRecord, k int) (*Proposal, *sandbox.Result, error) {
	if k == 0 {
		return &rec.Proposal, rec.Sandbox, nil
	}
	if k < 0 || k > len(rec.Alternatives) {
		if len(rec.Alternatives) == 0 {
			return nil, nil, fmt.Errorf("approval %s has no alternative %d (it has none; ask with phoenix approvals alternatives %s)", id, k, id)
		}
		return nil, nil, fmt.Errorf("approval %s has no alternative %d (it has 1 to %d, and 0 is the original)", id, k, len(rec.Alternatives))
	}
	alt := rec.Alternatives[k-1]
	if !alt.OK() {
		return nil, nil, fmt.Errorf("alternative %d of approval %s cannot be installed: %s", k, id, alt.Status())
	}
	return alt.Proposal, alt.Sandbox, nil
}

// PickQueued approves the pending approval id with its proposal k (0: the
// original, as ApproveQueued does; k: its k-th alternative, which must
// have passed the sandbox): it installs that method with the agent's
// provenance as one transaction on v, marks the approval approved by by,
// and, when the approval had alternatives, keeps the choice as a
// preference. Everything is audited.
func PickQueued(ctx context.Context, v *vm.VM, j Journal, id string, k int, by, note string) (*image.Approval, error) {
	a, err := j.GetApproval(id)
	if err != nil {
		return nil, err
	}
	if a.Status != image.ApprovalPending {
		return nil, fmt.Errorf("approval %s is %s, not pending", a.ID, a.Status)
	}
	rec := DecodeApproval(a)
	p, _, err := chosen(a.ID, &rec, k)
	if err != nil {
		return nil, err
	}
	target := v.Global(p.Target)
	if target == nil {
		return nil, fmt.Errorf("approval %s: the image has no object %s any more", a.ID, p.Target)
	}
	subject := p.Target + ">>" + p.Selector
	how := "approval " + a.ID
	if k > 0 {
		how += fmt.Sprintf(", alternative %d", k)
	}
	err = v.Do(ctx, vm.TxOptions{Author: vm.AuthorAgent}, func() error {
		return Install(v, target, p, by, how+suffix(note))
	})
	if err != nil {
		return nil, err
	}
	if k > 0 {
		rec.Picked = k
		if data, err := json.Marshal(rec); err == nil {
			a.Data = data
			if na, err := j.PutApproval(a); err == nil {
				a = na
			}
		}
		if note == "" {
			note = altLabel(k)
		} else {
			note = altLabel(k) + ": " + note
		}
	}
	a, err = j.DecideApproval(a.ID, image.ApprovalApproved, by, note)
	if err != nil {
		return nil, err
	}
	ad := map[string]any{"approval": a.ID, "approved": true, "note": note}
	if len(rec.Alternatives) > 0 {
		ad["picked"] = k
	}
	j.AppendAudit("approval", "human", subject, ad)
	j.AppendAudit("install", "agent", subject, map[string]any{"approval": a.ID, "approvedBy": by, "sha256": sha(p.Source)})
	if len(rec.Alternatives) > 0 {
		RecordChoice(j, a.ID, &rec.Proposal, rec.Alternatives, k)
	}
	return a, nil
}

// RateQueued rates a proposal of approval id (pending or decided) from 1
// to 5 with an optional comment: alternative k, or with k < 0 the one
// that was installed (the original unless an alternative was picked).
func RateQueued(j Journal, id string, k, score int, comment string) (*image.Approval, error) {
	if score < 1 || score > 5 {
		return nil, fmt.Errorf("approval %s: score %d: a rating is 1 to 5", id, score)
	}
	a, err := j.GetApproval(id)
	if err != nil {
		return nil, err
	}
	rec := DecodeApproval(a)
	if k < 0 {
		k = rec.Picked
	}
	var p *Proposal
	switch {
	case k == 0:
		p = &rec.Proposal
	case k <= len(rec.Alternatives) && rec.Alternatives[k-1].Proposal != nil:
		p = rec.Alternatives[k-1].Proposal
	default:
		return nil, fmt.Errorf("approval %s has no alternative %d to rate", id, k)
	}
	if err := RecordRating(j, a.ID, altLabel(k), p, score, comment); err != nil {
		return nil, fmt.Errorf("approval %s: %w", id, err)
	}
	return a, nil
}

// Offer is a proposal put to a person interactively, with the means to
// ask for alternatives to it.
type Offer struct {
	Proposal *Proposal
	Sandbox  *sandbox.Result
	Decision Decision
	// Alternatives are those asked for so far (More appends to them).
	Alternatives []Alternative
	// More asks the LLM for n more alternatives, validated; it runs on
	// the VM's goroutine (the one Choose is called on). nil: no LLM.
	More func(ctx context.Context, n int) ([]Alternative, error)
}

// Choice is the person's answer to an Offer.
type Choice struct {
	Approved bool
	Note     string
	Pick     int    // 0: the offered proposal; k: Alternatives[k-1]
	Score    int    // 1..5 for the picked (or, if not approved, the offered) proposal; 0: not rated
	Comment  string // with Score
}

// Chooser is an Approver that can also show alternatives and take a
// rating. The resolver prefers it to Approve when its Approver has it.
type Chooser interface {
	Choose(ctx context.Context, o *Offer) (Choice, error)
}

// askPerson asks the resolver's Approver about p: a Chooser with an offer
// (alternatives on request, a rating), else plain Approve. It returns
// the proposal and sandbox result to install (an alternative if one was
// picked) and keeps the choice and rating as preferences.
func (r *Resolver) askPerson(ctx context.Context, v *vm.VM, target *vm.Object, p *Proposal, res *sandbox.Result, d Decision, call string) (bool, string, *Proposal, *sandbox.Result, error) {
	ch, ok := r.Approver.(Chooser)
	if !ok {
		approved, why, err := r.Approver.Approve(ctx, p, res, d)
		return approved, why, p, res, err
	}
	o := &Offer{Proposal: p, Sandbox: res, Decision: d}
	if r.LLM != nil {
		o.More = func(ctx context.Context, n int) ([]Alternative, error) {
			alts, err := r.Alternatives(ctx, v, target, p, call, o.Alternatives, n, nil)
			o.Alternatives = append(o.Alternatives, alts...)
			return alts, err
		}
	}
	c, err := ch.Choose(ctx, o)
	if err != nil {
		return false, "", p, res, err
	}
	rec := ProposalRecord{Proposal: *p, Sandbox: res, Alternatives: o.Alternatives}
	pick, pres, perr := chosen("(asked now)", &rec, c.Pick)
	if c.Approved && perr != nil {
		return false, "", p, res, perr
	}
	if !c.Approved {
		pick, pres = p, res
	}
	if len(o.Alternatives) > 0 {
		k := c.Pick
		if !c.Approved {
			k = -1 // none of them
		}
		RecordChoice(r.Journal, "", p, o.Alternatives, k)
	}
	if c.Score != 0 {
		label := altLabel(0)
		if c.Approved {
			label = altLabel(c.Pick)
		}
		if err := RecordRating(r.Journal, "", label, pick, c.Score, c.Comment); err != nil {
			log := r.Log
			if log == nil {
				log = slog.Default()
			}
			log.Warn("the rating was not kept", "method", p.Target+">>"+p.Selector, "err", err)
		}
	}
	note := c.Note
	if c.Approved && c.Pick > 0 {
		note = strings.TrimSpace(altLabel(c.Pick) + " " + note)
	}
	return c.Approved, note, pick, pres, nil
}
