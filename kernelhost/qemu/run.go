package qemu

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/phoenix-image/phoenix/kernelhost"
)

// Forward forwards a host TCP address to a guest port (QEMU user-net
// hostfwd).
type Forward struct {
	Host      string // "127.0.0.1:7070"
	GuestPort int
}

// Options configure Run.
type Options struct {
	Artifact *Artifact
	Disk     string
	MemoryMB int // default 512
	Forwards []Forward
	// Stdin feeds the serial console (nil: nothing).
	Stdin *os.File
	// Console receives everything the guest prints on the serial console.
	Console io.Writer
	// Accel is QEMU's accelerator (default "tcg"; $PHOENIX_QEMU_ACCEL).
	Accel string
	// Started, if set, is called with QEMU's process id once it runs.
	Started func(pid int)
	Log     *slog.Logger
}

// Result is how a boot ended and how long its parts took.
type Result struct {
	// ExitCode is the exit status of the guest's phoenix command, from
	// PID 1's last line; -1 if the guest never said (QEMU was killed, the
	// kernel panicked).
	ExitCode int
	// Timings of the boot; zero if the guest never got READY.
	Timings Timings
}

// Timings split the boot from QEMU's start to the READY line.
type Timings struct {
	Total    time.Duration // QEMU start to READY, as the host saw it
	Firmware time.Duration // QEMU start and firmware until the kernel's clock starts (Total - kernel uptime at READY)
	Kernel   time.Duration // the kernel's uptime when PID 1 started
	Phoenix  time.Duration // PID 1 start to READY (the guest's clock)
}

func (t Timings) String() string {
	ms := func(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) }
	return "total_ms=" + ms(t.Total) + " firmware_ms=" + ms(t.Firmware) + " kernel_ms=" + ms(t.Kernel) + " phoenix_ms=" + ms(t.Phoenix)
}

// AppendEnv names an environment variable whose value is added to the
// kernel's command line, for profiling the guest: e.g.
// GODEBUG=inittrace=1 (a parameter without a dot that the kernel does not
// know reaches PID 1's environment).
const AppendEnv = "PHOENIX_QEMU_APPEND"

// Args is the QEMU command line for opts.
func Args(opts Options) []string {
	mem := opts.MemoryMB
	if mem == 0 {
		mem = 512
	}
	accel := opts.Accel
	if accel == "" {
		accel = os.Getenv("PHOENIX_QEMU_ACCEL")
	}
	if accel == "" {
		accel = "tcg"
	}
	cmdline := "console=ttyS0 panic=-1 quiet"
	if extra := os.Getenv(AppendEnv); extra != "" {
		cmdline += " " + extra
	}
	net := "user,id=n0"
	for _, f := range opts.Forwards {
		net += fmt.Sprintf(",hostfwd=tcp:%s-:%d", f.Host, f.GuestPort)
	}
	return []string{
		"-nodefaults", "-no-user-config", "-no-reboot",
		"-accel", accel,
		"-m", strconv.Itoa(mem),
		"-display", "none",
		"-chardev", "stdio,id=con0,signal=off",
		"-serial", "chardev:con0",
		"-monitor", "none",
		"-kernel", opts.Artifact.Kernel,
		"-initrd", opts.Artifact.Initrd,
		"-append", cmdline,
		"-drive", "file=" + opts.Disk + ",if=virtio,format=raw,cache=writeback",
		"-netdev", net,
		"-device", "virtio-net-pci,netdev=n0,romfile=",
		// Entropy from the host: without it the guest kernel's CRNG is
		// not ready when Go first asks for random bytes, and PID 1 waits
		// ~250 ms under TCG.
		"-device", "virtio-rng-pci",
	}
}

