package bootstrap

import (
	"bytes"
	"context"
	"encoding/xml"
	"strings"
	"testing"

	"github.com/phoenix-image/phoenix/vm"
)

func genesis(t *testing.T) *vm.VM {
	t.Helper()
	v, err := Genesis(context.Background(), vm.Options{Store: vm.NewMemStore()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	return v
}

func TestGenesisLibraryTestsPass(t *testing.T) {
	v := genesis(t)
	rep, err := RunTests(context.Background(), v, TestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	rep.WriteText(&out)
	if rep.Failed != 0 || rep.Passed < 8 {
		t.Fatalf("library tests: %s", out.String())
	}
	for _, want := range []string{"ComparableTest>>testOrder", "EnumerableTest>>testMapSelectReject", "PrintableTest>>testPrintFields"} {
		found := false
		for _, r := range rep.Results {
			found = found || r.Name() == want
		}
		if !found {
			t.Errorf("test %s did not run", want)
		}
	}
}

func TestRunnerReportsFailuresAndRollsBack(t *testing.T) {
	v := genesis(t)
	ctx := context.Background()
	_, err := v.Eval(ctx, `
Account = Object:clone()
Account.balance = 0
function Account:deposit(n) self.balance = self.balance + n end
AccountTest = Object:clone()
AccountTest:uses(TestCase)
function AccountTest:setUp() self.a = Account:clone(); Account.touched = true end
function AccountTest:testDeposit() self.a:deposit(5); self:assertEquals(5, self.a.balance) end
function AccountTest:testWrong() self.a:deposit(1); self:assertEquals(2, self.a.balance, "balance") end
function AccountTest:testBroken() self.a:withdraw(1) end
function AccountTest:testLeavesNoTrace() Account.balance = 100; Lobby.Junk = 1 end
`, vm.EvalOptions{NoExpr: true})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := RunTests(ctx, v, TestOptions{Pattern: "^AccountTest>>"})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Passed != 2 || rep.Failed != 2 {
		t.Fatalf("got %s: %+v", rep.Summary(), rep.Results)
	}
	status := map[string]TestResult{}
	for _, r := range rep.Results {
		status[r.Selector] = r
	}
	if r := status["testWrong"]; r.Status != "fail" || !strings.Contains(r.Message, "balance: expected 2, got 1") {
		t.Errorf("testWrong: %+v", r)
	}
	if r := status["testBroken"]; r.Status != "error" || !strings.Contains(r.Message, "does not understand withdraw(1)") {
		t.Errorf("testBroken: %+v", r)
	}
	if tb := status["testBroken"].Traceback; len(tb) == 0 || !strings.Contains(tb[0].String()+tb[len(tb)-1].String(), "AccountTest>>testBroken") {
		found := false
		for _, f := range tb {
			found = found || strings.HasPrefix(f.String(), "AccountTest>>testBroken:")
		}
		if !found {
			t.Errorf("traceback does not name the test: %v", tb)
		}
	}
	res, err := v.Eval(ctx, `return Account.balance, Account.touched, Lobby.Junk`, vm.EvalOptions{Print: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(res.Strings, " "); got != "0 nil nil" {
		t.Fatalf("tests left a trace: %s", got)
	}
	var text bytes.Buffer
	rep.WriteText(&text)
	if !strings.HasSuffix(text.String(), "2 passed, 2 failed\n") || !strings.Contains(text.String(), "FAIL AccountTest>>testWrong") {
		t.Errorf("text report:\n%s", text.String())
	}
	var x bytes.Buffer
	if err := rep.WriteJUnit(&x, "test.image"); err != nil {
		t.Fatal(err)
	}
	var parsed struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Errors   int `xml:"errors,attr"`
	}
	if err := xml.Unmarshal(x.Bytes(), &parsed); err != nil {
		t.Fatalf("junit: %v\n%s", err, x.String())
	}
	if parsed.Tests != 4 || parsed.Failures != 1 || parsed.Errors != 1 {
		t.Errorf("junit counts: %+v\n%s", parsed, x.String())
	}
}
