package main

import (
	"fmt"
	"os"
	"sort"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/phoenix-image/phoenix/agent"
	"github.com/phoenix-image/phoenix/bootstrap"
	"github.com/phoenix-image/phoenix/image"
	"github.com/phoenix-image/phoenix/vm"
)

func imageCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "image",
		Short: "Create, inspect, snapshot, export, import, verify and collect images",
		Long: `Manage images. An image is a directory (a Pebble store, its snapshots and a
lock): only one process may open it at a time.`,
	}
	cmd.AddCommand(
		&cobra.Command{
			Use:   "new PATH",
			Short: "Create a fresh image (Lobby, Object, Trait, TestCase, Transcript, the standard traits, and the agent's LLM, Policy and AuditLog)",
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				s, err := bootstrap.NewImage(cmd.Context(), args[0], bootstrap.Options{})
				if err != nil {
					return err
				}
				if err := agent.InstallObjects(cmd.Context(), s.VM); err != nil {
					s.Close()
					return err
				}
				fmt.Printf("created image %s\n", args[0])
				return s.Close()
			},
		},
		&cobra.Command{
			Use:   "info",
			Short: "Show an image's format, size and object counts",
			Args:  cobra.NoArgs,
			RunE: g.withStore(func(cmd *cobra.Command, args []string, im *image.Image) error {
				in, err := im.Info()
				if err != nil {
					return err
				}
				fmt.Printf("image:      %s\n", in.Path)
				fmt.Printf("format:     %d\n", in.FormatVersion)
				fmt.Printf("created:    %s\n", in.Created.Local().Format(time.RFC3339))
				fmt.Printf("records:    %d (objects %d, tables %d, traits %d)\n", in.Records, in.ByKind[vm.KindObject], in.ByKind[vm.KindTable], in.ByKind[vm.KindTrait])
				fmt.Printf("history:    %d method changes\n", in.HistoryEntries)
				fmt.Printf("next oid:   %d\n", in.NextOID)
				fmt.Printf("disk:       %s\n", humanBytes(in.DiskSize))
				fmt.Printf("snapshots:  %d\n", in.Snapshots)
				return nil
			}),
		},
		&cobra.Command{
			Use:   "snapshot NAME",
			Short: "Take a cheap, consistent snapshot of the image (a Pebble checkpoint)",
			Args:  cobra.ExactArgs(1),
			RunE: g.withStore(func(cmd *cobra.Command, args []string, im *image.Image) error {
				if err := im.Snapshot(args[0]); err != nil {
					return err
				}
				fmt.Printf("snapshot %s taken\n", args[0])
				return nil
			}),
		},
		&cobra.Command{
			Use:   "snapshots",
			Short: "List the image's snapshots",
			Args:  cobra.NoArgs,
			RunE: g.withStore(func(cmd *cobra.Command, args []string, im *image.Image) error {
				snaps, err := im.Snapshots()
				if err != nil {
					return err
				}
				sort.Slice(snaps, func(i, j int) bool { return snaps[i].Created.Before(snaps[j].Created) })
				for _, s := range snaps {
					fmt.Printf("%-24s %s  %s\n", s.Name, s.Created.Local().Format(time.RFC3339), humanBytes(s.Size))
				}
				return nil
			}),
		},
		&cobra.Command{
			Use:   "restore NAME DEST",
			Short: "Restore a snapshot of the image as a new image at DEST",
			Args:  cobra.ExactArgs(2),
			RunE: func(cmd *cobra.Command, args []string) error {
				if err := image.RestoreSnapshot(g.imagePath(), args[0], args[1]); err != nil {
					return err
				}
				fmt.Printf("restored snapshot %s as %s\n", args[0], args[1])
				return nil
			},
		},
		&cobra.Command{
			Use:   "export FILE",
			Short: "Export the image to one portable file (versioned, checksummed, streamed)",
			Args:  cobra.ExactArgs(1),
			RunE: g.withStore(func(cmd *cobra.Command, args []string, im *image.Image) error {
				tmp := args[0] + ".partial"
				f, err := os.Create(tmp)
				if err != nil {
					return err
				}
				bar := newBar("exporting")
				sum, err := im.Export(f, bar.update)
				bar.finish()
				if err == nil {
					err = f.Sync()
				}
				if cerr := f.Close(); err == nil {
					err = cerr
				}
				if err == nil {
					err = os.Rename(tmp, args[0])
				}
				if err != nil {
					os.Remove(tmp)
					return err
				}
				fmt.Printf("exported %d keys (%s) to %s, sha256 %x\n", sum.Records, humanBytes(sum.Bytes), args[0], sum.SHA256[:8])
				return nil
			}),
		},
		&cobra.Command{
			Use:   "import FILE DEST",
			Short: "Create a new image at DEST from an export file; a corrupt file leaves nothing behind",
			Args:  cobra.ExactArgs(2),
			RunE: func(cmd *cobra.Command, args []string) error {
				f, err := os.Open(args[0])
				if err != nil {
					return err
				}
				defer f.Close()
				bar := newBar("importing")
				sum, err := image.Import(f, args[1], bar.update)
				bar.finish()
				if err != nil {
					return fmt.Errorf("import %s: %w", args[0], err)
				}
				fmt.Printf("imported %d records into %s\n", sum.Records, sum.Path)
				return nil
			},
		},
		&cobra.Command{
			Use:   "verify",
			Short: "Decode every object and resolve every reference",
			Args:  cobra.NoArgs,
			RunE: g.withStore(func(cmd *cobra.Command, args []string, im *image.Image) error {
				bar := newBar("verifying")
				rep, err := im.Verify(bar.update)
				bar.finish()
				if err != nil {
					return err
				}
				for _, p := range rep.Problems {
					fmt.Println("problem:", p)
				}
				fmt.Printf("%d records (objects %d, tables %d, traits %d), %d history entries: ", rep.Records, rep.ByKind[vm.KindObject], rep.ByKind[vm.KindTable], rep.ByKind[vm.KindTrait], rep.HistoryEntries)
				if !rep.OK() {
					fmt.Printf("%d problems\n", rep.ProblemCount)
					return exitError{1}
				}
				fmt.Println("ok")
				return nil
			}),
		},
		&cobra.Command{
			Use:   "gc",
			Short: "Remove objects no longer reachable from the Lobby",
			Args:  cobra.NoArgs,
			RunE: g.withStore(func(cmd *cobra.Command, args []string, im *image.Image) error {
				bar := newBar("collecting")
				rep, err := im.GC(bar.update)
				bar.finish()
				if err != nil {
					return err
				}
				fmt.Printf("scanned %d, live %d, removed %d records (%d history entries), about %s freed\n", rep.Scanned, rep.Live, rep.Removed, rep.HistoryRemoved, humanBytes(rep.BytesFreed))
				return nil
			}),
		},
	)
	return cmd
}

