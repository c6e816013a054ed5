package kernelhost

import (
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Host is what the VM needs from below: a console, durable storage, a
// network, a clock, entropy and power. Hosted and Guest implement it.
type Host interface {
	// Kind is "hosted" or "guest".
	Kind() string
	// Console is where a person (or the host of a guest) talks to Phoenix.
	Console() Console
	// Storage holds the image durably.
	Storage() Storage
	// Network brings up the network interfaces.
	Network() Network
	// Now is the wall clock.
	Now() time.Time
	// Entropy is a source of cryptographically strong random bytes.
	Entropy() io.Reader
	// PowerOff ends the machine (guest PID 1: sync, unmount, power off)
	// or the process (hosted, or a command PID 1 started: exit) with the
	// exit code. The caller has closed its image first.
	PowerOff(code int)
}

// Detect picks the Host of this process, once, at start: the Guest when
// it runs in the QEMU guest (as PID 1, or as a command PID 1 started),
// else Hosted over the default data directory (DataDir).
func Detect() Host {
	if InGuest() {
		return newGuest(IsInit())
	}
	return Hosted{Dir: DataDir()}
}

// DataDir is where a hosted Phoenix keeps its files (the default image,
// histories): $XDG_DATA_HOME/phoenix, else ~/.local/share/phoenix.
func DataDir() string {
	dir := os.Getenv("XDG_DATA_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			home = "."
		}
		dir = filepath.Join(home, ".local", "share")
	}
	return filepath.Join(dir, "phoenix")
}

// Console is the standard input and output of the system.
type Console struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer
}

// Storage is where the image lives durably.
type Storage interface {
	// Root is the directory that holds the image's files.
	Root() string
	// Sync makes everything written so far durable.
	Sync() error
}

// Network is the set of network interfaces.
type Network interface {
	// Up configures the interfaces; on a hosted system that is done.
	Up() error
	// Addrs lists the configured addresses, for logs.
	Addrs() []string
}

// Hosted is the Host of a normal process: the operating system has set up
// everything.
type Hosted struct {
	// Dir is the storage root, where the default image lives (default
	// DataDir()).
	Dir string
}

var _ Host = Hosted{}

func (Hosted) Kind() string { return "hosted" }
func (Hosted) Console() Console {
	return Console{In: os.Stdin, Out: os.Stdout, Err: os.Stderr}
}
func (h Hosted) Storage() Storage {
	if h.Dir == "" {
		return dirStorage(DataDir())
	}
	return dirStorage(h.Dir)
}
func (Hosted) Network() Network   { return hostedNet{} }
func (Hosted) Now() time.Time     { return time.Now() }
func (Hosted) Entropy() io.Reader { return rand.Reader }

// PowerOff exits the process: the image, closed by then, is durable (its
// store syncs each commit), so the file systems need no sync.
func (Hosted) PowerOff(code int) { os.Exit(code) }

type dirStorage string

func (d dirStorage) Root() string { return string(d) }
func (d dirStorage) Sync() error  { syncFS(); return nil }

type hostedNet struct{}

func (hostedNet) Up() error       { return nil }
func (hostedNet) Addrs() []string { return nil }

// T0Env names the environment variable in which PID 1 passes its start
// time (milliseconds of /proc/uptime) to the phoenix command it runs.
const T0Env = "PHOENIX_BOOT_T0_MS"

// IsInit reports whether this process is the kernel's init in the QEMU
// guest: PID 1, started as /init with no arguments (the kernel passes
// none for our command line). Being PID 1 is not enough: in a gVisor
// sandbox `phoenix sandbox-exec` is PID 1 of its container too.
func IsInit() bool { return isInit(os.Getpid(), os.Args) }

func isInit(pid int, args []string) bool {
	return pid == 1 && len(args) == 1 && args[0] == "/init"
}

// InGuest reports whether this process runs inside the QEMU guest (as PID
// 1 or as a command PID 1 started, which inherits T0Env).
func InGuest() bool { return os.Getenv(T0Env) != "" || IsInit() }

// ReadyPrefix starts the line printed on the console when the image is
// open and Phoenix is ready; kernelhost/qemu waits for it.
const ReadyPrefix = "phoenix: READY"

var readyOnce sync.Once

// Ready prints the READY line once, in the guest only: "phoenix: READY
// pid1_to_ready_ms=N uptime_ms=M". It is a no-op on a hosted system.
func Ready(w io.Writer) {
	t0, err := strconv.ParseInt(os.Getenv(T0Env), 10, 64)
	if err != nil {
		return
	}
	readyOnce.Do(func() {
		now, err := UptimeMillis()
		if err != nil {
			return
		}
		fmt.Fprintf(w, "%s pid1_to_ready_ms=%d uptime_ms=%d\n", ReadyPrefix, now-t0, now)
	})
}

// UptimeMillis reads /proc/uptime: the milliseconds since the kernel
// started (CLOCK_BOOTTIME).
func UptimeMillis() (int64, error) {
	b, err := os.ReadFile("/proc/uptime")
	if err != nil {
		return 0, err
	}
	return parseUptime(string(b))
}

func parseUptime(s string) (int64, error) {
	f := strings.Fields(s)
	if len(f) == 0 {
		return 0, fmt.Errorf("kernelhost: /proc/uptime: empty")
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return 0, fmt.Errorf("kernelhost: /proc/uptime %q: %w", s, err)
	}
	return int64(v*1000 + 0.5), nil
}

// parseExecMillis finds "Run /init as init process" in a kernel log
// ("<6>[    2.091709] Run /init as init process") and returns its time.
func parseExecMillis(log string) (int64, error) {
	for _, line := range strings.Split(log, "\n") {
		if !strings.Contains(line, "Run /init as init process") {
			continue
		}
		open, close := strings.IndexByte(line, '['), strings.IndexByte(line, ']')
		if open < 0 || close < open {
			break
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(line[open+1:close]), 64)
		if err != nil {
			break
		}
		return int64(v*1000 + 0.5), nil
	}
	return 0, fmt.Errorf("kernelhost: the kernel log has no timed \"Run /init\" line")
}
