package image

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func memoriesOf(t *testing.T, im *Image) map[string]string {
	t.Helper()
	m := map[string]string{}
	if err := im.Memories(func(id string, v []byte) error { m[id] = string(v); return nil }); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestMemoriesSurviveReopenExportAndImport(t *testing.T) {
	im := newImage(t)
	commitSample(t, im)
	if err := im.PutMemories(map[string][]byte{"m1": []byte(`{"a":1}`), "m2": []byte(`{"b":2}`), "m3": []byte("x")}); err != nil {
		t.Fatal(err)
	}
	if err := im.DeleteMemories([]string{"m3", "never-there"}); err != nil {
		t.Fatal(err)
	}
	im = reopen(t, im)
	want := map[string]string{"m1": `{"a":1}`, "m2": `{"b":2}`}
	if got := memoriesOf(t, im); len(got) != 2 || got["m1"] != want["m1"] || got["m2"] != want["m2"] {
		t.Fatalf("after reopen: %v", got)
	}
	rep, err := im.Verify(nil)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() {
		t.Fatalf("verify with memories: %v", rep.Problems)
	}

	var buf bytes.Buffer
	if _, err := im.Export(&buf, nil); err != nil {
		t.Fatal(err)
	}
	dest := filepath.Join(t.TempDir(), "imported.image")
	if _, err := Import(bytes.NewReader(buf.Bytes()), dest, nil); err != nil {
		t.Fatalf("import of an export with memories: %v", err)
	}
	im2, err := Open(dest, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer im2.Close()
	if got := memoriesOf(t, im2); len(got) != 2 || got["m1"] != want["m1"] || got["m2"] != want["m2"] {
		t.Fatalf("after import: %v", got)
	}
}

func TestMemoryIDsAreChecked(t *testing.T) {
	im := newImage(t)
	err := im.PutMemories(map[string][]byte{"bad/id": nil})
	if err == nil || !strings.Contains(err.Error(), `memory id "bad/id"`) {
		t.Fatalf("bad id: %v", err)
	}
	if got := memoriesOf(t, im); len(got) != 0 {
		t.Fatalf("a refused batch stored %v", got)
	}
}

// The memory generation changes with every write to the memory, in the
// same batch, and is never a value seen before; Memory reads one item;
// the index cache directory is outside the store, so Export does not carry
// it and Verify accepts the image.
func TestMemoryGenerationAndIndexDir(t *testing.T) {
	im := newImage(t)
	commitSample(t, im)
	g0, err := im.MemoryGeneration()
	if err != nil || g0 != nil {
		t.Fatalf("a new image's memory generation: %x %v", g0, err)
	}
	seen := map[string]bool{}
	step := func(what string, f func() error) {
		t.Helper()
		if err := f(); err != nil {
			t.Fatal(err)
		}
		g, err := im.MemoryGeneration()
		if err != nil || len(g) != memoryGenLen || seen[string(g)] {
			t.Fatalf("after %s: generation %x %v (seen before: %v)", what, g, err, seen[string(g)])
		}
		seen[string(g)] = true
	}
	step("put", func() error { return im.PutMemories(map[string][]byte{"m1": []byte("one")}) })
	step("put again", func() error { return im.PutMemories(map[string][]byte{"m1": []byte("uno")}) })
	step("delete", func() error { return im.DeleteMemories([]string{"m1"}) })
	step("put", func() error { return im.PutMemories(map[string][]byte{"m2": []byte("two")}) })
	if v, ok, err := im.Memory("m2"); err != nil || !ok || string(v) != "two" {
		t.Fatalf("Memory(m2): %q %v %v", v, ok, err)
	}
	if _, ok, err := im.Memory("m1"); err != nil || ok {
		t.Fatalf("Memory(m1) after delete: %v %v", ok, err)
	}
	if _, _, err := im.Memory("bad/id"); err == nil || !strings.Contains(err.Error(), "bad/id") {
		t.Fatalf("Memory(bad/id): %v", err)
	}

	dir := im.MemoryIndexDir()
	if dir != filepath.Join(im.Path(), "memory-index") {
		t.Fatalf("MemoryIndexDir: %s", dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "cache-marker"), []byte("not image data"), 0o644); err != nil {
		t.Fatal(err)
	}
	rep, err := im.Verify(nil)
	if err != nil || !rep.OK() {
		t.Fatalf("verify with a memory generation and an index dir: %v %v", rep.Problems, err)
	}
	var buf bytes.Buffer
	if _, err := im.Export(&buf, nil); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(buf.Bytes(), []byte("not image data")) {
		t.Fatal("the export carries the index cache")
	}
	dest := filepath.Join(t.TempDir(), "imported.image")
	if _, err := Import(&buf, dest, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dest, "memory-index")); err == nil {
		t.Fatal("the imported image has an index cache")
	}
	im2, err := Open(dest, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer im2.Close()
	if im2.MemoryIndexDir() != "" {
		t.Fatal("a read-only image offers an index cache directory")
	}
	if g, _ := im2.MemoryGeneration(); len(g) != memoryGenLen {
		t.Fatalf("the imported image's generation: %x", g)
	}
}
