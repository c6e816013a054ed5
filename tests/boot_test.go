package tests

import (
	"bufio"
	"context"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/phoenix-image/phoenix/agent/llmtest"
	"github.com/phoenix-image/phoenix/kernelhost/remote"
)

// Boots under QEMU (TCG, no KVM) take seconds; each is allowed 120 s.
const bootTimeout = 120 * time.Second

// bootEnv is the environment of a phoenix that boots: a private data and
// cache directory, and the real Go module cache (the kernel module is
// there; HOME moves the default one).
func bootEnv(t *testing.T, home string) []string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		t.Fatalf("go env GOMODCACHE: %v", err)
	}
	return append(os.Environ(), "XDG_DATA_HOME="+filepath.Join(home, "data"), "HOME="+home,
		"XDG_CACHE_HOME="+filepath.Join(home, "cache"), "GOMODCACHE="+strings.TrimSpace(string(out)))
}

// boot runs phoenix boot with args and returns its output and exit code.
func boot(t *testing.T, home string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), bootTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, phoenixBin, append([]string{"boot"}, args...)...)
	cmd.Env = bootEnv(t, home)
	var out, errb stringsBuilder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("phoenix boot %v: not done after %v\nstdout:\n%s\nstderr:\n%s", args, bootTimeout, out.String(), errb.String())
	}
	code = 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("phoenix boot: %v", err)
	}
	return out.String(), errb.String(), code
}

var resultLine = regexp.MustCompile(`(?m)^(FAIL|ERROR|PASS|pass|fail|error)\s+(\S+>>\S+)`)
var summaryLine = regexp.MustCompile(`(?m)^(\d+) passed, (\d+) failed$`)

// testOutcome is what a test run printed: the summary and the names of
// the tests that did not pass.
func testOutcome(t *testing.T, out string) string {
	t.Helper()
	out = strings.ReplaceAll(out, "\r", "") // the serial console ends lines with CR LF
	m := summaryLine.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no summary in:\n%s", out)
	}
	var bad []string
	for _, r := range resultLine.FindAllStringSubmatch(out, -1) {
		bad = append(bad, r[1]+" "+r[2])
	}
	sort.Strings(bad)
	return m[0] + " | " + strings.Join(bad, ", ")
}

