package initramfs

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cavaliergopher/cpio"
)

func TestWriteIsNewcWithInitAndDirsInOrder(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "phoenix")
	payload := bytes.Repeat([]byte("phoenix\x00"), 5000)
	if err := os.WriteFile(bin, payload, 0o755); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	var last, total int64
	if err := Write(&buf, Phoenix(bin), func(d, tot int64) { last, total = d, tot }); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(buf.Bytes(), []byte("070701")) {
		t.Fatalf("not a newc archive: %q", buf.Bytes()[:6])
	}
	if last != int64(len(payload)) || total != int64(len(payload)) {
		t.Errorf("progress ended at %d of %d, want %d", last, total, len(payload))
	}
	r := cpio.NewReader(bytes.NewReader(buf.Bytes()))
	var names []string
	for {
		h, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
		if h.Name == "init" {
			if h.Mode&cpio.ModeType != cpio.TypeReg || h.Mode.Perm() != 0o755 {
				t.Errorf("init mode %o", h.Mode)
			}
			got, _ := io.ReadAll(r)
			if !bytes.Equal(got, payload) {
				t.Errorf("init holds %d bytes, want the %d of the binary", len(got), len(payload))
			}
		} else if h.Mode&cpio.ModeType != cpio.TypeDir {
			t.Errorf("%s is not a directory: %o", h.Name, h.Mode)
		}
	}
	if got := strings.Join(names, " "); got != "dev init phoenix proc sys tmp" {
		t.Errorf("entries %q", got)
	}
}

func TestWriteIsDeterministic(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "phoenix")
	os.WriteFile(bin, []byte("static binary"), 0o755)
	var a, b bytes.Buffer
	if err := Write(&a, Phoenix(bin), nil); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Hour)
	os.Chtimes(bin, later, later)
	if err := Write(&b, Phoenix(bin), nil); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("two archives of the same contents differ")
	}
}

func TestWriteNamesAMissingSource(t *testing.T) {
	err := Write(io.Discard, Phoenix("/nonexistent/phoenix"), nil)
	if err == nil || !strings.Contains(err.Error(), "initramfs: init:") || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("got %v", err)
	}
}
