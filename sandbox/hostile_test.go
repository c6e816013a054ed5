package sandbox

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// hostileCase is a candidate (or its tests, or its call) that tries to do
// harm. It must come back not OK, or OK but harmless (it changed only its
// own throwaway image).
type hostileCase struct {
	name     string
	edit     func(q *Request)
	harmless bool                          // may pass: its effect stays in the throwaway image
	check    func(t *testing.T, r *Result) // extra checks, optional
}

func method(body string) func(q *Request) {
	return func(q *Request) {
		q.Source = "function Account:withdraw(n)\n" + body + "\nend"
	}
}

func call(src string) func(q *Request) {
	return func(q *Request) { q.Call = src }
}

func wants(field func(r *Result) string, substrs ...string) func(t *testing.T, r *Result) {
	return func(t *testing.T, r *Result) {
		t.Helper()
		got := field(r)
		for _, s := range substrs {
			if !strings.Contains(got, s) {
				t.Errorf("want %q in %q", s, got)
			}
		}
	}
}

// memoryError checks that a memory bomb ended as a sandbox failure: the
// watchdog's error, or the Go runtime's at the rlimit.
func memoryError(t *testing.T, r *Result) {
	t.Helper()
	if !strings.Contains(r.Error, "memory") {
		t.Errorf("want a memory error, got %+v", r)
	}
}

func callErr(r *Result) string { return r.CallError }
func sbErr(r *Result) string   { return r.Error }
func anyErr(r *Result) string {
	s := r.Error + "|" + r.CompileError + "|" + r.CallError
	for _, o := range r.Tests {
		s += "|" + o.Message
	}
	return s
}

// pwned is where hostile code tries to write on the host.
const pwned = "/tmp/phoenix-sandbox-pwned"

func hostileCases() []hostileCase {
	return []hostileCase{
		{name: "os.execute", edit: call(`return os.execute("touch ` + pwned + `")`), check: wants(callErr, "attempt to call a nil value")},
		{name: "io.open write", edit: method(`local f = io.open("` + pwned + `", "w"); f:write("x"); f:close(); return self`), check: wants(anyErr, "'open'")},
		{name: "io.open read", edit: call(`return io.open("/etc/passwd"):read("*a")`)},
		{name: "dofile", edit: call(`return dofile("/etc/passwd")`)},
		{name: "loadfile", edit: call(`return loadfile("/phoenix")()`)},
		{name: "require", edit: call(`local os = require("os"); return os.execute("id")`)},
		{name: "require socket", edit: call(`local s = require("socket"); return s.connect("1.1.1.1", 80)`)},
		{name: "os.remove and rename", edit: call(`os.remove("/phoenix"); return os.rename("/phoenix", "/tmp/x")`)},
		{name: "os.exit", edit: call(`os.exit(0)`)},
		{name: "os.getenv", edit: call(`return os.getenv("HOME")`)},
		{name: "debug library", edit: call(`return debug.getregistry()`)},
		{name: "collectgarbage", edit: call(`return collectgarbage("count")`)},
		{name: "getfenv(0) escape", edit: call(`local g = getfenv(0); return g.io.open("/etc/passwd")`)},
		{name: "getfenv of a library function", edit: call(`local g = getfenv(print); return (g.io or g.package or g.debug).open`)},
		{name: "setfenv swaps the globals", edit: call(`setfenv(0, {}); setfenv(1, {x = 1}); return io.open`)},
		{name: "metatable of the globals", edit: call(`return setmetatable(_G, nil)`)},
		{name: "string metatable", edit: call(`local mt = getmetatable(""); mt.__index = {rep = function() return "pwn" end}; return ("x"):rep(2)`), harmless: true},
		{name: "loadstring of bytecode", edit: call(`local f = assert(loadstring(string.char(27, 76, 117, 97, 81, 0, 1, 4, 8, 4, 8, 0))); return f()`), check: wants(callErr, "")},
		{name: "string.dump", edit: call(`return loadstring(string.dump(function() return 1 end))()`)},
		{name: "memory bomb string.rep", edit: call(`local s = string.rep("x", 2^30); return #s`), check: memoryError},
		{name: "memory bomb string.rep 2^31", edit: call(`local s = string.rep("x", 2^31); return #s`), check: memoryError},
		{name: "memory bomb doubling", edit: call(`local s = "x"; while true do s = s .. s end`)},
		{name: "table growth bomb", edit: func(q *Request) {
			q.Call = `local t = {}; local i = 0; while true do i = i + 1; t[i] = {i, i, i, i} end`
			q.Budget = 4 * time.Second
		}},
		{name: "unpack bomb", edit: call(`return select("#", unpack({}, 1, 1e8))`)},
		{name: "coroutine bomb", edit: call(`local t = {}; for i = 1, 1e7 do t[i] = coroutine.create(function() end); coroutine.resume(t[i]) end; return #t`)},
		{name: "infinite loop in the method", edit: method(`while true do end`)},
		{name: "deep recursion", edit: method(`return 1 + self:withdraw(n + 1)`), check: wants(anyErr, "stack overflow")},
		{name: "endless tail calls", edit: method(`return self:withdraw(n + 1)`)},
		{name: "pcall recursion", edit: call(`local f; f = function() return select(2, pcall(f)) end; return f()`), harmless: true, check: wants(func(r *Result) string { return r.CallResult }, "stack overflow")},
		{name: "metamethod recursion", edit: call(`local t = setmetatable({}, {__index = function(t, k) return t[k .. "x"] end}); return t.a`)},
		{name: "test loops forever", edit: func(q *Request) {
			q.Tests += "\nfunction ProposalTest:testForever() while true do end end"
		}, check: func(t *testing.T, r *Result) {
			if r.Failed == 0 {
				t.Error("a looping test must fail")
			}
		}},
		{name: "error with a looping __tostring", edit: call(`error(setmetatable({}, {__tostring = function() while true do end end}))`)},
		{name: "output flood", edit: call(`while true do print(string.rep("flood", 200)) end`), check: func(t *testing.T, r *Result) {
			if len(r.Output) > MaxOutput+200 || !strings.Contains(r.Output, "[output truncated") {
				t.Errorf("output not capped: %d bytes", len(r.Output))
			}
		}},
		{name: "method redefines Object:clone", edit: method(`Object.clone = function() error("pwned clone") end; return self`)},
		{name: "tests redefine Object:clone", edit: func(q *Request) {
			q.Tests = "function Object:clone() error('pwned clone') end\n" + q.Tests
		}, check: wants(anyErr, "pwned clone")},
		{name: "huge error message", edit: call(`error(string.rep("e", 1e7))`), check: func(t *testing.T, r *Result) {
			if len(r.CallError) > MaxMessage+200 || !strings.Contains(r.CallError, "truncated") {
				t.Errorf("error message not capped: %d bytes", len(r.CallError))
			}
		}},
		{name: "redefines TestCase so everything passes", edit: func(q *Request) {
			q.Source = "function Account:withdraw(n) return nil end"
			q.Tests = "TestCase.assertEquals = function() end\nTestCase.assert = function() end\n" + q.Tests
			q.Call = "return 1"
		}, harmless: true},
		{name: "replaces the Lobby's globals", edit: call(`for k in pairs(getfenv(0)) do end; Account = nil; Object = nil; TestCase = nil; error("gone")`)},
		{name: "huge string.format width", edit: call(`return #string.format("%099999999d", 1)`), harmless: true},
	}
}

