package bootstrap

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/phoenix-image/phoenix/vm"
)

// TestSupervisorRestartsAPanickingServerAndTheImageStaysConsistent runs a
// server on a real image that commits, then panics (once outside any
// evaluation, once inside one): each panic is logged, the server is
// restarted, and the image — after reopening — holds exactly the commits.
func TestSupervisorRestartsAPanickingServerAndTheImageStaysConsistent(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sup.image")
	s, err := NewImage(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var logBuf bytes.Buffer
	var mu sync.Mutex
	log := slog.New(slog.NewTextHandler(&syncWriter{w: &logBuf, mu: &mu}, nil))
	runs := 0
	svc := Service{Name: "counter", Run: func(ctx context.Context) error {
		runs++
		if _, err := s.VM.Eval(ctx, `Lobby.count = (Lobby.count or 0) + 1`, vm.EvalOptions{NoExpr: true}); err != nil {
			return err
		}
		switch runs {
		case 1:
			var m map[string]int
			m["server bug"]++ // a panic in the server's own code
		case 2:
			// A panic inside an evaluation: the VM rolls it back.
			err := s.VM.Do(ctx, vm.TxOptions{}, func() error {
				if _, err := s.VM.Eval(ctx, `Lobby.partial = true`, vm.EvalOptions{NoExpr: true}); err != nil {
					return err
				}
				panic("boom in a transaction")
			})
			panic(err)
		}
		return nil
	}}
	sup := &Supervisor{Log: log}
	if err := sup.Run(ctx, svc); err != nil {
		t.Fatal(err)
	}
	if runs != 3 {
		t.Fatalf("the server ran %d times, want 3 (two restarts)", runs)
	}
	mu.Lock()
	logged := logBuf.String()
	mu.Unlock()
	if strings.Count(logged, "service panicked; restarting") != 2 || !strings.Contains(logged, "assignment to entry in nil map") || !strings.Contains(logged, "boom in a transaction") {
		t.Errorf("log:\n%s", logged)
	}
	s.Close()
	s, err = Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	res, err := s.VM.Eval(ctx, `return Lobby.count, Lobby.partial`, vm.EvalOptions{Print: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(res.Strings, " "); got != "3 nil" {
		t.Fatalf("after reopening: %s, want 3 nil", got)
	}
}

func TestSupervisorGivesUpAfterMaxRestarts(t *testing.T) {
	runs := 0
	err := (&Supervisor{Log: slog.New(slog.DiscardHandler), MaxRestarts: 2}).Run(context.Background(),
		Service{Name: "broken", Run: func(context.Context) error { runs++; return errors.New("cannot bind") }})
	if err == nil || !strings.Contains(err.Error(), "service broken failed 3 times: cannot bind") || runs != 3 {
		t.Fatalf("runs %d: %v", runs, err)
	}
}

type syncWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
