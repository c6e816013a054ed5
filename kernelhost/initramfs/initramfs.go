// Package initramfs writes the initramfs of the boot artifact: a newc
// (SVR4, "070701") cpio archive whose /init is a static phoenix binary,
// plus the empty directories PID 1 mounts file systems on. The archive is
// deterministic (fixed times, owners and order), so its bytes depend only
// on its contents and the artifact can be cached by content hash.
//
// It may import the standard library and github.com/cavaliergopher/cpio;
// nothing of Phoenix.
package initramfs

import (
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/cavaliergopher/cpio"
)

// Entry is one file or directory of the archive.
type Entry struct {
	// Name is the path inside the archive, without a leading slash
	// ("init", "dev").
	Name string
	// Dir makes a directory; otherwise a regular file with Mode.
	Dir  bool
	Mode os.FileMode
	// Source is the file on the host whose bytes become this entry's.
	Source string
}

// Dirs are the directories PID 1 mounts on (kernelhost.RunInit).
var Dirs = []string{"dev", "proc", "sys", "tmp", "phoenix"}

// Phoenix lists the entries of a Phoenix initramfs: /init is the static
// phoenix binary at bin, and Dirs.
func Phoenix(bin string) []Entry {
	es := []Entry{{Name: "init", Mode: 0o755, Source: bin}}
	for _, d := range Dirs {
		es = append(es, Entry{Name: d, Dir: true, Mode: 0o755})
	}
	return es
}

// Write writes the entries as a newc cpio archive to w, directories
// before their contents, in name order. progress, if not nil, is called
// with the bytes of file contents written so far and the total.
func Write(w io.Writer, entries []Entry, progress func(done, total int64)) error {
	es := append([]Entry(nil), entries...)
	sort.Slice(es, func(i, j int) bool { return es[i].Name < es[j].Name })
	var total int64
	for i, e := range es {
		name := strings.TrimPrefix(path.Clean("/"+e.Name), "/")
		if name == "" {
			return fmt.Errorf("initramfs: entry %d: empty name", i)
		}
		es[i].Name = name
		if !e.Dir {
			fi, err := os.Stat(e.Source)
			if err != nil {
				return fmt.Errorf("initramfs: %s: %w", name, err)
			}
			if !fi.Mode().IsRegular() {
				return fmt.Errorf("initramfs: %s: source %s is not a regular file", name, e.Source)
			}
			total += fi.Size()
		}
	}
	cw := cpio.NewWriter(w)
	var done int64
	epoch := time.Unix(0, 0)
	for i, e := range es {
		h := &cpio.Header{Name: e.Name, ModTime: epoch, Inode: int64(i + 1), Links: 1}
		if e.Dir {
			h.Mode = cpio.TypeDir | cpio.FileMode(e.Mode.Perm())
			h.Links = 2
			if err := cw.WriteHeader(h); err != nil {
				return fmt.Errorf("initramfs: %s: %w", e.Name, err)
			}
			continue
		}
		f, err := os.Open(e.Source)
		if err != nil {
			return fmt.Errorf("initramfs: %s: %w", e.Name, err)
		}
		fi, err := f.Stat()
		if err != nil {
			f.Close()
			return fmt.Errorf("initramfs: %s: %w", e.Name, err)
		}
		h.Mode = cpio.TypeReg | cpio.FileMode(e.Mode.Perm())
		h.Size = fi.Size()
		if err := cw.WriteHeader(h); err != nil {
			f.Close()
			return fmt.Errorf("initramfs: %s: %w", e.Name, err)
		}
		n, err := io.Copy(cw, &progressReader{r: f, done: &done, total: total, fn: progress})
		f.Close()
		if err != nil {
			return fmt.Errorf("initramfs: %s: %w", e.Name, err)
		}
		if n != h.Size {
			return fmt.Errorf("initramfs: %s: %s changed while being read (%d of %d bytes)", e.Name, e.Source, n, h.Size)
		}
	}
	if err := cw.Close(); err != nil {
		return fmt.Errorf("initramfs: %w", err)
	}
	return nil
}

type progressReader struct {
	r     io.Reader
	done  *int64
	total int64
	fn    func(done, total int64)
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	*p.done += int64(n)
	if p.fn != nil && n > 0 {
		p.fn(*p.done, p.total)
	}
	return n, err
}
