package sandbox

import (
	"bytes"
	"context"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// RunscVersion is the gVisor release the project builds runsc from.
const RunscVersion = "v0.0.0-20260905035102-160fafc42237"

// Cold as RunscOptions.Pool starts a fresh sandbox for every validation.
const Cold = -1

// goReserveMB is the address space the Go runtime of the sandboxed phoenix
// needs beyond its heap. It reserves about 740 MiB at start on amd64 (page
// allocator summaries, mostly never touched) and fails to start under a
// smaller RLIMIT_AS; under gVisor, 1280 MiB in all still failed about one
// start in ten, 1536 MiB none in 60. RLIMIT_AS is MemoryMB plus this: it is
// the hard bound, well above MemoryMB; GOMEMLIMIT and the heap watchdog
// hold the heap near MemoryMB (gVisor does not enforce RLIMIT_DATA, and
// there are no cgroups here).
const goReserveMB = 1536

// RunscOptions configure the gVisor backend. The zero value of every field
// is usable, given a static phoenix binary somewhere.
type RunscOptions struct {
	// Runsc is the runsc binary (default $PHOENIX_RUNSC, else
	// ~/.cache/phoenix/runsc-<RunscVersion>/runsc).
	Runsc string
	// Phoenix is a statically linked phoenix binary (CGO_ENABLED=0); it is
	// the only file in the sandbox. Default: one built from Source if that
	// is set, else DefaultPhoenix ($PHOENIX_SANDBOX_BIN, phoenix-sandbox
	// next to this executable, or this executable if static).
	Phoenix string
	// Source, if set and Phoenix is not, is the module directory to build a
	// static phoenix from (CGO_ENABLED=0 go build ./cmd/phoenix).
	Source string
	// Pool is the number of warm sandboxes (default 1); Cold (negative)
	// means none: a fresh sandbox per validation.
	Pool int
	// MemoryMB bounds a validation's memory (default 256): GOMEMLIMIT, a
	// heap watchdog, and RLIMIT_AS (MemoryMB plus the Go runtime's
	// address-space reservation).
	MemoryMB int
	// CPUSeconds is RLIMIT_CPU of a validation process (default 10).
	CPUSeconds int
	// Timeout is the wall-time limit of one validation enforced from
	// outside: the sandbox is killed and replaced (default 10 s). A
	// request's budget is lowered to fit inside it.
	Timeout time.Duration
	// StateDir holds runsc's state, the bundles and the root filesystem
	// (default a temporary directory, removed by Close).
	StateDir string
	// Log receives sandbox lifecycle events (default slog.Default()).
	Log *slog.Logger
}

// runscV is the gVisor Validator: a pool of warm sandboxes, each a runsc
// container whose init process is `phoenix sandbox-idle`; a validation is
// one `runsc exec` of `phoenix sandbox-exec` in an idle sandbox.
type runscV struct {
	opts     RunscOptions
	root     string // runsc --root
	rootfs   string // holds only /phoenix, shared read-only by all sandboxes
	bundles  string
	tempDir  bool // StateDir was made by us: Close removes it
	cold     bool
	log      *slog.Logger
	idle     chan *box
	bg       context.Context
	bgCancel context.CancelFunc
	wg       sync.WaitGroup

	mu     sync.Mutex
	boxes  map[string]*box // every live sandbox, idle or busy
	closed bool
}

// boxSeq numbers sandboxes uniquely in this process.
var boxSeq atomic.Int64

// box is one sandbox.
type box struct {
	id     string
	bundle string
}

// DefaultRunsc is where the runsc binary is looked for.
func DefaultRunsc() string {
	if p := os.Getenv("PHOENIX_RUNSC"); p != "" {
		return p
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "runsc"
	}
	return filepath.Join(home, ".cache", "phoenix", "runsc-"+RunscVersion, "runsc")
}

// NewRunsc starts the gVisor backend and its warm sandboxes; it returns
// once they run (so a broken runsc is reported here, not at the first
// validation).
func NewRunsc(opts RunscOptions) (Validator, error) {
	if opts.Runsc == "" {
		opts.Runsc = DefaultRunsc()
	}
	if _, err := os.Stat(opts.Runsc); err != nil {
		return nil, fmt.Errorf("sandbox: runsc not found (set PHOENIX_RUNSC or RunscOptions.Runsc): %w", err)
	}
	if opts.Pool == 0 {
		opts.Pool = 1
	}
	if opts.MemoryMB <= 0 {
		opts.MemoryMB = 256
	}
	if opts.CPUSeconds <= 0 {
		opts.CPUSeconds = 10
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	v := &runscV{opts: opts, log: opts.Log, cold: opts.Pool < 0, boxes: map[string]*box{}}
	if opts.StateDir == "" {
		reapOrphans(opts.Runsc, os.TempDir(), "phoenix-sandbox-", opts.Log)
		d, err := os.MkdirTemp("", "phoenix-sandbox-")
		if err != nil {
			return nil, err
		}
		v.opts.StateDir, v.tempDir = d, true
	}
	fail := func(err error) (Validator, error) {
		if v.tempDir {
			os.RemoveAll(v.opts.StateDir)
		}
		return nil, err
	}
	v.root = filepath.Join(v.opts.StateDir, "runsc")
	v.rootfs = filepath.Join(v.opts.StateDir, "rootfs")
	v.bundles = filepath.Join(v.opts.StateDir, "bundles")
	for _, d := range []string{v.root, v.rootfs, v.bundles} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return fail(err)
		}
	}
	if err := os.Chmod(v.rootfs, 0o755); err != nil {
		return fail(err)
	}
	if err := v.installPhoenix(); err != nil {
		return fail(err)
	}
	v.bg, v.bgCancel = context.WithCancel(context.Background())
	if v.cold {
		return v, nil
	}
	v.idle = make(chan *box, opts.Pool)
	errs := make(chan error, opts.Pool)
	for i := 0; i < opts.Pool; i++ {
		go func() {
			b, err := v.start(v.bg)
			if err == nil {
				v.idle <- b
			}
			errs <- err
		}()
	}
	var first error
	for i := 0; i < opts.Pool; i++ {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	if first != nil {
		v.Close()
		return nil, first
	}
	return v, nil
}

// installPhoenix puts the static phoenix binary at rootfs/phoenix.
func (v *runscV) installPhoenix() error {
	src := v.opts.Phoenix
	dst := filepath.Join(v.rootfs, "phoenix")
	if src == "" && v.opts.Source == "" {
		exe, err := DefaultPhoenix()
		if err != nil {
			return err
		}
		src = exe
	}
	if src == "" {
		cmd := exec.Command("go", "build", "-o", dst, "./cmd/phoenix")
		cmd.Dir = v.opts.Source
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("sandbox: building a static phoenix in %s: %v\n%s", v.opts.Source, err, out)
		}
		return isStatic(dst)
	}
	if err := isStatic(src); err != nil {
		return err
	}
	if err := os.Link(src, dst); err == nil {
		return nil
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// SandboxBinEnv names the environment variable that points at the static
// phoenix binary run inside the sandbox.
const SandboxBinEnv = "PHOENIX_SANDBOX_BIN"

// DefaultPhoenix finds the static phoenix binary for the sandbox when
// RunscOptions names none: $PHOENIX_SANDBOX_BIN, else phoenix-sandbox next
// to this executable (make build puts it there, since bin/phoenix has the
// cgo GUI), else this executable if it is static.
func DefaultPhoenix() (string, error) {
	if p := os.Getenv(SandboxBinEnv); p != "" {
		if err := isStatic(p); err != nil {
			return "", fmt.Errorf("sandbox: $%s: %w", SandboxBinEnv, err)
		}
		return p, nil
	}
	exe, exeErr := os.Executable()
	var looked []string
	if exeErr == nil {
		next := filepath.Join(filepath.Dir(exe), "phoenix-sandbox")
		if _, err := os.Stat(next); err == nil {
			if err := isStatic(next); err != nil {
				return "", err
			}
			return next, nil
		}
		if isStatic(exe) == nil {
			return exe, nil
		}
		looked = append(looked, next+" (missing)", exe+" (not static)")
	} else {
		looked = append(looked, "this executable ("+exeErr.Error()+")")
	}
	return "", fmt.Errorf("sandbox: no static phoenix binary for the sandbox: looked for $%s (unset), %s; "+
		"run make build (bin/phoenix-sandbox), set $%s, or set RunscOptions.Phoenix or Source",
		SandboxBinEnv, strings.Join(looked, ", "), SandboxBinEnv)
}

// isStatic checks that path is an ELF executable without a dynamic loader:
// the sandbox's root holds nothing else.
func isStatic(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("sandbox: %s is not an executable: %w", path, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("sandbox: %s is dynamically linked; build it with CGO_ENABLED=0", path)
		}
	}
	return nil
}

func (v *runscV) Boundary() string { return BoundaryGVisor }

// Validate runs req in a sandbox: an idle warm one (one runsc exec), or a
// fresh one in cold mode. A sandbox that timed out, died or misbehaved is
// killed, deleted and replaced in the background.
func (v *runscV) Validate(ctx context.Context, req *Request) (*Result, error) {
	start := time.Now()
	r := *req
	if r.Budget <= 0 {
		r.Budget = DefaultBudget
	}
	if limit := v.opts.Timeout - v.opts.Timeout/5; r.Budget > limit {
		r.Budget = limit // leave time for the sandbox to report
	}
	in, err := json.Marshal(&r)
	if err != nil {
		return nil, err
	}
	var res *Result
	if v.cold {
		res, err = v.validateCold(ctx, in)
	} else {
		res, err = v.validateWarm(ctx, in)
	}
	if err != nil {
		return nil, err
	}
	res.Boundary = BoundaryGVisor
	res.Duration = time.Since(start)
	res.settle()
	return res, nil
}

func (v *runscV) validateWarm(ctx context.Context, in []byte) (*Result, error) {
	var b *box
	select {
	case b = <-v.idle:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-v.bg.Done():
	}
	if v.isClosed() {
		return nil, errors.New("sandbox: validator closed")
	}
	res, healthy, err := v.exec(ctx, in, v.runsc("exec", "--process", filepath.Join(b.bundle, "exec.json"), b.id))
	if healthy && err == nil {
		v.release(b)
	} else {
		v.replace(b)
	}
	return res, err
}

func (v *runscV) validateCold(ctx context.Context, in []byte) (*Result, error) {
	if v.isClosed() {
		return nil, errors.New("sandbox: validator closed")
	}
	b, err := v.newBox("sandbox-exec")
	if err != nil {
		return nil, err
	}
	res, _, err := v.exec(ctx, in, v.runsc(runArgs(b.bundle, b.id, false)...))
	v.destroy(b) // run without --detach deletes the container; this makes sure
	return res, err
}

// exec runs one runsc command that feeds the request to sandbox-exec and
// reads its result. healthy says the sandbox may serve again. An error is
// returned only when the caller's ctx ended; a sandbox that timed out or
// died is a Result with Error.
func (v *runscV) exec(ctx context.Context, in []byte, args []string) (res *Result, healthy bool, err error) {
	tctx, cancel := context.WithTimeout(ctx, v.opts.Timeout)
	defer cancel()
	cmd := exec.CommandContext(tctx, v.opts.Runsc, args...)
	cmd.Stdin = bytes.NewReader(in)
	stdout := &limitBuffer{max: 8 << 20}
	stderr := &limitBuffer{max: 64 << 10}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.WaitDelay = time.Second
	runErr := cmd.Run()
	switch {
	case ctx.Err() != nil:
		return nil, false, ctx.Err()
	case tctx.Err() != nil:
		v.log.Warn("sandbox: validation timed out; killing the sandbox", "timeout", v.opts.Timeout)
		return &Result{Error: fmt.Sprintf("timeout: the sandbox was killed after %v", v.opts.Timeout)}, false, nil
	}
	res = &Result{}
	if derr := json.Unmarshal(stdout.Bytes(), res); derr != nil || runErr != nil {
		why := "no result"
		var ee *exec.ExitError
		switch {
		case errors.As(runErr, &ee) && ee.ExitCode() == 128+9:
			why = "killed by SIGKILL: its CPU rlimit, or from outside"
		case runErr != nil:
			why = runErr.Error()
		}
		return &Result{Error: "the sandbox failed (" + why + "): " + crashSummary(stderr.String())}, false, nil
	}
	return res, true, nil
}

// crashSummary picks the telling lines of a dead process's stderr (a Go
// fatal error prints its message, then every goroutine).
func crashSummary(s string) string {
	var keep []string
	for _, l := range strings.Split(s, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "goroutine ") {
			if len(keep) > 0 {
				break
			}
			continue
		}
		keep = append(keep, l)
		if len(keep) == 4 {
			break
		}
	}
	if len(keep) == 0 {
		return "no output"
	}
	return strings.Join(keep, "; ")
}

