//go:build !linux

package kernelhost

import (
	"fmt"
	"os"
)

// RunInit is PID 1 under QEMU; only Linux guests exist.
func RunInit() {
	fmt.Fprintln(os.Stderr, "phoenix: init: the guest runs only on Linux")
	os.Exit(1)
}
