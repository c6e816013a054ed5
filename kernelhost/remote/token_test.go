package remote

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestEnsureTokenCreatesPrivateFileOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token")
	tok, created, err := EnsureToken(path)
	if err != nil || !created {
		t.Fatalf("create: %v %v", created, err)
	}
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(tok) {
		t.Fatalf("token %q", tok)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode: %v %v", fi.Mode(), err)
	}
	again, created, err := EnsureToken(path)
	if err != nil || created || again != tok {
		t.Fatalf("second call: %q %v %v", again, created, err)
	}
	other, _, _ := EnsureToken(filepath.Join(t.TempDir(), "token"))
	if other == tok {
		t.Fatal("two fresh tokens are equal")
	}
}

func TestReadTokenRefusesWidePermissionsAndEmptyFiles(t *testing.T) {
	dir := t.TempDir()
	wide := filepath.Join(dir, "wide")
	os.WriteFile(wide, []byte("abc\n"), 0o600)
	os.Chmod(wide, 0o644)
	if _, err := ReadToken(wide); err == nil || !strings.Contains(err.Error(), wide) || !strings.Contains(err.Error(), "0644") {
		t.Fatalf("wide: %v", err)
	}
	if _, _, err := EnsureToken(wide); err == nil || !strings.Contains(err.Error(), wide) {
		t.Fatalf("ensure on wide: %v", err)
	}
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, []byte("  \n"), 0o600)
	if _, err := ReadToken(empty); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Fatalf("empty: %v", err)
	}
	ok := filepath.Join(dir, "ok")
	os.WriteFile(ok, []byte(" tok\n"), 0o600)
	if tok, err := ReadToken(ok); err != nil || tok != "tok" {
		t.Fatalf("ok: %q %v", tok, err)
	}
	if _, err := ReadToken(filepath.Join(dir, "missing")); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("missing: %v", err)
	}
}
