package vm

import (
	"io"
	"strings"

	lua "github.com/yuin/gopher-lua"

	"github.com/phoenix-image/phoenix/vm/bitlib"
)

// initFunctions creates the Go functions that metatables share.
func (v *VM) initFunctions() {
	L := v.L
	v.missFn = L.NewFunction(func(L *lua.LState) int {
		if s, ok := L.Get(2).(lua.LString); ok {
			v.lastMiss = string(s)
		}
		L.Push(lua.LNil)
		return 1
	})
	v.tostringFn = L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LString(v.printString(L.Get(1))))
		return 1
	})
	v.traitSetFn = L.NewFunction(func(L *lua.LState) int {
		o := v.objectOf(L.Get(1))
		k, val := L.Get(2), L.Get(3)
		sel, ok := k.(lua.LString)
		if !ok {
			L.ArgError(2, "trait selectors are strings")
		}
		if val != lua.LNil {
			if _, ok := val.(*lua.LFunction); !ok {
				L.RaiseError("trait %s holds only methods: cannot store a %s in %q", o.DisplayName(), val.Type(), string(sel))
			}
		}
		if o.oid != 0 {
			v.touch(o)
		}
		o.methods.RawSet(sel, val)
		v.refreshUsers(o)
		return 0
	})
	// Fault metamethods: load the object, then do what was asked.
	fault := func(L *lua.LState) *Object {
		o := v.objectOfRaw(L.Get(1))
		if o == nil {
			L.RaiseError("internal error: fault without object")
		}
		o.mustEnsure()
		return o
	}
	v.faultMeta = L.NewTable()
	v.faultMeta.RawSetString("__metatable", lua.LString("phoenix object"))
	v.faultMeta.RawSetString("__index", L.NewFunction(func(L *lua.LState) int {
		o := fault(L)
		L.Push(L.GetTable(o.t, L.Get(2)))
		return 1
	}))
	v.faultMeta.RawSetString("__newindex", L.NewFunction(func(L *lua.LState) int {
		o := fault(L)
		L.SetTable(o.t, L.Get(2), L.Get(3))
		return 0
	}))
	v.faultMeta.RawSetString("__len", L.NewFunction(func(L *lua.LState) int {
		o := fault(L)
		L.Push(lua.LNumber(L.ObjLen(o.t)))
		return 1
	}))
	v.faultMeta.RawSetString("__tostring", L.NewFunction(func(L *lua.LState) int {
		o := fault(L)
		if o.kind == KindTable {
			L.Push(lua.LString(o.t.String())) // what tostring gives a loaded table
		} else {
			L.Push(lua.LString(v.printString(L.Get(1))))
		}
		return 1
	}))
	v.faultIndex = v.faultMeta.RawGetString("__index")
	v.faultNewIndex = v.faultMeta.RawGetString("__newindex")
	v.faultLen = v.faultMeta.RawGetString("__len")
	v.handlerFn = L.NewFunction(v.errorHandler)
	v.sendFn = L.NewFunction(v.primSend)
}

