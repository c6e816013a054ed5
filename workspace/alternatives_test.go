package workspace

import (
	"encoding/json"
	stdimage "image"
	"strings"
	"testing"
	"time"

	"gioui.org/io/key"

	"github.com/phoenix-image/phoenix/agent"
	"github.com/phoenix-image/phoenix/agent/llmtest"
	"github.com/phoenix-image/phoenix/bootstrap"
	"github.com/phoenix-image/phoenix/browser/browsertest"
	"github.com/phoenix-image/phoenix/image"
	"github.com/phoenix-image/phoenix/vm"
)

const (
	guardedWithdraw = "function Account:withdraw(n)\n  if n > self.balance then error(\"insufficient funds\") end\n  self.balance = self.balance - n\n  return self\nend"
	guardedTests    = "function ProposalTest:testGuard()\n  local a = Account:clone(); a.balance = 10\n  self:assertEquals(7, a:withdraw(3).balance)\n  self:assertError(function() a:withdraw(100) end)\nend"
	clampedWithdraw = "function Account:withdraw(n)\n  self.balance = math.max(0, self.balance - n)\n  return self\nend"
	clampedTests    = "function ProposalTest:testClamp()\n  local a = Account:clone(); a.balance = 2\n  self:assertEquals(0, a:withdraw(5).balance)\nend"
	brokenWithdraw  = "function Account:withdraw(n)\n  self.balance = self.balance + n\n  return self\nend"
)

func altStep(source, tests, why string) llmtest.Step {
	b, _ := json.Marshal(map[string]string{"source": source, "tests": tests, "explanation": why})
	return llmtest.ToolCall(agent.ProposeTool, string(b))
}

// withAlternatives wires the desk's queue to its resolver, as the GUI does.
func withAlternatives(k *desk) *desk {
	k.approvals.Queue.(*AsyncQueue).Resolver = k.resolver
	return k
}

func (k *desk) withdrawSource() string {
	var src string
	k.loop.sync(func(v *vm.VM) { src, _ = v.MethodSource(v.Global("Account"), "withdraw") })
	return src
}

// commentEditor returns a point inside the approvals pane's comment
// field whose hint is hint (scrolled into view).
func (k *desk) commentEditor(hint string) stdimage.Point {
	k.t.Helper()
	k.scrollTo(hint)
	r, _ := k.bounds(hint)
	return stdimage.Pt(r.Min.X+8, r.Min.Y+6)
}

// scrollTo scrolls the approvals pane, from its top, until something
// labelled s shows whole enough to click.
func (k *desk) scrollTo(s string) {
	k.t.Helper()
	for i := 0; i < 40; i++ {
		k.approvals.List.Position.First, k.approvals.List.Position.Offset = i, 0
		k.frame()
		if r, ok := k.bounds(s); ok && r.Min.Y >= 0 && r.Min.Y < k.size.Y-40 {
			return
		}
	}
	k.t.Fatalf("nothing labelled %q in the approvals pane", s)
}

// findIn scrolls to and finds the widget labelled with prefix.
func (k *desk) findIn(prefix string) stdimage.Point {
	k.t.Helper()
	k.scrollTo(prefix)
	return k.find(prefix)
}

// paneShows scrolls the approvals pane looking for s.
func (k *desk) paneShows(s string) bool {
	for i := 0; i < 40; i++ {
		k.approvals.List.Position.First, k.approvals.List.Position.Offset = i, 0
		k.frame()
		if k.shows(s) {
			return true
		}
	}
	return false
}

// typeInto clicks the field at p and types s into it.
func (k *desk) typeInto(p stdimage.Point, s string) {
	k.now = k.now.Add(time.Second)
	k.click(p)
	k.r.Queue(key.EditEvent{Range: key.Range{}, Text: s})
	k.frame()
}

