package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"
)

// Environment personalities (the seed's Chapter 10): a whole userland — a
// Debian root filesystem — run under runsc and started on demand. The root
// is the cached rootfs, read-only, with runsc's overlay in memory on top
// (so apt and friends may write; nothing reaches the host's copy and
// everything is gone when the personality stops); no host file is visible;
// there is no network unless the personality's policy allows it. A
// personality is one long-lived sleeper (`runsc run --detach` of
// /bin/sleep) and every command is one `runsc exec` into it; it stops when
// it has been idle for its idle timeout, when a command times out, and on
// Close.

// The Debian personality's root filesystem, built by scripts/deps.sh with
// mmdebstrap (bookworm, minbase, cowsay, /usr/share/phoenix/os-jokes.txt)
// into CacheDir()/DebianRootfs. Bump DebianVersion with DEBIAN_ROOTFS_VERSION
// in scripts/deps.sh.
const (
	DebianSuite   = "bookworm"
	DebianVersion = "1"
	DebianRootfs  = "debian-" + DebianSuite + "-" + DebianVersion
)

// CacheDir is ${XDG_CACHE_HOME:-$HOME/.cache}/phoenix, where pinned tools
// and root filesystems are cached by version.
func CacheDir() (string, error) {
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "phoenix"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("sandbox: no cache directory: %w", err)
	}
	return filepath.Join(home, ".cache", "phoenix"), nil
}

var rootfsName = regexp.MustCompile(`^[a-z0-9][a-z0-9.+-]*$`)

// ResolveRootfs turns a personality's rootfs name (e.g. DebianRootfs) into
// the directory runsc uses as its root: CacheDir()/NAME/rootfs, which a
// finished build marks with CacheDir()/NAME/manifest. Names are plain
// (no paths), so image code cannot make a personality of the host's root.
func ResolveRootfs(name string) (string, error) {
	if !rootfsName.MatchString(name) {
		return "", fmt.Errorf("sandbox: rootfs %q: a personality's rootfs is the name of a cached root filesystem (like %q), not a path", name, DebianRootfs)
	}
	cache, err := CacheDir()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(cache, name)
	if _, err := os.Stat(filepath.Join(dir, "manifest")); err != nil {
		return "", fmt.Errorf("sandbox: rootfs %q is not built (no %s): run scripts/deps.sh (make deps)", name, filepath.Join(dir, "manifest"))
	}
	return filepath.Join(dir, "rootfs"), nil
}

// PersonalityConfig is a personality as the image describes it
// (Personalities.NAME's slots).
type PersonalityConfig struct {
	Name        string
	Rootfs      string        // a cached root filesystem's name, e.g. DebianRootfs
	Network     bool          // the policy: may it reach the network?
	IdleTimeout time.Duration // stop after this long without a command (default 60 s)
}

// Command is one command to run in a personality: Shell (run by /bin/sh
// -c) or Args (an argv).
type Command struct {
	Shell   string
	Args    []string
	Timeout time.Duration // default PersonalityOptions.CommandTimeout
}

func (c Command) argv() ([]string, error) {
	switch {
	case strings.TrimSpace(c.Shell) != "" && len(c.Args) > 0:
		return nil, errors.New("a command is a shell string or an argument list, not both")
	case strings.TrimSpace(c.Shell) != "":
		return []string{"/bin/sh", "-c", c.Shell}, nil
	case len(c.Args) > 0 && c.Args[0] != "":
		return c.Args, nil
	}
	return nil, errors.New("empty command")
}

// String is the command as a person would type it.
func (c Command) String() string {
	if c.Shell != "" {
		return c.Shell
	}
	return strings.Join(c.Args, " ")
}

// CommandResult is what a command did.
type CommandResult struct {
	Personality    string
	Command        string
	Stdout, Stderr string
	ExitCode       int
	TimedOut       bool // killed after its timeout; the personality was stopped
	Truncated      bool // stdout or stderr exceeded the output limit
	Started        bool // this command started the personality (a cold start)
	Simulated      bool // nothing ran: the validation sandbox's stand-in
	Network        bool // the personality had network
	Duration       time.Duration
}

// OK says the command ran to completion with exit status 0.
func (r *CommandResult) OK() bool { return !r.TimedOut && r.ExitCode == 0 }

// PersonalityRunner runs commands in personalities. *Personalities runs
// them under runsc; Simulated, inside the validation sandbox, runs nothing.
type PersonalityRunner interface {
	RunCommand(ctx context.Context, cfg PersonalityConfig, cmd Command) (*CommandResult, error)
	Stop(name string) error
	Running(name string) bool
}

