package vm

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// PrintString returns val's printString: for objects, the result of sending
// printString (so objects can override it); for strings, the string itself
// (as Lua's repl shows it); otherwise a Lua-like rendering.
func (v *VM) PrintString(val lua.LValue) (string, error) {
	if o := v.objectOf(val); o != nil && o.kind != KindTable {
		vals, err := v.Send(val, "printString")
		if err != nil {
			return "", err
		}
		if len(vals) > 0 {
			return lua.LVAsString(vals[0]), nil
		}
		return "", nil
	}
	return v.displayString(val), nil
}

// printString is what __tostring returns for an object: a send of
// printString, falling back to the default rendering on error.
func (v *VM) printString(val lua.LValue) string {
	fn := v.L.GetField(val, "printString")
	if fn == lua.LNil || fn == v.prims["Object>>printString"] {
		return v.defaultPrintString(val)
	}
	v.L.Push(fn)
	v.L.Push(val)
	v.L.Call(1, 1)
	s := v.L.Get(-1)
	v.L.Pop(1)
	return lua.LVAsString(s)
}

// displayString renders a value for print and the top level of a result.
func (v *VM) displayString(val lua.LValue) string {
	switch x := val.(type) {
	case lua.LString:
		return string(x)
	case *lua.LTable:
		if o := v.objectOf(x); o != nil && o.kind != KindTable {
			return v.printString(x)
		}
	}
	return v.shortString(val, 2)
}

// defaultPrintString renders an object as "an Account {balance = 5}".
func (v *VM) defaultPrintString(val lua.LValue) string {
	o := v.objectOf(val)
	if o == nil {
		return v.shortString(val, 2)
	}
	o.mustEnsure()
	head := o.DisplayName()
	if o.kind == KindTrait {
		if o.name == "" {
			return "an anonymous trait"
		}
		return o.name
	}
	if o.oid == LobbyOID {
		return "Lobby"
	}
	slots := o.SlotNames()
	if len(slots) == 0 {
		return head
	}
	var sb strings.Builder
	sb.WriteString(head)
	sb.WriteString(" {")
	for i, k := range slots {
		if i > 0 {
			sb.WriteString(", ")
		}
		if i == 8 {
			fmt.Fprintf(&sb, "... (%d more)", len(slots)-8)
			break
		}
		sb.WriteString(keyString(k))
		sb.WriteString(" = ")
		sb.WriteString(v.shortString(o.t.RawGet(k), 1))
	}
	sb.WriteString("}")
	return sb.String()
}

func keyString(k lua.LValue) string {
	if s, ok := k.(lua.LString); ok && isIdent(string(s)) {
		return string(s)
	}
	if s, ok := k.(lua.LString); ok {
		return "[" + strconv.Quote(string(s)) + "]"
	}
	return "[" + k.String() + "]"
}

// shortString renders a value without sending anything: strings quoted,
// objects by name, tables to the given depth.
func (v *VM) shortString(val lua.LValue, depth int) string {
	switch x := val.(type) {
	case *lua.LNilType:
		return "nil"
	case lua.LString:
		return strconv.Quote(string(x))
	case lua.LNumber:
		return x.String()
	case lua.LBool:
		return x.String()
	case *lua.LFunction:
		if x.IsG {
			return "a builtin function"
		}
		if info := v.srcs[x.Proto]; info != nil && info.label != "" {
			return "a function (" + info.label + ")"
		}
		return "a function"
	case *lua.LTable:
		o := v.objectOf(x)
		if o != nil && o.kind != KindTable {
			if o.faulted {
				if err := o.ensure(); err != nil {
					return fmt.Sprintf("an unloadable object %d", o.oid)
				}
			}
			if o.oid == LobbyOID {
				return "Lobby"
			}
			return o.DisplayName()
		}
		if o != nil && o.faulted {
			if err := o.ensure(); err != nil {
				return fmt.Sprintf("an unloadable table %d", o.oid)
			}
		}
		return v.tableString(x, depth)
	}
	return val.Type().String()
}

func (v *VM) tableString(t *lua.LTable, depth int) string {
	if depth <= 0 {
		return "{...}"
	}
	var sb strings.Builder
	sb.WriteString("{")
	n := t.Len()
	first := true
	sep := func() {
		if !first {
			sb.WriteString(", ")
		}
		first = false
	}
	count := 0
	for i := 1; i <= n; i++ {
		if count == 20 {
			sep()
			sb.WriteString("...")
			sb.WriteString("}")
			return sb.String()
		}
		sep()
		sb.WriteString(v.shortString(t.RawGetInt(i), depth-1))
		count++
	}
	var keys []lua.LValue
	t.ForEach(func(k, _ lua.LValue) {
		if num, ok := k.(lua.LNumber); ok && float64(num) == float64(int(num)) && int(num) >= 1 && int(num) <= n {
			return
		}
		keys = append(keys, k)
	})
	sort.Slice(keys, func(i, j int) bool { return keyLess(keys[i], keys[j]) })
	for _, k := range keys {
		if count == 20 {
			sep()
			sb.WriteString("...")
			break
		}
		sep()
		sb.WriteString(keyString(k))
		sb.WriteString(" = ")
		sb.WriteString(v.shortString(t.RawGet(k), depth-1))
		count++
	}
	sb.WriteString("}")
	return sb.String()
}
