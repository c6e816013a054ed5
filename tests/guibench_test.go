package tests

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Launch to first frame (issue 3 of 5, the desktop): phoenix gui on a
// bigImage under Xvfb, from exec to the line "phoenix: first frame after
// N ms" that it prints on stderr when $PHOENIX_FIRST_FRAME is set.

// benchXvfb is one Xvfb for all the GUI benchmarks of the process, stopped
// by TestMain.
var benchXvfb struct {
	once    sync.Once
	display string
	stop    func()
	err     error
}

func sharedXvfb(b *testing.B) string {
	b.Helper()
	benchXvfb.once.Do(func() {
		benchXvfb.display, benchXvfb.stop, benchXvfb.err = launchXvfb()
	})
	if benchXvfb.err != nil {
		b.Fatal(benchXvfb.err)
	}
	return benchXvfb.display
}

func stopSharedXvfb() {
	if benchXvfb.stop != nil {
		benchXvfb.stop()
	}
}

const firstFrameLine = "phoenix: first frame after"

// launchToFirstFrame starts phoenix gui on image and returns the time from
// exec to its first-frame line and the time the process itself reported
// (since its start). The process is then closed with SIGINT (as Ctrl-C),
// killed if it is still running 30s later, and waited for, so that the
// image's lock is released before the next launch.
func launchToFirstFrame(b *testing.B, bin, display, home, image string) (time.Duration, float64) {
	b.Helper()
	cmd := exec.Command(bin, "gui", "--image", image)
	cmd.Env = append(os.Environ(), "DISPLAY="+display, "WAYLAND_DISPLAY=", "PHOENIX_FIRST_FRAME=1",
		"XDG_RUNTIME_DIR="+filepath.Join(home, "run"), "XDG_DATA_HOME="+filepath.Join(home, "data"), "HOME="+home)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		b.Fatal(err)
	}
	var out stringsBuilder
	cmd.Stdout = &out
	first := make(chan float64, 1)
	var lines []string
	scanned := make(chan struct{})
	start := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatalf("starting phoenix gui: %v", err)
	}
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			l := sc.Text()
			if rest, ok := strings.CutPrefix(l, firstFrameLine); ok {
				var ms float64
				fmt.Sscanf(strings.TrimSpace(rest), "%f ms", &ms)
				select {
				case first <- ms:
				default:
				}
				continue
			}
			lines = append(lines, l)
		}
	}()
	exited := make(chan error, 1)
	go func() { <-scanned; exited <- cmd.Wait() }()
	var elapsed time.Duration
	var reported float64
	select {
	case reported = <-first:
		elapsed = time.Since(start)
	case err := <-exited:
		b.Fatalf("phoenix gui exited (%v) before its first frame:\n%s%s", err, out.String(), strings.Join(lines, "\n"))
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		<-exited
		b.Fatalf("no first frame within 60s:\n%s", strings.Join(lines, "\n"))
	}
	b.StopTimer()
	cmd.Process.Signal(syscall.SIGINT)
	select {
	case err := <-exited:
		if err != nil {
			// Not what is measured; seen once: a Gio DestroyEvent carrying
			// the failed Wayland connection after the X11 window had drawn.
			b.Logf("phoenix gui exited with %v after SIGINT:\n%s", err, strings.Join(lines, "\n"))
		}
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-exited
		b.Logf("phoenix gui killed: still running 30s after SIGINT")
	}
	b.StartTimer()
	return elapsed, reported
}

func benchGUIFirstFrame(b *testing.B, n int) {
	needTools(b, "Xvfb")
	image := bigImage(b, n)
	bin := buildGUIBin(b)
	display := sharedXvfb(b)
	home := b.TempDir()
	os.MkdirAll(filepath.Join(home, "run"), 0o700)
	var reported float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_, ms := launchToFirstFrame(b, bin, display, home, image)
		reported += ms
	}
	b.ReportMetric(reported/float64(b.N), "reported-ms")
}

// BenchmarkGUIFirstFrame10k is launch to first frame on a 10k-object image.
func BenchmarkGUIFirstFrame10k(b *testing.B) { benchGUIFirstFrame(b, 10_000) }

// BenchmarkGUIFirstFrame1M is launch to first frame on a 1M-object image
// (target < 1 s).
func BenchmarkGUIFirstFrame1M(b *testing.B) { benchGUIFirstFrame(b, 1_000_000) }