// PersonalityOptions configure the runsc personalities of a process.
type PersonalityOptions struct {
	Runsc          string        // default DefaultRunsc()
	StateDir       string        // runsc state and bundles (default a temporary directory, removed by Close)
	CommandTimeout time.Duration // default 60 s
	OutputLimit    int           // bytes kept of stdout and of stderr (default 64 KiB)
	OverlayMB      int           // the writable overlay's size in memory (default 512)
	Log            *slog.Logger
}

// Personalities runs personalities under runsc, each started on demand and
// stopped when idle. It is safe for concurrent use.
type Personalities struct {
	opts    PersonalityOptions
	root    string
	bundles string
	tempDir bool
	log     *slog.Logger

	mu      sync.Mutex
	running map[string]*personality
	closed  bool
}

// personality is one running sandbox.
type personality struct {
	cfg    PersonalityConfig
	id     string
	bundle string
	busy   int
	timer  *time.Timer
	gone   bool
	ready  chan struct{} // closed when started (err says how)
	err    error
}

var _ PersonalityRunner = (*Personalities)(nil)

// NewPersonalities prepares the runsc backend; nothing starts until a
// command needs it.
func NewPersonalities(opts PersonalityOptions) (*Personalities, error) {
	if opts.Runsc == "" {
		opts.Runsc = DefaultRunsc()
	}
	if _, err := os.Stat(opts.Runsc); err != nil {
		return nil, fmt.Errorf("sandbox: runsc not found (set PHOENIX_RUNSC, or run scripts/deps.sh): %w", err)
	}
	if opts.CommandTimeout <= 0 {
		opts.CommandTimeout = 60 * time.Second
	}
	if opts.OutputLimit <= 0 {
		opts.OutputLimit = 64 << 10
	}
	if opts.OverlayMB <= 0 {
		opts.OverlayMB = 512
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	p := &Personalities{opts: opts, log: opts.Log, running: map[string]*personality{}}
	if opts.StateDir == "" {
		reapOrphans(opts.Runsc, os.TempDir(), "phoenix-personality-", opts.Log)
		d, err := os.MkdirTemp("", "phoenix-personality-")
		if err != nil {
			return nil, err
		}
		p.opts.StateDir, p.tempDir = d, true
	}
	p.root = filepath.Join(p.opts.StateDir, "runsc")
	p.bundles = filepath.Join(p.opts.StateDir, "bundles")
	for _, d := range []string{p.root, p.bundles} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// Start starts cfg's personality unless it runs; started says it was not
// running. A running personality whose configuration changed (its rootfs
// or network policy) is stopped and started again.
func (p *Personalities) Start(ctx context.Context, cfg PersonalityConfig) (started bool, err error) {
	ps, started, err := p.acquire(ctx, cfg)
	if err != nil {
		return false, err
	}
	p.release(ps)
	return started, nil
}

// RunCommand runs cmd in cfg's personality, starting it if need be. A
// command that fails is a result with its exit status; an error means the
// personality could not run it. A command that outlives its timeout stops
// the personality (killing the client would leave the process running
// inside), and its result says TimedOut.
func (p *Personalities) RunCommand(ctx context.Context, cfg PersonalityConfig, cmd Command) (*CommandResult, error) {
	argv, err := cmd.argv()
	if err != nil {
		return nil, fmt.Errorf("personality %s: %w", cfg.Name, err)
	}
	start := time.Now()
	ps, started, err := p.acquire(ctx, cfg)
	if err != nil {
		return nil, err
	}
	timeout := cmd.Timeout
	if timeout <= 0 {
		timeout = p.opts.CommandTimeout
	}
	tctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	args := append(p.runsc("exec", "--cwd", "/root", ps.id), argv...)
	c := exec.CommandContext(tctx, p.opts.Runsc, args...)
	stdout := &capWriter{max: p.opts.OutputLimit}
	stderr := &capWriter{max: p.opts.OutputLimit}
	c.Stdout, c.Stderr = stdout, stderr
	c.WaitDelay = time.Second
	runErr := c.Run()
	res := &CommandResult{
		Personality: cfg.Name, Command: cmd.String(), Started: started, Network: cfg.Network,
		Stdout: stdout.String(), Stderr: stderr.String(),
		Truncated: stdout.dropped > 0 || stderr.dropped > 0,
	}
	var ee *exec.ExitError
	switch {
	case tctx.Err() != nil:
		res.TimedOut, res.ExitCode = true, -1
		p.log.Warn("personality: command timed out; stopping the personality", "personality", cfg.Name, "timeout", timeout)
		p.discard(ps)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		res.Stderr += fmt.Sprintf("\n[timed out after %v: the personality was stopped]", timeout)
	case errors.As(runErr, &ee):
		res.ExitCode = ee.ExitCode()
		p.release(ps)
	case runErr != nil:
		p.discard(ps)
		return nil, fmt.Errorf("personality %s: runsc exec: %w", cfg.Name, runErr)
	default:
		p.release(ps)
	}
	res.Duration = time.Since(start)
	return res, nil
}

// acquire returns cfg's running personality, marked busy, starting it if
// need be.
func (p *Personalities) acquire(ctx context.Context, cfg PersonalityConfig) (*personality, bool, error) {
	if cfg.Name == "" {
		return nil, false, errors.New("sandbox: a personality needs a name")
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 60 * time.Second
	}
	rootfs, err := ResolveRootfs(cfg.Rootfs)
	if err != nil {
		return nil, false, fmt.Errorf("personality %s: %w", cfg.Name, err)
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, false, errors.New("sandbox: personalities closed")
	}
	ps := p.running[cfg.Name]
	if ps != nil && ps.cfg != cfg {
		p.log.Info("personality: configuration changed; restarting", "personality", cfg.Name)
		delete(p.running, cfg.Name)
		ps.gone = true
		if ps.timer != nil {
			ps.timer.Stop()
		}
		go func(old *personality) { <-old.ready; p.destroy(old) }(ps) // commands still running in it fail
		ps = nil
	}
	started := false
	if ps == nil {
		ps = &personality{cfg: cfg, id: fmt.Sprintf("phoenix-%s-%d-%d", cfg.Name, os.Getpid(), boxSeq.Add(1)), ready: make(chan struct{})}
		ps.bundle = filepath.Join(p.bundles, ps.id)
		p.running[cfg.Name] = ps
		started = true
	}
	ps.busy++
	if ps.timer != nil {
		ps.timer.Stop()
	}
	p.mu.Unlock()
	if started {
		t0 := time.Now()
		ps.err = p.start(ctx, ps, rootfs)
		close(ps.ready)
		if ps.err == nil {
			p.log.Info("personality: started", "personality", cfg.Name, "network", cfg.Network, "took", time.Since(t0).Round(time.Millisecond))
		}
	} else {
		select {
		case <-ps.ready:
		case <-ctx.Done():
			p.release(ps)
			return nil, false, ctx.Err()
		}
	}
	if ps.err != nil {
		p.discard(ps)
		return nil, false, fmt.Errorf("personality %s: %w", cfg.Name, ps.err)
	}
	return ps, started, nil
}

// release marks one use of ps done and arms its idle timer.
func (p *Personalities) release(ps *personality) {
	p.mu.Lock()
	defer p.mu.Unlock()
	ps.busy--
	if ps.busy > 0 || ps.gone {
		return
	}
	ps.timer = time.AfterFunc(ps.cfg.IdleTimeout, func() {
		p.mu.Lock()
		if ps.gone || ps.busy > 0 || p.running[ps.cfg.Name] != ps {
			p.mu.Unlock()
			return
		}
		ps.gone = true
		delete(p.running, ps.cfg.Name)
		p.mu.Unlock()
		p.log.Info("personality: idle; stopping", "personality", ps.cfg.Name, "idle", ps.cfg.IdleTimeout)
		p.destroy(ps)
	})
}

// discard stops ps after a failure.
func (p *Personalities) discard(ps *personality) {
	p.mu.Lock()
	ps.busy--
	already := ps.gone
	ps.gone = true
	if p.running[ps.cfg.Name] == ps {
		delete(p.running, ps.cfg.Name)
	}
	p.mu.Unlock()
	if !already {
		p.destroy(ps)
	}
}

// Stop stops the named personality if it runs.
func (p *Personalities) Stop(name string) error {
	p.mu.Lock()
	ps := p.running[name]
	if ps == nil {
		p.mu.Unlock()
		return nil
	}
	delete(p.running, name)
	ps.gone = true
	if ps.timer != nil {
		ps.timer.Stop()
	}
	p.mu.Unlock()
	<-ps.ready
	p.destroy(ps)
	return nil
}

// Running says whether the named personality runs now.
func (p *Personalities) Running(name string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.running[name] != nil
}

// Close stops every personality and removes the state it made.
func (p *Personalities) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	var all []*personality
	for name, ps := range p.running {
		ps.gone = true
		if ps.timer != nil {
			ps.timer.Stop()
		}
		all = append(all, ps)
		delete(p.running, name)
	}
	p.mu.Unlock()
	var wg sync.WaitGroup
	for _, ps := range all {
		wg.Add(1)
		go func() { defer wg.Done(); <-ps.ready; p.destroy(ps) }()
	}
	wg.Wait()
	if p.tempDir {
		return os.RemoveAll(p.opts.StateDir)
	}
	return nil
}

func (p *Personalities) runsc(args ...string) []string {
	return append([]string{"--root", p.root}, args...)
}

// start writes ps's bundle and runs its sleeper.
func (p *Personalities) start(ctx context.Context, ps *personality, rootfs string) error {
	if err := os.MkdirAll(ps.bundle, 0o700); err != nil {
		return err
	}
	data, err := json.MarshalIndent(personalitySpec(ps.cfg, rootfs), "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(ps.bundle, "config.json"), data, 0o600); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	// The detached sandbox inherits runsc's stdout and stderr: a file, not
	// a pipe that would stay open as long as the sandbox runs.
	logPath := filepath.Join(ps.bundle, "run.log")
	logf, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer logf.Close()
	network := "none"
	if ps.cfg.Network {
		network = "host"
	}
	// The gofer gets a fresh network namespace either way (the default
	// shares one bind-mounted into the state directory, which outlives the
	// sandboxes).
	args := p.runsc("--network="+network, "--ignore-cgroups",
		fmt.Sprintf("--overlay2=root:memory,size=%dm", p.opts.OverlayMB),
		"--gofer-network-namespace=new",
		"run", "--detach", "--bundle", ps.bundle, ps.id)
	cmd := exec.CommandContext(ctx, p.opts.Runsc, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Run(); err != nil {
		out, _ := os.ReadFile(logPath)
		return fmt.Errorf("runsc run: %v: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}

// destroy kills and deletes ps's sandbox and removes its bundle.
func (p *Personalities) destroy(ps *personality) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	exec.CommandContext(ctx, p.opts.Runsc, p.runsc("kill", ps.id, "KILL")...).Run()
	out, err := exec.CommandContext(ctx, p.opts.Runsc, p.runsc("delete", "--force", ps.id)...).CombinedOutput()
	if err != nil && !strings.Contains(string(out), "does not exist") {
		p.log.Warn("personality: runsc delete", "id", ps.id, "err", err, "output", strings.TrimSpace(string(out)))
	}
	os.RemoveAll(ps.bundle)
	p.log.Debug("personality: stopped", "personality", ps.cfg.Name, "id", ps.id)
}

// personalityCaps are the capabilities of root inside a personality
// (Docker's default set): enough for apt and dpkg (chown, setgroups to
// _apt), all of it within gVisor's kernel, none of it on the host.
var personalityCaps = []string{"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
	"CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
	"CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"}

type ociCaps struct {
	Bounding  []string `json:"bounding"`
	Effective []string `json:"effective"`
	Permitted []string `json:"permitted"`
}

type ociPersonalityProc struct {
	User         ociUser     `json:"user"`
	Args         []string    `json:"args"`
	Env          []string    `json:"env"`
	Cwd          string      `json:"cwd"`
	Capabilities ociCaps     `json:"capabilities"`
	Rlimits      []ociRlimit `json:"rlimits"`
}

type ociPersonalitySpec struct {
	OCIVersion string              `json:"ociVersion"`
	Process    *ociPersonalityProc `json:"process"`
	Root       ociRoot             `json:"root"`
	Hostname   string              `json:"hostname"`
	Mounts     []ociMount          `json:"mounts"`
	Linux      ociLinux            `json:"linux"`
}

// personalitySpec is the container of a personality: root (inside gVisor)
// running a sleeper, the cached rootfs as its root (writable only through
// runsc's memory overlay), /proc and a tmpfs /tmp, and a network namespace
// of its own unless the policy allows the network.
func personalitySpec(cfg PersonalityConfig, rootfs string) *ociPersonalitySpec {
	ns := []ociNamespace{{"pid"}, {"ipc"}, {"uts"}, {"mount"}}
	if !cfg.Network {
		ns = append(ns, ociNamespace{"network"})
	}
	return &ociPersonalitySpec{
		OCIVersion: "1.0.2",
		Process: &ociPersonalityProc{
			User: ociUser{UID: 0, GID: 0},
			Args: []string{"/bin/sleep", "infinity"},
			Env: []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/usr/games",
				"HOME=/root", "LANG=C.UTF-8", "TERM=dumb", "DEBIAN_FRONTEND=noninteractive"},
			Cwd:          "/root",
			Capabilities: ociCaps{Bounding: personalityCaps, Effective: personalityCaps, Permitted: personalityCaps},
			Rlimits: []ociRlimit{
				{Type: "RLIMIT_NOFILE", Hard: 1024, Soft: 1024},
				{Type: "RLIMIT_CORE", Hard: 0, Soft: 0},
			},
		},
		// Not read-only: runsc applies its overlay only to a writable root.
		// Every write goes to the overlay's upper layer, in memory; the
		// cached rootfs on the host is never written (a test checks).
		Root:     ociRoot{Path: rootfs, Readonly: false},
		Hostname: cfg.Name,
		Mounts: []ociMount{
			{Destination: "/proc", Type: "proc", Source: "proc"},
			{Destination: "/tmp", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "nodev", "size=64m"}},
		},
		Linux: ociLinux{Namespaces: ns},
	}
}
