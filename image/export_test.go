package image

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/phoenix-image/phoenix/image/exportfmt"
	"github.com/phoenix-image/phoenix/vm"
)

// allKeys returns every key/value of an image.
func allKeys(t *testing.T, im *Image) map[string]string {
	t.Helper()
	m := map[string]string{}
	if err := scan(im.db, nil, func(k, v []byte) error {
		m[string(k)] = string(v)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return m
}

// exportedImage returns an image with some content and its export.
func exportedImage(t *testing.T) (*Image, []byte) {
	t.Helper()
	im := newImage(t)
	commitSample(t, im)
	var puts []*vm.Record
	for i := vm.OID(200); i < 700; i++ {
		puts = append(puts, smallRecord(i))
	}
	if err := im.Commit(&vm.Batch{Puts: puts}); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	var calls, lastDone, lastTotal int64
	sum, err := im.Export(&buf, func(done, total int64) { calls++; lastDone, lastTotal = done, total })
	if err != nil {
		t.Fatal(err)
	}
	if calls == 0 || lastDone != lastTotal || lastDone != sum.Bytes {
		t.Fatalf("progress: %d calls, last %d/%d, payload %d", calls, lastDone, lastTotal, sum.Bytes)
	}
	return im, buf.Bytes()
}

func TestExportImportRoundTrip(t *testing.T) {
	im, data := exportedImage(t)
	// The header.
	er, err := exportfmt.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	var hdr ExportHeader
	if err := json.Unmarshal(er.Header(), &hdr); err != nil {
		t.Fatal(err)
	}
	if hdr.Format != "phoenix-image" || hdr.FormatVersion != 1 || hdr.Records != 505 || hdr.Source != im.Path() || hdr.ExportedAt.IsZero() {
		t.Fatalf("header %+v", hdr)
	}

	dest := filepath.Join(t.TempDir(), "imported.image")
	var lastDone, lastTotal int64
	sum, err := Import(bytes.NewReader(data), dest, func(d, tot int64) { lastDone, lastTotal = d, tot })
	if err != nil {
		t.Fatal(err)
	}
	if sum.Records != 505 || sum.Path != dest || lastDone != int64(len(data)) || lastTotal != int64(len(data)) {
		t.Fatalf("summary %+v, progress %d/%d of %d", sum, lastDone, lastTotal, len(data))
	}
	want := allKeys(t, im)
	if sum.Keys != int64(len(want)) {
		t.Fatalf("imported %d keys, image has %d", sum.Keys, len(want))
	}
	imp, err := Open(dest, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer imp.Close()
	got := allKeys(t, imp)
	if len(got) != len(want) {
		t.Fatalf("%d keys imported, want %d", len(got), len(want))
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("key %q: got %x want %x", k, got[k], v)
		}
	}
	if imp.NextOID() != im.NextOID() || !imp.Created().Equal(im.Created()) {
		t.Fatalf("meta differs")
	}
	if _, err := Import(bytes.NewReader(data), dest, nil); !errors.Is(err, ErrExists) {
		t.Fatalf("import over an existing path: %v", err)
	}
	// An existing empty directory is refused too, and left alone.
	empty := t.TempDir()
	if _, err := Import(bytes.NewReader(data), empty, nil); !errors.Is(err, ErrExists) {
		t.Fatalf("import into existing dir: %v", err)
	}
	if _, err := os.Stat(empty); err != nil {
		t.Fatal("refused import removed the existing directory")
	}
}

func TestImportFromFileReportsSize(t *testing.T) {
	_, data := exportedImage(t)
	f := filepath.Join(t.TempDir(), "x.export")
	os.WriteFile(f, data, 0o644)
	r, _ := os.Open(f)
	defer r.Close()
	var total int64
	if _, err := Import(r, filepath.Join(t.TempDir(), "i"), func(_, tot int64) { total = tot }); err != nil {
		t.Fatal(err)
	}
	if total != int64(len(data)) {
		t.Fatalf("total %d, file %d", total, len(data))
	}
}

func TestImportTruncated(t *testing.T) {
	_, data := exportedImage(t)
	dir := t.TempDir()
	offsets := []int{0, 1, 10, 15, 16, 20, 40, 100, len(data) / 3, len(data) / 2, len(data) - 33, len(data) - 32, len(data) - 1}
	for i := 1; i < len(data); i += len(data)/40 + 1 {
		offsets = append(offsets, i)
	}
	for _, n := range offsets {
		dest := filepath.Join(dir, fmt.Sprintf("cut%d", n))
		_, err := Import(bytes.NewReader(data[:n]), dest, nil)
		if err == nil {
			t.Fatalf("import of %d of %d bytes succeeded", n, len(data))
		}
		if !errors.Is(err, exportfmt.ErrTruncated) || !strings.Contains(err.Error(), "truncated at byte") || !strings.Contains(err.Error(), dest) {
			t.Fatalf("cut at %d: %v", n, err)
		}
		if _, serr := os.Lstat(dest); serr == nil {
			t.Fatalf("cut at %d: %s left behind", n, dest)
		}
	}
}

func TestImportCorrupt(t *testing.T) {
	_, data := exportedImage(t)
	dir := t.TempDir()
	for i, off := range []int{20, 200, len(data) / 2, len(data) - 40, len(data) - 5} {
		c := bytes.Clone(data)
		c[off] ^= 0x10
		dest := filepath.Join(dir, fmt.Sprint(i))
		_, err := Import(bytes.NewReader(c), dest, nil)
		if err == nil || !strings.Contains(err.Error(), "export: ") {
			t.Fatalf("bit flip at %d: %v", off, err)
		}
		if !errors.Is(err, exportfmt.ErrCorrupt) && !errors.Is(err, exportfmt.ErrTruncated) {
			t.Fatalf("bit flip at %d: not a format error: %v", off, err)
		}
		if _, serr := os.Lstat(dest); serr == nil {
			t.Fatalf("bit flip at %d: %s left behind", off, dest)
		}
	}
	// Trailing garbage.
	dest := filepath.Join(dir, "garbage")
	if _, err := Import(bytes.NewReader(append(bytes.Clone(data), 'x')), dest, nil); !errors.Is(err, exportfmt.ErrCorrupt) {
		t.Fatalf("trailing garbage: %v", err)
	}
	if _, serr := os.Lstat(dest); serr == nil {
		t.Fatal("garbage: dest left behind")
	}
	// Not an export at all.
	if _, err := Import(strings.NewReader("hello world, this is not an export"), filepath.Join(dir, "n"), nil); !errors.Is(err, exportfmt.ErrNotExport) {
		t.Fatalf("not an export: %v", err)
	}
}

func TestImportWrongHeader(t *testing.T) {
	for _, h := range []string{`{"format":"other","formatVersion":1}`, `{"format":"phoenix-image","formatVersion":2}`, `not json`} {
		var buf bytes.Buffer
		w, _ := exportfmt.NewWriter(&buf, []byte(h))
		w.Close()
		dest := filepath.Join(t.TempDir(), "x")
		_, err := Import(&buf, dest, nil)
		if err == nil {
			t.Fatalf("header %s accepted", h)
		}
		if _, serr := os.Lstat(dest); serr == nil {
			t.Fatal("dest left behind")
		}
	}
}
