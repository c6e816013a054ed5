package main

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/phoenix-image/phoenix/agent"
	"github.com/phoenix-image/phoenix/sandbox"
	"github.com/phoenix-image/phoenix/vm"
)

// attachPersonalities puts the environment personalities in the image
// (Personality, Personalities.debian) and installs the "personality"
// builtin their methods call, over runsc personalities started on first
// use. The returned function stops them.
func attachPersonalities(ctx context.Context, v *vm.VM) (func(), error) {
	if err := sandbox.InstallPersonalityObjects(ctx, v); err != nil {
		return nil, fmt.Errorf("installing the personalities: %w", err)
	}
	lp := &lazyPersonalities{}
	sandbox.SetPersonalityBuiltin(v, lp)
	sessionPersonalities.Store(v, lp)
	return func() {
		sessionPersonalities.Delete(v)
		lp.Close()
	}, nil
}

// sessionPersonalities maps a session's VM to its personalities, for the
// shell's tools.
var sessionPersonalities sync.Map // *vm.VM -> *lazyPersonalities

// personalitiesOf returns the personalities attached to v, or nil.
func personalitiesOf(v *vm.VM) agent.PersonalityRunner {
	if lp, ok := sessionPersonalities.Load(v); ok {
		return lp.(*lazyPersonalities)
	}
	return nil
}

// lazyPersonalities makes the runsc backend on first use, so that a
// session that never runs a command does not pay for it.
type lazyPersonalities struct {
	mu     sync.Mutex
	p      *sandbox.Personalities
	closed bool
}

var _ sandbox.PersonalityRunner = (*lazyPersonalities)(nil)
var _ agent.PersonalityRunner = (*lazyPersonalities)(nil)

func (l *lazyPersonalities) get() (*sandbox.Personalities, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, fmt.Errorf("personalities: closed")
	}
	if l.p == nil {
		p, err := sandbox.NewPersonalities(sandbox.PersonalityOptions{Log: slog.Default()})
		if err != nil {
			return nil, err
		}
		l.p = p
	}
	return l.p, nil
}

func (l *lazyPersonalities) peek() *sandbox.Personalities {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.p
}

func (l *lazyPersonalities) Start(ctx context.Context, cfg sandbox.PersonalityConfig) (bool, error) {
	p, err := l.get()
	if err != nil {
		return false, err
	}
	return p.Start(ctx, cfg)
}

func (l *lazyPersonalities) RunCommand(ctx context.Context, cfg sandbox.PersonalityConfig, cmd sandbox.Command) (*sandbox.CommandResult, error) {
	p, err := l.get()
	if err != nil {
		return nil, err
	}
	return p.RunCommand(ctx, cfg, cmd)
}

func (l *lazyPersonalities) Stop(name string) error {
	if p := l.peek(); p != nil {
		return p.Stop(name)
	}
	return nil
}

func (l *lazyPersonalities) Running(name string) bool {
	p := l.peek()
	return p != nil && p.Running(name)
}

func (l *lazyPersonalities) Close() error {
	l.mu.Lock()
	l.closed = true
	p := l.p
	l.mu.Unlock()
	if p != nil {
		return p.Close()
	}
	return nil
}
