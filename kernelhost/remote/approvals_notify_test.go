package remote_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/phoenix-image/phoenix/image"
	"github.com/phoenix-image/phoenix/kernelhost/remote"
	"github.com/phoenix-image/phoenix/vm"
)

// queuingAgent stands in for the server's agent: a message not understood
// queues a proposal for a person (a write outside the transaction).
type queuingAgent struct{ im func() *image.Image }

func (q queuingAgent) Resolve(ctx context.Context, v *vm.VM, req *vm.DNURequest) (bool, string, error) {
	a, err := q.im().PutApproval(&image.Approval{Status: image.ApprovalPending, Object: "Account", Selector: req.Selector})
	if err != nil {
		return false, "", err
	}
	return false, "queued for approval " + a.ID, nil
}

// A message not understood that queues an approval is notified to every
// client ("approvals"), though nothing committed; one that changes
// nothing is not.
func TestApprovalsNotificationAfterAQueuedProposal(t *testing.T) {
	var f *fixture
	f = serve(t, options{setup: func(v *vm.VM) {
		v.SetNotUnderstood(queuingAgent{im: func() *image.Image { return f.s.Image }})
	}})
	notes := make(chan remote.Notification, 16)
	watcher := f.dial(t, func(n remote.Notification) {
		if n.Method == remote.NotifyApprovals || n.Method == remote.NotifyChanged {
			notes <- n
		}
	})
	_ = watcher
	c := f.dial(t, nil)
	ctx := context.Background()
	if _, err := c.Eval(ctx, "Account:triple()"); err == nil {
		t.Fatal("triple understood")
	}
	select {
	case n := <-notes:
		var p remote.ApprovalsChangedParams
		if n.Method != remote.NotifyApprovals || jsonInto(n, &p) != nil || p.Pending != 1 {
			t.Fatalf("notification %s %s", n.Method, n.Params)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no approvals notification")
	}
	// An error that queues nothing says nothing.
	if _, err := c.Eval(ctx, "error('plain')"); err == nil {
		t.Fatal("no error")
	}
	if _, err := c.Eval(ctx, "1"); err != nil {
		t.Fatal(err)
	}
	select {
	case n := <-notes:
		t.Fatalf("unexpected %s %s", n.Method, n.Params)
	case <-time.After(200 * time.Millisecond):
	}
}

func jsonInto(n remote.Notification, p any) error { return json.Unmarshal(n.Params, p) }
