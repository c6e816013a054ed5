package workspace

import (
	"image"
	"testing"

	"gioui.org/io/key"
	"github.com/phoenix-image/phoenix/browser/browsertest"
)

// TestWorkspaceRenders renders a workspace over a real image on the
// headless GPU after a do it and a print it, writes out/gui/workspace.png
// and checks that the editor, the result line and the Transcript drew
// something.
func TestWorkspaceRenders(t *testing.T) {
	d := newDriver(t, VMEvaluator{VM: freshImage(t)})

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
	img := browsertest.Shoot(t, d.size, &d.ops)

	browsertest.SavePNG(t, img, "workspace.png")

	colours := browsertest.Colours(img)
	if len(colours) < 8 {
		t.Errorf("the frame has %d distinct colours, want a rendered UI (at least 8)", len(colours))
	}
	bg := browsertest.Dominant(colours)

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
