package image

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/phoenix-image/phoenix/vm"
)

// FormatVersion is the version of the key schema and encodings written by
// this package; Open refuses any other.
const FormatVersion = 1

var _ vm.Store = (*Image)(nil)

// Errors.
var (
	// ErrNotImage is wrapped when a path holds no Phoenix image.
	ErrNotImage = errors.New("not a Phoenix image")
	// ErrExists is wrapped when Create, Import or RestoreSnapshot find
	// their destination already in use.
	ErrExists = errors.New("already exists")
	// ErrReadOnly is wrapped by writes to an image opened ReadOnly.
	ErrReadOnly = errors.New("image opened read-only")
	// ErrClosed is wrapped by operations on a closed image.
	ErrClosed = errors.New("image closed")
)

// VersionError reports an image in a format version this build cannot read.
type VersionError struct {
	Path      string
	Got, Want uint64
}

func (e *VersionError) Error() string {
	return fmt.Sprintf("image: %s: format version %d, but this build reads only version %d", e.Path, e.Got, e.Want)
}

// Options configure Create and Open. The zero value is usable.
type Options struct {
	// Logger receives Pebble's and this package's log messages; nil
	// discards them.
	Logger *slog.Logger
	// ReadOnly refuses every write (Commit, Snapshot, DeleteSnapshot, GC).
	// The image is still locked exclusively.
	ReadOnly bool
}

// Image is an open image. Its methods are safe for concurrent use; Commit,
// GC and the snapshot operations are serialized.
type Image struct {
	path string
	opts Options
	log  *slog.Logger
	db   *pebble.DB
	lock *lockFile

	mu      sync.Mutex // serializes writers; guards the fields below
	closed  bool
	next    vm.OID
	hseq    uint64
	created time.Time

	// commitHook, if set, runs on the filled Pebble batch just before it
	// commits; an error aborts the commit (fault injection for tests).
	commitHook func(*pebble.Batch) error
}

// Path returns the image directory.
func (im *Image) Path() string { return im.path }

func storeDir(path string) string     { return filepath.Join(path, "store") }
func snapshotsDir(path string) string { return filepath.Join(path, "snapshots") }

// pebbleOptions are the options every image (and the raw benchmark) uses.
func pebbleOptions(log *slog.Logger, readOnly bool) *pebble.Options {
	o := &pebble.Options{
		Logger:       pebbleLogger{log},
		ReadOnly:     readOnly,
		MemTableSize: 64 << 20,
	}
	o.EnsureDefaults()
	return o
}

func logger(opts Options) *slog.Logger {
	if opts.Logger != nil {
		return opts.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// Create makes a new, empty image at path: a directory that must not exist
// or must not hold an image already. The new image has next OID
// vm.FirstFreeOID and no records.
func Create(path string, opts Options) (*Image, error) {
	path, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("image: %w", err)
	}
	if _, err := os.Stat(storeDir(path)); err == nil {
		return nil, fmt.Errorf("image: %s: %w: it already holds an image", path, ErrExists)
	}
	if opts.ReadOnly {
		return nil, fmt.Errorf("image: create %s: %w", path, ErrReadOnly)
	}
	made := false
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		made = true
	}
	if err := os.MkdirAll(path, 0o755); err != nil {
		return nil, fmt.Errorf("image: %w", err)
	}
	im, err := create(path, opts, func(b *pebble.Batch) error {
		b.Set(keyFormat, binary.AppendUvarint(nil, FormatVersion), nil)
		b.Set(keyNext, u64(uint64(vm.FirstFreeOID)), nil)
		b.Set(keyHSeq, u64(0), nil)
		b.Set(keyCreated, u64(uint64(time.Now().UnixNano())), nil)
		return nil
	}, true)
	if err != nil {
		var le *LockedError
		if made && !errors.As(err, &le) {
			os.RemoveAll(path)
		}
		return nil, err
	}
	return im, nil
}

