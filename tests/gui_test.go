package tests

import (
	"bufio"
	"context"
	"fmt"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestGUISmoke opens the window of a cgo-built phoenix under Xvfb, takes a
// screenshot (out/gui/smoke.png), closes it with Ctrl-Q and checks that
// phoenix exited 0 and left a valid image. It fails, not skips, without
// Xvfb, xdotool or ImageMagick's import (scripts/deps.sh installs them).
func TestGUISmoke(t *testing.T) {
	s := startGUI(t)
	shot := s.screenshot("smoke.png")
	if n := colours(t, shot); n < 8 {
		t.Fatalf("%s has %d colours: the window looks blank", shot, n)
	}
	// A do-it in the workspace (the right third of the window): click into
	// its editor, type, Ctrl-D.
	w, h := s.geometry()
	s.click(w*5/6, h/4)
	s.typeText("Lobby.smoke = 42")
	s.key("ctrl+d")
	time.Sleep(2 * time.Second) // the evaluation runs off the UI goroutine
	s.screenshot("smoke-doit.png")
	s.quit()
	if out, errOut, err := phoenix(t, s.home, "--image", s.image, "image", "verify"); err != nil {
		t.Fatalf("image verify after the GUI: %v\n%s%s", err, out, errOut)
	}
	out, errOut, err := phoenix(t, s.home, "eval", "--image", s.image, "return smoke")
	if err != nil || strings.TrimSpace(out) != "42" {
		t.Fatalf("after the GUI's do-it, smoke is %q (%v)\n%s", out, err, errOut)
	}
}

// guiSession is a phoenix gui running on its own Xvfb display.
type guiSession struct {
	t       *testing.T
	display string
	home    string
	image   string
	window  string // X window id
	cmd     *exec.Cmd
	stderr  *stringsBuilder
	exited  chan error
}

func needTools(t testing.TB, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is required by the GUI tests (run scripts/deps.sh): %v", tool, err)
		}
	}
}

// guiBin builds phoenix with cgo (the GUI) once per test binary.
var guiBin struct {
	path string
	err  error
}

func buildGUIBin(t testing.TB) string {
	t.Helper()
	if guiBin.path == "" && guiBin.err == nil {
		guiBin.path = filepath.Join(filepath.Dir(phoenixBin), "phoenix-gui")
		build := exec.Command("go", "build", "-o", guiBin.path, "./cmd/phoenix")
		build.Dir = moduleRoot()
		build.Env = append(os.Environ(), "CGO_ENABLED=1")
		if out, err := build.CombinedOutput(); err != nil {
			guiBin.err = fmt.Errorf("building phoenix with cgo: %v\n%s", err, out)
		}
	}
	if guiBin.err != nil {
		t.Fatal(guiBin.err)
	}
	return guiBin.path
}

func moduleRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(file))
}

// startXvfb starts Xvfb on a free display (Xvfb picks it: -displayfd) and
// returns ":N"; it is stopped at cleanup.
func startXvfb(t testing.TB) string {
	t.Helper()
	display, stop, err := launchXvfb()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return display
}

// launchXvfb starts Xvfb on a free display and returns ":N" and the func
// that stops it.
func launchXvfb() (string, func(), error) {
	r, w, err := os.Pipe()
	if err != nil {
		return "", nil, err
	}
	x := exec.Command("Xvfb", "-displayfd", "3", "-screen", "0", "1600x1000x24", "-nolisten", "tcp")
	x.ExtraFiles = []*os.File{w}
	var errb stringsBuilder
	x.Stderr = &errb
	if err := x.Start(); err != nil {
		return "", nil, fmt.Errorf("starting Xvfb: %v", err)
	}
	w.Close()
	stop := func() { x.Process.Kill(); x.Wait() }
	got := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(r).ReadString('\n')
		r.Close()
		got <- strings.TrimSpace(line)
	}()
	select {
	case n := <-got:
		if n == "" {
			stop()
			return "", nil, fmt.Errorf("Xvfb did not start: %s", errb.String())
		}
		return ":" + n, stop, nil
	case <-time.After(30 * time.Second):
		stop()
		return "", nil, fmt.Errorf("Xvfb did not report its display within 30s: %s", errb.String())
	}
}

