package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/phoenix-image/phoenix/bootstrap"
	"github.com/phoenix-image/phoenix/image"
	"github.com/phoenix-image/phoenix/kernelhost"
	"github.com/phoenix-image/phoenix/kernelhost/qemu"
	"github.com/phoenix-image/phoenix/kernelhost/remote"
	"github.com/phoenix-image/phoenix/sandbox"
	"github.com/phoenix-image/phoenix/vm"
)

// In the QEMU guest this binary is /init: PID 1 sets the machine up and
// runs the phoenix command the host chose (kernelhost.RunInit).
func init() {
	if kernelhost.IsInit() {
		kernelhost.RunInit(runCommand) // never returns
	}
}

// runCommand runs one command line on the Host h (main's, or PID 1's in
// the guest) and returns its exit status; the caller powers off through h.
func runCommand(h kernelhost.Host, args []string) int {
	g := &globals{host: h}
	root := newRoot(g)
	root.SetArgs(args)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := root.ExecuteContext(ctx)
	stop()
	for _, f := range g.cleanup {
		f()
	}
	if err == nil {
		return 0
	}
	var ee exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	var ve *vm.Error
	if errors.As(err, &ve) {
		fmt.Fprintln(h.Console().Err, ve.Detail())
	} else {
		fmt.Fprintln(h.Console().Err, "phoenix:", err)
	}
	return 1
}

func bootCmd(g *globals) *cobra.Command {
	var test bool
	var serve, tokenFile, phoenixBin string
	var memory int
	cmd := &cobra.Command{
		Use:   "boot",
		Short: "Boot the image under QEMU as the only program of a minimal Linux kernel",
		Long: `Boot the image in qemu-system-x86_64: the kernel is gokrazy's minimal Linux
(a Go module pinned in go.mod and verified by go.sum), and its only process,
PID 1, is a static phoenix: the guest build (bin/phoenix-guest, built with
the phoenix_guest tag, which leaves out the Weaviate memory backend to
start faster), else bin/phoenix-sandbox, or --phoenix. The boot
artifact (kernel plus initramfs) is cached by content hash under
` + qemu.CacheDir() + `.

The image travels on a virtio disk: an ext4 file system made from a copy of
the image's store. The image stays locked on the host while the guest runs,
so nothing else can change it; after the guest powers off (or QEMU is
killed), the disk's journal is replayed and the guest's store replaces the
host's, so what the guest committed is in the image and in the next boot.
If phoenix boot itself was killed, the next phoenix boot first takes the
store back from the disk it left in PATH/boot.

Without flags the serial console is a phoenix repl; leave it with Ctrl-D
or 'exit', which powers the guest off. --test runs the image's tests in the
guest and exits with their result. --serve ADDR forwards ADDR on the host
to the guest, where phoenix serve speaks the remote protocol with the token
in --token-file (created with a fresh token, mode 0600, if absent); the
forward is on a loopback address only. With --test or --serve, Ctrl-C
(SIGINT) or SIGTERM stops the guest at once: QEMU is stopped and what the guest had committed is
taken back, as after a crash.
There is no gVisor in the guest: the agent's generated code is refused
there unless the image's policy allows the in-process validator
(Policy.allowInProcess = true).`,
		Example: `  phoenix boot --image my.image
  phoenix boot --image my.image --test
  phoenix boot --image my.image --serve 127.0.0.1:7070 --token-file ~/.config/phoenix/token`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if test && serve != "" {
				return errors.New("boot: --test and --serve exclude each other")
			}
			if memory < 128 {
				return fmt.Errorf("boot: --memory %d: the guest needs at least 128 MB", memory)
			}
			b := &booter{g: g, memory: memory, phoenix: phoenixBin}
			cfg := &kernelhost.BootConfig{Args: []string{"repl"}}
			files := map[string][]byte{}
			switch {
			case test:
				cfg.Args = []string{"test"}
			case serve != "":
				host, port, err := net.SplitHostPort(serve)
				if err != nil {
					return fmt.Errorf("boot: --serve %q: %w", serve, err)
				}
				p, err := strconv.Atoi(port)
				if err != nil || p <= 0 || p > 65535 {
					return fmt.Errorf("boot: --serve %q: bad port", serve)
				}
				if host == "" {
					host = "127.0.0.1"
				}
				if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
					return fmt.Errorf("boot: --serve %q: the forwarded port must be on a loopback address (127.0.0.1 or ::1)", serve)
				}
				if tokenFile == "" {
					tokenFile = filepath.Join(g.imagePath(), "remote.token")
				}
				tok, created, err := remote.EnsureToken(tokenFile)
				if err != nil {
					return fmt.Errorf("boot: %w", err)
				}
				if created {
					fmt.Fprintf(os.Stderr, "phoenix: wrote a new token to %s (mode 0600)\n", tokenFile)
				}
				files["token"] = []byte(tok + "\n")
				b.forwards = []qemu.Forward{{Host: net.JoinHostPort(host, port), GuestPort: p}}
				cfg.Args = []string{"serve", "--addr", "0.0.0.0:" + port, "--allow-remote", "--token-file", kernelhost.MountPoint + "/token"}
				cfg.Restart = true
			default:
				b.interactive = true
			}
			cfg.Args = append(cfg.Args, "--image", kernelhost.ImageDir, "--budget", g.budget.String(), "--log-level", g.logLevel)
			return b.boot(cmd.Context(), cfg, files, test)
		},
	}
	cmd.Flags().BoolVar(&test, "test", false, "run the image's tests in the guest, print them and power off; the exit status is the tests' result")
	cmd.Flags().StringVar(&serve, "serve", "", "serve the remote protocol from the guest, forwarded to this host address (e.g. 127.0.0.1:7070)")
	cmd.Flags().StringVar(&tokenFile, "token-file", "", "with --serve: the token file (default PATH/remote.token; created mode 0600 if absent)")
	cmd.Flags().IntVar(&memory, "memory", 512, "guest memory in MB")
	cmd.Flags().StringVar(&phoenixBin, "phoenix", "", "the static phoenix binary for the guest (default: $"+qemu.GuestBinEnv+", else "+qemu.GuestBinName+" next to this binary, else $"+sandbox.SandboxBinEnv+", else phoenix-sandbox next to this binary, else this binary if static)")
	return cmd
}

