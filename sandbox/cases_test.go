package sandbox

import (
	"strings"
	"testing"
	"time"
)

// accountContext is what image.Fileout writes for a small Account.
const accountContext = `Account = Object:clone()
Account.balance = 0
function Account:deposit(n)
  self.balance = self.balance + n
  return self
end
`

func goodRequest() *Request {
	return &Request{
		Context:  accountContext,
		Receiver: "Account",
		Selector: "withdraw",
		Source: `function Account:withdraw(n)
  if n > self.balance then error("insufficient funds") end
  self.balance = self.balance - n
  return self
end`,
		Tests: `function ProposalTest:testWithdraw()
  local a = Account:clone(); a.balance = 10
  self:assertEquals(7, a:withdraw(3).balance)
end
function ProposalTest:testOverdraw()
  local a = Account:clone(); a.balance = 1
  self:assert(not pcall(function() a:withdraw(3) end))
end`,
		Call: "local a = Account:clone(); a.balance = 10; return a:withdraw(3).balance",
	}
}

// basicCase is a request and what its result must show; both Run and the
// validators are checked against these.
type basicCase struct {
	name  string
	req   func() *Request
	check func(t *testing.T, r *Result)
}

func basicCases() []basicCase {
	return []basicCase{
		{"good", goodRequest, func(t *testing.T, r *Result) {
			if !r.OK || r.Passed != 2 || r.Failed != 0 || r.CallResult != "7" || r.CallError != "" || r.CompileError != "" || r.Error != "" {
				t.Errorf("good candidate not OK: %+v", r)
			}
		}},
		{"compile error", func() *Request {
			q := goodRequest()
			q.Source = "function Account:withdraw(n)\n  self.balance = self.balance - n\n  return self +\nend"
			return q
		}, func(t *testing.T, r *Result) {
			if r.OK || r.CompileError == "" || !strings.Contains(r.CompileError, ":4:") {
				t.Errorf("compile error not reported with its line 4: %+v", r)
			}
		}},
		{"failing test", func() *Request {
			q := goodRequest()
			q.Source = "function Account:withdraw(n)\n  if n > self.balance then error('no') end\n  self.balance = self.balance - n - 1\n  return self\nend"
			return q
		}, func(t *testing.T, r *Result) {
			if r.OK || r.Failed != 1 || r.Passed != 1 {
				t.Fatalf("failing test not reported: %+v", r)
			}
			for _, o := range r.Tests {
				if o.Name == "ProposalTest>>testWithdraw" && (o.Status != "fail" || !strings.Contains(o.Message, "7")) {
					t.Errorf("testWithdraw: %+v", o)
				}
			}
		}},
		{"erroring call", func() *Request {
			q := goodRequest()
			q.Call = "local a = Account:clone(); a.balance = 1; return a:withdraw(3)"
			return q
		}, func(t *testing.T, r *Result) {
			if r.OK || !strings.Contains(r.CallError, "insufficient funds") || r.Passed != 2 {
				t.Errorf("erroring call not reported: %+v", r)
			}
		}},
		{"runaway loop", func() *Request {
			q := goodRequest()
			q.Source = "function Account:withdraw(n)\n  while true do end\nend"
			q.Budget = 700 * time.Millisecond
			return q
		}, func(t *testing.T, r *Result) {
			if r.OK || r.Failed == 0 || r.Duration > 3*time.Second {
				t.Errorf("runaway loop not stopped by the budget: %+v", r)
			}
			if !strings.Contains(r.Tests[0].Message, "budget") {
				t.Errorf("first test should time out: %+v", r.Tests[0])
			}
		}},
		{"no tests", func() *Request {
			q := goodRequest()
			q.Tests = ""
			return q
		}, func(t *testing.T, r *Result) {
			if r.OK || r.Passed != 0 {
				t.Errorf("a candidate without tests must not be OK: %+v", r)
			}
		}},
		{"print captured", func() *Request {
			q := goodRequest()
			q.Call = `print("hello", 42); return 1`
			return q
		}, func(t *testing.T, r *Result) {
			if !r.OK || r.Output != "hello\t42\n" {
				t.Errorf("output %q: %+v", r.Output, r)
			}
		}},
	}
}
