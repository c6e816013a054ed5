//go:build cgo

package main

import (
	"gioui.org/layout"
	"gioui.org/op"

	"github.com/phoenix-image/phoenix/agent"
	"github.com/phoenix-image/phoenix/image"
	"github.com/phoenix-image/phoenix/vm"
	"github.com/phoenix-image/phoenix/workspace"
)

// desktop is the agent's part of the window: the not-understood notifier,
// drawn over everything while it waits, and the approvals pane under the
// workspace in the right pane.
type desktop struct {
	Notifier  workspace.Notifier
	Approvals workspace.Approvals
	running   bool // the workspace was running last frame

	hook  *workspace.NotifierHook
	r     *agent.Resolver
	queue *workspace.AsyncQueue
}

// rewire installs the notifier and the pane's approver on v and points
// the approvals queue at im, after a revert reopened the image. On the
// VM's goroutine.
func (d *desktop) rewire(v *vm.VM, im *image.Image) {
	if d.r != nil {
		d.r.Approver = d.Approvals.ApproverOn(v)
	}
	v.SetNotUnderstood(d.hook)
	if d.queue != nil && im != nil {
		d.queue.Journal = im
	}
}

// attachDesktop installs the notifier around the agent's resolver r (nil:
// no agent) and makes the pane approvals r's Approver, on the VM's
// goroutine; it adds the approvals pane to the right pane. im holds the
// approval queue (nil: none). Call it before the first frame.
func (u *gui) attachDesktop(r *agent.Resolver, im *image.Image, invalidate func()) {
	d := &desktop{}
	d.Notifier.Invalidate = invalidate
	d.Approvals.Invalidate = invalidate
	if im != nil {
		d.queue = &workspace.AsyncQueue{Go: u.loop.Go, Journal: im, Invalidate: invalidate, Resolver: r}
		if r != nil {
			d.queue.Memory = r.Memory
		}
		d.Approvals.Queue = d.queue
	}
	hook := &workspace.NotifierHook{Notifier: &d.Notifier}
	d.hook, d.r = hook, r
	u.loop.Go(func(v *vm.VM) {
		if r != nil {
			r.Approver = d.Approvals.ApproverOn(v) // the GUI asks in the pane, not at the terminal
			hook.Agent = r
		}
		v.SetNotUnderstood(hook)
	})
	right := u.rightPane
	u.rightPane = func(gtx layout.Context) layout.Dimensions {
		return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
			layout.Flexed(0.6, func(gtx layout.Context) layout.Dimensions {
				gtx.Constraints.Min = gtx.Constraints.Max
				return right(gtx)
			}),
			layout.Flexed(0.4, func(gtx layout.Context) layout.Dimensions {
				gtx.Constraints.Min = gtx.Constraints.Max
				return d.Approvals.Layout(gtx, u.th)
			}),
		)
	}
	u.desk = d
}

// layoutDesktop runs after the window's frame is laid out: it opens the
// browser's editor on a skeleton after "Implement it myself", refreshes
// the approvals queue when an evaluation ends, and draws the notifier on
// top.
func (u *gui) layoutDesktop(gtx layout.Context) {
	d := u.desk
	if d == nil {
		return
	}
	if req, ok := d.Notifier.TakeImplementRequest(); ok {
		req.OpenIn(&u.Browser)
		gtx.Execute(op.InvalidateCmd{})
	}
	if d.running && !u.Workspace.Running {
		d.Approvals.Refresh() // the evaluation may have queued a proposal
	}
	d.running = u.Workspace.Running
	d.Notifier.Layout(gtx, u.th)
}