// startGUI creates an image and opens phoenix gui on it under Xvfb,
// waiting for its window.
func startGUI(t *testing.T) *guiSession {
	t.Helper()
	needTools(t, "Xvfb", "xdotool", "import")
	home := t.TempDir()
	img := filepath.Join(home, "smoke.image")
	if out, errOut, err := phoenix(t, home, "image", "new", img); err != nil {
		t.Fatalf("image new: %v\n%s%s", err, out, errOut)
	}
	return startGUIWith(t, home, img, "gui", "--image", img)
}

// startGUIWith runs the cgo phoenix with args under Xvfb and waits for its
// window, whose title must name img.
func startGUIWith(t *testing.T, home, img string, args ...string) *guiSession {
	t.Helper()
	needTools(t, "Xvfb", "xdotool", "import")
	bin := buildGUIBin(t)
	s := &guiSession{t: t, home: home, image: img, exited: make(chan error, 1), stderr: &stringsBuilder{}}
	s.display = startXvfb(t)
	runtimeDir := filepath.Join(s.home, "run")
	os.MkdirAll(runtimeDir, 0o700)
	s.cmd = exec.Command(bin, args...)
	s.cmd.Env = append(os.Environ(), "DISPLAY="+s.display, "WAYLAND_DISPLAY=", "XDG_RUNTIME_DIR="+runtimeDir,
		"XDG_DATA_HOME="+filepath.Join(s.home, "data"), "HOME="+s.home)
	s.cmd.Stdout, s.cmd.Stderr = s.stderr, s.stderr
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("starting phoenix gui: %v", err)
	}
	go func() { s.exited <- s.cmd.Wait() }()
	t.Cleanup(func() {
		select {
		case <-s.exited:
		default:
			s.cmd.Process.Kill()
			<-s.exited
		}
		if t.Failed() {
			t.Logf("phoenix gui output:\n%s", s.stderr.String())
		}
	})
	out, err := s.xdotool(30*time.Second, "search", "--sync", "--name", "^Phoenix")
	if err != nil {
		t.Fatalf("no Phoenix window within 30s: %v\n%s\nphoenix gui:\n%s", err, out, s.stderr.String())
	}
	s.window = strings.Fields(out)[0]
	if name, _ := s.xdotool(10*time.Second, "getwindowname", s.window); !strings.Contains(name, s.image) {
		t.Errorf("window title %q does not name the image %s", strings.TrimSpace(name), s.image)
	}
	return s
}

func (s *guiSession) xdotool(timeout time.Duration, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "xdotool", args...)
	cmd.Env = append(os.Environ(), "DISPLAY="+s.display)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// key sends keys (xdotool syntax, e.g. "ctrl+q") to the focused window.
func (s *guiSession) key(keys ...string) {
	s.t.Helper()
	// Gio ignores synthetic (XSendEvent) keys: focus the window and type
	// through XTEST.
	if out, err := s.xdotool(10*time.Second, "windowfocus", "--sync", s.window); err != nil {
		s.t.Fatalf("xdotool windowfocus: %v\n%s", err, out)
	}
	if out, err := s.xdotool(10*time.Second, append([]string{"key", "--delay", "50"}, keys...)...); err != nil {
		s.t.Fatalf("xdotool key %v: %v\n%s", keys, err, out)
	}
}

// geometry is the window's size.
func (s *guiSession) geometry() (int, int) {
	s.t.Helper()
	out, err := s.xdotool(10*time.Second, "getwindowgeometry", "--shell", s.window)
	if err != nil {
		s.t.Fatalf("xdotool getwindowgeometry: %v\n%s", err, out)
	}
	var w, h int
	for _, l := range strings.Split(out, "\n") {
		fmt.Sscanf(l, "WIDTH=%d", &w)
		fmt.Sscanf(l, "HEIGHT=%d", &h)
	}
	if w == 0 || h == 0 {
		s.t.Fatalf("window geometry: %q", out)
	}
	return w, h
}

