//go:build cgo

package main

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/phoenix-image/phoenix/browser"
	"github.com/phoenix-image/phoenix/kernelhost/remote"
	"github.com/phoenix-image/phoenix/vm"
)

// The browser's editing tools on a remote image: remoteImage implements
// browser.Editing. History, senders, implementors, trait composition and
// removing a method are protocol methods; reverting a method, creating and
// removing a global, adding and removing a slot are one eval each on the
// server (self bound to the object where there is one), so each is one
// transaction there.

var _ browser.Editing = (*remoteImage)(nil)

var luaName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// remoteMsg turns a remote error into one whose text is the server's
// message (an evaluation's, without its traceback).
func remoteMsg(err error) error {
	var re *remote.Error
	if errors.As(err, &re) {
		if d, ok := re.Detail(); ok {
			return errors.New(d.Message)
		}
		return errors.New(re.Message)
	}
	return err
}

// edit runs a change on the server once per distinct key; the answer is
// the error, prefixed with what was being done.
func (r *remoteImage) edit(key, doing string, run func(ctx context.Context) error) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, err := remoteKeyed(r, &r.edits, key, true, func() (struct{}, error) {
		if err := run(context.Background()); err != nil {
			return struct{}{}, fmt.Errorf("%s: %w", doing, remoteMsg(err))
		}
		return struct{}{}, nil
	})
	return err
}

// evalSelf evaluates code on the server with self bound to path.
func (r *remoteImage) evalSelf(ctx context.Context, path, code string) error {
	_, err := r.c.EvalWith(ctx, remote.EvalParams{Code: code, Self: path})
	return err
}

// History implements browser.Editing.
func (r *remoteImage) History(ref browser.ObjectRef, selector string) ([]browser.Change, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	path := remotePath(ref)
	return remoteKeyed(r, &r.histories, path+"\x00"+selector, false, func() ([]browser.Change, error) {
		h, err := r.c.History(context.Background(), path, selector)
		if err != nil {
			return nil, remoteMsg(err)
		}
		out := make([]browser.Change, len(h.Changes))
		for i, c := range h.Changes {
			out[i] = browser.Change{Time: c.Time, Author: c.Author, Note: c.Note, Old: c.Old, New: c.New}
		}
		return out, nil
	})
}

// Revert implements browser.Editing: the mirror's revert, on the server.
func (r *remoteImage) Revert(ref browser.ObjectRef, selector string) error {
	path := remotePath(ref)
	return r.edit("revert\x00"+path+"\x00"+selector, "reverting "+ref.Name+">>"+selector, func(ctx context.Context) error {
		return r.evalSelf(ctx, path, "reflect(self):revert("+vm.LuaString(selector)+")")
	})
}