// create locks path, makes a fresh store, lets fill write its first batch,
// commits it durably and opens the result.
func create(path string, opts Options, fill func(*pebble.Batch) error, readMeta bool) (*Image, error) {
	lk, err := acquireLock(path)
	if err != nil {
		return nil, err
	}
	log := logger(opts)
	po := pebbleOptions(log, false)
	po.ErrorIfExists = true
	db, err := pebble.Open(storeDir(path), po)
	if err != nil {
		lk.release()
		return nil, fmt.Errorf("image: create %s: %w", path, err)
	}
	b := db.NewBatch()
	err = fill(b)
	if err == nil {
		err = b.Commit(pebble.Sync)
	}
	b.Close()
	if err != nil {
		db.Close()
		os.RemoveAll(storeDir(path))
		lk.release()
		return nil, fmt.Errorf("image: create %s: %w", path, err)
	}
	im := &Image{path: path, opts: opts, log: log, db: db, lock: lk}
	if readMeta {
		if err := im.readMeta(); err != nil {
			im.Close()
			return nil, err
		}
	}
	log.Info("image created", "path", path)
	return im, nil
}

// Open opens the image at path, locking it for this *Image.
func Open(path string, opts Options) (*Image, error) {
	path, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("image: %w", err)
	}
	if st, err := os.Stat(storeDir(path)); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("image: %s: %w (no store)", path, ErrNotImage)
	}
	lk, err := acquireLock(path)
	if err != nil {
		return nil, err
	}
	log := logger(opts)
	po := pebbleOptions(log, opts.ReadOnly)
	po.ErrorIfNotExists = true
	db, err := pebble.Open(storeDir(path), po)
	if err != nil {
		lk.release()
		return nil, fmt.Errorf("image: open %s: %w", path, err)
	}
	im := &Image{path: path, opts: opts, log: log, db: db, lock: lk}
	if err := im.readMeta(); err != nil {
		im.Close()
		return nil, err
	}
	log.Debug("image opened", "path", path, "next", im.next, "readOnly", opts.ReadOnly)
	return im, nil
}

// readMeta checks the format version and loads next OID, history sequence
// and creation time.
func (im *Image) readMeta() error {
	v, err := im.get(keyFormat)
	if errors.Is(err, pebble.ErrNotFound) {
		return fmt.Errorf("image: %s: %w (no format version; an unfinished import?)", im.path, ErrNotImage)
	}
	if err != nil {
		return fmt.Errorf("image: %s: read format version: %w", im.path, err)
	}
	ver, n := binary.Uvarint(v)
	if n <= 0 || n != len(v) {
		return fmt.Errorf("image: %s: corrupt format version %x", im.path, v)
	}
	if ver != FormatVersion {
		return &VersionError{Path: im.path, Got: ver, Want: FormatVersion}
	}
	next, err := im.getU64(keyNext)
	if err != nil {
		return err
	}
	hseq, err := im.getU64(keyHSeq)
	if err != nil {
		return err
	}
	created, err := im.getU64(keyCreated)
	if err != nil {
		return err
	}
	im.next, im.hseq, im.created = vm.OID(next), hseq, time.Unix(0, int64(created))
	return nil
}

// get returns a copy of the value of key.
func (im *Image) get(key []byte) ([]byte, error) {
	v, c, err := im.db.Get(key)
	if err != nil {
		return nil, err
	}
	out := bytes.Clone(v)
	c.Close()
	return out, nil
}

func (im *Image) getU64(key []byte) (uint64, error) {
	v, err := im.get(key)
	if err != nil {
		return 0, fmt.Errorf("image: %s: read %s: %w", im.path, key, err)
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("image: %s: corrupt %s (%d bytes, want 8)", im.path, key, len(v))
	}
	return binary.BigEndian.Uint64(v), nil
}

// Close closes the store and releases the lock. Closing twice is harmless.
func (im *Image) Close() error {
	im.mu.Lock()
	defer im.mu.Unlock()
	if im.closed {
		return nil
	}
	im.closed = true
	err := im.db.Close()
	if lerr := im.lock.release(); err == nil {
		err = lerr
	}
	if err != nil {
		return fmt.Errorf("image: close %s: %w", im.path, err)
	}
	return nil
}

