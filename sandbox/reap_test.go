package sandbox

import (
	"bufio"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// reapHelper is the test binary run as a Phoenix process that starts a
// warm sandbox in the default state directory, says where, and waits to
// be killed.
func reapHelper() {
	v, err := NewRunsc(RunscOptions{Phoenix: os.Getenv("PHOENIX_REAP_PHOENIX")})
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println(v.(*runscV).opts.StateDir)
	time.Sleep(time.Hour)
}

// sandboxRunning reports whether a runsc sandbox process of container id
// exists.
func sandboxRunning(t *testing.T, id string) bool {
	t.Helper()
	out, _ := exec.Command("pgrep", "-f", "runsc-sandbox.*"+id).Output()
	return strings.TrimSpace(string(out)) != ""
}

// TestReapOrphansOfAKilledProcess: a process SIGKILLed while it holds a
// warm sandbox leaves the sandbox running (runsc's sandboxes are not its
// children); the next validator's start reaps it, and leaves alone the
// sandboxes of a live process.
func TestReapOrphansOfAKilledProcess(t *testing.T) {
	runsc := runscPath(t)
	tmp := t.TempDir()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "PHOENIX_REAP_HELPER=1", "TMPDIR="+tmp, "PHOENIX_REAP_PHOENIX="+phoenixBin, "PHOENIX_RUNSC="+runsc)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	dir := strings.TrimSpace(line)
	if err != nil || !strings.HasPrefix(dir, filepath.Join(tmp, "phoenix-sandbox-")) {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("helper: %q, %v", line, err)
	}
	cmd.Process.Kill()
	cmd.Wait()
	bundles, err := os.ReadDir(filepath.Join(dir, "bundles"))
	if err != nil || len(bundles) != 1 {
		t.Fatalf("bundles of the killed process: %v, %v", bundles, err)
	}
	id := bundles[0].Name()
	if !sandboxRunning(t, id) {
		t.Fatalf("the killed process's sandbox %s is not running: nothing to reap, the test proves nothing", id)
	}

	// A live process's sandboxes (this one's) in the same folder stay.
	live := newRunsc(t, RunscOptions{StateDir: filepath.Join(tmp, "phoenix-sandbox-live")})
	liveIDs := live.ids()

	if n := reapOrphans(runsc, tmp, "phoenix-sandbox-", slog.Default()); n != 1 {
		t.Errorf("reaped %d sandboxes, want 1", n)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("the orphaned state directory is still there: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for sandboxRunning(t, id) && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if sandboxRunning(t, id) {
		t.Errorf("the orphaned sandbox %s still runs", id)
	}
	if len(liveIDs) == 0 {
		t.Fatal("the live validator has no warm sandbox")
	}
	for _, lid := range liveIDs {
		if !sandboxRunning(t, lid) {
			t.Errorf("the live process's sandbox %s was reaped", lid)
		}
	}
}
