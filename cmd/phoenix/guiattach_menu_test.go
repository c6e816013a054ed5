//go:build cgo

package main

import (
	"context"
	"image"
	"os"
	"strings"
	"testing"

	"github.com/phoenix-image/phoenix/browser/browsertest"
)

// TestGUIAttachImageMenu clicks the attached window's Image menu against a
// served image: Snapshot takes one on the server, Export writes the
// export file next to the served image, Snapshots… lists them, and a
// snapshot's "Restore as new image" makes a new image next to it.
func TestGUIAttachImageMenu(t *testing.T) {
	u, check, inval := attachedForTest(t)
	u.th = browsertest.Theme()
	ctx := context.Background()
	h := &routed{t: t, u: u, inval: inval, size: image.Pt(1200, 800)}
	h.until("Account listed", func() bool { return listed(u, "Account") })

	h.click("Snapshot")
	h.until("snapshot taken", func() bool { return strings.HasSuffix(u.Menu.Status(), "taken on the server") })
	list, err := check.Snapshots(ctx)
	if err != nil || len(list.Snapshots) != 1 || !strings.Contains(u.Menu.Status(), list.Snapshots[0].Name) {
		t.Fatalf("snapshots on the server %+v %v; status %q", list, err, u.Menu.Status())
	}

	h.click("Export")
	h.until("exported", func() bool {
		return strings.HasSuffix(u.Menu.Status(), "on the server") && strings.HasPrefix(u.Menu.Status(), "exported")
	})
	path := strings.TrimSuffix(strings.SplitN(u.Menu.Status(), " to ", 2)[1], " on the server")
	if st, err := os.Stat(path); err != nil || st.Size() == 0 || !strings.HasSuffix(path, "r.phx") {
		t.Fatalf("export file %q: %v", path, err)
	}

	h.click("Snapshots…")
	h.until("the list", func() bool { s, show := u.Menu.Snapshots(); return show && len(s) == 1 })
	h.frame()
	if _, ok := browsertest.Find(&h.r, list.Snapshots[0].Name); !ok {
		t.Fatal("the snapshot is not on screen")
	}
	h.click("Restore as new image")
	h.until("restored", func() bool {
		return strings.HasSuffix(u.Menu.Status(), "on the server") && strings.Contains(u.Menu.Status(), "restored as new image")
	})
	restored := strings.TrimSuffix(strings.SplitN(u.Menu.Status(), "new image ", 2)[1], " on the server")
	if _, err := os.Stat(restored); err != nil || !strings.HasSuffix(restored, "r-"+list.Snapshots[0].Name+".image") {
		t.Fatalf("restored image %q: %v", restored, err)
	}
	img := browsertest.Shoot(t, h.size, &h.ops)
	browsertest.SavePNG(t, img, "gui_attach_menu.png")
	bg := browsertest.Dominant(browsertest.Colours(img))
	if browsertest.Ink(img, image.Rect(0, 0, h.size.X, 60), bg) < 300 {
		t.Error("the Image menu drew almost nothing")
	}
}
