//go:build cgo

package main

import (
	"context"
	"fmt"

	"github.com/phoenix-image/phoenix/agent"
	"github.com/phoenix-image/phoenix/image"
	"github.com/phoenix-image/phoenix/kernelhost/remote"
	"github.com/phoenix-image/phoenix/workspace"
)

// remoteQueue implements workspace.ApprovalQueue over the protocol's
// approvals.list, approvals.approve and approvals.reject (the server
// installs an approved method as one transaction, as `phoenix approvals
// approve` does). Each proposal shows as a diff against the method it
// would replace, looked up with "source". With a server that has them,
// remotePrefQueue adds alternatives (the server's agent asks its LLM),
// picking one and ratings (approvals.alternatives/pick/rate).
type remoteQueue struct{ r *remoteImage }

var _ workspace.ApprovalQueue = remoteQueue{}

// remotePrefQueue is a remoteQueue that implements
// workspace.PreferenceQueue.
type remotePrefQueue struct{ remoteQueue }

var _ workspace.PreferenceQueue = remotePrefQueue{}

type altKey struct {
	id string
	n  int
}

// Alternatives implements workspace.PreferenceQueue.
func (q remotePrefQueue) Alternatives(id string, n int) ([]workspace.AlternativeView, error) {
	r := q.r
	r.mu.Lock()
	defer r.mu.Unlock()
	return remoteKeyed(r, &r.alts, altKey{id, n}, true, func() ([]workspace.AlternativeView, error) {
		a, err := r.c.Alternatives(context.Background(), id, n)
		if err != nil {
			return nil, remoteMsg(err)
		}
		rec := agent.DecodeApproval(&image.Approval{ID: a.ID, Object: a.Object, Selector: a.Selector, Data: a.Data})
		return workspace.AlternativeViews(&rec.Proposal, rec.Alternatives), nil
	})
}

// Pick implements workspace.PreferenceQueue.
func (q remotePrefQueue) Pick(id string, k int) error {
	r := q.r
	r.mu.Lock()
	defer r.mu.Unlock()
	_, err := remoteKeyed(r, &r.edits, fmt.Sprintf("pick\x00%s\x00%d", id, k), true, func() (struct{}, error) {
		_, err := r.c.Pick(context.Background(), id, k, "in the attached GUI")
		return struct{}{}, remoteMsg(err)
	})
	return err
}

// Rate implements workspace.PreferenceQueue.
func (q remotePrefQueue) Rate(id string, score int, comment string) error {
	r := q.r
	r.mu.Lock()
	defer r.mu.Unlock()
	_, err := remoteKeyed(r, &r.edits, fmt.Sprintf("rate\x00%s\x00%d\x00%s", id, score, comment), true, func() (struct{}, error) {
		return struct{}{}, remoteMsg(r.c.Rate(context.Background(), id, score, comment))
	})
	return err
}

type decideKey struct {
	id      string
	approve bool
}

// List implements workspace.ApprovalQueue; a commit on the server
// (Changed) makes the next List ask again.
func (q remoteQueue) List() ([]workspace.ProposalView, error) {
	r := q.r
	r.mu.Lock()
	defer r.mu.Unlock()
	return remoteAsk(r, &r.approvals, false, func() ([]workspace.ProposalView, error) {
		ctx := context.Background()
		res, err := r.c.Approvals(ctx, false)
		if err != nil {
			return nil, err
		}
		var out []workspace.ProposalView
		for _, a := range res.Approvals {
			rec := agent.DecodeApproval(&image.Approval{ID: a.ID, Status: a.Status, Object: a.Object, Selector: a.Selector, Created: a.Created, Data: a.Data})
			view := workspace.ViewOf(a.ID, &rec.Proposal, rec.Sandbox, rec.Decision)
			view.Alternatives = workspace.AlternativeViews(&rec.Proposal, rec.Alternatives)
			view.Compared = true
			if src, err := r.c.Source(ctx, view.Target, view.Selector); err == nil && src.Implementor == view.Target {
				view.Current, view.Replaces = src.Source, true
			}
			out = append(out, view)
		}
		return out, nil
	})
}

// Approve implements workspace.ApprovalQueue.
func (q remoteQueue) Approve(id string) error { return q.decide(id, true) }

// Reject implements workspace.ApprovalQueue.
func (q remoteQueue) Reject(id string) error { return q.decide(id, false) }

func (q remoteQueue) decide(id string, approve bool) error {
	r := q.r
	r.mu.Lock()
	defer r.mu.Unlock()
	_, err := remoteKeyed(r, &r.decides, decideKey{id, approve}, true, func() (struct{}, error) {
		var err error
		if approve {
			_, err = r.c.Approve(context.Background(), id, "in the attached GUI")
		} else {
			_, err = r.c.Reject(context.Background(), id, "in the attached GUI")
		}
		return struct{}{}, remoteDetail(err)
	})
	return err
}

// hasMethod reports whether the server implements method m.
func hasMethod(c *remote.Client, m string) bool {
	for _, x := range c.Server.Methods {
		if x == m {
			return true
		}
	}
	return false
}
