package workspace

import (
	"bytes"
	"context"
	"errors"
	"io"

	lua "github.com/yuin/gopher-lua"

	"github.com/phoenix-image/phoenix/browser"
	"github.com/phoenix-image/phoenix/vm"
)

// Evaluator is what the workspace needs from a running image: evaluate a
// piece of source as one transaction and describe the outcome as plain
// data, safe to hand between goroutines.
//
// An evaluation that fails (a compile error, an error raised by the code,
// the budget) is not an error of Eval: it is reported in EvalResult.Error,
// with whatever the code printed before failing in EvalResult.Transcript.
// Eval's own error is for the Evaluator itself failing, and for
// ErrPending.
//
// The async contract is browser.Image's: an asynchronous implementation
// returns ErrPending until the answer has arrived, and invalidates the
// window when it has; the workspace asks again with the same source on a
// later frame, and a repeated call with identical source while the first
// is pending refers to the same request and must not run it twice.
type Evaluator interface {
	Eval(src string) (EvalResult, error)
}

// Stopper is implemented by an Evaluator that can interrupt the evaluation
// it is running (the workspace's Stop button). The interrupted evaluation
// still answers, typically with an "Interrupted" error.
type Stopper interface {
	Stop()
}

// ErrPending is browser.ErrPending: the answer has not arrived yet.
var ErrPending = browser.ErrPending

// EvalResult is the outcome of one evaluation.
type EvalResult struct {
	Values     []string // printString of each value returned
	Error      string   // the error with its traceback, or "" on success
	Transcript string   // what the evaluation printed
	// Ref, when the first value is an object or a table, is its handle in
	// the image's browser.Handles (browser.ValueRef{Handle: Ref} inspects
	// it), else 0.
	Ref int
}

// Failed reports whether the evaluation failed.
func (r EvalResult) Failed() bool { return r.Error != "" }

// PrintString is the printString of the values, separated by ", ", or
// "nil" when the evaluation returned nothing.
func (r EvalResult) PrintString() string {
	switch len(r.Values) {
	case 0:
		return "nil"
	case 1:
		return r.Values[0]
	}
	var b bytes.Buffer
	for i, v := range r.Values {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(v)
	}
	return b.String()
}

// VMEvaluator implements Evaluator synchronously over a VM, for tests and
// for wiring that already runs on the VM's goroutine. It must not be used
// from several goroutines at once.
type VMEvaluator struct {
	VM *vm.VM
	// Author of the changes (default vm's human author).
	Author vm.Author
	// Transcript, if set, also receives print output, and is the VM's
	// transcript between evaluations (otherwise output is discarded).
	Transcript io.Writer
	// Context, if set, interrupts the evaluation when it is done (Stop).
	Context context.Context
}

// Eval implements Evaluator: src runs as one transaction through VM.Eval,
// with print output captured for the call.
func (e VMEvaluator) Eval(src string) (EvalResult, error) {
	var buf bytes.Buffer
	var w io.Writer = &buf
	if e.Transcript != nil {
		w = io.MultiWriter(&buf, e.Transcript)
	}
	e.VM.SetTranscript(w)
	defer e.VM.SetTranscript(e.Transcript)
	ctx := e.Context
	if ctx == nil {
		ctx = context.Background()
	}
	ctx = Interactive(ctx)
	res, err := e.VM.Eval(ctx, src, vm.EvalOptions{Name: "workspace", Author: e.Author, Print: true})
	out := EvalResult{Transcript: buf.String()}
	if err != nil {
		out.Error = ErrorDetail(err)
		return out, nil
	}
	out.Values = res.Strings
	if len(res.Values) > 0 {
		if _, ok := res.Values[0].(*lua.LTable); ok {
			out.Ref = browser.HandlesFor(e.VM).Put(res.Values[0])
		}
	}
	return out, nil
}

// ErrorDetail renders err as the workspace shows it: a *vm.Error with its
// traceback, anything else by its message.
func ErrorDetail(err error) string {
	var e *vm.Error
	if errors.As(err, &e) {
		return e.Detail()
	}
	return err.Error()
}
