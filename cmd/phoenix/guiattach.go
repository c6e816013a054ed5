//go:build cgo

package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"sync"
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

	"github.com/phoenix-image/phoenix/browser"
	"github.com/phoenix-image/phoenix/kernelhost/remote"
	"github.com/phoenix-image/phoenix/vm"
	"github.com/phoenix-image/phoenix/workspace"
)

// The GUI on a remote image (phoenix gui --attach ADDR --token-file F).
//
// What is remote: the object browser's tree (browse), its middle pane
// (mirror), accepting a method (define) and its editing tools (history,
// revert, senders, implementors, new/remove object, add/remove slot,
// traits, remove method: guiattach_edit.go), the workspace's do-it,
// print-it and inspect-it (eval) with what the image printed meanwhile,
// the Inspector (inspect, eval with self: guiattach_inspect.go), the
// approvals pane with its alternatives, pick and rating (approvals.*:
// guiattach_approvals.go), the not-understood notifier after a failed
// do-it (guiattach_notifier.go), the Image menu's snapshot, export,
// snapshot list and restore as a new image (image.*: guiattach_menu.go),
// the agent's chat, run by the server's agent (chat.*: guiattach_chat.go),
// and the refresh of them all when any client commits (the "changed"
// notification). What is not (yet): the Image menu's import and revert:
// the window leaves them out rather than pretend.

// addGUIAttach gives root's gui command --attach and --token-file: with
// --attach the window opens on a remote image. (Done here rather than in
// gui.go so that the local window's code stays as it is.)
func addGUIAttach(root *cobra.Command) {
	for _, c := range root.Commands() {
		if c.Name() != "gui" || c.RunE == nil {
			continue
		}
		f := &attachFlags{}
		addAttachFlags(c, f)
		local := c.RunE
		c.RunE = func(cmd *cobra.Command, args []string) error {
			if f.addr == "" {
				return local(cmd, args)
			}
			if !hasDisplay() {
				return errors.New("no display: $DISPLAY and $WAYLAND_DISPLAY are unset (phoenix attach is the repl on a remote image)")
			}
			return runGUIAttach(cmd.Context(), *f)
		}
	}
}

// runGUIAttach opens the window on a remote image.
func runGUIAttach(ctx context.Context, f attachFlags) error {
	if f.tokenFile == "" {
		return errors.New("gui --attach needs --token-file (the token 'phoenix serve' wrote)")
	}
	token, err := remote.ReadToken(f.tokenFile)
	if err != nil {
		return err
	}
	w := new(app.Window)
	u := newAttachedGUI(w.Invalidate)
	c, err := remote.Dial(ctx, f.addr, token, remote.ClientOptions{Name: "phoenix gui", Notify: u.notify})
	if err != nil {
		return fmt.Errorf("gui --attach %s: %w", f.addr, err)
	}
	defer c.Close()
	u.connect(c, f.addr)
	u.quit = func() { w.Perform(system.ActionClose) }
	w.Option(app.Title("Phoenix — "+c.Server.Image+" at "+f.addr), app.Size(unit.Dp(1280), unit.Dp(800)))
	go func() {
		select {
		case <-ctx.Done():
		case <-c.Done():
			w.Invalidate() // show the lost connection
			return
		}
		w.Perform(system.ActionClose)
	}()
	var ops op.Ops
	for {
		switch e := w.Event().(type) {
		case app.DestroyEvent:
			if e.Err != nil {
				slog.Debug("window closed with an error", "err", e.Err)
			}
			return nil
		case app.FrameEvent:
			gtx := app.NewContext(&ops, e)
			u.Layout(gtx)
			e.Frame(gtx.Ops)
			reportFirstFrame()
		}
	}
}

// attachedGUI is the window's state over a remote image.
type attachedGUI struct {
	th               *material.Theme
	invalidate       func()
	quit             func()
	client           *remote.Client
	addr             string
	image            *remoteImage
	eval             *remoteEvaluator
	chat             *remoteChat            // the server's agent; nil: the server has no chat.*
	askChat          atomic.Pointer[string] // a request for the chat from the notifier's "Ask the agent"
	Browser          browser.Browser
	Workspace        workspace.Workspace
	Pane             attachedPane        // the workspace and the Inspector (guiattach_pane.go)
	Approvals        workspace.Approvals // the server's queue (guiattach_approvals.go)
	Notifier         workspace.Notifier  // a do-it's message not understood (guiattach_notifier.go)
	Menu             attachedMenu        // the Image menu on the server (guiattach_menu.go); shown when the server has it
	changed          atomic.Bool
	approvalsChanged atomic.Bool // the server's pending approvals changed without a commit         // a commit was notified since the last frame
}

