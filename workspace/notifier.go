package workspace

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"strings"
	"sync"

	"gioui.org/io/event"
	"gioui.org/io/pointer"
	"gioui.org/layout"
	"gioui.org/op/clip"
	"gioui.org/op/paint"
	"gioui.org/unit"
	"gioui.org/widget"
	"gioui.org/widget/material"
	lua "github.com/yuin/gopher-lua"

	"github.com/phoenix-image/phoenix/browser"
	"github.com/phoenix-image/phoenix/vm"
)

// Notice describes a message not understood during an evaluation in the
// workspace, as plain text built on the VM's goroutine.
type Notice struct {
	Receiver  string   // the receiver's printString
	Target    string   // the receiver or its nearest named prototype: who would get the method
	Selector  string   // the message
	Args      []string // printStrings of the arguments
	Traceback string   // where it was sent, innermost frame first
}

// Skeleton is the method a person starts from with "Implement it myself":
// `function Target:selector(a, b)` with one parameter per argument.
func (n Notice) Skeleton() string {
	params := make([]string, len(n.Args))
	for i := range params {
		params[i] = paramName(i)
	}
	return fmt.Sprintf("function %s:%s(%s)\n  \nend", n.Target, n.Selector, strings.Join(params, ", "))
}

// paramName is a, b, …, z, then a1, b1, ….
func paramName(i int) string {
	s := string(rune('a' + i%26))
	if i >= 26 {
		s += fmt.Sprint(i / 26)
	}
	return s
}

// Choice is what a person chose on the notifier.
type Choice uint8

const (
	NoChoice    Choice = iota
	AskAgent           // let the agent propose the method
	ImplementIt        // open the editor on a skeleton; the evaluation fails
	Abandon            // the evaluation fails with MessageNotUnderstood
)

func (c Choice) String() string {
	switch c {
	case AskAgent:
		return "Ask the agent"
	case ImplementIt:
		return "Implement it myself"
	case Abandon:
		return "Abandon"
	}
	return "no choice"
}

// ImplementRequest asks the window to open the browser's editor on a new
// method of Target.
type ImplementRequest struct {
	Target   string
	Selector string
	Source   string
}

// OpenIn selects the target in b and puts the skeleton in its editor.
func (r ImplementRequest) OpenIn(b *browser.Browser) {
	b.Open(browser.ObjectRef{Name: r.Target}, r.Selector, r.Source)
}

// Notifier is the state of the not-understood notifier. NotifierHook posts
// a Notice from the VM's goroutine and waits; Layout shows it with its
// three buttons, and a click (or Choose) answers it. All methods but
// Layout are safe to call from any goroutine.
type Notifier struct {
	// Invalidate wakes the window when a notice arrives or goes away.
	Invalidate func()

	AskButton       widget.Clickable
	ImplementButton widget.Clickable
	AbandonButton   widget.Clickable
	Trace           widget.List

	mu        sync.Mutex
	notice    *Notice
	reply     chan Choice
	implement *ImplementRequest
}

// Notice returns the notice waiting for a choice, if any.
func (n *Notifier) Notice() (Notice, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.notice == nil {
		return Notice{}, false
	}
	return *n.notice, true
}

// Choose answers the waiting notice; it does nothing if none waits.
func (n *Notifier) Choose(c Choice) {
	n.mu.Lock()
	if n.notice == nil || c == NoChoice {
		n.mu.Unlock()
		return
	}
	if c == ImplementIt {
		n.implement = &ImplementRequest{Target: n.notice.Target, Selector: n.notice.Selector, Source: n.notice.Skeleton()}
	}
	n.reply <- c // buffered: never blocks
	n.notice, n.reply = nil, nil
	n.mu.Unlock()
	n.invalidate()
}

// TakeImplementRequest returns (once) the request made by the last
// "Implement it myself", for the window to open the browser's editor.
func (n *Notifier) TakeImplementRequest() (ImplementRequest, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.implement == nil {
		return ImplementRequest{}, false
	}
	r := *n.implement
	n.implement = nil
	return r, true
}

func (n *Notifier) invalidate() {
	if n.Invalidate != nil {
		n.Invalidate()
	}
}

