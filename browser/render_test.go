package browser

import (
	"image"
	"image/color"
	"testing"

	"github.com/phoenix-image/phoenix/browser/browsertest"
)

// TestBrowserRendersThreePanes renders the browser over a real image on
// the headless GPU, writes out/gui/browser.png and checks that each pane
// drew something.
func TestBrowserRendersThreePanes(t *testing.T) {
	d := newDriver(t, VMImage{VM: accountImage(t)})

	openDeposit(t, d)
	d.frame()
	img := browsertest.Shoot(t, d.size, &d.ops)

	browsertest.SavePNG(t, img, "browser.png")

	colours := browsertest.Colours(img)
	if len(colours) < 8 {
		t.Errorf("the frame has %d distinct colours, want a rendered UI (at least 8)", len(colours))
	}
	bg := browsertest.Dominant(colours)
	// Inside each pane, away from its borders, text must have been drawn.
	x := []int{0, d.size.X * 25 / 100, d.size.X * 55 / 100, d.size.X}
	names := []string{"objects", "object", "editor"}
	for i := 0; i < 3; i++ {
		r := image.Rect(x[i]+10, 10, x[i+1]-10, d.size.Y-10)
		ink := browsertest.Ink(img, r, bg)
		if ink < 3000 {
			t.Errorf("the %s pane %v has %d non-background pixels, want at least 3000 (text, not just borders)", names[i], r, ink)
		} else {
			t.Logf("%s pane: %d non-background pixels", names[i], ink)
		}
	}
}

// TestInspectorRenders renders the inspector on Account with its history
// selected and an evaluation shown, writes out/gui/inspector.png and checks
// that the header, the entries and the lines drew something.
func TestInspectorRenders(t *testing.T) {
	d, in := inspectorDriver(t, historyImage(t))
	d.click(d.at("balance"))
	d.typeLine(1, "", "self.balance + 1")
	if in.Result() != "1" {
		t.Fatalf("evaluation gave %q, error %q", in.Result(), in.Err())
	}
	d.frame()
	img := browsertest.Shoot(t, d.size, &d.ops)
	browsertest.SavePNG(t, img, "inspector.png")

	colours := browsertest.Colours(img)
	if len(colours) < 8 {
		t.Errorf("the frame has %d distinct colours, want a rendered UI (at least 8)", len(colours))
	}
	bg := browsertest.Dominant(colours)
	regions := []struct {
		name string
		r    image.Rectangle
		min  int
	}{
		{"header", image.Rect(10, 10, d.size.X-10, 85), 1500},
		{"entries", image.Rect(10, 90, d.size.X-10, 140), 500},
		{"lines", image.Rect(10, d.size.Y-85, d.size.X-10, d.size.Y-5), 1500},
	}
	for _, rg := range regions {
		ink := 0
		for y := rg.r.Min.Y; y < rg.r.Max.Y; y++ {
			for x := rg.r.Min.X; x < rg.r.Max.X; x++ {
				if img.RGBAAt(x, y) != bg {
					ink++
				}
			}
		}
		if ink < rg.min {
			t.Errorf("the %s region %v has %d non-background pixels, want at least %d", rg.name, rg.r, ink, rg.min)
		} else {
			t.Logf("%s region: %d non-background pixels", rg.name, ink)
		}
	}
}

// TestBrowserHistoryRenders renders the browser with deposit's history
// and its senders shown, writes out/gui/browser-history.png and checks
// that the diff's added and removed lines are coloured.
func TestBrowserHistoryRenders(t *testing.T) {
	v, _ := editImage(t)
	d := newDriver(t, VMImage{VM: v})
	openDeposit(t, d)
	d.click(d.find(2, "Senders"))
	d.click(d.find(2, "History"))
	d.click(d.find(0, "New object"))
	d.frame()
	img := browsertest.Shoot(t, d.size, &d.ops)
	browsertest.SavePNG(t, img, "browser-history.png")
	count := func(c color.NRGBA) int {
		want := color.RGBA{c.R, c.G, c.B, c.A}
		n := 0
		for y := 0; y < img.Bounds().Dy(); y++ {
			for x := d.size.X * 55 / 100; x < img.Bounds().Dx(); x++ {
				if img.RGBAAt(x, y) == want {
					n++
				}
			}
		}
		return n
	}
	if n := count(addedColor); n < 2000 {
		t.Errorf("%d pixels of added lines in the editor pane, want at least 2000", n)
	}
	if n := count(removedColor); n < 1000 {
		t.Errorf("%d pixels of removed lines in the editor pane, want at least 1000", n)
	}
}
