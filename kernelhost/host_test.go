package kernelhost

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseUptime(t *testing.T) {
	ms, err := parseUptime("2250.37 4400.12\n")
	if err != nil || ms != 2250370 {
		t.Fatalf("got %d %v", ms, err)
	}
	if _, err := parseUptime(""); err == nil {
		t.Error("empty /proc/uptime accepted")
	}
	if _, err := parseUptime("soon"); err == nil || !strings.Contains(err.Error(), "/proc/uptime") {
		t.Errorf("bad /proc/uptime: %v", err)
	}
}

func TestConfigRoundTripAndErrors(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "boot.json")
	want := &BootConfig{Args: []string{"serve", "--addr", "0.0.0.0:7070"}, Restart: true}
	if err := WriteConfig(p, want); err != nil {
		t.Fatal(err)
	}
	got, err := ReadConfig(p)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got.Args, " ") != "serve --addr 0.0.0.0:7070" || !got.Restart {
		t.Fatalf("round trip: %+v", got)
	}
	os.WriteFile(p, []byte(`{"args": []}`), 0o644)
	if _, err := ReadConfig(p); err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "no command") {
		t.Errorf("empty args: %v", err)
	}
	os.WriteFile(p, []byte(`{"args": [`), 0o644)
	if _, err := ReadConfig(p); err == nil || !strings.Contains(err.Error(), p) {
		t.Errorf("bad JSON: %v", err)
	}
}

func TestReadyOnlyInTheGuestAndOnce(t *testing.T) {
	var buf bytes.Buffer
	t.Setenv(T0Env, "")
	Ready(&buf)
	if buf.Len() != 0 || InGuest() {
		t.Fatalf("a hosted process announced READY: %q", buf.String())
	}
	now, err := UptimeMillis()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(T0Env, "0")
	if !InGuest() {
		t.Error("InGuest is false with PID 1's start time set")
	}
	Ready(&buf)
	Ready(&buf)
	line := buf.String()
	if strings.Count(line, ReadyPrefix) != 1 || !strings.HasPrefix(line, ReadyPrefix+" pid1_to_ready_ms=") {
		t.Fatalf("READY: %q", line)
	}
	if !strings.Contains(line, "uptime_ms=") || now <= 0 {
		t.Errorf("READY: %q (uptime %d)", line, now)
	}
}

func TestHostedIsTheProcessItself(t *testing.T) {
	var h Host = Hosted{Dir: "/var/lib/phoenix"}
	if h.Kind() != "hosted" || h.Storage().Root() != "/var/lib/phoenix" || h.Console().Out != os.Stdout {
		t.Fatalf("hosted: %v %v", h.Kind(), h.Storage().Root())
	}
	if err := h.Network().Up(); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 16)
	if _, err := h.Entropy().Read(b); err != nil || bytes.Equal(b, make([]byte, 16)) {
		t.Fatalf("entropy: %x %v", b, err)
	}
}

func TestIsInitOnlyForTheKernelsInit(t *testing.T) {
	if !isInit(1, []string{"/init"}) {
		t.Error("the kernel's /init is not init")
	}
	for _, c := range []struct {
		pid  int
		args []string
	}{
		{1, []string{"/phoenix", "sandbox-exec"}}, // PID 1 of a gVisor container
		{1, []string{"/init", "extra"}},
		{42, []string{"/init"}},
	} {
		if isInit(c.pid, c.args) {
			t.Errorf("pid %d args %q taken for the guest's init", c.pid, c.args)
		}
	}
	if IsInit() {
		t.Error("the test process is taken for init")
	}
}

func TestRestartLoopRestartsAServerAfterAPanicOnly(t *testing.T) {
	var logged []string
	logf := func(f string, a ...any) { logged = append(logged, fmt.Sprintf(f, a...)) }
	cfg := &BootConfig{Args: []string{"serve"}, Restart: true, MaxRestarts: 3}
	codes := []int{2, 2, 0}
	runs := 0
	code := restartLoop(cfg, func() (int, error) { runs++; return codes[runs-1], nil }, logf)
	if code != 0 || runs != 3 || len(logged) != 2 || !strings.Contains(logged[1], "phoenix serve died of a panic (exit status 2): restarting it (2 of 3)") {
		t.Fatalf("code %d after %d runs; log %q", code, runs, logged)
	}
	runs, logged = 0, nil
	if code := restartLoop(cfg, func() (int, error) { runs++; return 2, nil }, logf); code != 2 || runs != 4 {
		t.Fatalf("a server that always panics: code %d after %d runs (want 2 after 1+3)", code, runs)
	}
	runs = 0
	if code := restartLoop(cfg, func() (int, error) { runs++; return 1, nil }, logf); code != 1 || runs != 1 {
		t.Fatalf("an error exit is not a panic: code %d after %d runs", code, runs)
	}
	if code := restartLoop(cfg, func() (int, error) { return 0, errors.New("no /init") }, logf); code != 126 {
		t.Fatalf("a start failure: code %d", code)
	}
}

func TestParseExecMillis(t *testing.T) {
	log := "<6>[    2.090000] Freeing unused kernel image\n<6>[    2.091709] Run /init as init process\n<6>[    2.16] tsc: Refined\n"
	if ms, err := parseExecMillis(log); err != nil || ms != 2092 {
		t.Fatalf("got %d %v", ms, err)
	}
	if _, err := parseExecMillis("<6>Run /init as init process\n"); err == nil {
		t.Error("a line without a time was accepted")
	}
}

func TestDetectPicksTheGuestOnlyInTheGuest(t *testing.T) {
	t.Setenv("XDG_DATA_HOME", "/srv/data")
	t.Setenv(T0Env, "")
	if h := Detect(); h.Kind() != "hosted" || h.Storage().Root() != "/srv/data/phoenix" || (Hosted{}).Storage().Root() != DataDir() {
		t.Fatalf("outside the guest: %s, root %s", h.Kind(), h.Storage().Root())
	}
	// A command PID 1 started (it inherits T0Env): the guest, whose
	// storage is the disk; its PowerOff leaves powering off to PID 1.
	t.Setenv(T0Env, "1234")
	h := Detect()
	if h.Kind() != "guest" || h.Storage().Root() != MountPoint {
		t.Fatalf("in the guest: %s, root %s", h.Kind(), h.Storage().Root())
	}
	if g, ok := h.(*Guest); !ok || g.pid1 {
		t.Fatalf("a child of PID 1 is taken for PID 1: %#v", h)
	}
}
