package vm

import (
	"fmt"
	"io"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// Primitives are Go functions stored in kernel objects' slots. They persist
// by name, so an image refers to "Object>>clone", not to Go code.
func (v *VM) registerPrimitives() {
	reg := func(name string, fn lua.LGFunction) { v.RegisterPrimitive(name, fn) }
	reg("Object>>clone", v.primClone)
	reg("Object>>printString", func(L *lua.LState) int {
		L.Push(lua.LString(v.defaultPrintString(L.Get(1))))
		return 1
	})
	reg("Object>>doesNotUnderstand", v.primDoesNotUnderstand)
	reg("Object>>respondsTo", func(L *lua.LState) int {
		sel := L.CheckString(2)
		_, isFn := L.GetField(L.Get(1), sel).(*lua.LFunction)
		L.Push(lua.LBool(isFn))
		return 1
	})
	reg("Object>>uses", v.primUses)
	reg("Trait>>exclude", func(L *lua.LState) int {
		e := v.checkTraitExpr(L, 1)
		for i := 2; i <= L.GetTop(); i++ {
			switch x := L.Get(i).(type) {
			case lua.LString:
				e.exclude = append(e.exclude, string(x))
			case *lua.LTable:
				x.ForEach(func(_, s lua.LValue) { e.exclude = append(e.exclude, lua.LVAsString(s)) })
			default:
				L.ArgError(i, "selector expected")
			}
		}
		L.Push(v.traitExprValue(e))
		return 1
	})
	reg("Trait>>alias", func(L *lua.LState) int {
		e := v.checkTraitExpr(L, 1)
		m := L.CheckTable(2)
		m.ForEach(func(k, old lua.LValue) {
			e.aliases = append(e.aliases, Alias{New: lua.LVAsString(k), Old: lua.LVAsString(old)})
		})
		L.Push(v.traitExprValue(e))
		return 1
	})
	reg("Transcript>>show", func(L *lua.LState) int {
		for i := 2; i <= L.GetTop(); i++ {
			io.WriteString(v.opts.Transcript, v.displayString(L.Get(i)))
		}
		L.Push(L.Get(1))
		return 1
	})
	reg("Transcript>>cr", func(L *lua.LState) int {
		io.WriteString(v.opts.Transcript, "\n")
		L.Push(L.Get(1))
		return 1
	})
	reg("Error>>new", func(L *lua.LState) int {
		o := v.checkObject(L, 1)
		e, err := v.Clone(o)
		if err != nil {
			L.RaiseError("%s", err.Error())
		}
		if L.GetTop() >= 2 {
			e.t.RawSetString("messageText", lua.LString(v.displayString(L.Get(2))))
		}
		L.Push(e.t)
		return 1
	})
	reg("Error>>signal", func(L *lua.LState) int {
		o := v.checkObject(L, 1)
		e := o
		if o.oid != 0 || o.name != "" { // a prototype: raise a fresh instance
			c, err := v.Clone(o)
			if err != nil {
				L.RaiseError("%s", err.Error())
			}
			e = c
		}
		if L.GetTop() >= 2 {
			e.t.RawSetString("messageText", lua.LString(v.displayString(L.Get(2))))
		}
		L.Error(e.t, 0)
		return 0
	})
	reg("Error>>printString", func(L *lua.LState) int {
		o := v.checkObject(L, 1)
		text := lua.LVAsString(L.GetField(o.t, "messageText"))
		kind := v.kindName(o)
		if text == "" {
			L.Push(lua.LString(kind))
		} else {
			L.Push(lua.LString(kind + ": " + text))
		}
		return 1
	})
	reg("Message>>printString", func(L *lua.LState) int {
		o := v.checkObject(L, 1)
		var parts []string
		if args, ok := L.GetField(o.t, "arguments").(*lua.LTable); ok {
			for i := 1; i <= args.Len(); i++ {
				parts = append(parts, v.shortString(args.RawGetInt(i), 1))
			}
		}
		L.Push(lua.LString(fmt.Sprintf("a Message %s(%s)", lua.LVAsString(L.GetField(o.t, "selector")), strings.Join(parts, ", "))))
		return 1
	})
	v.builtins.RawSetString("reflect", v.L.NewFunction(v.luaReflect))
}

// RegisterPrimitive makes a Go function available as a persistent
// primitive: stored in a slot, it persists by name ("LLM>>ask"), and an
// image that refers to it finds it again when the same name is registered
// before the image is opened. Higher layers (the agent) use it for their
// objects' primitive methods.
func (v *VM) RegisterPrimitive(name string, fn lua.LGFunction) *lua.LFunction {
	f := v.L.NewFunction(fn)
	v.prims[name] = f
	v.primNames[f] = name
	return f
}

// SetBuiltin adds (or replaces) a name in the standard library that image
// code sees as a global (e.g. the agent's "llm" table). Builtins are not
// persistent: they are part of the running Phoenix, not of the image.
func (v *VM) SetBuiltin(name string, val lua.LValue) { v.builtins.RawSetString(name, val) }

// Primitive returns the registered primitive with the given name.
func (v *VM) Primitive(name string) *lua.LFunction { return v.prims[name] }

func (v *VM) checkObject(L *lua.LState, i int) *Object {
	o := v.objectOf(L.Get(i))
	if o == nil || o.kind == KindTable {
		L.ArgError(i, "object expected, got "+v.shortString(L.Get(i), 1))
	}
	o.mustEnsure()
	return o
}

func (v *VM) primClone(L *lua.LState) int {
	o := v.checkObject(L, 1)
	c, err := v.Clone(o)
	if err != nil {
		L.RaiseError("%s", err.Error())
	}
	L.Push(c.t)
	return 1
}

// A trait expression is a trait with exclusions and aliases, as passed to
// uses: Printable:exclude("describe"):alias{fullDescribe = "describe"}.
type traitExpr struct {
	trait   *Object
	exclude []string
	aliases []Alias
}

func (v *VM) checkTraitExpr(L *lua.LState, i int) *traitExpr {
	val := L.Get(i)
	if t, ok := val.(*lua.LTable); ok {
		if mt, ok := t.Metatable.(*lua.LTable); ok {
			if ud, ok := mt.RawGetString("__phxexpr").(*lua.LUserData); ok {
				e := *ud.Value.(*traitExpr)
				e.exclude = append([]string(nil), e.exclude...)
				e.aliases = append([]Alias(nil), e.aliases...)
				return &e
			}
		}
	}
	o := v.objectOf(val)
	if o == nil || o.kind != KindTrait {
		L.ArgError(i, "trait expected, got "+v.shortString(val, 1))
	}
	o.mustEnsure()
	return &traitExpr{trait: o}
}

func (v *VM) traitExprValue(e *traitExpr) *lua.LTable {
	t := v.L.CreateTable(0, 4)
	mt := v.L.CreateTable(0, 4)
	mt.RawSetString("__phxexpr", &lua.LUserData{Value: e})
	mt.RawSetString("__index", v.trait.t)
	mt.RawSetString("__metatable", lua.LString("trait expression"))
	t.Metatable = mt
	return t
}

func (v *VM) primUses(L *lua.LState) int {
	o := v.checkObject(L, 1)
	var uses []traitUse
	for i := 2; i <= L.GetTop(); i++ {
		e := v.checkTraitExpr(L, i)
		uses = append(uses, traitUse{trait: e.trait, exclude: e.exclude, aliases: e.aliases})
	}
	if err := v.SetTraits(o, uses); err != nil {
		if e, ok := err.(*Error); ok && e.Kind == "TraitConflict" {
			v.raise("TraitConflict", e.Message)
		}
		L.RaiseError("%s", err.Error())
	}
	L.Push(o.t)
	return 1
}
