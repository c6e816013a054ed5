package image

import (
	"bytes"
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
