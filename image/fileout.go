package image

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	lua "github.com/yuin/gopher-lua"

	"github.com/phoenix-image/phoenix/vm"
	"github.com/phoenix-image/phoenix/vm/luasrc"
)

// ManifestName is the file that lists a fileout's files in load order.
const ManifestName = "MANIFEST"

// FileoutReport says what Fileout wrote.
type FileoutReport struct {
	Files   []string
	Objects int
	Methods int
	Skipped []string // slots that hold values a fileout cannot express
}

// Fileout writes the image's code — every object and trait bound to a
// global, with its prototype, traits, methods and literal slot values — as
// a directory of Lua files, one per object, plus _globals.lua (literal
// globals), _links.lua (slots that refer to other named objects) and a
// MANIFEST with the load order (prototypes and traits before their users).
// The output is deterministic, for clean diffs. Kernel objects (Object,
// Trait, ...) appear only with what was added to them.
func Fileout(v *vm.VM, dir string) (*FileoutReport, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	named := map[*vm.Object]string{}
	var names []string
	var globals []string
	lobby := v.Lobby()
	lobbyT := lobby.T()
	keys := lobby.SlotNames()
	for _, k := range keys {
		name, ok := k.(lua.LString)
		if !ok || !luaIdent(string(name)) {
			continue
		}
		val := lobbyT.RawGet(k)
		if o := v.ObjectOf(val); o != nil && o.Kind() != vm.KindTable {
			if _, dup := named[o]; !dup {
				named[o] = string(name)
				names = append(names, string(name))
			}
			continue
		}
		globals = append(globals, string(name))
	}
	rep := &FileoutReport{}
	fo := &fileouter{v: v, named: named, rep: rep}
	// Load order: a topological sort on prototype and trait dependencies.
	order := fo.order(names)
	var links []string
	for _, name := range order {
		o := v.Global(name)
		text, l := fo.object(name, o)
		links = append(links, l...)
		if text == "" {
			continue
		}
		file := name + ".lua"
		if err := os.WriteFile(filepath.Join(dir, file), []byte(text), 0o644); err != nil {
			return nil, err
		}
		rep.Files = append(rep.Files, file)
		rep.Objects++
	}
	var gl strings.Builder
	for _, name := range globals {
		val := lobbyT.RawGetString(name)
		lit, ok := fo.literal(val, 0, map[*lua.LTable]bool{})
		if !ok {
			rep.Skipped = append(rep.Skipped, name)
			continue
		}
		fmt.Fprintf(&gl, "%s = %s\n", name, lit)
	}
	if gl.Len() > 0 {
		if err := os.WriteFile(filepath.Join(dir, "_globals.lua"), []byte("-- Literal globals (Lobby slots).\n"+gl.String()), 0o644); err != nil {
			return nil, err
		}
		rep.Files = append([]string{"_globals.lua"}, rep.Files...)
	}
	if len(links) > 0 {
		sort.Strings(links)
		text := "-- Slots that refer to other named objects, set once all exist.\n" + strings.Join(links, "\n") + "\n"
		if err := os.WriteFile(filepath.Join(dir, "_links.lua"), []byte(text), 0o644); err != nil {
			return nil, err
		}
		rep.Files = append(rep.Files, "_links.lua")
	}
	manifest := "# Phoenix fileout: files in load order (phoenix filein DIR reads this).\n" + strings.Join(rep.Files, "\n") + "\n"
	if err := os.WriteFile(filepath.Join(dir, ManifestName), []byte(manifest), 0o644); err != nil {
		return nil, err
	}
	return rep, nil
}

type fileouter struct {
	v     *vm.VM
	named map[*vm.Object]string
	rep   *FileoutReport
}

func (f *fileouter) order(names []string) []string {
	sort.Strings(names)
	done := map[string]bool{}
	visiting := map[string]bool{}
	var out []string
	var visit func(name string)
	visit = func(name string) {
		if done[name] || visiting[name] {
			return
		}
		visiting[name] = true
		o := f.v.Global(name)
		var deps []string
		if p := o.Proto(); p != nil {
			if n, ok := f.named[p]; ok {
				deps = append(deps, n)
			}
		}
		for _, t := range o.TraitObjects() {
			if n, ok := f.named[t]; ok {
				deps = append(deps, n)
			}
		}
		sort.Strings(deps)
		for _, d := range deps {
			visit(d)
		}
		done[name] = true
		out = append(out, name)
	}
	for _, n := range names {
		visit(n)
	}
	return out
}

