package bootstrap

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/phoenix-image/phoenix/kernelhost"
	"github.com/phoenix-image/phoenix/vm"
)

// stoppedHost is the hosted Host with a stopped clock and no entropy.
type stoppedHost struct {
	kernelhost.Hosted
	now time.Time
}

func (h stoppedHost) Now() time.Time     { return h.now }
func (h stoppedHost) Entropy() io.Reader { return bytes.NewReader(make([]byte, 16)) }

// Options.Host is what the VM of an opened image runs on: its clock, in
// a new image and after reopening, and its entropy.
func TestOpenGivesTheVMTheHostsClockAndEntropy(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "h.image")
	h := stoppedHost{now: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
	draw := `return math.random(1000000), math.random(1000000)`
	var first string
	for i, create := range []bool{true, false} {
		s, err := Open(ctx, path, Options{Create: create, Host: h})
		if err != nil {
			t.Fatal(err)
		}
		res, err := s.VM.Eval(ctx, `return os.time(), os.date("!%H:%M:%S")`, vm.EvalOptions{Print: true})
		if err != nil || strings.Join(res.Strings, " ") != "1893553445 03:04:05" {
			t.Errorf("open %d: os.time, os.date = %v %v", i, res, err)
		}
		res, err = s.VM.Eval(ctx, draw, vm.EvalOptions{Print: true})
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(res.Strings, " "); i == 0 {
			first = got
		} else if got != first {
			t.Errorf("the same entropy drew %s, then %s", first, got)
		}
		s.Close()
	}
	// Without a Host, the hosted one: the real clock.
	s, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	res, err := s.VM.Eval(ctx, `return os.time()`, vm.EvalOptions{Print: true})
	if err != nil {
		t.Fatal(err)
	}
	got, err := strconv.ParseInt(res.Strings[0], 10, 64)
	if d := time.Since(time.Unix(got, 0)); err != nil || d < -time.Minute || d > time.Minute {
		t.Errorf("os.time() on the default Host: %s, now is %d", res.Strings[0], time.Now().Unix())
	}
}
