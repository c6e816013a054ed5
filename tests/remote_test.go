package tests

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// server is a running `phoenix serve`.
type server struct {
	cmd    *exec.Cmd
	addr   string
	stderr *stringsBuilder
	exited chan error
}

// startServe runs phoenix serve on img at a free loopback port and waits
// for its READY line.
func startServe(t *testing.T, home, img, tokenFile string, extra ...string) *server {
	t.Helper()
	args := append([]string{"serve", "--image", img, "--addr", "127.0.0.1:0", "--token-file", tokenFile}, extra...)
	cmd := phoenixCmd(home, args...)
	s := &server{cmd: cmd, stderr: &stringsBuilder{}, exited: make(chan error, 1)}
	cmd.Stderr = s.stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if addr, ok := strings.CutPrefix(sc.Text(), "READY "); ok {
				ready <- addr
			}
		}
		s.exited <- cmd.Wait()
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-s.exited
		}
	})
	select {
	case s.addr = <-ready:
	case err := <-s.exited:
		t.Fatalf("phoenix serve exited before READY: %v\n%s", err, s.stderr)
	case <-time.After(60 * time.Second):
		t.Fatalf("phoenix serve: no READY line in 60 s\n%s", s.stderr)
	}
	return s
}

// stop sends SIGTERM and waits for a clean exit.
func (s *server) stop(t *testing.T) {
	t.Helper()
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.exited:
		if err != nil {
			t.Fatalf("phoenix serve after SIGTERM: %v\n%s", err, s.stderr)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("phoenix serve did not stop on SIGTERM\n%s", s.stderr)
	}
}

func TestServeAttachRoundTrip(t *testing.T) {
	home := t.TempDir()
	img := newImage(t, home, "served.image")
	tok := filepath.Join(home, "token")
	srv := startServe(t, home, img, tok)

	// serve made the token file: private, a fresh random token.
	fi, err := os.Stat(tok)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file: %v %v", fi, err)
	}
	b, _ := os.ReadFile(tok)
	if !regexp.MustCompile(`^[0-9a-f]{64}\n$`).Match(b) {
		t.Fatalf("token file holds %q", b)
	}
	if !strings.Contains(srv.stderr.String(), "wrote a new token to "+tok) {
		t.Fatalf("serve did not say it made the token: %s", srv.stderr)
	}

	out, stderr, err := phoenix(t, home, "attach", srv.addr, "--token-file", tok, "--eval",
		`Account = Object:clone(); Account.balance = 41; print("deposited"); return Account.balance + 1`)
	if err != nil || out != "deposited\n42\n" {
		t.Fatalf("attach --eval: %q %v\n%s", out, err, stderr)
	}
	// An error is printed like phoenix eval prints it, with exit status 1.
	out, stderr, err = phoenix(t, home, "attach", srv.addr, "--token-file", tok, "--eval", "Account:fly(3)")
	if exitCode(err) != 1 || out != "" || !strings.Contains(stderr, "MessageNotUnderstood: Account does not understand fly(3)") || !strings.Contains(stderr, "traceback:\n  ") {
		t.Fatalf("failed eval: %d %q\n%s", exitCode(err), out, stderr)
	}
	// The repl, scripted: a multi-line definition, then a use of it.
	repl := phoenixCmd(home, "attach", srv.addr, "--token-file", tok)
	repl.Stdin = strings.NewReader("function Account:deposit(n)\n  self.balance = self.balance + n\n  return self.balance\nend\nAccount:deposit(8)\n")
	rout, err := repl.CombinedOutput()
	if err != nil || strings.TrimSpace(string(rout)) != "49" {
		t.Fatalf("attach repl: %q %v", rout, err)
	}

	// SIGTERM stops serve cleanly: the image is closed (its lock released)
	// and holds what the remote evaluations committed.
	srv.stop(t)
	if got := mustEval(t, home, img, "Account.balance"); got != "49" {
		t.Fatalf("after serve: balance %q", got)
	}
}

