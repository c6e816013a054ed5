//go:build cgo

package main

import (
	"context"
	"fmt"
	"sync"

	"gioui.org/layout"
	"gioui.org/unit"
	"gioui.org/widget"
	"gioui.org/widget/material"

	"github.com/phoenix-image/phoenix/kernelhost/remote"
)

// attachedMenu is the attached window's Image menu: Snapshot (named by the
// server's time), Export (NAME.phx next to the image, on the server's
// machine) and Snapshots… (the list), through image.snapshot,
// image.export and image.snapshots, and each snapshot's "Restore as new
// image" (image.restore: NAME-SNAPSHOT.image next to the served one). One
// action at a time, each on its own goroutine; Status says how the last
// one went. Import and revert are not remote: revert swaps the image
// under the server's other clients, and import reads a file the client
// would have to send.
type attachedMenu struct {
	c          *remote.Client
	invalidate func()

	snapshot, export, snapshots, closeSnaps widget.Clickable
	restore                                 map[string]*widget.Clickable // by snapshot name

	mu        sync.Mutex
	running   bool
	status    string
	snaps     []remote.Snapshot
	showSnaps bool
}

// Status is the outcome or progress of the last action, "" before one.
func (m *attachedMenu) Status() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.status
}

// Snapshots returns the snapshots last listed and whether the list is
// shown.
func (m *attachedMenu) Snapshots() ([]remote.Snapshot, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.snaps, m.showSnaps
}

// start runs f on its own goroutine unless an action is running; f's
// answer becomes the status.
func (m *attachedMenu) start(status string, f func(ctx context.Context) string) bool {
	m.mu.Lock()
	if m.running {
		m.mu.Unlock()
		return false
	}
	m.running, m.status = true, status
	m.mu.Unlock()
	go func() {
		st := f(context.Background())
		m.mu.Lock()
		m.running, m.status = false, st
		m.mu.Unlock()
		m.invalidate()
	}()
	return true
}

// Snapshot asks the server for a snapshot named by its time.
func (m *attachedMenu) Snapshot() bool {
	return m.start("taking a snapshot on the server…", func(ctx context.Context) string {
		s, err := m.c.Snapshot(ctx, "")
		if err != nil {
			return "snapshot failed: " + remoteMsg(err).Error()
		}
		return "snapshot " + s.Name + " taken on the server"
	})
}

// Export asks the server to export the image next to it.
func (m *attachedMenu) Export() bool {
	return m.start("exporting on the server…", func(ctx context.Context) string {
		ex, err := m.c.Export(ctx)
		if err != nil {
			return "export failed: " + remoteMsg(err).Error()
		}
		return fmt.Sprintf("exported %d records to %s on the server", ex.Records, ex.Path)
	})
}

// ListSnapshots lists the server's snapshots and shows them.
func (m *attachedMenu) ListSnapshots() bool {
	return m.start("listing snapshots…", func(ctx context.Context) string {
		res, err := m.c.Snapshots(ctx)
		if err != nil {
			return "listing snapshots failed: " + remoteMsg(err).Error()
		}
		m.mu.Lock()
		m.snaps, m.showSnaps = res.Snapshots, true
		m.mu.Unlock()
		if len(res.Snapshots) == 1 {
			return "1 snapshot"
		}
		return fmt.Sprintf("%d snapshots", len(res.Snapshots))
	})
}

// Restore asks the server to restore snapshot name as a new image next to
// the served one (which stays as it is).
func (m *attachedMenu) Restore(name string) bool {
	return m.start("restoring snapshot "+name+" on the server…", func(ctx context.Context) string {
		r, err := m.c.Restore(ctx, name)
		if err != nil {
			return "restore failed: " + remoteMsg(err).Error()
		}
		return "snapshot " + name + " restored as new image " + r.Path + " on the server"
	})
}

// Layout handles the last frame's clicks and draws the bar, the status
// and the snapshots shown.
func (m *attachedMenu) Layout(gtx layout.Context, th *material.Theme) layout.Dimensions {
	if m.snapshot.Clicked(gtx) {
		m.Snapshot()
	}
	if m.export.Clicked(gtx) {
		m.Export()
	}
	if m.snapshots.Clicked(gtx) {
		m.ListSnapshots()
	}
	for name, c := range m.restore {
		if c.Clicked(gtx) {
			m.Restore(name)
		}
	}
	if m.closeSnaps.Clicked(gtx) {
		m.mu.Lock()
		m.showSnaps = false
		m.mu.Unlock()
	}
	button := func(c *widget.Clickable, label string) layout.FlexChild {
		return layout.Rigid(func(gtx layout.Context) layout.Dimensions {
			return layout.Inset{Right: unit.Dp(4)}.Layout(gtx, func(gtx layout.Context) layout.Dimensions {
				b := material.Button(th, c, label)
				b.Inset = layout.UniformInset(unit.Dp(4))
				return b.Layout(gtx)
			})
		})
	}
	status := m.Status()
	rows := []layout.FlexChild{layout.Rigid(func(gtx layout.Context) layout.Dimensions {
		return layout.Flex{Axis: layout.Horizontal, Alignment: layout.Middle}.Layout(gtx,
			layout.Rigid(func(gtx layout.Context) layout.Dimensions {
				return layout.Inset{Right: unit.Dp(8)}.Layout(gtx, material.Body2(th, "Image (on the server)").Layout)
			}),
			button(&m.snapshot, "Snapshot"),
			button(&m.export, "Export"),
			button(&m.snapshots, "Snapshots…"),
			layout.Rigid(func(gtx layout.Context) layout.Dimensions {
				return layout.Inset{Left: unit.Dp(8)}.Layout(gtx, material.Body2(th, status).Layout)
			}),
		)
	})}
	if snaps, show := m.Snapshots(); show {
		rows = append(rows, layout.Rigid(func(gtx layout.Context) layout.Dimensions {
			return layout.Flex{Axis: layout.Horizontal, Alignment: layout.Middle}.Layout(gtx,
				layout.Rigid(func(gtx layout.Context) layout.Dimensions {
					return layout.Inset{Top: unit.Dp(4), Right: unit.Dp(8)}.Layout(gtx, material.Body2(th, fmt.Sprintf("Snapshots on the server (%d)", len(snaps))).Layout)
				}),
				button(&m.closeSnaps, "Close"),
			)
		}))
		for _, sn := range snaps {
			size := fmt.Sprintf("%.1f MB", float64(sn.Size)/1e6)
			if sn.Size < 1e6 {
				size = fmt.Sprintf("%d KB", (sn.Size+999)/1000)
			}
			line := sn.Name + "   " + sn.Created.Local().Format("2006-01-02 15:04:05") + "   " + size
			if m.restore == nil {
				m.restore = map[string]*widget.Clickable{}
			}
			c := m.restore[sn.Name]
			if c == nil {
				c = new(widget.Clickable)
				m.restore[sn.Name] = c
			}
			rows = append(rows, layout.Rigid(func(gtx layout.Context) layout.Dimensions {
				return layout.Flex{Axis: layout.Horizontal, Alignment: layout.Middle}.Layout(gtx,
					layout.Rigid(func(gtx layout.Context) layout.Dimensions {
						return layout.Inset{Right: unit.Dp(8)}.Layout(gtx, material.Body2(th, line).Layout)
					}),
					button(c, "Restore as new image"),
				)
			}))
		}
	}
	return layout.UniformInset(unit.Dp(4)).Layout(gtx, func(gtx layout.Context) layout.Dimensions {
		return layout.Flex{Axis: layout.Vertical}.Layout(gtx, rows...)
	})
}
