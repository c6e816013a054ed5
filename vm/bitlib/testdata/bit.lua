-- Assertions for the bit library (LuaJIT BitOp API).
-- Run by TestBitLua with the library opened as the global `bit`.

local tobit = bit.tobit
local count = 0

local function eq(got, want, what)
  count = count + 1
  if got ~= want then
    error(string.format("%s: got %s, want %s", what, tostring(got), tostring(want)), 2)
  end
end

-- Raises unless the expression `expr` fails with a message containing
-- `want`. The expression is compiled as its own chunk so that the call site
-- names the function (gopher-lua, like Lua 5.1, names functions in argument
-- errors by how they were called).
local function fails(want, expr)
  count = count + 1
  local chunk = assert(loadstring("local _ = " .. expr))
  local ok, err = pcall(chunk)
  if ok then error("expected error containing: " .. want, 2) end
  if not string.find(tostring(err), want, 1, true) then
    error(string.format("error %q does not contain %q", tostring(err), want), 2)
  end
end

-- All twelve functions exist, and results are plain numbers.
for _, name in ipairs({"tobit", "tohex", "bnot", "band", "bor", "bxor",
    "lshift", "rshift", "arshift", "rol", "ror", "bswap"}) do
  eq(type(bit[name]), "function", "bit." .. name)
end
eq(type(bit.band(1, 3)), "number", "result type")

------------------------------------------------------------------------
-- Examples from http://bitop.luajit.org/api.html
eq(bit.tobit(0xffffffff), -1, "tobit(0xffffffff)")
eq(bit.tobit(0xffffffff + 1), 0, "tobit(0xffffffff + 1)")
eq(bit.tobit(2^40 + 1234), 1234, "tobit(2^40 + 1234)")

eq(bit.tohex(1), "00000001", "tohex(1)")
eq(bit.tohex(-1), "ffffffff", "tohex(-1)")
eq(bit.tohex(0xffffffff), "ffffffff", "tohex(0xffffffff)")
eq(bit.tohex(-1, -4), "FFFF", "tohex(-1, -4)")
eq(bit.tohex(0x21, 4), "0021", "tohex(0x21, 4)")
eq(bit.tohex(0x87654321, 4), "4321", "tohex(0x87654321, 4)")

eq(bit.bnot(0), -1, "bnot(0)")
eq(bit.tohex(bit.bnot(0)), "ffffffff", "tohex(bnot(0))")
eq(bit.bnot(-1), 0, "bnot(-1)")
eq(bit.tohex(bit.bnot(0x12345678)), "edcba987", "tohex(bnot(0x12345678))")

eq(bit.bor(1, 2, 4, 8), 15, "bor(1, 2, 4, 8)")
eq(bit.tohex(bit.band(0x12345678, 0xff)), "00000078", "tohex(band(0x12345678, 0xff))")
eq(bit.band(0x12345678, 0xff), 0x78, "band(0x12345678, 0xff)")
eq(bit.tohex(bit.bxor(0xa5a5f0f0, 0xaa55ff00)), "0ff00ff0", "tohex(bxor(...))")
eq(bit.bxor(0xa5a5f0f0, 0xaa55ff00), 0x0ff00ff0, "bxor(0xa5a5f0f0, 0xaa55ff00)")

eq(bit.lshift(1, 0), 1, "lshift(1, 0)")
eq(bit.lshift(1, 8), 256, "lshift(1, 8)")
eq(bit.lshift(1, 40), 256, "lshift(1, 40)")
eq(bit.rshift(256, 8), 1, "rshift(256, 8)")
eq(bit.rshift(-256, 8), 16777215, "rshift(-256, 8)")
eq(bit.arshift(256, 8), 1, "arshift(256, 8)")
eq(bit.arshift(-256, 8), -1, "arshift(-256, 8)")
eq(bit.lshift(0x87654321, 12), tobit(0x54321000), "lshift(0x87654321, 12)")
eq(bit.tohex(bit.lshift(0x87654321, 12)), "54321000", "tohex(lshift(0x87654321, 12))")
eq(bit.rshift(0x87654321, 12), 0x00087654, "rshift(0x87654321, 12)")
eq(bit.tohex(bit.rshift(0x87654321, 12)), "00087654", "tohex(rshift(0x87654321, 12))")
eq(bit.arshift(0x87654321, 12), tobit(0xfff87654), "arshift(0x87654321, 12)")
eq(bit.tohex(bit.arshift(0x87654321, 12)), "fff87654", "tohex(arshift(0x87654321, 12))")

