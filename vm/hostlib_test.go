package vm

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

// A VM whose clock and entropy are given: os.time, os.date, os.clock,
// math.random and the method history read them and nothing else.
func TestClockAndEntropyComeFromOptions(t *testing.T) {
	now := time.Date(2031, time.March, 4, 5, 6, 7, 0, time.UTC)
	clock := func() time.Time { return now }
	mk := func() *VM {
		st := NewMemStore()
		v, err := Create(Options{Store: st, Clock: clock, Entropy: bytes.NewReader(bytes.Repeat([]byte{7}, 16))})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(v.Close)
		return v
	}
	v := mk()
	if got := evalOK(t, v, `return os.time()`); got != "1930367167" {
		t.Errorf("os.time() = %s, want %d", got, now.Unix())
	}
	if got := evalOK(t, v, `return os.date("!%Y-%m-%d %H:%M:%S")`); got != "2031-03-04 05:06:07" {
		t.Errorf("os.date = %s", got)
	}
	if got := evalOK(t, v, `return os.date("!*t").year, os.date("!%Y", 0), os.time{year=2000, month=1, day=1} ~= nil`); got != "2031\t1970\ttrue" {
		t.Errorf("os.date *t / with a time / os.time{...} = %s", got)
	}
	if got := evalOK(t, v, `return os.clock()`); got != "0" {
		t.Errorf("os.clock() under a stopped clock = %s", got)
	}
	now = now.Add(1500 * time.Millisecond)
	if got := evalOK(t, v, `return os.clock()`); got != "1.5" {
		t.Errorf("os.clock() 1.5 s later = %s", got)
	}
	// The same entropy gives the same sequence; randomseed repeats one.
	draw := `local t = {} for i = 1, 5 do t[i] = math.random(1000) end return table.concat(t, ",")`
	a, b := evalOK(t, v, draw), evalOK(t, mk(), draw)
	if a != b {
		t.Errorf("the same entropy gave %s and %s", a, b)
	}
	s1 := evalOK(t, v, `math.randomseed(42) `+draw)
	evalOK(t, v, draw)
	if s2 := evalOK(t, v, `math.randomseed(42) `+draw); s1 != s2 || s1 == a {
		t.Errorf("randomseed(42): %s then %s (entropy gave %s)", s1, s2, a)
	}
	if got := evalOK(t, v, `local ok = true for i = 1, 200 do local x, y, z = math.random(3, 4), math.random(2), math.random() ok = ok and (x == 3 or x == 4) and (y == 1 or y == 2) and z >= 0 and z < 1 end return ok`); got != "true" {
		t.Error("math.random out of its interval")
	}
	if _, err := v.Eval(context.Background(), `return math.random(5, 1)`, EvalOptions{}); err == nil || !strings.Contains(err.Error(), "interval is empty") {
		t.Errorf("math.random(5, 1): %v", err)
	}
	// The method history is stamped with the same clock.
	evalOK(t, v, `Clocked = Object:clone(); function Clocked:m() return 1 end`)
	h, err := v.History(v.Global("Clocked"), "m")
	if err != nil || len(h) != 1 || !h[0].Time.Equal(now) {
		t.Errorf("history of Clocked:m: %+v %v (want the time %v)", h, err, now)
	}
}

func TestEntropyThatFailsIsAnError(t *testing.T) {
	_, err := Create(Options{Store: NewMemStore(), Entropy: bytes.NewReader([]byte{1, 2})})
	if err == nil || !strings.Contains(err.Error(), "Options.Entropy") || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("short entropy: %v", err)
	}
}
