package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/phoenix-image/phoenix/bootstrap"
	"github.com/phoenix-image/phoenix/vm"
)

// ErrMemory is the cause of a context cancelled by WatchMemory.
var ErrMemory = errors.New("memory limit exceeded")

// Run validates req in this process: a fresh image in memory, the Context,
// ProposalTest, the candidate, the tests, the call; every step shares one
// budget and what the code prints is captured. It never touches the disk.
// Cancelling ctx stops it; if ctx was cancelled with a cause (see
// WatchMemory), the cause is reported as Result.Error.
func Run(ctx context.Context, req *Request) (res *Result) {
	start := time.Now()
	res = &Result{}
	out := &capWriter{max: MaxOutput}
	defer func() {
		if r := recover(); r != nil {
			res.Error = fmt.Sprintf("internal error: %v", r)
		}
		if res.Error == "" {
			if c := context.Cause(ctx); c != nil && !errors.Is(c, context.Canceled) && !errors.Is(c, context.DeadlineExceeded) {
				res.Error = c.Error()
			}
		}
		res.Output = out.String()
		res.CompileError = capString(res.CompileError)
		res.CallError = capString(res.CallError)
		res.CallResult = capString(res.CallResult)
		for i := range res.Tests {
			res.Tests[i].Message = capString(res.Tests[i].Message)
		}
		res.Duration = time.Since(start)
		res.settle()
	}()
	budget := req.Budget
	if budget <= 0 {
		budget = DefaultBudget
	}
	ctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()

	v, err := bootstrap.Genesis(ctx, vm.Options{
		Store:      vm.NewMemStore(),
		Budget:     budget,
		Transcript: out,
		Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		res.Error = "genesis: " + err.Error()
		return res
	}
	defer v.Close()
	// No runsc is nested in the sandbox: a candidate that uses a
	// personality meets the Simulated one (see personalityobjects.go).
	if mentionsPersonality(req) {
		if err := InstallPersonalityObjects(ctx, v); err != nil {
			res.Error = "personalities: " + err.Error()
			return res
		}
		SetPersonalityBuiltin(v, Simulated{})
	}
	eval := func(name, src string, o vm.EvalOptions) (*vm.Result, error) {
		o.Name, o.NoExpr, o.Budget = name, !o.Print, budget
		return v.Eval(ctx, src, o)
	}

	// The request's context and the test object come before the candidate,
	// so that a hostile candidate can break only its own tests.
	if strings.TrimSpace(req.Context) != "" {
		if _, err := eval("context", req.Context, vm.EvalOptions{Author: vm.AuthorFilein}); err != nil {
			res.Error = "context: " + detail(err)
			return res
		}
	}
	if _, err := eval("ProposalTest", "ProposalTest = Object:clone(); ProposalTest:uses(TestCase)", vm.EvalOptions{Author: vm.AuthorSystem}); err != nil {
		res.Error = "creating ProposalTest: " + detail(err)
		return res
	}
	recv := v.Global(req.Receiver)
	if req.Receiver == "Lobby" {
		recv = v.Lobby()
	}
	if recv == nil {
		res.Error = fmt.Sprintf("context: no object named %q", req.Receiver)
		return res
	}

	err = v.Do(ctx, vm.TxOptions{Author: vm.AuthorAgent, Budget: budget}, func() error {
		return v.DefineMethod(recv, req.Selector, req.Source)
	})
	if err != nil {
		res.CompileError = compileMessage(err)
		return res
	}
	if _, err := eval("tests", req.Tests, vm.EvalOptions{Author: vm.AuthorAgent}); err != nil {
		res.CompileError = "tests: " + compileMessage(err)
		return res
	}

	rep, err := bootstrap.RunTests(ctx, v, bootstrap.TestOptions{Pattern: TestPattern, Budget: budget})
	if err != nil {
		res.Tests = append(res.Tests, TestOutcome{Name: "ProposalTest", Status: "error", Message: err.Error()})
		res.Failed++
	} else {
		for _, t := range rep.Results {
			msg := t.Message
			if t.Status != "pass" && len(t.Traceback) > 0 {
				msg += "\ntraceback:"
				for _, f := range t.Traceback {
					msg += "\n  " + f.String()
				}
			}
			res.Tests = append(res.Tests, TestOutcome{Name: t.Name(), Status: t.Status, Message: msg})
		}
		res.Passed, res.Failed = rep.Passed, rep.Failed
	}

	if strings.TrimSpace(req.Call) != "" {
		r, err := eval("call", req.Call, vm.EvalOptions{Print: true, Rollback: true, Author: vm.AuthorAgent})
		if err != nil {
			res.CallError = detail(err)
		} else {
			res.CallResult = strings.Join(r.Strings, "\t")
		}
	}
	return res
}

func detail(err error) string {
	var ve *vm.Error
	if errors.As(err, &ve) {
		return ve.Detail()
	}
	return err.Error()
}

// compileMessage describes an error defining code; a compile error carries
// its line.
func compileMessage(err error) string {
	var ve *vm.Error
	if errors.As(err, &ve) && ve.Kind == "CompileError" {
		msg := ve.Error()
		if ve.Line > 0 && !strings.Contains(msg, fmt.Sprintf(":%d:", ve.Line)) {
			msg = fmt.Sprintf("line %d: %s", ve.Line, msg)
		}
		return msg
	}
	return detail(err)
}

// MaxMessage caps each error message and the call's result.
const MaxMessage = 16 << 10

func capString(s string) string {
	if len(s) <= MaxMessage {
		return s
	}
	w := &capWriter{max: MaxMessage}
	w.Write([]byte(s))
	return w.String()
}

// capWriter keeps the first max bytes written and notes what it dropped.
type capWriter struct {
	mu      sync.Mutex
	max     int
	buf     strings.Builder
	dropped int64
}

func (w *capWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	room := w.max - w.buf.Len()
	if room >= len(p) {
		w.buf.Write(p)
	} else {
		if room > 0 {
			w.buf.Write(p[:room])
		}
		w.dropped += int64(len(p) - max(room, 0))
	}
	return len(p), nil
}

func (w *capWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := w.buf.String()
	if w.dropped == 0 {
		return s
	}
	for len(s) > 0 {
		if r, n := utf8.DecodeLastRuneInString(s); r != utf8.RuneError || n != 1 {
			break
		}
		s = s[:len(s)-1] // do not end in the middle of a character
	}
	return s + fmt.Sprintf("\n[output truncated: %d more bytes]", w.dropped)
}
