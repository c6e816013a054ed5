// Package luasrc is a small, fast scanner for Lua 5.1 source text.
//
// Phoenix keeps the source of every method in the image. Methods are Lua
// functions, so when a chunk is filed in, Phoenix needs the exact source text
// of each function in it, and it needs to turn a method definition such as
// "function Account:deposit(n) ... end" into an anonymous function expression
// ("function(self, n) ... end") whose body stays on the same lines, so the
// line numbers of the compiled code still match the stored source.
//
// Funcs finds the span, name and parameters of every function in a chunk,
// Expression rewrites a definition header into an anonymous one, and Header
// renders a definition header for display and fileout.
//
// The scanner tokenises the way gopher-lua does (the Lua Phoenix runs): it
// skips short strings with escapes, long strings and comments at any level,
// and numbers, and it matches blocks (function, do, if and repeat; while and
// for open their block through their do). Funcs lists functions in the order
// of their function keywords, which is the pre-order of the FunctionProto
// tree that gopher-lua compiles from the same chunk.
//
// This package may import only the standard library.
package luasrc
