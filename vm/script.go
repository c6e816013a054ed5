package vm

import (
	"context"
	"os"
	"path/filepath"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// TrustedEnv returns the globals for a script the user trusts (phoenix run
// FILE), like `lua FILE`: everything image code has, plus the full io and
// os libraries, `arg` (arg[0] is the script, arg[1..] its arguments) and a
// `require` that finds modules next to the script (DIR/?.lua and
// DIR/?/init.lua). Global assignments still define Lobby slots, and
// functions the script stores in objects become methods that run later with
// the image's (restricted) globals.
func (v *VM) TrustedEnv(script string, args []string) *lua.LTable {
	L := v.L
	extra := L.NewTable()
	// Open io and os into a scratch globals table, not into the image's.
	saved := L.G.Global
	scratch := L.NewTable()
	L.G.Global = scratch
	for _, lib := range []lua.LGFunction{lua.OpenIo, lua.OpenOs} {
		L.Push(L.NewFunction(lib))
		L.Call(0, 0)
	}
	L.G.Global = saved
	extra.RawSetString("io", scratch.RawGetString("io"))
	extra.RawSetString("os", scratch.RawGetString("os"))

	argT := L.NewTable()
	argT.RawSetInt(0, lua.LString(script))
	for i, a := range args {
		argT.RawSetInt(i+1, lua.LString(a))
	}
	extra.RawSetString("arg", argT)

	dir := filepath.Dir(script)
	loaded := L.NewTable()
	env := L.NewTable()
	extra.RawSetString("require", L.NewFunction(func(L *lua.LState) int {
		name := L.CheckString(1)
		if val := loaded.RawGetString(name); val != lua.LNil {
			L.Push(val)
			return 1
		}
		rel := strings.ReplaceAll(name, ".", string(filepath.Separator))
		var tried []string
		for _, cand := range []string{filepath.Join(dir, rel+".lua"), filepath.Join(dir, rel, "init.lua")} {
			src, err := os.ReadFile(cand)
			if err != nil {
				tried = append(tried, cand)
				continue
			}
			res, err := v.Eval(context.Background(), string(src), EvalOptions{Name: cand, Env: env, NoExpr: true, Args: []lua.LValue{lua.LString(name)}})
			if err != nil {
				L.RaiseError("require %q: %s", name, err.Error())
			}
			var val lua.LValue = lua.LTrue
			if len(res.Values) > 0 && res.Values[0] != lua.LNil {
				val = res.Values[0]
			}
			loaded.RawSetString(name, val)
			L.Push(val)
			return 1
		}
		L.RaiseError("module %q not found; tried %s", name, strings.Join(tried, ", "))
		return 0
	}))
	pkg := L.NewTable()
	pkg.RawSetString("loaded", loaded)
	pkg.RawSetString("path", lua.LString(filepath.Join(dir, "?.lua")+";"+filepath.Join(dir, "?", "init.lua")))
	extra.RawSetString("package", pkg)

	em := L.NewTable()
	em.RawSetString("__index", v.builtins)
	extra.Metatable = em
	envMeta := L.NewTable()
	envMeta.RawSetString("__index", extra)
	envMeta.RawSetString("__newindex", L.NewFunction(v.globalAssign))
	env.Metatable = envMeta
	return env
}
