package bootstrap

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/phoenix-image/phoenix/image"
	"github.com/phoenix-image/phoenix/kernelhost/remote"
	"github.com/phoenix-image/phoenix/vm"
)

// RemoteBackend implements remote.Backend over a Session: the image served
// by `phoenix serve`. One goroutine owns the VM while the backend runs;
// every call is a function queued to it, so evaluations from several
// connections run one at a time, each as one transaction. Reads (browse,
// mirror, source) run as rolled-back transactions with a short budget, so
// that printStrings cannot change or hang the image.
//
// A panic on the VM's goroutine is passed to the caller's goroutine and
// raised there (the remote server recovers and logs it); a panic inside a
// transaction has already rolled the transaction back (vm.VM.Do).
type RemoteBackend struct {
	s    *Session
	opts RemoteOptions

	queue chan func(*vm.VM)
	done  chan struct{}
	once  sync.Once

	handles remoteHandles // transient values named "@N" (VM goroutine only)
	pending string        // the pending approvals' ids last seen (VM goroutine only)

	mu     sync.Mutex
	subs   map[int]func(remote.Notification)
	nextID int
}

// RemoteOptions configure a RemoteBackend.
type RemoteOptions struct {
	// Decider approves and rejects queued proposals (the agent); nil
	// refuses approvals.approve/reject with an error saying so.
	Decider RemoteDecider
	// ReadBudget bounds a read's printStrings (default 2 s).
	ReadBudget time.Duration
	// Logger (default slog.Default()).
	Logger *slog.Logger
}

// RemoteDecider decides approvals. The agent implements it (in the wiring
// layer, cmd/phoenix); bootstrap does not import the agent.
type RemoteDecider interface {
	// Approve installs the proposal id; it runs on the VM's goroutine.
	Approve(ctx context.Context, v *vm.VM, im *image.Image, id, by, note string) (*image.Approval, error)
	Reject(im *image.Image, id, by, note string) (*image.Approval, error)
}

var _ remote.Backend = (*RemoteBackend)(nil)

