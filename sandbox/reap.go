package sandbox

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// reapOrphans kills and deletes the warm sandboxes of Phoenix processes
// that died without closing their validator (SIGKILL, a crash): runsc's
// sandboxes are not children of the process that asked for them, so they
// outlive it. It looks at the default state directories under tmp
// (prefix-*), whose bundles are named after their owner's pid, and
// reaps a directory only when it has bundles and every owner is gone; a
// directory of a live process, or one still being set up (no bundles
// yet), is left alone. Failures are logged, never fatal.
func reapOrphans(runsc, tmp, prefix string, log *slog.Logger) (reaped int) {
	dirs, _ := filepath.Glob(filepath.Join(tmp, prefix+"*"))
	for _, dir := range dirs {
		bundles, err := os.ReadDir(filepath.Join(dir, "bundles"))
		if err != nil || len(bundles) == 0 {
			continue
		}
		var ids []string
		alive := false
		for _, b := range bundles {
			pid, ok := bundleOwner(b.Name())
			if !ok || processAlive(pid) {
				alive = true
				break
			}
			ids = append(ids, b.Name())
		}
		if alive {
			continue
		}
		root := filepath.Join(dir, "runsc")
		for _, id := range ids {
			runscQuiet(runsc, "--root", root, "kill", id, "KILL")
			runscQuiet(runsc, "--root", root, "delete", "--force", id)
		}
		if err := os.RemoveAll(dir); err != nil {
			log.Warn("sandbox: removing an orphaned state directory", "dir", dir, "err", err)
			continue
		}
		log.Info("sandbox: reaped the sandboxes of a process that died without closing them", "dir", dir, "sandboxes", len(ids))
		reaped += len(ids)
	}
	return reaped
}

// bundleOwner reads PID from a bundle named phoenix-PID-N (a validation
// sandbox) or phoenix-NAME-PID-N (a personality).
func bundleOwner(name string) (int, bool) {
	parts := strings.Split(name, "-")
	if len(parts) < 3 || parts[0] != "phoenix" {
		return 0, false
	}
	pid, err := strconv.Atoi(parts[len(parts)-2])
	return pid, err == nil && pid > 0
}

// processAlive reports whether pid exists (a process we may not signal
// counts as alive).
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// runscQuiet runs one runsc command for the reaper, bounded in time; its
// failure (the container is already gone, say) does not matter.
func runscQuiet(runsc string, args ...string) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	exec.CommandContext(ctx, runsc, args...).Run()
}
