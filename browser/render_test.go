package browser

import (
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"gioui.org/gpu/headless"
)

// TestBrowserRendersThreePanes renders the browser over a real image on
// the headless GPU, writes out/gui/browser.png and checks that each pane
// drew something.
func TestBrowserRendersThreePanes(t *testing.T) {
	if os.Getenv("EGL_PLATFORM") == "" {
		os.Setenv("EGL_PLATFORM", "surfaceless")
	}
	d := newDriver(t, VMImage{VM: accountImage(t)})
	w, err := headless.NewWindow(d.size.X, d.size.Y)
	if err != nil {
		t.Fatalf("the headless GPU is unavailable (EGL_PLATFORM=%s): %v\n"+
			"scripts/deps.sh installs Mesa's EGL and drivers (libegl-mesa0 libgl1-mesa-dri)", os.Getenv("EGL_PLATFORM"), err)
	}
	defer w.Release()

	openDeposit(t, d)
	d.frame()
	if err := w.Frame(&d.ops); err != nil {
		t.Fatalf("headless frame: %v", err)
	}
	img := image.NewRGBA(image.Rectangle{Max: w.Size()})
	if err := w.Screenshot(img); err != nil {
		t.Fatalf("headless screenshot: %v", err)
	}

	out := filepath.Join(moduleRoot(t), "out", "gui", "browser.png")
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s", out)

	colours := map[color.RGBA]int{}
	for y := 0; y < img.Bounds().Dy(); y++ {
		for x := 0; x < img.Bounds().Dx(); x++ {
			colours[img.RGBAAt(x, y)]++
		}
	}
	if len(colours) < 8 {
		t.Errorf("the frame has %d distinct colours, want a rendered UI (at least 8)", len(colours))
	}
	bg := dominant(colours)
	// Inside each pane, away from its borders, text must have been drawn.
	x := []int{0, d.size.X * 25 / 100, d.size.X * 55 / 100, d.size.X}
	names := []string{"objects", "object", "editor"}
	for i := 0; i < 3; i++ {
		r := image.Rect(x[i]+10, 10, x[i+1]-10, d.size.Y-10)
		ink := 0
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for x := r.Min.X; x < r.Max.X; x++ {
				if img.RGBAAt(x, y) != bg {
					ink++
				}
			}
		}
		if ink < 3000 {
			t.Errorf("the %s pane %v has %d non-background pixels, want at least 3000 (text, not just borders)", names[i], r, ink)
		} else {
			t.Logf("%s pane: %d non-background pixels", names[i], ink)
		}
	}
}

func dominant(c map[color.RGBA]int) color.RGBA {
	var best color.RGBA
	n := -1
	for k, v := range c {
		if v > n {
			best, n = k, v
		}
	}
	return best
}

// TestInspectorRenders renders the inspector on Account with its history
// selected and an evaluation shown, writes out/gui/inspector.png and checks
// that the header, the entries and the lines drew something.
func TestInspectorRenders(t *testing.T) {
	if os.Getenv("EGL_PLATFORM") == "" {
		os.Setenv("EGL_PLATFORM", "surfaceless")
	}
	d, in := inspectorDriver(t, historyImage(t))
	w, err := headless.NewWindow(d.size.X, d.size.Y)
	if err != nil {
		t.Fatalf("the headless GPU is unavailable (EGL_PLATFORM=%s): %v\n"+
			"scripts/deps.sh installs Mesa's EGL and drivers (libegl-mesa0 libgl1-mesa-dri)", os.Getenv("EGL_PLATFORM"), err)
	}
	defer w.Release()
	d.click(d.at("balance"))
	d.typeLine(1, "", "self.balance + 1")
	if in.Result() != "1" {
		t.Fatalf("evaluation gave %q, error %q", in.Result(), in.Err())
	}
	d.frame()
	if err := w.Frame(&d.ops); err != nil {
		t.Fatalf("headless frame: %v", err)
	}
	img := image.NewRGBA(image.Rectangle{Max: w.Size()})
	if err := w.Screenshot(img); err != nil {
		t.Fatalf("headless screenshot: %v", err)
	}
	out := filepath.Join(moduleRoot(t), "out", "gui", "inspector.png")
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s", out)

	colours := map[color.RGBA]int{}
	for y := 0; y < img.Bounds().Dy(); y++ {
		for x := 0; x < img.Bounds().Dx(); x++ {
			colours[img.RGBAAt(x, y)]++
		}
	}
	if len(colours) < 8 {
		t.Errorf("the frame has %d distinct colours, want a rendered UI (at least 8)", len(colours))
	}
	bg := dominant(colours)
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
	if os.Getenv("EGL_PLATFORM") == "" {
		os.Setenv("EGL_PLATFORM", "surfaceless")
	}
	v, _ := editImage(t)
	d := newDriver(t, VMImage{VM: v})
	w, err := headless.NewWindow(d.size.X, d.size.Y)
	if err != nil {
		t.Fatalf("the headless GPU is unavailable (EGL_PLATFORM=%s): %v\n"+
			"scripts/deps.sh installs Mesa's EGL and drivers (libegl-mesa0 libgl1-mesa-dri)", os.Getenv("EGL_PLATFORM"), err)
	}
	defer w.Release()
	openDeposit(t, d)
	d.click(d.find(2, "Senders"))
	d.click(d.find(2, "History"))
	d.click(d.find(0, "New object"))
	d.frame()
	if err := w.Frame(&d.ops); err != nil {
		t.Fatalf("headless frame: %v", err)
	}
	img := image.NewRGBA(image.Rectangle{Max: w.Size()})
	if err := w.Screenshot(img); err != nil {
		t.Fatalf("headless screenshot: %v", err)
	}
	out := filepath.Join(moduleRoot(t), "out", "gui", "browser-history.png")
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s", out)
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
