package luasrc

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/parse"
)

// compile compiles src with gopher-lua and returns the main proto, or an
// error (gopher-lua panics are turned into errors).
func compile(src string) (proto *lua.FunctionProto, err error) {
	defer func() {
		if r := recover(); r != nil {
			proto, err = nil, fmt.Errorf("gopher-lua panic: %v", r)
		}
	}()
	chunk, err := parse.Parse(strings.NewReader(src), "test")
	if err != nil {
		return nil, err
	}
	if chunk == nil {
		return nil, fmt.Errorf("gopher-lua: no chunk")
	}
	return lua.Compile(chunk, "test")
}

// preorder lists the protos below p (p excluded) in pre-order.
func preorder(p *lua.FunctionProto) []*lua.FunctionProto {
	var out []*lua.FunctionProto
	var walk func(*lua.FunctionProto)
	walk = func(p *lua.FunctionProto) {
		for _, c := range p.FunctionPrototypes {
			out = append(out, c)
			walk(c)
		}
	}
	walk(p)
	return out
}

// lineAt returns the 1-based line of offset off, counting line breaks the
// way gopher-lua does.
func lineAt(src string, off int) int {
	s := newScanner(src)
	for s.pos < off {
		if c := src[s.pos]; c == '\n' || c == '\r' {
			s.newline()
		} else {
			s.pos++
		}
	}
	return s.line
}

// checkInvariant checks that funcs corresponds one-to-one to the pre-order
// of the proto tree gopher-lua compiles from src.
func checkInvariant(src string, funcs []Func, main *lua.FunctionProto) error {
	protos := preorder(main)
	if len(protos) != len(funcs) {
		return fmt.Errorf("%d funcs, %d protos", len(funcs), len(protos))
	}
	for i, f := range funcs {
		p := protos[i]
		want := f.Line
		if f.Name != "" {
			// gopher-lua dates a definition statement from its '('.
			want = lineAt(src, f.ParamsStart)
		}
		if p.LineDefined != want || p.LastLineDefined != f.LastLine {
			return fmt.Errorf("func %d (%q at %d): lines %d-%d (header line %d), proto %d-%d",
				i, f.Name, f.Start, f.Line, f.LastLine, want, p.LineDefined, p.LastLineDefined)
		}
		if !strings.HasPrefix(src[f.Start:], "function") || !strings.HasSuffix(src[:f.End], "end") {
			return fmt.Errorf("func %d: span %q", i, src[f.Start:f.End])
		}
		if src[f.ParamsStart] != '(' {
			return fmt.Errorf("func %d: ParamsStart at %q", i, src[f.ParamsStart])
		}
		np := len(f.Params)
		vararg := np > 0 && f.Params[np-1] == "..."
		if vararg {
			np--
		}
		if f.Method {
			np++
		}
		if int(p.NumParameters) != np || (p.IsVarArg&lua.VarArgIsVarArg != 0) != vararg {
			return fmt.Errorf("func %d: params %q method %v, proto %d params vararg %d",
				i, f.Params, f.Method, p.NumParameters, p.IsVarArg)
		}
	}
	return nil
}