// TestBootRunsTestsLikeTheHostAndKeepsStateAcrossBoots boots twice. The
// first boot is the interactive console: its repl writes state (slots and
// a method) that a test of the image checks, and that test fails until
// then; the host then sees the state (eval, image info). The second boot
// runs the image's tests in the guest: that test passes there (the second
// boot saw the first boot's state), and the results are those of phoenix
// test on the host, failures included.
func TestBootRunsTestsLikeTheHostAndKeepsStateAcrossBoots(t *testing.T) {
	home := t.TempDir()
	img := filepath.Join(home, "boot.image")
	if _, stderr, err := phoenix(t, home, "image", "new", img); err != nil {
		t.Fatalf("image new: %v\n%s", err, stderr)
	}
	setup := `Account = Object:clone(); Account.balance = 0
function Account:deposit(n) self.balance = self.balance + n end
AccountTest = Object:clone(); AccountTest:uses(TestCase)
function AccountTest:testSeesTheGuestsState() self:assertEquals("in the guest", Lobby.written) end
function AccountTest:testDeposit() local a = Account:clone(); a:deposit(5); self:assertEquals(5, a.balance) end
function AccountTest:testWrong() local a = Account:clone(); a:deposit(1); self:assertEquals(2, a.balance) end`
	if _, stderr, err := phoenix(t, home, "eval", "--image", img, setup); err != nil {
		t.Fatalf("setup: %v\n%s", err, stderr)
	}
	if out, _, err := phoenix(t, home, "test", "--image", img, "testSeesTheGuestsState"); err == nil || !strings.Contains(out, "0 passed, 1 failed") {
		t.Fatalf("the test of the guest's state passes before the guest ran: %v\n%s", err, out)
	}
	// The guest reaches the fake LLM on the host's loopback through QEMU's
	// user network (the host is 10.0.2.2 there).
	llm := llmtest.NewServer(t)
	u, _ := url.Parse(llm.URL())
	_, port, _ := net.SplitHostPort(u.Host)
	coder := `Coder = LLM:clone(); Coder.baseURL = "http://10.0.2.2:` + port + `/v1"; Coder.model = "fake-coder"`
	if _, stderr, err := phoenix(t, home, "eval", "--image", img, coder); err != nil {
		t.Fatalf("configuring the coder: %v\n%s", err, stderr)
	}
	llm.Script(proposal(e2eWithdraw, e2eWithdrawTests))
	infoBefore, _, err := phoenix(t, home, "image", "info", "--image", img)
	if err != nil {
		t.Fatal(err)
	}

	// The first boot is interactive: the serial console is a repl on a
	// terminal. Each input is a transaction; Ctrl-C interrupts a running
	// evaluation (and rolls it back); exit powers the guest off.
	con := startInteractiveBoot(t, home, "--image", img)
	con.expect(t, "phoenix: READY pid1_to_ready_ms=")
	con.expect(t, "phoenix> ")
	con.typeLine(t, `Lobby.written = "in the guest"`)
	con.expect(t, "phoenix> ")
	con.typeLine(t, `Account.opened = 7`)
	con.expect(t, "phoenix> ")
	con.typeLine(t, `function Account:g() return 1 end`)
	con.expect(t, "phoenix> ")
	con.typeLine(t, `Account.opened * 6`)
	con.expect(t, "42")
	// No gVisor in the guest: the agent's method is refused there, since
	// the policy does not allow the in-process validator.
	con.typeLine(t, `Account:clone():withdraw(3)`)
	con.expect(t, "in the QEMU guest there is no gVisor sandbox, so agent installs are refused")
	con.expect(t, "phoenix> ")
	con.typeLine(t, `Lobby.written = "lost"; for i = 1, 1e12 do end`)
	time.Sleep(2 * time.Second)
	con.send(t, "\x03")
	con.expect(t, "rolled back")
	con.send(t, "exit\r")
	con.expect(t, "phoenix: exit status 0")
	out, code := con.wait(t)
	if n := len(llm.Requests()); n != 1 {
		t.Errorf("the guest asked the LLM %d times, want 1", n)
	}
	if code != 0 {
		t.Fatalf("interactive boot: exit %d\n%s", code, out)
	}
	if !regexp.MustCompile(`boot: READY total_ms=\d+ firmware_ms=\d+ kernel_ms=\d+ phoenix_ms=\d+`).MatchString(out) {
		t.Errorf("no timings of the boot:\n%s", out)
	}
	got, stderr2, err := phoenix(t, home, "eval", "--image", img, `return Lobby.written, Account.opened`)
	if err != nil || strings.TrimSpace(got) != "in the guest\t7" && strings.Join(strings.Fields(got), " ") != "in the guest 7" {
		t.Fatalf("the host does not see the guest's state: %q %v %s", got, err, stderr2)
	}
	infoAfter, _, err := phoenix(t, home, "image", "info", "--image", img)
	if err != nil {
		t.Fatal(err)
	}
	if methodChanges(t, infoAfter) != methodChanges(t, infoBefore)+1 {
		t.Errorf("image info does not count the method the guest defined:\nbefore:\n%s\nafter:\n%s", infoBefore, infoAfter)
	}

	hostOut, _, hostErr := phoenix(t, home, "test", "--image", img)
	if hostErr == nil {
		t.Fatalf("phoenix test passed on the host though AccountTest>>testWrong fails:\n%s", hostOut)
	}
	out, stderr, code := boot(t, home, "--image", img, "--test")
	if code != 1 {
		t.Fatalf("boot --test: exit %d, want 1 (a test fails)\nstdout:\n%s\nstderr:\n%s", code, out, stderr)
	}
	host, guest := testOutcome(t, hostOut), testOutcome(t, out)
	if host != guest {
		t.Fatalf("the guest's tests differ from the host's:\nhost:  %s\nguest: %s\nguest output:\n%s", host, guest, out)
	}
	if !strings.Contains(guest, "passed, 1 failed") || !strings.Contains(guest, "AccountTest>>testWrong") {
		t.Errorf("unexpected outcome %s", guest)
	}
	if strings.Contains(out, "testSeesTheGuestsState") {
		t.Errorf("the test of the first boot's state failed in the second boot:\n%s", out)
	}
}