eq(bit.rol(0x12345678, 12), tobit(0x45678123), "rol(0x12345678, 12)")
eq(bit.tohex(bit.rol(0x12345678, 12)), "45678123", "tohex(rol(0x12345678, 12))")
eq(bit.ror(0x12345678, 12), tobit(0x67812345), "ror(0x12345678, 12)")
eq(bit.tohex(bit.ror(0x12345678, 12)), "67812345", "tohex(ror(0x12345678, 12))")

eq(bit.bswap(0x12345678), 0x78563412, "bswap(0x12345678)")
eq(bit.bswap(0x78563412), 0x12345678, "bswap(0x78563412)")
eq(bit.tohex(bit.bswap(0x12345678)), "78563412", "tohex(bswap(0x12345678))")

------------------------------------------------------------------------
-- tobit: reduction modulo 2^32 into the signed range.
eq(tobit(0), 0, "tobit(0)")
eq(tobit(-0), 0, "tobit(-0)")
eq(tobit(1), 1, "tobit(1)")
eq(tobit(-1), -1, "tobit(-1)")
eq(tobit(0x7fffffff), 2147483647, "tobit(0x7fffffff)")
eq(tobit(0x80000000), -2147483648, "tobit(0x80000000)")
eq(tobit(-0x80000000), -2147483648, "tobit(-0x80000000)")
eq(tobit(-0x80000001), 2147483647, "tobit(-0x80000001)")
eq(tobit(2^32 + 1), 1, "tobit(2^32 + 1)")
eq(tobit(-2^32 - 1), -1, "tobit(-2^32 - 1)")
eq(tobit(2^32 * 7 + 0x80000000), -2147483648, "tobit(7*2^32 + 2^31)")
eq(tobit(2^48 + 2^31), -2147483648, "tobit(2^48 + 2^31)")
eq(tobit(-2^50 + 5), 5, "tobit(-2^50 + 5)")
eq(tobit(2^52), 0, "tobit(2^52)")
for _, x in ipairs({0, 1, 12345, 0x7fffffff, 0x80000000, 0xdeadbeef, 2^40 + 17,
    -1, -12345, -0x80000000, -0xdeadbeef, -(2^45) - 3}) do
  eq(tobit(x), (x + 2^31) % 2^32 - 2^31, "tobit(" .. x .. ") modulo 2^32")
  eq(tobit(tobit(x)), tobit(x), "tobit idempotent for " .. x)
end

-- tobit: non-integral numbers round to nearest, ties to even.
eq(tobit(1.5), 2, "tobit(1.5)")
eq(tobit(2.5), 2, "tobit(2.5)")
eq(tobit(3.5), 4, "tobit(3.5)")
eq(tobit(0.5), 0, "tobit(0.5)")
eq(tobit(-0.5), 0, "tobit(-0.5)")
eq(tobit(-1.5), -2, "tobit(-1.5)")
eq(tobit(-2.5), -2, "tobit(-2.5)")
eq(tobit(1.25), 1, "tobit(1.25)")
eq(tobit(1.75), 2, "tobit(1.75)")
eq(tobit(-1.75), -2, "tobit(-1.75)")
eq(tobit(0.49999999999999994), 0, "tobit(0.49999999999999994)")
eq(tobit(2^32 - 0.5), 0, "tobit(2^32 - 0.5)")
eq(tobit(2^31 - 0.5), -2147483648, "tobit(2^31 - 0.5)")
eq(bit.band(7.5, 0xff), 8, "band rounds its arguments")
eq(bit.lshift(1, 2.5), 4, "shift count rounds")

-- Infinity: the trick yields 0 low bits. (gopher-lua's math.huge is
-- math.MaxFloat64, not infinity, so build infinity as 1/0.)
eq(tobit(1/0), 0, "tobit(inf)")
eq(tobit(-1/0), 0, "tobit(-inf)")

-- Strings convertible to numbers are accepted, as in LuaJIT.
eq(tobit("12"), 12, "tobit('12')")
eq(tobit("  -7  "), -7, "tobit('  -7  ')")
eq(tobit("0x10"), 16, "tobit('0x10')")
eq(tobit("4294967295"), -1, "tobit('4294967295')")
eq(tobit("2.5"), 2, "tobit('2.5')")
eq(tobit("1e3"), 1000, "tobit('1e3')")
eq(bit.band("0xff", 0x1234), 0x34, "band('0xff', 0x1234)")
eq(bit.bor(1, "2", 4), 7, "bor(1, '2', 4)")
eq(bit.lshift("1", "4"), 16, "lshift('1', '4')")
eq(bit.tohex("255", "2"), "ff", "tohex('255', '2')")