var tricky = []string{
	``,
	`x = 1`,
	`function f() end`,
	`function f() end function g() end local function h() end`,
	`local t = { a = function() end, function(...) return ... end, [function() end] = 1 }`,
	"function A:m(a, b, ...)\n  local function inner(x)\n    return function() return x end\n  end\n  return inner\nend",
	"function a.b.c:d(x) end\nfunction a.b.c(x, y) end",
	"local s = 'function end' .. \"function \\\" end\" .. [[function\nend]] .. [==[\n]] function ]=] end\n]==]\nfunction f() end",
	"-- function f() end\n--[[ function\nf() end ]] --[==[ ]] end ]=] function ]==]\nfunction g() return 1 end",
	"local t = {}\nt.end_ = 1\nt.do_ = function() do end end\nfunction t.if_() if t.end_ then return end end",
	"function f()\n  for i = 1, 10 do\n    while i < 3 do i = i + 1 end\n  end\n  for k, v in pairs({}) do end\n  repeat local x = function() end until x\n  if a then elseif b then else end\n  do end\nend",
	"f(function() end)(function() end):m(function() end)",
	"local x = a and function() end or function() end",
	"local x = 1e10 local y = 0x1F local z = .5 function f() return 3.25e-3 end",
	"function\nf\n(\na\n,\nb\n)\nreturn a\nend",
	"local f = function\n(x) return x end",
	"function f() return 'it\\'s' .. \"\\\\\" end",
	"s = \"a\\\nb\" function f() end",
	"local a = {[[x]], [=[y]=]} function f() return a[1] end",
	"repeat local f = function() end until f ~= nil",
	"if x then y = 1 end function f() end",
	"function f() return end",
	"function f() return function() return function() end end end",
	"t = {f = function(self) return self end, g = function() end}; t:f()",
	"function outer()\n  local t = {\n    function() end,\n    n = function() end,\n  }\n  return t\nend\nfunction other() end",
	"local s = '--' function f() end --[[\n]] function g() end",
	"x = a.b.c:d(function() end)",
	"::top:: goto top function f() end",
	"x = #t + -1 - -2 ~= 3 <= 4 >= 5 == 6 function f() end",
	"function f(...) local t = {...} return #t end",
	"local a = [[\r\nfunction\r\n]] function f()\r\nend\r\n",
	"local a = 'x'\n\rfunction f()\n\rreturn\n\rend",
	"function f() end -- trailing",
	"local f; f = function() end",
	"while true do break end function f() end",
	"function f() local t = {} t.function_ = 1 return t end",
	"x = 1 ..2 function f() end",
	"x = a..b..'c' function f() end",
	"function f() return x == [[]] end",
	"--[=[ a ]] b ]=] function f() end",
	"for i = 1, 2, function() end do end",
	"t[function() end] = function() end",
	"a, b = function() end, function() end",
	"x = 1e\n5 function f() end",
	"x = 1E-5 y = 08 function f() end",
	"x = 'a\\\r\nb' function f()\nend",
	"x = 'a\\\n\rb' function f()\nend",
	"x = [==[ ]=] ]===] ]==] function f() end",
	"f{function() end} f'x' f[[y]]",
	"x = a[ [[s]] ] function f() end",
	"local function f\n() end",
}

func TestInvariant(t *testing.T) {
	for _, src := range tricky {
		main, err := compile(src)
		if err != nil {
			t.Errorf("gopher-lua does not compile %q: %v", src, err)
			continue
		}
		funcs, err := Funcs(src)
		if err != nil {
			t.Errorf("Funcs(%q): %v", src, err)
			continue
		}
		if err := checkInvariant(src, funcs, main); err != nil {
			t.Errorf("%q: %v", src, err)
		}
	}
}

func TestFuncs(t *testing.T) {
	src := "local s = 'function'\n" +
		"function Account:deposit(n)\n" +
		"  self.balance = self.balance + n\n" +
		"end\n" +
		"function a.b.c(x, ...) return function() end end\n" +
		"local function helper(a, b) end\n" +
		"function f() end"
	got, err := Funcs(src)
	if err != nil {
		t.Fatal(err)
	}
	want := []Func{
		{Name: "Account:deposit", Receiver: "Account", Selector: "deposit", Method: true, Params: []string{"n"}, Line: 2, LastLine: 4},
		{Name: "a.b.c", Receiver: "a.b", Selector: "c", Params: []string{"x", "..."}, Line: 5, LastLine: 5},
		{Line: 5, LastLine: 5},
		{Name: "helper", Selector: "helper", Local: true, Params: []string{"a", "b"}, Line: 6, LastLine: 6},
		{Name: "f", Selector: "f", Line: 7, LastLine: 7},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d funcs: %+v", len(got), got)
	}
	for i, g := range got {
		w := want[i]
		w.Start, w.End, w.ParamsStart = g.Start, g.End, g.ParamsStart
		if !reflect.DeepEqual(g, w) {
			t.Errorf("func %d:\n got %+v\nwant %+v", i, g, w)
		}
	}
	if s := src[got[0].Start:got[0].End]; s != "function Account:deposit(n)\n  self.balance = self.balance + n\nend" {
		t.Errorf("span 0 = %q", s)
	}
	if s := src[got[2].Start:got[2].End]; s != "function() end" {
		t.Errorf("span 2 = %q", s)
	}
	if src[got[1].ParamsStart:got[1].ParamsStart+3] != "(x," {
		t.Errorf("ParamsStart 1 wrong")
	}

	// A name written with spaces and comments is normalised.
	got, err = Funcs("function a . b --[[c]] : c ( self2 ) end")
	if err != nil {
		t.Fatal(err)
	}
	if f := got[0]; f.Name != "a.b:c" || f.Receiver != "a.b" || f.Selector != "c" || !f.Method {
		t.Errorf("got %+v", f)
	}
}

