package sandbox

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/phoenix-image/phoenix/bootstrap"
	"github.com/phoenix-image/phoenix/vm"
)

// debianRootfs returns the cached Debian rootfs, failing (never skipping)
// when scripts/deps.sh has not built it.
func debianRootfs(t testing.TB) string {
	t.Helper()
	dir, err := ResolveRootfs(DebianRootfs)
	if err != nil {
		t.Fatalf("the Debian personality's rootfs is required: %v", err)
	}
	return dir
}

func newPersonalities(t testing.TB, opts PersonalityOptions) *Personalities {
	t.Helper()
	debianRootfs(t)
	opts.Runsc = runscPath(t)
	if opts.StateDir == "" {
		opts.StateDir = t.TempDir()
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	p, err := NewPersonalities(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

var debian = PersonalityConfig{Name: "debian", Rootfs: DebianRootfs}

func mustRun(t *testing.T, p *Personalities, cfg PersonalityConfig, shell string) *CommandResult {
	t.Helper()
	res, err := p.RunCommand(context.Background(), cfg, Command{Shell: shell})
	if err != nil {
		t.Fatalf("%s: %v", shell, err)
	}
	return res
}

func TestPersonalityRunsTheDebianUserland(t *testing.T) {
	p := newPersonalities(t, PersonalityOptions{})
	res := mustRun(t, p, debian, "cat /etc/debian_version; . /etc/os-release; echo $VERSION_CODENAME; uname -r")
	if !res.OK() || !res.Started {
		t.Fatalf("first command: %+v", res)
	}
	lines := strings.Split(strings.TrimSpace(res.Stdout), "\n")
	if len(lines) < 2 || !strings.HasPrefix(lines[0], "12.") || lines[1] != "bookworm" {
		t.Errorf("not Debian 12 bookworm: %q", res.Stdout)
	}
	// The second command runs in the same, already running personality.
	res = mustRun(t, p, debian, "dpkg-query -W -f '${Status}' cowsay; echo; apt-get install -y cowsay")
	if !res.OK() || res.Started {
		t.Fatalf("apt-get install: %+v", res)
	}
	if !strings.Contains(res.Stdout, "install ok installed") || !strings.Contains(res.Stdout, "cowsay is already the newest version") {
		t.Errorf("cowsay is not reported installed:\n%s\n%s", res.Stdout, res.Stderr)
	}
	res = mustRun(t, p, debian, "shuf -n1 /usr/share/phoenix/os-jokes.txt | cowsay")
	if !res.OK() || !strings.Contains(res.Stdout, "(oo)") {
		t.Errorf("cowsay: %+v", res)
	}
	// A failing command is a result with its exit status.
	res = mustRun(t, p, debian, "echo oops >&2; exit 3")
	if res.ExitCode != 3 || res.OK() || strings.TrimSpace(res.Stderr) != "oops" {
		t.Errorf("exit 3: %+v", res)
	}
	// An argv runs without a shell.
	res, err := p.RunCommand(context.Background(), debian, Command{Args: []string{"/usr/bin/printf", "%s|", "a b", "$HOME"}})
	if err != nil || res.Stdout != "a b|$HOME|" {
		t.Errorf("argv: %+v %v", res, err)
	}
}

func TestPersonalityCannotSeeOrWriteTheHost(t *testing.T) {
	p := newPersonalities(t, PersonalityOptions{})
	marker := filepath.Join(t.TempDir(), "host-marker")
	if err := os.WriteFile(marker, []byte("secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	home, _ := os.UserHomeDir()
	res := mustRun(t, p, debian, fmt.Sprintf(
		"test -e %q && echo marker-visible; test -e %q && echo home-visible; test -e /work && echo work-visible; echo written > /etc/phoenix-written; cat /etc/phoenix-written",
		marker, filepath.Join(home, ".cache", "phoenix")))
	if strings.Contains(res.Stdout, "visible") {
		t.Errorf("host files are visible inside the personality:\n%s", res.Stdout)
	}
	if !strings.Contains(res.Stdout, "written") {
		t.Errorf("the overlay is not writable: %+v", res)
	}
	if _, err := os.Stat(filepath.Join(debianRootfs(t), "etc", "phoenix-written")); !os.IsNotExist(err) {
		t.Errorf("a write inside the personality reached the cached rootfs on the host (err %v)", err)
	}
	// The write lives in the running personality's overlay only.
	res = mustRun(t, p, debian, "cat /etc/phoenix-written")
	if strings.TrimSpace(res.Stdout) != "written" {
		t.Errorf("the overlay did not keep the write between commands: %+v", res)
	}
}

// interfaces lists the network interfaces in /proc/net/dev's output.
func interfaces(procNetDev string) []string {
	var out []string
	for _, l := range strings.Split(procNetDev, "\n") {
		if name, _, ok := strings.Cut(l, ":"); ok && !strings.Contains(name, "|") {
			out = append(out, strings.TrimSpace(name))
		}
	}
	return out
}

func TestPersonalityHasNoNetworkUnlessAllowed(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("hello from the host\n"))
			c.Close()
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	probe := fmt.Sprintf("cat /proc/net/dev; echo ---; timeout 5 bash -c 'exec 3<>/dev/tcp/127.0.0.1/%d && head -n1 <&3' 2>&1 || echo connect-failed", port)

	p := newPersonalities(t, PersonalityOptions{})
	res := mustRun(t, p, debian, probe)
	dev, conn, _ := strings.Cut(res.Stdout, "---")
	if ifs := interfaces(dev); len(ifs) != 1 || ifs[0] != "lo" {
		t.Errorf("without network the personality has interfaces %v, want only lo", ifs)
	}
	if !strings.Contains(conn, "connect-failed") || strings.Contains(conn, "hello from the host") {
		t.Errorf("without network a connection to the host succeeded: %q", conn)
	}

	allowed := debian
	allowed.Name, allowed.Network = "debian-net", true
	res = mustRun(t, p, allowed, probe)
	dev, conn, _ = strings.Cut(res.Stdout, "---")
	if ifs := interfaces(dev); len(ifs) < 2 {
		t.Errorf("with network allowed the personality has interfaces %v, want more than lo", ifs)
	}
	if !strings.Contains(conn, "hello from the host") {
		t.Errorf("with network allowed the connection failed: %q", conn)
	}
}

// containers lists the runsc containers p has.
func containers(t *testing.T, p *Personalities) string {
	t.Helper()
	out, err := exec.Command(p.opts.Runsc, "--root", p.root, "list", "--quiet").CombinedOutput()
	if err != nil {
		t.Fatalf("runsc list: %v: %s", err, out)
	}
	return strings.TrimSpace(string(out))
}

func TestPersonalityStopsWhenIdleAndStartsAgainOnDemand(t *testing.T) {
	p := newPersonalities(t, PersonalityOptions{})
	cfg := debian
	cfg.IdleTimeout = 500 * time.Millisecond
	mustRun(t, p, cfg, "true")
	if !p.Running("debian") || containers(t, p) == "" {
		t.Fatal("not running after a command")
	}
	deadline := time.Now().Add(20 * time.Second)
	for p.Running("debian") || containers(t, p) != "" {
		if time.Now().After(deadline) {
			t.Fatalf("still running 20 s after an idle timeout of %v: %q", cfg.IdleTimeout, containers(t, p))
		}
		time.Sleep(100 * time.Millisecond)
	}
	res := mustRun(t, p, cfg, "echo again")
	if !res.Started || strings.TrimSpace(res.Stdout) != "again" {
		t.Errorf("after the idle stop: %+v", res)
	}
	p.Close()
	if out := containers(t, p); out != "" {
		t.Errorf("containers left after Close: %s", out)
	}
}

func TestPersonalityCommandTimeoutAndOutputLimit(t *testing.T) {
	p := newPersonalities(t, PersonalityOptions{OutputLimit: 1000})
	res, err := p.RunCommand(context.Background(), debian, Command{Shell: "echo before; sleep 60", Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if !res.TimedOut || res.OK() || !strings.Contains(res.Stderr, "timed out") {
		t.Errorf("timeout: %+v", res)
	}
	if p.Running("debian") || containers(t, p) != "" {
		t.Errorf("the personality runs on after a timed-out command")
	}
	res = mustRun(t, p, debian, "head -c 100000 /dev/zero | tr '\\0' x")
	if !res.Started || !res.Truncated || len(res.Stdout) > 1100 || !strings.Contains(res.Stdout, "output truncated") {
		t.Errorf("output limit: started %v truncated %v, %d bytes", res.Started, res.Truncated, len(res.Stdout))
	}
}

func TestPersonalityConfigChangeRestarts(t *testing.T) {
	p := newPersonalities(t, PersonalityOptions{})
	mustRun(t, p, debian, "touch /tmp/x")
	changed := debian
	changed.Network = true
	res := mustRun(t, p, changed, "test -e /tmp/x && echo same || echo fresh")
	if !res.Started || strings.TrimSpace(res.Stdout) != "fresh" {
		t.Errorf("a changed policy did not restart the personality: %+v", res)
	}
}

func TestResolveRootfsRefusesPaths(t *testing.T) {
	for _, name := range []string{"/", "../x", "debian/../../etc", "", "Debian"} {
		if _, err := ResolveRootfs(name); err == nil || !strings.Contains(err.Error(), "rootfs") {
			t.Errorf("ResolveRootfs(%q): %v", name, err)
		}
	}
	if _, err := ResolveRootfs("no-such-rootfs-1"); err == nil || !strings.Contains(err.Error(), "deps.sh") {
		t.Errorf("a missing rootfs: %v", err)
	}
}

// TestDepsBuildsTheRootfsThisPackageUses keeps scripts/deps.sh and the
// constants here in step.
func TestDepsBuildsTheRootfsThisPackageUses(t *testing.T) {
	b, err := os.ReadFile("../scripts/deps.sh")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"DEBIAN_SUITE=" + DebianSuite + "\n", "DEBIAN_ROOTFS_VERSION=" + DebianVersion + "\n"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("scripts/deps.sh does not say %q", strings.TrimSpace(want))
		}
	}
}

// newPersonalityVM is a fresh in-memory image with the personality objects
// and the builtin over r.
func newPersonalityVM(t *testing.T, r PersonalityRunner) *vm.VM {
	t.Helper()
	ctx := context.Background()
	v, err := bootstrap.Genesis(ctx, vm.Options{Store: vm.NewMemStore(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	if err := InstallPersonalityObjects(ctx, v); err != nil {
		t.Fatal(err)
	}
	SetPersonalityBuiltin(v, r)
	return v
}

func evalString(t *testing.T, v *vm.VM, src string) (string, error) {
	t.Helper()
	res, err := v.Eval(context.Background(), src, vm.EvalOptions{Print: true})
	if err != nil {
		return "", err
	}
	return strings.Join(res.Strings, "\t"), nil
}

func TestPersonalityFromLuaIsGovernedByItsObject(t *testing.T) {
	p := newPersonalities(t, PersonalityOptions{})
	v := newPersonalityVM(t, p)
	out, err := evalString(t, v, `local r = Personalities.debian:run({"cat", "/etc/debian_version"}); return r.code, r.ok, r.simulated, r.stdout`)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^0\ttrue\tfalse\t12\.\d+\n?$`).MatchString(out) {
		t.Errorf("Personalities.debian:run: %s", out)
	}
	if out, _ := evalString(t, v, `return Personalities.debian:isRunning()`); out != "true" {
		t.Errorf("isRunning after a command: %s", out)
	}
	if _, err := evalString(t, v, `Personalities.debian:stop()`); err != nil || p.Running("debian") {
		t.Errorf("stop: %v, running %v", err, p.Running("debian"))
	}
	// A personality made up outside the registry, with the host's root, is
	// refused; so is a registered one whose rootfs is made a path.
	_, err = evalString(t, v, `local p = Personality:clone(); p.rootfs = "/"; p.network = true; return p:run("ls /")`)
	if err == nil || !strings.Contains(err.Error(), "not one of Personalities") {
		t.Errorf("an unregistered personality ran: %v", err)
	}
	_, err = evalString(t, v, `Personalities.evil = Personality:clone(); Personalities.evil.rootfs = "/"; return Personalities.evil:run("ls /")`)
	if err == nil || !strings.Contains(err.Error(), "not a path") {
		t.Errorf("a personality with the host's root ran: %v", err)
	}
	if _, err := evalString(t, v, `return Personalities.debian:run(42)`); err == nil || !strings.Contains(err.Error(), "command") {
		t.Errorf("a bad command: %v", err)
	}
}

// The validation sandbox has no runsc inside it: a candidate that uses a
// personality meets the Simulated one, and its tests can see that.
func TestValidationSimulatesPersonalities(t *testing.T) {
	req := &Request{
		Context:  "CowJoker = Object:clone()\n",
		Receiver: "CowJoker",
		Selector: "speak",
		Source: `function CowJoker:speak()
  local r = Personalities.debian:run("shuf -n1 /usr/share/phoenix/os-jokes.txt | cowsay")
  if not r.ok then error("cowsay failed: " .. r.stderr) end
  return r.stdout
end`,
		Tests: `function ProposalTest:testSpeakReturnsText()
  self:assertEquals("string", type(CowJoker:speak()))
end`,
		Call: "return CowJoker:speak()",
	}
	for _, val := range []Validator{NewInProcess(), newRunsc(t, RunscOptions{})} {
		r, err := val.Validate(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		if !r.OK || !strings.Contains(r.CallResult, "[simulated: personality debian would run: shuf -n1") {
			t.Errorf("%s: %+v", val.Boundary(), r)
		}
	}
}
