//go:build cgo

package main

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/phoenix-image/phoenix/browser"
	"github.com/phoenix-image/phoenix/vm"
)

// guiBudget bounds what the GUI runs on the VM to draw a frame (the
// printStrings of a Describe), so image code cannot hang the window.
const guiBudget = 2 * time.Second

// vmLoop is the one goroutine that owns a VM once the GUI runs: everything
// that touches the VM is a func queued to it. Queueing never blocks (the
// queue is unbounded), so the UI goroutine can queue from within a frame.
type vmLoop struct {
	mu      sync.Mutex
	queue   []func(*vm.VM)
	wake    chan struct{} // capacity 1: the queue may be non-empty
	closed  bool
	done    chan struct{}
	pending atomic.Int32 // requests queued or running
	next    *vm.VM       // set by Replace, on the loop's goroutine only
}

func newVMLoop(v *vm.VM) *vmLoop {
	l := &vmLoop{wake: make(chan struct{}, 1), done: make(chan struct{})}
	go l.run(v)
	return l
}

func (l *vmLoop) run(v *vm.VM) {
	defer close(l.done)
	for {
		l.mu.Lock()
		q, closed := l.queue, l.closed
		l.queue = nil
		l.mu.Unlock()
		for _, f := range q {
			f(v)
			l.pending.Add(-1)
			if l.next != nil {
				v, l.next = l.next, nil
			}
		}
		if len(q) == 0 {
			if closed {
				return
			}
			<-l.wake
		}
	}
}

// Go queues f to run on the VM's goroutine; false if the loop is closed.
func (l *vmLoop) Go(f func(*vm.VM)) bool {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return false
	}
	l.pending.Add(1)
	l.queue = append(l.queue, f)
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
	return true
}

