//go:build cgo

package main

import (
	"context"
	"image"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"gioui.org/layout"
	"gioui.org/op"
	"gioui.org/unit"

	"github.com/phoenix-image/phoenix/bootstrap"
	"github.com/phoenix-image/phoenix/browser/browsertest"
	"github.com/phoenix-image/phoenix/kernelhost/remote"
	"github.com/phoenix-image/phoenix/vm"
	"github.com/phoenix-image/phoenix/workspace"
)

// servedImage serves a fresh image on disk over loopback and returns its
// address and a client of its own (for checks behind the GUI's back).
func servedImage(t *testing.T) (addr string, check *remote.Client) {
	t.Helper()
	return servedImageWith(t, nil)
}

// servedImageWith is servedImage with setup run on the session before it
// is served.
func servedImageWith(t *testing.T, setup func(s *bootstrap.Session)) (addr string, check *remote.Client) {
	t.Helper()
	ctx := context.Background()
	var be atomic.Pointer[bootstrap.RemoteBackend]
	s, err := bootstrap.Open(ctx, filepath.Join(t.TempDir(), "r.image"), bootstrap.Options{Create: true,
		OnCommit: func(b *vm.Batch) {
			if p := be.Load(); p != nil {
				p.Committed(b)
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.VM.Eval(ctx, "Account = Object:clone(); Account.balance = 5\n"+
		"function Account:deposit(n) self.balance = self.balance + n; return self end", vm.EvalOptions{}); err != nil {
		t.Fatal(err)
	}
	if setup != nil {
		setup(s)
	}
	b := bootstrap.NewRemoteBackend(s, bootstrap.RemoteOptions{Decider: agentDecider{}})
	be.Store(b)
	srv := &remote.Server{Backend: b, Token: "t0ken"}
	ln, err := remote.Listen(ctx, "127.0.0.1:0", false)
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close(); b.Close(); s.Close() })
	check, err = remote.Dial(ctx, ln.Addr().String(), "t0ken", remote.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { check.Close() })
	return ln.Addr().String(), check
}

// attachedForTest is the attached window's state over a served image;
// invalidations arrive on the channel.
func attachedForTest(t *testing.T) (*attachedGUI, *remote.Client, chan struct{}) {
	t.Helper()
	return attachedForTestWith(t, nil)
}

func attachedForTestWith(t *testing.T, setup func(s *bootstrap.Session)) (*attachedGUI, *remote.Client, chan struct{}) {
	t.Helper()
	addr, check := servedImageWith(t, setup)
	inval := make(chan struct{}, 1000)
	u := newAttachedGUI(func() {
		select {
		case inval <- struct{}{}:
		default:
		}
	})
	c, err := remote.Dial(context.Background(), addr, "t0ken", remote.ClientOptions{Name: "test gui", Notify: u.notify})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	u.connect(c, addr)
	return u, check, inval
}

// frames lays out frames (as the window would on each invalidation)
// until cond holds.
func frames(t *testing.T, u *attachedGUI, inval chan struct{}, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	var ops op.Ops
	for {
		ops.Reset()
		gtx := layout.Context{Ops: &ops, Metric: unit.Metric{PxPerDp: 1, PxPerSp: 1}, Constraints: layout.Exact(image.Pt(1200, 700)), Now: time.Now()}
		u.Layout(gtx)
		if cond() {
			return
		}
		select {
		case <-inval:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			t.Fatalf("%s: not within 10 s (browser: %v)", what, u.Browser.Status())
		}
	}
}

func listed(u *attachedGUI, name string) bool {
	for _, r := range u.Browser.Listed() {
		if r.Name == name {
			return true
		}
	}
	return false
}

func TestGUIAttachBrowsesAndEditsTheRemoteImage(t *testing.T) {
	u, check, inval := attachedForTest(t)
	ctx := context.Background()
	frames(t, u, inval, "Account listed", func() bool { return listed(u, "Account") })
	if !strings.Contains(u.Status(), "(remote, 127.0.0.1:") || !strings.Contains(u.Status(), "objects") {
		t.Fatalf("status %q", u.Status())
	}
	for _, r := range u.Browser.Listed() {
		if r.Name == "Account" {
			u.Browser.Select(r)
		}
	}
	frames(t, u, inval, "Account described", func() bool { v := u.Browser.View(); return v != nil && len(v.Methods) == 1 })
	v := u.Browser.View()
	if m, _ := v.Method("deposit"); !strings.HasPrefix(m.Source, "function Account:deposit(n)") || v.Chain[0].Name != "Object" || v.Slots[0].Value != "5" {
		t.Fatalf("view %+v", v)
	}

	// A compile error in the editor comes back with its line.
	u.Browser.Edit("deposit")
	u.Browser.Source.SetText("function Account:deposit(n)\n  return n +\nend")
	u.Browser.Accept()
	frames(t, u, inval, "compile error", func() bool { err, _ := u.Browser.Err(); return err != nil })
	if err, line := u.Browser.Err(); line != 3 || !strings.Contains(err.Error(), "CompileError") {
		t.Fatalf("accept error %v at line %d", err, line)
	}
	// Accepting a good definition defines it on the server.
	u.Browser.Source.SetText("function Account:deposit(n) self.balance = self.balance + 2 * n; return self end")
	u.Browser.Accept()
	frames(t, u, inval, "accepted", func() bool {
		res, err := check.Eval(ctx, "Account:clone():deposit(1).balance")
		return err == nil && res.Values[0] == "7"
	})

	// Do-it and print-it run on the server, with what they print.
	u.Workspace.Editor.SetText(`print("from the window"); Lobby.FromGUI = Object:clone(); return 6 * 7`)
	u.Workspace.PrintIt()
	frames(t, u, inval, "print-it", func() bool { return u.Workspace.Last() != nil && !u.Workspace.Running })
	if out := u.Workspace.Last(); out.Result.PrintString() != "42" || out.Result.Transcript != "from the window\n" {
		t.Fatalf("print-it %+v", out.Result)
	}
	if res, err := check.Eval(ctx, "FromGUI ~= nil"); err != nil || res.Values[0] != "true" {
		t.Fatalf("do-it did not commit: %v %v", res, err)
	}
	// ... and the browser shows what the evaluation made.
	frames(t, u, inval, "FromGUI listed", func() bool { return listed(u, "FromGUI") })

	// Another client's commit refreshes the browser (the changed notification).
	if _, err := check.Eval(ctx, "Elsewhere = Object:clone()"); err != nil {
		t.Fatal(err)
	}
	frames(t, u, inval, "Elsewhere listed", func() bool { return listed(u, "Elsewhere") })

	// Errors show as in the local workspace.
	u.Workspace.Editor.SetText("Account:fly()")
	u.Workspace.DoIt()
	frames(t, u, inval, "the notifier", func() bool { _, ok := u.Notifier.Notice(); return ok })
	u.Notifier.Choose(workspace.Abandon)
	frames(t, u, inval, "do-it error", func() bool {
		return u.Workspace.Last() != nil && u.Workspace.Last().Result.Failed() && !u.Workspace.Running
	})
	if e := u.Workspace.Last().Result.Error; !strings.Contains(e, "does not understand fly") || !strings.Contains(e, "traceback:") {
		t.Fatalf("error %q", e)
	}
}

func TestGUIAttachRendersBrowserAndWorkspace(t *testing.T) {
	u, _, inval := attachedForTest(t)
	u.th = browsertest.Theme()
	frames(t, u, inval, "Account listed", func() bool { return listed(u, "Account") })
	var ops op.Ops
	size := image.Pt(1200, 700)
	gtx := layout.Context{Ops: &ops, Metric: unit.Metric{PxPerDp: 1, PxPerSp: 1}, Constraints: layout.Exact(size), Now: time.Now()}
	u.Layout(gtx)
	img := browsertest.Shoot(t, size, &ops)
	browsertest.SavePNG(t, img, "gui_attach.png")
	bg := browsertest.Dominant(browsertest.Colours(img))
	left := image.Rect(0, 0, size.X*2/3, size.Y-40)
	right := image.Rect(size.X*2/3, 0, size.X, size.Y-40)
	status := image.Rect(0, size.Y-30, size.X, size.Y)
	for name, r := range map[string]image.Rectangle{"browser": left, "workspace": right, "status bar": status} {
		if browsertest.Ink(img, r, bg) < 200 {
			t.Errorf("%s drew almost nothing", name)
		}
	}
}
