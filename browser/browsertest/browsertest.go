// Package browsertest is a small kit for testing Phoenix's Gio widgets:
// a theme with the embedded Go fonts, headless rendering of a frame to an
// image (failing, never skipping, when the GPU is unavailable), PNGs under
// out/gui for CI to keep, and pixel counts to assert that regions drew.
//
// It is imported only by tests (of browser, workspace and cmd/phoenix). It
// may import gioui.org and the standard library.
package browsertest

import (
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"unicode/utf8"

	"gioui.org/f32"
	"gioui.org/font/gofont"
	"gioui.org/gpu/headless"
	"gioui.org/io/input"
	"gioui.org/io/key"
	"gioui.org/io/pointer"
	"gioui.org/op"
	"gioui.org/text"
	"gioui.org/widget/material"
)

// Theme is a material theme with the embedded Go fonts only, so that
// layouts do not depend on the fonts installed on the machine.
func Theme() *material.Theme {
	th := material.NewTheme()
	th.Shaper = text.NewShaper(text.WithCollection(gofont.Collection()), text.NoSystemFonts())
	return th
}

// ModuleRoot is the directory holding go.mod.
func ModuleRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(filepath.Dir(file)))
}

// Shoot renders ops (one recorded frame) in a headless window of the given
// size and returns the pixels. EGL_PLATFORM defaults to surfaceless, so no
// display is needed.
func Shoot(t testing.TB, size image.Point, ops *op.Ops) *image.RGBA {
	t.Helper()
	if os.Getenv("EGL_PLATFORM") == "" {
		os.Setenv("EGL_PLATFORM", "surfaceless")
	}
	w, err := headless.NewWindow(size.X, size.Y)
	if err != nil {
		t.Fatalf("the headless GPU is unavailable (EGL_PLATFORM=%s): %v\n"+
			"scripts/deps.sh installs Mesa's EGL and drivers (libegl-mesa0 libgl1-mesa-dri)", os.Getenv("EGL_PLATFORM"), err)
	}
	defer w.Release()
	if err := w.Frame(ops); err != nil {
		t.Fatalf("headless frame: %v", err)
	}
	img := image.NewRGBA(image.Rectangle{Max: w.Size()})
	if err := w.Screenshot(img); err != nil {
		t.Fatalf("headless screenshot: %v", err)
	}
	return img
}

// SavePNG writes img as out/gui/<name> in the module and returns the path.
func SavePNG(t testing.TB, img image.Image, name string) string {
	t.Helper()
	out := filepath.Join(ModuleRoot(), "out", "gui", name)
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
	return out
}

// Colours counts the pixels of each colour.
func Colours(img *image.RGBA) map[color.RGBA]int {
	c := map[color.RGBA]int{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c[img.RGBAAt(x, y)]++
		}
	}
	return c
}

// Dominant is the most frequent colour: the background.
func Dominant(c map[color.RGBA]int) color.RGBA {
	var best color.RGBA
	n := -1
	for k, v := range c {
		if v > n {
			best, n = k, v
		}
	}
	return best
}

// Ink counts the pixels in r that are not bg.
func Ink(img *image.RGBA, r image.Rectangle, bg color.RGBA) int {
	n := 0
	r = r.Intersect(img.Bounds())
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if img.RGBAAt(x, y) != bg {
				n++
			}
		}
	}
	return n
}

// Nodes lists the semantic nodes of the router's last frame, depth first.
func Nodes(r *input.Router) []input.SemanticNode {
	var all []input.SemanticNode
	var walk func([]input.SemanticNode)
	walk = func(ns []input.SemanticNode) {
		for _, n := range ns {
			all = append(all, n)
			walk(n.Children)
		}
	}
	walk(r.AppendSemantics(nil))
	return all
}

// Label is the text of n and its descendants.
func Label(n input.SemanticNode) string {
	s := n.Desc.Label
	for _, c := range n.Children {
		s += Label(c)
	}
	return s
}

// Find returns the bounds of the smallest widget on screen whose text
// starts with prefix, and whether there is one.
func Find(r *input.Router, prefix string) (image.Rectangle, bool) {
	var best image.Rectangle
	found := false
	for _, n := range Nodes(r) {
		b := n.Desc.Bounds
		if b.Empty() || !strings.HasPrefix(Label(n), prefix) {
			continue
		}
		if !found || b.Dx()*b.Dy() < best.Dx()*best.Dy() {
			best, found = b, true
		}
	}
	return best, found
}

// Click queues a primary-button click at p; the caller lays out the
// frames that handle it.
func Click(r *input.Router, p image.Point) {
	pos := f32.Pt(float32(p.X), float32(p.Y))
	r.Queue(
		pointer.Event{Kind: pointer.Move, Source: pointer.Mouse, Position: pos},
		pointer.Event{Kind: pointer.Press, Source: pointer.Mouse, Buttons: pointer.ButtonPrimary, Position: pos},
		pointer.Event{Kind: pointer.Release, Source: pointer.Mouse, Position: pos},
	)
}

// Enter clicks the middle of the editor at box, types s at its end and
// presses Return, laying out a frame (frame) after each step, as a person
// entering one line (a chat request, say) does.
func Enter(r *input.Router, box image.Rectangle, s string, frame func()) {
	Click(r, box.Min.Add(box.Max).Div(2))
	frame()
	n := utf8.RuneCountInString(s)
	r.Queue(key.EditEvent{Text: s}, key.SelectionEvent{Start: n, End: n})
	frame()
	r.Queue(key.Event{Name: key.NameReturn, State: key.Press}, key.Event{Name: key.NameReturn, State: key.Release})
	frame()
	frame()
}
