package agent

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/phoenix-image/phoenix/agent/llmtest"
	"github.com/phoenix-image/phoenix/bootstrap"
	"github.com/phoenix-image/phoenix/image"
	"github.com/phoenix-image/phoenix/sandbox"
	"github.com/phoenix-image/phoenix/vm"
)

const (
	guardedWithdraw = "function Account:withdraw(n)\n  if n > self.balance then error(\"insufficient funds\") end\n  self.balance = self.balance - n\n  return self\nend"
	brokenWithdraw  = "function Account:withdraw(n)\n  self.balance = self.balance + n\n  return self\nend"
	depositSource   = "function Account:deposit(n)\n  self.balance = self.balance + n\n  return self\nend"
	depositTests    = "function ProposalTest:testDeposit()\n  local a = Account:clone(); a.balance = 1\n  self:assertEquals(3, a:deposit(2).balance)\nend"
)

func proposeWhy(source, tests, why string) llmtest.Step {
	return llmtest.ToolCall(ProposeTool, mustJSON(map[string]string{"source": source, "tests": tests, "explanation": why}))
}

// queueWithdraw queues a validated withdraw proposal (nobody to ask).
func (f *fixture) queueWithdraw(t *testing.T) string {
	t.Helper()
	q := *f.r
	q.Approver = nil
	p := &Proposal{Target: "Account", Selector: "withdraw", Source: withdrawSource, Tests: withdrawTests, Explanation: "subtracts n", Model: "fake-coder", Via: "tool call"}
	ok, why := q.Consider(context.Background(), f.s.VM, f.s.VM.Global("Account"), p, withdrawCall)
	if ok || !strings.Contains(why, "waits for a person") {
		t.Fatalf("not queued: %v %s", ok, why)
	}
	as, err := f.s.Image.Approvals(image.ApprovalPending)
	if err != nil || len(as) != 1 {
		t.Fatalf("queue: %v %v", as, err)
	}
	return as[0].ID
}

func lastUserMessage(r llmtest.Recorded) string {
	m := r.Body.Messages
	return m[len(m)-1].Content
}

