package sandbox

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRunscBasic(t *testing.T) {
	v := newRunsc(t, RunscOptions{})
	if v.Boundary() != BoundaryGVisor {
		t.Errorf("boundary %q", v.Boundary())
	}
	for _, c := range basicCases() {
		t.Run(c.name, func(t *testing.T) {
			r, err := v.Validate(context.Background(), c.req())
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%+v", r)
			if r.Boundary != BoundaryGVisor {
				t.Errorf("boundary %q", r.Boundary)
			}
			c.check(t, r)
		})
	}
}

func TestRunscCold(t *testing.T) {
	v := newRunsc(t, RunscOptions{Pool: Cold})
	for _, c := range basicCases()[:2] {
		r, err := v.Validate(context.Background(), c.req())
		if err != nil {
			t.Fatal(err)
		}
		c.check(t, r)
	}
	if ids := v.ids(); len(ids) != 0 {
		t.Errorf("cold sandboxes left behind: %v", ids)
	}
	if out := list(t, v); out != "" {
		t.Errorf("runsc list after cold validations:\n%s", out)
	}
}

// list is runsc list without its header.
func list(t *testing.T, v *runscV) string {
	t.Helper()
	out, err := exec.Command(v.opts.Runsc, "--root", v.root, "list", "--quiet").CombinedOutput()
	if err != nil {
		t.Fatalf("runsc list: %v: %s", err, out)
	}
	return strings.TrimSpace(string(out))
}

func TestRunscNoNetwork(t *testing.T) {
	v := newRunsc(t, RunscOptions{})
	args := strings.Join(runArgs("B", "ID", true), " ")
	if !strings.Contains(args, "--network=none") {
		t.Errorf("runsc run without --network=none: %s", args)
	}
	// The running sandbox process itself was started with it.
	ids := v.ids()
	if len(ids) != 1 {
		t.Fatalf("sandboxes %v, want 1", ids)
	}
	out, err := exec.Command(v.opts.Runsc, "--root", v.root, "state", ids[0]).Output()
	if err != nil {
		t.Fatal(err)
	}
	var pid string
	for _, l := range strings.Split(string(out), "\n") {
		if f := strings.Fields(l); len(f) == 2 && f[0] == `"pid":` {
			pid = strings.TrimSuffix(f[1], ",")
		}
	}
	cmdline, err := os.ReadFile("/proc/" + pid + "/cmdline")
	if err != nil {
		t.Fatalf("sandbox pid %q: %v", pid, err)
	}
	if !strings.Contains(string(cmdline), "--network=none") {
		t.Errorf("sandbox process runs without --network=none: %q", cmdline)
	}
}

func TestRunscKilledFromOutside(t *testing.T) {
	v := newRunsc(t, RunscOptions{})
	before := v.ids()
	q := goodRequest()
	q.Call = "while true do end"
	q.Budget = 5 * time.Second
	done := make(chan *Result)
	go func() {
		r, err := v.Validate(context.Background(), q)
		if err != nil {
			t.Error(err)
		}
		done <- r
	}()
	time.Sleep(500 * time.Millisecond)
	if out, err := exec.Command(v.opts.Runsc, "--root", v.root, "kill", before[0], "KILL").CombinedOutput(); err != nil {
		l, _ := exec.Command(v.opts.Runsc, "--root", v.root, "list").CombinedOutput()
		t.Fatalf("runsc kill %v: %v: %s\nrunsc list:\n%s", before, err, out, l)
	}
	r := <-done
	if r == nil || r.OK || r.Error == "" {
		t.Fatalf("a killed sandbox must be reported as a sandbox failure: %+v", r)
	}
	t.Logf("killed: %s", r.Error)
	r, err := v.Validate(context.Background(), goodRequest())
	if err != nil || !r.OK {
		t.Fatalf("validation after the kill: %v %+v", err, r)
	}
	after := v.ids()
	if len(after) != 1 || after[0] == before[0] {
		t.Errorf("sandbox not replaced: before %v, after %v", before, after)
	}
}

func TestRunscTimeoutFromOutside(t *testing.T) {
	// A Lua pattern match runs in Go without looking at the budget; the
	// outer timeout must end it.
	v := newRunsc(t, RunscOptions{Timeout: 2 * time.Second})
	before := v.ids()
	q := goodRequest()
	q.Call = `return string.find(string.rep("a", 5000), ".-.-.-.-.-.-b")`
	start := time.Now()
	r, err := v.Validate(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	if r.OK || !strings.Contains(r.Error, "timeout") || time.Since(start) > 5*time.Second {
		t.Fatalf("outer timeout: %v %+v", time.Since(start), r)
	}
	r, err = v.Validate(context.Background(), goodRequest())
	if err != nil || !r.OK {
		t.Fatalf("validation after the timeout: %v %+v", err, r)
	}
	if after := v.ids(); len(after) != 1 || after[0] == before[0] {
		t.Errorf("sandbox not replaced: before %v, after %v", before, after)
	}
}

func TestRunscClose(t *testing.T) {
	state := t.TempDir()
	v := newRunsc(t, RunscOptions{Pool: 2, StateDir: state})
	if r, err := v.Validate(context.Background(), goodRequest()); err != nil || !r.OK {
		t.Fatalf("%v %+v", err, r)
	}
	if n := len(strings.Fields(list(t, v))); n != 2 {
		t.Errorf("%d sandboxes running, want 2", n)
	}
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}
	if out := list(t, v); out != "" {
		t.Errorf("sandboxes left after Close:\n%s", out)
	}
	// No sandbox process of ours survives.
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		if b, err := os.ReadFile(p); err == nil && strings.Contains(string(b), v.root) {
			t.Errorf("process left after Close: %s: %q", p, b)
		}
	}
	if _, err := v.Validate(context.Background(), goodRequest()); err == nil {
		t.Error("Validate after Close succeeded")
	}
}

func TestRunscConcurrent(t *testing.T) {
	v := newRunsc(t, RunscOptions{Pool: 2})
	errs := make(chan error, 6)
	for i := 0; i < 6; i++ {
		go func() {
			r, err := v.Validate(context.Background(), goodRequest())
			if err == nil && !r.OK {
				err = errors.New(r.Error + r.CallError)
			}
			errs <- err
		}()
	}
	for i := 0; i < 6; i++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if ids := v.ids(); len(ids) != 2 {
		t.Errorf("sandboxes %v, want 2", ids)
	}
}
