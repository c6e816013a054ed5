package image

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"time"
)

// snapshotInfoFile is written into each snapshot directory next to the
// Pebble checkpoint's files (Pebble ignores files it does not recognise).
const snapshotInfoFile = "PHOENIX-SNAPSHOT.json"

// SnapshotInfo describes one snapshot.
type SnapshotInfo struct {
	Name    string
	Created time.Time
	// Size is the total size of the snapshot's files. Pebble hard-links
	// the image's table files into a checkpoint where it can, so this
	// overstates the extra disk space a snapshot takes.
	Size int64
}

type snapshotMeta struct {
	Name    string    `json:"name"`
	Created time.Time `json:"created"`
	Source  string    `json:"source"`
}

// checkSnapshotName refuses names that are not a single, plain directory
// name: they must be 1–100 characters from [A-Za-z0-9._-], not starting
// with '.' or '-'.
func checkSnapshotName(name string) error {
	bad := func(why string) error {
		return fmt.Errorf("image: bad snapshot name %q: %s (use 1-100 letters, digits, '.', '_' or '-', starting with a letter, digit or '_')", name, why)
	}
	if name == "" {
		return bad("empty")
	}
	if len(name) > 100 {
		return bad("too long")
	}
	if name[0] == '.' || name[0] == '-' {
		return bad("starts with '" + name[:1] + "'")
	}
	for _, c := range name {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == '-':
		default:
			return bad(fmt.Sprintf("contains %q", c))
		}
	}
	return nil
}

// Snapshot saves the image's current committed state as snapshot name, a
// Pebble checkpoint in PATH/snapshots/NAME. It refuses bad or existing
// names. It is made under a temporary name and renamed into place.
func (im *Image) Snapshot(name string) error {
	if err := checkSnapshotName(name); err != nil {
		return err
	}
	im.mu.Lock()
	defer im.mu.Unlock()
	if err := im.checkWritable("snapshot"); err != nil {
		return err
	}
	dir := snapshotsDir(im.path)
	final := filepath.Join(dir, name)
	if _, err := os.Lstat(final); err == nil {
		return fmt.Errorf("image: snapshot %q: %w", name, ErrExists)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("image: snapshot %q: %w", name, err)
	}
	tmp := filepath.Join(dir, ".tmp-"+name+"-"+strconv.Itoa(os.Getpid()))
	os.RemoveAll(tmp) // left over from a crash
	fail := func(err error) error {
		os.RemoveAll(tmp)
		return fmt.Errorf("image: snapshot %q: %w", name, err)
	}
	if err := im.db.Checkpoint(tmp); err != nil {
		return fail(err)
	}
	meta, _ := json.MarshalIndent(snapshotMeta{Name: name, Created: time.Now(), Source: im.path}, "", "  ")
	if err := writeFileSync(filepath.Join(tmp, snapshotInfoFile), meta); err != nil {
		return fail(err)
	}
	if err := os.Rename(tmp, final); err != nil {
		return fail(err)
	}
	syncDir(dir)
	im.log.Info("snapshot created", "image", im.path, "name", name)
	return nil
}

// Snapshots lists the image's snapshots by name.
func (im *Image) Snapshots() ([]SnapshotInfo, error) {
	if err := im.checkOpen("list snapshots of"); err != nil {
		return nil, err
	}
	return listSnapshots(im.path)
}

func listSnapshots(imagePath string) ([]SnapshotInfo, error) {
	ents, err := os.ReadDir(snapshotsDir(imagePath))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("image: list snapshots: %w", err)
	}
	var out []SnapshotInfo
	for _, e := range ents {
		if !e.IsDir() || checkSnapshotName(e.Name()) != nil {
			continue // temporary or foreign
		}
		out = append(out, snapshotInfo(imagePath, e.Name()))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func snapshotInfo(imagePath, name string) SnapshotInfo {
	dir := filepath.Join(snapshotsDir(imagePath), name)
	info := SnapshotInfo{Name: name}
	if data, err := os.ReadFile(filepath.Join(dir, snapshotInfoFile)); err == nil {
		var m snapshotMeta
		if json.Unmarshal(data, &m) == nil {
			info.Created = m.Created
		}
	}
	if info.Created.IsZero() {
		if st, err := os.Stat(dir); err == nil {
			info.Created = st.ModTime()
		}
	}
	info.Size = dirSize(dir)
	return info
}

// DeleteSnapshot removes snapshot name.
func (im *Image) DeleteSnapshot(name string) error {
	if err := checkSnapshotName(name); err != nil {
		return err
	}
	im.mu.Lock()
	defer im.mu.Unlock()
	if err := im.checkWritable("delete snapshot of"); err != nil {
		return err
	}
	dir := filepath.Join(snapshotsDir(im.path), name)
	if _, err := os.Stat(dir); err != nil {
		return fmt.Errorf("image: delete snapshot %q: no such snapshot", name)
	}
	// Rename first so that a crash cannot leave a half-deleted snapshot
	// under its name.
	tmp := filepath.Join(snapshotsDir(im.path), ".del-"+name+"-"+strconv.Itoa(os.Getpid()))
	if err := os.Rename(dir, tmp); err != nil {
		return fmt.Errorf("image: delete snapshot %q: %w", name, err)
	}
	if err := os.RemoveAll(tmp); err != nil {
		return fmt.Errorf("image: delete snapshot %q: %w", name, err)
	}
	return nil
}

// RestoreSnapshot creates a new image at destPath (which must not exist)
// holding the state of imagePath's snapshot name. It reads only the
// snapshot directory, so the source image may be open, even by another
// process. The restored image is opened once to check it, then closed.
func RestoreSnapshot(imagePath, name, destPath string) (err error) {
	if err := checkSnapshotName(name); err != nil {
		return err
	}
	imagePath, err = filepath.Abs(imagePath)
	if err != nil {
		return fmt.Errorf("image: %w", err)
	}
	destPath, err = filepath.Abs(destPath)
	if err != nil {
		return fmt.Errorf("image: %w", err)
	}
	src := filepath.Join(snapshotsDir(imagePath), name)
	if st, err := os.Stat(src); err != nil || !st.IsDir() {
		return fmt.Errorf("image: restore: %s has no snapshot %q", imagePath, name)
	}
	if _, err := os.Lstat(destPath); err == nil {
		return fmt.Errorf("image: restore to %s: %w", destPath, ErrExists)
	}
	if err := os.MkdirAll(destPath, 0o755); err != nil {
		return fmt.Errorf("image: restore: %w", err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(destPath)
		}
	}()
	// Lock the destination while we fill it.
	lk, err := acquireLock(destPath)
	if err != nil {
		return err
	}
	if err := copyDir(src, storeDir(destPath), snapshotInfoFile); err != nil {
		lk.release()
		return fmt.Errorf("image: restore snapshot %q: %w", name, err)
	}
	lk.release()
	im, err := Open(destPath, Options{})
	if err != nil {
		return fmt.Errorf("image: restore snapshot %q: restored image does not open: %w", name, err)
	}
	return im.Close()
}

// copyDir copies the regular files of src into a new directory dst
// (skipping the file named skip), syncing them.
func copyDir(src, dst, skip string) error {
	ents, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	if err := os.Mkdir(dst, 0o755); err != nil {
		return err
	}
	for _, e := range ents {
		if e.Name() == skip || !e.Type().IsRegular() {
			continue
		}
		if err := copyFile(filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())); err != nil {
			return err
		}
	}
	syncDir(dst)
	return nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func writeFileSync(name string, data []byte) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// dirSize sums the sizes of the regular files under dir.
func dirSize(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}
