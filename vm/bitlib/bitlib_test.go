package bitlib

import (
	"math"
	"os"
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"
)

// TestBitLua runs the Lua assertions in testdata/bit.lua against Open.
func TestBitLua(t *testing.T) {
	src, err := os.ReadFile("testdata/bit.lua")
	if err != nil {
		t.Fatal(err)
	}
	L := lua.NewState()
	defer L.Close()
	Open(L)
	fn, err := L.Load(strings.NewReader(string(src)), "testdata/bit.lua")
	if err != nil {
		t.Fatalf("compiling bit.lua: %v", err)
	}
	L.Push(fn)
	if err := L.PCall(0, 1, nil); err != nil {
		t.Fatalf("bit.lua: %v", err)
	}
	n, ok := L.Get(-1).(lua.LNumber)
	if !ok || n < 200 {
		t.Fatalf("bit.lua returned %v, want the number of assertions (>= 200)", L.Get(-1))
	}
	t.Logf("%d Lua assertions passed", int(n))
}

// TestOpenAndLoader checks both ways of installing the library.
func TestOpenAndLoader(t *testing.T) {
	L := lua.NewState()
	defer L.Close()
	tb := Open(L)
	if L.GetGlobal("bit") != tb {
		t.Fatal("Open did not set the global bit to the returned table")
	}
	if err := L.DoString(`assert(require("bit") == bit)`); err != nil {
		t.Fatalf("require after Open: %v", err)
	}

	L2 := lua.NewState()
	defer L2.Close()
	L2.PreloadModule("bit", Loader)
	if err := L2.DoString(`
		assert(bit == nil)
		local b = require("bit")
		assert(b.tohex(b.bor(0xf0, 0x0f), 2) == "ff")
		assert(require("bit") == b)
	`); err != nil {
		t.Fatalf("require via Loader: %v", err)
	}
}

func TestToBit(t *testing.T) {
	cases := []struct {
		in   float64
		want int32
	}{
		{0, 0}, {math.Copysign(0, -1), 0}, {1, 1}, {-1, -1},
		{0xffffffff, -1}, {1 << 32, 0}, {1<<32 + 1, 1}, {1<<40 + 1234, 1234},
		{0x80000000, math.MinInt32}, {-0x80000001, math.MaxInt32},
		{0.5, 0}, {1.5, 2}, {2.5, 2}, {-1.5, -2}, {-2.5, -2}, {1.25, 1},
		{math.Inf(1), 0}, {math.Inf(-1), 0},
	}
	for _, c := range cases {
		if got := ToBit(c.in); got != c.want {
			t.Errorf("ToBit(%v) = %d, want %d", c.in, got, c.want)
		}
	}
	// Integers below 2^51 in magnitude reduce modulo 2^32.
	for _, x := range []int64{3, -3, 1<<50 - 7, -(1 << 50) + 7, 0x123456789ab} {
		if got, want := ToBit(float64(x)), int32(x); got != want {
			t.Errorf("ToBit(%d) = %d, want %d", x, got, want)
		}
	}
}

func BenchmarkBitOps(b *testing.B) {
	L := lua.NewState()
	defer L.Close()
	Open(L)
	if err := L.DoString(`
		local band, bxor, lshift, rshift, rol = bit.band, bit.bxor, bit.lshift, bit.rshift, bit.rol
		function bench(n)
			local h = 0x811c9dc5
			for i = 1, n do
				h = bxor(h, band(i, 0xff))
				h = rol(h, 5) + lshift(h, 3) + rshift(h, 2)
			end
			return h
		end
	`); err != nil {
		b.Fatal(err)
	}
	bench := L.GetGlobal("bench")
	b.ReportAllocs()
	b.ResetTimer()
	// Each iteration of the Lua loop makes 5 bit calls.
	if err := L.CallByParam(lua.P{Fn: bench, NRet: 1, Protect: true}, lua.LNumber(b.N)); err != nil {
		b.Fatal(err)
	}
	L.Pop(1)
}

func BenchmarkTohex(b *testing.B) {
	L := lua.NewState()
	defer L.Close()
	tohex := Open(L).RawGetString("tohex")
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if err := L.CallByParam(lua.P{Fn: tohex, NRet: 1, Protect: true}, lua.LNumber(i), lua.LNumber(-8)); err != nil {
			b.Fatal(err)
		}
		L.Pop(1)
	}
}
