package qemu

import (
	"debug/buildinfo"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// The guest's own build of phoenix: CGO_ENABLED=0 with the phoenix_guest
// tag, which leaves out what only the host side uses (the Weaviate memory
// backend and its client's dependencies), so that PID 1 starts faster
// under TCG. make build writes it as bin/phoenix-guest.

// GuestTag is the build tag of the guest's phoenix.
const GuestTag = "phoenix_guest"

// GuestBinEnv names the environment variable that may point at the
// guest's phoenix binary.
const GuestBinEnv = "PHOENIX_GUEST_BIN"

// GuestBinName is the guest binary's name next to phoenix (bin/).
const GuestBinName = "phoenix-guest"

// GuestPhoenix finds the guest build of phoenix: $PHOENIX_GUEST_BIN, else
// phoenix-guest next to this executable. It returns "" and no error when
// there is neither; an error when one is named but is not usable.
func GuestPhoenix() (string, error) {
	if p := os.Getenv(GuestBinEnv); p != "" {
		if err := isStaticELF(p); err != nil {
			return "", fmt.Errorf("qemu: $%s: %w", GuestBinEnv, err)
		}
		return p, nil
	}
	exe, err := os.Executable()
	if err != nil {
		return "", nil
	}
	p := filepath.Join(filepath.Dir(exe), GuestBinName)
	if _, err := os.Stat(p); err != nil {
		return "", nil
	}
	if err := isStaticELF(p); err != nil {
		return "", err
	}
	return p, nil
}

// IsGuestBuild reports whether the Go binary at path was built with
// GuestTag.
func IsGuestBuild(path string) (bool, error) {
	bi, err := buildinfo.ReadFile(path)
	if err != nil {
		return false, fmt.Errorf("qemu: reading the build information of %s: %w", path, err)
	}
	for _, s := range bi.Settings {
		if s.Key == "-tags" {
			for _, t := range strings.Split(s.Value, ",") {
				if t == GuestTag {
					return true, nil
				}
			}
		}
	}
	return false, nil
}