------------------------------------------------------------------------
-- band / bor / bxor: one or more arguments.
eq(bit.band(-1), -1, "band(-1)")
eq(bit.bor(0xffffffff), -1, "bor(0xffffffff)")
eq(bit.bxor(5), 5, "bxor(5)")
eq(bit.band(0x12345678), 0x12345678, "band(x)")
eq(bit.band(-1, 0xff00ff00, 0x0ff00ff0), tobit(0x0f000f00), "band 3 args")
eq(bit.band(1, 2), 0, "band(1, 2)")
eq(bit.bor(0x80000000, 1), tobit(0x80000001), "bor sign bit")
eq(bit.bxor(1, 3, 7, 15), 10, "bxor(1, 3, 7, 15)")
eq(bit.bxor(-1, 0x0f0f0f0f), tobit(0xf0f0f0f0), "bxor(-1, 0x0f0f0f0f)")
eq(bit.bxor(0xdeadbeef, 0xdeadbeef), 0, "x xor x")
do
  local args = {}
  for i = 0, 31 do args[#args + 1] = 2^i end
  eq(bit.bor(unpack(args)), -1, "bor of 32 single bits")
  eq(bit.band(unpack(args)), 0, "band of 32 single bits")
end

------------------------------------------------------------------------
-- Shifts: only the low 5 bits of the count are used.
eq(bit.lshift(1, 31), -2147483648, "lshift(1, 31)")
eq(bit.lshift(1, 32), 1, "lshift(1, 32)")
eq(bit.lshift(1, 33), 2, "lshift(1, 33)")
eq(bit.lshift(1, -1), -2147483648, "lshift(1, -1)")
eq(bit.lshift(3, 2^32 + 1), 6, "lshift(3, 2^32 + 1)")
eq(bit.lshift(0xffffffff, 4), -16, "lshift(-1, 4)")
eq(bit.rshift(-1, 0), -1, "rshift(-1, 0)")
eq(bit.rshift(-1, 1), 0x7fffffff, "rshift(-1, 1)")
eq(bit.rshift(-1, 31), 1, "rshift(-1, 31)")
eq(bit.rshift(-1, 32), -1, "rshift(-1, 32)")
eq(bit.rshift(0x80000000, 31), 1, "rshift(0x80000000, 31)")
eq(bit.arshift(-1, 31), -1, "arshift(-1, 31)")
eq(bit.arshift(0x80000000, 31), -1, "arshift(0x80000000, 31)")
eq(bit.arshift(0x7fffffff, 30), 1, "arshift(0x7fffffff, 30)")
eq(bit.arshift(-16, 2), -4, "arshift(-16, 2)")
eq(bit.arshift(-16, 34), -4, "arshift(-16, 34)")
eq(bit.arshift(12345, 0), 12345, "arshift(12345, 0)")

-- Rotates.
eq(bit.rol(0x12345678, 0), 0x12345678, "rol(x, 0)")
eq(bit.ror(0x12345678, 0), 0x12345678, "ror(x, 0)")
eq(bit.rol(0x12345678, 32), 0x12345678, "rol(x, 32)")
eq(bit.ror(0x12345678, 32), 0x12345678, "ror(x, 32)")
eq(bit.rol(0x12345678, 44), tobit(0x45678123), "rol(x, 44)")
eq(bit.ror(0x12345678, -20), tobit(0x67812345), "ror(x, -20)")
eq(bit.rol(1, 31), -2147483648, "rol(1, 31)")
eq(bit.rol(0x80000000, 1), 1, "rol(0x80000000, 1)")
eq(bit.ror(1, 1), -2147483648, "ror(1, 1)")
eq(bit.ror(-2, 1), 0x7fffffff, "ror(-2, 1)")
for n = 0, 40 do
  eq(bit.ror(bit.rol(0xdeadbeef, n), n), tobit(0xdeadbeef), "ror(rol(x, n), n) n=" .. n)
  eq(bit.rol(0xdeadbeef, n), bit.ror(0xdeadbeef, 32 - n), "rol(x, n) == ror(x, 32-n) n=" .. n)
end

-- bswap.
eq(bit.bswap(0), 0, "bswap(0)")
eq(bit.bswap(-1), -1, "bswap(-1)")
eq(bit.bswap(0xff), tobit(0xff000000), "bswap(0xff)")
eq(bit.bswap(0x80), -2147483648, "bswap(0x80)")
eq(bit.bswap(0x11223344), 0x44332211, "bswap(0x11223344)")
eq(bit.bswap(bit.bswap(0xdeadbeef)), tobit(0xdeadbeef), "bswap twice")

------------------------------------------------------------------------
-- tohex.
eq(bit.tohex(0), "00000000", "tohex(0)")
eq(bit.tohex(0xdeadbeef), "deadbeef", "tohex(0xdeadbeef)")
eq(bit.tohex(0xdeadbeef, -8), "DEADBEEF", "tohex(0xdeadbeef, -8)")
eq(bit.tohex(0xabcdef, 1), "f", "tohex(x, 1)")
eq(bit.tohex(0xabcdef, -1), "F", "tohex(x, -1)")
eq(bit.tohex(0xabcdef, 3), "def", "tohex(x, 3)")
eq(bit.tohex(0xabcdef, 9), "00abcdef", "tohex(x, 9) clamps to 8")
eq(bit.tohex(0xabcdef, 1000), "00abcdef", "tohex(x, 1000) clamps to 8")
eq(bit.tohex(0xabcdef, -9), "00ABCDEF", "tohex(x, -9) clamps to 8")
eq(bit.tohex(0xabcdef, -2^31), "00ABCDEF", "tohex(x, -2^31)")
eq(bit.tohex(0xabcdef, 2^32 + 4), "cdef", "tohex count is normalised too")
eq(bit.tohex(0xabcdef, 0), "", "tohex(x, 0) is empty, as in BitOp")
eq(bit.tohex(2^32 + 0x1f), "0000001f", "tohex normalises x")
eq(bit.tohex(-0x80000000), "80000000", "tohex(-2^31)")
eq(bit.tohex(1.5), "00000002", "tohex(1.5)")

------------------------------------------------------------------------
-- Errors: wrong types and missing arguments.
fails("bad argument #1 to tobit (number expected, got table)", "bit.tobit({})")
fails("bad argument #1 to tobit (number expected, got no value)", "bit.tobit()")
fails("bad argument #1 to tobit (number expected, got nil)", "bit.tobit(nil)")
fails("bad argument #1 to tobit (number expected, got string)", 'bit.tobit("abc")')
fails("bad argument #1 to tobit (number expected, got boolean)", "bit.tobit(true)")
fails("bad argument #1 to bnot (number expected, got function)", "bit.bnot(print)")
fails("bad argument #1 to band (number expected, got table)", "bit.band({})")
fails("bad argument #2 to band (number expected, got table)", "bit.band(1, {})")
fails("bad argument #3 to band (number expected, got string)", 'bit.band(1, 2, "x")')
fails("bad argument #1 to band (number expected, got no value)", "bit.band()")
fails("bad argument #1 to bor (number expected, got no value)", "bit.bor()")
fails("bad argument #2 to bor (number expected, got nil)", "bit.bor(1, nil)")
fails("bad argument #1 to bxor (number expected, got no value)", "bit.bxor()")
fails("bad argument #4 to bxor (number expected, got boolean)", "bit.bxor(1, 2, 3, false)")
fails("bad argument #2 to lshift (number expected, got no value)", "bit.lshift(1)")
fails("bad argument #1 to lshift (number expected, got table)", "bit.lshift({}, 1)")
fails("bad argument #2 to rshift (number expected, got table)", "bit.rshift(1, {})")
fails("bad argument #2 to arshift (number expected, got nil)", "bit.arshift(1, nil)")
fails("bad argument #2 to rol (number expected, got no value)", "bit.rol(1)")
fails("bad argument #2 to ror (number expected, got string)", 'bit.ror(1, "x")')
fails("bad argument #1 to bswap (number expected, got no value)", "bit.bswap()")
fails("bad argument #1 to tohex (number expected, got no value)", "bit.tohex()")
fails("bad argument #1 to tohex (number expected, got table)", "bit.tohex({})")
fails("bad argument #2 to tohex (number expected, got nil)", "bit.tohex(1, nil)")
fails("bad argument #2 to tohex (number expected, got string)", 'bit.tohex(1, "x")')

return count