func isKernel(o *vm.Object) bool { return o.OID() != 0 && o.OID() < vm.FirstFreeOID }

// object renders one named object; it returns "" for a kernel object with
// nothing user-made, and the link lines for _links.lua.
func (f *fileouter) object(name string, o *vm.Object) (string, []string) {
	v := f.v
	var sb strings.Builder
	var links []string
	kernel := isKernel(o)
	fmt.Fprintf(&sb, "-- %s (filed out by Phoenix; load with: phoenix filein DIR)\n", name)
	body := 0
	if !kernel {
		switch o.Kind() {
		case vm.KindTrait:
			fmt.Fprintf(&sb, "%s = %s or Trait:clone()\n", name, name)
		default:
			proto := "Object"
			if p := o.Proto(); p != nil {
				if n, ok := f.named[p]; ok {
					proto = n
				} else {
					f.rep.Skipped = append(f.rep.Skipped, name+" (prototype is unnamed; filed out as a clone of Object)")
				}
			}
			fmt.Fprintf(&sb, "%s = %s or %s:clone()\n", name, name, proto)
			fmt.Fprintf(&sb, "reflect(%s):setProto(%s)\n", name, proto)
		}
	}
	if o.Kind() == vm.KindObject && len(o.Traits()) > 0 {
		var parts []string
		for _, u := range o.Traits() {
			t, err := v.Object(u.Trait)
			if err != nil {
				continue
			}
			tn, ok := f.named[t]
			if !ok {
				f.rep.Skipped = append(f.rep.Skipped, name+" uses an unnamed trait")
				continue
			}
			expr := tn
			if len(u.Exclude) > 0 {
				ex := append([]string(nil), u.Exclude...)
				sort.Strings(ex)
				q := make([]string, len(ex))
				for i, e := range ex {
					q[i] = luaQuote(e)
				}
				expr += ":exclude(" + strings.Join(q, ", ") + ")"
			}
			if len(u.Aliases) > 0 {
				al := append([]vm.Alias(nil), u.Aliases...)
				sort.Slice(al, func(i, j int) bool { return al[i].New < al[j].New })
				q := make([]string, len(al))
				for i, a := range al {
					q[i] = tableKey(a.New) + " = " + luaQuote(a.Old)
				}
				expr += ":alias({" + strings.Join(q, ", ") + "})"
			}
			parts = append(parts, expr)
		}
		sort.Strings(parts)
		fmt.Fprintf(&sb, "%s:uses(%s)\n", name, strings.Join(parts, ", "))
		body++
	}
	if o.Kind() == vm.KindObject {
		for _, k := range o.SlotNames() {
			val := o.T().RawGet(k)
			target := name + slotSuffix(k)
			if ro := v.ObjectOf(val); ro != nil && ro.Kind() != vm.KindTable {
				if n, ok := f.named[ro]; ok {
					links = append(links, target+" = "+n)
				} else {
					f.rep.Skipped = append(f.rep.Skipped, target+" (an unnamed object)")
				}
				continue
			}
			lit, ok := f.literal(val, 0, map[*lua.LTable]bool{})
			if !ok {
				f.rep.Skipped = append(f.rep.Skipped, target)
				continue
			}
			fmt.Fprintf(&sb, "%s = %s\n", target, lit)
			body++
		}
	}
	for _, sel := range o.MethodNames() {
		src, _ := v.MethodSource(o, sel)
		if strings.HasPrefix(src, "-- primitive ") || src == "" {
			continue // primitives come with every image
		}
		sb.WriteString("\n")
		sb.WriteString(methodText(name, sel, src))
		sb.WriteString("\n")
		f.rep.Methods++
		body++
	}
	if kernel && body == 0 {
		return "", links
	}
	return sb.String(), links
}

