//go:build cgo

package main

import (
	"fmt"
	"image/color"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"gioui.org/layout"
	"gioui.org/unit"
	"gioui.org/widget"
	"gioui.org/widget/material"

	"github.com/phoenix-image/phoenix/image"
	"github.com/phoenix-image/phoenix/vm"
)

// imageMenu is the window's Image menu: Snapshot (named by the time),
// Export (to NAME.phx next to the image), Import… (an export file into a
// new image next to it, with its progress) and Snapshots… (the image's
// snapshots, each with "Restore as new image" to NAME-SNAPSHOT.image next
// to it and "Revert image to this", which asks for a second click and
// snapshots the current state before it swaps). They run one at a time,
// on the VM's goroutine through the session's *image.Image (Import on its
// own goroutine); Status says how the last one went and LLM which model
// the agent uses.
type imageMenu struct {
	loop       *vmLoop
	im         *image.Image
	path       string
	model      string // "" when no LLM is configured
	invalidate func()
	now        func() time.Time

	snapshot, export, snapshots, closeSnaps widget.Clickable
	restore                                 map[string]*widget.Clickable // by snapshot name
	revert                                  map[string]*widget.Clickable // by snapshot name
	importOpen, importRun, importCancel     widget.Clickable
	ImportFile                              widget.Editor // the export file to import
	showImport                              bool
	confirmRevert                           string // the snapshot whose Revert was clicked once

	// reopen swaps the open image for a revert; nil: Revert is not
	// offered (guirevert.go).
	reopen    *reopener
	reverting atomic.Bool // from Revert until its request ends

	mu        sync.Mutex
	running   bool
	status    string
	showSnaps bool                 // the snapshots panel is open
	snaps     []image.SnapshotInfo // as last listed
}

func newImageMenu(loop *vmLoop, im *image.Image, path, model string, invalidate func()) *imageMenu {
	if invalidate == nil {
		invalidate = func() {}
	}
	return &imageMenu{loop: loop, im: im, path: path, model: model, invalidate: invalidate, now: time.Now}
}

// exportPath is where Export writes: the image's path with .phx for its
// extension (a.image → a.phx).
func (m *imageMenu) exportPath() string {
	p := filepath.Clean(m.path)
	return strings.TrimSuffix(p, filepath.Ext(p)) + ".phx"
}

// Status is the outcome or progress of the last action, "" before one.
func (m *imageMenu) Status() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.status
}

// LLM names the configured model, or says there is none.
func (m *imageMenu) LLM() string {
	if m.model == "" {
		return "no LLM"
	}
	return "LLM " + m.model
}

func (m *imageMenu) setStatus(s string) {
	m.mu.Lock()
	m.status = s
	m.mu.Unlock()
	m.invalidate()
}

// begin marks an action running with status; false if one already is.
func (m *imageMenu) begin(status string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.running {
		return false
	}
	m.running, m.status = true, status
	return true
}

// end marks the running action done with status.
func (m *imageMenu) end(status string) {
	m.mu.Lock()
	m.running, m.status = false, status
	m.mu.Unlock()
	m.invalidate()
}

// start queues f unless an action is running; false if it did not.
func (m *imageMenu) start(status string, f func() string) bool {
	return m.startVM(status, func(*vm.VM) string { return f() })
}

// startVM queues f on the VM's goroutine unless an action is running.
func (m *imageMenu) startVM(status string, f func(v *vm.VM) string) bool {
	if !m.begin(status) {
		return false
	}
	ok := m.loop.Go(func(v *vm.VM) { m.end(f(v)) })
	if !ok {
		m.end(errClosed.Error())
	}
	return ok
}

// Snapshot queues a snapshot named by the time, e.g. 2026-11-25T23-05-01.
func (m *imageMenu) Snapshot() bool {
	name := m.now().Format("2006-01-02T15-04-05")
	return m.start("taking snapshot "+name+"…", func() string {
		if err := m.im.Snapshot(name); err != nil {
			return "snapshot failed: " + err.Error()
		}
		return "snapshot " + name + " taken"
	})
}

