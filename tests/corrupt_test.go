package tests

import (
	"crypto/rand"
	"encoding/binary"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2"
)

// overwriteRecord replaces the stored record of oid with data, going
// around Phoenix straight to the Pebble store.
func overwriteRecord(t *testing.T, img string, oid uint64, data []byte) {
	t.Helper()
	db, err := pebble.Open(filepath.Join(img, "store"), &pebble.Options{Logger: quietLogger{}})
	if err != nil {
		t.Fatalf("pebble open: %v", err)
	}
	key := binary.BigEndian.AppendUint64([]byte("o/"), oid)
	if _, closer, err := db.Get(key); err != nil {
		t.Fatalf("record o/%d is not in the store: %v", oid, err)
	} else {
		closer.Close()
	}
	if err := db.Set(key, data, pebble.Sync); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

// noPanic fails if stderr looks like a Go panic or an internal error
// rather than a user-facing error.
func noPanic(t *testing.T, what, stderr string) {
	t.Helper()
	for _, bad := range []string{"goroutine ", "panic:", "internal error"} {
		if strings.Contains(stderr, bad) {
			t.Errorf("%s: stderr contains %q:\n%s", what, bad, stderr)
		}
	}
}

// TestCorruptRecord: one object's record is garbage on disk. Lazy loading
// never reads it unless it is touched; touching it fails with an error
// naming the object (not a crash); image verify reports it.
func TestCorruptRecord(t *testing.T) {
	home := t.TempDir()
	img := newImage(t, home, "x.image")
	mustEval(t, home, img, "Account = Object:clone(); Account.balance = 1; Acc2 = Object:clone()")
	mustEval(t, home, img, "Sub = Account:clone()")
	oidStr := mustEval(t, home, img, "return reflect(Account):oid()")
	oid, err := strconv.ParseUint(oidStr, 10, 64)
	if err != nil || oid == 0 {
		t.Fatalf("Account's oid: %q", oidStr)
	}
	overwriteRecord(t, img, oid, []byte("\xff\xfethis is not a record\x00\x01\x02"))

	// The rest of the image is fine.
	if got := mustEval(t, home, img, "return Acc2 ~= nil"); got != "true" {
		t.Fatalf("Acc2 ~= nil: %q", got)
	}
	// Touching Account, directly or as a proto, fails with a clear error
	// naming it.
	for _, code := range []string{"return Account.balance", "return Account", "Account.balance = 5", "return Account:clone()", "return Sub", "return Sub.balance"} {
		out, stderr, err := phoenix(t, home, "eval", "--image", img, code)
		if exitCode(err) != 1 {
			t.Errorf("%s: exit %d (%v), stdout %q", code, exitCode(err), err, out)
		}
		if !strings.Contains(stderr, "object "+oidStr) {
			t.Errorf("%s: stderr does not name object %s:\n%s", code, oidStr, stderr)
		}
		noPanic(t, code, stderr)
	}
	// Rebinding the name does not need the record, and commits.
	if got := mustEval(t, home, img, "Other = Account; return Other == Account"); got != "true" {
		t.Fatalf("aliasing the corrupt object: %q", got)
	}

	out, stderr, err := phoenix(t, home, "image", "verify", "--image", img)
	if exitCode(err) != 1 {
		t.Fatalf("verify of a corrupt image: exit %d (%v)\n%s%s", exitCode(err), err, out, stderr)
	}
	if !strings.Contains(out, "problem: object "+oidStr) || !strings.Contains(out, "1 problems") {
		t.Fatalf("verify does not name object %s:\n%s%s", oidStr, out, stderr)
	}
	noPanic(t, "verify", stderr)

	// A record cut short (a valid header, a truncated slot) is reported
	// the same way.
	img2 := newImage(t, home, "y.image")
	mustEval(t, home, img2, `Account = Object:clone(); Account.balance = 1; Account.name = "a long enough name"`)
	oid2 := mustEval(t, home, img2, "return reflect(Account):oid()")
	n, _ := strconv.ParseUint(oid2, 10, 64)
	overwriteRecord(t, img2, n, []byte{1, 1, 2, 7, 'A', 'c', 'c', 'o', 'u', 'n', 't', 0, 2, 4, 40, 'b', 'a'})
	_, stderr, err = phoenix(t, home, "eval", "--image", img2, "return Account.balance")
	if exitCode(err) != 1 || !strings.Contains(stderr, "object "+oid2) {
		t.Errorf("truncated record: exit %d, stderr:\n%s", exitCode(err), stderr)
	}
	noPanic(t, "truncated record", stderr)
	out, stderr, err = phoenix(t, home, "image", "verify", "--image", img2)
	if exitCode(err) != 1 || !strings.Contains(out, "object "+oid2) {
		t.Errorf("verify of a truncated record: exit %d\n%s%s", exitCode(err), out, stderr)
	}
}

// TestBadImportAndMissingStore: a garbage or truncated export file and an
// image directory without its store give clear errors and leave nothing
// behind.
func TestBadImportAndMissingStore(t *testing.T) {
	home := t.TempDir()
	img := newImage(t, home, "x.image")
	mustEval(t, home, img, "Account = Object:clone(); Account.balance = 1")
	phx := filepath.Join(home, "x.phx")
	if _, stderr, err := phoenix(t, home, "image", "export", "--image", img, phx); err != nil {
		t.Fatalf("export: %v\n%s", err, stderr)
	}
	good, err := os.ReadFile(phx)
	if err != nil {
		t.Fatal(err)
	}
	garbage := make([]byte, 4096)
	rand.Read(garbage)
	flipped := append([]byte(nil), good...)
	flipped[len(flipped)/2] ^= 0x55

	cases := []struct {
		name, want string
		data       []byte
	}{
		{"garbage", "not a Phoenix export file", garbage},
		{"empty", "truncated", nil},
		{"truncated", "truncated", good[:len(good)/2]},
		{"header only", "truncated", good[:16]},
		{"flipped byte", "checksum mismatch", flipped},
	}
	for _, c := range cases {
		file := filepath.Join(home, strings.ReplaceAll(c.name, " ", "-")+".phx")
		dest := filepath.Join(home, strings.ReplaceAll(c.name, " ", "-")+".image")
		if err := os.WriteFile(file, c.data, 0o644); err != nil {
			t.Fatal(err)
		}
		out, stderr, err := phoenix(t, home, "image", "import", file, dest)
		if exitCode(err) != 1 {
			t.Errorf("%s: import exit %d (%v)\n%s%s", c.name, exitCode(err), err, out, stderr)
			continue
		}
		if !strings.HasPrefix(stderr, "phoenix: import "+file+": ") || !strings.Contains(stderr, c.want) {
			t.Errorf("%s: unclear error (want %q):\n%s", c.name, c.want, stderr)
		}
		noPanic(t, c.name, stderr)
		if _, err := os.Stat(dest); !os.IsNotExist(err) {
			t.Errorf("%s: a failed import left %s behind (%v)", c.name, dest, err)
		}
	}
	// A missing export file.
	if _, stderr, err := phoenix(t, home, "image", "import", filepath.Join(home, "nosuch.phx"), filepath.Join(home, "n.image")); exitCode(err) != 1 || !strings.Contains(stderr, "nosuch.phx") {
		t.Errorf("import of a missing file: %v\n%s", err, stderr)
	}
	// The good file still imports.
	if _, stderr, err := phoenix(t, home, "image", "import", phx, filepath.Join(home, "ok.image")); err != nil {
		t.Fatalf("import of the good file: %v\n%s", err, stderr)
	}

	// An image directory whose store is gone.
	if err := os.RemoveAll(filepath.Join(img, "store")); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"eval", "--image", img, "1"},
		{"repl", "--image", img},
		{"image", "info", "--image", img},
		{"image", "verify", "--image", img},
		{"image", "export", "--image", img, filepath.Join(home, "y.phx")},
		{"image", "gc", "--image", img},
	} {
		out, stderr, err := phoenix(t, home, args...)
		name := strings.Join(args[:2], " ")
		if exitCode(err) != 1 || out != "" {
			t.Errorf("%s without a store: exit %d, stdout %q", name, exitCode(err), out)
		}
		if !strings.Contains(stderr, "no image at "+img) {
			t.Errorf("%s without a store: unclear error:\n%s", name, stderr)
		}
		noPanic(t, name, stderr)
	}
	if _, err := os.Stat(filepath.Join(img, "store")); !os.IsNotExist(err) {
		t.Errorf("a command recreated the missing store (%v)", err)
	}
	// A store that is not a directory, or an empty one.
	if err := os.WriteFile(filepath.Join(img, "store"), []byte("junk"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr, err := phoenix(t, home, "eval", "--image", img, "1")
	if exitCode(err) != 1 || !strings.Contains(stderr, img) {
		t.Errorf("store is a file: exit %d\n%s", exitCode(err), stderr)
	}
	noPanic(t, "store is a file", stderr)
	os.Remove(filepath.Join(img, "store"))
	os.Mkdir(filepath.Join(img, "store"), 0o755)
	_, stderr, err = phoenix(t, home, "eval", "--image", img, "1")
	if exitCode(err) != 1 || !strings.Contains(stderr, img) || !strings.Contains(stderr, "does not exist") {
		t.Errorf("empty store: exit %d\n%s", exitCode(err), stderr)
	}
	noPanic(t, "empty store", stderr)
}