func (v *runscV) isClosed() bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.closed
}

func (v *runscV) release(b *box) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed {
		return // Close kills it
	}
	v.idle <- b // never blocks: the channel holds Pool boxes
}

// replace destroys b and starts another in the background.
func (v *runscV) replace(b *box) {
	v.wg.Add(1)
	go func() {
		defer v.wg.Done()
		v.destroy(b)
		for attempt := 0; ; attempt++ {
			nb, err := v.start(v.bg)
			if err == nil {
				v.release(nb)
				return
			}
			if v.bg.Err() != nil {
				return
			}
			v.log.Error("sandbox: starting a replacement", "err", err, "attempt", attempt)
			select {
			case <-time.After(time.Duration(min(attempt+1, 10)) * time.Second):
			case <-v.bg.Done():
				return
			}
		}
	}()
}

// runArgs is the runsc command line that starts a sandbox: no network,
// gVisor's default platform (systrap), no cgroups (this host has none to
// give), no overlay (the root is read-only and /tmp a tmpfs inside), and a
// fresh empty network namespace for the gofer (the default shares one
// bind-mounted into the state directory, which outlives the sandboxes).
func runArgs(bundle, id string, detach bool) []string {
	args := []string{"--network=none", "--ignore-cgroups", "--overlay2=none", "--gofer-network-namespace=new", "run"}
	if detach {
		args = append(args, "--detach")
	}
	return append(args, "--bundle", bundle, id)
}