// checkWritable must be called with mu held.
func (im *Image) checkWritable(op string) error {
	if im.closed {
		return fmt.Errorf("image: %s %s: %w", op, im.path, ErrClosed)
	}
	if im.opts.ReadOnly {
		return fmt.Errorf("image: %s %s: %w", op, im.path, ErrReadOnly)
	}
	return nil
}

func (im *Image) checkOpen(op string) error {
	im.mu.Lock()
	defer im.mu.Unlock()
	if im.closed {
		return fmt.Errorf("image: %s %s: %w", op, im.path, ErrClosed)
	}
	return nil
}

// Load returns the record of oid, an error wrapping vm.ErrNotFound if there
// is none, or a *DecodeError if it is corrupt.
func (im *Image) Load(oid vm.OID) (*vm.Record, error) {
	if err := im.checkOpen("load from"); err != nil {
		return nil, err
	}
	v, c, err := im.db.Get(recordKey(oid))
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, fmt.Errorf("image: load object %d: %w", oid, vm.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("image: load object %d: %w", oid, err)
	}
	defer c.Close()
	return DecodeRecord(oid, v)
}

// NextOID returns the first unused OID.
func (im *Image) NextOID() vm.OID {
	im.mu.Lock()
	defer im.mu.Unlock()
	return im.next
}

// Created returns the image's creation time.
func (im *Image) Created() time.Time { return im.created }

// Commit writes b atomically and durably: every record, history entry,
// trait users index change and the new next OID go into one Pebble batch
// committed with pebble.Sync. Nothing is written if it fails. The next OID
// becomes the largest of the current one, b.NextOID and one more than every
// OID put.
func (im *Image) Commit(b *vm.Batch) error {
	im.mu.Lock()
	defer im.mu.Unlock()
	if err := im.checkWritable("commit to"); err != nil {
		return err
	}
	// One pass validates, encodes and maintains the index; the Pebble
	// batch is invisible until it commits, so a record refused half way
	// through leaves nothing behind.
	pb := im.db.NewBatchWithSize(64 + 64*len(b.Puts) + 128*len(b.History))
	defer pb.Close()

	next := max(im.next, b.NextOID)
	// tracked holds, for objects put more than once in b, the traits of
	// their earlier puts (only when non-empty).
	var tracked map[vm.OID][]vm.OID
	var kbuf, vbuf []byte
	for i, r := range b.Puts {
		if err := validateRecord(i, r); err != nil {
			return err
		}
		// Index maintenance: remove u/ entries for traits the object no
		// longer uses. A record can only exist if its OID is below next
		// (Commit maintains that), so fresh objects need no lookup.
		var old []vm.OID
		if r.OID < im.next {
			var err error
			if old, err = im.storedTraits(r.OID); err != nil {
				return err
			}
		}
		old = append(old, tracked[r.OID]...)
		for _, t := range old {
			if !usesTrait(r, t) {
				pb.Delete(usersKey(t, r.OID), nil)
			}
		}
		if len(r.Traits) > 0 {
			if tracked == nil {
				tracked = map[vm.OID][]vm.OID{}
			}
			for _, t := range r.Traits {
				pb.Set(usersKey(t.Trait, r.OID), nil, nil)
				tracked[r.OID] = append(tracked[r.OID], t.Trait)
			}
		}
		kbuf = appendRecordKey(kbuf[:0], r.OID)
		vbuf = AppendRecord(vbuf[:0], r)
		pb.Set(kbuf, vbuf, nil)
		next = max(next, r.OID+1)
	}
	hseq := im.hseq
	for i := range b.History {
		h := &b.History[i]
		if h.Owner == 0 {
			return fmt.Errorf("image: commit: history entry for %q has owner 0", h.Selector)
		}
		pb.Set(historyKey(h.Owner, h.Selector, hseq), EncodeChange(h), nil)
		hseq++
	}
	if next != im.next {
		pb.Set(keyNext, u64(uint64(next)), nil)
	}
	if hseq != im.hseq {
		pb.Set(keyHSeq, u64(hseq), nil)
	}
	if im.commitHook != nil {
		if err := im.commitHook(pb); err != nil {
			return fmt.Errorf("image: commit: %w", err)
		}
	}
	if err := pb.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("image: commit: %w", err)
	}
	im.next, im.hseq = next, hseq
	return nil
}

