package image

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// LockedError is returned by Open, Create and Import when another process,
// or another *Image in this process, holds the image.
type LockedError struct {
	Path string
	PID  int // 0 if the owner's pid could not be read
}

func (e *LockedError) Error() string {
	owner := "another process"
	if e.PID > 0 {
		owner = "process " + strconv.Itoa(e.PID)
		if e.PID == os.Getpid() {
			owner += " (this process)"
		}
	}
	return fmt.Sprintf("image %s is in use by %s (only one process may open an image; attach to it instead)", e.Path, owner)
}

// errLockUnsupported is returned where file locking is not implemented.
var errLockUnsupported = errors.New("image: file locking is not supported on this platform")

// lockFile is a held PATH/LOCK.
type lockFile struct{ f *os.File }

// acquireLock locks imagePath/LOCK, creating it, and writes our pid into it.
func acquireLock(imagePath string) (*lockFile, error) {
	name := imagePath + string(os.PathSeparator) + "LOCK"
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("image: %w", err)
	}
	held, err := tryLock(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("image: lock %s: %w", name, err)
	}
	if held {
		pid := readPID(f)
		f.Close()
		return nil, &LockedError{Path: imagePath, PID: pid}
	}
	if err := f.Truncate(0); err == nil {
		_, err = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	if err != nil {
		unlock(f)
		f.Close()
		return nil, fmt.Errorf("image: write %s: %w", name, err)
	}
	return &lockFile{f: f}, nil
}

// readPID reads the owner's pid, waiting briefly in case the owner has
// locked the file but not yet written its pid.
func readPID(f *os.File) int {
	for i := 0; i < 20; i++ {
		buf := make([]byte, 32)
		n, _ := f.ReadAt(buf, 0)
		if pid, err := strconv.Atoi(strings.TrimSpace(string(buf[:n]))); err == nil && pid > 0 {
			return pid
		}
		time.Sleep(5 * time.Millisecond)
	}
	return 0
}

func (l *lockFile) release() error {
	if l == nil || l.f == nil {
		return nil
	}
	_ = l.f.Truncate(0)
	err := unlock(l.f)
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	l.f = nil
	return err
}

// Lock is an image's PATH/LOCK held without opening its store. phoenix
// boot holds it while a QEMU guest works on a copy of the store, so that
// no process on the host changes the image in between.
type Lock struct{ l *lockFile }

// LockPath takes the lock of the image at path; a *LockedError says who
// holds it.
func LockPath(path string) (*Lock, error) {
	l, err := acquireLock(path)
	if err != nil {
		return nil, err
	}
	return &Lock{l: l}, nil
}

// Release releases the lock; releasing twice is harmless.
func (l *Lock) Release() error { return l.l.release() }
