package tests

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// phoenixBin is the phoenix binary built once for all tests.
var phoenixBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "phoenix-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	phoenixBin = filepath.Join(dir, "phoenix")
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Dir(filepath.Dir(file))
	build := exec.Command("go", "build", "-o", phoenixBin, "./cmd/phoenix")
	build.Dir = root
	build.Env = append(os.Environ(), "CGO_ENABLED=0") // static: it also runs inside the sandbox
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building phoenix:", err)
		os.Exit(1)
	}
	// The QEMU guest's build (kernelhost/qemu.GuestTag), next to phoenix,
	// where phoenix boot looks for it.
	guest := exec.Command("go", "build", "-tags", "phoenix_guest", "-ldflags=-s -w", "-o", filepath.Join(dir, "phoenix-guest"), "./cmd/phoenix")
	guest.Dir = root
	guest.Env = append(os.Environ(), "CGO_ENABLED=0")
	guest.Stdout, guest.Stderr = os.Stderr, os.Stderr
	if err := guest.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building phoenix-guest:", err)
		os.Exit(1)
	}
	code := m.Run()
	stopSharedXvfb() // of the GUI benchmarks
	os.RemoveAll(dir)
	os.Exit(code)
}

// phoenix runs the binary with a private data directory.
func phoenix(t *testing.T, home string, args ...string) (string, string, error) {
	t.Helper()
	cmd := exec.Command(phoenixBin, args...)
	cmd.Env = append(os.Environ(), "XDG_DATA_HOME="+filepath.Join(home, "data"), "HOME="+home)
	var out, errb stringsBuilder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	return out.String(), errb.String(), err
}

type stringsBuilder struct{ b []byte }

func (s *stringsBuilder) Write(p []byte) (int, error) { s.b = append(s.b, p...); return len(p), nil }
func (s *stringsBuilder) String() string              { return string(s.b) }
