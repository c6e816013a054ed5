package tests

import (
	"bufio"
	"fmt"
	"io"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestKillMidCommit proves crash safety: a child phoenix repl commits in a
// loop (each line one transaction, acknowledged by printing its result)
// and is killed with SIGKILL at a random moment, many times. After every
// kill the image must open, hold every acknowledged commit, and hold no
// partial one: the counter and the table it fills always agree.
func TestKillMidCommit(t *testing.T) {
	home := t.TempDir()
	img := filepath.Join(home, "crash.image")
	if _, stderr, err := phoenix(t, home, "image", "new", img); err != nil {
		t.Fatalf("image new: %v\n%s", err, stderr)
	}
	setup := `C = Object:clone(); C.n = 0; C.items = {}`
	if _, stderr, err := phoenix(t, home, "eval", "--image", img, setup); err != nil {
		t.Fatalf("setup: %v\n%s", err, stderr)
	}
	// Each commit touches several objects and tables, so that a partial
	// write would be visible.
	line := `C.n = C.n + 1; C.items[C.n] = {v = C.n, o = Object:clone()}; C.last = C.items[C.n]; return C.n` + "\n"
	rng := rand.New(rand.NewSource(time.Now().UnixNano()))
	acked := 0
	const rounds = 25
	for round := 0; round < rounds; round++ {
		cmd := exec.Command(phoenixBin, "repl", "--image", img)
		cmd.Env = append(os.Environ(), "XDG_DATA_HOME="+filepath.Join(home, "data"))
		stdin, _ := cmd.StdinPipe()
		stdout, _ := cmd.StdoutPipe()
		var stderr stringsBuilder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Feed commits continuously.
		go func() {
			for i := 0; i < 100000; i++ {
				if _, err := io.WriteString(stdin, line); err != nil {
					return
				}
			}
		}()
		killAfter := rng.Intn(40) + 1
		killDelay := time.Duration(rng.Intn(3000)) * time.Microsecond
		sc := bufio.NewScanner(stdout)
		got := 0
		for sc.Scan() {
			n, err := strconv.Atoi(strings.TrimSpace(sc.Text()))
			if err != nil {
				t.Fatalf("round %d: unexpected output %q (stderr %s)", round, sc.Text(), stderr.String())
			}
			if n != acked+1 {
				t.Fatalf("round %d: acknowledged %d after %d", round, n, acked)
			}
			acked = n
			got++
			if got == killAfter {
				time.Sleep(killDelay)
				cmd.Process.Signal(syscall.SIGKILL)
				break
			}
		}
		// Drain: commits acknowledged while we killed are still in the
		// pipe (and in the scanner's buffer).
		for sc.Scan() {
			if n, err := strconv.Atoi(strings.TrimSpace(sc.Text())); err == nil && n == acked+1 {
				acked = n
			}
		}
		cmd.Wait()
		out, errOut, err := phoenix(t, home, "eval", "--image", img, `
local ok = true
for i = 1, C.n do
  local it = C.items[i]
  if it == nil or it.v ~= i or it.o == nil then ok = false end
end
if C.items[C.n + 1] ~= nil then ok = false end
if C.n > 0 and C.last ~= C.items[C.n] then ok = false end
return C.n, ok`)
		if err != nil {
			t.Fatalf("round %d: image does not open after kill -9: %v\n%s", round, err, errOut)
		}
		f := strings.Fields(out)
		if len(f) != 2 {
			t.Fatalf("round %d: output %q", round, out)
		}
		n, _ := strconv.Atoi(f[0])
		if f[1] != "true" {
			t.Fatalf("round %d: partial commit visible (n=%d)", round, n)
		}
		if n < acked || n > acked+1 {
			t.Fatalf("round %d: image holds %d commits, %d were acknowledged", round, n, acked)
		}
		acked = n
	}
	if out, errOut, err := phoenix(t, home, "image", "verify", "--image", img); err != nil {
		t.Fatalf("verify after %d kills: %v\n%s%s", rounds, err, out, errOut)
	}
	t.Logf("%d kills, %d commits survived", rounds, acked)
	_ = fmt.Sprint()
}