// initEnv builds the environment of image code: an always-empty globals
// table whose reads fall through to the standard library and then to the
// Lobby's slots, and whose writes define Lobby slots.
func (v *VM) initEnv() {
	L := v.L
	// Open the safe libraries into a scratch globals table.
	for _, lib := range []struct {
		name string
		fn   lua.LGFunction
	}{
		{lua.BaseLibName, lua.OpenBase},
		{lua.TabLibName, lua.OpenTable},
		{lua.StringLibName, lua.OpenString},
		{lua.MathLibName, lua.OpenMath},
		{lua.CoroutineLibName, lua.OpenCoroutine},
		{lua.OsLibName, lua.OpenOs},
	} {
		L.Push(L.NewFunction(lib.fn))
		L.Push(lua.LString(lib.name))
		L.Call(1, 0)
	}
	g := L.G.Global
	b := L.NewTable()
	for _, name := range []string{"assert", "error", "getmetatable", "ipairs", "load", "loadstring",
		"next", "pairs", "pcall", "rawequal", "rawget", "rawset", "select", "setmetatable",
		"tonumber", "tostring", "type", "unpack", "xpcall", "_VERSION", "getfenv", "setfenv"} {
		b.RawSetString(name, g.RawGetString(name))
	}
	for _, name := range []string{"string", "table", "math", "coroutine"} {
		b.RawSetString(name, copyTable(L, g.RawGetString(name).(*lua.LTable)))
	}
	v.hostMath(b.RawGetString("math").(*lua.LTable))
	// Of os, only the clock (Options.Clock, see hostlib.go).
	osT := L.NewTable()
	v.hostOS(osT, g.RawGetString("os").(*lua.LTable))
	b.RawSetString("os", osT)
	b.RawSetString("bit", openBit(L))
	b.RawSetString("print", L.NewFunction(v.luaPrint))
	v.wrapFaultAware(b)
	v.builtins = b

	env := L.NewTable()
	em := L.NewTable()
	em.RawSetString("__index", b)
	em.RawSetString("__newindex", L.NewFunction(v.globalAssign))
	em.RawSetString("__metatable", lua.LString("phoenix globals"))
	env.Metatable = em
	bm := L.NewTable()
	bm.RawSetString("__index", L.NewFunction(v.globalLookup))
	b.Metatable = bm
	b.RawSetString("_G", env)
	v.env = env

	// Drop everything else from the real globals, so that nothing reaches
	// io, os.execute, debug or package through getfenv(0).
	L.G.Global = env
	L.Env = env
	// Strings keep their metatable (s:upper()); point it at our copy.
	if smt, ok := L.GetMetatable(lua.LString("")).(*lua.LTable); ok {
		smt.RawSetString("__index", b.RawGetString("string"))
	}
	// nil's __call turns the call of a missed selector into doesNotUnderstand.
	nilMT := L.NewTable()
	nilMT.RawSetString("__call", L.NewFunction(v.nilCall))
	L.SetMetatable(lua.LNil, nilMT)
}

func copyTable(L *lua.LState, t *lua.LTable) *lua.LTable {
	c := L.NewTable()
	t.ForEach(func(k, val lua.LValue) { c.RawSet(k, val) })
	return c
}

func (v *VM) globalLookup(L *lua.LState) int {
	k := L.Get(2)
	val := v.lobby.t.RawGet(k)
	if val == lua.LNil {
		if s, ok := k.(lua.LString); ok {
			v.lastGlobalMiss = string(s)
		}
	}
	L.Push(val)
	return 1
}

func (v *VM) globalAssign(L *lua.LState) int {
	k, val := L.Get(2), L.Get(3)
	if s, ok := k.(lua.LString); ok {
		if o := v.objectOf(val); o != nil && o.kind != KindTable && o.name == "" && !o.faulted {
			v.SetName(o, string(s))
		}
	}
	v.lobby.t.RawSet(k, val)
	return 0
}

func (v *VM) luaPrint(L *lua.LState) int {
	n := L.GetTop()
	var sb strings.Builder
	for i := 1; i <= n; i++ {
		if i > 1 {
			sb.WriteByte('\t')
		}
		sb.WriteString(v.displayString(L.Get(i)))
	}
	sb.WriteByte('\n')
	io.WriteString(v.opts.Transcript, sb.String())
	return 0
}

// wrapFaultAware replaces the library functions that use raw access so that
// they load a faulted table first (gopher-lua ignores __pairs and friends).
func (v *VM) wrapFaultAware(b *lua.LTable) {
	L := v.L
	wrap := func(t *lua.LTable, name string, argIdx ...int) {
		orig := t.RawGetString(name).(*lua.LFunction)
		t.RawSetString(name, L.NewFunction(func(L *lua.LState) int {
			for _, i := range argIdx {
				if tb, ok := L.Get(i).(*lua.LTable); ok {
					if o := v.objectOfRaw(tb); o != nil && o.faulted {
						o.mustEnsure()
					}
				}
			}
			// Call the original with the same arguments.
			top := L.GetTop()
			L.Push(orig)
			for i := 1; i <= top; i++ {
				L.Push(L.Get(i))
			}
			L.Call(top, lua.MultRet)
			return L.GetTop() - top
		}))
	}
	for _, n := range []string{"pairs", "ipairs", "next", "unpack", "rawget", "rawset", "getmetatable", "setmetatable"} {
		wrap(b, n, 1)
	}
	wrap(b, "rawequal")
	tbl := b.RawGetString("table").(*lua.LTable)
	for _, n := range []string{"insert", "remove", "concat", "sort", "getn", "maxn", "foreach", "foreachi"} {
		if tbl.RawGetString(n) != lua.LNil {
			wrap(tbl, n, 1)
		}
	}
}

func openBit(L *lua.LState) *lua.LTable {
	L.Push(L.NewFunction(bitlib.Loader))
	L.Call(0, 1)
	return L.Get(-1).(*lua.LTable)
}