// Ask shows notice and blocks until a person chooses or ctx is done (Stop,
// the budget), in which case the notice goes away and ctx's error is
// returned. It is called on the VM's goroutine; one notice at a time.
func (n *Notifier) Ask(ctx context.Context, notice Notice) (Choice, error) {
	ch := make(chan Choice, 1)
	n.mu.Lock()
	if n.notice != nil {
		n.mu.Unlock()
		return NoChoice, fmt.Errorf("another message not understood is waiting for a choice")
	}
	n.notice, n.reply = &notice, ch
	n.mu.Unlock()
	n.invalidate()
	select {
	case c := <-ch:
		return c, nil
	case <-ctx.Done():
		n.mu.Lock()
		if n.reply == ch {
			n.notice, n.reply = nil, nil
		}
		n.mu.Unlock()
		n.invalidate()
		select {
		case c := <-ch: // chosen just before the cancellation
			return c, nil
		default:
		}
		return NoChoice, ctx.Err()
	}
}

var (
	noticeBg     = color.NRGBA{R: 0xff, G: 0xf6, B: 0xe0, A: 0xff}
	noticeBorder = color.NRGBA{R: 0xc0, G: 0x80, B: 0x20, A: 0xff}
	scrim        = color.NRGBA{A: 0x60}
)

// Layout handles the clicks of the previous frame and, while a notice
// waits, draws it as a modal card centred on a dimmed window. With no
// notice it draws nothing.
func (n *Notifier) Layout(gtx layout.Context, th *material.Theme) layout.Dimensions {
	for c, b := range map[Choice]*widget.Clickable{AskAgent: &n.AskButton, ImplementIt: &n.ImplementButton, Abandon: &n.AbandonButton} {
		if b.Clicked(gtx) {
			n.Choose(c)
		}
	}
	notice, ok := n.Notice()
	if !ok {
		return layout.Dimensions{}
	}
	size := gtx.Constraints.Max
	paint.FillShape(gtx.Ops, scrim, clip.Rect{Max: size}.Op())
	// The notice is modal: the scrim takes the pointer from what is under it.
	area := clip.Rect{Max: size}.Push(gtx.Ops)
	event.Op(gtx.Ops, &n.mu)
	for {
		if _, ok := gtx.Event(pointer.Filter{Target: &n.mu, Kinds: pointer.Press | pointer.Release | pointer.Move | pointer.Drag | pointer.Scroll,
			ScrollX: pointer.ScrollRange{Min: -1e6, Max: 1e6}, ScrollY: pointer.ScrollRange{Min: -1e6, Max: 1e6}}); !ok {
			break
		}
	}
	area.Pop()
	gtx.Constraints.Min = size
	return layout.Center.Layout(gtx, func(gtx layout.Context) layout.Dimensions {
		gtx.Constraints.Max.X = min(gtx.Constraints.Max.X, gtx.Dp(unit.Dp(560)))
		gtx.Constraints.Max.Y = min(gtx.Constraints.Max.Y, gtx.Dp(unit.Dp(420)))
		gtx.Constraints.Min = gtx.Constraints.Max
		return card(gtx, noticeBg, noticeBorder, func(gtx layout.Context) layout.Dimensions {
			return n.layoutNotice(gtx, th, notice)
		})
	})
}

// card draws w on bg inside a border, as large as w.
func card(gtx layout.Context, bg, border color.NRGBA, w layout.Widget) layout.Dimensions {
	return layout.Stack{}.Layout(gtx,
		layout.Expanded(func(gtx layout.Context) layout.Dimensions {
			sz := gtx.Constraints.Min
			paint.FillShape(gtx.Ops, border, clip.Rect{Max: sz}.Op())
			paint.FillShape(gtx.Ops, bg, clip.Rect{Min: image.Pt(2, 2), Max: sz.Sub(image.Pt(2, 2))}.Op())
			return layout.Dimensions{Size: sz}
		}),
		layout.Stacked(func(gtx layout.Context) layout.Dimensions {
			return layout.UniformInset(unit.Dp(10)).Layout(gtx, w)
		}),
	)
}

