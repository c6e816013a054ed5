package sandbox

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// phoenixBin is a static phoenix built for the sandbox tests.
var phoenixBin string

func TestMain(m *testing.M) {
	if os.Getenv("PHOENIX_REAP_HELPER") != "" {
		reapHelper() // a process that dies holding a warm sandbox (reap_test.go)
		return
	}
	dir, err := os.MkdirTemp("", "phoenix-sandbox-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	phoenixBin = filepath.Join(dir, "phoenix")
	cmd := exec.Command("go", "build", "-o", phoenixBin, "./cmd/phoenix")
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building a static phoenix: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// runscPath returns the runsc binary, failing the test (never skipping)
// when it is missing.
func runscPath(t testing.TB) string {
	t.Helper()
	p := DefaultRunsc()
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("runsc is required for this test and is missing at %s (set PHOENIX_RUNSC, or build it: go install gvisor.dev/gvisor/runsc@%s into ~/.cache/phoenix/runsc-%s/): %v",
			p, RunscVersion, RunscVersion, err)
	}
	return p
}

// newRunsc starts a gVisor validator for a test and closes it at the end.
func newRunsc(t testing.TB, opts RunscOptions) *runscV {
	t.Helper()
	opts.Runsc = runscPath(t)
	opts.Phoenix = phoenixBin
	if opts.StateDir == "" {
		opts.StateDir = t.TempDir()
	}
	v, err := NewRunsc(opts)
	if err != nil {
		t.Fatalf("NewRunsc: %v", err)
	}
	t.Cleanup(func() { v.Close() })
	return v.(*runscV)
}