// Run boots the machine and waits until it powers off (or ctx ends, which
// kills QEMU). An error means QEMU could not run or did not end cleanly;
// the Result is filled as far as the console told.
func Run(ctx context.Context, opts Options) (*Result, error) {
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	bin, err := exec.LookPath("qemu-system-x86_64")
	if err != nil {
		return nil, fmt.Errorf("qemu: qemu-system-x86_64 is not installed (apt-get install qemu-system-x86; scripts/deps.sh does): %w", err)
	}
	w := &watcher{res: &Result{ExitCode: -1}}
	console := opts.Console
	if console == nil {
		console = io.Discard
	}
	cmd := exec.CommandContext(ctx, bin, Args(opts)...)
	if opts.Stdin != nil {
		cmd.Stdin = opts.Stdin
	}
	cmd.Stdout = io.MultiWriter(console, w)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.WaitDelay = 5 * time.Second
	w.start = time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("qemu: %w", err)
	}
	log.Info("qemu started", "pid", cmd.Process.Pid, "args", strings.Join(cmd.Args, " "))
	if opts.Started != nil {
		opts.Started(cmd.Process.Pid)
	}
	err = cmd.Wait()
	w.flush()
	res := w.result()
	if err != nil {
		if ctx.Err() != nil {
			return res, fmt.Errorf("qemu: stopped: %w", ctx.Err())
		}
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return res, fmt.Errorf("qemu: %v: %s", err, bytes.TrimSpace(stderr.Bytes()))
		}
		return res, fmt.Errorf("qemu: %w", err)
	}
	if res.ExitCode < 0 {
		return res, fmt.Errorf("qemu: the guest stopped without PID 1 saying how its command ended (a kernel panic?)")
	}
	return res, nil
}

// watcher reads the console line by line for PID 1's and READY's lines.
type watcher struct {
	mu      sync.Mutex
	start   time.Time
	buf     []byte
	res     *Result
	pid1Ms  int64
	readyAt time.Time
	readyMs int64 // uptime at READY
	phxMs   int64
}

func (w *watcher) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.line(strings.TrimRight(string(w.buf[:i]), "\r"))
		w.buf = w.buf[i+1:]
	}
	return len(p), nil
}

func (w *watcher) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) > 0 {
		w.line(string(w.buf))
		w.buf = nil
	}
}

const pid1Marker = "PID 1 started at uptime_ms="

func (w *watcher) line(l string) {
	// A marker may follow what a terminal program left on the line (a
	// prompt, escape sequences): it counts from where it starts.
	for _, m := range []string{kernelhost.ReadyPrefix, kernelhost.ExitPrefix} {
		if i := strings.Index(l, m); i > 0 {
			l = l[i:]
		}
	}
	switch {
	case strings.Contains(l, pid1Marker):
		if f := strings.Fields(l[strings.Index(l, pid1Marker)+len(pid1Marker):]); len(f) > 0 {
			w.pid1Ms, _ = strconv.ParseInt(f[0], 10, 64)
		}
	case strings.HasPrefix(l, kernelhost.ReadyPrefix) && w.readyAt.IsZero():
		w.readyAt = time.Now()
		for _, f := range strings.Fields(l) {
			if v, ok := strings.CutPrefix(f, "pid1_to_ready_ms="); ok {
				w.phxMs, _ = strconv.ParseInt(v, 10, 64)
			}
			if v, ok := strings.CutPrefix(f, "uptime_ms="); ok {
				w.readyMs, _ = strconv.ParseInt(v, 10, 64)
			}
		}
	case strings.HasPrefix(l, kernelhost.ExitPrefix):
		if n, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(l, kernelhost.ExitPrefix))); err == nil {
			w.res.ExitCode = n
		}
	}
}

func (w *watcher) result() *Result {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.readyAt.IsZero() {
		ms := time.Millisecond
		t := Timings{Total: w.readyAt.Sub(w.start), Kernel: time.Duration(w.pid1Ms) * ms, Phoenix: time.Duration(w.phxMs) * ms}
		t.Firmware = t.Total - time.Duration(w.readyMs)*ms
		w.res.Timings = t
	}
	return w.res
}
