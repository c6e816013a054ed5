package browser

import (
	"context"
	"testing"

	"github.com/phoenix-image/phoenix/vm"
)

func TestSendsParsesRatherThanScans(t *testing.T) {
	for _, c := range []struct {
		src  string
		want bool
	}{
		{"function A:f(x) return x:deposit(1) end", true},
		{"function A:f(x) x:deposit 'all' end", true},
		{"function A:f(x) x:deposit{n = 1} end", true},
		{"function A:f(x) return A.deposit(x, 1) end", true},
		{"function A:f(x) return g(h(x:deposit(1))) end", true},
		{"function A:f(x) local t = {k = function() return x:deposit(2) end} return t end", true},
		{"function A:f(x) if x then for i = 1, 2 do while true do x:deposit(i) end end end end", true},
		{"function A:f(x) return ('a'):rep(2) .. tostring(x:deposit(1)) end", true},
		{"function A:f(x)\n  -- x:deposit(1) is old\n  return x\nend", false},
		{"function A:f(x)\n  --[[ x:deposit(1) ]]\n  return x\nend", false},
		{"function A:f(x) return 'x:deposit(1)' end", false},
		{"function A:f(x) return [[\nx:deposit(1)\n]] end", false},
		{"function A:deposit(n) return n end", false},
		{"function A:f(x) return x.deposit end", false},
		{"function A:f(x) return x:deposits(1) end", false},
		{"function A:f(x) return x:redeposit(1) end", false},
		{"function A:f(x) local deposit = 1; return deposit end", false},
		{"function A:f(x) return x:deposit( end", false}, // does not parse
	} {
		if got := Sends(c.src, "deposit"); got != c.want {
			t.Errorf("Sends(%q, deposit) = %v, want %v", c.src, got, c.want)
		}
	}
}

// TestSendersSkipsStringsAndComments: over a real image, a method that
// names the selector only in a string and a comment is not a sender.
func TestSendersSkipsStringsAndComments(t *testing.T) {
	v, _ := editImage(t)
	if _, err := v.Eval(context.Background(), `
Teller = Object:clone()
function Teller:talk(a) -- never a:deposit(1) here
  return "call a:deposit(5) yourself"
end
function Teller:help(a) return a:deposit "x" end`, vm.EvalOptions{}); err != nil {
		t.Fatal(err)
	}
	ss, err := VMImage{VM: v}.Senders("deposit")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range ss {
		got = append(got, s.Object.Name+">>"+s.Selector)
	}
	if len(got) != 2 || got[0] != "Bank>>payIn" || got[1] != "Teller>>help" {
		t.Errorf("senders of deposit = %v; want [Bank>>payIn Teller>>help]", got)
	}
}
