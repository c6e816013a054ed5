package image_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/phoenix-image/phoenix/bootstrap"
	"github.com/phoenix-image/phoenix/image"
	"github.com/phoenix-image/phoenix/vm"
)

const fileoutFixture = `
Greeting = Trait:clone()
function Greeting:greet() return "hello from " .. self:name() end
function Greeting:describe() return "G" end
Describing = Trait:clone()
function Describing:describe() return "D" end
Shape = Object:clone()
Shape:uses(Greeting:exclude("describe"):alias({hi = "greet"}), Describing)
Shape.sides = 0
Shape.tags = {"a", "b", nested = {x = 1.5, ["odd key"] = "q\"uote\n"}}
function Shape:name() return "shape with " .. self.sides .. " sides" end
Square = Shape:clone()
Square.sides = 4
Square.peer = Shape
Shape.peer = Square
Square.area = function(self, side) return side * side end
function Object:isShape() return reflect(self):respondsTo("sides") end
answer = 42
motto = "live"
ShapeTest = Object:clone()
ShapeTest:uses(TestCase)
function ShapeTest:testSquare()
  self:assertEquals(16, Square:area(4))
  self:assertEquals("hello from shape with 4 sides", Square:hi())
  self:assertEquals("D", Square:describe())
end
`

const fileoutCheck = `return Square:greet(), Square:describe(), Square:area(3), Square.peer == Shape,
  Shape.peer == Square, Shape.tags.nested["odd key"], answer, motto, Square:isShape()`

func newGenesis(t *testing.T, path string) *bootstrap.Session {
	t.Helper()
	s, err := bootstrap.NewImage(context.Background(), path, bootstrap.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func eval(t *testing.T, v *vm.VM, src string) string {
	t.Helper()
	res, err := v.Eval(context.Background(), src, vm.EvalOptions{Print: true})
	if err != nil {
		t.Fatalf("%s: %v", src, err)
	}
	return strings.Join(res.Strings, "|")
}

func readDir(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = string(b)
	}
	return out
}

func TestFileoutFileinRoundTrip(t *testing.T) {
	dir := t.TempDir()
	a := newGenesis(t, filepath.Join(dir, "a.image"))
	if _, err := a.VM.Eval(context.Background(), fileoutFixture, vm.EvalOptions{NoExpr: true}); err != nil {
		t.Fatal(err)
	}
	want := eval(t, a.VM, fileoutCheck)
	out1 := filepath.Join(dir, "out1")
	rep, err := image.Fileout(a.VM, out1)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Skipped) != 0 {
		t.Errorf("skipped: %v", rep.Skipped)
	}
	files := readDir(t, out1)
	for _, f := range []string{"Shape.lua", "Square.lua", "Greeting.lua", "Object.lua", "_globals.lua", "_links.lua", "MANIFEST"} {
		if _, ok := files[f]; !ok {
			t.Errorf("fileout has no %s (has %v)", f, rep.Files)
		}
	}
	if strings.Contains(files["Object.lua"], "clone = ") || !strings.Contains(files["Object.lua"], "function Object:isShape()") {
		t.Errorf("Object.lua should hold only the user's extension:\n%s", files["Object.lua"])
	}
	manifest := files["MANIFEST"]
	if strings.Index(manifest, "Greeting.lua") > strings.Index(manifest, "Shape.lua") || strings.Index(manifest, "Shape.lua") > strings.Index(manifest, "Square.lua") {
		t.Errorf("load order:\n%s", manifest)
	}

	b := newGenesis(t, filepath.Join(dir, "b.image"))
	if _, err := image.Filein(context.Background(), b.VM, out1); err != nil {
		t.Fatal(err)
	}
	if got := eval(t, b.VM, fileoutCheck); got != want {
		t.Fatalf("after filein: %s, want %s", got, want)
	}
	rep2, err := bootstrap.RunTests(context.Background(), b.VM, bootstrap.TestOptions{Pattern: "ShapeTest"})
	if err != nil || rep2.Passed != 1 || rep2.Failed != 0 {
		t.Fatalf("filed-in tests: %v %+v", err, rep2)
	}
	hs, err := b.VM.History(b.VM.Global("Shape"), "name")
	if err != nil || len(hs) != 1 || hs[0].Author != vm.AuthorFilein {
		t.Fatalf("history after filein: %v %+v", err, hs)
	}
	out2 := filepath.Join(dir, "out2")
	if _, err := image.Fileout(b.VM, out2); err != nil {
		t.Fatal(err)
	}
	again := readDir(t, out2)
	for name, text := range files {
		if again[name] != text {
			t.Errorf("%s differs after a round trip:\n--- first\n%s\n--- second\n%s", name, text, again[name])
		}
	}
	if len(again) != len(files) {
		t.Errorf("file sets differ: %d vs %d", len(again), len(files))
	}
}

func TestFileinErrorNamesFileAndLineAndKeepsNothing(t *testing.T) {
	dir := t.TempDir()
	s := newGenesis(t, filepath.Join(dir, "x.image"))
	src := filepath.Join(dir, "src")
	os.MkdirAll(src, 0o755)
	os.WriteFile(filepath.Join(src, "A.lua"), []byte("A = Object:clone()\n"), 0o644)
	os.WriteFile(filepath.Join(src, "B.lua"), []byte("B = Object:clone()\nfunction B:f(\n  return 1\nend\n"), 0o644)
	_, err := image.Filein(context.Background(), s.VM, src)
	if err == nil || !strings.Contains(err.Error(), "B.lua:3") {
		t.Fatalf("got %v", err)
	}
	if got := eval(t, s.VM, "return A, B"); got != "nil|nil" {
		t.Fatalf("a failed filein kept %s", got)
	}
}