// TestBootRefusesBadInputBeforeBooting: each mistake is named, and
// nothing is built or booted.
func TestBootRefusesBadInputBeforeBooting(t *testing.T) {
	home := t.TempDir()
	img := filepath.Join(home, "b.image")
	if _, stderr, err := phoenix(t, home, "image", "new", img); err != nil {
		t.Fatalf("image new: %v\n%s", err, stderr)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--image", img, "--serve", "0.0.0.0:7070"}, `--serve "0.0.0.0:7070": the forwarded port must be on a loopback address`},
		{[]string{"--image", img, "--serve", "127.0.0.1:http"}, `--serve "127.0.0.1:http": bad port`},
		{[]string{"--image", img, "--test", "--serve", "127.0.0.1:7070"}, "--test and --serve exclude each other"},
		{[]string{"--image", img, "--memory", "16"}, "--memory 16: the guest needs at least 128 MB"},
		{[]string{"--image", filepath.Join(home, "missing.image"), "--test"}, "no image at " + filepath.Join(home, "missing.image")},
		{[]string{"--image", img, "--test", "--phoenix", "/bin/sh"}, "dynamically linked"},
	} {
		out, stderr, code := boot(t, home, c.args...)
		if code == 0 || !strings.Contains(stderr, c.want) || strings.Contains(out, "phoenix: READY") {
			t.Errorf("boot %v: exit %d, want an error with %q\nstdout:\n%s\nstderr:\n%s", c.args, code, c.want, out, stderr)
		}
	}
	if _, err := os.Stat(filepath.Join(img, "boot")); err == nil {
		t.Error("a refused boot left PATH/boot behind")
	}
}

func methodChanges(t *testing.T, info string) int {
	t.Helper()
	m := regexp.MustCompile(`history:\s+(\d+) method changes`).FindStringSubmatch(info)
	if m == nil {
		t.Fatalf("no history line in image info:\n%s", info)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// TestBootServeAttachAndKillQEMUMidCommit boots the image serving the
// remote protocol, forwarded to a host loopback port. phoenix attach
// evaluates through the forward (a round trip), a wrong token is refused,
// then a client commits in a loop (each evaluation's reply acknowledges
// its commit) and QEMU is killed with SIGKILL in the middle: phoenix boot
// takes the store back from the disk (replaying the ext4 journal) and
// the image opens on the host with every acknowledged commit and no
// partial one.
func TestBootServeAttachAndKillQEMUMidCommit(t *testing.T) {
	home := t.TempDir()
	img := filepath.Join(home, "served.image")
	if _, stderr, err := phoenix(t, home, "image", "new", img); err != nil {
		t.Fatalf("image new: %v\n%s", err, stderr)
	}
	if _, stderr, err := phoenix(t, home, "eval", "--image", img, `C = Object:clone(); C.n = 0; C.items = {}`); err != nil {
		t.Fatalf("setup: %v\n%s", err, stderr)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	tokenFile := filepath.Join(home, "token")

	ctx, cancel := context.WithTimeout(context.Background(), bootTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, phoenixBin, "boot", "--image", img, "--serve", addr, "--token-file", tokenFile, "--log-level", "info")
	cmd.Env = bootEnv(t, home)
	stdout, _ := cmd.StdoutPipe()
	stderrPipe, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	qemuPid := make(chan int, 1)
	var stderr, console syncBuilder
	go func() {
		sc := bufio.NewScanner(stderrPipe)
		re := regexp.MustCompile(`msg="qemu running" pid=(\d+)`)
		for sc.Scan() {
			stderr.WriteString(sc.Text() + "\n")
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				n, _ := strconv.Atoi(m[1])
				qemuPid <- n
			}
		}
	}()
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		once := sync.Once{}
		for sc.Scan() {
			console.WriteString(sc.Text() + "\n")
			if strings.HasPrefix(strings.TrimSpace(sc.Text()), "READY ") { // phoenix serve listens
				once.Do(func() { close(ready) })
			}
		}
	}()
	select {
	case <-ready:
	case <-ctx.Done():
		t.Fatalf("the guest's phoenix serve never said READY:\n%s\n%s", console.String(), stderr.String())
	}

	// A round trip through the forwarded port, with the built binary.
	out, errOut, err := phoenix(t, home, "attach", addr, "--token-file", tokenFile, "--eval", "return 6 * 7")
	if err != nil || strings.TrimSpace(out) != "42" {
		t.Fatalf("attach --eval through the forward: %q %v\n%s", out, err, errOut)
	}
	bad := filepath.Join(home, "bad-token")
	os.WriteFile(bad, []byte("0123456789abcdef0123456789abcdef\n"), 0o600)
	out, errOut, err = phoenix(t, home, "attach", addr, "--token-file", bad, "--eval", "return 1")
	if err == nil || !strings.Contains(errOut, "wrong token") || strings.Contains(out, "1") {
		t.Fatalf("a wrong token was not refused: %q %v\n%s", out, err, errOut)
	}

	// Commits in a loop; each reply acknowledges one.
	token, err := remote.ReadToken(tokenFile)
	if err != nil {
		t.Fatal(err)
	}
	c, err := remote.Dial(ctx, addr, token, remote.ClientOptions{Name: "boot test"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	acked := 0
	for acked < 30 {
		res, err := c.Eval(ctx, `C.n = C.n + 1; C.items[C.n] = {v = C.n, o = Object:clone()}; C.last = C.items[C.n]; return C.n`)
		if err != nil || len(res.Values) != 1 {
			t.Fatalf("commit %d: %+v %v", acked+1, res, err)
		}
		acked, _ = strconv.Atoi(res.Values[0])
	}
	// One more commit in flight while QEMU dies.
	go c.Eval(ctx, `C.n = C.n + 1; C.items[C.n] = {v = C.n, o = Object:clone()}; C.last = C.items[C.n]; return C.n`)
	select {
	case pid := <-qemuPid:
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatalf("kill qemu %d: %v", pid, err)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("phoenix boot never logged QEMU's pid:\n%s", stderr.String())
	}
	err = cmd.Wait()
	if err == nil {
		t.Errorf("phoenix boot succeeded though QEMU was killed")
	}
	if !strings.Contains(stderr.String(), "the guest's store is the image's") {
		t.Fatalf("phoenix boot did not take the store back after QEMU died:\n%s", stderr.String())
	}
	out, errOut, err = phoenix(t, home, "eval", "--image", img, `local ok = C.last ~= nil and C.last.v == C.n and #C.items == C.n; return C.n, ok`)
	if err != nil {
		t.Fatalf("the image does not open after QEMU was killed: %v\n%s", err, errOut)
	}
	f := strings.Fields(out)
	if len(f) != 2 {
		t.Fatalf("eval: %q", out)
	}
	n, _ := strconv.Atoi(f[0])
	// The commit in flight may or may not have made it, whole.
	if n < acked || n > acked+1 || f[1] != "true" {
		t.Fatalf("after the kill the image holds C.n=%d (consistent: %s); last acknowledged %d", n, f[1], acked)
	}
	t.Logf("acknowledged %d, the image holds %d", acked, n)
}

// syncBuilder is a strings.Builder for several goroutines.
type syncBuilder struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuilder) WriteString(x string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b.WriteString(x)
}

func (s *syncBuilder) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// console is a phoenix boot whose standard input and output are a
// pseudo-terminal, as when a person runs it.
type console struct {
	cmd    *exec.Cmd
	master *os.File
	mu     sync.Mutex
	buf    []byte
	done   chan struct{}
}

func startInteractiveBoot(t *testing.T, home string, args ...string) *console {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open /dev/ptmx: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(master.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlockpt: %v", err)
	}
	n, err := unix.IoctlGetInt(int(master.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("ptsname: %v", err)
	}
	slave, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), bootTimeout)
	t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, phoenixBin, append([]string{"boot"}, args...)...)
	cmd.Env = bootEnv(t, home)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	slave.Close()
	c := &console{cmd: cmd, master: master, done: make(chan struct{})}
	go func() {
		defer close(c.done)
		b := make([]byte, 4096)
		for {
			n, err := master.Read(b)
			c.mu.Lock()
			c.buf = append(c.buf, b[:n]...)
			c.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() { master.Close() })
	return c
}

func (c *console) output() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return string(c.buf)
}

