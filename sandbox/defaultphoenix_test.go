package sandbox

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDefaultPhoenixEnv(t *testing.T) {
	notELF := filepath.Join(t.TempDir(), "phoenix")
	if err := os.WriteFile(notELF, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv(SandboxBinEnv, notELF)
	if _, err := DefaultPhoenix(); err == nil || !strings.Contains(err.Error(), SandboxBinEnv) {
		t.Fatalf("a non-ELF $%s: err = %v, want an error naming the variable", SandboxBinEnv, err)
	}
}

func TestDefaultPhoenixSearch(t *testing.T) {
	t.Setenv(SandboxBinEnv, "")
	exe, err := os.Executable()
	if err != nil {
		t.Fatalf("os.Executable: %v", err)
	}
	p, err := DefaultPhoenix()
	switch {
	case err == nil:
		if p != exe && p != filepath.Join(filepath.Dir(exe), "phoenix-sandbox") {
			t.Fatalf("DefaultPhoenix = %s, want this executable or phoenix-sandbox next to it", p)
		}
	case !strings.Contains(err.Error(), "phoenix-sandbox") || !strings.Contains(err.Error(), SandboxBinEnv):
		t.Fatalf("error does not say what was looked for: %v", err)
	}
}