func newAttachedGUI(invalidate func()) *attachedGUI {
	th := material.NewTheme()
	th.Shaper = text.NewShaper(text.WithCollection(gofont.Collection()))
	return &attachedGUI{th: th, invalidate: invalidate, quit: func() {}}
}

// connect wires the browser and the workspace to c.
func (u *attachedGUI) connect(c *remote.Client, addr string) {
	u.client, u.addr = c, addr
	u.image = &remoteImage{c: c, invalidate: u.invalidate}
	u.eval = &remoteEvaluator{c: c, invalidate: u.invalidate, notifier: &u.Notifier}
	if hasMethod(c, remote.MethodInspect) {
		// eval's ref and self came with inspect: an older server refuses
		// them, so its window has no Inspector.
		u.eval.refs = u.image
		u.Pane.Inspector.Image = u.image
	}
	u.Notifier.Invalidate = u.invalidate
	u.Browser.Image = u.image
	u.Workspace.Evaluator = u.eval
	u.Approvals.Invalidate = u.invalidate
	u.Menu.c, u.Menu.invalidate = c, u.invalidate
	if hasMethod(c, remote.MethodChatSend) {
		u.chat = &remoteChat{c: c, invalidate: u.invalidate}
		u.Pane.Chat.Engine = u.chat
		// An object named in the chat opens in the Inspector.
		u.Pane.Chat.Known = func(name string) bool { ref, ok := u.Browser.Global(name); return ok && ref.OID != 0 }
		u.eval.askAgent = func(request string) bool {
			if u.chat.Running() {
				return false
			}
			u.askChat.Store(&request) // sent by the next frame, on the UI goroutine
			u.invalidate()
			return true
		}
		u.Pane.Chat.Inspect = func(name string) {
			if ref, ok := u.Browser.Global(name); ok && ref.OID != 0 {
				u.Pane.Open(browser.ValueRef{OID: ref.OID}, name)
			}
		}
	}
	if hasMethod(c, remote.MethodApprovals) {
		u.Approvals.Queue = remoteQueue{u.image}
		if hasMethod(c, remote.MethodRate) {
			u.Approvals.Queue = remotePrefQueue{remoteQueue{u.image}}
		}
	}
}

// notify takes the server's notifications (on the client's reader
// goroutine).
func (u *attachedGUI) notify(n remote.Notification) {
	switch n.Method {
	case remote.NotifyTranscript:
		if t, ok := n.Transcript(); ok && u.eval != nil {
			u.eval.transcript(t.Text)
		}
	case remote.NotifyChatEvent:
		if e, ok := n.ChatEvent(); ok && u.chat != nil {
			u.chat.event(e)
		}
	case remote.NotifyApprovals:
		u.approvalsChanged.Store(true)
		u.invalidate()
	case remote.NotifyChanged:
		if u.image != nil {
			u.image.Changed()
		}
		u.changed.Store(true)
		u.invalidate()
	}
}

// Status is the status bar's text.
func (u *attachedGUI) Status() string {
	state := "idle"
	if u.eval.Busy() {
		state = "evaluating"
	} else if u.chat != nil && u.chat.Running() {
		state = "the server's agent is working"
	}
	select {
	case <-u.client.Done():
		state = "disconnected: " + u.client.Err().Error()
	default:
	}
	objects := "… objects"
	if n := u.image.Objects(); n >= 0 {
		objects = fmt.Sprintf("%d objects", n)
	}
	return fmt.Sprintf("%s (remote, %s)   ·   %s   ·   %s", u.client.Server.Image, u.addr, objects, state)
}