// expect waits until the console has printed s since the last expect.
func (c *console) expect(t *testing.T, s string) {
	t.Helper()
	deadline := time.Now().Add(bootTimeout)
	for time.Now().Before(deadline) {
		c.mu.Lock()
		i := strings.Index(string(c.buf), s)
		if i >= 0 {
			c.buf = c.buf[i+len(s):]
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
		select {
		case <-c.done:
			t.Fatalf("the console closed before printing %q; it printed:\n%s", s, c.output())
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("the console did not print %q within %v; it printed:\n%s", s, bootTimeout, c.output())
}

// typeLine types s a few characters at a time, each time waiting for the
// guest's line editor to echo them (the serial console of a slow guest
// must not be outrun), then Enter.
func (c *console) typeLine(t *testing.T, s string) {
	t.Helper()
	for len(s) > 0 {
		n := min(8, len(s))
		c.send(t, s[:n])
		c.expect(t, s[:n])
		s = s[n:]
	}
	c.send(t, "\r")
}

func (c *console) send(t *testing.T, s string) {
	t.Helper()
	if _, err := c.master.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
}

// wait waits for phoenix boot to end and returns the rest of the console.
func (c *console) wait(t *testing.T) (string, int) {
	t.Helper()
	err := c.cmd.Wait()
	select {
	case <-c.done:
	case <-time.After(2 * time.Second):
	}
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return c.output(), code
}
