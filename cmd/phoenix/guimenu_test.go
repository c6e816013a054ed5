//go:build cgo

package main

import (
	"context"
	stdimage "image"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gioui.org/font/gofont"
	"gioui.org/io/input"
	"gioui.org/layout"
	"gioui.org/op"
	"gioui.org/text"
	"gioui.org/unit"
	"gioui.org/widget/material"

	"github.com/phoenix-image/phoenix/bootstrap"
	"github.com/phoenix-image/phoenix/browser/browsertest"
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

// TestImageMenuRestoreSnapshot lists the image's snapshots and restores
// one as a new image next to it, through the vmLoop without a window.
func TestImageMenuRestoreSnapshot(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "snaps.image")
	s, err := bootstrap.NewImage(ctx, path, bootstrap.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.VM.Eval(ctx, "Lobby.era = 1", vm.EvalOptions{}); err != nil {
		t.Fatal(err)
	}
	loop := newVMLoop(s.VM)
	defer loop.Close()
	sync := func(f func(*vm.VM)) { // runs f on the loop and waits for it
		ch := make(chan struct{})
		loop.Go(func(v *vm.VM) { f(v); close(ch) })
		<-ch
	}
	done := make(chan struct{}, 1000)
	m := newImageMenu(loop, s.Image, s.Path, "", func() {
		select {
		case done <- struct{}{}:
		default:
		}
	})
	m.now = func() time.Time { return time.Date(2026, 11, 25, 23, 5, 1, 0, time.UTC) }
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
			case <-done:
			case <-deadline:
				t.Fatalf("still running after 20s: %q", st)
			}
		}
	}
	if !m.ListSnapshots() {
		t.Fatal("listing not queued")
	}
	wait("no snapshots")
	if snaps, show := m.Snapshots(); !show || len(snaps) != 0 {
		t.Fatalf("snapshots %v, panel %v", snaps, show)
	}
	m.Snapshot()
	wait("snapshot 2026-11-25T23-05-01 taken")
	sync(func(v *vm.VM) {
		if _, err := v.Eval(ctx, "Lobby.era = 2", vm.EvalOptions{}); err != nil {
			t.Error(err)
		}
	})
	m.ListSnapshots()
	wait("1 snapshot")
	snaps, show := m.Snapshots()
	if !show || len(snaps) != 1 || snaps[0].Name != "2026-11-25T23-05-01" {
		t.Fatalf("snapshots %v, panel %v", snaps, show)
	}
	// The panel draws the snapshot with its Restore button; click it.
	var router input.Router
	var ops op.Ops
	th := material.NewTheme()
	th.Shaper = text.NewShaper(text.WithCollection(gofont.Collection()))
	frame := func() {
		ops.Reset()
		m.Layout(layout.Context{Ops: &ops, Metric: unit.Metric{PxPerDp: 1, PxPerSp: 1}, Constraints: layout.Exact(stdimage.Pt(1000, 300)), Source: router.Source(), Now: time.Now()}, th)
		router.Frame(&ops)
	}
	frame()
	var restoreAt stdimage.Rectangle
	var labels []string
	var walk func(parent stdimage.Rectangle, ns []input.SemanticNode)
	walk = func(parent stdimage.Rectangle, ns []input.SemanticNode) {
		for _, n := range ns {
			labels = append(labels, n.Desc.Label)
			if n.Desc.Label == "Restore as new image" && restoreAt.Empty() {
				restoreAt = parent // the button around the label
			}
			walk(n.Desc.Bounds, n.Children)
		}
	}
	walk(stdimage.Rectangle{}, router.AppendSemantics(nil))
	if restoreAt.Empty() || !strings.Contains(strings.Join(labels, "|"), "Snapshots of snaps.image (1)") {
		t.Fatalf("the panel shows %q", labels)
	}
	c := restoreAt.Min.Add(restoreAt.Max).Div(2)
	browsertest.Click(&router, c)
	frame()
	frame() // the click is handled by the next frame's Layout
	m.mu.Lock()
	running := m.running || strings.HasPrefix(m.status, "snapshot 2026-11-25T23-05-01 restored")
	m.mu.Unlock()
	if !running {
		t.Fatalf("clicking Restore at %v did not start it: %q", restoreAt, m.Status())
	}
	dest := filepath.Join(filepath.Dir(path), "snaps-2026-11-25T23-05-01.image")
	if st := wait("snapshot 2026-11-25T23-05-01 restored as new image "); !strings.HasSuffix(st, dest) {
		t.Errorf("status %q does not say where (%s)", st, dest)
	}
	m.Restore(snaps[0].Name)
	wait("restore failed: ") // dest exists now
	r, err := bootstrap.Open(ctx, dest, bootstrap.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	res, err := r.VM.Eval(ctx, "return era", vm.EvalOptions{Print: true})
	if err != nil || res.Strings[0] != "1" {
		t.Fatalf("era in the restored image = %v, %v", res, err)
	}
	var era string
	sync(func(v *vm.VM) {
		res, err := v.Eval(ctx, "return era", vm.EvalOptions{Print: true})
		if err == nil {
			era = res.Strings[0]
		}
	})
	if era != "2" {
		t.Errorf("the open image's era = %q after the restore, want 2", era)
	}
}
