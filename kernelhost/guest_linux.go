package kernelhost

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Guest is the Host of Phoenix in the QEMU guest: of PID 1 itself, and
// (pid1 false) of a server command PID 1 runs as its child, which must
// leave powering off to PID 1.
type Guest struct {
	out  io.Writer
	pid1 bool
}

func newGuest(pid1 bool) Host { return &Guest{out: os.Stderr, pid1: pid1} }

var _ Host = (*Guest)(nil)

func (*Guest) Kind() string { return "guest" }
func (*Guest) Console() Console {
	return Console{In: os.Stdin, Out: os.Stdout, Err: os.Stderr}
}
func (*Guest) Storage() Storage   { return guestStorage{} }
func (g *Guest) Network() Network { return guestNet{g} }
func (*Guest) Now() time.Time     { return time.Now() }
func (*Guest) Entropy() io.Reader { return rand.Reader }

// PowerOff syncs and unmounts the disk and powers the machine off; it
// does not return. In a child of PID 1 it syncs and exits, and PID 1
// powers off (or restarts the child) after it.
func (g *Guest) PowerOff(code int) {
	if !g.pid1 {
		unix.Sync()
		os.Exit(code)
	}
	fmt.Fprintf(g.out, "\n%s%d\n", ExitPrefix, code)
	// Nothing of the command may keep the disk busy.
	if null, err := os.Open("/dev/null"); err == nil {
		unix.Dup2(int(null.Fd()), 0)
		null.Close()
	}
	unix.Sync()
	if err := unix.Unmount(MountPoint, 0); err != nil && !errors.Is(err, unix.EINVAL) {
		g.logf("unmount %s: %v (synced; remounting read-only)", MountPoint, err)
		unix.Mount("", MountPoint, "", unix.MS_REMOUNT|unix.MS_RDONLY, "")
	}
	unix.Sync()
	if err := unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF); err != nil {
		g.logf("power off: %v", err)
	}
	select {} // PID 1 must not exit
}

func (g *Guest) logf(format string, args ...any) {
	fmt.Fprintf(g.out, "phoenix: init: "+format+"\n", args...)
}

type guestStorage struct{}

func (guestStorage) Root() string { return MountPoint }
func (guestStorage) Sync() error  { unix.Sync(); return nil }

type guestNet struct{ g *Guest }

// QEMU's user-mode network: the guest is 10.0.2.15/24, the gateway (the
// host) 10.0.2.2.
const (
	guestAddr = "10.0.2.15/24"
	gateway   = "10.0.2.2"
)

// Up brings up lo, and eth0 (if there is one) with QEMU's user-net
// address and default route.
func (n guestNet) Up() error {
	lo, err := netlink.LinkByName("lo")
	if err != nil {
		return fmt.Errorf("kernelhost: lo: %w", err)
	}
	if err := netlink.LinkSetUp(lo); err != nil {
		return fmt.Errorf("kernelhost: lo up: %w", err)
	}
	eth, err := netlink.LinkByName("eth0")
	if err != nil {
		return nil // booted without a network device
	}
	addr, err := netlink.ParseAddr(guestAddr)
	if err != nil {
		return err
	}
	if err := netlink.AddrAdd(eth, addr); err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("kernelhost: eth0 address %s: %w", guestAddr, err)
	}
	if err := netlink.LinkSetUp(eth); err != nil {
		return fmt.Errorf("kernelhost: eth0 up: %w", err)
	}
	route := &netlink.Route{LinkIndex: eth.Attrs().Index, Gw: net.ParseIP(gateway)}
	if err := netlink.RouteAdd(route); err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("kernelhost: default route via %s: %w", gateway, err)
	}
	return nil
}

func (n guestNet) Addrs() []string {
	var out []string
	links, _ := netlink.LinkList()
	for _, l := range links {
		addrs, _ := netlink.AddrList(l, netlink.FAMILY_V4)
		for _, a := range addrs {
			out = append(out, l.Attrs().Name+"="+a.IPNet.String())
		}
	}
	return out
}

// Command runs one phoenix command line (without the program name) in
// this process, on the Host h, and returns its exit status.
type Command func(h Host, args []string) int

// RunInit is PID 1: it sets the machine up, runs the command the host
// chose (ConfigFile on the disk), reaps every process, and powers off
// with the command's exit status. It never returns.
//
// The command runs in this process (run), with the serial port as its
// controlling terminal, which saves starting a second Go program; a
// server (BootConfig.Restart) runs instead as a child process of this
// same binary, so that PID 1 survives its panics and restarts it.
func RunInit(run Command) {
	g := &Guest{out: os.Stderr, pid1: true}
	code := g.run(run)
	g.PowerOff(code)
}

