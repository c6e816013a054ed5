//go:build cgo

package main

import (
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/phoenix-image/phoenix/agent"
	"github.com/phoenix-image/phoenix/agent/llmtest"
	"github.com/phoenix-image/phoenix/bootstrap"
	"github.com/phoenix-image/phoenix/browser/browsertest"
	"github.com/phoenix-image/phoenix/image"
	"github.com/phoenix-image/phoenix/vm"
)

// newMenuGUI is newChatGUI's window with the Image menu, the status
// bar's object count, the approvals pane and Revert wired as runGUI
// wires them, over the image on disk.
func newMenuGUI(t *testing.T) *chatGUI {
	t.Helper()
	g := newChatGUI(t)
	u := g.u
	u.path = g.s.Path
	res := g.u.inspector.Chat.Engine.(*plannerChat).resolver
	u.menu = newImageMenu(g.loop, g.s.Image, g.s.Path, "fake", func() {})
	u.menu.now = func() time.Time { return time.Date(2026, 11, 26, 0, 30, 0, 0, time.UTC) }
	u.counter = newObjectCounter(g.s.Image, func() {})
	u.counter.Recount()
	u.attachDesktop(res, g.s.Image, func() {})
	u.attachReopen(g.s, func(path string) (*bootstrap.Session, error) {
		s, err := bootstrap.Open(context.Background(), path, bootstrap.Options{})
		if err != nil {
			return nil, err
		}
		if err := agent.InstallObjects(context.Background(), s.VM); err != nil {
			s.Close()
			return nil, err
		}
		return s, nil
	}, res)
	t.Cleanup(func() { u.counter.Pause() }) // before the image closes
	g.frame()
	return g
}

func (g *chatGUI) status() string { return g.u.Status() }

func (g *chatGUI) menuIdle(prefix string) string {
	g.t.Helper()
	g.waitFor("the Image menu's "+prefix, func() bool {
		g.u.menu.mu.Lock()
		defer g.u.menu.mu.Unlock()
		return !g.u.menu.running && strings.HasPrefix(g.u.menu.status, prefix)
	})
	g.frame() // draws what the action left, e.g. the snapshots panel
	return g.u.menu.Status()
}

// printIt evaluates src in the workspace as a print-it and returns the
// printString.
func (g *chatGUI) printIt(src string) string {
	g.t.Helper()
	g.u.Workspace.Editor.SetText(src)
	g.u.Workspace.Editor.SetCaret(0, g.u.Workspace.Editor.Len())
	g.u.Workspace.PrintIt()
	g.waitFor("the print-it of "+src, func() bool {
		o := g.u.Workspace.Last()
		return o != nil && o.Source == src && !g.u.Workspace.Running
	})
	if e := g.u.Workspace.Err(); e != "" {
		g.t.Fatalf("print-it %s: %s", src, e)
	}
	return strings.Join(g.u.Workspace.Last().Result.Values, " ")
}

// TestGUIStatusBarSaysPathObjectsCommitAndLLM reads the status bar as
// drawn: the image's path, its number of objects, the commit state and
// the LLM's, which changes while a chat turn works.
func TestGUIStatusBarSaysPathObjectsCommitAndLLM(t *testing.T) {
	g := newMenuGUI(t)
	g.waitFor("the object count", func() bool { return g.u.counter.Count() > 0 })
	in, err := g.s.Image.Info()
	if err != nil {
		t.Fatal(err)
	}
	g.frame()
	want := []string{g.s.Path, "   ·   " + itoa(in.Records) + " objects", "all committed", "LLM fake: idle"}
	for _, w := range want {
		if !g.shows(w) {
			t.Fatalf("the status bar does not show %q: %q", w, g.status())
		}
	}
	// A do-it that waits shows as not yet committed.
	block := make(chan struct{})
	unblock := sync.OnceFunc(func() { close(block) })
	defer unblock()
	g.loop.Go(func(*vm.VM) { <-block })
	g.typeDoIt("Lobby.pending = 1")
	g.frame()
	if !g.shows("evaluating (not yet committed)") {
		t.Fatalf("while a do-it waits: %q", g.status())
	}
	unblock()
	g.waitFor("the do-it", func() bool { return g.u.Workspace.Last() != nil && !g.u.Workspace.Running })
	g.u.Workspace.Editor.SetText("")
	g.typeDoIt("error('no')")
	g.waitFor("the failed do-it", func() bool { return g.u.Workspace.Last() != nil && !g.u.Workspace.Running })
	g.waitFor("the rolled back state", func() bool { return g.shows("last evaluation rolled back") })
	g.printIt("Lobby.more = Object:clone(); return 1")
	g.waitFor("the new count", func() bool { return g.u.counter.Count() == in.Records+1 })
	g.waitFor("the committed state", func() bool { return g.shows("all committed") && g.shows(itoa(in.Records+1)+" objects") })

	release := make(chan struct{})
	defer close(release)
	g.srv.Script(llmtestWaiting(release))
	g.click("Chat")
	g.typeRequest("hello")
	g.waitFor("the working LLM", func() bool { return g.shows("LLM fake: working") })
}

