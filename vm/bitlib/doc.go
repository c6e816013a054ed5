// Package bitlib provides the LuaJIT "bit" library (the BitOp API,
// http://bitop.luajit.org/api.html) for gopher-lua, which ships without one.
//
// Scripts written for LuaJIT can use bit.tobit, bit.tohex, bit.bnot,
// bit.band, bit.bor, bit.bxor, bit.lshift, bit.rshift, bit.arshift, bit.rol,
// bit.ror and bit.bswap with the same results as under LuaJIT: every argument
// is normalised to a 32-bit integer exactly as BitOp does it (add 2^52+2^51
// and keep the low 32 bits, so numbers wrap modulo 2^32 and non-integral
// values round to nearest, ties to even), every result is a signed 32-bit
// integer, and shift counts use only their low 5 bits. Strings convertible to
// numbers are accepted, as in LuaJIT; other types raise gopher-lua's usual
// "bad argument #N to f (number expected, got T)" error, with "got no value"
// for a missing argument as in LuaJIT. bit.tohex(x, n) yields |n| digits,
// at most 8, uppercase for negative n; like BitOp, n == 0 yields "".
//
// Use Open to install the table as the global "bit", or Loader with
// (*lua.LState).PreloadModule so that scripts obtain it with require "bit".
//
// This package may import only the Go standard library and
// github.com/yuin/gopher-lua.
package bitlib