func (g *Guest) run(run Command) int {
	for _, m := range []struct{ src, dir, fstype string }{
		{"proc", "/proc", "proc"},
		{"sysfs", "/sys", "sysfs"},
		{"devtmpfs", "/dev", "devtmpfs"},
		{"tmpfs", "/tmp", "tmpfs"},
	} {
		os.MkdirAll(m.dir, 0o755)
		if err := unix.Mount(m.src, m.dir, m.fstype, 0, ""); err != nil && !errors.Is(err, unix.EBUSY) {
			g.logf("mount %s on %s: %v", m.fstype, m.dir, err)
		}
	}
	// PID 1 starts when the kernel execs /init, which its log records;
	// the Go runtime and every package's init have run since.
	t0, err := execMillis()
	if err != nil {
		g.logf("%v; timing from now", err)
		t0, _ = UptimeMillis()
	}
	if now, err := UptimeMillis(); err == nil {
		g.logf("PID 1 started at uptime_ms=%d (Go runtime and package init: %d ms)", t0, now-t0)
	}
	// The network comes up beside the rest: only servers wait for it.
	netUp := make(chan struct{})
	go func() {
		defer close(netUp)
		if err := g.Network().Up(); err != nil {
			g.logf("network: %v", err)
		}
	}()
	if err := mountDisk(); err != nil {
		g.logf("%v", err)
		return 125
	}
	cfg, err := ReadConfig(ConfigFile)
	if err != nil {
		g.logf("%v", err)
		return 125
	}
	if now, err := UptimeMillis(); err == nil {
		g.logf("set up (file systems, disk) in %d ms; starting phoenix %s", now-t0, cfg.Args[0])
	}
	if !cfg.Restart {
		return g.runHere(cfg, t0, run)
	}
	<-netUp
	return restartLoop(cfg, func() (int, error) { return g.runChild(cfg, t0) }, g.logf)
}

// execMillis finds, in the kernel's log, when it ran /init: the
// timestamp of "Run /init as init process", in milliseconds of uptime.
func execMillis() (int64, error) {
	buf := make([]byte, 1<<20)
	n, err := unix.Klogctl(unix.SYSLOG_ACTION_READ_ALL, buf)
	if err != nil {
		return 0, fmt.Errorf("kernelhost: reading the kernel log: %w", err)
	}
	return parseExecMillis(string(buf[:n]))
}

func mountDisk() error {
	os.MkdirAll(MountPoint, 0o755)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(DiskDevice); err == nil {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("kernelhost: no disk %s after 10s (QEMU needs -drive file=DISK,if=virtio,format=raw)", DiskDevice)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := unix.Mount(DiskDevice, MountPoint, "ext4", unix.MS_NOATIME, ""); err != nil {
		return fmt.Errorf("kernelhost: mount %s (ext4) on %s: %w", DiskDevice, MountPoint, err)
	}
	return nil
}

// runHere runs the command in PID 1 itself, reaping orphans meanwhile.
func (g *Guest) runHere(cfg *BootConfig, t0 int64, run Command) (code int) {
	os.Setenv(T0Env, strconv.FormatInt(t0, 10))
	os.Setenv("HOME", "/tmp")
	os.Setenv("TERM", "vt100")
	os.Setenv("PATH", "/")
	if tty, err := os.OpenFile("/dev/ttyS0", os.O_RDWR, 0); err == nil {
		// The serial port as controlling terminal (/dev/console cannot
		// be one), so that Ctrl-C interrupts an evaluation.
		unix.Setsid()
		unix.IoctlSetInt(int(tty.Fd()), unix.TIOCSCTTY, 0)
		for fd := 0; fd <= 2; fd++ {
			unix.Dup2(int(tty.Fd()), fd)
		}
		tty.Close()
	}
	sigchld := make(chan os.Signal, 1)
	signal.Notify(sigchld, unix.SIGCHLD)
	go func() {
		for range sigchld {
			for {
				var ws unix.WaitStatus
				if pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil); pid <= 0 || err != nil {
					break
				}
			}
		}
	}()
	defer func() {
		if r := recover(); r != nil {
			g.logf("phoenix %s panicked: %v\n%s", cfg.Args[0], r, debug.Stack())
			code = 2
		}
	}()
	return run(g, cfg.Args)
}

// runChild starts /init (this same phoenix binary) with the configured
// arguments and waits for it, reaping any other process that ends
// meanwhile. It returns the child's exit status.
func (g *Guest) runChild(cfg *BootConfig, t0 int64) (int, error) {
	// The serial port itself (not /dev/console, which cannot be a
	// controlling terminal), so that Ctrl-C reaches the command as SIGINT.
	stdin, stdout := os.Stdin, os.Stdout
	ctty := false
	if tty, err := os.OpenFile("/dev/ttyS0", os.O_RDWR, 0); err == nil {
		defer tty.Close()
		stdin, stdout, ctty = tty, tty, true
	}
	exe := "/init"
	env := []string{
		"PATH=/",
		"HOME=/tmp",
		"TERM=vt100",
		T0Env + "=" + strconv.FormatInt(t0, 10),
	}
	if lvl := os.Getenv("PHOENIX_LOG"); lvl != "" {
		env = append(env, "PHOENIX_LOG="+lvl)
	}
	p, err := os.StartProcess(exe, append([]string{"phoenix"}, cfg.Args...), &os.ProcAttr{
		Env:   env,
		Files: []*os.File{stdin, stdout, stdout},
		Sys:   &unix.SysProcAttr{Setsid: true, Setctty: ctty, Ctty: 0},
	})
	if err != nil {
		return 0, fmt.Errorf("kernelhost: starting phoenix %v: %w", cfg.Args, err)
	}
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, 0, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("kernelhost: wait: %w", err)
		}
		if pid != p.Pid {
			continue // an orphan, reaped
		}
		switch {
		case ws.Exited():
			return ws.ExitStatus(), nil
		case ws.Signaled():
			return 128 + int(ws.Signal()), nil
		}
	}
}
