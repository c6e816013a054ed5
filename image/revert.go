package image

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// RevertToSnapshot puts snapshot name back as the store of the closed
// image at imagePath, in place: its snapshots (name among them) stay.
// The snapshot is copied next to the store first, then the two are
// swapped by renames and the result is opened to check it; on any error
// the image is left as it was. What the store held is lost, so take a
// snapshot of it first (the GUI's "Revert to snapshot" does).
func RevertToSnapshot(imagePath, name string) (err error) {
	if err := checkSnapshotName(name); err != nil {
		return err
	}
	imagePath, err = filepath.Abs(imagePath)
	if err != nil {
		return fmt.Errorf("image: %w", err)
	}
	src := filepath.Join(snapshotsDir(imagePath), name)
	if st, err := os.Stat(src); err != nil || !st.IsDir() {
		return fmt.Errorf("image: revert %s: no snapshot %q", imagePath, name)
	}
	fail := func(err error) error {
		return fmt.Errorf("image: revert %s to snapshot %q: %w", imagePath, name, err)
	}
	lk, err := acquireLock(imagePath) // refuses an image that is open
	if err != nil {
		return fail(err)
	}
	stamp := strconv.FormatInt(time.Now().UnixNano(), 36)
	fresh := filepath.Join(imagePath, "store.revert-"+stamp)
	old := filepath.Join(imagePath, "store.replaced-"+stamp)
	if err := copyDir(src, fresh, snapshotInfoFile); err != nil {
		os.RemoveAll(fresh)
		lk.release()
		return fail(err)
	}
	if err := os.Rename(storeDir(imagePath), old); err != nil {
		os.RemoveAll(fresh)
		lk.release()
		return fail(err)
	}
	if err := os.Rename(fresh, storeDir(imagePath)); err != nil {
		os.Rename(old, storeDir(imagePath))
		os.RemoveAll(fresh)
		lk.release()
		return fail(err)
	}
	syncDir(imagePath)
	lk.release()
	im, err := Open(imagePath, Options{})
	if err == nil {
		err = im.Close()
	}
	if err != nil { // put the old store back
		if lk, lerr := acquireLock(imagePath); lerr == nil {
			os.RemoveAll(storeDir(imagePath))
			os.Rename(old, storeDir(imagePath))
			syncDir(imagePath)
			lk.release()
		}
		return fail(fmt.Errorf("the reverted image does not open: %w", err))
	}
	return os.RemoveAll(old)
}
