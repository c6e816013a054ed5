//go:build cgo

package main

import (
	"gioui.org/layout"
	"gioui.org/op"
	"gioui.org/unit"
	"gioui.org/widget"
	"gioui.org/widget/material"

	"github.com/phoenix-image/phoenix/browser"
	"github.com/phoenix-image/phoenix/workspace"
)

// attachedPane is the attached window's right pane: the workspace, the
// Inspector and (when the server has chat.*) the agent's chat as tabs, as
// in the local window. Inspect-it, a print-it's "Inspect result",
// "Inspect selected" and the chat's "Inspect NAME" links open the
// Inspector; a commit notified by the server refreshes it.
type attachedPane struct {
	Inspector      browser.Inspector
	Chat           workspace.Chat // the server's agent (guiattach_chat.go); Engine nil: no chat tab
	WorkspaceTab   widget.Clickable
	InspectorTab   widget.Clickable
	ChatTab        widget.Clickable
	InspectButton  widget.Clickable
	showInspector  bool
	showChat       bool
	lastInspection *workspace.Inspection
}

// Open shows ref in the Inspector tab.
func (p *attachedPane) Open(ref browser.ValueRef, label string) {
	p.Inspector.Open(ref, label)
	p.showInspector, p.showChat = true, false
}

// ShowingChat reports whether the Chat tab is shown.
func (p *attachedPane) ShowingChat() bool { return p.showChat }

// ShowingInspector reports whether the Inspector tab is shown.
func (p *attachedPane) ShowingInspector() bool { return p.showInspector }

func (u *attachedGUI) layoutPane(gtx layout.Context) layout.Dimensions {
	p := &u.Pane
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
	if p.ChatTab.Clicked(gtx) && p.Chat.Engine != nil {
		p.showChat = true
	}
	if p.InspectButton.Clicked(gtx) {
		if ref, ok := u.Browser.Selected(); ok && ref.OID != 0 {
			p.Open(browser.ValueRef{OID: ref.OID}, ref.Name)
		}
	}
	if p.Inspector.TakeChanged() {
		u.Browser.Refresh()
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
	chatTab := layout.Rigid(func(gtx layout.Context) layout.Dimensions { return layout.Dimensions{} })
	if p.Chat.Engine != nil {
		chatTab = tab(&p.ChatTab, "Chat", p.showChat)
	}
	return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
		layout.Rigid(func(gtx layout.Context) layout.Dimensions {
			return layout.UniformInset(unit.Dp(4)).Layout(gtx, func(gtx layout.Context) layout.Dimensions {
				return layout.Flex{Axis: layout.Horizontal}.Layout(gtx,
					tab(&p.WorkspaceTab, "Workspace", !p.showInspector && !p.showChat),
					tab(&p.InspectorTab, "Inspector", p.showInspector && !p.showChat),
					chatTab,
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