func usesTrait(r *vm.Record, t vm.OID) bool {
	for _, u := range r.Traits {
		if u.Trait == t {
			return true
		}
	}
	return false
}

// storedTraits returns the traits of the stored record of oid (none if it
// does not exist or is corrupt; a corrupt record is logged).
func (im *Image) storedTraits(oid vm.OID) ([]vm.OID, error) {
	v, c, err := im.db.Get(recordKey(oid))
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("image: commit: read object %d: %w", oid, err)
	}
	defer c.Close()
	r, err := DecodeRecord(oid, v)
	if err != nil {
		im.log.Warn("commit replaces a corrupt record; its trait users index entries may be stale", "err", err)
		return nil, nil
	}
	var ts []vm.OID
	for _, t := range r.Traits {
		ts = append(ts, t.Trait)
	}
	return ts, nil
}

// validateRecord refuses records that cannot be stored faithfully.
func validateRecord(i int, r *vm.Record) error {
	if r == nil {
		return fmt.Errorf("image: commit: put %d is nil", i)
	}
	if r.OID == 0 {
		return fmt.Errorf("image: commit: put %d has OID 0", i)
	}
	if !validKind(r.Kind) {
		return fmt.Errorf("image: commit: object %d: invalid kind %d", r.OID, r.Kind)
	}
	for j := range r.Slots {
		if s := &r.Slots[j]; !validValueKind(s.Key.Kind) || !validValueKind(s.Val.Kind) {
			return fmt.Errorf("image: commit: object %d: slot %d: invalid value kind", r.OID, j)
		}
	}
	return nil
}

// History lists the changes of one method, oldest first.
func (im *Image) History(owner vm.OID, selector string) ([]vm.MethodChange, error) {
	if err := im.checkOpen("read history of"); err != nil {
		return nil, err
	}
	p := historyPrefix(owner, selector)
	it, err := im.db.NewIter(&pebble.IterOptions{LowerBound: p, UpperBound: prefixEnd(p)})
	if err != nil {
		return nil, fmt.Errorf("image: history of object %d: %w", owner, err)
	}
	defer it.Close()
	var out []vm.MethodChange
	for it.First(); it.Valid(); it.Next() {
		if len(it.Key()) != len(p)+8 {
			continue // a selector that extends this one with \x00...
		}
		c, err := DecodeChange(owner, it.Value())
		if err != nil {
			return nil, err
		}
		out = append(out, *c)
	}
	if err := it.Error(); err != nil {
		return nil, fmt.Errorf("image: history of object %d: %w", owner, err)
	}
	return out, nil
}

// TraitUsers lists the objects whose composition includes trait, in OID
// order.
func (im *Image) TraitUsers(trait vm.OID) ([]vm.OID, error) {
	if err := im.checkOpen("read trait users of"); err != nil {
		return nil, err
	}
	p := usersPrefix(trait)
	it, err := im.db.NewIter(&pebble.IterOptions{LowerBound: p, UpperBound: prefixEnd(p)})
	if err != nil {
		return nil, fmt.Errorf("image: users of trait %d: %w", trait, err)
	}
	defer it.Close()
	var out []vm.OID
	for it.First(); it.Valid(); it.Next() {
		if _, u, ok := parseUsersKey(it.Key()); ok {
			out = append(out, u)
		}
	}
	if err := it.Error(); err != nil {
		return nil, fmt.Errorf("image: users of trait %d: %w", trait, err)
	}
	return out, nil
}

// pebbleLogger sends Pebble's log output to slog.
type pebbleLogger struct{ l *slog.Logger }

func (p pebbleLogger) Infof(format string, args ...any) {
	p.l.Debug("pebble: " + fmt.Sprintf(format, args...))
}

func (p pebbleLogger) Errorf(format string, args ...any) {
	p.l.Error("pebble: " + fmt.Sprintf(format, args...))
}

func (p pebbleLogger) Fatalf(format string, args ...any) {
	msg := "pebble: " + fmt.Sprintf(format, args...)
	p.l.Error(msg)
	panic(msg)
}
