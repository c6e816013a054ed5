package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/phoenix-image/phoenix/bootstrap"
	"github.com/phoenix-image/phoenix/kernelhost"
)

// fakeHost is a Host with a stopped clock, a fixed entropy stream, a
// console of buffers and a storage root in a temporary directory: what a
// port below the VM (a microkernel's root task, say) would supply.
type fakeHost struct {
	root    string
	now     time.Time
	seed    byte
	in      string
	out     bytes.Buffer
	err     bytes.Buffer
	powered []int
}

var _ kernelhost.Host = (*fakeHost)(nil)

func (f *fakeHost) Kind() string { return "fake" }
func (f *fakeHost) Console() kernelhost.Console {
	return kernelhost.Console{In: strings.NewReader(f.in), Out: &f.out, Err: &f.err}
}
func (f *fakeHost) Storage() kernelhost.Storage { return kernelhost.Hosted{Dir: f.root}.Storage() }
func (f *fakeHost) Network() kernelhost.Network { return kernelhost.Hosted{}.Network() }
func (f *fakeHost) Now() time.Time              { return f.now }
func (f *fakeHost) Entropy() io.Reader          { return bytes.NewReader(bytes.Repeat([]byte{f.seed}, 64)) }
func (f *fakeHost) PowerOff(code int)           { f.powered = append(f.powered, code) }

// The command line runs on the Host it is given: the repl reads its
// console, the default image lives in its storage root, os.time, os.date
// and math.random in an evaluation come from its clock and entropy.
func TestReplAndEvalRunOnTheGivenHost(t *testing.T) {
	xdg := t.TempDir()
	t.Setenv("XDG_DATA_HOME", xdg)
	root := t.TempDir()
	now := time.Date(2031, time.March, 4, 5, 6, 7, 0, time.UTC)
	const draw = `local t = {} for i = 1, 4 do t[i] = math.random(1000000) end return table.concat(t, ",")`
	h := &fakeHost{root: root, now: now, seed: 9,
		in: "return os.time()\nreturn os.date('!%Y-%m-%d %H:%M:%S')\n" + draw + "\n"}
	if code := runCommand(h, []string{"repl"}); code != 0 {
		t.Fatalf("repl: exit status %d; stderr %s", code, h.err.String())
	}
	lines := strings.Split(strings.TrimSpace(h.out.String()), "\n")
	if len(lines) != 3 || lines[0] != "1930367167" || lines[1] != "2031-03-04 05:06:07" {
		t.Fatalf("repl on the fake host printed %q (stderr %s)", h.out.String(), h.err.String())
	}
	if !bootstrap.Exists(filepath.Join(root, bootstrap.DefaultImageName)) {
		t.Errorf("the default image is not in the host's storage root %s", root)
	}
	if _, err := os.Stat(filepath.Join(xdg, "phoenix", bootstrap.DefaultImageName)); err == nil {
		t.Errorf("the default image was made under XDG_DATA_HOME, not the host's storage root")
	}
	// The same entropy draws the same numbers; other entropy, others.
	again := &fakeHost{root: root, now: now, seed: 9}
	if code := runCommand(again, []string{"eval", draw}); code != 0 {
		t.Fatalf("eval: exit status %d; stderr %s", code, again.err.String())
	}
	if got := strings.TrimSpace(again.out.String()); got != lines[2] {
		t.Errorf("the same entropy drew %s in the repl and %s in eval", lines[2], got)
	}
	other := &fakeHost{root: root, now: now.Add(time.Hour), seed: 10}
	if code := runCommand(other, []string{"eval", strings.TrimSuffix(draw, `, ",")`) + `, ","), os.time()`}); code != 0 {
		t.Fatalf("eval: exit status %d; stderr %s", code, other.err.String())
	}
	if got := strings.TrimSpace(other.out.String()); strings.HasPrefix(got, lines[2]) || !strings.HasSuffix(got, "\t1930370767") {
		t.Errorf("other entropy and an hour later: %q (the first draw was %s)", got, lines[2])
	}
	// An error goes to the host's console, with the exit status.
	bad := &fakeHost{root: root, now: now}
	if code := runCommand(bad, []string{"eval", "error('boom')"}); code != 1 || !strings.Contains(bad.err.String(), "boom") || bad.out.Len() != 0 {
		t.Errorf("a failing eval: exit status %d, stdout %q, stderr %q", code, bad.out.String(), bad.err.String())
	}
	// phoenix test (what boot --test runs in the guest) reports there too.
	tests := &fakeHost{root: root, now: now}
	if code := runCommand(tests, []string{"test"}); code != 0 || !strings.Contains(tests.out.String(), " passed, 0 failed") {
		t.Errorf("phoenix test on the fake host: exit status %d, stdout %q, stderr %q", code, tests.out.String(), tests.err.String())
	}
	if len(h.powered)+len(again.powered)+len(other.powered)+len(bad.powered)+len(tests.powered) != 0 {
		t.Error("runCommand powered off; that is its caller's (main's, PID 1's) to do")
	}
}

func TestDetectIsHostedOutsideTheGuest(t *testing.T) {
	t.Setenv(kernelhost.T0Env, "")
	t.Setenv("XDG_DATA_HOME", "/var/lib/x")
	h := kernelhost.Detect()
	if h.Kind() != "hosted" || h.Storage().Root() != "/var/lib/x/phoenix" {
		t.Fatalf("Detect: %s with root %s", h.Kind(), h.Storage().Root())
	}
	g := &globals{host: h}
	if g.imagePath() != bootstrap.DefaultImagePath() {
		t.Errorf("hosted default image %s, bootstrap says %s", g.imagePath(), bootstrap.DefaultImagePath())
	}
}
