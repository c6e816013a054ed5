//go:build cgo

package main

import (
	"context"
	"image"
	"strings"
	"testing"

	"gioui.org/io/key"
	"gioui.org/io/semantic"

	"github.com/phoenix-image/phoenix/bootstrap"
	"github.com/phoenix-image/phoenix/browser/browsertest"
	"github.com/phoenix-image/phoenix/vm"
)

// typeAt clicks the widget whose text starts with prefix (an empty
// editor shows its hint) and types text into it.
func (h *routed) typeAt(prefix, text string) {
	h.t.Helper()
	h.frame()
	at, ok := browsertest.Find(&h.r, prefix)
	if !ok {
		h.t.Fatalf("no widget %q on screen", prefix)
	}
	c := at.Min.Add(at.Max).Div(2)
	var ed image.Rectangle
	for _, n := range browsertest.Nodes(&h.r) {
		b := n.Desc.Bounds
		// The editor where the found text starts: the top one inside it.
		if n.Desc.Class == semantic.Editor && (c.In(b) || b.Min.In(at)) && (ed.Empty() || b.Min.Y < ed.Min.Y) {
			ed = b
		}
	}
	if ed.Empty() {
		h.t.Fatalf("%q (%v) is not in an editor", prefix, at)
	}
	browsertest.Click(&h.r, ed.Min.Add(ed.Max).Div(2))
	h.frame()
	h.frame()
	h.r.Queue(key.EditEvent{Range: key.Range{Start: 0, End: 1 << 20}, Text: text})
	h.frame()
}

// TestGUIAttachBrowserEditing drives the browser's editing tools in the
// attached window, each by clicks and typing, and checks the served image
// behind the window's back: history with its diff and revert, senders,
// implementors, new object, remove object, add and remove a slot, use a
// trait, remove a method.
func TestGUIAttachBrowserEditing(t *testing.T) {
	u, check, inval := attachedForTestWith(t, func(s *bootstrap.Session) {
		if _, err := s.VM.Eval(context.Background(), `Saver = Object:clone()
			function Saver:save() return Account:deposit(1) end
			Shows = Trait:clone(); function Shows:show() return "shown" end`, vm.EvalOptions{}); err != nil {
			t.Fatal(err)
		}
	})
	u.th = browsertest.Theme()
	ctx := context.Background()
	h := &routed{t: t, u: u, inval: inval, size: image.Pt(1400, 900)}
	server := func(code string) string {
		t.Helper()
		res, err := check.Eval(ctx, code)
		if err != nil {
			return "error: " + err.Error()
		}
		return strings.Join(res.Values, ",")
	}
	h.until("Account listed", func() bool { return listed(u, "Account") })
	h.click("Account")
	h.until("Account shown", func() bool { v := u.Browser.View(); return v != nil && len(v.Methods) == 1 })
	h.click("deposit")
	h.until("deposit in the editor", func() bool { return u.Browser.Selector() == "deposit" })

	// Accept a new version; its history shows the diff; Revert puts the
	// old one back on the server.
	u.Browser.Source.SetText("function Account:deposit(n) self.balance = self.balance + 3 * n; return self end")
	h.click("Accept")
	h.until("accepted", func() bool { return server("Account:clone():deposit(1).balance") == "8" })
	h.click("History")
	h.until("the history", func() bool { return len(u.Browser.History()) == 2 })
	if txt := u.Browser.HistoryText(); !strings.Contains(txt, "+function Account:deposit(n) self.balance = self.balance + 3 * n") {
		t.Fatalf("history text %q", txt)
	}
	{ // a PNG of the remote history with its diff
		img := browsertest.Shoot(t, h.size, &h.ops)
		browsertest.SavePNG(t, img, "gui_attach_history.png")
		bg := browsertest.Dominant(browsertest.Colours(img))
		if browsertest.Ink(img, image.Rect(h.size.X/3, 0, h.size.X*2/3, h.size.Y-40), bg) < 400 {
			t.Error("the history drew almost nothing")
		}
		if _, ok := browsertest.Find(&h.r, "+function Account:deposit(n) self.balance = self.balance + 3 * n"); !ok {
			t.Error("the diff's added line is not on screen")
		}
	}
	h.click("Revert")
	h.until("reverted", func() bool { return server("Account:clone():deposit(1).balance") == "6" })

	// Senders and implementors.
	h.click("Senders")
	h.until("senders", func() bool { rs, _ := u.Browser.Results(); return len(rs) == 1 })
	if rs, title := u.Browser.Results(); rs[0].Object.Name != "Saver" || rs[0].Selector != "save" || !strings.Contains(title, "deposit") {
		t.Fatalf("senders %+v %q", rs, title)
	}
	h.click("Implementors")
	h.until("implementors", func() bool {
		rs, title := u.Browser.Results()
		return strings.Contains(title, "mplementors") && len(rs) == 1
	})
	if rs, _ := u.Browser.Results(); rs[0].Object.Name != "Account" {
		t.Fatalf("implementors %+v", rs)
	}

	// Add a slot, then remove it.
	h.click("Add slot")
	h.typeAt("Slot name", "limit")
	h.typeAt("Value: a Lua expression", "40 + 2")
	h.click("Create slot")
	h.until("slot added", func() bool { return server("Account.limit") == "42" })
	if u.Browser.AddSlotErr() != "" {
		t.Fatal(u.Browser.AddSlotErr())
	}
	h.until("slot listed", func() bool {
		v := u.Browser.View()
		return v != nil && len(v.Slots) == 2
	})
	h.click("limit")
	h.click("Remove slot limit")
	h.until("slot removed", func() bool { return server("Account.limit") == "nil" })

	// Use a trait.
	h.click("Traits…")
	h.typeAt("Trait name", "Shows")
	h.click("Use trait")
	h.until("trait used", func() bool { return server("Account:show()") == "shown" })

	// Remove the method.
	h.click("deposit")
	h.click("Remove method deposit")
	// (Sent to a clone: while deposit is still there, the probe must not
	// change Account.balance, which Created inherits below.)
	h.until("method removed", func() bool {
		return strings.Contains(server("Account:clone():deposit(1)"), "does not understand deposit")
	})

	// A new object, then remove it (a second click confirms).
	h.click("New object")
	h.typeAt("Name of the new object", "Created")
	h.typeAt("Prototype (Object)", "Account")
	h.click("Create")
	h.frame()
	h.until("created", func() bool { return server("Created.balance") == "5" && listed(u, "Created") })
	h.until("Created selected", func() bool { r, ok := u.Browser.Selected(); return ok && r.Name == "Created" })
	h.click("Remove")
	h.click("Remove Created? Click again")
	h.until("removed", func() bool { return server("Created") == "nil" && !listed(u, "Created") })

	// An error stays in the browser: a new object named like an existing one.
	h.click("New object")
	h.typeAt("Name of the new object", "Account")
	h.click("Create")
	h.until("the error", func() bool { err, _ := u.Browser.Err(); return err != nil })
	if err, _ := u.Browser.Err(); !strings.Contains(err.Error(), "already has Account") {
		t.Fatalf("error %v", err)
	}
}
