package workspace

import (
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"gioui.org/gpu/headless"
	"gioui.org/io/key"
)

// TestWorkspaceRenders renders a workspace over a real image on the
// headless GPU after a do it and a print it, writes out/gui/workspace.png
// and checks that the editor, the result line and the Transcript drew
// something.
func TestWorkspaceRenders(t *testing.T) {
	if os.Getenv("EGL_PLATFORM") == "" {
		os.Setenv("EGL_PLATFORM", "surfaceless")
	}
	d := newDriver(t, VMEvaluator{VM: freshImage(t)})
	w, err := headless.NewWindow(d.size.X, d.size.Y)
	if err != nil {
		t.Fatalf("the headless GPU is unavailable (EGL_PLATFORM=%s): %v\n"+
			"scripts/deps.sh installs Mesa's EGL and drivers (libegl-mesa0 libgl1-mesa-dri)", os.Getenv("EGL_PLATFORM"), err)
	}
	defer w.Release()

	d.typeText(`for i = 1, 12 do print("tick " .. i .. " of the Transcript") end`)
	d.press("D", key.ModShortcut)
	src := "Lobby.Point = Object:clone()\nPoint.x, Point.y = 3, 4\n-- print it:\nmath.sqrt(Point.x^2 + Point.y^2)"
	d.typeText(src)
	d.w.Editor.SetCaret(0, len("Lobby.Point = Object:clone()\nPoint.x, Point.y = 3, 4"))
	d.press("D", key.ModShortcut)
	d.w.Editor.SetCaret(len(src), len(src))
	d.press("P", key.ModShortcut)
	if e := d.w.Err(); e != "" {
		t.Fatalf("evaluation failed: %s", e)
	}
	d.frame()
	if err := w.Frame(&d.ops); err != nil {
		t.Fatalf("headless frame: %v", err)
	}
	img := image.NewRGBA(image.Rectangle{Max: w.Size()})
	if err := w.Screenshot(img); err != nil {
		t.Fatalf("headless screenshot: %v", err)
	}

	out := filepath.Join(moduleRoot(t), "out", "gui", "workspace.png")
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

	// The regions, from where the widgets said they are (a label's
	// semantic area starts where it is drawn but extends to its
	// constraints, so only its top left corner is used).
	editor := d.editorBounds()
	result, ok := d.bounds("Result: 5")
	if !ok {
		t.Fatal("no result line Result: 5 on screen")
	}
	header, ok := d.bounds("Transcript")
	if !ok {
		t.Fatal("no Transcript header on screen")
	}
	resultRegion := image.Rect(result.Min.X, result.Min.Y, d.size.X, header.Min.Y)
	transcript := image.Rect(0, header.Min.Y+24, d.size.X, d.size.Y)
	if resultRegion.Dy() <= 0 || transcript.Dy() < 100 || editor.Max.Y > result.Min.Y {
		t.Fatalf("unexpected layout: editor %v, result %v, transcript %v", editor, resultRegion, transcript)
	}
	for _, r := range []struct {
		name string
		r    image.Rectangle
		min  int
	}{
		{"editor", editor.Inset(6), 2000},
		{"result", resultRegion, 200},
		{"transcript", transcript.Inset(6), 3000},
	} {
		ink := 0
		for y := r.r.Min.Y; y < r.r.Max.Y; y++ {
			for x := r.r.Min.X; x < r.r.Max.X; x++ {
				if img.RGBAAt(x, y) != bg {
					ink++
				}
			}
		}
		if ink < r.min {
			t.Errorf("the %s region %v has %d non-background pixels, want at least %d", r.name, r.r, ink, r.min)
		} else {
			t.Logf("%s region %v: %d non-background pixels", r.name, r.r, ink)
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
