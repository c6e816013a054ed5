package vm

import (
	"fmt"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// Recompose returns the Lua chunk, and the arguments to pass it, that make
// o use its traits plus (add) or minus tr, each trait kept with its
// exclusions and aliases: "local o, t1, … = ...; o:uses(t1:exclude(…), …)".
// found reports whether o used tr before. The browser's "use trait" and
// the remote protocol's compose both run it as one transaction.
func (v *VM) Recompose(o, tr *Object, add bool) (src string, args []lua.LValue, found bool, err error) {
	var keep []TraitUse
	for _, u := range o.Traits() {
		if u.Trait == tr.OID() && tr.OID() != 0 {
			found = true
			continue
		}
		keep = append(keep, u)
	}
	args = []lua.LValue{o.T()}
	var exprs []string
	for _, u := range keep {
		t, err := v.Object(u.Trait)
		if err != nil {
			return "", nil, found, err
		}
		args = append(args, t.T())
		e := fmt.Sprintf("t%d", len(args)-1)
		if len(u.Exclude) > 0 {
			e += ":exclude(" + luaStrings(u.Exclude) + ")"
		}
		if len(u.Aliases) > 0 {
			var as []string
			for _, a := range u.Aliases {
				as = append(as, "["+LuaString(a.New)+"] = "+LuaString(a.Old))
			}
			e += ":alias({" + strings.Join(as, ", ") + "})"
		}
		exprs = append(exprs, e)
	}
	if add {
		args = append(args, tr.T())
		exprs = append(exprs, fmt.Sprintf("t%d", len(args)-1))
	}
	names := []string{"o"}
	for i := 1; i < len(args); i++ {
		names = append(names, fmt.Sprintf("t%d", i))
	}
	return "local " + strings.Join(names, ", ") + " = ...; o:uses(" + strings.Join(exprs, ", ") + ")", args, found, nil
}

// LuaString quotes s as a Lua 5.1 string literal (bytes outside printable
// ASCII as \ddd).
func LuaString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, c := range []byte(s) {
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 || c >= 0x7f:
			fmt.Fprintf(&b, "\\%03d", c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func luaStrings(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = LuaString(s)
	}
	return strings.Join(q, ", ")
}
