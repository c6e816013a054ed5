package bootstrap

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"
)

// Service is a long-running part of the root task: a server, the console.
type Service struct {
	Name string
	// Run serves until ctx ends (then it returns nil or ctx's error). A
	// service that shares the session's VM must evaluate through it (each
	// evaluation one transaction), never hold a transaction across calls.
	Run func(ctx context.Context) error
}

// Supervisor runs services and restarts the ones that panic or fail.
// A panic inside an evaluation is already rolled back by the VM (vm.Do);
// a panic elsewhere in a service (its own Go code) ends only that run of
// the service: the image holds what was committed before, and the service
// starts again on the same session.
type Supervisor struct {
	Log *slog.Logger
	// MaxRestarts bounds the restarts of one service (default 5); after
	// that the service's last error ends Run.
	MaxRestarts int
	// Backoff is the pause before the first restart, doubled each time up
	// to a second (default 10ms).
	Backoff time.Duration
}

// PanicError is a service's panic, with the stack where it happened.
type PanicError struct {
	Service string
	Value   any
	Stack   []byte
}

func (e *PanicError) Error() string {
	return fmt.Sprintf("service %s panicked: %v", e.Service, e.Value)
}

// Run runs the services until ctx ends or every service has returned
// without error. A service that panics or returns an error is logged and
// restarted; one that fails more than MaxRestarts times ends Run with its
// error (ctx's end stops the others).
func (s *Supervisor) Run(ctx context.Context, services ...Service) error {
	log := s.Log
	if log == nil {
		log = slog.Default()
	}
	max := s.MaxRestarts
	if max == 0 {
		max = 5
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, len(services))
	for _, svc := range services {
		go func() {
			backoff := s.Backoff
			if backoff == 0 {
				backoff = 10 * time.Millisecond
			}
			for restarts := 0; ; restarts++ {
				err := runOnce(ctx, svc)
				if err == nil || ctx.Err() != nil {
					errs <- nil
					return
				}
				if restarts >= max {
					log.Error("service failed too often; giving up", "service", svc.Name, "restarts", restarts, "err", err)
					errs <- fmt.Errorf("bootstrap: service %s failed %d times: %w", svc.Name, restarts+1, err)
					return
				}
				if pe, ok := err.(*PanicError); ok {
					log.Error("service panicked; restarting", "service", svc.Name, "panic", fmt.Sprint(pe.Value), "stack", string(pe.Stack), "restart", restarts+1)
				} else {
					log.Error("service failed; restarting", "service", svc.Name, "err", err, "restart", restarts+1)
				}
				select {
				case <-time.After(backoff):
				case <-ctx.Done():
					errs <- nil
					return
				}
				backoff = min(2*backoff, time.Second)
			}
		}()
	}
	var first error
	for range services {
		if err := <-errs; err != nil && first == nil {
			first = err
			cancel()
		}
	}
	return first
}

func runOnce(ctx context.Context, svc Service) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &PanicError{Service: svc.Name, Value: r, Stack: debug.Stack()}
		}
	}()
	return svc.Run(ctx)
}
