//go:build cgo

package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/phoenix-image/phoenix/browser"
	"github.com/phoenix-image/phoenix/kernelhost/remote"
	"github.com/phoenix-image/phoenix/vm"
)

// The Inspector on a remote image: remoteImage implements
// browser.Inspecting through the protocol's "inspect" (a rolled-back read
// on the server) and eval with self bound (one transaction each). A
// browser.ValueRef maps to a protocol path: an OID to "#OID"; a handle to
// the path the client was given for it (an "@N" the server keeps for a
// transient value, or "#OID"), numbered here.

var _ browser.Inspecting = (*remoteImage)(nil)

type remoteSetKey struct {
	ref       browser.ValueRef
	key, expr string
}

type remoteEvalInKey struct {
	ref  browser.ValueRef
	expr string
}

// refFor returns the ValueRef of a protocol path ("" is the zero ref).
// r.mu is held.
func (r *remoteImage) refFor(path string) browser.ValueRef {
	if path == "" {
		return browser.ValueRef{}
	}
	if rest, ok := strings.CutPrefix(path, "#"); ok {
		if n, err := strconv.ParseUint(rest, 10, 64); err == nil && n != 0 {
			return browser.ValueRef{OID: vm.OID(n)}
		}
	}
	return browser.ValueRef{Handle: r.handleLocked(path)}
}

// handleLocked numbers path for the inspector, the same number for the
// same path. r.mu is held.
func (r *remoteImage) handleLocked(path string) int {
	if h, ok := r.handleOf[path]; ok {
		return h
	}
	if r.handleOf == nil {
		r.handleOf, r.pathOf = map[string]int{}, map[int]string{}
	}
	h := len(r.pathOf) + 1
	r.handleOf[path], r.pathOf[h] = h, path
	return h
}

// handle is the workspace's handle (EvalResult.Ref) for a path, 0 for "".
func (r *remoteImage) handle(path string) int {
	if path == "" {
		return 0
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.handleLocked(path)
}

// pathFor is the protocol path of ref. r.mu is held.
func (r *remoteImage) pathFor(ref browser.ValueRef) (string, error) {
	switch {
	case ref.OID != 0:
		return "#" + strconv.FormatUint(uint64(ref.OID), 10), nil
	case ref.Handle != 0:
		if p, ok := r.pathOf[ref.Handle]; ok {
			return p, nil
		}
		return "", fmt.Errorf("inspector: %v was not handed out by this window", ref)
	}
	return "", errors.New("inspector: no value to inspect")
}

// Inspect implements browser.Inspecting.
func (r *remoteImage) Inspect(ref browser.ValueRef) (browser.InspectView, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	path, err := r.pathFor(ref)
	if err != nil {
		return browser.InspectView{}, err
	}
	return remoteKeyed(r, &r.inspects, ref, false, func() (browser.InspectView, error) {
		in, err := r.c.Inspect(context.Background(), path)
		if err != nil {
			return browser.InspectView{}, err
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		view := browser.InspectView{Ref: ref, Kind: in.Kind, PrintString: in.PrintString, Proto: r.refFor(in.Proto), ProtoName: in.ProtoName}
		for _, e := range in.Entries {
			view.Entries = append(view.Entries, browser.Entry{Key: e.Key, Value: e.Value, Ref: r.refFor(e.Ref)})
		}
		return view, nil
	})
}

// SetSlot implements browser.Inspecting: one eval on the server with self
// bound to ref's value. A key that reads as a number names a numeric key
// unless the value already has a string key with that text (as locally);
// the expression is evaluated in the image's globals, where self also
// names the value.
func (r *remoteImage) SetSlot(ref browser.ValueRef, key, expr string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	path, err := r.pathFor(ref)
	if err != nil {
		return err
	}
	code := "local k_ = " + vm.LuaString(key) + "\n" +
		"local n_ = tonumber(k_)\n" +
		"if n_ ~= nil and rawget(self, k_) == nil then k_ = n_ end\n" +
		"self[k_] = (" + expr + "\n)"
	_, err = remoteKeyed(r, &r.sets, remoteSetKey{ref, key, expr}, true, func() (struct{}, error) {
		_, err := r.c.EvalWith(context.Background(), remote.EvalParams{Code: code, Self: path})
		return struct{}{}, remoteDetail(err)
	})
	return err
}

// EvalIn implements browser.Inspecting: eval with self bound, one
// transaction on the server.
func (r *remoteImage) EvalIn(ref browser.ValueRef, expr string) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	path, err := r.pathFor(ref)
	if err != nil {
		return "", err
	}
	return remoteKeyed(r, &r.evalIns, remoteEvalInKey{ref, expr}, true, func() (string, error) {
		res, err := r.c.EvalWith(context.Background(), remote.EvalParams{Code: expr, Self: path})
		if err != nil {
			return "", remoteDetail(err)
		}
		if len(res.Values) == 0 {
			return "nil", nil
		}
		return strings.Join(res.Values, ", "), nil
	})
}

// remoteDetail turns a remote evaluation error into an error whose text
// is the server's report with its traceback (what the inspector shows).
func remoteDetail(err error) error {
	var re *remote.Error
	if errors.As(err, &re) {
		if d, ok := re.Detail(); ok && d.Detail != "" {
			return errors.New(d.Detail)
		}
	}
	return err
}
