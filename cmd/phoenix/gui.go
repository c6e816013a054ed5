//go:build cgo

package main

import (
	"context"
	"errors"
	"fmt"
	"image/color"
	"log/slog"
	"os"
	"strings"
	"sync/atomic"

	"gioui.org/app"
	"gioui.org/font/gofont"
	"gioui.org/io/key"
	"gioui.org/io/system"
	"gioui.org/layout"
	"gioui.org/op"
	"gioui.org/op/clip"
	"gioui.org/op/paint"
	"gioui.org/text"
	"gioui.org/unit"
	"gioui.org/widget/material"
	"github.com/spf13/cobra"

	"github.com/phoenix-image/phoenix/bootstrap"
	"github.com/phoenix-image/phoenix/browser"
	"github.com/phoenix-image/phoenix/workspace"
)

func guiCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "gui",
		Short: "Open the Phoenix window: object browser, inspector, workspace, agent chat and approvals",
		Long: `Opens one window on the image: the Image menu (Snapshot, Export,
Import…, Snapshots… with restore as a new image or revert in place), the
object browser on the left, the workspace, inspector and agent chat on the
right with the approvals pane, and a status bar (image, number of objects,
commit state, LLM). Ctrl-Q or closing the window closes the image.
Needs a display ($DISPLAY or $WAYLAND_DISPLAY).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !hasDisplay() {
				return errors.New("no display: $DISPLAY and $WAYLAND_DISPLAY are unset (phoenix repl works without one)")
			}
			return runGUI(cmd.Context(), g)
		},
	}
}

// runDefault is phoenix without a command: the window, or the repl when
// there is no display.
func runDefault(ctx context.Context, g *globals) error {
	if !hasDisplay() {
		fmt.Fprintln(os.Stderr, "phoenix: no display ($DISPLAY and $WAYLAND_DISPLAY are unset); opening the repl instead")
		return runRepl(ctx, g)
	}
	return runGUI(ctx, g)
}

func hasDisplay() bool {
	return os.Getenv("DISPLAY") != "" || os.Getenv("WAYLAND_DISPLAY") != ""
}

// gui is the state of the Phoenix window.
type gui struct {
	path      string
	th        *material.Theme
	loop      *vmLoop
	image     *asyncImage
	Browser   browser.Browser
	Workspace workspace.Workspace
	eval      *asyncEvaluator
	// rightPane draws the right third of the window: the workspace.
	rightPane func(gtx layout.Context) layout.Dimensions
	inspector *inspectorPane // the right pane's Inspector tab (guiinspector.go)
	// quit is called on Ctrl-Q (the window closes itself).
	quit func()
	menu *imageMenu // the Image menu; nil without an image on disk
	desk *desktop   // the notifier and the approvals pane (guidesktop.go)
	// counter counts the image's objects for the status bar; nil without
	// an image on disk.
	counter *objectCounter
	// reopened is set (on the VM's goroutine) when a revert swapped the
	// image; the next frame refreshes what the panes show.
	reopened   atomic.Bool
	invalidate func()
}

func newGUI(path string, loop *vmLoop, invalidate func()) *gui {
	th := material.NewTheme()
	th.Shaper = text.NewShaper(text.WithCollection(gofont.Collection()))
	u := &gui{path: path, th: th, loop: loop, image: newAsyncImage(loop, invalidate), quit: func() {}, invalidate: invalidate}
	u.Browser.Image = u.image
	u.eval = &asyncEvaluator{loop: loop, invalidate: invalidate}
	u.Workspace.Evaluator = u.eval
	u.rightPane = func(gtx layout.Context) layout.Dimensions { return u.Workspace.Layout(gtx, u.th) }
	u.inspector = newInspectorPane(u)
	u.rightPane = u.inspector.Layout // the workspace, with the Inspector as a second tab
	return u
}

// Status is the status bar's text: the image's path, its number of
// objects (records counted in the background; the Lobby's globals
// without an image on disk), the commit state and the LLM's state, then
// the last Image menu action's outcome.
func (u *gui) Status() string {
	objects := "… objects"
	if n := u.counter.Count(); n >= 0 {
		objects = fmt.Sprintf("%d objects", n)
	} else if n := u.image.Objects(); n >= 0 && u.counter == nil {
		objects = fmt.Sprintf("%d globals", n)
	}
	state := "all committed"
	switch {
	case u.eval.Running():
		state = "evaluating (not yet committed)"
	case u.eval.RolledBack():
		state = "last evaluation rolled back"
	}
	llm := "no LLM"
	if u.menu != nil {
		llm = u.menu.LLM()
	}
	if u.inspector.Chat.Running() {
		llm += ": working"
	} else if u.menu != nil && u.menu.model != "" {
		llm += ": idle"
	}
	parts := []string{u.path, objects, state, llm}
	if u.menu != nil {
		if st := u.menu.Status(); st != "" {
			parts = append(parts, st)
		}
	}
	return strings.Join(parts, "   ·   ")
}

var statusBg = color.NRGBA{R: 0xe8, G: 0xec, B: 0xf4, A: 0xff}

// Layout draws one frame: browser (two thirds), right pane, status bar.
func (u *gui) Layout(gtx layout.Context) layout.Dimensions {
	for {
		ev, ok := gtx.Event(key.Filter{Name: "Q", Required: key.ModShortcut})
		if !ok {
			break
		}
		if e, ok := ev.(key.Event); ok && e.State == key.Press {
			u.quit()
		}
	}
	defer u.layoutDesktop(gtx) // drawn on top
	if u.reopened.Swap(false) {
		u.Browser.Refresh()
		u.inspector.Refresh()
		if u.desk != nil {
			u.desk.Approvals.Refresh()
		}
	}
	if u.eval.TakeChanged() {
		u.Browser.Refresh() // a do-it may have changed what the browser shows
		u.inspector.Refresh()
		if !u.eval.RolledBack() { // a rolled-back evaluation changed no records
			u.counter.Recount()
		}
	}
	paint.FillShape(gtx.Ops, u.th.Bg, clip.Rect{Max: gtx.Constraints.Max}.Op())
	return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
		layout.Rigid(func(gtx layout.Context) layout.Dimensions {
			if u.menu == nil {
				return layout.Dimensions{}
			}
			return u.menu.Layout(gtx, u.th)
		}),
		layout.Flexed(1, func(gtx layout.Context) layout.Dimensions {
			return layout.Flex{Axis: layout.Horizontal}.Layout(gtx,
				layout.Flexed(2.0/3, func(gtx layout.Context) layout.Dimensions {
					gtx.Constraints.Min = gtx.Constraints.Max
					return u.Browser.Layout(gtx, u.th)
				}),
				layout.Flexed(1.0/3, func(gtx layout.Context) layout.Dimensions {
					gtx.Constraints.Min = gtx.Constraints.Max
					return u.rightPane(gtx)
				}),
			)
		}),
		layout.Rigid(func(gtx layout.Context) layout.Dimensions {
			return layout.Background{}.Layout(gtx,
				func(gtx layout.Context) layout.Dimensions {
					paint.FillShape(gtx.Ops, statusBg, clip.Rect{Max: gtx.Constraints.Min}.Op())
					return layout.Dimensions{Size: gtx.Constraints.Min}
				},
				func(gtx layout.Context) layout.Dimensions {
					gtx.Constraints.Min.X = gtx.Constraints.Max.X
					return layout.UniformInset(unit.Dp(4)).Layout(gtx, material.Body2(u.th, u.Status()).Layout)
				})
		}),
	)
}

// runGUI opens the image and runs its window until it is closed, then
// closes the image. The VM belongs to the vmLoop's goroutine meanwhile.
func runGUI(ctx context.Context, g *globals) error {
	s, err := g.openWithAgent(ctx)
	if err != nil {
		return err
	}
	w := new(app.Window)
	loop := newVMLoop(s.VM)
	u := newGUI(s.Path, loop, w.Invalidate)
	u.quit = func() { w.Perform(system.ActionClose) }
	u.menu = newImageMenu(loop, s.Image, s.Path, llmModel(g), w.Invalidate)
	u.attachDesktop(g.resolver, s.Image, w.Invalidate)
	u.attachChat(g.resolver, w.Invalidate)              // the right pane's Chat tab (guichat.go)
	u.counter = newObjectCounter(s.Image, w.Invalidate) // counts after the first frame
	u.attachReopen(s, func(path string) (*bootstrap.Session, error) { return reopenWithAgent(g, path) }, g.resolver)
	w.Option(app.Title("Phoenix — "+s.Path), app.Size(unit.Dp(1280), unit.Dp(800)))

	stop := make(chan struct{})
	defer close(stop)
	go func() {
		select {
		case <-ctx.Done(): // Ctrl-C in the terminal
			w.Perform(system.ActionClose)
		case <-stop:
		}
	}()

	// On Linux app.Main only blocks forever; the window's events are
	// handled here, on the command's goroutine, so that the command returns
	// and main's cleanup runs when the window closes.
	var ops op.Ops
	drawn := false
	for {
		switch e := w.Event().(type) {
		case app.DestroyEvent:
			loop.Close()
			u.counter.Wait()
			werr := e.Err
			if drawn && werr != nil {
				// Gio sometimes reports a failed Wayland connection
				// while closing a window that X11 drew fine.
				slog.Debug("window closed with an error after drawing", "err", werr)
				werr = nil
			}
			return errors.Join(werr, s.Close())
		case app.FrameEvent:
			gtx := app.NewContext(&ops, e)
			u.Layout(gtx)
			e.Frame(gtx.Ops)
			if !drawn {
				u.counter.Recount() // a scan of the image, off the UI and VM goroutines
			}
			drawn = true
			reportFirstFrame() // with $PHOENIX_FIRST_FRAME set
		}
	}
}