type booter struct {
	g           *globals
	memory      int
	phoenix     string
	forwards    []qemu.Forward
	interactive bool
}

func (b *booter) boot(ctx context.Context, cfg *kernelhost.BootConfig, files map[string][]byte, test bool) error {
	log := slog.Default()
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM)
	defer stop()
	path := b.g.imagePath()
	if b.g.image == "" && !bootstrap.Exists(path) {
		s, err := b.g.open(ctx) // the default image is created on first use
		if err != nil {
			return err
		}
		s.Close()
	}
	if !bootstrap.Exists(path) {
		return fmt.Errorf("no image at %s (create one with: phoenix image new %s)", path, path)
	}
	lock, err := image.LockPath(path)
	if err != nil {
		return err
	}
	defer lock.Release()
	work := filepath.Join(path, "boot")
	disk := filepath.Join(work, "disk.raw")
	if err := recoverBoot(ctx, path, disk, log); err != nil {
		return err
	}
	bin := b.phoenix
	if bin == "" {
		if bin, err = qemu.GuestPhoenix(); err != nil {
			return fmt.Errorf("boot: %w", err)
		}
	}
	if bin == "" {
		if bin, err = sandbox.DefaultPhoenix(); err != nil {
			return fmt.Errorf("boot: %w", err)
		}
		log.Warn("boot: no guest build of phoenix (make build writes bin/"+qemu.GuestBinName+", or set $"+qemu.GuestBinEnv+
			"); booting the static phoenix, which links the host-only parts and starts slower", "phoenix", bin)
	} else if ok, err := qemu.IsGuestBuild(bin); err == nil && !ok {
		log.Info("boot: the guest's phoenix is not built with the "+qemu.GuestTag+" tag; it starts slower", "phoenix", bin)
	}
	bar := newBar("boot artifact")
	art, err := qemu.BuildArtifact(ctx, qemu.ArtifactOptions{Phoenix: bin, Log: log, Progress: bar.update})
	bar.finish()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(work, 0o700); err != nil {
		return fmt.Errorf("boot: %w", err)
	}
	if err := qemu.BuildDisk(ctx, disk, qemu.DiskOptions{Store: filepath.Join(path, "store"), Config: cfg, Files: files}); err != nil {
		os.Remove(disk)
		return err
	}
	opts := qemu.Options{
		Artifact: art, Disk: disk, MemoryMB: b.memory, Forwards: b.forwards,
		Console: os.Stdout, Log: log,
		Started: func(pid int) { log.Info("qemu running", "pid", pid, "disk", disk) },
	}
	if b.interactive {
		opts.Stdin = os.Stdin
	}
	res, runErr := qemu.Run(ctx, opts)
	// Whatever happened to the machine, what the guest committed is on the
	// disk: take it back (with a background context: an interrupt of the
	// boot must not lose it).
	if err := takeBack(context.WithoutCancel(ctx), path, disk, log); err != nil {
		return fmt.Errorf("boot: taking the image back from %s: %w (the disk is kept; the next phoenix boot retries)", disk, err)
	}
	if res != nil && res.Timings.Total > 0 {
		fmt.Fprintf(os.Stderr, "boot: READY %s\n", res.Timings)
	}
	if runErr != nil {
		return runErr
	}
	if res.ExitCode != 0 {
		if !test && res.ExitCode != 0 {
			fmt.Fprintf(os.Stderr, "boot: phoenix %s in the guest ended with exit status %d\n", cfg.Args[0], res.ExitCode)
		}
		return exitError{res.ExitCode}
	}
	return nil
}

