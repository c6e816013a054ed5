package qemu

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/phoenix-image/phoenix/kernelhost"
)

func TestKernelPinAgreesWithGoModAndGoSum(t *testing.T) {
	mod, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	sum, err := os.ReadFile("../../go.sum")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(mod), KernelModule+" "+KernelVersion) {
		t.Errorf("go.mod does not require %s %s", KernelModule, KernelVersion)
	}
	if !strings.Contains(string(sum), KernelModule+" "+KernelVersion+" "+KernelSum+"\n") {
		t.Errorf("go.sum does not hold %s %s %s", KernelModule, KernelVersion, KernelSum)
	}
}

func TestKernelIsTheVerifiedVmlinuz(t *testing.T) {
	p, err := Kernel(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(p)
	if err != nil || filepath.Base(p) != "vmlinuz" || fi.Size() < 1<<20 {
		t.Fatalf("kernel %s: %v %v", p, fi, err)
	}
}

// staticBinary builds a tiny static Go program.
func staticBinary(t *testing.T, dir, msg string) string {
	t.Helper()
	src := filepath.Join(dir, "main.go")
	os.WriteFile(src, []byte("package main\nfunc main() { println(\""+msg+"\") }\n"), 0o644)
	bin := filepath.Join(dir, "prog")
	cmd := exec.Command("go", "build", "-o", bin, src)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64", "GO111MODULE=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func TestBuildArtifactIsCachedByContent(t *testing.T) {
	cache := t.TempDir()
	a1dir, a2dir := t.TempDir(), t.TempDir()
	bin1, bin2 := staticBinary(t, a1dir, "one"), staticBinary(t, a2dir, "two")
	var calls int
	ctx := context.Background()
	a, err := BuildArtifact(ctx, ArtifactOptions{Phoenix: bin1, CacheDir: cache, Progress: func(d, tot int64) { calls++ }})
	if err != nil {
		t.Fatal(err)
	}
	if a.Cached || calls == 0 || filepath.Dir(a.Initrd) != filepath.Join(cache, a.Hash) {
		t.Fatalf("first build: %+v (progress calls %d)", a, calls)
	}
	if fi, err := os.Stat(a.Kernel); err != nil || fi.Size() < 1<<20 {
		t.Fatalf("kernel in the artifact: %v", err)
	}
	b, err := BuildArtifact(ctx, ArtifactOptions{Phoenix: bin1, CacheDir: cache})
	if err != nil || !b.Cached || b.Hash != a.Hash {
		t.Fatalf("second build of the same contents: %+v %v", b, err)
	}
	c, err := BuildArtifact(ctx, ArtifactOptions{Phoenix: bin2, CacheDir: cache})
	if err != nil || c.Cached || c.Hash == a.Hash {
		t.Fatalf("another binary: %+v %v", c, err)
	}
	entries, _ := os.ReadDir(cache)
	if len(entries) != 2 {
		t.Errorf("cache holds %d entries, want 2 (no temporaries left)", len(entries))
	}
}

func TestBuildArtifactRefusesADynamicBinary(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Fatal(err)
	}
	sh, _ = filepath.EvalSymlinks(sh)
	_, err = BuildArtifact(context.Background(), ArtifactOptions{Phoenix: sh, CacheDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "dynamically linked") || !strings.Contains(err.Error(), sh) {
		t.Fatalf("got %v", err)
	}
}

func TestDiskCarriesTheStoreAndConfigAndBack(t *testing.T) {
	dir := t.TempDir()
	store := filepath.Join(dir, "img", "store")
	os.MkdirAll(filepath.Join(store, "sub"), 0o755)
	files := map[string]string{"000001.log": "wal bytes", "MANIFEST-000001": "manifest", "sub/x": strings.Repeat("y", 100000)}
	for name, data := range files {
		os.WriteFile(filepath.Join(store, name), []byte(data), 0o644)
	}
	disk := filepath.Join(dir, "disk.raw")
	ctx := context.Background()
	cfg := &kernelhost.BootConfig{Args: []string{"test", "--image", kernelhost.ImageDir}}
	if err := BuildDisk(ctx, disk, DiskOptions{Store: store, Config: cfg, Files: map[string][]byte{"token": []byte("secret\n")}}); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("debugfs", "-R", "cat /boot.json", disk).Output()
	if err != nil || !bytes.Contains(out, []byte(`"test"`)) {
		t.Fatalf("boot.json on the disk: %s %v", out, err)
	}
	out, _ = exec.Command("debugfs", "-R", "stat /token", disk).Output()
	if !bytes.Contains(out, []byte("Mode:  0600")) && !bytes.Contains(out, []byte("Mode:  00600")) {
		t.Errorf("token mode on the disk:\n%s", out)
	}
	back := filepath.Join(dir, "back")
	if err := CopyBack(ctx, disk, back); err != nil {
		t.Fatal(err)
	}
	for name, data := range files {
		got, err := os.ReadFile(filepath.Join(back, name))
		if err != nil || string(got) != data {
			t.Errorf("%s came back as %d bytes, %v", name, len(got), err)
		}
	}
	if err := CopyBack(ctx, disk, back); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("copy back over an existing directory: %v", err)
	}
	if err := BuildDisk(ctx, disk, DiskOptions{Store: store, Config: cfg, Files: map[string][]byte{"../evil": nil}}); err == nil {
		t.Error("an extra file name with a slash was accepted")
	}
}

func TestWatcherSplitsTheBoot(t *testing.T) {
	w := &watcher{res: &Result{ExitCode: -1}, start: time.Now().Add(-4 * time.Second)}
	w.Write([]byte("[    2.0] Run /init as init process\r\nphoenix: init: PID 1 started at uptime_ms=2250 (Go runtime and package init: 400 ms)\r\n"))
	w.Write([]byte("phoenix: READY pid1_to_ready_ms=340 uptime"))
	w.Write([]byte("_ms=2590\r\n8 passed, 0 failed\r\n\x1b[Jphoenix> phoenix: exit status 3"))
	w.flush()
	r := w.result()
	if r.ExitCode != 3 {
		t.Errorf("exit code %d", r.ExitCode)
	}
	tm := r.Timings
	if tm.Kernel != 2250*time.Millisecond || tm.Phoenix != 340*time.Millisecond || tm.Total < 4*time.Second {
		t.Fatalf("timings %s", tm)
	}
	if tm.Firmware != tm.Total-2590*time.Millisecond {
		t.Errorf("firmware %v", tm.Firmware)
	}
}

func TestArgsForwardPortsAndUseVirtio(t *testing.T) {
	args := strings.Join(Args(Options{Artifact: &Artifact{Kernel: "K", Initrd: "I"}, Disk: "D",
		Forwards: []Forward{{Host: "127.0.0.1:7070", GuestPort: 7070}}, Accel: "tcg"}), " ")
	for _, want := range []string{"-kernel K", "-initrd I", "file=D,if=virtio,format=raw", "hostfwd=tcp:127.0.0.1:7070-:7070", "-m 512", "-accel tcg", "console=ttyS0", "virtio-rng-pci"} {
		if !strings.Contains(args, want) {
			t.Errorf("QEMU args lack %q: %s", want, args)
		}
	}
}

func TestGuestPhoenixFromTheEnvironmentMustBeStatic(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Fatal(err)
	}
	sh, _ = filepath.EvalSymlinks(sh)
	t.Setenv(GuestBinEnv, sh)
	if _, err := GuestPhoenix(); err == nil || !strings.Contains(err.Error(), GuestBinEnv) || !strings.Contains(err.Error(), "dynamically linked") {
		t.Fatalf("a dynamic $%s: got %v", GuestBinEnv, err)
	}
	t.Setenv(GuestBinEnv, "")
	if p, err := GuestPhoenix(); err != nil || p != "" {
		t.Fatalf("no guest build next to the test binary: got %q, %v; want none", p, err)
	}
	if _, err := IsGuestBuild(sh); err == nil {
		t.Fatalf("IsGuestBuild of %s (not a Go binary): no error", sh)
	}
}