// TestGUIRevertToSnapshotKeepsTheStateBefore reverts the open image to a
// snapshot through the Image menu: the first click only asks, the second
// snapshots the current state, swaps and reopens; the window goes on
// over the reverted image, and the state before can be restored from its
// snapshot.
func TestGUIRevertToSnapshotKeepsTheStateBefore(t *testing.T) {
	g := newMenuGUI(t)
	ctx := context.Background()
	g.printIt("Lobby.era = 1; return era")
	g.click("Snapshot")
	g.menuIdle("snapshot 2026-11-26T00-30-00 taken")
	g.u.menu.now = func() time.Time { return time.Date(2026, 11, 26, 0, 31, 0, 0, time.UTC) }
	g.printIt("Lobby.era = 2; return era")

	g.click("Snapshots…")
	g.menuIdle("1 snapshot")
	g.click("Revert image to this")
	if !g.shows("Revert chat.image to 2026-11-26T00-30-00? (the current state is snapshotted first) Click again") {
		t.Fatalf("no confirmation after one click; status %q", g.status())
	}
	if g.printIt("return era") != "2" {
		t.Fatal("one click reverted")
	}
	g.click("Revert chat.image to")
	st := g.menuIdle("reverted to snapshot 2026-11-26T00-30-00")
	safety := "2026-11-26T00-31-00-before-revert"
	if !strings.HasSuffix(st, "the state before is snapshot "+safety) {
		t.Fatalf("status %q", st)
	}
	// The window works on the reverted image: the workspace, the browser
	// and the agent's objects.
	if got := g.printIt("return era"); got != "1" {
		t.Fatalf("era = %s after the revert, want 1", got)
	}
	g.printIt("Lobby.era = 3; return era")
	if got := g.printIt("return LLM ~= nil"); got != "true" {
		t.Fatalf("the agent's objects after the revert: %s", got)
	}
	g.u.Browser.Refresh()
	g.waitFor("the browser's globals", func() bool { g.u.image.Globals(); return g.shows("era") })

	// Nothing was lost: the state before is a snapshot of the image.
	dest := filepath.Join(t.TempDir(), "before.image")
	if err := image.RestoreSnapshot(g.s.Path, safety, dest); err != nil {
		t.Fatal(err)
	}
	r, err := bootstrap.Open(ctx, dest, bootstrap.Options{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := r.VM.Eval(ctx, "return era", vm.EvalOptions{Print: true})
	r.Close()
	if err != nil || res.Strings[0] != "2" {
		t.Fatalf("era in the safety snapshot = %v, %v", res, err)
	}
	// The window closes the reverted session, which committed era = 3.
	g.loop.Close()
	g.u.counter.Pause()
	path := g.s.Path
	if err := g.s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := bootstrap.Open(ctx, path, bootstrap.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	*g.s = *s // the harness's cleanup closes it
	res, err = s.VM.Eval(ctx, "return era", vm.EvalOptions{Print: true})
	if err != nil || res.Strings[0] != "3" {
		t.Fatalf("era after reopening = %v, %v", res, err)
	}
}

// TestGUIRevertWaitsForTheChat: a revert is refused while a chat turn
// works (its resolver's journal would be swapped under it).
func TestGUIRevertWaitsForTheChat(t *testing.T) {
	g := newMenuGUI(t)
	if err := g.s.Image.Snapshot("s1"); err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	defer close(release)
	g.srv.Script(llmtestWaiting(release))
	g.click("Chat")
	g.typeRequest("hello")
	g.waitFor("the chat to work", func() bool { return g.u.inspector.Chat.Running() })
	if g.u.menu.Revert("s1") {
		t.Fatal("a revert started while the chat works")
	}
	if st := g.u.menu.Status(); !strings.HasPrefix(st, "revert waits: the agent is working in the chat") {
		t.Fatalf("status %q", st)
	}
}

// TestGUIImportAnExport exports the image and imports the export file
// into a new image through the Image menu's Import… row.
func TestGUIImportAnExport(t *testing.T) {
	g := newMenuGUI(t)
	g.printIt("Lobby.imported = 'yes'; return imported")
	g.click("Export")
	g.menuIdle("exported ")
	g.click("Import…")
	if got := g.u.menu.ImportFile.Text(); got != g.u.menu.exportPath() {
		t.Fatalf("the import row proposes %q", got)
	}
	g.click("Import as new image")
	dest := strings.TrimSuffix(g.u.menu.exportPath(), ".phx") + "-imported.image"
	if st := g.menuIdle("imported "); !strings.HasSuffix(st, " as new image "+dest) {
		t.Fatalf("status %q", st)
	}
	ctx := context.Background()
	r, err := bootstrap.Open(ctx, dest, bootstrap.Options{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := r.VM.Eval(ctx, "return imported", vm.EvalOptions{Print: true})
	r.Close()
	if err != nil || res.Strings[0] != "yes" {
		t.Fatalf("imported = %v, %v", res, err)
	}
	// Again: the destination exists, said in the status bar.
	g.click("Import…")
	g.click("Import as new image")
	if st := g.menuIdle("import of "); !strings.Contains(st, "already exists") {
		t.Fatalf("status %q", st)
	}
	g.frame()
	if !g.shows("import of ") {
		t.Fatalf("the status bar does not say so: %q", g.status())
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// llmtestWaiting is a model step that answers once release is closed.
func llmtestWaiting(release <-chan struct{}) llmtest.Step {
	return llmtest.Func(func(openai.ChatCompletionRequest) llmtest.Step {
		<-release
		return llmtest.Reply("hi")
	})
}

// TestGUIImageMenuRenders renders the window with the Image menu's
// import row and snapshots panel open (a revert waiting for its second
// click) on the headless GPU, writes out/gui/image-menu.png and checks
// that the menu rows and the status bar are drawn where the Router says.
func TestGUIImageMenuRenders(t *testing.T) {
	g := newMenuGUI(t)
	if err := g.s.Image.Snapshot("before-lunch"); err != nil {
		t.Fatal(err)
	}
	g.click("Import…")
	g.click("Snapshots…")
	g.menuIdle("1 snapshot")
	g.click("Revert image to this")
	g.waitFor("the object count", func() bool { return g.u.counter.Count() > 0 })
	g.frame()
	img := browsertest.Shoot(t, g.size, &g.ops)
	browsertest.SavePNG(t, img, "image-menu.png")
	bg := browsertest.Dominant(browsertest.Colours(img))
	for _, label := range []string{"Export file", "Import as new image", "Snapshots of chat.image (1)", "Revert chat.image to before-lunch?", g.s.Path} {
		r, ok := browsertest.Find(&g.r, label)
		if !ok {
			t.Fatalf("%q is not on screen", label)
		}
		if ink := browsertest.Ink(img, r, bg); ink < 40 {
			t.Errorf("%q at %v has %d ink pixels", label, r, ink)
		}
	}
}

// TestGUIChatWaitsForARevert: while a revert is queued or running, a new
// chat turn is refused with a message saying why; afterwards it runs.
func TestGUIChatWaitsForARevert(t *testing.T) {
	g := newMenuGUI(t)
	if err := g.s.Image.Snapshot("s1"); err != nil {
		t.Fatal(err)
	}
	block := make(chan struct{})
	unblock := sync.OnceFunc(func() { close(block) })
	defer unblock()
	g.loop.Go(func(*vm.VM) { <-block })
	if !g.u.menu.Revert("s1") {
		t.Fatal("the revert was not queued")
	}
	eng := g.u.inspector.Chat.Engine.(*plannerChat)
	if err := eng.Send("hello"); err != errChatHeld {
		t.Fatalf("Send during a revert: %v", err)
	}
	unblock()
	g.menuIdle("reverted to snapshot s1")
	g.srv.Script(llmtest.Reply("hi"))
	g.click("Chat")
	g.typeRequest("hello")
	g.waitFor("the answer", func() bool {
		return strings.Contains(g.u.inspector.Chat.Transcript(), "agent: hi") && !g.u.inspector.Chat.Running()
	})
}