// methodText renders a method as a definition on name.
func methodText(name, sel, src string) string {
	fs, err := luasrc.Funcs(src)
	if err == nil && len(fs) > 0 && fs[0].Method && fs[0].Receiver == name && fs[0].Selector == sel {
		return src
	}
	expr, _, err := luasrc.Expression(src)
	if err != nil {
		expr = src
	}
	return name + slotSuffix(lua.LString(sel)) + " = " + expr
}

func slotSuffix(k lua.LValue) string {
	if s, ok := k.(lua.LString); ok && luaIdent(string(s)) {
		return "." + string(s)
	}
	if s, ok := k.(lua.LString); ok {
		return "[" + luaQuote(string(s)) + "]"
	}
	return "[" + luaNumber(float64(k.(lua.LNumber))) + "]"
}

// literal renders nil, booleans, numbers, strings and plain tables of them.
func (f *fileouter) literal(val lua.LValue, depth int, seen map[*lua.LTable]bool) (string, bool) {
	switch x := val.(type) {
	case *lua.LNilType:
		return "nil", true
	case lua.LBool:
		return x.String(), true
	case lua.LNumber:
		return luaNumber(float64(x)), true
	case lua.LString:
		return luaQuote(string(x)), true
	case *lua.LTable:
		if f.v.ObjectOf(x) != nil && f.v.ObjectOf(x).Kind() != vm.KindTable || seen[x] || depth > 32 {
			return "", false
		}
		seen[x] = true
		defer delete(seen, x)
		var parts []string
		n := x.Len()
		for i := 1; i <= n; i++ {
			s, ok := f.literal(x.RawGetInt(i), depth+1, seen)
			if !ok {
				return "", false
			}
			parts = append(parts, s)
		}
		var keys []lua.LValue
		okAll := true
		x.ForEach(func(k, _ lua.LValue) {
			if num, isNum := k.(lua.LNumber); isNum && float64(num) == math.Trunc(float64(num)) && num >= 1 && int(num) <= n {
				return
			}
			switch k.(type) {
			case lua.LString, lua.LNumber, lua.LBool:
				keys = append(keys, k)
			default:
				okAll = false
			}
		})
		if !okAll {
			return "", false
		}
		sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
		for _, k := range keys {
			s, ok := f.literal(x.RawGet(k), depth+1, seen)
			if !ok {
				return "", false
			}
			var ks string
			switch kk := k.(type) {
			case lua.LString:
				ks = tableKey(string(kk))
			case lua.LNumber:
				ks = "[" + luaNumber(float64(kk)) + "]"
			default:
				ks = "[" + k.String() + "]"
			}
			parts = append(parts, ks+" = "+s)
		}
		return "{" + strings.Join(parts, ", ") + "}", true
	}
	return "", false
}

var luaKeywords = map[string]bool{"and": true, "break": true, "do": true, "else": true, "elseif": true, "end": true, "false": true, "for": true, "function": true, "if": true, "in": true, "local": true, "nil": true, "not": true, "or": true, "repeat": true, "return": true, "then": true, "true": true, "until": true, "while": true}

func luaIdent(s string) bool {
	if s == "" || luaKeywords[s] {
		return false
	}
	for i, c := range s {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

func luaNumber(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "math.huge"
	case math.IsInf(f, -1):
		return "-math.huge"
	case math.IsNaN(f):
		return "(0/0)"
	case f == math.Trunc(f) && math.Abs(f) < 1e15:
		if f == 0 && math.Signbit(f) {
			return "-0"
		}
		return strconv.FormatInt(int64(f), 10)
	}
	return strconv.FormatFloat(f, 'g', 17, 64)
}

// luaQuote quotes s as a Lua 5.1 string literal.
func luaQuote(s string) string {
	var sb strings.Builder
	sb.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '"':
			sb.WriteString(`\"`)
		case '\\':
			sb.WriteString(`\\`)
		case '\n':
			sb.WriteString(`\n`)
		case '\r':
			sb.WriteString(`\r`)
		case '\t':
			sb.WriteString(`\t`)
		default:
			if c < 32 || c == 127 {
				fmt.Fprintf(&sb, "\\%03d", c)
			} else {
				sb.WriteByte(c)
			}
		}
	}
	sb.WriteByte('"')
	return sb.String()
}

