package workspace

import (
	"image"
	"image/color"
	"testing"

	"github.com/phoenix-image/phoenix/browser/browsertest"
	"github.com/phoenix-image/phoenix/vm"
)

// TestNotifierRenders renders the notifier over the workspace and the
// approvals pane (one queued proposal) on the headless GPU, writes
// out/gui/notifier.png and checks that the notifier's card and the pane
// drew something. Without a GPU it fails.
func TestNotifierRenders(t *testing.T) {
	k := newDesk(t, queueWithdraw(t))
	k.waitFor("the queue", func() bool { return len(k.approvals.Pending()) == 1 })
	k.doIt("Account:clone():withdraw(3)")
	k.notice()
	k.frame()
	img := browsertest.Shoot(t, k.size, &k.ops)
	browsertest.SavePNG(t, img, "notifier.png")

	colours := browsertest.Colours(img)
	if len(colours) < 8 {
		t.Fatalf("the frame has %d distinct colours, want a rendered UI", len(colours))
	}
	// The card's background colour fills much of its area, and the card
	// holds text and three buttons (the theme's button colour).
	card := color.RGBA{R: noticeBg.R, G: noticeBg.G, B: noticeBg.B, A: 0xff}
	if n := colours[card]; n < 50000 {
		t.Errorf("the notifier's card covers %d pixels, want at least 50000", n)
	}
	ask, ok := k.bounds("Ask the agent")
	if !ok {
		t.Fatal("no Ask the agent button")
	}
	ink := browsertest.Ink(img, ask, card)
	if ink < ask.Dx()*ask.Dy()/2 {
		t.Errorf("the Ask the agent button %v drew %d pixels", ask, ink)
	}
	// The approvals pane, dimmed behind the notifier, still shows text.
	pane := image.Rect(k.size.X/2+10, 10, k.size.X-10, k.size.Y/4)
	pc := map[color.RGBA]bool{}
	for y := pane.Min.Y; y < pane.Max.Y; y++ {
		for x := pane.Min.X; x < pane.Max.X; x++ {
			pc[img.RGBAAt(x, y)] = true
		}
	}
	if len(pc) < 4 {
		t.Errorf("the approvals pane %v has %d colours, want text", pane, len(pc))
	}
	// The notice is modal: the pane's buttons under it take no clicks.
	id := k.approvals.Pending()[0].ID
	k.click(k.find("Reject " + id))
	k.click(k.find("Abandon"))
	k.finished()
	k.loop.sync(func(*vm.VM) {}) // a rejection would have run by now (the VM's goroutine waited for the notice)
	k.frame()
	a, err := k.s.Image.GetApproval(id)
	if err != nil {
		t.Fatal(err)
	}
	if a.Status != "pending" || k.approvals.Status() != "" {
		t.Fatalf("a click under the notifier reached the pane: approval %s, pane status %q", a.Status, k.approvals.Status())
	}
}
