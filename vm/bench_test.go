package vm

import (
	"context"
	"fmt"
	"testing"

	lua "github.com/yuin/gopher-lua"
)

// The send benchmark: the same send-heavy loop on Phoenix objects (in a
// Phoenix evaluation, with its budget and transaction) and on plain
// gopher-lua tables with metatables. make bench prints the ratio.

const sendWorkload = `
local a = Account:clone()
a.balance = 0
for i = 1, N do
  a:deposit(1)
end
return a.balance
`

const sendDefs = `
Account = Object:clone()
Account.balance = 0
function Account:deposit(n) self.balance = self.balance + n end
`

const sendN = 1000000

func BenchmarkSendPhoenix(b *testing.B) {
	v, err := Create(Options{Store: NewMemStore()})
	if err != nil {
		b.Fatal(err)
	}
	defer v.Close()
	ctx := context.Background()
	if _, err := v.Eval(ctx, sendDefs, EvalOptions{NoExpr: true}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := v.Eval(ctx, "local N = ...\n"+sendWorkload, EvalOptions{NoExpr: true, Args: []lua.LValue{lua.LNumber(sendN)}, Name: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		if res.Values[0].(lua.LNumber) != sendN {
			b.Fatalf("got %v", res.Values[0])
		}
	}
	b.ReportMetric(sendN, "sends/op")
}

func BenchmarkSendPlain(b *testing.B) { benchPlain(b, false) }

// BenchmarkSendPlainBudget is the plain workload with the same kind of
// per-instruction budget check Phoenix evaluations have (gopher-lua's
// context check), to separate the cost of the budget from the cost of the
// object model.
func BenchmarkSendPlainBudget(b *testing.B) { benchPlain(b, true) }

func benchPlain(b *testing.B, budget bool) {
	L := lua.NewState()
	defer L.Close()
	if err := L.DoString(`
Account = {balance = 0}
Account.__index = Account
function Account:clone() return setmetatable({}, {__index = self}) end
function Account:deposit(n) self.balance = self.balance + n end
`); err != nil {
		b.Fatal(err)
	}
	fn, err := L.LoadString("local N = ...\n" + sendWorkload)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		L.Push(fn)
		L.Push(lua.LNumber(sendN))
		if err := L.PCall(1, 1, nil); err != nil {
			b.Fatal(err)
		}
		if L.Get(-1).(lua.LNumber) != sendN {
			b.Fatalf("got %v", L.Get(-1))
		}
		L.Pop(1)
	}
	b.ReportMetric(sendN, "sends/op")
}

// BenchmarkCommitSmallChange measures the cost that dirty checking puts on
// every commit: one slot write with N persistent objects loaded.
func BenchmarkCommitSmallChange(b *testing.B) {
	for _, n := range []int{1000, 10000, 100000} {
		b.Run(fmt.Sprintf("loaded=%d", n), func(b *testing.B) {
			v, err := Create(Options{Store: NewMemStore()})
			if err != nil {
				b.Fatal(err)
			}
			defer v.Close()
			ctx := context.Background()
			if _, err := v.Eval(ctx, fmt.Sprintf(`Counter = Object:clone(); Counter.n = 0
Items = {}; for i = 1, %d do local o = Object:clone(); o.i = i; Items[i] = o end`, n), EvalOptions{NoExpr: true}); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := v.Eval(ctx, `Counter.n = Counter.n + 1`, EvalOptions{NoExpr: true}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