// Export queues an export of the image to exportPath, written to a
// temporary file and renamed into place.
func (m *imageMenu) Export() bool {
	dest := m.exportPath()
	return m.start("exporting to "+dest+"…", func() string {
		tmp := dest + ".tmp"
		f, err := os.Create(tmp)
		if err != nil {
			return "export failed: " + err.Error()
		}
		last := time.Time{}
		sum, err := m.im.Export(f, func(done, total int64) {
			if total > 0 && time.Since(last) > 100*time.Millisecond {
				last = time.Now()
				m.setStatus(fmt.Sprintf("exporting to %s… %d%%", dest, done*100/total))
			}
		})
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Rename(tmp, dest)
		}
		if err != nil {
			os.Remove(tmp)
			return "export failed: " + err.Error()
		}
		return fmt.Sprintf("exported %d records to %s", sum.Records, dest)
	})
}

// ListSnapshots queues a listing of the image's snapshots and opens the
// snapshots panel with it.
func (m *imageMenu) ListSnapshots() bool {
	return m.start("listing snapshots…", func() string {
		snaps, err := m.im.Snapshots()
		if err != nil {
			return "listing snapshots failed: " + err.Error()
		}
		m.mu.Lock()
		m.snaps, m.showSnaps = snaps, true
		m.mu.Unlock()
		switch len(snaps) {
		case 0:
			return "no snapshots"
		case 1:
			return "1 snapshot"
		}
		return fmt.Sprintf("%d snapshots", len(snaps))
	})
}

// Snapshots returns the snapshots last listed and whether the panel is
// open.
func (m *imageMenu) Snapshots() ([]image.SnapshotInfo, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.snaps, m.showSnaps
}

// restorePath is where the snapshot name is restored: the image's path
// with -name before its extension (a.image → a-NAME.image).
func (m *imageMenu) restorePath(name string) string {
	p := filepath.Clean(m.path)
	return strings.TrimSuffix(p, filepath.Ext(p)) + "-" + name + ".image"
}

// Restore queues the restore of snapshot name as a new image at
// restorePath; the image open in the window is left as it is.
func (m *imageMenu) Restore(name string) bool {
	dest := m.restorePath(name)
	return m.start("restoring snapshot "+name+"…", func() string {
		if err := image.RestoreSnapshot(m.path, name, dest); err != nil {
			return "restore failed: " + err.Error()
		}
		return "snapshot " + name + " restored as new image " + dest
	})
}