// NewRemoteBackend starts the VM's goroutine. Until Close, nothing else may
// use s.VM. The VM's transcript goes to subscribers as notifications; pass
// b.Committed as Options.OnCommit when opening the session for change
// notifications.
func NewRemoteBackend(s *Session, opts RemoteOptions) *RemoteBackend {
	if opts.ReadBudget <= 0 {
		opts.ReadBudget = 2 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	b := &RemoteBackend{s: s, opts: opts, queue: make(chan func(*vm.VM)), done: make(chan struct{}), subs: map[int]func(remote.Notification){}}
	s.VM.SetTranscript(transcriptWriter{b})
	go b.loop()
	return b
}

func (b *RemoteBackend) loop() {
	defer close(b.done)
	for f := range b.queue {
		f(b.s.VM)
	}
}

// Close stops the VM's goroutine after the running call; afterwards the
// caller owns the VM again (and closes the session).
func (b *RemoteBackend) Close() {
	b.once.Do(func() { close(b.queue) })
	<-b.done
}

var errBackendClosed = errors.New("phoenix: the image is closing")

// run runs f on the VM's goroutine and waits for it. A panic in f is
// raised again on the caller's goroutine.
func (b *RemoteBackend) run(ctx context.Context, f func(v *vm.VM) error) (err error) {
	type outcome struct {
		err   error
		panic any
	}
	ch := make(chan outcome, 1)
	job := func(v *vm.VM) {
		defer func() {
			if r := recover(); r != nil {
				ch <- outcome{panic: r}
			}
		}()
		ch <- outcome{err: f(v)}
	}
	defer func() {
		if r := recover(); r != nil { // sending on the closed queue
			err = errBackendClosed
		}
	}()
	select {
	case b.queue <- job:
	case <-ctx.Done():
		return ctx.Err()
	}
	o := <-ch
	if o.panic != nil {
		panic(o.panic)
	}
	return o.err
}

// Image implements remote.Backend.
func (b *RemoteBackend) Image() string { return b.s.Path }

// Eval implements remote.Backend: one transaction.
func (b *RemoteBackend) Eval(ctx context.Context, p remote.EvalParams) (*remote.EvalResult, error) {
	var out *remote.EvalResult
	err := b.run(ctx, func(v *vm.VM) error {
		if p.Self != "" {
			var err error
			out, err = b.evalSelf(ctx, v, p)
			return err
		}
		opt := vm.EvalOptions{Name: "remote", Print: true, Rollback: p.Rollback, Author: vm.Author(p.Author)}
		if p.BudgetMS > 0 {
			opt.Budget = time.Duration(p.BudgetMS) * time.Millisecond
		}
		res, err := v.Eval(ctx, p.Code, opt)
		if err != nil {
			b.approvalsAfter(err)
			return evalErrorIn(v, err)
		}
		out = b.evalResult(v, res, p.Ref)
		return nil
	})
	return out, err
}

// evalError turns a VM error into the protocol's.
func evalError(err error) error {
	var e *vm.Error
	if !errors.As(err, &e) {
		return err
	}
	d := remote.ErrorDetail{Kind: e.Kind, Message: e.Message, Detail: e.Detail(), Line: e.Line, Incomplete: e.Incomplete, Receiver: e.Receiver, Selector: e.Selector}
	for _, f := range e.Traceback {
		d.Traceback = append(d.Traceback, f.String())
	}
	return remote.EvalFailure(d)
}

// approvalsAfter publishes an "approvals" notification when an
// evaluation's message not understood changed the pending approvals (the
// server's agent queued a proposal: a write outside the transaction, so
// no "changed" says it). It runs on the VM's goroutine.
func (b *RemoteBackend) approvalsAfter(err error) {
	var e *vm.Error
	if !errors.As(err, &e) || e.Kind != "MessageNotUnderstood" {
		return
	}
	b.notePending()
}

// notePending publishes an "approvals" notification if the pending
// approvals differ from those last seen; on the VM's goroutine.
func (b *RemoteBackend) notePending() {
	as, aerr := b.s.Image.Approvals(image.ApprovalPending)
	if aerr != nil {
		b.opts.Logger.Warn("remote: listing approvals after a message not understood", "err", aerr)
		return
	}
	ids := make([]string, len(as))
	for i, a := range as {
		ids[i] = a.ID
	}
	sig := strings.Join(ids, " ")
	if sig == b.pending {
		return
	}
	b.pending = sig
	b.publish(remote.NewNotification(remote.NotifyApprovals, remote.ApprovalsChangedParams{Pending: len(as)}))
}

// evalErrorIn is evalError with, for a message not understood, the
// arguments and the target (the receiver or its nearest named prototype),
// read from the raised MessageNotUnderstood on v's goroutine.
func evalErrorIn(v *vm.VM, err error) error {
	var e *vm.Error
	out := evalError(err)
	re, ok := out.(*remote.Error)
	if !ok || !errors.As(err, &e) || e.Kind != "MessageNotUnderstood" {
		return out
	}
	d, _ := re.Detail()
	d.Arguments = e.Arguments
	d.Target = mnuTarget(v, e.Value)
	return remote.EvalFailure(d)
}

// mnuTarget is the name of the raised error's receiver or of its nearest
// named prototype, or "".
func mnuTarget(v *vm.VM, raised lua.LValue) (name string) {
	defer func() {
		if recover() != nil { // a receiver made in the rolled-back transaction
			name = ""
		}
	}()
	t, ok := raised.(*lua.LTable)
	if !ok {
		return ""
	}
	o := v.ObjectOf(t.RawGetString("receiver"))
	for p := o; p != nil; p = p.Proto() {
		if p.Name() != "" {
			return p.Name()
		}
	}
	return ""
}

// read runs f in a rolled-back transaction with the read budget.
func (b *RemoteBackend) read(ctx context.Context, f func(v *vm.VM) error) error {
	return b.run(ctx, func(v *vm.VM) error {
		var inner error
		err := v.Do(ctx, vm.TxOptions{Rollback: true, Budget: b.opts.ReadBudget}, func() error {
			inner = f(v)
			return inner
		})
		if inner != nil {
			return inner
		}
		return err
	})
}

// resolve finds the object a path names (see remote.PathParams). It must
// run inside a transaction.
func resolve(v *vm.VM, path string) (*vm.Object, error) {
	lobby := v.Lobby()
	lobby.SlotNames() // loads the Lobby's slots
	if path == "" || path == "Lobby" {
		return lobby, nil
	}
	if rest, ok := strings.CutPrefix(path, "#"); ok {
		n, err := strconv.ParseUint(rest, 10, 64)
		if err != nil || n == 0 {
			return nil, remote.Errorf(remote.CodeInvalidParams, "path %q: #OID wants a positive number", path)
		}
		o, err := v.Object(vm.OID(n))
		if err != nil {
			return nil, remote.Errorf(remote.CodeNotFound, "path %q: %v", path, err)
		}
		return o, nil
	}
	segs := strings.Split(path, ".")
	o := lobby
	for i, seg := range segs {
		if seg == "" {
			return nil, remote.Errorf(remote.CodeInvalidParams, "path %q: empty name at segment %d", path, i+1)
		}
		if i == 0 && seg == "Lobby" {
			continue
		}
		o.SlotNames() // loads o's slots
		val := o.T().RawGet(lua.LString(seg))
		c := objectIn(v, val)
		if c == nil {
			where := "the Lobby"
			if i > 0 {
				where = strings.Join(segs[:i], ".")
			}
			return nil, remote.Errorf(remote.CodeNotFound, "path %q: %s has no object in slot %q", path, where, seg)
		}
		o = c
	}
	return o, nil
}

// objectIn returns the object (or persistent table) val is, loading it if
// it is still a fault, or nil.
func objectIn(v *vm.VM, val lua.LValue) *vm.Object {
	t, ok := val.(*lua.LTable)
	if !ok {
		return nil
	}
	if o := v.ObjectOf(t); o != nil {
		return o
	}
	// A fault (or an armed object) loads on its first touch.
	v.L.GetField(t, "__phoenix_touch")
	return v.ObjectOf(t)
}

func ref(o *vm.Object, name string) remote.ObjectRef {
	if name == "" {
		name = o.DisplayName()
	}
	r := remote.ObjectRef{OID: uint64(o.OID()), Name: name, Kind: o.Kind().String()}
	if p := o.Proto(); p != nil {
		r.Proto = p.DisplayName()
	}
	return r
}

// Browse implements remote.Backend.
func (b *RemoteBackend) Browse(ctx context.Context, path string) (*remote.BrowseResult, error) {
	out := &remote.BrowseResult{Objects: []remote.ObjectRef{}}
	err := b.read(ctx, func(v *vm.VM) error {
		if path == "" || path == "Lobby" {
			lobby := v.Lobby()
			for _, k := range lobby.SlotNames() {
				name := k.String()
				o := objectIn(v, lobby.T().RawGet(k))
				if o == nil || o.Kind() == vm.KindTable {
					continue
				}
				out.Objects = append(out.Objects, ref(o, name))
			}
			sort.Slice(out.Objects, func(i, j int) bool { return out.Objects[i].Name < out.Objects[j].Name })
			return nil
		}
		o, err := resolve(v, path)
		if err != nil {
			return err
		}
		for _, k := range o.SlotNames() {
			c := objectIn(v, o.T().RawGet(k))
			if c == nil || c.OID() == 0 || c.Kind() == vm.KindTable {
				continue
			}
			key := k.String()
			name := c.Name()
			if name == "" {
				name = path + "." + key
			}
			r := ref(c, name)
			r.Slot = key
			out.Objects = append(out.Objects, r)
		}
		return nil
	})
	return out, err
}

// Mirror implements remote.Backend.
func (b *RemoteBackend) Mirror(ctx context.Context, path string) (*remote.Mirror, error) {
	var m *remote.Mirror
	err := b.read(ctx, func(v *vm.VM) error {
		o, err := resolve(v, path)
		if err != nil {
			return err
		}
		name := o.Name()
		if name == "" && path != "" && !strings.HasPrefix(path, "#") {
			name = path
		}
		m = &remote.Mirror{Ref: ref(o, name), Chain: []remote.ObjectRef{}, Traits: []remote.ObjectRef{}, Slots: []remote.SlotValue{}, Methods: o.MethodNames()}
		if m.Methods == nil {
			m.Methods = []string{}
		}
		for p := o.Proto(); p != nil; p = p.Proto() {
			m.Chain = append(m.Chain, ref(p, ""))
		}
		for _, t := range o.TraitObjects() {
			m.Traits = append(m.Traits, ref(t, ""))
		}
		for _, k := range o.SlotNames() {
			s, err := v.PrintString(o.T().RawGet(k))
			if err != nil {
				s = "<" + err.Error() + ">"
			}
			m.Slots = append(m.Slots, remote.SlotValue{Name: k.String(), Value: s})
		}
		for _, sel := range m.Methods {
			src, _ := v.MethodSource(o, sel)
			m.Sources = append(m.Sources, src)
		}
		if o.Kind() != vm.KindTable {
			m.Inherited = v.AllMethodNames(o)
		}
		for sel, traits := range o.Conflicts() {
			m.Conflicts = append(m.Conflicts, remote.Conflict{Selector: sel, Traits: append([]string(nil), traits...)})
		}
		sort.Slice(m.Conflicts, func(i, j int) bool { return m.Conflicts[i].Selector < m.Conflicts[j].Selector })
		return nil
	})
	return m, err
}

// Source implements remote.Backend: the method as path's lookup finds it.
func (b *RemoteBackend) Source(ctx context.Context, path, selector string) (*remote.SourceResult, error) {
	var out *remote.SourceResult
	err := b.read(ctx, func(v *vm.VM) error {
		o, err := resolve(v, path)
		if err != nil {
			return err
		}
		if src, ok := v.MethodSource(o, selector); ok {
			out = &remote.SourceResult{Source: src, Implementor: o.DisplayName()}
			return nil
		}
		_, impl := v.Lookup(o, selector)
		if impl == nil {
			return remote.Errorf(remote.CodeNotFound, "%s does not understand %s", o.DisplayName(), selector)
		}
		src, ok := v.MethodSource(impl, selector)
		if !ok {
			return remote.Errorf(remote.CodeNotFound, "%s>>%s has no source (a primitive?)", impl.DisplayName(), selector)
		}
		out = &remote.SourceResult{Source: src, Implementor: impl.DisplayName()}
		return nil
	})
	return out, err
}

// Define implements remote.Backend: one transaction.
func (b *RemoteBackend) Define(ctx context.Context, p remote.DefineParams) (*remote.DefineResult, error) {
	var out *remote.DefineResult
	err := b.run(ctx, func(v *vm.VM) error {
		var inner error
		err := v.Do(ctx, vm.TxOptions{Author: vm.Author(p.Author)}, func() error {
			o, err := resolve(v, p.Path)
			if err != nil {
				inner = err
				return err
			}
			before := o.MethodNames()
			if err := v.DefineMethod(o, p.Selector, p.Source); err != nil {
				return err
			}
			sel := p.Selector
			if sel == "" {
				sel = newSelector(before, o.MethodNames())
			}
			out = &remote.DefineResult{Selector: sel}
			return nil
		})
		if inner != nil {
			return inner
		}
		return evalError(err)
	})
	return out, err
}

// newSelector is the selector in after that is not in before, or "" when
// an existing method was redefined (the caller then does not know which).
func newSelector(before, after []string) string {
	seen := map[string]bool{}
	for _, s := range before {
		seen[s] = true
	}
	for _, s := range after {
		if !seen[s] {
			return s
		}
	}
	return ""
}

// Remove implements remote.Backend: one transaction.
func (b *RemoteBackend) Remove(ctx context.Context, path, selector string) error {
	return b.run(ctx, func(v *vm.VM) error {
		var inner error
		err := v.Do(ctx, vm.TxOptions{}, func() error {
			o, err := resolve(v, path)
			if err != nil {
				inner = err
				return err
			}
			if _, ok := v.MethodSource(o, selector); !ok {
				inner = remote.Errorf(remote.CodeNotFound, "%s has no method %s of its own", o.DisplayName(), selector)
				return inner
			}
			return v.RemoveMethod(o, selector)
		})
		if inner != nil {
			return inner
		}
		return evalError(err)
	})
}

// Approvals implements remote.Backend.
func (b *RemoteBackend) Approvals(ctx context.Context, all bool) (*remote.ApprovalsResult, error) {
	status := image.ApprovalPending
	if all {
		status = ""
	}
	var as []*image.Approval
	err := b.run(ctx, func(v *vm.VM) error {
		var err error
		as, err = b.s.Image.Approvals(status)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := &remote.ApprovalsResult{Approvals: []remote.Approval{}}
	for _, a := range as {
		out.Approvals = append(out.Approvals, approval(a))
	}
	return out, nil
}

func approval(a *image.Approval) remote.Approval {
	return remote.Approval{ID: a.ID, Status: a.Status, Object: a.Object, Selector: a.Selector, Created: a.Created, DecidedBy: a.DecidedBy, Note: a.Note, Data: a.Data}
}

// Approve implements remote.Backend.
func (b *RemoteBackend) Approve(ctx context.Context, id, note string) (*remote.Approval, error) {
	if b.opts.Decider == nil {
		return nil, fmt.Errorf("approvals: this server cannot install proposals (no agent)")
	}
	var out remote.Approval
	err := b.run(ctx, func(v *vm.VM) error {
		a, err := b.opts.Decider.Approve(ctx, v, b.s.Image, id, "human (remote)", note)
		if err != nil {
			return decideError(err)
		}
		out = approval(a)
		return nil
	})
	return &out, err
}

// Reject implements remote.Backend.
func (b *RemoteBackend) Reject(ctx context.Context, id, note string) (*remote.Approval, error) {
	if b.opts.Decider == nil {
		return nil, fmt.Errorf("approvals: this server cannot decide proposals (no agent)")
	}
	var out remote.Approval
	err := b.run(ctx, func(v *vm.VM) error {
		a, err := b.opts.Decider.Reject(b.s.Image, id, "human (remote)", note)
		if err != nil {
			return decideError(err)
		}
		out = approval(a)
		return nil
	})
	return &out, err
}

func decideError(err error) error {
	if errors.Is(err, image.ErrNoApproval) {
		return remote.Errorf(remote.CodeNotFound, "%v", err)
	}
	return evalError(err)
}

// Subscribe implements remote.Backend.
func (b *RemoteBackend) Subscribe(f func(remote.Notification)) func() {
	b.mu.Lock()
	id := b.nextID
	b.nextID++
	b.subs[id] = f
	b.mu.Unlock()
	return func() {
		b.mu.Lock()
		delete(b.subs, id)
		b.mu.Unlock()
	}
}

func (b *RemoteBackend) publish(n remote.Notification) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, f := range b.subs {
		f(n)
	}
}

// Committed publishes a "changed" notification for a committed batch. Pass
// it as Options.OnCommit (through a closure, since the backend is made
// after the session).
func (b *RemoteBackend) Committed(batch *vm.Batch) {
	p := remote.ChangedParams{Objects: make([]uint64, 0, len(batch.Puts))}
	for _, r := range batch.Puts {
		p.Objects = append(p.Objects, uint64(r.OID))
	}
	for _, h := range batch.History {
		p.Methods = append(p.Methods, remote.MethodRef{Owner: uint64(h.Owner), Selector: h.Selector, Author: string(h.Author)})
	}
	b.publish(remote.NewNotification(remote.NotifyChanged, p))
}

// transcriptWriter publishes what image code prints.
type transcriptWriter struct{ b *RemoteBackend }

func (w transcriptWriter) Write(p []byte) (int, error) {
	w.b.publish(remote.NewNotification(remote.NotifyTranscript, remote.TranscriptParams{Text: string(p)}))
	return len(p), nil
}