func (v *runscV) runsc(args ...string) []string {
	return append([]string{"--root", v.root}, args...)
}

// start creates and runs one warm sandbox.
func (v *runscV) start(ctx context.Context) (*box, error) {
	b, err := v.newBox("sandbox-idle")
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	// The detached sandbox inherits runsc's stdout and stderr: a file, not
	// a pipe that would stay open as long as the sandbox runs.
	logPath := filepath.Join(b.bundle, "run.log")
	logf, err := os.Create(logPath)
	if err != nil {
		v.destroy(b)
		return nil, err
	}
	defer logf.Close()
	cmd := exec.CommandContext(ctx, v.opts.Runsc, v.runsc(runArgs(b.bundle, b.id, true)...)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Run(); err != nil {
		out, _ := os.ReadFile(logPath)
		v.destroy(b)
		return nil, fmt.Errorf("sandbox: runsc run: %v: %s", err, strings.TrimSpace(string(out)))
	}
	v.log.Debug("sandbox: started", "id", b.id)
	return b, nil
}

// newBox writes a sandbox's bundle and registers it.
func (v *runscV) newBox(cmd string) (*box, error) {
	v.mu.Lock()
	if v.closed {
		v.mu.Unlock()
		return nil, errors.New("sandbox: validator closed")
	}
	b := &box{id: fmt.Sprintf("phoenix-%d-%d", os.Getpid(), boxSeq.Add(1))}
	b.bundle = filepath.Join(v.bundles, b.id)
	v.boxes[b.id] = b
	v.mu.Unlock()
	if err := os.MkdirAll(b.bundle, 0o700); err != nil {
		return nil, err
	}
	spec, proc := v.spec(cmd)
	for name, val := range map[string]any{"config.json": spec, "exec.json": proc} {
		data, err := json.MarshalIndent(val, "", "  ")
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(b.bundle, name), data, 0o600); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// destroy kills and deletes b's container and removes its bundle. Killing
// only the runsc client would leave the sandbox running.
func (v *runscV) destroy(b *box) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	exec.CommandContext(ctx, v.opts.Runsc, v.runsc("kill", b.id, "KILL")...).Run()
	out, err := exec.CommandContext(ctx, v.opts.Runsc, v.runsc("delete", "--force", b.id)...).CombinedOutput()
	if err != nil && !strings.Contains(string(out), "does not exist") {
		v.log.Warn("sandbox: runsc delete", "id", b.id, "err", err, "output", strings.TrimSpace(string(out)))
	}
	os.RemoveAll(b.bundle)
	v.mu.Lock()
	delete(v.boxes, b.id)
	v.mu.Unlock()
	v.log.Debug("sandbox: destroyed", "id", b.id)
}

// Close kills and deletes every sandbox and, if it made the state
// directory, removes it.
func (v *runscV) Close() error {
	v.mu.Lock()
	if v.closed {
		v.mu.Unlock()
		return nil
	}
	v.closed = true
	v.mu.Unlock()
	if v.bgCancel != nil {
		v.bgCancel()
	}
	v.wg.Wait()
	v.mu.Lock()
	var all []*box
	for _, b := range v.boxes {
		all = append(all, b)
	}
	v.mu.Unlock()
	var wg sync.WaitGroup
	for _, b := range all {
		wg.Add(1)
		go func() { defer wg.Done(); v.destroy(b) }()
	}
	wg.Wait()
	if v.tempDir {
		return os.RemoveAll(v.opts.StateDir)
	}
	return nil
}

// ids lists the live sandboxes (for tests).
func (v *runscV) ids() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	var out []string
	for id := range v.boxes {
		out = append(out, id)
	}
	return out
}

