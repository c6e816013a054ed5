package agent

import (
	"context"
	"encoding/json"

	"github.com/phoenix-image/phoenix/image"
	"github.com/phoenix-image/phoenix/vm"
)

// DecodeApproval returns the proposal a queued approval holds.
func DecodeApproval(a *image.Approval) ProposalRecord {
	var rec ProposalRecord
	json.Unmarshal(a.Data, &rec)
	if rec.Proposal.Target == "" {
		rec.Proposal.Target, rec.Proposal.Selector = a.Object, a.Selector
	}
	return rec
}

// ApproveQueued approves the pending approval id: it installs the method
// with the agent's provenance as one transaction on v (so it runs on the
// VM's goroutine), marks the approval approved by by and audits both. It
// is what `phoenix approvals approve` and the GUI's approvals pane do.
func ApproveQueued(ctx context.Context, v *vm.VM, j Journal, id, by, note string) (*image.Approval, error) {
	return PickQueued(ctx, v, j, id, 0, by, note)
}

// RejectQueued rejects the pending approval id and audits it.
func RejectQueued(j Journal, id, by, note string) (*image.Approval, error) {
	a, err := j.DecideApproval(id, image.ApprovalRejected, by, note)
	if err != nil {
		return nil, err
	}
	j.AppendAudit("approval", "human", a.Object+">>"+a.Selector, map[string]any{"approval": a.ID, "approved": false, "note": note})
	if rec := DecodeApproval(a); len(rec.Alternatives) > 0 {
		RecordChoice(j, a.ID, &rec.Proposal, rec.Alternatives, -1) // none of them (preferences.go)
	}
	return a, nil
}
