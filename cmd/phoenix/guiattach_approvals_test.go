//go:build cgo

package main

import (
	"context"
	"encoding/json"
	"image"
	"strings"
	"testing"

	"github.com/phoenix-image/phoenix/agent"
	"github.com/phoenix-image/phoenix/bootstrap"
	"github.com/phoenix-image/phoenix/browser/browsertest"
	phimage "github.com/phoenix-image/phoenix/image"
	"github.com/phoenix-image/phoenix/sandbox"
	"github.com/phoenix-image/phoenix/vm"
)

// TestGUIAttachApprovalsPane drives the attached window's approvals pane
// against a served image with two queued proposals: it lists them (the
// one replacing a method as a diff), Approve installs on the server,
// Reject rejects, each by a click.
func TestGUIAttachApprovalsPane(t *testing.T) {
	u, check, inval := attachedForTestWith(t, func(s *bootstrap.Session) {
		for _, p := range []agent.Proposal{
			{Target: "Account", Selector: "triple", Source: "function Account:triple() return self.balance * 3 end", Explanation: "three times"},
			{Target: "Account", Selector: "deposit", Source: "function Account:deposit(n) self.balance = self.balance + n + 1; return self end"},
		} {
			rec, _ := json.Marshal(agent.ProposalRecord{Proposal: p, Decision: "core object"})
			if _, err := s.Image.PutApproval(&phimage.Approval{Status: "pending", Object: p.Target, Selector: p.Selector, Data: rec}); err != nil {
				t.Fatal(err)
			}
		}
	})
	u.th = browsertest.Theme()
	ctx := context.Background()
	h := &routed{t: t, u: u, inval: inval, size: image.Pt(1200, 900)}
	h.until("two pending", func() bool { return len(u.Approvals.Pending()) == 2 })
	p := u.Approvals.Pending()
	if p[0].Title() != "Account>>triple" || p[0].Replaces || p[1].Title() != "Account>>deposit" || !p[1].Replaces ||
		!strings.Contains(p[1].Diff(), "+function Account:deposit(n) self.balance = self.balance + n + 1") {
		t.Fatalf("pending %+v", p)
	}
	first, second := p[0].ID, p[1].ID

	{ // a PNG of the window with the pane
		img := browsertest.Shoot(t, h.size, &h.ops)
		browsertest.SavePNG(t, img, "gui_attach_approvals.png")
		bg := browsertest.Dominant(browsertest.Colours(img))
		if browsertest.Ink(img, image.Rect(h.size.X*2/3, h.size.Y*6/10, h.size.X, h.size.Y-40), bg) < 400 {
			t.Error("the approvals pane drew almost nothing")
		}
	}

	h.click("Approve " + first)
	h.until("approved", func() bool { return len(u.Approvals.Pending()) == 1 })
	if res, err := check.Eval(ctx, "Account:triple()"); err != nil || res.Values[0] != "15" {
		t.Fatalf("approved method on the server: %v %v", res, err)
	}
	if !strings.HasPrefix(u.Approvals.Status(), "approved "+first) {
		t.Fatalf("status %q err %q", u.Approvals.Status(), u.Approvals.Err())
	}
	h.click("Reject " + second)
	h.until("rejected", func() bool { return len(u.Approvals.Pending()) == 0 && u.Approvals.Status() != "" })
	all, err := check.Approvals(ctx, true)
	if err != nil || len(all.Approvals) != 2 || all.Approvals[1].Status != "rejected" {
		t.Fatalf("approvals on the server: %+v %v", all, err)
	}
	if res, _ := check.Eval(ctx, "Account:clone():deposit(1).balance"); res.Values[0] != "6" {
		t.Fatalf("rejected method installed: %v", res.Values)
	}
}

// queuingHook stands in for the server's agent: a message not understood
// queues a proposal (outside the transaction: nothing commits).
type queuingHook struct{ s *bootstrap.Session }

func (q queuingHook) Resolve(ctx context.Context, v *vm.VM, req *vm.DNURequest) (bool, string, error) {
	a, err := q.s.Image.PutApproval(&phimage.Approval{Status: phimage.ApprovalPending, Object: "Account", Selector: req.Selector})
	if err != nil {
		return false, "", err
	}
	return false, "queued for approval " + a.ID, nil
}

// TestGUIAttachApprovalsFollowOtherClients: a proposal queued by another
// client's evaluation on the server shows in the attached window's pane
// (the "approvals" notification), though nothing was committed.
func TestGUIAttachApprovalsFollowOtherClients(t *testing.T) {
	u, check, inval := attachedForTestWith(t, func(s *bootstrap.Session) { s.VM.SetNotUnderstood(queuingHook{s}) })
	h := &routed{t: t, u: u, inval: inval, size: image.Pt(1200, 800)}
	h.until("the empty queue", func() bool { h.frame(); return u.Approvals.Status() == "" && len(u.Approvals.Pending()) == 0 })
	if _, err := check.Eval(context.Background(), "Account:quadruple()"); err == nil {
		t.Fatal("quadruple understood")
	}
	h.until("the queued proposal", func() bool {
		p := u.Approvals.Pending()
		return len(p) == 1 && p[0].Title() == "Account>>quadruple"
	})
}

// TestGUIAttachApprovalsPreferences: the attached pane's preference
// feedback on the server: a rating is kept there, "Show alternatives"
// says that this server has no LLM, and picking the stored alternative
// installs it there.
func TestGUIAttachApprovalsPreferences(t *testing.T) {
	var session *bootstrap.Session
	alt := agent.Proposal{Target: "Account", Selector: "triple", Source: "function Account:triple() return 3 * self.balance + 0 end"}
	u, check, inval := attachedForTestWith(t, func(s *bootstrap.Session) {
		session = s
		rec, _ := json.Marshal(agent.ProposalRecord{Proposal: agent.Proposal{Target: "Account", Selector: "triple", Source: "function Account:triple() return self.balance * 3 end"},
			Decision: "core object", Alternatives: []agent.Alternative{{N: 1, Proposal: &alt, Sandbox: &sandbox.Result{OK: true, Boundary: "test"}}}})
		if _, err := s.Image.PutApproval(&phimage.Approval{Status: "pending", Object: "Account", Selector: "triple", Data: rec}); err != nil {
			t.Fatal(err)
		}
	})
	u.th = browsertest.Theme()
	ctx := context.Background()
	h := &routed{t: t, u: u, inval: inval, size: image.Pt(1200, 2400)} // the pane shows the alternative's Pick without scrolling
	h.until("the proposal with its alternative", func() bool {
		p := u.Approvals.Pending()
		return len(p) == 1 && len(p[0].Alternatives) == 1
	})
	id := u.Approvals.Pending()[0].ID

	h.click("Rate " + id + ": 4")
	h.until("the rating on the server", func() bool {
		ps, err := session.Image.PreferencesTail(1)
		return err == nil && len(ps) == 1 && ps[0].Kind == agent.PrefRating && ps[0].Approval == id
	})
	h.click("Show alternatives of " + id)
	h.until("the refusal", func() bool { return strings.Contains(u.Approvals.Err(), "alternatives need the LLM") })

	h.click("Pick 1 for " + id)
	h.until("the alternative installed", func() bool {
		m, err := check.Source(ctx, "Account", "triple")
		return err == nil && m.Source == alt.Source
	})
	h.until("the queue empty", func() bool { return len(u.Approvals.Pending()) == 0 })
}
