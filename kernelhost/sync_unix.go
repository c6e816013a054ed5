//go:build unix

package kernelhost

import "syscall"

func syncFS() { syscall.Sync() }
