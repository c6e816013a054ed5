package bitlib

import (
	"math"

	lua "github.com/yuin/gopher-lua"
)

// ModuleName is the name under which the library is installed.
const ModuleName = "bit"

// funcs lists the library's functions in BitOp's order.
var funcs = []struct {
	name string
	fn   lua.LGFunction
}{
	{"tobit", bitTobit},
	{"bnot", bitBnot},
	{"band", bitBand},
	{"bor", bitBor},
	{"bxor", bitBxor},
	{"lshift", bitLshift},
	{"rshift", bitRshift},
	{"arshift", bitArshift},
	{"rol", bitRol},
	{"ror", bitRor},
	{"bswap", bitBswap},
	{"tohex", bitTohex},
}

// newModule builds a fresh bit table.
func newModule(L *lua.LState) *lua.LTable {
	t := L.CreateTable(0, len(funcs))
	for _, f := range funcs {
		t.RawSetString(f.name, L.NewFunction(f.fn))
	}
	return t
}

// Open creates the bit table, stores it as the global "bit" (and in
// package.loaded.bit when the package library is open, so that require "bit"
// finds it) and returns it.
func Open(L *lua.LState) *lua.LTable {
	t := newModule(L)
	L.SetGlobal(ModuleName, t)
	if loaded, ok := L.GetField(L.Get(lua.RegistryIndex), "_LOADED").(*lua.LTable); ok {
		loaded.RawSetString(ModuleName, t)
	}
	return t
}

// Loader is a gopher-lua module loader: it pushes a new bit table and returns
// 1. Register it with L.PreloadModule("bit", bitlib.Loader).
func Loader(L *lua.LState) int {
	L.Push(newModule(L))
	return 1
}

// ToBit normalises a Lua number to a signed 32-bit integer exactly as BitOp
// does: add 2^52+2^51 and take the low 32 bits of the IEEE-754 result. For
// integers this is reduction modulo 2^32; non-integral numbers are rounded to
// nearest, ties to even.
func ToBit(n float64) int32 {
	return int32(uint32(math.Float64bits(n + 6755399441055744.0)))
}

// checkBit fetches argument idx and normalises it with ToBit. Numbers and
// strings convertible to numbers are accepted; anything else (including a
// missing argument) raises a "bad argument" error.
func checkBit(L *lua.LState, idx int) uint32 {
	if n, ok := L.Get(idx).(lua.LNumber); ok {
		return uint32(ToBit(float64(n)))
	}
	if idx > L.GetTop() {
		L.ArgError(idx, "number expected, got no value")
	}
	return uint32(ToBit(float64(L.CheckNumber(idx))))
}

func ret(L *lua.LState, b uint32) int {
	L.Push(lua.LNumber(int32(b)))
	return 1
}

func bitTobit(L *lua.LState) int { return ret(L, checkBit(L, 1)) }
func bitBnot(L *lua.LState) int  { return ret(L, ^checkBit(L, 1)) }

func bitBand(L *lua.LState) int {
	b := checkBit(L, 1)
	for i := L.GetTop(); i > 1; i-- {
		b &= checkBit(L, i)
	}
	return ret(L, b)
}

func bitBor(L *lua.LState) int {
	b := checkBit(L, 1)
	for i := L.GetTop(); i > 1; i-- {
		b |= checkBit(L, i)
	}
	return ret(L, b)
}

func bitBxor(L *lua.LState) int {
	b := checkBit(L, 1)
	for i := L.GetTop(); i > 1; i-- {
		b ^= checkBit(L, i)
	}
	return ret(L, b)
}

// shiftArgs returns the value and the shift count (low 5 bits only).
func shiftArgs(L *lua.LState) (uint32, uint32) {
	b := checkBit(L, 1)
	return b, checkBit(L, 2) & 31
}

func bitLshift(L *lua.LState) int {
	b, n := shiftArgs(L)
	return ret(L, b<<n)
}

func bitRshift(L *lua.LState) int {
	b, n := shiftArgs(L)
	return ret(L, b>>n)
}

func bitArshift(L *lua.LState) int {
	b, n := shiftArgs(L)
	return ret(L, uint32(int32(b)>>n))
}

func bitRol(L *lua.LState) int {
	b, n := shiftArgs(L)
	return ret(L, b<<n|b>>(32-n)) // Go: shifting a uint32 by 32 yields 0
}

func bitRor(L *lua.LState) int {
	b, n := shiftArgs(L)
	return ret(L, b>>n|b<<(32-n))
}

func bitBswap(L *lua.LState) int {
	b := checkBit(L, 1)
	return ret(L, b>>24|(b>>8)&0xff00|(b&0xff00)<<8|b<<24)
}

const (
	lowerHex = "0123456789abcdef"
	upperHex = "0123456789ABCDEF"
)

// bitTohex implements bit.tohex(x [,n]): |n| hex digits (default 8, at most
// 8) of the low 4*|n| bits of x, uppercase when n is negative. As in BitOp,
// n == 0 yields the empty string. n == -2^31 (whose negation overflows, a
// buffer overflow in C BitOp) is treated as -8.
func bitTohex(L *lua.LState) int {
	b := checkBit(L, 1)
	n := int64(8)
	if L.GetTop() >= 2 {
		n = int64(int32(checkBit(L, 2)))
	}
	digits := lowerHex
	if n < 0 {
		n = -n
		digits = upperHex
	}
	if n > 8 {
		n = 8
	}
	var buf [8]byte
	for i := n - 1; i >= 0; i-- {
		buf[i] = digits[b&15]
		b >>= 4
	}
	L.Push(lua.LString(buf[:n]))
	return 1
}