// typeText types text into the focused widget.
func (s *guiSession) typeText(text string) {
	s.t.Helper()
	if out, err := s.xdotool(30*time.Second, "type", "--delay", "20", text); err != nil {
		s.t.Fatalf("xdotool type: %v\n%s", err, out)
	}
}

// click clicks at x, y relative to the window.
func (s *guiSession) click(x, y int) {
	s.t.Helper()
	if out, err := s.xdotool(10*time.Second, "mousemove", "--window", s.window, fmt.Sprint(x), fmt.Sprint(y), "click", "1"); err != nil {
		s.t.Fatalf("xdotool click: %v\n%s", err, out)
	}
}

// screenshot waits until the screen is drawn (more than a few colours, or
// 15s) and saves it as out/gui/<name> in the module; it returns the path.
func (s *guiSession) screenshot(name string) string {
	s.t.Helper()
	dir := filepath.Join(moduleRoot(), "out", "gui")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		s.t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	deadline := time.Now().Add(15 * time.Second)
	for {
		cmd := exec.Command("import", "-window", "root", path)
		cmd.Env = append(os.Environ(), "DISPLAY="+s.display)
		if out, err := cmd.CombinedOutput(); err != nil {
			s.t.Fatalf("import: %v\n%s", err, out)
		}
		if colours(s.t, path) >= 8 || time.Now().After(deadline) {
			return path
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// quit presses Ctrl-Q and waits for phoenix to exit 0. On a loaded
// machine a key press can be lost before the window has focus, so it is
// pressed again (up to four times) rather than waiting once.
func (s *guiSession) quit() {
	s.t.Helper()
	for attempt := 0; attempt < 4; attempt++ {
		s.key("ctrl+q")
		select {
		case err := <-s.exited:
			s.exited <- err // for the cleanup
			if err != nil {
				s.t.Fatalf("phoenix gui exited with %v after Ctrl-Q\n%s", err, s.stderr.String())
			}
			return
		case <-time.After(8 * time.Second):
		}
	}
	s.t.Fatalf("phoenix gui still running 32s after four Ctrl-Q\n%s", s.stderr.String())
}

// colours counts the distinct colours of a PNG (up to 1000).
func colours(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	seen := map[[4]uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, a := img.At(x, y).RGBA()
			seen[[4]uint32{r, g, bl, a}] = true
			if len(seen) >= 1000 {
				return len(seen)
			}
		}
	}
	return len(seen)
}

// TestGUIAttachSmoke opens the cgo phoenix's window on an image that
// `phoenix serve` serves (gui --attach) under Xvfb, types a do-it that
// makes an object and inspects it (Ctrl-I opens the Inspector on the
// server's object: out/gui/attach-inspect.png), quits with Ctrl-Q, and
// checks through `phoenix attach` that the do-it committed on the server.
func TestGUIAttachSmoke(t *testing.T) {
	home := t.TempDir()
	img := newImage(t, home, "served.image")
	tok := filepath.Join(home, "token")
	srv := startServe(t, home, img, tok)
	s := startGUIWith(t, home, img, "gui", "--attach", srv.addr, "--token-file", tok)
	if shot := s.screenshot("attach-smoke.png"); colours(t, shot) < 8 {
		t.Fatalf("%s looks blank", shot)
	}
	w, h := s.geometry()
	s.click(w*5/6, h/4) // the workspace's editor
	s.typeText("Lobby.probe = Object:clone(); probe.x = 7; return probe")
	s.key("ctrl+i")
	time.Sleep(2 * time.Second)
	s.screenshot("attach-inspect.png")
	s.quit()
	out, stderr, err := phoenix(t, home, "attach", srv.addr, "--token-file", tok, "--eval", "return probe.x")
	if err != nil || strings.TrimSpace(out) != "7" {
		t.Fatalf("after the attached window's do-it, probe.x = %q (%v)\n%s", out, err, stderr)
	}
	srv.stop(t)
}
