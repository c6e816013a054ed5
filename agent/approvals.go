package agent

import (
	"context"
	"encoding/json"
	"fmt"

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
	a, err := j.GetApproval(id)
	if err != nil {
		return nil, err
	}
	if a.Status != image.ApprovalPending {
		return nil, fmt.Errorf("approval %s is %s, not pending", a.ID, a.Status)
	}
	rec := DecodeApproval(a)
	target := v.Global(rec.Proposal.Target)
	if target == nil {
		return nil, fmt.Errorf("approval %s: the image has no object %s any more", a.ID, rec.Proposal.Target)
	}
	subject := rec.Proposal.Target + ">>" + rec.Proposal.Selector
	err = v.Do(ctx, vm.TxOptions{Author: vm.AuthorAgent}, func() error {
		return Install(v, target, &rec.Proposal, by, "approval "+a.ID+suffix(note))
	})
	if err != nil {
		return nil, err
	}
	a, err = j.DecideApproval(a.ID, image.ApprovalApproved, by, note)
	if err != nil {
		return nil, err
	}
	j.AppendAudit("approval", "human", subject, map[string]any{"approval": a.ID, "approved": true, "note": note})
	j.AppendAudit("install", "agent", subject, map[string]any{"approval": a.ID, "approvedBy": by})
	return a, nil
}

// RejectQueued rejects the pending approval id and audits it.
func RejectQueued(j Journal, id, by, note string) (*image.Approval, error) {
	a, err := j.DecideApproval(id, image.ApprovalRejected, by, note)
	if err != nil {
		return nil, err
	}
	j.AppendAudit("approval", "human", a.Object+">>"+a.Selector, map[string]any{"approval": a.ID, "approved": false, "note": note})
	return a, nil
}