func TestAttachRefusesWrongTokenAndOpenTokenFiles(t *testing.T) {
	home := t.TempDir()
	img := newImage(t, home, "served.image")
	tok := filepath.Join(home, "token")
	os.WriteFile(tok, []byte("the-right-token\n"), 0o600)
	srv := startServe(t, home, img, tok)
	if strings.Contains(srv.stderr.String(), "wrote a new token") {
		t.Fatal("serve replaced an existing token file")
	}

	wrong := filepath.Join(home, "wrong")
	os.WriteFile(wrong, []byte("the-wrong-token\n"), 0o600)
	out, stderr, err := phoenix(t, home, "attach", srv.addr, "--token-file", wrong, "--eval", "Lobby.hacked = true")
	if exitCode(err) != 1 || out != "" || !strings.Contains(stderr, "wrong token") {
		t.Fatalf("wrong token: %d %q %q", exitCode(err), out, stderr)
	}
	open := filepath.Join(home, "open")
	os.WriteFile(open, []byte("the-right-token\n"), 0o600)
	os.Chmod(open, 0o644)
	_, stderr, err = phoenix(t, home, "attach", srv.addr, "--token-file", open, "--eval", "1")
	if exitCode(err) != 1 || !strings.Contains(stderr, "token file "+open+" has mode 0644") {
		t.Fatalf("open token file: %d %q", exitCode(err), stderr)
	}
	if out, stderr, err := phoenix(t, home, "attach", srv.addr, "--token-file", tok, "--eval", "Lobby.hacked"); err != nil || out != "nil\n" {
		t.Fatalf("right token: %q %v %s", out, err, stderr)
	}
	if strings.Contains(srv.stderr.String(), "the-right-token") || strings.Contains(srv.stderr.String(), "the-wrong-token") {
		t.Fatalf("serve logged a token:\n%s", srv.stderr)
	}
	srv.stop(t)

	// serve refuses a token file others can read, and a non-loopback
	// address without --allow-remote, naming the file and the flag.
	_, stderr, err = phoenix(t, home, "serve", "--image", img, "--addr", "127.0.0.1:0", "--token-file", open)
	if exitCode(err) != 1 || !strings.Contains(stderr, "token file "+open+" has mode 0644") {
		t.Fatalf("serve with an open token file: %d %q", exitCode(err), stderr)
	}
	_, stderr, err = phoenix(t, home, "serve", "--image", img, "--addr", "0.0.0.0:0", "--token-file", tok)
	if exitCode(err) != 1 || !strings.Contains(stderr, `refusing to listen on "0.0.0.0:0"`) || !strings.Contains(stderr, "--allow-remote") {
		t.Fatalf("serve on 0.0.0.0: %d %q", exitCode(err), stderr)
	}

	// With --allow-remote (a QEMU guest behind a loopback forward) it
	// listens on every interface; loopback reaches it.
	srv = startServe(t, home, img, tok, "--addr", "0.0.0.0:0", "--allow-remote")
	if !strings.HasPrefix(srv.addr, "[::]:") && !strings.HasPrefix(srv.addr, "0.0.0.0:") {
		t.Fatalf("--allow-remote listens on %s", srv.addr)
	}
	port := srv.addr[strings.LastIndex(srv.addr, ":")+1:]
	if out, stderr, err := phoenix(t, home, "attach", "127.0.0.1:"+port, "--token-file", tok, "--eval", "6 * 7"); err != nil || out != "42\n" {
		t.Fatalf("attach to an --allow-remote server: %q %v %s", out, err, stderr)
	}
	srv.stop(t)
}

func TestAttachReplCtrlCInterruptsTheRemoteEvaluation(t *testing.T) {
	home := t.TempDir()
	img := newImage(t, home, "served.image")
	tok := filepath.Join(home, "token")
	srv := startServe(t, home, img, tok)
	repl := phoenixCmd(home, "attach", srv.addr, "--token-file", tok)
	in, err := repl.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var out, errb stringsBuilder
	repl.Stdout, repl.Stderr = &out, &errb
	if err := repl.Start(); err != nil {
		t.Fatal(err)
	}
	io.WriteString(in, "Lobby.looped = true; while true do end\n")
	time.Sleep(time.Second) // the loop runs on the server
	repl.Process.Signal(os.Interrupt)
	io.WriteString(in, "Lobby.after = 1; return 'still here'\n")
	in.Close()
	done := make(chan error, 1)
	go func() { done <- repl.Wait() }()
	select {
	case err := <-done:
		if err != nil || !strings.Contains(errb.String(), "Interrupted") || strings.TrimSpace(out.String()) != "still here" {
			t.Fatalf("attach repl: %v, stdout %q, stderr %q", err, out.String(), errb.String())
		}
	case <-time.After(20 * time.Second):
		repl.Process.Kill()
		t.Fatalf("attach repl did not finish: stdout %q stderr %q", out.String(), errb.String())
	}
	srv.stop(t)
	if got := mustEval(t, home, img, "tostring(Lobby.looped) .. ' ' .. tostring(Lobby.after)"); got != "nil 1" {
		t.Fatalf("after the interrupt: %q", got)
	}
}
