//go:build cgo

package main

import (
	"context"
	"image/color"

	"gioui.org/layout"
	"gioui.org/op"
	"gioui.org/unit"
	"gioui.org/widget"
	"gioui.org/widget/material"

	"github.com/phoenix-image/phoenix/browser"
	"github.com/phoenix-image/phoenix/vm"
	"github.com/phoenix-image/phoenix/workspace"
)

// inspectAnswers are asyncImage's answers to the Inspector, keyed like
// Describe's and Accept's.
type inspectAnswers struct {
	inspects map[browser.ValueRef]*answer[browser.InspectView]
	sets     map[setSlotKey]*answer[struct{}]
	evals    map[evalInKey]*answer[string]
}

type setSlotKey struct {
	ref       browser.ValueRef
	key, expr string
}

type evalInKey struct {
	ref  browser.ValueRef
	expr string
}

var _ browser.Inspecting = (*asyncImage)(nil)

// keyed asks through the answer kept in m under k. a.mu is held.
func keyed[K comparable, T any](a *asyncImage, m *map[K]*answer[T], k K, run func(v *vm.VM) (T, error)) (T, error) {
	if *m == nil {
		*m = make(map[K]*answer[T])
	}
	slot := (*m)[k]
	val, err := ask(a, &slot, run)
	if slot == nil {
		delete(*m, k)
	} else {
		(*m)[k] = slot
	}
	return val, err
}

// Inspect implements browser.Inspecting. The printStrings run as one
// rolled-back transaction with a budget of a.budget, like Describe's.
func (a *asyncImage) Inspect(ref browser.ValueRef) (browser.InspectView, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return keyed(a, &a.insp.inspects, ref, func(v *vm.VM) (browser.InspectView, error) {
		var view browser.InspectView
		var ierr error
		done := false
		terr := v.Do(context.Background(), vm.TxOptions{Author: a.author, Budget: a.budget, Rollback: true}, func() error {
			view, ierr = browser.VMImage{VM: v, Author: a.author}.Inspect(ref)
			done = true
			return ierr
		})
		if done && ierr == nil {
			return view, nil // a Timeout only cut printStrings short
		}
		if ierr != nil {
			return view, ierr
		}
		return view, terr
	})
}

// SetSlot implements browser.Inspecting. A repeated call with the same
// arguments while the first is pending is the same request.
func (a *asyncImage) SetSlot(ref browser.ValueRef, key, expr string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	_, err := keyed(a, &a.insp.sets, setSlotKey{ref, key, expr}, func(v *vm.VM) (struct{}, error) {
		return struct{}{}, browser.VMImage{VM: v, Author: a.author}.SetSlot(ref, key, expr)
	})
	return err
}

// EvalIn implements browser.Inspecting, like SetSlot.
func (a *asyncImage) EvalIn(ref browser.ValueRef, expr string) (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return keyed(a, &a.insp.evals, evalInKey{ref, expr}, func(v *vm.VM) (string, error) {
		return browser.VMImage{VM: v, Author: a.author}.EvalIn(ref, expr)
	})
}

var tabOffColor = color.NRGBA{R: 0xd8, G: 0xdc, B: 0xe4, A: 0xff}

// inspectorPane is the right pane with three tabs, the workspace, the
// Inspector and the chat with the agent. An inspect-it in the workspace, or "Inspect" on the object
// selected in the browser, opens the Inspector on its value.
type inspectorPane struct {
	u              *gui
	Inspector      browser.Inspector
	WorkspaceTab   widget.Clickable
	InspectorTab   widget.Clickable
	ChatTab        widget.Clickable
	Chat           workspace.Chat // the chat with the agent (guichat.go)
	showChat       bool
	InspectButton  widget.Clickable
	showInspector  bool
	lastInspection *workspace.Inspection // the workspace's Inspected last opened
}

// newInspectorPane makes the right pane of u: the workspace, with the
// Inspector as a second tab.
func newInspectorPane(u *gui) *inspectorPane {
	p := &inspectorPane{u: u}
	p.Inspector.Image = u.image
	// An object named in the chat opens here (its "Inspect NAME" links).
	p.Chat.Known = func(name string) bool { ref, ok := u.Browser.Global(name); return ok && ref.OID != 0 }
	p.Chat.Inspect = func(name string) {
		if ref, ok := u.Browser.Global(name); ok && ref.OID != 0 {
			p.Open(browser.ValueRef{OID: ref.OID}, name)
		}
	}
	return p
}

// Refresh re-asks the image for the value inspected (after an evaluation).
func (p *inspectorPane) Refresh() { p.Inspector.Refresh() }

// Open shows ref in the Inspector tab.
func (p *inspectorPane) Open(ref browser.ValueRef, label string) {
	p.Inspector.Open(ref, label)
	p.showInspector, p.showChat = true, false
}

// Layout draws the tab bar and the tab shown.
func (p *inspectorPane) Layout(gtx layout.Context) layout.Dimensions {
	u := p.u
	if in := u.Workspace.Inspected; in != nil && in != p.lastInspection {
		p.lastInspection = in
		if in.Result.Ref != 0 {
			p.Open(browser.ValueRef{Handle: in.Result.Ref}, in.Source)
		}
	}
	if p.WorkspaceTab.Clicked(gtx) {
		p.showInspector, p.showChat = false, false
	}
	if p.InspectorTab.Clicked(gtx) {
		p.showInspector, p.showChat = true, false
	}
	if p.ChatTab.Clicked(gtx) {
		p.showChat = true
	}
	if p.InspectButton.Clicked(gtx) {
		if ref, ok := u.Browser.Selected(); ok && ref.OID != 0 {
			p.Open(browser.ValueRef{OID: ref.OID}, ref.Name)
		}
	}
	if p.Inspector.TakeChanged() {
		u.Browser.Refresh() // a SetSlot or an evaluation may have changed what it shows
		gtx.Execute(op.InvalidateCmd{})
	}
	tab := func(c *widget.Clickable, label string, on bool) layout.FlexChild {
		return layout.Rigid(func(gtx layout.Context) layout.Dimensions {
			b := material.Button(u.th, c, label)
			if !on {
				b.Background = tabOffColor
				b.Color = u.th.Fg
			}
			return layout.Inset{Right: unit.Dp(4)}.Layout(gtx, b.Layout)
		})
	}
	return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
		layout.Rigid(func(gtx layout.Context) layout.Dimensions {
			return layout.UniformInset(unit.Dp(4)).Layout(gtx, func(gtx layout.Context) layout.Dimensions {
				return layout.Flex{Axis: layout.Horizontal}.Layout(gtx,
					tab(&p.WorkspaceTab, "Workspace", !p.showInspector && !p.showChat),
					tab(&p.InspectorTab, "Inspector", p.showInspector && !p.showChat),
					tab(&p.ChatTab, "Chat", p.showChat),
					tab(&p.InspectButton, "Inspect selected", false),
				)
			})
		}),
		layout.Flexed(1, func(gtx layout.Context) layout.Dimensions {
			gtx.Constraints.Min = gtx.Constraints.Max
			if p.showChat {
				return p.Chat.Layout(gtx, u.th)
			}
			if p.showInspector {
				return p.Inspector.Layout(gtx, u.th)
			}
			return u.Workspace.Layout(gtx, u.th)
		}),
	)
}
