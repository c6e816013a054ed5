package bootstrap

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/phoenix-image/phoenix/image"
	"github.com/phoenix-image/phoenix/kernelhost"
	"github.com/phoenix-image/phoenix/vm"
)

// Options configure how an image is opened.
type Options struct {
	Transcript io.Writer     // print/Transcript output (default: discarded)
	Budget     time.Duration // evaluation budget (default vm.DefaultBudget)
	Logger     *slog.Logger
	// Create makes the image with Genesis if the path holds none.
	Create bool
	// ReadOnly opens the store without writing (info, verify).
	ReadOnly bool
	// OnCommit, if set, is called on the VM's goroutine after each
	// transaction's batch is durably committed (change notifications).
	OnCommit func(*vm.Batch)
	// Host is what the VM runs on (default kernelhost.Hosted): its clock
	// is the VM's (os.time, os.clock, os.date, method history), its
	// entropy seeds math.random, and in the guest its console gets the
	// READY line.
	Host kernelhost.Host
}

func (o Options) host() kernelhost.Host {
	if o.Host == nil {
		return kernelhost.Hosted{}
	}
	return o.Host
}

// Session is an open image and the VM running on it.
type Session struct {
	Path  string
	Image *image.Image
	VM    *vm.VM
}

// DefaultImageName is the default image's name in its host's storage
// root (kernelhost.Storage.Root).
const DefaultImageName = "default.image"

// DefaultImagePath is the default image of a hosted process:
// $XDG_DATA_HOME/phoenix/default.image (or
// ~/.local/share/phoenix/default.image).
func DefaultImagePath() string {
	return DefaultImageIn(kernelhost.Hosted{})
}

// DefaultImageIn is the default image in h's storage root.
func DefaultImageIn(h kernelhost.Host) string {
	return filepath.Join(h.Storage().Root(), DefaultImageName)
}

// Exists reports whether path holds an image.
func Exists(path string) bool {
	_, err := os.Stat(filepath.Join(path, "store"))
	return err == nil
}

// NewImage creates an image at path and runs Genesis in it.
func NewImage(ctx context.Context, path string, opts Options) (*Session, error) {
	if Exists(path) {
		return nil, fmt.Errorf("image %s already exists", path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	im, err := image.Create(path, image.Options{Logger: opts.Logger})
	if err != nil {
		return nil, err
	}
	v, err := Genesis(ctx, vmOptions(im, opts))
	if err != nil {
		im.Close()
		os.RemoveAll(path)
		return nil, err
	}
	return &Session{Path: path, Image: im, VM: v}, nil
}

// Open opens the image at path (creating it first if opts.Create is set and
// there is none) and boots a VM on it. Opening is lazy: only the Lobby is
// loaded.
func Open(ctx context.Context, path string, opts Options) (*Session, error) {
	if opts.Create && !Exists(path) {
		return NewImage(ctx, path, opts)
	}
	im, err := image.Open(path, image.Options{Logger: opts.Logger, ReadOnly: opts.ReadOnly})
	if err != nil {
		return nil, err
	}
	v, err := vm.Open(vmOptions(im, opts))
	if err != nil {
		im.Close()
		if errors.Is(err, vm.ErrNoImage) {
			return nil, fmt.Errorf("image %s: %w", path, err)
		}
		return nil, err
	}
	// In the QEMU guest, the image being open is what the host waits for.
	kernelhost.Ready(opts.host().Console().Err)
	return &Session{Path: path, Image: im, VM: v}, nil
}

func vmOptions(im *image.Image, opts Options) vm.Options {
	var store vm.Store = im
	if opts.OnCommit != nil {
		store = observedImage{im, opts.OnCommit}
	}
	h := opts.host()
	return vm.Options{Store: store, Transcript: opts.Transcript, Budget: opts.Budget, Logger: opts.Logger,
		Clock: h.Now, Entropy: h.Entropy()}
}

// observedImage is the image with a hook after each commit; embedding keeps
// the image's other methods (TraitUsers) visible through vm.VM.Store.
type observedImage struct {
	*image.Image
	onCommit func(*vm.Batch)
}

func (o observedImage) Commit(b *vm.Batch) error {
	if err := o.Image.Commit(b); err != nil {
		return err
	}
	o.onCommit(b)
	return nil
}

// Close stops the VM and closes the image.
func (s *Session) Close() error {
	if s.VM != nil {
		s.VM.Close()
	}
	if s.Image != nil {
		return s.Image.Close()
	}
	return nil
}
