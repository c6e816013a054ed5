package image

import (
	"errors"
	"fmt"
	"os"
	"testing"
)

func TestLockInProcess(t *testing.T) {
	im := newImage(t)
	_, err := Open(im.Path(), Options{})
	var le *LockedError
	if !errors.As(err, &le) || le.PID != os.Getpid() || le.Path != im.Path() {
		t.Fatalf("second open: %v", err)
	}
	want := fmt.Sprintf("image %s is in use by process %d (this process) (only one process may open an image; attach to it instead)", im.Path(), os.Getpid())
	if err.Error() != want {
		t.Fatalf("message:\n got %s\nwant %s", err, want)
	}
	if _, err := Create(im.Path(), Options{}); err == nil {
		t.Fatal("create over an open image succeeded")
	}
	// Closing releases it.
	im.Close()
	im2, err := Open(im.Path(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	im2.Close()
}

func TestLockAcrossProcesses(t *testing.T) {
	im := newImage(t)
	commitSample(t, im)
	path := im.Path()
	im.Close()

	pid, release := holdInChild(t, path)
	_, err := Open(path, Options{})
	var le *LockedError
	if !errors.As(err, &le) || le.PID != pid {
		t.Fatalf("open while child %d holds it: %v", pid, err)
	}
	want := fmt.Sprintf("image %s is in use by process %d (only one process may open an image; attach to it instead)", path, pid)
	if err.Error() != want {
		t.Fatalf("message:\n got %s\nwant %s", err, want)
	}
	release()
	im, err = Open(path, Options{})
	if err != nil {
		t.Fatalf("open after the child exited: %v", err)
	}
	defer im.Close()
	// And the child cannot open it now.
	t.Run("child refused", func(t *testing.T) {
		out, err := childOpen(path)
		if err == nil || !contains(out, fmt.Sprintf("in use by process %d", os.Getpid())) {
			t.Fatalf("child: %v %s", err, out)
		}
	})
}

func TestLockPathKeepsOthersOutUntilReleased(t *testing.T) {
	im := newImage(t)
	path := im.Path()
	if _, err := LockPath(path); err == nil {
		t.Fatal("LockPath on an open image succeeded")
	}
	im.Close()
	lk, err := LockPath(path)
	if err != nil {
		t.Fatal(err)
	}
	var le *LockedError
	if _, err := Open(path, Options{}); !errors.As(err, &le) || le.PID != os.Getpid() {
		t.Fatalf("open while locked: %v", err)
	}
	if err := lk.Release(); err != nil {
		t.Fatal(err)
	}
	lk.Release()
	im2, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	im2.Close()
}
