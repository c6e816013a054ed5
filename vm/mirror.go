package vm

import (
	"sort"

	lua "github.com/yuin/gopher-lua"
)

// Mirrors keep reflection out of the objects themselves (as in Self): an
// object's own slots never collide with reflective methods. reflect(obj)
// returns a transient mirror; mirrors cannot be persisted.

func (v *VM) luaReflect(L *lua.LState) int {
	o := v.checkObject(L, 1)
	L.Push(v.mirror(o))
	return 1
}

func (v *VM) mirror(o *Object) *lua.LTable {
	if v.mirrorMethods == nil {
		v.initMirrorMethods()
	}
	t := v.L.NewTable()
	mt := v.L.NewTable()
	mt.RawSetString("__index", v.mirrorMethods)
	mt.RawSetString("__phxmirror", &lua.LUserData{Value: o})
	mt.RawSetString("__tostring", v.L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LString("a Mirror on " + o.DisplayName()))
		return 1
	}))
	mt.RawSetString("__metatable", lua.LString("mirror"))
	t.Metatable = mt
	return t
}

func (v *VM) checkMirror(L *lua.LState) *Object {
	if t, ok := L.Get(1).(*lua.LTable); ok {
		if mt, ok := t.Metatable.(*lua.LTable); ok {
			if ud, ok := mt.RawGetString("__phxmirror").(*lua.LUserData); ok {
				o := ud.Value.(*Object)
				o.mustEnsure()
				return o
			}
		}
	}
	L.ArgError(1, "mirror expected (use m:method(), not m.method())")
	return nil
}

func (v *VM) stringList(ss []string) *lua.LTable {
	t := v.L.CreateTable(len(ss), 0)
	for _, s := range ss {
		t.Append(lua.LString(s))
	}
	return t
}

func (v *VM) initMirrorMethods() {
	m := v.L.NewTable()
	def := func(name string, fn func(L *lua.LState, o *Object) int) {
		m.RawSetString(name, v.L.NewFunction(func(L *lua.LState) int { return fn(L, v.checkMirror(L)) }))
	}
	def("name", func(L *lua.LState, o *Object) int { L.Push(lua.LString(o.DisplayName())); return 1 })
	def("oid", func(L *lua.LState, o *Object) int { L.Push(lua.LNumber(o.oid)); return 1 })
	def("kind", func(L *lua.LState, o *Object) int { L.Push(lua.LString(o.kind.String())); return 1 })
	def("isTrait", func(L *lua.LState, o *Object) int { L.Push(lua.LBool(o.kind == KindTrait)); return 1 })
	def("object", func(L *lua.LState, o *Object) int { L.Push(o.t); return 1 })
	def("slotNames", func(L *lua.LState, o *Object) int {
		t := v.L.NewTable()
		for _, k := range o.SlotNames() {
			t.Append(k)
		}
		L.Push(t)
		return 1
	})
	def("methodNames", func(L *lua.LState, o *Object) int { L.Push(v.stringList(o.MethodNames())); return 1 })
	def("allMethodNames", func(L *lua.LState, o *Object) int { L.Push(v.stringList(v.AllMethodNames(o))); return 1 })
	def("source", func(L *lua.LState, o *Object) int {
		sel := L.CheckString(2)
		if src, ok := v.MethodSource(o, sel); ok {
			L.Push(lua.LString(src))
			return 1
		}
		if fn, p := v.Lookup(o, sel); p != nil {
			L.Push(lua.LString(v.sourceOf(fn)))
			return 1
		}
		L.Push(lua.LNil)
		return 1
	})
	def("implementor", func(L *lua.LState, o *Object) int {
		_, p := v.Lookup(o, L.CheckString(2))
		if p == nil {
			L.Push(lua.LNil)
		} else {
			L.Push(p.t)
		}
		return 1
	})
	def("respondsTo", func(L *lua.LState, o *Object) int {
		fn, _ := v.Lookup(o, L.CheckString(2))
		_, ok := fn.(*lua.LFunction)
		L.Push(lua.LBool(ok))
		return 1
	})
	def("proto", func(L *lua.LState, o *Object) int {
		if o.proto == nil {
			L.Push(lua.LNil)
		} else {
			L.Push(o.proto.t)
		}
		return 1
	})
	def("protoChain", func(L *lua.LState, o *Object) int {
		t := v.L.NewTable()
		for p := o.proto; p != nil; p = p.proto {
			p.mustEnsure()
			t.Append(p.t)
		}
		L.Push(t)
		return 1
	})
	def("traits", func(L *lua.LState, o *Object) int {
		t := v.L.NewTable()
		for _, tr := range o.TraitObjects() {
			t.Append(tr.t)
		}
		L.Push(t)
		return 1
	})
	def("conflicts", func(L *lua.LState, o *Object) int {
		t := v.L.NewTable()
		for sel, names := range o.conflicts {
			t.RawSetString(sel, v.stringList(names))
		}
		L.Push(t)
		return 1
	})
	def("setProto", func(L *lua.LState, o *Object) int {
		p := v.checkObject(L, 2)
		if err := v.SetProto(o, p); err != nil {
			L.RaiseError("%s", err.Error())
		}
		return 0
	})
	def("define", func(L *lua.LState, o *Object) int {
		src := L.CheckString(2)
		sel := L.OptString(3, "")
		if err := v.DefineMethod(o, sel, src); err != nil {
			L.RaiseError("%s", err.Error())
		}
		return 0
	})
	def("removeMethod", func(L *lua.LState, o *Object) int {
		if err := v.RemoveMethod(o, L.CheckString(2)); err != nil {
			L.RaiseError("%s", err.Error())
		}
		return 0
	})
	def("history", func(L *lua.LState, o *Object) int {
		hs, err := v.History(o, L.CheckString(2))
		if err != nil {
			L.RaiseError("%s", err.Error())
		}
		t := v.L.NewTable()
		for _, h := range hs {
			e := v.L.NewTable()
			e.RawSetString("time", lua.LString(h.Time.Format("2006-01-02T15:04:05Z07:00")))
			e.RawSetString("author", lua.LString(h.Author))
			e.RawSetString("old", lua.LString(h.Old))
			e.RawSetString("new", lua.LString(h.New))
			t.Append(e)
		}
		L.Push(t)
		return 1
	})
	def("revert", func(L *lua.LState, o *Object) int {
		if err := v.Revert(o, L.CheckString(2)); err != nil {
			L.RaiseError("%s", err.Error())
		}
		return 0
	})
	v.mirrorMethods = m
}

