package bootstrap

import (
	"context"
	"fmt"

	"github.com/phoenix-image/phoenix/image"
	"github.com/phoenix-image/phoenix/kernelhost/remote"
	"github.com/phoenix-image/phoenix/vm"
)

// RemotePreferences is what a RemoteDecider may also do: the approvals
// pane's preference feedback. The agent implements it in the wiring layer
// (bootstrap does not import the agent); a decider without it refuses
// approvals.alternatives/pick/rate saying so.
type RemotePreferences interface {
	// Alternatives asks the LLM for n more alternatives to the pending
	// approval id and returns the approval with all of them; it runs on
	// the VM's goroutine (each is validated). An approval may come with
	// an error when only some alternatives were made.
	Alternatives(ctx context.Context, v *vm.VM, im *image.Image, id string, n int) (*image.Approval, error)
	// Pick installs the pending approval id's alternative k (0: the
	// original) and marks it approved, on the VM's goroutine.
	Pick(ctx context.Context, v *vm.VM, im *image.Image, id string, k int, by, note string) (*image.Approval, error)
	// Rate keeps a person's score (1 to 5) for id's proposal.
	Rate(im *image.Image, id string, score int, comment string) error
}

func (b *RemoteBackend) prefs(what string) (RemotePreferences, error) {
	p, ok := b.opts.Decider.(RemotePreferences)
	if !ok {
		return nil, fmt.Errorf("approvals: this server cannot %s (no agent)", what)
	}
	return p, nil
}

// Alternatives implements remote.Backend.
func (b *RemoteBackend) Alternatives(ctx context.Context, p remote.AlternativesParams) (*remote.Approval, error) {
	pr, err := b.prefs("ask for alternatives")
	if err != nil {
		return nil, err
	}
	var out *remote.Approval
	err = b.run(ctx, func(v *vm.VM) error {
		a, err := pr.Alternatives(ctx, v, b.s.Image, p.ID, p.N)
		if a != nil {
			ap := approval(a)
			out = &ap
		}
		if err != nil && out == nil {
			return decideError(err)
		}
		if err != nil {
			b.opts.Logger.Warn("remote: some alternatives failed", "approval", p.ID, "err", err)
		}
		return nil
	})
	return out, err
}

// Pick implements remote.Backend.
func (b *RemoteBackend) Pick(ctx context.Context, p remote.PickParams) (*remote.Approval, error) {
	pr, err := b.prefs("pick an alternative")
	if err != nil {
		return nil, err
	}
	var out remote.Approval
	err = b.run(ctx, func(v *vm.VM) error {
		a, err := pr.Pick(ctx, v, b.s.Image, p.ID, p.K, "human (remote)", p.Note)
		if err != nil {
			return decideError(err)
		}
		out = approval(a)
		return nil
	})
	return &out, err
}

// Rate implements remote.Backend.
func (b *RemoteBackend) Rate(ctx context.Context, p remote.RateParams) error {
	pr, err := b.prefs("take ratings")
	if err != nil {
		return err
	}
	return b.run(ctx, func(*vm.VM) error {
		if err := pr.Rate(b.s.Image, p.ID, p.Score, p.Comment); err != nil {
			return decideError(err)
		}
		return nil
	})
}
