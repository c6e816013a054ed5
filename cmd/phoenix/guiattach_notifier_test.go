//go:build cgo

package main

import (
	"context"
	"image"
	"strings"
	"testing"

	"github.com/phoenix-image/phoenix/browser/browsertest"
)

// TestGUIAttachNotifier drives the not-understood notifier of the
// attached window against a served image: a do-it whose message is not
// understood shows receiver, selector, arguments and traceback; "Implement
// it myself" opens the editor on a skeleton, and accepting it defines the
// method on the server; "Abandon" and "Ask the agent" fail the do-it with
// their reason; the failed do-its rolled back on the server.
func TestGUIAttachNotifier(t *testing.T) {
	u, check, inval := attachedForTest(t)
	u.th = browsertest.Theme()
	ctx := context.Background()
	h := &routed{t: t, u: u, inval: inval, size: image.Pt(1200, 800)}
	h.until("Account listed", func() bool { return listed(u, "Account") })
	notice := func() bool { _, ok := u.Notifier.Notice(); return ok }

	doIt := func(src string) {
		t.Helper()
		u.Workspace.Editor.SetText(src)
		u.Workspace.Editor.SetCaret(0, u.Workspace.Editor.Len())
		h.click("Do it")
		h.until("the notice", notice)
	}
	doIt("Account.balance = 99; local a = Account:clone(); return a:fly(1, 'two')")
	n, _ := u.Notifier.Notice()
	if n.Selector != "fly" || n.Target != "Account" || strings.Join(n.Args, "|") != `1|"two"` || !strings.Contains(n.Traceback, "remote:1") {
		t.Fatalf("notice %+v", n)
	}
	{ // a PNG of the notice over the attached window
		img := browsertest.Shoot(t, h.size, &h.ops)
		browsertest.SavePNG(t, img, "gui_attach_notifier.png")
		for _, want := range []string{"Message not understood", "selector: fly", `arguments: 1, "two"`, "Implement it myself"} {
			if _, ok := browsertest.Find(&h.r, want); !ok {
				t.Errorf("the notice does not show %q", want)
			}
		}
	}
	h.click("Implement it myself")
	h.until("the skeleton in the editor", func() bool {
		return strings.HasPrefix(u.Browser.Source.Text(), "function Account:fly(a, b)") && u.Workspace.Last() != nil && !u.Workspace.Running
	})
	if e := u.Workspace.Last().Result.Error; !strings.Contains(e, "does not understand fly") || !strings.Contains(e, "left to implement") {
		t.Fatalf("do-it error %q", e)
	}
	if res, _ := check.Eval(ctx, "Account.balance"); res.Values[0] != "5" {
		t.Fatalf("the failed do-it committed: %v", res.Values)
	}
	u.Browser.Source.SetText("function Account:fly(a, b) return a .. b end")
	h.click("Accept")
	h.until("fly defined", func() bool {
		res, err := check.Eval(ctx, "Account:fly(1, 'two')")
		return err == nil && res.Values[0] == "1two"
	})

	doIt("Account:swim()")
	h.click("Abandon")
	h.until("abandoned", func() bool { return !notice() && !u.Workspace.Running })
	if e := u.Workspace.Last().Result.Error; !strings.Contains(e, "does not understand swim") || !strings.Contains(e, "abandoned") {
		t.Fatalf("abandon: %q", e)
	}

	doIt("Account:swim()")
	h.click("Ask the agent")
	h.until("asked", func() bool { return !notice() && !u.Workspace.Running })
	if e := u.Workspace.Last().Result.Error; !strings.Contains(e, "not reachable from an attached window") {
		t.Fatalf("ask: %q", e)
	}
}
