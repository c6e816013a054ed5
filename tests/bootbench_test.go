package tests

import (
	"bufio"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/phoenix-image/phoenix/kernelhost/qemu"
	"github.com/phoenix-image/phoenix/kernelhost/remote"
)

// Benchmarks of issue 4 of 5 (boot under QEMU, TCG); make bench runs them
// and tests/benchreport prints the anchor (the phoenix part < 300 ms).

var bootTimings = regexp.MustCompile(`boot: READY total_ms=(\d+) firmware_ms=(\d+) kernel_ms=(\d+) phoenix_ms=(\d+)`)

// BenchmarkBootToReady boots a fresh image with --test (the library's
// tests) and reports the boot from QEMU's start to the READY line, split
// into firmware (QEMU and firmware until the kernel's clock starts),
// kernel (until the kernel execs /init, from its log) and phoenix (from
// that exec to READY: the Go runtime and package inits, mounts, the disk,
// opening the image). ns/op is the whole phoenix boot command (artifact
// from the cache, disk, boot, tests, power-off, taking the store back).
func BenchmarkBootToReady(b *testing.B) {
	home := b.TempDir()
	img := filepath.Join(home, "bench.image")
	env := benchBootEnv(b, home)
	run := func(args ...string) string {
		cmd := exec.Command(phoenixBin, args...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			b.Fatalf("phoenix %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	run("image", "new", img)
	run("boot", "--image", img, "--test") // builds the artifact into the cache
	var sums [4]float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		out := run("boot", "--image", img, "--test")
		m := bootTimings.FindStringSubmatch(out)
		if m == nil {
			b.Fatalf("no timings in:\n%s", out)
		}
		for j := range sums {
			v, _ := strconv.ParseFloat(m[j+1], 64)
			sums[j] += v
		}
	}
	n := float64(b.N)
	b.ReportMetric(sums[0]/n, "total-ms")
	b.ReportMetric(sums[1]/n, "firmware-ms")
	b.ReportMetric(sums[2]/n, "kernel-ms")
	b.ReportMetric(sums[3]/n, "phoenix-ms")
}

func benchBootEnv(b *testing.B, home string) []string {
	out, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		b.Fatal(err)
	}
	return append(os.Environ(), "XDG_DATA_HOME="+filepath.Join(home, "data"), "HOME="+home,
		"XDG_CACHE_HOME="+filepath.Join(home, "cache"), "GOMODCACHE="+string(out[:len(out)-1]))
}

// BenchmarkBootArtifactCold builds the boot artifact into an empty cache:
// verifying the kernel module's hash, hashing the kernel and the static
// phoenix, copying the kernel and writing the initramfs.
func BenchmarkBootArtifactCold(b *testing.B) {
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		cache := filepath.Join(b.TempDir(), "boot")
		a, err := qemu.BuildArtifact(ctx, qemu.ArtifactOptions{Phoenix: phoenixBin, CacheDir: cache})
		if err != nil || a.Cached {
			b.Fatalf("%+v %v", a, err)
		}
	}
}

// BenchmarkBootArtifactWarm finds the artifact in the cache: the same
// hashing, then a stat.
func BenchmarkBootArtifactWarm(b *testing.B) {
	ctx := context.Background()
	cache := filepath.Join(b.TempDir(), "boot")
	if _, err := qemu.BuildArtifact(ctx, qemu.ArtifactOptions{Phoenix: phoenixBin, CacheDir: cache}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		a, err := qemu.BuildArtifact(ctx, qemu.ArtifactOptions{Phoenix: phoenixBin, CacheDir: cache})
		if err != nil || !a.Cached {
			b.Fatalf("%+v %v", a, err)
		}
	}
}

// BenchmarkRemoteEvalThroughQEMU times one remote evaluation of a trivial
// expression ("return 1 + 1") from the host to phoenix serve in the
// guest, through QEMU's user-net port forward (TCG).
func BenchmarkRemoteEvalThroughQEMU(b *testing.B) {
	home := b.TempDir()
	img := filepath.Join(home, "served.image")
	env := benchBootEnv(b, home)
	if out, err := exec.Command(phoenixBin, "image", "new", img).CombinedOutput(); err != nil {
		b.Fatalf("image new: %v\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	tokenFile := filepath.Join(home, "token")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, phoenixBin, "boot", "--image", img, "--serve", addr, "--token-file", tokenFile)
	cmd.Env = env
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGINT) }
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		cmd.Process.Signal(syscall.SIGINT) // phoenix boot stops QEMU and takes the image back
		cmd.Wait()
	}()
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if strings.HasPrefix(strings.TrimSpace(sc.Text()), "READY ") {
			break
		}
	}
	go func() {
		for sc.Scan() {
		}
	}()
	token, err := remote.ReadToken(tokenFile)
	if err != nil {
		b.Fatal(err)
	}
	c, err := remote.Dial(ctx, addr, token, remote.ClientOptions{Name: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := c.Eval(ctx, "return 1 + 1")
		if err != nil || len(res.Values) != 1 || res.Values[0] != "2" {
			b.Fatalf("%+v %v", res, err)
		}
	}
}
