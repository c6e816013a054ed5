package vm

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	mrand "math/rand/v2"

	lua "github.com/yuin/gopher-lua"
)

// The parts of the restricted library that read the world below the VM:
// os.time, os.clock and os.date read Options.Clock, and math.random draws
// from a generator seeded from Options.Entropy. gopher-lua's own versions
// read the Go runtime's clock and the process-wide math/rand (whose Seed
// is a no-op since Go 1.24, so math.randomseed did nothing); these make
// the host (kernelhost.Host, supplied by the wiring) the only source.

// seededRand makes the VM's generator from 16 bytes of entropy.
func seededRand(entropy io.Reader) (*mrand.Rand, error) {
	var seed [16]byte
	if _, err := io.ReadFull(entropy, seed[:]); err != nil {
		return nil, fmt.Errorf("vm: seeding math.random from Options.Entropy: %w", err)
	}
	return mrand.New(mrand.NewPCG(binary.LittleEndian.Uint64(seed[:8]), binary.LittleEndian.Uint64(seed[8:]))), nil
}

// hostOS replaces time, clock and date in the os table given to image code.
func (v *VM) hostOS(osT, osLib *lua.LTable) {
	L := v.L
	luaTime := osLib.RawGetString("time").(*lua.LFunction).GFunction
	luaDate := osLib.RawGetString("date").(*lua.LFunction).GFunction
	osT.RawSetString("time", L.NewFunction(func(L *lua.LState) int {
		if L.GetTop() == 0 || L.Get(1) == lua.LNil {
			L.Push(lua.LNumber(v.opts.Clock().Unix()))
			return 1
		}
		return luaTime(L) // os.time{year=...}: no clock involved
	}))
	// os.clock is the seconds since the VM started, by the host's clock.
	osT.RawSetString("clock", L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LNumber(v.opts.Clock().Sub(v.started).Seconds()))
		return 1
	}))
	// os.date([format [, t]]) with t defaulting to the host's now.
	osT.RawSetString("date", L.NewFunction(func(L *lua.LState) int {
		format := "%c"
		if L.GetTop() >= 1 && L.Get(1) != lua.LNil {
			format = L.CheckString(1)
		}
		t := v.opts.Clock().Unix()
		if L.GetTop() >= 2 && L.Get(2) != lua.LNil {
			t = L.CheckInt64(2)
		}
		L.SetTop(0)
		L.Push(lua.LString(format))
		L.Push(lua.LNumber(t))
		return luaDate(L)
	}))
}

// hostMath replaces random and randomseed in the math table given to image
// code, with Lua 5.1's meaning: random() in [0,1), random(m) in [1,m],
// random(m,n) in [m,n].
func (v *VM) hostMath(mathT *lua.LTable) {
	L := v.L
	mathT.RawSetString("random", L.NewFunction(func(L *lua.LState) int {
		switch L.GetTop() {
		case 0:
			L.Push(lua.LNumber(v.rng.Float64()))
			return 1
		case 1, 2:
		default:
			L.RaiseError("wrong number of arguments to 'random'")
		}
		lo, hi := int64(1), L.CheckInt64(1)
		if L.GetTop() == 2 {
			lo, hi = hi, L.CheckInt64(2)
		}
		if lo > hi {
			L.ArgError(L.GetTop(), "interval is empty")
		}
		L.Push(lua.LNumber(lo + v.rng.Int64N(hi-lo+1)))
		return 1
	}))
	// randomseed(x) makes the sequence repeatable, as in Lua.
	mathT.RawSetString("randomseed", L.NewFunction(func(L *lua.LState) int {
		x := float64(L.CheckNumber(1))
		v.rng = mrand.New(mrand.NewPCG(uint64(int64(x)), math.Float64bits(x)))
		return 0
	}))
}