// Do runs f on the VM's goroutine and waits for it to return, or for ctx
// to end first (then f is skipped if it has not started yet, and the
// caller must not use what f would have set). errClosed if the loop is
// closed.
func (l *vmLoop) Do(ctx context.Context, f func(*vm.VM)) error {
	done := make(chan struct{})
	if !l.Go(func(v *vm.VM) {
		defer close(done)
		if ctx.Err() == nil {
			f(v)
		}
	}) {
		return errClosed
	}
	select {
	case <-done:
		if err := ctx.Err(); err != nil {
			return err
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Replace makes v the VM of the requests after the running one. Call it
// only from a request (on the loop's goroutine), after closing the old VM
// (a revert to a snapshot reopens the image).
func (l *vmLoop) Replace(v *vm.VM) { l.next = v }

// Busy reports whether a request is queued or running.
func (l *vmLoop) Busy() bool { return l.pending.Load() > 0 }

// Close stops taking requests and waits for the queued ones to finish;
// afterwards the caller owns the VM again.
func (l *vmLoop) Close() {
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
	<-l.done
}

// errClosed answers requests made after the loop closed.
var errClosed = errors.New("phoenix: the image is closed")

// asyncImage implements browser.Image over a vmLoop. A question is queued
// once per distinct arguments; until its answer has arrived the browser
// gets browser.ErrPending, then the window is invalidated and the next
// identical question takes the answer (which is then forgotten, so a later
// question, e.g. after Browser.Refresh, asks the VM again).
type asyncImage struct {
	loop       *vmLoop
	invalidate func()
	author     vm.Author
	budget     time.Duration // of a Describe (default guiBudget)

	mu        sync.Mutex
	globals   *answer[[]browser.ObjectRef]
	describes map[browser.ObjectRef]*answer[browser.ObjectView]
	children  map[browser.ObjectRef]*answer[[]browser.ObjectRef]
	accepts   map[acceptKey]*answer[struct{}]
	objects   int // number of globals in the last answer, -1 before one

	insp inspectAnswers // the Inspector's questions (guiinspector.go)
	edit editAnswers    // the browser's editing questions and changes
}

type acceptKey struct {
	ref              browser.ObjectRef
	selector, source string
}

type answer[T any] struct {
	done bool
	val  T
	err  error
}

func newAsyncImage(loop *vmLoop, invalidate func()) *asyncImage {
	if invalidate == nil {
		invalidate = func() {}
	}
	return &asyncImage{
		loop: loop, invalidate: invalidate, budget: guiBudget, objects: -1,
		describes: make(map[browser.ObjectRef]*answer[browser.ObjectView]),
		accepts:   make(map[acceptKey]*answer[struct{}]),
	}
}

// Objects returns the number of globals of the last Globals answer, or -1.
func (a *asyncImage) Objects() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.objects
}

// ask returns the answer in *slot, or queues run to fill it and returns
// ErrPending. a.mu is held by the caller.
func ask[T any](a *asyncImage, slot **answer[T], run func(v *vm.VM) (T, error)) (T, error) {
	var zero T
	if ans := *slot; ans != nil {
		if !ans.done {
			return zero, browser.ErrPending
		}
		*slot = nil
		return ans.val, ans.err
	}
	ans := &answer[T]{}
	*slot = ans
	ok := a.loop.Go(func(v *vm.VM) {
		val, err := run(v)
		a.mu.Lock()
		ans.val, ans.err, ans.done = val, err, true
		a.mu.Unlock()
		a.invalidate()
	})
	if !ok {
		*slot = nil
		return zero, errClosed
	}
	return zero, browser.ErrPending
}

// Globals implements browser.Image.
func (a *asyncImage) Globals() ([]browser.ObjectRef, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return ask(a, &a.globals, func(v *vm.VM) ([]browser.ObjectRef, error) {
		gs, err := browser.VMImage{VM: v}.Globals()
		if err == nil {
			a.mu.Lock()
			a.objects = len(gs)
			a.mu.Unlock()
		}
		return gs, err
	})
}

// Children implements browser.Image, keyed by ref like Describe.
func (a *asyncImage) Children(ref browser.ObjectRef) ([]browser.ObjectRef, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return keyed(a, &a.children, ref, func(v *vm.VM) ([]browser.ObjectRef, error) {
		return a.vmImage(v).Children(ref)
	})
}

// Describe implements browser.Image. The printStrings of the slots run as
// one rolled-back transaction with a budget of a.budget: a slot whose
// printString loops shows the timeout instead of its value.
func (a *asyncImage) Describe(ref browser.ObjectRef) (browser.ObjectView, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	slot := a.describes[ref]
	view, err := ask(a, &slot, func(v *vm.VM) (browser.ObjectView, error) {
		var view browser.ObjectView
		var derr error
		described := false
		terr := v.Do(context.Background(), vm.TxOptions{Author: a.author, Budget: a.budget, Rollback: true}, func() error {
			view, derr = browser.VMImage{VM: v, Author: a.author}.Describe(ref)
			described = true
			return derr
		})
		if described && derr == nil {
			// A Timeout after a complete Describe only cut printStrings
			// short; their slots say so.
			return view, nil
		}
		if derr != nil {
			return view, derr
		}
		return view, terr
	})
	if slot == nil {
		delete(a.describes, ref)
	} else {
		a.describes[ref] = slot
	}
	return view, err
}

// Accept implements browser.Image. A repeated Accept with the same
// arguments while the first is pending is the same request.
func (a *asyncImage) Accept(ref browser.ObjectRef, selector, source string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	k := acceptKey{ref, selector, source}
	slot := a.accepts[k]
	_, err := ask(a, &slot, func(v *vm.VM) (struct{}, error) {
		return struct{}{}, browser.VMImage{VM: v, Author: a.author}.Accept(ref, selector, source)
	})
	if slot == nil {
		delete(a.accepts, k)
	} else {
		a.accepts[k] = slot
	}
	return err
}

// editAnswers are asyncImage's answers to browser.Editing, keyed by their
// arguments like Accept's: a repeated change while the first is pending
// is the same request.
type editAnswers struct {
	histories    map[methodKey]*answer[[]browser.Change]
	reverts      map[methodKey]*answer[struct{}]
	senders      map[string]*answer[[]browser.MethodRef]
	implementors map[string]*answer[[]browser.ObjectRef]
	creates      map[[2]string]*answer[struct{}]
	removeGlobal map[string]*answer[struct{}]
	removeSlot   map[methodKey]*answer[struct{}] // selector is the slot's key
	addSlot      map[addSlotKey]*answer[struct{}]
	traitUses    map[traitKey]*answer[struct{}]
	removeMethod map[methodKey]*answer[struct{}]
}

type methodKey struct {
	ref      browser.ObjectRef
	selector string
}

var _ browser.Editing = (*asyncImage)(nil)

func (a *asyncImage) vmImage(v *vm.VM) browser.VMImage {
	return browser.VMImage{VM: v, Author: a.author}
}

// change asks for a change that answers nothing but its error.
func change[K comparable](a *asyncImage, m *map[K]*answer[struct{}], k K, run func(browser.VMImage) error) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	_, err := keyed(a, m, k, func(v *vm.VM) (struct{}, error) { return struct{}{}, run(a.vmImage(v)) })
	return err
}

// History implements browser.Editing.
func (a *asyncImage) History(ref browser.ObjectRef, selector string) ([]browser.Change, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return keyed(a, &a.edit.histories, methodKey{ref, selector}, func(v *vm.VM) ([]browser.Change, error) {
		return a.vmImage(v).History(ref, selector)
	})
}

// Senders implements browser.Editing.
func (a *asyncImage) Senders(selector string) ([]browser.MethodRef, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return keyed(a, &a.edit.senders, selector, func(v *vm.VM) ([]browser.MethodRef, error) {
		return a.vmImage(v).Senders(selector)
	})
}

// Implementors implements browser.Editing.
func (a *asyncImage) Implementors(selector string) ([]browser.ObjectRef, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return keyed(a, &a.edit.implementors, selector, func(v *vm.VM) ([]browser.ObjectRef, error) {
		return a.vmImage(v).Implementors(selector)
	})
}

// Revert implements browser.Editing.
func (a *asyncImage) Revert(ref browser.ObjectRef, selector string) error {
	return change(a, &a.edit.reverts, methodKey{ref, selector}, func(m browser.VMImage) error { return m.Revert(ref, selector) })
}

// CreateObject implements browser.Editing.
func (a *asyncImage) CreateObject(name, protoName string) error {
	return change(a, &a.edit.creates, [2]string{name, protoName}, func(m browser.VMImage) error { return m.CreateObject(name, protoName) })
}

// RemoveGlobal implements browser.Editing.
func (a *asyncImage) RemoveGlobal(name string) error {
	return change(a, &a.edit.removeGlobal, name, func(m browser.VMImage) error { return m.RemoveGlobal(name) })
}

type addSlotKey struct {
	ref        browser.ObjectRef
	name, expr string
}

// AddSlot implements browser.Editing.
func (a *asyncImage) AddSlot(ref browser.ObjectRef, name, expr string) error {
	return change(a, &a.edit.addSlot, addSlotKey{ref, name, expr}, func(m browser.VMImage) error { return m.AddSlot(ref, name, expr) })
}

type traitKey struct {
	ref   browser.ObjectRef
	trait string
	add   bool
}

// UseTrait implements browser.Editing.
func (a *asyncImage) UseTrait(ref browser.ObjectRef, trait string) error {
	return change(a, &a.edit.traitUses, traitKey{ref, trait, true}, func(m browser.VMImage) error { return m.UseTrait(ref, trait) })
}

// StopUsingTrait implements browser.Editing.
func (a *asyncImage) StopUsingTrait(ref browser.ObjectRef, trait string) error {
	return change(a, &a.edit.traitUses, traitKey{ref, trait, false}, func(m browser.VMImage) error { return m.StopUsingTrait(ref, trait) })
}

// RemoveSlot implements browser.Editing.
func (a *asyncImage) RemoveSlot(ref browser.ObjectRef, key string) error {
	return change(a, &a.edit.removeSlot, methodKey{ref, key}, func(m browser.VMImage) error { return m.RemoveSlot(ref, key) })
}

// RemoveMethod implements browser.Editing.
func (a *asyncImage) RemoveMethod(ref browser.ObjectRef, selector string) error {
	return change(a, &a.edit.removeMethod, methodKey{ref, selector}, func(m browser.VMImage) error { return m.RemoveMethod(ref, selector) })
}