func TestHostileCorpus(t *testing.T) {
	// A smaller CPU limit than the default, so that a candidate that
	// escapes the budget inside Go code meets it sooner.
	v := newRunsc(t, RunscOptions{CPUSeconds: 3, Timeout: 6 * time.Second})
	cwd, _ := os.Getwd()
	marker := filepath.Join(t.TempDir(), "phoenix-sandbox-marker") // per run: test runs may overlap
	if err := os.WriteFile(marker, []byte("untouched"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Remove(pwned)
	before := dirList(t, cwd)

	cases := hostileCases()
	if len(cases) < 20 {
		t.Fatalf("only %d hostile cases", len(cases))
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			q := goodRequest()
			q.Budget = time.Second
			c.edit(q)
			start := time.Now()
			r, err := v.Validate(context.Background(), q)
			if err != nil {
				t.Fatalf("infrastructure error: %v", err)
			}
			t.Logf("%v OK=%v Error=%.300q Compile=%.100q Call=%.100q Result=%.80q Passed=%d Failed=%d RSS=%dKB",
				time.Since(start).Round(time.Millisecond), r.OK, r.Error, r.CompileError, firstLine(r.CallError), r.CallResult, r.Passed, r.Failed, r.MaxRSSKB)
			if r.OK && !c.harmless {
				t.Errorf("hostile candidate validated as OK: %+v", r)
			}
			if c.check != nil {
				c.check(t, r)
			}
		})
	}

	if b, err := os.ReadFile(marker); err != nil || string(b) != "untouched" {
		t.Errorf("host marker file changed: %q %v", b, err)
	}
	if _, err := os.Stat(pwned); err == nil {
		t.Errorf("%s was created on the host", pwned)
	}
	if after := dirList(t, cwd); !slices.Equal(before, after) {
		t.Errorf("the host's working directory changed:\nbefore %v\nafter  %v", before, after)
	}
	// The pool is whole again and serves.
	r, err := v.Validate(context.Background(), goodRequest())
	if err != nil || !r.OK {
		t.Fatalf("after the corpus: %v %+v", err, r)
	}
	if ids := v.ids(); len(ids) != 1 {
		t.Errorf("sandboxes after the corpus: %v", ids)
	}
	// The root filesystem still holds only the binary.
	if got := dirList(t, v.rootfs); !slices.Equal(got, []string{"phoenix"}) {
		t.Errorf("rootfs holds %v", got)
	}
}

// TestHostileInProcess runs the corpus cases that are safe for the host
// process (not the memory bombs) in process: the image's library and the
// budget must contain them too.
func TestHostileInProcess(t *testing.T) {
	for _, c := range hostileCases() {
		if strings.Contains(c.name, "bomb") {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			q := goodRequest()
			q.Budget = time.Second
			c.edit(q)
			r := Run(context.Background(), q)
			if r.OK && !c.harmless {
				t.Errorf("hostile candidate validated as OK: %+v", r)
			}
		})
	}
	if _, err := os.Stat(pwned); err == nil {
		t.Errorf("%s was created on the host", pwned)
	}
}

func dirList(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}