// Layout draws one frame: browser (two thirds), workspace, status bar.
func (u *attachedGUI) Layout(gtx layout.Context) layout.Dimensions {
	for {
		ev, ok := gtx.Event(key.Filter{Name: "Q", Required: key.ModShortcut})
		if !ok {
			break
		}
		if e, ok := ev.(key.Event); ok && e.State == key.Press {
			u.quit()
		}
	}
	if u.approvalsChanged.Swap(false) {
		u.image.Changed() // an answer to a List in flight is stale
		u.Approvals.Refresh()
	}
	if u.changed.Swap(false) || u.eval.TakeChanged() {
		u.Browser.Refresh()
		u.Pane.Inspector.Refresh()
		u.Approvals.Refresh()
	}
	if req := u.askChat.Swap(nil); req != nil {
		u.Pane.Chat.Send(*req)
		u.Pane.showChat = true
	}
	if req, ok := u.Notifier.TakeImplementRequest(); ok {
		req.OpenIn(&u.Browser)
		u.invalidate()
	}
	paint.FillShape(gtx.Ops, u.th.Bg, clip.Rect{Max: gtx.Constraints.Max}.Op())
	dims := layout.Flex{Axis: layout.Vertical}.Layout(gtx,
		layout.Rigid(func(gtx layout.Context) layout.Dimensions {
			if !hasMethod(u.client, remote.MethodSnapshot) {
				return layout.Dimensions{}
			}
			return u.Menu.Layout(gtx, u.th)
		}),
		layout.Flexed(1, func(gtx layout.Context) layout.Dimensions {
			return layout.Flex{Axis: layout.Horizontal}.Layout(gtx,
				layout.Flexed(2.0/3, func(gtx layout.Context) layout.Dimensions {
					gtx.Constraints.Min = gtx.Constraints.Max
					return u.Browser.Layout(gtx, u.th)
				}),
				layout.Flexed(1.0/3, func(gtx layout.Context) layout.Dimensions {
					gtx.Constraints.Min = gtx.Constraints.Max
					return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
						layout.Flexed(0.6, func(gtx layout.Context) layout.Dimensions {
							gtx.Constraints.Min = gtx.Constraints.Max
							return u.layoutPane(gtx)
						}),
						layout.Flexed(0.4, func(gtx layout.Context) layout.Dimensions {
							gtx.Constraints.Min = gtx.Constraints.Max
							return u.Approvals.Layout(gtx, u.th)
						}),
					)
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
	u.Notifier.Layout(gtx, u.th) // on top, while a notice waits
	return dims
}

// remoteImage implements browser.Image over a client, asynchronously: a
// question is sent once per distinct arguments, answered ErrPending until
// the response has arrived (then the window is invalidated), and the next
// identical question takes the answer.
type remoteImage struct {
	c          *remote.Client
	invalidate func()

	mu        sync.Mutex
	gen       uint64 // counts the image's changes (Changed)
	globals   *rAnswer[[]browser.ObjectRef]
	children  map[browser.ObjectRef]*rAnswer[[]browser.ObjectRef]
	describes map[browser.ObjectRef]*rAnswer[browser.ObjectView]
	accepts   map[acceptKey]*rAnswer[struct{}]
	inspects  map[browser.ValueRef]*rAnswer[browser.InspectView]
	sets      map[remoteSetKey]*rAnswer[struct{}]
	evalIns   map[remoteEvalInKey]*rAnswer[string]
	approvals *rAnswer[[]workspace.ProposalView]
	decides   map[decideKey]*rAnswer[struct{}]
	alts      map[altKey]*rAnswer[[]workspace.AlternativeView]
	edits     map[string]*rAnswer[struct{}] // the browser's changes (guiattach_edit.go)
	histories map[string]*rAnswer[[]browser.Change]
	senders   map[string]*rAnswer[[]browser.MethodRef]
	impls     map[string]*rAnswer[[]browser.ObjectRef]
	handleOf  map[string]int // protocol path → the inspector's handle
	pathOf    map[int]string
	objects   int
	counted   bool
}

// rAnswer is an answer and the image's generation when it was asked.
type rAnswer[T any] struct {
	done bool
	val  T
	err  error
	gen  uint64
}

// Changed says that the image changed: answers to questions asked
// before are stale, and asking again asks the server again. (Another
// client may commit while a question is in flight.)
func (r *remoteImage) Changed() {
	r.mu.Lock()
	r.gen++
	r.mu.Unlock()
}

var _ browser.Image = (*remoteImage)(nil)

// Objects is the number of globals of the last Globals answer, or -1.
func (r *remoteImage) Objects() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.counted {
		return -1
	}
	return r.objects
}

// remoteAsk returns the answer in *slot, or starts run to fill it and
// returns ErrPending. A question's answer that predates a change of the
// image is dropped and the question asked again, unless it is a change
// itself (change). r.mu is held by the caller.
func remoteAsk[T any](r *remoteImage, slot **rAnswer[T], change bool, run func() (T, error)) (T, error) {
	var zero T
	if ans := *slot; ans != nil {
		if !ans.done {
			return zero, browser.ErrPending
		}
		*slot = nil
		if change || ans.gen == r.gen {
			return ans.val, ans.err
		}
	}
	ans := &rAnswer[T]{gen: r.gen}
	*slot = ans
	go func() {
		val, err := run()
		r.mu.Lock()
		ans.val, ans.err, ans.done = val, err, true
		r.mu.Unlock()
		r.invalidate()
	}()
	return zero, browser.ErrPending
}

func remoteKeyed[K comparable, T any](r *remoteImage, m *map[K]*rAnswer[T], k K, change bool, run func() (T, error)) (T, error) {
	if *m == nil {
		*m = map[K]*rAnswer[T]{}
	}
	slot := (*m)[k]
	val, err := remoteAsk(r, &slot, change, run)
	if slot == nil {
		delete(*m, k)
	} else {
		(*m)[k] = slot
	}
	return val, err
}

var pathRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$`)

// remotePath is the protocol's path for ref: its name when that is a path
// (a global, "Account.owner"), else its OID.
func remotePath(ref browser.ObjectRef) string {
	if ref.Name != "" && pathRE.MatchString(ref.Name) {
		return ref.Name
	}
	if ref.OID != 0 {
		return "#" + strconv.FormatUint(uint64(ref.OID), 10)
	}
	return ref.Name
}

func browserRef(o remote.ObjectRef) browser.ObjectRef {
	return browser.ObjectRef{OID: vm.OID(o.OID), Name: o.Name, Kind: o.Kind, Proto: o.Proto, Slot: o.Slot}
}

func browserRefs(os []remote.ObjectRef) []browser.ObjectRef {
	out := make([]browser.ObjectRef, 0, len(os))
	for _, o := range os {
		out = append(out, browserRef(o))
	}
	return out
}

// Globals implements browser.Image.
func (r *remoteImage) Globals() ([]browser.ObjectRef, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return remoteAsk(r, &r.globals, false, func() ([]browser.ObjectRef, error) {
		res, err := r.c.Browse(context.Background(), "")
		if err != nil {
			return nil, err
		}
		r.mu.Lock()
		r.objects, r.counted = len(res.Objects), true
		r.mu.Unlock()
		return browserRefs(res.Objects), nil
	})
}

// Children implements browser.Image.
func (r *remoteImage) Children(ref browser.ObjectRef) ([]browser.ObjectRef, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return remoteKeyed(r, &r.children, ref, false, func() ([]browser.ObjectRef, error) {
		res, err := r.c.Browse(context.Background(), remotePath(ref))
		if err != nil {
			return nil, err
		}
		return browserRefs(res.Objects), nil
	})
}

// Describe implements browser.Image through the server's mirror.
func (r *remoteImage) Describe(ref browser.ObjectRef) (browser.ObjectView, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return remoteKeyed(r, &r.describes, ref, false, func() (browser.ObjectView, error) {
		m, err := r.c.Mirror(context.Background(), remotePath(ref))
		if err != nil {
			return browser.ObjectView{}, err
		}
		view := browser.ObjectView{Ref: browserRef(m.Ref), Chain: browserRefs(m.Chain), Traits: browserRefs(m.Traits)}
		if ref.Name != "" {
			view.Ref.Name = ref.Name
		}
		for _, s := range m.Slots {
			view.Slots = append(view.Slots, browser.SlotView{Name: s.Name, Value: s.Value})
		}
		for i, sel := range m.Methods {
			mv := browser.MethodView{Selector: sel}
			if i < len(m.Sources) {
				mv.Source = m.Sources[i]
			}
			view.Methods = append(view.Methods, mv)
		}
		for _, c := range m.Conflicts {
			view.Conflicts = append(view.Conflicts, browser.Conflict{Selector: c.Selector, Traits: c.Traits})
		}
		return view, nil
	})
}

// Accept implements browser.Image: define on the server, one transaction.
// A compile error comes back as a *vm.Error with its line, as the browser
// expects.
func (r *remoteImage) Accept(ref browser.ObjectRef, selector, source string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, err := remoteKeyed(r, &r.accepts, acceptKey{ref, selector, source}, true, func() (struct{}, error) {
		_, err := r.c.Define(context.Background(), remotePath(ref), selector, source)
		return struct{}{}, asVMError(err)
	})
	return err
}

// asVMError turns a remote evaluation error into the *vm.Error the
// browser and workspace know (kind, message, line, traceback).
func asVMError(err error) error {
	var re *remote.Error
	if !errors.As(err, &re) {
		return err
	}
	d, ok := re.Detail()
	if !ok {
		return err
	}
	return &vm.Error{Kind: d.Kind, Message: d.Message, Line: d.Line, Incomplete: d.Incomplete, Receiver: d.Receiver, Selector: d.Selector}
}

// remoteEvaluator implements workspace.Evaluator over a client: do-it and
// print-it are remote evaluations (one transaction each on the server).
// What the image prints while an evaluation runs is its Transcript (on a
// shared server that may include another client's output). Stop cancels
// the request: the server interrupts the evaluation, which rolls back.
type remoteEvaluator struct {
	c          *remote.Client
	invalidate func()
	refs       *remoteImage              // numbers results for the inspector (nil: none)
	notifier   *workspace.Notifier       // asked about a message not understood (nil: none)
	askAgent   func(request string) bool // "Ask the agent" sends request in the Chat tab (nil: no chat); false: a turn runs

	mu      sync.Mutex
	src     string
	running bool
	done    *workspace.EvalResult
	cancel  context.CancelFunc
	changed bool
	printed strings.Builder // transcript of the running evaluation
}

var _ workspace.Stopper = (*remoteEvaluator)(nil)

func (e *remoteEvaluator) transcript(s string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.running {
		e.printed.WriteString(s)
	}
}

// Eval implements workspace.Evaluator.
func (e *remoteEvaluator) Eval(src string) (workspace.EvalResult, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.done != nil && e.src == src {
		r := *e.done
		e.done = nil
		return r, nil
	}
	if e.running {
		return workspace.EvalResult{}, workspace.ErrPending
	}
	ctx, cancel := context.WithCancel(context.Background())
	e.src, e.running, e.done, e.cancel = src, true, nil, cancel
	e.printed.Reset()
	go func() {
		res, err := e.c.EvalWith(ctx, remote.EvalParams{Code: src, Ref: e.refs != nil})
		cancel()
		var r workspace.EvalResult
		switch {
		case err == nil:
			r.Values = res.Values
			if e.refs != nil {
				r.Ref = e.refs.handle(res.Ref)
			}
		case errors.Is(err, context.Canceled):
			r.Error = "Interrupted: evaluation interrupted and rolled back"
		default:
			r.Error = err.Error()
			var re *remote.Error
			if errors.As(err, &re) {
				if d, ok := re.Detail(); ok {
					r.Error = d.Detail
					if d.Kind == "MessageNotUnderstood" && e.notifier != nil {
						r.Error = e.notUnderstood(d)
					}
				}
			}
		}
		e.mu.Lock()
		r.Transcript = e.printed.String()
		e.done, e.running, e.changed = &r, false, true
		e.mu.Unlock()
		e.invalidate()
	}()
	return workspace.EvalResult{}, workspace.ErrPending
}

// Stop implements workspace.Stopper.
func (e *remoteEvaluator) Stop() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.cancel != nil {
		e.cancel()
	}
}

// Busy reports whether an evaluation is running.
func (e *remoteEvaluator) Busy() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.running
}

// TakeChanged reports (once) that an evaluation finished.
func (e *remoteEvaluator) TakeChanged() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	c := e.changed
	e.changed = false
	return c
}
