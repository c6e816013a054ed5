//go:build cgo

package main

import (
	"context"
	"errors"
	"sync"

	"github.com/phoenix-image/phoenix/vm"
	"github.com/phoenix-image/phoenix/workspace"
)

// asyncEvaluator runs the workspace's evaluations on the VM's goroutine:
// Eval answers ErrPending until the result arrives, then wakes the window.
// Stop interrupts the running evaluation (it rolls back).
type asyncEvaluator struct {
	loop       *vmLoop
	invalidate func()

	mu      sync.Mutex
	src     string
	running bool
	done    *workspace.EvalResult
	cancel  context.CancelFunc
	changed bool // an evaluation finished since the last TakeChanged
	failed  bool // the last evaluation failed, so it rolled back
}

var _ workspace.Stopper = (*asyncEvaluator)(nil)

func (a *asyncEvaluator) Eval(src string) (workspace.EvalResult, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.done != nil && a.src == src {
		r := *a.done
		a.done = nil
		return r, nil
	}
	if a.running {
		return workspace.EvalResult{}, workspace.ErrPending
	}
	ctx, cancel := context.WithCancel(context.Background())
	a.src, a.running, a.done, a.cancel = src, true, nil, cancel
	ok := a.loop.Go(func(v *vm.VM) {
		r, _ := workspace.VMEvaluator{VM: v, Author: vm.AuthorHuman, Context: ctx}.Eval(src)
		cancel()
		a.mu.Lock()
		a.done, a.running, a.changed, a.failed = &r, false, true, r.Failed()
		a.mu.Unlock()
		a.invalidate()
	})
	if !ok {
		a.running = false
		cancel()
		return workspace.EvalResult{}, errors.New("the image is closed")
	}
	return workspace.EvalResult{}, workspace.ErrPending
}

func (a *asyncEvaluator) Stop() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.cancel != nil {
		a.cancel()
	}
}

// TakeChanged reports (once) that an evaluation finished, so that the
// browser refreshes what it shows.
func (a *asyncEvaluator) TakeChanged() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	c := a.changed
	a.changed = false
	return c
}

// RolledBack reports whether the last evaluation failed (and so rolled
// back: every evaluation is one transaction).
func (a *asyncEvaluator) RolledBack() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.failed
}

// Running reports whether an evaluation is queued or running.
func (a *asyncEvaluator) Running() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.running
}