func TestFuncsErrors(t *testing.T) {
	for src, want := range map[string]string{
		"x = 'abc":                      "line 1: unterminated string",
		"x = 1\nx = \"ab\nc\"":          "line 2: unterminated string",
		"x = [[\n\nabc":                 "line 1: unterminated long string",
		"x = 1\n--[==[ ]] ]=]":          "line 2: unterminated long comment",
		"function f()\n  if x then end": "line 1: 'function' without a matching 'end'",
		"function f() end end":          "line 1: unexpected 'end'",
		"repeat end":                    "line 1: 'end' does not close 'repeat'",
		"do until x":                    "line 1: 'until' does not close 'do'",
		"\nwhile x do":                  "line 2: 'do' without a matching 'end'",
		"function 3() end":              "malformed function header",
		"local function a.b() end":      "malformed function header",
		"function f(a b) end":           "malformed function header",
		"function f(..., a) end":        "malformed function header",
		"x = [=x":                       "invalid long string delimiter",
	} {
		_, err := Funcs(src)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Funcs(%q) error = %v, want %q", src, err, want)
		}
	}
}

func TestHeader(t *testing.T) {
	for _, c := range []struct {
		r, s string
		p    []string
		want string
	}{
		{"Account", "deposit", []string{"n"}, "function Account:deposit(n)"},
		{"Account", "balance", nil, "function Account:balance()"},
		{"a.b", "f", []string{"x", "y", "..."}, "function a.b:f(x, y, ...)"},
		{"", "f", []string{"x"}, "function f(x)"},
	} {
		if got := Header(c.r, c.s, c.p); got != c.want {
			t.Errorf("Header(%q, %q, %q) = %q, want %q", c.r, c.s, c.p, got, c.want)
		}
	}
}

// lineInfo is the line information of a proto tree.
type lineInfo struct {
	Defined, Last int
	Positions     []int
	Children      []lineInfo
}

func linesOf(p *lua.FunctionProto) lineInfo {
	li := lineInfo{Defined: p.LineDefined, Last: p.LastLineDefined, Positions: p.DbgSourcePositions}
	for _, c := range p.FunctionPrototypes {
		li.Children = append(li.Children, linesOf(c))
	}
	return li
}

// checkExpression checks that Expression(src) compiles, as `return <expr>`,
// to a function with the line information src's function has when compiled
// as a chunk (src itself, or `return src` if src is anonymous).
func checkExpression(src string) error {
	expr, f, err := Expression(src)
	if err != nil {
		return err
	}
	orig := src
	if f.Name == "" {
		orig = "return " + src
	}
	om, err := compile(orig)
	if err != nil {
		return fmt.Errorf("original does not compile: %v", err)
	}
	em, err := compile("return " + expr)
	if err != nil {
		return fmt.Errorf("expression %q does not compile: %v", expr, err)
	}
	if len(om.FunctionPrototypes) != 1 || len(em.FunctionPrototypes) != 1 {
		return fmt.Errorf("expected one function each, got %d and %d", len(om.FunctionPrototypes), len(em.FunctionPrototypes))
	}
	o, e := om.FunctionPrototypes[0], em.FunctionPrototypes[0]
	if !reflect.DeepEqual(linesOf(o), linesOf(e)) {
		return fmt.Errorf("line info differs:\n orig %+v\n expr %+v\n (expression %q)", linesOf(o), linesOf(e), expr)
	}
	if o.NumParameters != e.NumParameters || o.IsVarArg != e.IsVarArg {
		return fmt.Errorf("parameters differ: %d/%d vs %d/%d", o.NumParameters, o.IsVarArg, e.NumParameters, e.IsVarArg)
	}
	return nil
}

