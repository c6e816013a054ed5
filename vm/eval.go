package vm

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/parse"

	"github.com/phoenix-image/phoenix/vm/luasrc"
)

// funcInfo is what the VM knows about a compiled Lua function: its source as
// written and how to name it in tracebacks.
type funcInfo struct {
	source string // from `function` to `end`
	line   int    // line of `function` in its compile unit
	label  string // "Account>>deposit", or "" for anonymous functions
	chunk  string // compile unit name
	pinned bool   // the source is kept by a committed method
}

// EvalOptions control one top-level evaluation.
type EvalOptions struct {
	Name     string        // chunk name for errors (default "eval")
	Author   Author        // who is changing the image (default human)
	Budget   time.Duration // wall-time budget (default the VM's)
	Env      *lua.LTable   // globals (default the image environment)
	Args     []lua.LValue  // values passed to the chunk as ...
	Rollback bool          // roll back even on success (tests, dry runs)
	Print    bool          // fill Result.Strings, inside the transaction
	NoExpr   bool          // do not try the source as an expression first
}

// Result is what an evaluation returned.
type Result struct {
	Values  []lua.LValue
	Strings []string // printString of each value, when EvalOptions.Print
}

// Eval compiles and runs src as one transaction: it commits if src runs to
// completion, and otherwise leaves the image, in memory and on disk, as if
// it had never run. Like the Lua 5.3 repl, src is first tried as an
// expression (return src).
func (v *VM) Eval(ctx context.Context, src string, opt EvalOptions) (*Result, error) {
	if opt.Name == "" {
		opt.Name = "eval"
	}
	var res *Result
	err := v.Do(ctx, TxOptions{Author: opt.Author, Budget: opt.Budget, Rollback: opt.Rollback}, func() error {
		fn, err := v.compileChunk(src, opt.Name, !opt.NoExpr, opt.Env)
		if err != nil {
			return err
		}
		vals, err := v.Call(fn, opt.Args...)
		if err != nil {
			return err
		}
		res = &Result{Values: vals}
		if opt.Print {
			for _, val := range vals {
				s, err := v.PrintString(val)
				if err != nil {
					return err
				}
				res.Strings = append(res.Strings, s)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// TxOptions control one transaction.
type TxOptions struct {
	Author   Author
	Budget   time.Duration
	Rollback bool
}

// Do runs fn as one top-level transaction with a time budget. Inside an
// enclosing transaction it simply runs fn as part of it.
func (v *VM) Do(ctx context.Context, opt TxOptions, fn func() error) (err error) {
	if v.tx != nil {
		return fn()
	}
	if ctx == nil {
		ctx = context.Background()
	}
	budget := opt.Budget
	if budget <= 0 {
		budget = v.opts.Budget
	}
	ctx, cancel := newBudget(ctx, budget)
	defer cancel()
	prevAuthor := v.author
	if opt.Author != "" {
		v.author = opt.Author
	}
	v.begin()
	v.ctx = ctx
	v.L.SetContext(ctx)
	defer func() {
		v.L.RemoveContext()
		v.ctx = context.Background()
		v.author = prevAuthor
		v.lastMiss, v.lastGlobalMiss = "", ""
	}()
	defer func() {
		if r := recover(); r != nil {
			v.rollback()
			err = &Error{Kind: "Error", Message: fmt.Sprintf("internal error: %v", r)}
		}
	}()
	err = fn()
	if err == nil && ctx.Err() != nil {
		err = v.budgetError(ctx, budget)
	}
	if err != nil || opt.Rollback {
		v.rollback()
		return err
	}
	return v.commit()
}

func (v *VM) budgetError(ctx context.Context, budget time.Duration) *Error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return &Error{Kind: "Timeout", Message: fmt.Sprintf("evaluation exceeded its budget of %v and was rolled back", budget), Err: ctx.Err()}
	}
	return &Error{Kind: "Interrupted", Message: "evaluation interrupted and rolled back", Err: ctx.Err()}
}

// Call calls a Lua function with a traceback-capturing error handler.
func (v *VM) Call(fn lua.LValue, args ...lua.LValue) ([]lua.LValue, error) {
	L := v.L
	base := L.GetTop()
	L.Push(fn)
	for _, a := range args {
		L.Push(a)
	}
	v.lastErr = nil
	if perr := L.PCall(len(args), lua.MultRet, v.handlerFn); perr != nil {
		L.SetTop(base)
		return nil, v.convertError(perr)
	}
	n := L.GetTop() - base
	vals := make([]lua.LValue, n)
	for i := 0; i < n; i++ {
		vals[i] = L.Get(base + 1 + i)
	}
	L.SetTop(base)
	return vals, nil
}

// Send sends selector to recv with args, as recv:selector(args...) would.
func (v *VM) Send(recv lua.LValue, selector string, args ...lua.LValue) ([]lua.LValue, error) {
	vals, err := v.Call(v.sendFn, append([]lua.LValue{recv, lua.LString(selector)}, args...)...)
	if e, ok := err.(*Error); ok {
		// Raised from a Go frame, a message has an empty position.
		e.Message = strings.TrimPrefix(e.Message, " ")
	}
	return vals, err
}

// primSend is Send inside Lua: the lookup faults in the receiver and its
// prototypes, which raises if a record cannot be loaded, so it must run in
// the protected call.
func (v *VM) primSend(L *lua.LState) int {
	recv, sel := L.Get(1), L.CheckString(2)
	n := L.GetTop()
	fn := L.GetField(recv, sel)
	if fn == lua.LNil {
		args := make([]lua.LValue, 0, n-2)
		for i := 3; i <= n; i++ {
			args = append(args, L.Get(i))
		}
		return v.sendDNU(L, recv, sel, args)
	}
	L.Push(fn)
	L.Push(recv)
	for i := 3; i <= n; i++ {
		L.Push(L.Get(i))
	}
	L.Call(n-1, lua.MultRet)
	return L.GetTop() - n
}

func (v *VM) convertError(perr error) *Error {
	if v.ctx.Err() != nil {
		e := v.budgetError(v.ctx, v.opts.Budget)
		if v.lastErr != nil {
			e.Traceback = v.lastErr.Traceback
		}
		return e
	}
	var val lua.LValue = lua.LString(perr.Error())
	if ae, ok := perr.(*lua.ApiError); ok {
		val = ae.Object
	}
	e := v.errorFromValue(val)
	if v.lastErr != nil {
		e.Traceback = v.lastErr.Traceback
	}
	return e
}

// errorFromValue describes a raised Lua value.
func (v *VM) errorFromValue(val lua.LValue) *Error {
	e := &Error{Kind: "Error", Value: val}
	if o := v.objectOf(val); o != nil && o.kind == KindObject && v.isKindOf(o, v.errorProto) {
		e.Kind = v.kindName(o)
		e.Message = lua.LVAsString(v.L.GetField(o.t, "messageText"))
		if e.Message == "" {
			e.Message = e.Kind
		}
		if v.isKindOf(o, v.mnu) {
			e.Selector = lua.LVAsString(v.L.GetField(o.t, "selector"))
			e.Receiver = lua.LVAsString(v.L.GetField(o.t, "receiverName"))
			if args, ok := v.L.GetField(o.t, "arguments").(*lua.LTable); ok {
				for i := 1; i <= args.Len(); i++ {
					e.Arguments = append(e.Arguments, v.shortString(args.RawGetInt(i), 1))
				}
			}
		}
		return e
	}
	switch x := val.(type) {
	case lua.LString:
		e.Message = string(x)
	case *lua.LNilType:
		e.Message = "error(nil)"
	default:
		e.Message = v.shortString(val, 2)
	}
	return e
}

func (v *VM) kindName(o *Object) string {
	if k, ok := o.t.RawGetString("kind").(lua.LString); ok && k != "" {
		return string(k) // errors raised by the VM itself, e.g. TraitConflict
	}
	for p := o; p != nil; p = p.proto {
		p.mustEnsure()
		if p.name != "" {
			return p.name
		}
	}
	return "Error"
}

func (v *VM) isKindOf(o, proto *Object) bool {
	for p := o; p != nil; p = p.proto {
		if p == proto {
			return true
		}
		if p.faulted {
			p.mustEnsure()
		}
	}
	return false
}

// errorHandler runs at the point of the error, before the stack unwinds,
// and captures a traceback that names objects and selectors.
func (v *VM) errorHandler(L *lua.LState) int {
	errVal := L.Get(1)
	v.lastErr = &Error{Traceback: v.traceback(L)}
	L.Push(errVal)
	return 1
}

func (v *VM) traceback(L *lua.LState) []Frame {
	var frames []Frame
	for level := 0; level < 200; level++ {
		dbg, ok := L.GetStack(level)
		if !ok {
			break
		}
		fv, err := L.GetInfo("Slf", dbg, lua.LNil)
		if err != nil {
			continue
		}
		fn, ok := fv.(*lua.LFunction)
		if !ok {
			continue
		}
		if fn.IsG {
			if name := v.primNames[fn]; name != "" {
				frames = append(frames, Frame{Name: name + " (primitive)"})
			}
			continue
		}
		info := v.srcs[fn.Proto]
		name := dbg.Source
		line := dbg.CurrentLine
		if info != nil {
			if info.label != "" {
				name = info.label
				line = dbg.CurrentLine - info.line + 1
			} else {
				name = info.chunk
			}
		}
		f := Frame{Name: name, Line: line}
		if n := len(frames); n > 0 && frames[n-1] == f {
			continue // a tail call shows its frame twice
		}
		frames = append(frames, f)
	}
	return frames
}

// compileChunk compiles src in the image environment (or env). With
// tryExpr, "return src" is tried first.
func (v *VM) compileChunk(src, name string, tryExpr bool, env *lua.LTable) (*lua.LFunction, error) {
	if env == nil {
		env = v.env
	}
	proto, err := (*lua.FunctionProto)(nil), error(nil)
	if tryExpr {
		proto, err = v.compile("return "+src, name)
	}
	if !tryExpr || err != nil {
		if proto, err = v.compile(src, name); err != nil {
			return nil, err
		}
	}
	fn := v.L.NewFunctionFromProto(proto)
	fn.Env = env
	return fn, nil
}

// compile parses and compiles src and records the source of every function
// in it.
func (v *VM) compile(src, name string) (*lua.FunctionProto, error) {
	chunk, err := parse.Parse(strings.NewReader(src), name)
	if err != nil {
		return nil, compileError(name, err)
	}
	proto, err := lua.Compile(chunk, name)
	if err != nil {
		return nil, compileError(name, err)
	}
	v.registerSources(proto, src, name, "")
	return proto, nil
}

func compileError(name string, err error) *Error {
	e := &Error{Kind: "CompileError", Chunk: name, Err: err}
	var pe *parse.Error
	var ce *lua.CompileError
	switch {
	case errors.As(err, &pe):
		if pe.Pos.Line == parse.EOF {
			e.Incomplete = true
			e.Message = fmt.Sprintf("%s: unexpected end of input: %s", name, pe.Message)
		} else {
			e.Line = pe.Pos.Line
			e.Message = fmt.Sprintf("%s:%d: %s near '%s'", name, pe.Pos.Line, pe.Message, pe.Token)
		}
	case errors.As(err, &ce):
		e.Line = ce.Line
		e.Message = fmt.Sprintf("%s:%d: %s", name, ce.Line, ce.Message)
	default:
		e.Message = fmt.Sprintf("%s: %v", name, err)
	}
	return e
}

// registerSources maps every function prototype under proto to its source
// text, using the fact that the pre-order of the prototype tree is the
// order of the `function` keywords in the source. label, if set, names the
// first function (a method being loaded).
func (v *VM) registerSources(proto *lua.FunctionProto, src, chunk, label string) {
	funcs, err := luasrc.Funcs(src)
	if err != nil {
		return
	}
	i := 0
	var walk func(p *lua.FunctionProto)
	walk = func(p *lua.FunctionProto) {
		for _, c := range p.FunctionPrototypes {
			if i >= len(funcs) {
				return
			}
			f := funcs[i]
			i++
			info := &funcInfo{source: src[f.Start:f.End], line: f.Line, chunk: chunk}
			switch {
			case f.Method:
				info.label = f.Receiver + ">>" + f.Selector
			case f.Name != "":
				info.label = f.Name
			}
			v.srcs[c] = info
			if v.tx != nil {
				v.tx.compiled = append(v.tx.compiled, c)
			}
			walk(c)
		}
	}
	walk(proto)
	if label != "" && len(proto.FunctionPrototypes) > 0 {
		if info := v.srcs[proto.FunctionPrototypes[0]]; info != nil {
			info.label = label
		}
	}
}

// budgetCtx is a context whose Done is a plain field read: gopher-lua
// checks Done before every instruction, so this is on the hot path of
// every send (see docs/BENCHMARKS.md).
type budgetCtx struct {
	context.Context
	done chan struct{}
}

func (c *budgetCtx) Done() <-chan struct{} { return c.done }

func newBudget(parent context.Context, budget time.Duration) (context.Context, context.CancelFunc) {
	inner, cancel := context.WithTimeout(parent, budget)
	c := &budgetCtx{Context: inner, done: make(chan struct{})}
	stop := context.AfterFunc(inner, func() { close(c.done) })
	return c, func() {
		stop()
		cancel()
	}
}
