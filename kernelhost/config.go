package kernelhost

import (
	"encoding/json"
	"fmt"
	"os"
)

// The layout of the guest: the virtio disk (the first one, /dev/vda) is
// an ext4 file system mounted at MountPoint; it holds the image in
// ImageDir and the host's choices in ConfigFile.
const (
	DiskDevice = "/dev/vda"
	MountPoint = "/phoenix"
	ImageDir   = MountPoint + "/image"
	ConfigFile = MountPoint + "/boot.json"
)

// ExitPrefix starts the line PID 1 prints when the command it ran has
// ended, before it powers off: "phoenix: exit status N".
const ExitPrefix = "phoenix: exit status "

// BootConfig is what the host chooses for a boot, written to ConfigFile
// on the disk: which phoenix command PID 1 runs.
type BootConfig struct {
	// Args are the phoenix command line after the program name, e.g.
	// ["test", "--image", "/phoenix/image"].
	Args []string `json:"args"`
	// Restart restarts the command when it dies of a panic (exit status 2),
	// for servers; the image is reopened each time, so it is consistent.
	Restart bool `json:"restart,omitempty"`
	// MaxRestarts bounds Restart (default 5).
	MaxRestarts int `json:"max_restarts,omitempty"`
}

// ReadConfig reads a BootConfig from path.
func ReadConfig(path string) (*BootConfig, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("kernelhost: boot config: %w", err)
	}
	var c BootConfig
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("kernelhost: boot config %s: %w", path, err)
	}
	if len(c.Args) == 0 {
		return nil, fmt.Errorf("kernelhost: boot config %s: no command (args is empty)", path)
	}
	return &c, nil
}

// WriteConfig writes c to path.
func WriteConfig(path string, c *BootConfig) error {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// restartLoop runs a server command (start) until it ends other than by a
// panic, restarting it after each panic up to cfg.MaxRestarts times, and
// returns its last exit status (126 if it could not be started).
func restartLoop(cfg *BootConfig, start func() (int, error), logf func(format string, args ...any)) int {
	max := cfg.MaxRestarts
	if max == 0 {
		max = 5
	}
	for restarts := 0; ; restarts++ {
		code, err := start()
		if err != nil {
			logf("%v", err)
			return 126
		}
		// A Go program that panics exits with status 2 after printing the
		// panic; the server starts again on a fresh open of the image.
		if code != 2 || restarts >= max {
			return code
		}
		logf("phoenix %s died of a panic (exit status 2): restarting it (%d of %d)", cfg.Args[0], restarts+1, max)
	}
}