func TestApprovalsPaneShowsAlternativesPicksAndRates(t *testing.T) {
	k := withAlternatives(newDesk(t, queueWithdraw(t)))
	k.waitFor("the queue", func() bool { return len(k.approvals.Pending()) == 1 })
	id := k.approvals.Pending()[0].ID
	k.srv.Script(
		altStep(guardedWithdraw, guardedTests, "refuses to overdraw"),
		altStep(brokenWithdraw, withdrawTests, "adds instead"),
		altStep(clampedWithdraw, clampedTests, "never below zero"),
	)
	k.click(k.find("Show alternatives of " + id))
	k.waitFor("the alternatives", func() bool { return len(k.approvals.Alternatives(id)) == 3 })
	if e := k.approvals.Err(); e != "" {
		t.Fatal(e)
	}
	alts := k.approvals.Alternatives(id)
	if !alts[0].OK || alts[1].OK || !alts[2].OK || !strings.Contains(alts[1].Status, "validation failed") {
		t.Fatalf("alternatives %+v", alts)
	}
	for _, s := range []string{
		"Alternative 1 of " + id + ": sandbox (in-process", "reasoning: refuses to overdraw",
		"against the proposal:", `+  if n > self.balance then error("insufficient funds") end`,
		"Alternative 2 of " + id + ": validation failed", "fail ProposalTest>>testWithdraw",
		"+  self.balance = math.max(0, self.balance - n)", "-  self.balance = self.balance - n",
		"Pick 1 for " + id, "Pick 3 for " + id,
	} {
		if !k.paneShows(s) {
			t.Errorf("the pane does not show %q", s)
		}
	}
	if k.paneShows("Pick 2 for " + id) {
		t.Error("an alternative that failed its tests can be picked")
	}
	if t.Failed() {
		t.FailNow()
	}

	// Rate the proposal with a comment, then pick the third alternative.
	k.typeInto(k.commentEditor("comment on the rating of "+id), "too lenient")
	k.click(k.findIn("Rate " + id + ": 2"))
	k.waitFor("the rating", func() bool { return strings.HasPrefix(k.approvals.Status(), "rated") || k.approvals.Err() != "" })
	if e := k.approvals.Err(); e != "" {
		t.Fatal(e)
	}
	k.click(k.findIn("Pick 3 for " + id))
	k.waitFor("the pick", func() bool { return strings.HasPrefix(k.approvals.Status(), "approved") || k.approvals.Err() != "" })
	if e := k.approvals.Err(); e != "" || k.approvals.Status() != "approved "+id+" with alternative 3: installed" {
		t.Fatalf("status %q, error %q", k.approvals.Status(), e)
	}
	if src := k.withdrawSource(); src != clampedWithdraw {
		t.Fatalf("installed %q, want alternative 3", src)
	}
	a, err := k.s.Image.GetApproval(id)
	if err != nil || a.Status != image.ApprovalApproved || agent.DecodeApproval(a).Picked != 3 {
		t.Fatalf("approval %v %+v", err, a)
	}
	prefs, err := k.s.Image.PreferencesTail(10)
	if err != nil || len(prefs) != 2 || prefs[0].Kind != agent.PrefChoice || prefs[1].Kind != agent.PrefRating ||
		!strings.Contains(string(prefs[1].Data), "too lenient") || !strings.Contains(string(prefs[1].Data), `"score":2`) {
		t.Fatalf("preferences %v %+v", err, prefs)
	}
}