// The OCI runtime spec, as much of it as the sandbox uses.
type (
	ociSpec struct {
		OCIVersion string     `json:"ociVersion"`
		Process    *ociProc   `json:"process"`
		Root       ociRoot    `json:"root"`
		Hostname   string     `json:"hostname"`
		Mounts     []ociMount `json:"mounts"`
		Linux      ociLinux   `json:"linux"`
	}
	ociProc struct {
		User            ociUser     `json:"user"`
		Args            []string    `json:"args"`
		Env             []string    `json:"env"`
		Cwd             string      `json:"cwd"`
		Rlimits         []ociRlimit `json:"rlimits"`
		NoNewPrivileges bool        `json:"noNewPrivileges"`
	}
	ociUser struct {
		UID uint32 `json:"uid"`
		GID uint32 `json:"gid"`
	}
	ociRlimit struct {
		Type string `json:"type"`
		Hard uint64 `json:"hard"`
		Soft uint64 `json:"soft"`
	}
	ociRoot struct {
		Path     string `json:"path"`
		Readonly bool   `json:"readonly"`
	}
	ociMount struct {
		Destination string   `json:"destination"`
		Type        string   `json:"type"`
		Source      string   `json:"source"`
		Options     []string `json:"options,omitempty"`
	}
	ociLinux struct {
		Namespaces []ociNamespace `json:"namespaces"`
	}
	ociNamespace struct {
		Type string `json:"type"`
	}
)