// recoverBoot finishes a boot that was interrupted: a store swap half
// done, or a disk left behind by a killed phoenix boot.
func recoverBoot(ctx context.Context, path, disk string, log *slog.Logger) error {
	store := filepath.Join(path, "store")
	newStore, oldStore := store+".boot-new", store+".boot-old"
	if _, err := os.Stat(store); errors.Is(err, os.ErrNotExist) {
		if _, err := os.Stat(newStore); err == nil {
			log.Warn("boot: completing an interrupted store swap", "image", path)
			if err := os.Rename(newStore, store); err != nil {
				return fmt.Errorf("boot: %w", err)
			}
		}
	}
	os.RemoveAll(oldStore)
	os.RemoveAll(newStore)
	if _, err := os.Stat(disk); err == nil {
		fmt.Fprintf(os.Stderr, "boot: taking the image back from the disk of an interrupted boot (%s)\n", disk)
		return takeBack(ctx, path, disk, log)
	}
	return nil
}

// takeBack copies the guest's store from the disk and swaps it for the
// host image's store, then removes the disk.
func takeBack(ctx context.Context, path, disk string, log *slog.Logger) error {
	store := filepath.Join(path, "store")
	newStore, oldStore := store+".boot-new", store+".boot-old"
	os.RemoveAll(newStore)
	if err := qemu.CopyBack(ctx, disk, newStore); err != nil {
		return err
	}
	if err := os.Rename(store, oldStore); err != nil {
		return err
	}
	if err := os.Rename(newStore, store); err != nil {
		return err
	}
	os.RemoveAll(oldStore)
	log.Info("boot: the guest's store is the image's", "image", path)
	if err := os.Remove(disk); err != nil {
		return err
	}
	os.Remove(filepath.Dir(disk)) // PATH/boot, if nothing else is in it
	return nil
}