func TestApprovalsPaneLiveProposalAlternatives(t *testing.T) {
	k := newDesk(t, nil)
	k.srv.Script(
		altStep(withdrawSource, withdrawTests, "subtracts n"),
		altStep(guardedWithdraw, guardedTests, "refuses to overdraw"),
		altStep(brokenWithdraw, withdrawTests, "adds instead"),
		altStep(clampedWithdraw, clampedTests, "never below zero"),
	)
	k.doIt("Account:clone():withdraw(3).balance")
	k.notice()
	k.click(k.find("Ask the agent"))
	k.waitFor("the live proposal", func() bool { _, ok := k.approvals.Live(); return ok })
	k.click(k.findIn("Show alternatives"))
	k.waitFor("the live alternatives", func() bool { return len(k.approvals.Alternatives("")) == 3 })
	// The original call (balance 0, withdraw 3) fails with the guarded one.
	if !k.paneShows("Alternative 1: validation failed: the original call fails with it") || k.paneShows("Pick 1") ||
		!k.paneShows("Alternative 3: sandbox") || !k.paneShows("Pick 3") {
		t.Fatal("the live proposal's alternatives are not shown")
	}
	k.typeInto(k.commentEditor("comment on the rating"), "clamping is right")
	k.click(k.findIn("Rate 5"))
	if !strings.Contains(k.approvals.Status(), "5 of 5") {
		t.Fatalf("status %q", k.approvals.Status())
	}
	k.click(k.findIn("Pick 3"))
	res := k.finished()
	if res.Failed() || res.PrintString() != "0" {
		t.Fatalf("the re-sent do-it with the clamping alternative: %+v", res)
	}
	if src := k.withdrawSource(); src != clampedWithdraw {
		t.Fatalf("installed %q", src)
	}
	prefs, err := k.s.Image.PreferencesTail(10)
	if err != nil || len(prefs) != 2 || prefs[1].Kind != agent.PrefChoice || prefs[0].Kind != agent.PrefRating ||
		!strings.Contains(string(prefs[0].Data), "clamping is right") {
		t.Fatalf("preferences %v %+v", err, prefs)
	}
	// The next proposal's prompt carries them.
	k.srv.Script(altStep("function Account:deposit(n)\n  self.balance = self.balance + n\n  return self\nend",
		"function ProposalTest:testDeposit() local a = Account:clone(); a.balance = 1; self:assertEquals(3, a:deposit(2).balance) end", "adds n"))
	k.doIt("Account:clone():deposit(3)")
	k.notice()
	k.click(k.find("Ask the agent"))
	k.waitFor("the next proposal", func() bool { _, ok := k.approvals.Live(); return ok })
	reqs := k.srv.Requests()
	msgs := reqs[len(reqs)-1].Body.Messages
	if p := msgs[len(msgs)-1].Content; !strings.Contains(p, "The person's preferences") || !strings.Contains(p, "clamping is right") {
		t.Fatalf("the next prompt:\n%s", p)
	}
	if len(k.approvals.Alternatives("")) != 0 || k.paneShows("Alternative 1") {
		t.Fatal("the previous proposal's alternatives are shown with the next one")
	}
	k.click(k.findIn("Reject"))
	k.finished()
}

// TestApprovalsAlternativesRender renders the pane with a queued proposal
// and its alternatives on the headless GPU, writes
// out/gui/approvals-alternatives.png and checks that the alternatives'
// region drew diff colours.
func TestApprovalsAlternativesRender(t *testing.T) {
	k := withAlternatives(newDesk(t, func(s *bootstrap.Session, r *agent.Resolver) {
		queueWithdraw(t)(s, r)
	}))
	k.waitFor("the queue", func() bool { return len(k.approvals.Pending()) == 1 })
	id := k.approvals.Pending()[0].ID
	k.srv.Script(
		altStep(guardedWithdraw, guardedTests, "refuses to overdraw"),
		altStep(brokenWithdraw, withdrawTests, "adds instead"),
	)
	k.approvals.pref = &prefOp{kind: "alternatives", id: id, k: 2} // as the button does, with 2
	k.approvals.prefFor(id).asking = true
	k.waitFor("the alternatives", func() bool { return len(k.approvals.Alternatives(id)) == 2 })
	k.frame()
	img := browsertest.Shoot(t, k.size, &k.ops)
	browsertest.SavePNG(t, img, "approvals-alternatives.png")
	colours := browsertest.Colours(img)
	if len(colours) < 8 {
		t.Fatalf("%d colours: not a rendered UI", len(colours))
	}
	r, ok := k.bounds("Alternative 1 of " + id)
	if !ok {
		t.Fatal("no alternative on screen")
	}
	// The diff's added line is drawn on green, the failed alternative's rim in red.
	region := stdimage.Rect(k.size.X/2, r.Min.Y, k.size.X, k.size.Y)
	green, red := 0, 0
	for y := region.Min.Y; y < region.Max.Y; y++ {
		for x := region.Min.X; x < region.Max.X; x++ {
			c := img.RGBAAt(x, y)
			if c.R == addedColor.R && c.G == addedColor.G && c.B == addedColor.B {
				green++
			}
			if c.R == errorColor.R && c.G == errorColor.G && c.B == errorColor.B {
				red++
			}
		}
	}
	if green < 500 || red < 50 {
		t.Fatalf("the alternatives region %v has %d added-line pixels and %d red rim pixels", region, green, red)
	}
	if ink := browsertest.Ink(img, region, browsertest.Dominant(colours)); ink < 5000 {
		t.Fatalf("the alternatives region has %d pixels of ink", ink)
	}
}