// TestPreferencesChangeTheNextPrompt: alternatives are asked for, validated
// and kept; the person picks one and rates it; the next prompt — in this
// process and after a restart — carries "The person's preferences" with
// that choice and rating, and the one before it did not.
func TestPreferencesChangeTheNextPrompt(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	id := f.queueWithdraw(t)

	f.srv.Script(
		proposeWhy(guardedWithdraw, "function ProposalTest:testGuard()\n  local a = Account:clone(); a.balance = 10\n  self:assertEquals(7, a:withdraw(3).balance)\n  self:assertError(function() a:withdraw(100) end)\nend", "refuses to overdraw"),
		proposeWhy(brokenWithdraw, withdrawTests, "adds instead"),
	)
	a, alts, err := f.r.AlternativesQueued(ctx, f.s.VM, id, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(alts) != 2 || alts[0].N != 1 || !alts[0].OK() || alts[1].OK() || !strings.Contains(alts[1].Status(), "validation failed") {
		t.Fatalf("alternatives: %+v", alts)
	}
	if rec := DecodeApproval(a); len(rec.Alternatives) != 2 || rec.Alternatives[0].Proposal.Source != guardedWithdraw {
		t.Fatalf("the approval does not keep its alternatives: %+v", rec)
	}
	reqs := f.srv.Requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests for 2 alternatives", len(reqs))
	}
	first, second := lastUserMessage(reqs[0]), lastUserMessage(reqs[1])
	if !strings.Contains(first, "Write alternative 1") || !strings.Contains(first, "self.balance - n") || strings.Contains(first, "The person's preferences") {
		t.Fatalf("the first alternative's prompt:\n%s", first)
	}
	if !strings.Contains(second, "Write alternative 2") || !strings.Contains(second, "insufficient funds") {
		t.Fatalf("the second alternative's prompt does not show the first:\n%s", second)
	}

	// Bad picks name the approval and the alternative, and change nothing.
	if _, err := PickQueued(ctx, f.s.VM, f.s.Image, id, 2, "human", ""); err == nil || !strings.Contains(err.Error(), "alternative 2 of approval "+id) {
		t.Fatalf("picking a failed alternative: %v", err)
	}
	if _, err := PickQueued(ctx, f.s.VM, f.s.Image, id, 9, "human", ""); err == nil || !strings.Contains(err.Error(), "has no alternative 9") {
		t.Fatalf("picking a missing alternative: %v", err)
	}
	if _, err := RateQueued(f.s.Image, id, 1, 7, ""); err == nil || !strings.Contains(err.Error(), "score 7") {
		t.Fatalf("a rating of 7: %v", err)
	}
	if got, _ := f.eval(t, "return Account.withdraw"); got != "nil" {
		t.Fatalf("a refused pick installed something: %s", got)
	}

	if _, err := PickQueued(ctx, f.s.VM, f.s.Image, id, 1, "human", ""); err != nil {
		t.Fatal(err)
	}
	if src, _ := f.s.VM.MethodSource(f.s.VM.Global("Account"), "withdraw"); src != guardedWithdraw {
		t.Fatalf("installed %q, want alternative 1", src)
	}
	if a, _ := f.s.Image.GetApproval(id); a.Status != image.ApprovalApproved || DecodeApproval(a).Picked != 1 || !strings.Contains(a.Note, "alternative 1") {
		t.Fatalf("approval after the pick: %+v", a)
	}
	if _, err := RateQueued(f.s.Image, id, -1, 5, "keep overdraft checks"); err != nil {
		t.Fatal(err)
	}
	if _, err := RateQueued(f.s.Image, id, 2, 1, "wrong sign"); err != nil {
		t.Fatal(err)
	}

	// The next message not understood: its prompt carries the preferences.
	f.r.AutoApprove = true
	f.srv.Script(proposeWhy(depositSource, depositTests, "adds n"))
	if got, err := f.eval(t, "local a = Account:clone(); a.balance = 1; return a:deposit(2).balance"); err != nil || got != "3" {
		t.Fatalf("deposit: %q %v", got, err)
	}
	reqs = f.srv.Requests()
	prompt := lastUserMessage(reqs[len(reqs)-1])
	for _, want := range []string{
		"The person's preferences",
		`For Account>>withdraw they chose alternative 1 ("refuses to overdraw") over 2 other(s)`,
		`the original proposal ("subtracts n")`,
		"insufficient funds",
		`They rated alternative 1 ("refuses to overdraw") for Account>>withdraw 5 of 5, saying: "keep overdraft checks"`,
		`rated alternative 2 ("adds instead") for Account>>withdraw 1 of 5, saying: "wrong sign"`,
		"Overall: 2 rating(s), average 3.0 of 5",
	} {
		if !strings.Contains(prompt, want) {
			t.Errorf("the next prompt lacks %q", want)
		}
	}
	if t.Failed() || testing.Verbose() {
		t.Logf("prompt:\n%s", prompt)
	}
	if len(prompt) > 12000 {
		t.Fatalf("prompt of %d bytes", len(prompt))
	}

	// Audited as indices, scores and hashes: no sources, no comments.
	var prefAudits []string
	f.s.Image.Audit(func(e *image.AuditEntry) error {
		if e.Kind == "preference" {
			prefAudits = append(prefAudits, string(e.Data))
		}
		return nil
	})
	if len(prefAudits) != 3 || !strings.Contains(prefAudits[0], `"picked":1`) || !strings.Contains(prefAudits[1], `"score":5`) {
		t.Fatalf("preference audits: %v", prefAudits)
	}
	for _, d := range prefAudits {
		if strings.Contains(d, "overdraft") || strings.Contains(d, "self.balance") {
			t.Fatalf("the audit log holds a comment or a source: %s", d)
		}
	}

	// After a restart, the preferences still shape the prompt.
	path := f.s.Path
	f.s.Close()
	s, err := bootstrap.Open(ctx, path, bootstrap.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	r := &Resolver{LLM: f.r.LLM, Model: "fake-coder", InProcess: sandbox.NewInProcess(), Journal: s.Image, AutoApprove: true}
	s.VM.SetNotUnderstood(r)
	f.srv.Script(proposeWhy("function Account:double()\n  return self.balance * 2\nend", "function ProposalTest:testDouble()\n  local a = Account:clone(); a.balance = 2\n  self:assertEquals(4, a:double())\nend", "doubles"))
	if _, err := s.VM.Eval(ctx, "return Account:double()", vmEvalOpts()); err != nil {
		t.Fatal(err)
	}
	reqs = f.srv.Requests()
	if p := lastUserMessage(reqs[len(reqs)-1]); !strings.Contains(p, "keep overdraft checks") || !strings.Contains(p, "they chose alternative 1") {
		t.Fatalf("after a restart the prompt lacks the preferences:\n%s", p)
	}
}

// chooser is a Chooser that asks for one alternative, picks it and rates it.
type chooser struct {
	offered *Offer
	err     error
}

func (c *chooser) Approve(context.Context, *Proposal, *sandbox.Result, Decision) (bool, string, error) {
	panic("a Chooser is asked with Choose")
}

func (c *chooser) Choose(ctx context.Context, o *Offer) (Choice, error) {
	c.offered = o
	if _, c.err = o.More(ctx, 1); c.err != nil {
		return Choice{}, nil
	}
	return Choice{Approved: true, Pick: 1, Score: 4, Comment: "guards are good", Note: "at the test"}, nil
}

func TestChooserPicksAnAlternativeWhileTheCallWaits(t *testing.T) {
	f := newFixture(t)
	c := &chooser{}
	f.r.Approver = c
	f.srv.Script(
		proposeWhy(withdrawSource, withdrawTests, "subtracts n"),
		proposeWhy(guardedWithdraw, withdrawTests, "refuses to overdraw"),
	)
	got, err := f.eval(t, withdrawCall)
	if err != nil || got != "7" || c.err != nil {
		t.Fatalf("eval: %q %v (alternatives: %v)", got, err, c.err)
	}
	if len(c.offered.Alternatives) != 1 || !c.offered.Alternatives[0].OK() {
		t.Fatalf("offer: %+v", c.offered)
	}
	src, _ := f.s.VM.MethodSource(f.s.VM.Global("Account"), "withdraw")
	if src != guardedWithdraw {
		t.Fatalf("installed %q, want the alternative", src)
	}
	hs, _ := f.s.VM.History(f.s.VM.Global("Account"), "withdraw")
	if len(hs) != 1 || !strings.Contains(hs[0].Note, "alternative 1") {
		t.Fatalf("history: %+v", hs)
	}
	prefs, err := f.s.Image.PreferencesTail(10)
	if err != nil || len(prefs) != 2 || prefs[0].Kind != PrefRating || prefs[1].Kind != PrefChoice || !strings.Contains(string(prefs[0].Data), "guards are good") {
		t.Fatalf("preferences: %v %+v", err, prefs)
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func vmEvalOpts() vm.EvalOptions { return vm.EvalOptions{Print: true} }

func TestRejectingEveryAlternativeIsAPreference(t *testing.T) {
	f := newFixture(t)
	id := f.queueWithdraw(t)
	f.srv.Script(proposeWhy(brokenWithdraw, withdrawTests, "adds instead"))
	if _, _, err := f.r.AlternativesQueued(context.Background(), f.s.VM, id, 1, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := RejectQueued(f.s.Image, id, "human", "neither"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.r.AlternativesQueued(context.Background(), f.s.VM, id, 1, nil); err == nil || !strings.Contains(err.Error(), "is rejected, not pending") {
		t.Fatalf("alternatives for a decided approval: %v", err)
	}
	got := preferencesSection(f.s.Image, "Account")
	if !strings.Contains(got, "For Account>>withdraw they rejected every proposal; not chosen: the original proposal") {
		t.Fatalf("section:\n%s", got)
	}
}

func TestPreferencesSectionIsBounded(t *testing.T) {
	f := newFixture(t)
	big := &Proposal{Target: "Account", Selector: "withdraw", Source: "function Account:withdraw(n)\n" + strings.Repeat("  -- a long body\n", 200) + "end", Explanation: strings.Repeat("why ", 200)}
	for i := 0; i < 50; i++ {
		if err := RecordRating(f.s.Image, "", "the original proposal", big, 1+i%5, strings.Repeat("comment ", 200)); err != nil {
			t.Fatal(err)
		}
	}
	got := preferencesSection(f.s.Image, "Account")
	if len(got) > maxPreferencesPrompt+200 || !strings.Contains(got, "Overall: 50 rating(s), average 3.0 of 5") {
		t.Fatalf("a section of %d bytes:\n%s", len(got), got)
	}
}

// BenchmarkPreferencesSection: building the prompt's preferences section
// (the last 200 read from Pebble, summarised, bounded) when the image
// holds 2,000 preferences; every prompt the agent sends pays it once. (The
// store's size beyond the 200 read hardly matters: the read seeks to the
// end. Setup is 2,000 synced writes, so the store is kept small.)
func BenchmarkPreferencesSection(b *testing.B) {
	s, err := bootstrap.NewImage(context.Background(), b.TempDir()+"/a.image", bootstrap.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	sk := sketch("the original proposal", &Proposal{Source: withdrawSource, Explanation: "subtracts n"})
	for i := 0; i < 2000; i++ {
		data, _ := json.Marshal(PreferenceData{Rated: &sk, Score: 1 + i%5, Comment: "fine"})
		target := []string{"Account", "Bank", "Point", "Stack"}[i%4]
		if _, err := s.Image.AddPreference(&image.Preference{Kind: PrefRating, Object: target, Selector: "withdraw", Data: data}); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if got := preferencesSection(s.Image, "Account"); !strings.Contains(got, "Overall") {
			b.Fatal("no section")
		}
	}
}