// Layout draws the menu bar and runs the clicked action.
func (m *imageMenu) Layout(gtx layout.Context, th *material.Theme) layout.Dimensions {
	if m.snapshot.Clicked(gtx) {
		m.Snapshot()
	}
	if m.export.Clicked(gtx) {
		m.Export()
	}
	if m.snapshots.Clicked(gtx) {
		m.ListSnapshots()
	}
	if m.closeSnaps.Clicked(gtx) {
		m.mu.Lock()
		m.showSnaps = false
		m.mu.Unlock()
	}
	for name, c := range m.restore {
		if c.Clicked(gtx) {
			m.Restore(name)
			m.confirmRevert = ""
		}
	}
	for name, c := range m.revert {
		if c.Clicked(gtx) {
			if m.confirmRevert != name {
				m.confirmRevert = name
			} else {
				m.confirmRevert = ""
				m.Revert(name)
			}
		}
	}
	if m.importOpen.Clicked(gtx) {
		m.showImport = !m.showImport
		if m.showImport && m.ImportFile.Text() == "" {
			m.ImportFile.SetText(m.exportPath())
		}
	}
	if m.importCancel.Clicked(gtx) {
		m.showImport = false
	}
	if m.importRun.Clicked(gtx) {
		if m.Import(m.ImportFile.Text()) {
			m.showImport = false
		}
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
	bar := func(gtx layout.Context) layout.Dimensions {
		return layout.Flex{Axis: layout.Horizontal, Alignment: layout.Middle}.Layout(gtx,
			layout.Rigid(func(gtx layout.Context) layout.Dimensions {
				return layout.Inset{Right: unit.Dp(8)}.Layout(gtx, material.Body2(th, "Image").Layout)
			}),
			button(&m.snapshot, "Snapshot"),
			button(&m.export, "Export"),
			button(&m.importOpen, "Import…"),
			button(&m.snapshots, "Snapshots…"),
		)
	}
	snaps, show := m.Snapshots()
	rows := []layout.FlexChild{layout.Rigid(bar)}
	if m.showImport {
		m.ImportFile.SingleLine = true
		rows = append(rows, layout.Rigid(func(gtx layout.Context) layout.Dimensions {
			return layout.Inset{Top: unit.Dp(4)}.Layout(gtx, func(gtx layout.Context) layout.Dimensions {
				return layout.Flex{Axis: layout.Horizontal, Alignment: layout.Middle}.Layout(gtx,
					layout.Rigid(func(gtx layout.Context) layout.Dimensions {
						return layout.Inset{Right: unit.Dp(8)}.Layout(gtx, material.Body2(th, "Export file").Layout)
					}),
					layout.Flexed(1, func(gtx layout.Context) layout.Dimensions {
						return widget.Border{Color: menuBorder, Width: unit.Dp(1)}.Layout(gtx, func(gtx layout.Context) layout.Dimensions {
							return layout.UniformInset(unit.Dp(3)).Layout(gtx, material.Editor(th, &m.ImportFile, "path of a .phx export").Layout)
						})
					}),
					layout.Rigid(func(gtx layout.Context) layout.Dimensions { return layout.Spacer{Width: unit.Dp(6)}.Layout(gtx) }),
					button(&m.importRun, "Import as new image"),
					button(&m.importCancel, "Cancel"),
				)
			})
		}))
	}
	if show {
		if m.restore == nil {
			m.restore = make(map[string]*widget.Clickable)
		}
		head := fmt.Sprintf("Snapshots of %s (%d)", filepath.Base(m.path), len(snaps))
		rows = append(rows, layout.Rigid(func(gtx layout.Context) layout.Dimensions {
			return layout.Flex{Axis: layout.Horizontal, Alignment: layout.Middle}.Layout(gtx,
				layout.Rigid(func(gtx layout.Context) layout.Dimensions {
					return layout.Inset{Top: unit.Dp(4), Right: unit.Dp(8)}.Layout(gtx, material.Body2(th, head).Layout)
				}),
				button(&m.closeSnaps, "Close"),
			)
		}))
		if m.revert == nil {
			m.revert = make(map[string]*widget.Clickable)
		}
		for _, sn := range snaps {
			c := m.restore[sn.Name]
			if c == nil {
				c = new(widget.Clickable)
				m.restore[sn.Name] = c
			}
			rv := m.revert[sn.Name]
			if rv == nil {
				rv = new(widget.Clickable)
				m.revert[sn.Name] = rv
			}
			revertLabel := "Revert image to this"
			if m.confirmRevert == sn.Name {
				revertLabel = "Revert " + filepath.Base(m.path) + " to " + sn.Name + "? (the current state is snapshotted first) Click again"
			}
			line := fmt.Sprintf("%s   %s   %.1f MB", sn.Name, sn.Created.Local().Format("2006-01-02 15:04"), float64(sn.Size)/1e6)
			rows = append(rows, layout.Rigid(func(gtx layout.Context) layout.Dimensions {
				return layout.Inset{Top: unit.Dp(2)}.Layout(gtx, func(gtx layout.Context) layout.Dimensions {
					return layout.Flex{Axis: layout.Horizontal, Alignment: layout.Middle}.Layout(gtx,
						layout.Rigid(func(gtx layout.Context) layout.Dimensions {
							l := material.Body2(th, line)
							l.Font.Typeface = "Go Mono"
							return layout.Inset{Right: unit.Dp(8)}.Layout(gtx, l.Layout)
						}),
						button(c, "Restore as new image"),
						func() layout.FlexChild {
							if m.reopen == nil {
								return layout.Rigid(func(layout.Context) layout.Dimensions { return layout.Dimensions{} })
							}
							if m.confirmRevert != sn.Name {
								return button(rv, revertLabel)
							}
							return layout.Rigid(func(gtx layout.Context) layout.Dimensions {
								b := material.Button(th, rv, revertLabel)
								b.Inset = layout.UniformInset(unit.Dp(4))
								b.Background = confirmColor
								return b.Layout(gtx)
							})
						}(),
					)
				})
			}))
		}
	}
	return layout.UniformInset(unit.Dp(2)).Layout(gtx, func(gtx layout.Context) layout.Dimensions {
		return layout.Flex{Axis: layout.Vertical}.Layout(gtx, rows...)
	})
}

var (
	menuBorder   = color.NRGBA{R: 0xc0, G: 0xc0, B: 0xc0, A: 0xff}
	confirmColor = color.NRGBA{R: 0xb0, G: 0x30, B: 0x30, A: 0xff} // a click that replaces the open image
)

// llmModel is the model of the session's resolver, "" without an LLM.
func llmModel(g *globals) string {
	if g.resolver == nil || g.resolver.LLM == nil {
		return ""
	}
	if g.resolver.Model == "" {
		return "(unnamed model)"
	}
	return g.resolver.Model
}
