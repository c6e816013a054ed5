package sandbox

import (
	"context"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	for _, c := range basicCases() {
		t.Run(c.name, func(t *testing.T) {
			r := Run(context.Background(), c.req())
			t.Logf("%+v", r)
			c.check(t, r)
		})
	}
}

func TestRunContextError(t *testing.T) {
	q := goodRequest()
	q.Context = "Account = = 1"
	r := Run(context.Background(), q)
	if r.OK || !strings.HasPrefix(r.Error, "context: ") {
		t.Errorf("bad context: %+v", r)
	}
	q = goodRequest()
	q.Receiver = "Nobody"
	if r := Run(context.Background(), q); r.OK || !strings.Contains(r.Error, "Nobody") {
		t.Errorf("missing receiver: %+v", r)
	}
}

func TestOutputCapped(t *testing.T) {
	q := goodRequest()
	q.Call = `for i = 1, 20000 do print(string.rep("y", 99)) end return 1`
	r := Run(context.Background(), q)
	if !r.OK || len(r.Output) > MaxOutput+100 || !strings.Contains(r.Output, "[output truncated") {
		t.Errorf("output not capped: len %d, OK %v, %s", len(r.Output), r.OK, r.Output[len(r.Output)-60:])
	}
}

func TestInProcessValidator(t *testing.T) {
	v := NewInProcess()
	defer v.Close()
	r, err := v.Validate(context.Background(), goodRequest())
	if err != nil || !r.OK || r.Boundary != BoundaryInProcess || v.Boundary() != BoundaryInProcess {
		t.Errorf("in-process: %v %+v", err, r)
	}
}
