//go:build cgo

package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/phoenix-image/phoenix/bootstrap"
	"github.com/phoenix-image/phoenix/image"
	"github.com/phoenix-image/phoenix/vm"
)

// TestImageMenuActions runs Snapshot and Export through the vmLoop on an
// image on disk, without a window, and checks what they left behind.
func TestImageMenuActions(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "menu.image")
	s, err := bootstrap.NewImage(ctx, path, bootstrap.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.VM.Eval(ctx, "Lobby.menu = 42", vm.EvalOptions{}); err != nil {
		t.Fatal(err)
	}
	loop := newVMLoop(s.VM)
	inval := make(chan struct{}, 1000)
	m := newImageMenu(loop, s.Image, s.Path, "", func() {
		select {
		case inval <- struct{}{}:
		default:
		}
	})
	m.now = func() time.Time { return time.Date(2026, 11, 25, 23, 5, 1, 0, time.UTC) }
	if got := m.LLM(); got != "no LLM" {
		t.Errorf("LLM() = %q", got)
	}
	if got := (&imageMenu{model: "gpt-x"}).LLM(); got != "LLM gpt-x" {
		t.Errorf("LLM() = %q", got)
	}
	wait := func(prefix string) string {
		t.Helper()
		deadline := time.After(20 * time.Second)
		for {
			m.mu.Lock()
			running, st := m.running, m.status
			m.mu.Unlock()
			if !running {
				if !strings.HasPrefix(st, prefix) {
					t.Fatalf("status %q, want %q…", st, prefix)
				}
				return st
			}
			select {
			case <-inval:
			case <-deadline:
				t.Fatalf("still running after 20s: %q", st)
			}
		}
	}

	// Block the loop so the second request finds the first running.
	release := make(chan struct{})
	loop.Go(func(*vm.VM) { <-release })
	if !m.Snapshot() {
		t.Fatal("Snapshot not queued")
	}
	if st := m.Status(); !strings.HasPrefix(st, "taking snapshot 2026-11-25T23-05-01") {
		t.Errorf("status while queued = %q", st)
	}
	if m.Export() {
		t.Error("Export queued while the snapshot runs")
	}
	close(release)
	wait("snapshot 2026-11-25T23-05-01 taken")
	snaps, err := s.Image.Snapshots()
	if err != nil || len(snaps) != 1 || snaps[0].Name != "2026-11-25T23-05-01" {
		t.Fatalf("snapshots = %v, %v", snaps, err)
	}
	if m.Snapshot() {
		wait("snapshot failed: ") // the same name again
	}

	if !m.Export() {
		t.Fatal("Export not queued")
	}
	dest := filepath.Join(filepath.Dir(path), "menu.phx")
	wait("exported ")
	if !strings.HasSuffix(m.Status(), " to "+dest) {
		t.Errorf("status = %q", m.Status())
	}
	loop.Close()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dest + ".tmp"); !os.IsNotExist(err) {
		t.Errorf("temporary file left: %v", err)
	}
	f, err := os.Open(dest)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	restored := filepath.Join(t.TempDir(), "restored.image")
	if _, err := image.Import(f, restored, nil); err != nil {
		t.Fatalf("importing the export: %v", err)
	}
	r, err := bootstrap.Open(ctx, restored, bootstrap.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	res, err := r.VM.Eval(ctx, "return menu", vm.EvalOptions{Print: true})
	if err != nil || res.Strings[0] != "42" {
		t.Fatalf("menu in the imported export = %v, %v", res, err)
	}
	if m.Snapshot() || !strings.Contains(m.Status(), "closed") {
		t.Errorf("after Close: status %q", m.Status())
	}
}