// spec is the container configuration of a sandbox whose init runs
// `phoenix cmd`, and the process description of a validation exec'd into
// it. runsc applies the container's rlimits to exec'd processes too.
func (v *runscV) spec(cmd string) (*ociSpec, *ociProc) {
	mem := uint64(v.opts.MemoryMB) << 20
	proc := func(args ...string) *ociProc {
		return &ociProc{
			User: ociUser{UID: 65534, GID: 65534}, // nobody
			Args: args,
			Env: []string{
				"GOMAXPROCS=1",
				"GOMEMLIMIT=" + strconv.FormatUint(mem, 10),
				"PHOENIX_SANDBOX_HEAP=" + strconv.FormatUint(mem*3/4, 10),
				"PHOENIX_LOG=error",
			},
			Cwd: "/",
			Rlimits: []ociRlimit{
				{Type: "RLIMIT_AS", Hard: mem + goReserveMB<<20, Soft: mem + goReserveMB<<20},
				{Type: "RLIMIT_CPU", Hard: uint64(v.opts.CPUSeconds), Soft: uint64(v.opts.CPUSeconds)},
				{Type: "RLIMIT_NOFILE", Hard: 64, Soft: 64},
				{Type: "RLIMIT_NPROC", Hard: 64, Soft: 64},
				{Type: "RLIMIT_FSIZE", Hard: 0, Soft: 0},
				{Type: "RLIMIT_CORE", Hard: 0, Soft: 0},
			},
			NoNewPrivileges: true,
		}
	}
	spec := &ociSpec{
		OCIVersion: "1.0.2",
		Process:    proc("/phoenix", cmd),
		Root:       ociRoot{Path: v.rootfs, Readonly: true},
		Hostname:   "sandbox",
		Mounts: []ociMount{
			{Destination: "/proc", Type: "proc", Source: "proc"},
			{Destination: "/tmp", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "nodev", "noexec", "size=1m"}},
		},
		Linux: ociLinux{Namespaces: []ociNamespace{{"pid"}, {"network"}, {"ipc"}, {"uts"}, {"mount"}}},
	}
	return spec, proc("/phoenix", "sandbox-exec")
}

// limitBuffer keeps the first max bytes written to it.
type limitBuffer struct {
	bytes.Buffer
	max int
}

func (b *limitBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.Len(); room > 0 {
		b.Buffer.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}