func TestExpression(t *testing.T) {
	for _, c := range []struct{ src, want string }{
		{"function Account:deposit(n) self.b = self.b + n end", "function(self, n) self.b = self.b + n end"},
		{"function Account:f() end", "function(self) end"},
		{"function A.f(x) return x end", "function(x) return x end"},
		{"function A.b.c:f(x, ...) end", "function(self, x, ...) end"},
		{"function f(a,b) end", "function(a, b) end"},
		{"function(self, n) return n end", "function(self, n) return n end"},
		{"  -- comment\nfunction A:f()\n  return 1\nend -- done\n", "  -- comment\nfunction(self)\n  return 1\nend -- done\n"},
		{"function A:f\n(\nx\n)\nreturn x\nend", "\nfunction(self, x)\n\n\nreturn x\nend"},
		{"function --[[ a\n]] A:f(x) return x end", "\nfunction(self, x) return x end"},
	} {
		got, _, err := Expression(c.src)
		if err != nil {
			t.Errorf("Expression(%q): %v", c.src, err)
			continue
		}
		if got != c.want {
			t.Errorf("Expression(%q) = %q, want %q", c.src, got, c.want)
		}
		if err := checkExpression(c.src); err != nil {
			t.Errorf("%q: %v", c.src, err)
		}
	}
	_, f, err := Expression("function Account:deposit(n) end")
	if err != nil || f.Name != "Account:deposit" || !f.Method || !reflect.DeepEqual(f.Params, []string{"n"}) {
		t.Errorf("Func = %+v, %v", f, err)
	}
	for _, src := range []string{
		"",
		"x = 1",
		"local function f() end",
		"x = function() end",
		"function f() end function g() end",
		"function f() end x",
		"function f() end;",
		"return function() end",
		"function f()",
	} {
		if _, _, err := Expression(src); err == nil {
			t.Errorf("Expression(%q): no error", src)
		}
	}
}

// TestExpressionTricky round-trips every function of the tricky chunks.
func TestExpressionTricky(t *testing.T) {
	for _, src := range tricky {
		funcs, err := Funcs(src)
		if err != nil {
			t.Fatalf("Funcs(%q): %v", src, err)
		}
		for _, f := range funcs {
			// Keep the function on its original lines.
			fsrc := strings.Repeat("\n", f.Line-1) + src[f.Start:f.End]
			if err := checkExpression(fsrc); err != nil {
				t.Errorf("%q: %v", fsrc, err)
			}
		}
	}
}

func FuzzFuncs(f *testing.F) {
	for _, src := range tricky {
		f.Add(src)
	}
	f.Fuzz(func(t *testing.T, src string) {
		funcs, ferr := Funcs(src)
		for _, fn := range funcs {
			_, _, _ = Expression(src[fn.Start:fn.End])
		}
		main, err := compile(src)
		if err != nil {
			return
		}
		if ferr != nil {
			t.Fatalf("gopher-lua compiles %q but Funcs fails: %v", src, ferr)
		}
		if err := checkInvariant(src, funcs, main); err != nil {
			t.Fatalf("%q: %v", src, err)
		}
		for _, fn := range funcs {
			fsrc := src[fn.Start:fn.End]
			if fn.Name == "" {
				if _, err := compile("return " + fsrc); err != nil {
					continue // e.g. uses ... or break from its context
				}
			} else if _, err := compile(fsrc); err != nil {
				continue
			}
			if err := checkExpression(strings.Repeat("\n", fn.Line-1) + fsrc); err != nil {
				t.Fatalf("%q: function %d: %v", src, fn.Start, err)
			}
		}
	})
}

func BenchmarkFuncs(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("-- A class with a few methods.\nlocal Account = {}\nAccount.__index = Account\n\n")
	for i := 0; sb.Len() < 1<<20 && strings.Count(sb.String(), "\n") < 190; i++ {
		fmt.Fprintf(&sb, `function Account:method%d(n, ...)
  local s = "end function \" do" .. 'if' .. [[
repeat ]] -- function end
  for i = 1, n do
    if i %% 2 == 0 then self.total = self.total + i elseif i > 10 then break end
  end
  return function(x) return x * %d end
end

`, i, i)
	}
	src := sb.String()
	if _, err := Funcs(src); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		Funcs(src)
	}
}
