package sandbox

import (
	"context"
	"strings"
	"testing"

	"github.com/phoenix-image/phoenix/bootstrap"
	"github.com/phoenix-image/phoenix/vm"
)

func TestContextFor(t *testing.T) {
	ctx := context.Background()
	v, err := bootstrap.Genesis(ctx, vm.Options{Store: vm.NewMemStore()})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	_, err = v.Eval(ctx, `
Bank = Object:clone(); Bank.fee = 1
Account = Object:clone(); Account.balance = 0; Account.bank = Bank
function Account:deposit(n) self.balance = self.balance + n; return self end
Savings = Account:clone(); Savings:uses(Comparable)
function Savings:compareTo(other) return self.balance - other.balance end
Unrelated = Object:clone(); Unrelated.secret = "x"
Rate = 3`, vm.EvalOptions{NoExpr: true})
	if err != nil {
		t.Fatal(err)
	}
	src, err := ContextFor(v, "Savings")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Bank = Bank or Object:clone()", "Account.bank = Bank", "function Account:deposit", "Savings:uses(Comparable)", "Rate = 3"} {
		if !strings.Contains(src, want) {
			t.Errorf("context lacks %q:\n%s", want, src)
		}
	}
	if strings.Contains(src, "Unrelated") {
		t.Errorf("context holds an unrelated object:\n%s", src)
	}
	r := Run(ctx, &Request{
		Context: src, Receiver: "Savings", Selector: "withdraw",
		Source: "function Savings:withdraw(n) self.balance = self.balance - n - self.bank.fee; return self end",
		Tests: `function ProposalTest:testWithdraw()
  local a = Savings:clone():deposit(10)
  self:assertEquals(6, a:withdraw(3).balance)
  self:assert(a:withdraw(1):lt(Savings:clone():deposit(9)))
end`,
		Call: "return Savings:clone():deposit(10):withdraw(3).balance + Rate",
	})
	if !r.OK || r.CallResult != "9" {
		t.Errorf("validation with the filed-out context: %+v", r)
	}
	if _, err := ContextFor(v, "Nobody"); err == nil {
		t.Error("ContextFor of a missing object succeeded")
	}
}
