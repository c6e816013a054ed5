//go:build !unix

package image

import "os"

func tryLock(f *os.File) (bool, error) { return false, errLockUnsupported }

func unlock(f *os.File) error { return nil }