// Filein evaluates a fileout directory into the image as one transaction
// (author filein): the files named in MANIFEST in order, or every *.lua
// file in name order if there is no MANIFEST. A file that fails names
// itself and the line, and nothing of the filein is kept.
func Filein(ctx context.Context, v *vm.VM, dir string) ([]string, error) {
	var files []string
	if b, err := os.ReadFile(filepath.Join(dir, ManifestName)); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
				files = append(files, l)
			}
		}
	} else {
		m, err := filepath.Glob(filepath.Join(dir, "*.lua"))
		if err != nil {
			return nil, err
		}
		for _, p := range m {
			files = append(files, filepath.Base(p))
		}
		sort.Strings(files)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("filein: %s holds no Lua files", dir)
	}
	err := v.Do(ctx, vm.TxOptions{Author: vm.AuthorFilein}, func() error {
		for _, name := range files {
			src, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				return fmt.Errorf("filein: %w", err)
			}
			if _, err := v.Eval(ctx, string(src), vm.EvalOptions{Name: name, NoExpr: true}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return files, nil
}

// tableKey renders a string key in a table constructor.
func tableKey(s string) string {
	if luaIdent(s) {
		return s
	}
	return "[" + luaQuote(s) + "]"
}

// FileoutSource renders the named objects, with the named prototypes and
// traits they depend on, as one Lua chunk in load order (what a fileout
// directory holds for them, concatenated). The sandbox evaluates it in a
// fresh image to recreate the state a candidate method runs against.
func FileoutSource(v *vm.VM, names ...string) (string, error) {
	named := map[*vm.Object]string{}
	lobby := v.Lobby()
	for _, k := range lobby.SlotNames() {
		name, ok := k.(lua.LString)
		if !ok || !luaIdent(string(name)) {
			continue
		}
		if o := v.ObjectOf(lobby.T().RawGet(k)); o != nil && o.Kind() != vm.KindTable {
			if _, dup := named[o]; !dup {
				named[o] = string(name)
			}
		}
	}
	fo := &fileouter{v: v, named: named, rep: &FileoutReport{}}
	// The closure of the requested names over prototypes and traits.
	want := map[string]bool{}
	var add func(name string)
	add = func(name string) {
		if want[name] {
			return
		}
		o := v.Global(name)
		if o == nil {
			return
		}
		want[name] = true
		if p := o.Proto(); p != nil {
			if n, ok := named[p]; ok {
				add(n)
			}
		}
		for _, t := range o.TraitObjects() {
			if n, ok := named[t]; ok {
				add(n)
			}
		}
	}
	for _, n := range names {
		if v.Global(n) == nil {
			return "", fmt.Errorf("fileout: no object named %q", n)
		}
		add(n)
	}
	var all []string
	for n := range want {
		all = append(all, n)
	}
	var sb strings.Builder
	var links []string
	for _, name := range fo.order(all) {
		text, l := fo.object(name, v.Global(name))
		sb.WriteString(text)
		sb.WriteString("\n")
		for _, line := range l {
			// keep only links between objects that are part of the chunk
			if target := line[strings.LastIndex(line, "= ")+2:]; want[target] {
				links = append(links, line)
			}
		}
	}
	sort.Strings(links)
	for _, l := range links {
		sb.WriteString(l)
		sb.WriteString("\n")
	}
	return sb.String(), nil
}

// LuaLiteral renders a value as a Lua expression when it is a literal
// (nil, boolean, number, string, or a plain table of them) or a named
// object; ok is false otherwise.
func LuaLiteral(v *vm.VM, val lua.LValue) (string, bool) {
	if o := v.ObjectOf(val); o != nil && o.Kind() != vm.KindTable {
		if o == v.Lobby() {
			return "Lobby", true
		}
		if n := o.Name(); n != "" && v.Global(n) == o {
			return n, true
		}
		return "", false
	}
	fo := &fileouter{v: v, rep: &FileoutReport{}}
	return fo.literal(val, 0, map[*lua.LTable]bool{})
}