func (n *Notifier) layoutNotice(gtx layout.Context, th *material.Theme, notice Notice) layout.Dimensions {
	args := "no arguments"
	if len(notice.Args) > 0 {
		args = "arguments: " + strings.Join(notice.Args, ", ")
	}
	trace := strings.Split(notice.Traceback, "\n")
	n.Trace.Axis = layout.Vertical
	return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
		layout.Rigid(material.H6(th, "Message not understood").Layout),
		layout.Rigid(layout.Spacer{Height: unit.Dp(6)}.Layout),
		layout.Rigid(material.Body1(th, notice.Receiver+" does not understand "+notice.Selector).Layout),
		layout.Rigid(material.Body2(th, "receiver: "+notice.Receiver+" (methods go to "+notice.Target+")").Layout),
		layout.Rigid(material.Body2(th, "selector: "+notice.Selector).Layout),
		layout.Rigid(material.Body2(th, args).Layout),
		layout.Rigid(layout.Spacer{Height: unit.Dp(6)}.Layout),
		layout.Rigid(material.Body2(th, "traceback:").Layout),
		layout.Flexed(1, func(gtx layout.Context) layout.Dimensions {
			return material.List(th, &n.Trace).Layout(gtx, len(trace), func(gtx layout.Context, i int) layout.Dimensions {
				l := material.Caption(th, "  "+trace[i])
				l.Font.Typeface = "Go Mono"
				return l.Layout(gtx)
			})
		}),
		layout.Rigid(layout.Spacer{Height: unit.Dp(8)}.Layout),
		layout.Rigid(func(gtx layout.Context) layout.Dimensions {
			return layout.Flex{Spacing: layout.SpaceStart}.Layout(gtx,
				layout.Rigid(material.Button(th, &n.AskButton, "Ask the agent").Layout),
				layout.Rigid(layout.Spacer{Width: unit.Dp(8)}.Layout),
				layout.Rigid(material.Button(th, &n.ImplementButton, "Implement it myself").Layout),
				layout.Rigid(layout.Spacer{Width: unit.Dp(8)}.Layout),
				layout.Rigid(material.Button(th, &n.AbandonButton, "Abandon").Layout),
			)
		}),
	)
}

// NotifierHook is the vm.NotUnderstood the GUI installs: for a message not
// understood during a workspace evaluation (see Interactive) it shows a
// Notice on Notifier and waits for the person's choice, delegating "Ask the
// agent" to Agent. Elsewhere (the browser's printStrings, say) it
// delegates to Agent directly.
type NotifierHook struct {
	Notifier *Notifier
	Agent    vm.NotUnderstood // nil: no agent; "Ask the agent" says so

	inside bool // a notice is up (the hook runs on the VM's goroutine only)
}

var _ vm.NotUnderstood = (*NotifierHook)(nil)

// Reasons an evaluation fails with, after the MessageNotUnderstood.
const (
	ReasonImplement = "left to implement"
	ReasonAbandoned = "abandoned"
)

// Resolve implements vm.NotUnderstood.
func (h *NotifierHook) Resolve(ctx context.Context, v *vm.VM, req *vm.DNURequest) (bool, string, error) {
	if h.Notifier == nil || h.inside || !IsInteractive(ctx) {
		if h.Agent == nil {
			return false, "", nil
		}
		return h.Agent.Resolve(ctx, v, req)
	}
	h.inside = true
	notice := NoticeOf(v, req) // may send printString, which may not be understood either
	c, err := h.Notifier.Ask(ctx, notice)
	h.inside = false
	if err != nil {
		return false, "the notifier was dismissed: " + err.Error(), nil
	}
	switch c {
	case AskAgent:
		if h.Agent == nil {
			return false, "no agent is attached", nil
		}
		return h.Agent.Resolve(ctx, v, req)
	case ImplementIt:
		return false, ReasonImplement, nil
	}
	return false, ReasonAbandoned, nil
}

// NoticeOf describes req; it runs on the VM's goroutine, inside the
// evaluation.
func NoticeOf(v *vm.VM, req *vm.DNURequest) Notice {
	n := Notice{Selector: req.Selector, Receiver: printString(v, req.Receiver.T())}
	for p := req.Receiver; p != nil; p = p.Proto() {
		if p.Name() != "" {
			n.Target = p.Name()
			break
		}
	}
	if n.Target == "" {
		n.Target = "Object"
	}
	for _, a := range req.Args {
		n.Args = append(n.Args, printString(v, a))
	}
	var sb strings.Builder
	for i, f := range v.Traceback() {
		if i > 0 {
			sb.WriteString("\n")
		}
		sb.WriteString(f.String())
	}
	n.Traceback = sb.String()
	return n
}

func printString(v *vm.VM, val lua.LValue) string {
	s, err := v.PrintString(val)
	if err != nil {
		return val.String()
	}
	return s
}

type interactiveKey struct{}

// Interactive marks ctx as a person's evaluation in the workspace, where a
// message not understood raises the notifier. VMEvaluator marks its
// evaluations.
func Interactive(ctx context.Context) context.Context {
	return context.WithValue(ctx, interactiveKey{}, true)
}

// IsInteractive reports whether ctx was marked by Interactive.
func IsInteractive(ctx context.Context) bool {
	b, _ := ctx.Value(interactiveKey{}).(bool)
	return b
}
