package bootstrap

import (
	"context"

	"github.com/phoenix-image/phoenix/vm"
)

// Do runs f on the VM's goroutine, between the clients' requests, and
// waits for it, or for ctx to end first (then f is skipped if it has not
// started). It is how the server's agent chat runs its tools on the image
// (the wiring layer's remote.ChatBackend): f may evaluate and commit, which
// is notified as "changed"; a proposal f queued for approval is notified
// as "approvals" afterwards. A panic in f is raised on the caller's
// goroutine.
func (b *RemoteBackend) Do(ctx context.Context, f func(v *vm.VM)) error {
	return b.run(ctx, func(v *vm.VM) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		f(v)
		b.notePending()
		return nil
	})
}