// Senders implements browser.Editing.
func (r *remoteImage) Senders(selector string) ([]browser.MethodRef, error) {
	if selector == "" {
		return nil, errors.New("senders: no selector")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return remoteKeyed(r, &r.senders, selector, false, func() ([]browser.MethodRef, error) {
		s, err := r.c.Senders(context.Background(), selector)
		if err != nil {
			return nil, remoteMsg(err)
		}
		var out []browser.MethodRef
		for _, m := range s.Methods {
			out = append(out, browser.MethodRef{Object: browserRef(m.Object), Selector: m.Selector})
		}
		return out, nil
	})
}

// Implementors implements browser.Editing.
func (r *remoteImage) Implementors(selector string) ([]browser.ObjectRef, error) {
	if selector == "" {
		return nil, errors.New("implementors: no selector")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return remoteKeyed(r, &r.impls, selector, false, func() ([]browser.ObjectRef, error) {
		res, err := r.c.Implementors(context.Background(), selector)
		if err != nil {
			return nil, remoteMsg(err)
		}
		return browserRefs(res.Objects), nil
	})
}

// CreateObject implements browser.Editing: the global name becomes
// protoName:clone(), one eval on the server.
func (r *remoteImage) CreateObject(name, protoName string) error {
	if !luaName.MatchString(name) {
		return fmt.Errorf("creating %q: not a name", name)
	}
	if protoName == "" {
		protoName = "Object"
	}
	if !luaName.MatchString(protoName) {
		return fmt.Errorf("creating %s: %q is not a name", name, protoName)
	}
	code := fmt.Sprintf(`if Lobby[%[1]s] ~= nil then error("the Lobby already has " .. %[1]s, 0) end
local p = Lobby[%[2]s]
if type(p) ~= "table" then error("no object " .. %[2]s .. " in the Lobby", 0) end
Lobby[%[1]s] = p:clone()`, vm.LuaString(name), vm.LuaString(protoName))
	return r.edit("create\x00"+name+"\x00"+protoName, "creating "+name+" as "+protoName+":clone()", func(ctx context.Context) error {
		_, err := r.c.EvalWith(ctx, remote.EvalParams{Code: code})
		return err
	})
}

// RemoveGlobal implements browser.Editing.
func (r *remoteImage) RemoveGlobal(name string) error {
	code := fmt.Sprintf(`if Lobby[%[1]s] == nil then error("no such global", 0) end
Lobby[%[1]s] = nil`, vm.LuaString(name))
	return r.edit("unglobal\x00"+name, "removing "+name, func(ctx context.Context) error {
		_, err := r.c.EvalWith(ctx, remote.EvalParams{Code: code})
		return err
	})
}

// AddSlot implements browser.Editing, with the local rules: a Lua name the
// object has neither as a slot nor as a method, and a value that is not
// nil; one eval on the server.
func (r *remoteImage) AddSlot(ref browser.ObjectRef, name, expr string) error {
	if !luaName.MatchString(name) {
		return fmt.Errorf("adding a slot to %s: %q is not a name (letters, digits and _, not starting with a digit)", ref.Name, name)
	}
	doing := "adding slot " + ref.Name + "." + name
	if strings.TrimSpace(expr) == "" {
		return fmt.Errorf("%s: no value: write a Lua expression, e.g. 0 or {} or Object:clone()", doing)
	}
	code := fmt.Sprintf(`local old_ = rawget(self, %[1]s)
if type(old_) == "function" then error(%[2]s .. " has a method " .. %[1]s, 0) end
if old_ ~= nil then error(%[2]s .. " already has it (its value is edited in the Inspector)", 0) end
local new_ = (%[3]s
)
if new_ == nil then error("the value of " .. %[4]s .. " is nil, which makes no slot", 0) end
self[%[1]s] = new_`, vm.LuaString(name), vm.LuaString(ref.Name), expr, vm.LuaString(strings.TrimSpace(expr)))
	path := remotePath(ref)
	return r.edit("addslot\x00"+path+"\x00"+name+"\x00"+expr, doing, func(ctx context.Context) error {
		return r.evalSelf(ctx, path, code)
	})
}

// RemoveSlot implements browser.Editing.
func (r *remoteImage) RemoveSlot(ref browser.ObjectRef, key string) error {
	code := fmt.Sprintf(`local old_ = rawget(self, %[1]s)
if old_ == nil or type(old_) == "function" then error("no such slot", 0) end
self[%[1]s] = nil`, vm.LuaString(key))
	path := remotePath(ref)
	return r.edit("rmslot\x00"+path+"\x00"+key, "removing "+ref.Name+"."+key, func(ctx context.Context) error {
		return r.evalSelf(ctx, path, code)
	})
}

// UseTrait implements browser.Editing (compose on the server).
func (r *remoteImage) UseTrait(ref browser.ObjectRef, trait string) error {
	path := remotePath(ref)
	return r.edit("use\x00"+path+"\x00"+trait, ref.Name+" using "+trait, func(ctx context.Context) error {
		return r.c.Compose(ctx, path, trait, true)
	})
}

// StopUsingTrait implements browser.Editing.
func (r *remoteImage) StopUsingTrait(ref browser.ObjectRef, trait string) error {
	path := remotePath(ref)
	return r.edit("unuse\x00"+path+"\x00"+trait, ref.Name+" no longer using "+trait, func(ctx context.Context) error {
		return r.c.Compose(ctx, path, trait, false)
	})
}

// RemoveMethod implements browser.Editing.
func (r *remoteImage) RemoveMethod(ref browser.ObjectRef, selector string) error {
	path := remotePath(ref)
	return r.edit("rmmethod\x00"+path+"\x00"+selector, "removing "+ref.Name+">>"+selector, func(ctx context.Context) error {
		return r.c.Remove(ctx, path, selector)
	})
}