// AllMethodNames lists every selector o responds to, sorted.
func (v *VM) AllMethodNames(o *Object) []string {
	seen := map[string]bool{}
	for p := o; p != nil; p = p.proto {
		p.mustEnsure()
		for _, s := range p.MethodNames() {
			seen[s] = true
		}
		if p.flat != nil {
			p.flat.ForEach(func(k, _ lua.LValue) { seen[lua.LVAsString(k)] = true })
		}
	}
	out := make([]string, 0, len(seen))
	for s := range seen {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// History lists the committed changes of o's method selector, oldest first.
func (v *VM) History(o *Object, selector string) ([]MethodChange, error) {
	if o.oid == 0 {
		return nil, nil
	}
	return v.store.History(o.oid, selector)
}

// Revert puts back the source selector had before its last committed
// change (removing the method if it did not exist before).
func (v *VM) Revert(o *Object, selector string) error {
	hs, err := v.History(o, selector)
	if err != nil {
		return err
	}
	if len(hs) == 0 {
		return &Error{Kind: "Error", Message: o.DisplayName() + ">>" + selector + " has no history to revert"}
	}
	last := hs[len(hs)-1]
	if last.Old == "" {
		return v.RemoveMethod(o, selector)
	}
	return v.DefineMethod(o, selector, last.Old)
}

// KeyBefore orders a table's keys as inspectors show them: numbers first
// (ascending), then the other keys by their text (KeyText).
func KeyBefore(a, b lua.LValue) bool {
	an, aNum := a.(lua.LNumber)
	bn, bNum := b.(lua.LNumber)
	switch {
	case aNum && bNum:
		return an < bn
	case aNum != bNum:
		return aNum
	}
	return KeyText(a) < KeyText(b)
}

// KeyText is a table key as an inspector shows it: a string as itself,
// anything else as Lua prints it.
func KeyText(k lua.LValue) string {
	if s, ok := k.(lua.LString); ok {
		return string(s)
	}
	return k.String()
}