// openStore opens the image store without a VM (for image commands).
func (g *globals) openStore() (*image.Image, error) {
	path := g.imagePath()
	if !bootstrap.Exists(path) {
		return nil, fmt.Errorf("no image at %s (create one with: phoenix image new %s)", path, path)
	}
	return image.Open(path, image.Options{})
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// bar is a progress bar on a terminal, and nothing otherwise.
type bar struct {
	b *progressbar.ProgressBar
}

func newBar(what string) *bar {
	if !term.IsTerminal(int(os.Stderr.Fd())) {
		return &bar{}
	}
	return &bar{b: progressbar.NewOptions64(-1, progressbar.OptionSetDescription(what),
		progressbar.OptionSetWriter(os.Stderr), progressbar.OptionShowBytes(true),
		progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionClearOnFinish())}
}

func (b *bar) update(done, total int64) {
	if b.b == nil {
		return
	}
	if total > 0 && b.b.GetMax64() != total {
		b.b.ChangeMax64(total)
	}
	b.b.Set64(done)
}

func (b *bar) finish() {
	if b.b != nil {
		b.b.Finish()
	}
}

// withStore wraps a command that works on the image's store without a VM:
// it opens the store (refusing a missing image) and closes it afterwards.
func (g *globals) withStore(run func(cmd *cobra.Command, args []string, im *image.Image) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		im, err := g.openStore()
		if err != nil {
			return err
		}
		defer im.Close()
		return run(cmd, args, im)
	}
}
