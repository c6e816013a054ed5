package remote_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/phoenix-image/phoenix/agent"
	"github.com/phoenix-image/phoenix/image"
	"github.com/phoenix-image/phoenix/kernelhost/remote"
	"github.com/phoenix-image/phoenix/sandbox"
	"github.com/phoenix-image/phoenix/vm"
)

// The fixture's decider takes preference feedback as the agent does
// (cmd/phoenix's agentDecider); it has no LLM, so alternatives fail.
func (decider) Alternatives(ctx context.Context, v *vm.VM, im *image.Image, id string, n int) (*image.Approval, error) {
	return nil, errors.New("no LLM in this fixture")
}

func (decider) Pick(ctx context.Context, v *vm.VM, im *image.Image, id string, k int, by, note string) (*image.Approval, error) {
	return agent.PickQueued(ctx, v, im, id, k, by, note)
}

func (decider) Rate(im *image.Image, id string, score int, comment string) error {
	_, err := agent.RateQueued(im, id, -1, score, comment)
	return err
}

// Rating a queued proposal, picking its validated alternative (installed
// on the server), and asking for alternatives where the server has no LLM.
func TestApprovalsRatePickAlternatives(t *testing.T) {
	f := serve(t, options{})
	c := f.dial(t, nil)
	ctx := context.Background()
	orig := agent.Proposal{Target: "Account", Selector: "triple", Source: "function Account:triple() return self.balance * 3 end"}
	alt := agent.Proposal{Target: "Account", Selector: "triple", Source: "function Account:triple() return 3 * self.balance + 0 end"}
	rec, _ := json.Marshal(agent.ProposalRecord{Proposal: orig, Decision: "core object",
		Alternatives: []agent.Alternative{{N: 1, Proposal: &alt, Sandbox: &sandbox.Result{OK: true, Boundary: "test"}}}})
	a, err := f.s.Image.PutApproval(&image.Approval{Status: image.ApprovalPending, Object: "Account", Selector: "triple", Data: rec})
	if err != nil {
		t.Fatal(err)
	}

	if err := c.Rate(ctx, a.ID, 4, "fine"); err != nil {
		t.Fatal(err)
	}
	prefs, err := f.s.Image.PreferencesTail(1)
	if err != nil || len(prefs) != 1 || prefs[0].Kind != agent.PrefRating || prefs[0].Approval != a.ID || !strings.Contains(string(prefs[0].Data), "fine") {
		t.Fatalf("rating kept: %+v %v", prefs, err)
	}
	if _, err := c.Alternatives(ctx, a.ID, 2); err == nil || !strings.Contains(err.Error(), "no LLM") {
		t.Fatalf("alternatives without an LLM: %v", err)
	}
	got, err := c.Pick(ctx, a.ID, 1, "the second")
	if err != nil || got.Status != "approved" {
		t.Fatalf("pick: %+v %v", got, err)
	}
	m, err := c.Source(ctx, "Account", "triple")
	if err != nil || m.Source != alt.Source {
		t.Fatalf("picked source on the server: %+v %v", m, err)
	}
	if _, err := c.Pick(ctx, "a999", 0, ""); code(err) != remote.CodeNotFound {
		t.Fatalf("pick of an unknown approval: %v", err)
	}
	for _, bad := range []struct {
		m string
		p any
	}{
		{remote.MethodAlts, remote.AlternativesParams{ID: a.ID, N: 0}},
		{remote.MethodAlts, remote.AlternativesParams{ID: a.ID, N: 9}},
		{remote.MethodPick, remote.PickParams{K: 0}},
		{remote.MethodRate, remote.RateParams{ID: a.ID, Score: 6}},
	} {
		if err := c.Call(ctx, bad.m, bad.p, nil); code(err) != remote.CodeInvalidParams {
			t.Errorf("%s %+v: %v", bad.m, bad.p, err)
		}
	}
}
