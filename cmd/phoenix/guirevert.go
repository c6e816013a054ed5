//go:build cgo

package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/phoenix-image/phoenix/agent"
	"github.com/phoenix-image/phoenix/bootstrap"
	"github.com/phoenix-image/phoenix/image"
	"github.com/phoenix-image/phoenix/vm"
)

// reopener is what "Revert to snapshot" needs from the window to swap
// the open image: the session (its VM and image are replaced in place),
// how to open the image again as the window did (with the agent's
// objects and builtins), what to do with the new session on the VM's
// goroutine (hooks, journals, refreshes), and why a revert must wait
// ("" when it need not).
type reopener struct {
	sess    *bootstrap.Session
	open    func(path string) (*bootstrap.Session, error)
	rewire  func(s *bootstrap.Session)
	blocked func() string
	counter *objectCounter
}

// safetyName names the snapshot a revert takes of the state it replaces.
func (m *imageMenu) safetyName() string {
	return m.now().Format("2006-01-02T15-04-05") + "-before-revert"
}

// Revert queues the revert of the open image to snapshot name. Nothing is
// lost: on the VM's goroutine it first snapshots the current state (named
// by safetyName), then closes the session, puts the snapshot back as the
// image's store (image.RevertToSnapshot), reopens the image and hands
// the window the new VM. If the revert fails the image is reopened as it
// was.
func (m *imageMenu) Revert(name string) bool {
	ro := m.reopen
	if ro == nil || ro.sess == nil {
		m.setStatus("revert is not available for this image")
		return false
	}
	if ro.blocked != nil {
		if why := ro.blocked(); why != "" {
			m.setStatus("revert waits: " + why)
			return false
		}
	}
	safety := m.safetyName()
	m.reverting.Store(true)
	ok := m.startVM("reverting to snapshot "+name+"…", func(v *vm.VM) string {
		defer m.reverting.Store(false)
		if err := m.im.Snapshot(safety); err != nil {
			return "revert failed, nothing changed: taking snapshot " + safety + ": " + err.Error()
		}
		ro.counter.Pause()
		if err := ro.sess.Close(); err != nil {
			return "revert failed: closing the image: " + err.Error()
		}
		rerr := image.RevertToSnapshot(m.path, name)
		ns, err := ro.open(m.path)
		if err != nil {
			// RevertToSnapshot checked that the image opens; this is
			// a failure of the machine, and the window cannot go on.
			return fmt.Sprintf("the image does not reopen: %v (the state before the revert is snapshot %s); close the window", err, safety)
		}
		*ro.sess = *ns
		m.im = ns.Image
		m.loop.Replace(ns.VM)
		if ro.rewire != nil {
			ro.rewire(ns)
		}
		ro.counter.Resume(ns.Image)
		if rerr != nil {
			return "revert failed, the image is as it was: " + rerr.Error()
		}
		return "reverted to snapshot " + name + "; the state before is snapshot " + safety
	})
	if !ok {
		m.reverting.Store(false)
	}
	return ok
}

// importPath is where Import writes the image imported from the export
// file: next to it, NAME-imported.image.
func importPath(file string) string {
	p := filepath.Clean(file)
	return strings.TrimSuffix(p, filepath.Ext(p)) + "-imported.image"
}

// Import imports the export file into a new image at importPath(file),
// showing its progress in the status. It does not touch the open image,
// so it runs on a goroutine of its own, not the VM's.
func (m *imageMenu) Import(file string) bool {
	file = strings.TrimSpace(file)
	if file == "" {
		m.setStatus("import: no export file named")
		return false
	}
	dest := importPath(file)
	if !m.begin("importing " + file + "…") {
		return false
	}
	go func() {
		m.end(m.importFile(file, dest))
	}()
	return true
}

func (m *imageMenu) importFile(file, dest string) string {
	f, err := os.Open(file)
	if err != nil {
		return "import failed: " + err.Error()
	}
	defer f.Close()
	last := time.Time{}
	sum, err := image.Import(f, dest, func(done, total int64) {
		if total > 0 && time.Since(last) > 100*time.Millisecond {
			last = time.Now()
			m.setStatus(fmt.Sprintf("importing %s… %d%%", file, done*100/total))
		}
	})
	if err != nil {
		return "import of " + file + " failed: " + err.Error()
	}
	return fmt.Sprintf("imported %d records from %s as new image %s", sum.Records, file, dest)
}

// reopenWithAgent opens the image at path again as runGUI did: the same
// options, the agent's objects and builtins.
func reopenWithAgent(g *globals, path string) (*bootstrap.Session, error) {
	ctx := context.Background()
	s, err := bootstrap.Open(ctx, path, bootstrap.Options{Transcript: os.Stdout, Budget: g.budget, Logger: slog.Default()})
	if err != nil {
		return nil, err
	}
	if err := agent.InstallObjects(ctx, s.VM); err != nil {
		s.Close()
		return nil, fmt.Errorf("installing the agent's objects: %w", err)
	}
	agent.Builtins(s.VM, s.Image)
	return s, nil
}

// rewire points the window at the session ns that a revert opened, on
// the VM's goroutine: the resolver's journal, the notifier and approver
// hooks, and (on the next frame) everything the panes show.
func (u *gui) rewire(ns *bootstrap.Session, r *agent.Resolver) {
	if r != nil {
		r.Journal = ns.Image
	}
	if u.desk != nil {
		u.desk.rewire(ns.VM, ns.Image)
	} else if r != nil {
		ns.VM.SetNotUnderstood(r)
	}
	u.reopened.Store(true)
	if u.invalidate != nil {
		u.invalidate()
	}
}

// revertBlocked says why a revert must wait: a chat turn could be using
// the resolver while its journal is swapped.
func (u *gui) revertBlocked() string {
	if u.inspector.Chat.Running() {
		return "the agent is working in the chat; stop it or let it finish first"
	}
	return ""
}

// attachReopen offers "Revert image to this" in the Image menu over the
// session s.
func (u *gui) attachReopen(s *bootstrap.Session, open func(string) (*bootstrap.Session, error), r *agent.Resolver) {
	if u.menu == nil {
		return
	}
	u.menu.reopen = &reopener{sess: s, open: open, counter: u.counter, blocked: u.revertBlocked,
		rewire: func(ns *bootstrap.Session) { u.rewire(ns, r) }}
	if c, ok := u.inspector.Chat.Engine.(*plannerChat); ok {
		c.held = u.menu.reverting.Load // no chat turn starts while a revert swaps the image
	}
}
