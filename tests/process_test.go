package tests

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// phoenixCmd is an unstarted phoenix command with the same private
// environment as phoenix(t, home, ...).
func phoenixCmd(home string, args ...string) *exec.Cmd {
	cmd := exec.Command(phoenixBin, args...)
	cmd.Env = append(os.Environ(), "XDG_DATA_HOME="+filepath.Join(home, "data"), "HOME="+home)
	return cmd
}

// newImage creates an image at home/NAME and returns its path.
func newImage(t *testing.T, home, name string) string {
	t.Helper()
	img := filepath.Join(home, name)
	if _, stderr, err := phoenix(t, home, "image", "new", img); err != nil {
		t.Fatalf("image new: %v\n%s", err, stderr)
	}
	return img
}

// mustEval runs phoenix eval on img and returns its trimmed stdout.
func mustEval(t *testing.T, home, img, code string) string {
	t.Helper()
	out, stderr, err := phoenix(t, home, "eval", "--image", img, code)
	if err != nil {
		t.Fatalf("eval %q: %v\n%s", code, err, stderr)
	}
	return strings.TrimSpace(out)
}

// exitCode is the exit status of a finished command, or -1.
func exitCode(err error) int {
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	return -1
}

// poll calls cond every 10ms until it holds or the deadline passes.
func poll(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestSecondOpenerRefused: while one process holds an image (a runaway
// eval), a second phoenix is refused with an error naming the holder's
// pid; once the holder is killed with SIGKILL, the image opens again and
// the runaway's uncommitted changes are not in it.
func TestSecondOpenerRefused(t *testing.T) {
	home := t.TempDir()
	img := newImage(t, home, "x.image")

	holder := phoenixCmd(home, "eval", "--image", img, "--budget", "20s", "Runaway = 1; while true do end")
	var holderErr stringsBuilder
	holder.Stderr = &holderErr
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- holder.Wait() }()
	killed := false
	defer func() {
		if !killed {
			holder.Process.Kill()
			<-done
		}
	}()
	pid := holder.Process.Pid

	// The holder writes its pid into LOCK once it holds the lock.
	poll(t, 5*time.Second, "LOCK to name the holder", func() bool {
		select {
		case err := <-done:
			t.Fatalf("holder exited early: %v\n%s", err, holderErr.String())
		default:
		}
		b, _ := os.ReadFile(filepath.Join(img, "LOCK"))
		return strings.TrimSpace(string(b)) == strconv.Itoa(pid)
	})

	out, stderr, err := phoenix(t, home, "eval", "--image", img, "1")
	if exitCode(err) <= 0 {
		t.Fatalf("second opener: exit %d (%v), stdout %q, stderr %q", exitCode(err), err, out, stderr)
	}
	if want := fmt.Sprintf("in use by process %d", pid); !strings.Contains(stderr, want) {
		t.Fatalf("second opener's stderr does not say %q:\n%s", want, stderr)
	}
	if out != "" {
		t.Fatalf("second opener printed %q", out)
	}
	// Image commands are refused as well.
	if _, stderr, err := phoenix(t, home, "image", "info", "--image", img); err == nil || !strings.Contains(stderr, strconv.Itoa(pid)) {
		t.Fatalf("image info while held: %v\n%s", err, stderr)
	}

	if err := holder.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed = true
	select {
	case err := <-done:
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Fatalf("holder did not die of SIGKILL: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("holder did not exit after SIGKILL")
	}

	if got := mustEval(t, home, img, "return Runaway"); got != "nil" {
		t.Fatalf("after the kill Runaway = %s, want nil (the runaway never committed)", got)
	}
	if got := mustEval(t, home, img, "Later = 2; return Later"); got != "2" {
		t.Fatalf("eval after the kill: %q", got)
	}
	if out, stderr, err := phoenix(t, home, "image", "verify", "--image", img); err != nil {
		t.Fatalf("verify after the kill: %v\n%s%s", err, out, stderr)
	}
}

// TestReplInterrupt: SIGINT during a runaway repl evaluation interrupts it
// and rolls it back; the repl carries on with the next input and exits 0.
func TestReplInterrupt(t *testing.T) {
	home := t.TempDir()
	img := newImage(t, home, "x.image")

	cmd := phoenixCmd(home, "repl", "--image", img)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr stringsBuilder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		done <- cmd.Wait()
	}()
	finished := false
	defer func() {
		if !finished {
			cmd.Process.Kill()
			<-done
		}
	}()
	next := func(what string) string {
		t.Helper()
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("repl closed stdout while waiting for %s (stderr %q)", what, stderr.String())
			}
			return l
		case <-time.After(10 * time.Second):
			t.Fatalf("timed out waiting for %s (stderr %q)", what, stderr.String())
		}
		return ""
	}
	send := func(s string) {
		t.Helper()
		if _, err := io.WriteString(stdin, s+"\n"); err != nil {
			t.Fatalf("writing %q: %v", s, err)
		}
	}

	// Wait until the repl is up and reading, so that the SIGINT below
	// cannot land before the evaluation.
	send(`return "ready"`)
	if l := next("ready"); l != "ready" {
		t.Fatalf("first output %q", l)
	}
	// print writes to the transcript at once: "running" says the loop
	// has started.
	send(`Flag = 1; print("running"); while true do end`)
	if l := next("running"); l != "running" {
		t.Fatalf("output %q, want running", l)
	}
	time.Sleep(300 * time.Millisecond)
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	send("return Flag")
	if l := next("Flag"); l != "nil" {
		t.Fatalf("Flag after the interrupt: %q, want nil (stderr %q)", l, stderr.String())
	}
	send("exit")
	stdin.Close()
	select {
	case err := <-done:
		finished = true
		if err != nil {
			t.Fatalf("repl exited with %v (stderr %q)", err, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("repl did not exit")
	}
	if !strings.Contains(stderr.String(), "interrupted") || !strings.Contains(stderr.String(), "rolled back") {
		t.Fatalf("stderr does not report the interrupt and rollback:\n%s", stderr.String())
	}
	if got := mustEval(t, home, img, "return Flag"); got != "nil" {
		t.Fatalf("Flag in the image: %s", got)
	}
}

// TestDefaultImage: without --image, commands use (and create)
// $XDG_DATA_HOME/phoenix/default.image.
func TestDefaultImage(t *testing.T) {
	home := t.TempDir()
	def := filepath.Join(home, "data", "phoenix", "default.image")
	if _, err := os.Stat(def); err == nil {
		t.Fatal("default image exists before first use")
	}
	if out, stderr, err := phoenix(t, home, "eval", "Lobby.x = 7"); err != nil || out != "" {
		t.Fatalf("eval: %v %q\n%s", err, out, stderr)
	}
	if _, err := os.Stat(filepath.Join(def, "store")); err != nil {
		t.Fatalf("default image not created: %v", err)
	}
	out, stderr, err := phoenix(t, home, "eval", "return x")
	if err != nil || out != "7\n" {
		t.Fatalf("second eval: %v %q\n%s", err, out, stderr)
	}
	// The same image, named explicitly.
	if got := mustEval(t, home, def, "return Lobby.x"); got != "7" {
		t.Fatalf("--image %s: %q", def, got)
	}
}

// TestHelpEverywhere: phoenix help lists the commands, and every command
// and image subcommand answers --help with a usage, without touching any
// image.
func TestHelpEverywhere(t *testing.T) {
	home := t.TempDir()
	out, stderr, err := phoenix(t, home, "help")
	if err != nil {
		t.Fatalf("phoenix help: %v\n%s", err, stderr)
	}
	cmds := listedCommands(out)
	for _, want := range []string{"eval", "run", "repl", "test", "image", "fileout", "filein", "history", "revert"} {
		if !contains(cmds, want) {
			t.Errorf("phoenix help does not list %s (lists %v)", want, cmds)
		}
	}
	out, stderr, err = phoenix(t, home, "image", "--help")
	if err != nil {
		t.Fatalf("phoenix image --help: %v\n%s", err, stderr)
	}
	subs := listedCommands(out)
	for _, want := range []string{"new", "info", "snapshot", "snapshots", "restore", "export", "import", "verify", "gc"} {
		if !contains(subs, want) {
			t.Errorf("phoenix image --help does not list %s (lists %v)", want, subs)
		}
	}
	var all [][]string
	for _, c := range cmds {
		if c != "help" {
			all = append(all, []string{c})
		}
	}
	for _, s := range subs {
		if s != "help" {
			all = append(all, []string{"image", s})
		}
	}
	for _, c := range all {
		args := append(append([]string{}, c...), "--help")
		out, stderr, err := phoenix(t, home, args...)
		name := strings.Join(c, " ")
		if err != nil {
			t.Errorf("phoenix %s --help: %v\n%s", name, err, stderr)
			continue
		}
		if !strings.Contains(out, "Usage:\n  phoenix "+name) {
			t.Errorf("phoenix %s --help has no usage line:\n%s", name, out)
		}
		// phoenix help CMD says the same.
		hout, _, err := phoenix(t, home, append([]string{"help"}, c...)...)
		if err != nil || hout != out {
			t.Errorf("phoenix help %s differs from --help (%v)", name, err)
		}
	}
	if _, err := os.Stat(filepath.Join(home, "data", "phoenix")); err == nil {
		t.Error("asking for help created the default image")
	}
}

// listedCommands parses the "Available Commands:" section of cobra help.
func listedCommands(help string) []string {
	var cmds []string
	in := false
	for _, l := range strings.Split(help, "\n") {
		switch {
		case strings.HasPrefix(l, "Available Commands:"):
			in = true
		case in && strings.TrimSpace(l) == "":
			return cmds
		case in:
			if f := strings.Fields(l); len(f) > 0 {
				cmds = append(cmds, f[0])
			}
		}
	}
	return cmds
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
