package sandbox

import (
	"context"
	"slices"
	"testing"
	"time"
)

// trivialRequest is a passing candidate with one test and a call.
func trivialRequest() *Request {
	return &Request{
		Context:  "Counter = Object:clone()\nCounter.n = 0\n",
		Receiver: "Counter",
		Selector: "bump",
		Source:   "function Counter:bump() self.n = self.n + 1; return self end",
		Tests:    "function ProposalTest:testBump() self:assertEquals(1, Counter:clone():bump().n) end",
		Call:     "return Counter:clone():bump().n",
	}
}

func benchValidate(b *testing.B, v Validator) {
	req := trivialRequest()
	var each []time.Duration
	for b.Loop() {
		start := time.Now()
		r, err := v.Validate(context.Background(), req)
		each = append(each, time.Since(start))
		if err != nil || !r.OK {
			b.Fatalf("%v %+v", err, r)
		}
	}
	slices.Sort(each)
	b.ReportMetric(float64(each[len(each)/2].Nanoseconds()), "median-ns/op")
}

func BenchmarkValidateInProcess(b *testing.B) {
	benchValidate(b, NewInProcess())
}

func BenchmarkValidateWarm(b *testing.B) {
	benchValidate(b, newRunsc(b, RunscOptions{}))
}

func BenchmarkValidateCold(b *testing.B) {
	benchValidate(b, newRunsc(b, RunscOptions{Pool: Cold}))
}
