package image

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/cockroachdb/pebble/v2"
)

// The agent's long-term memory (agent/memory) keeps its items in the image,
// under r/<id>, so that they survive a restart and travel with Export and
// Import. The image stores the values as opaque bytes; what they mean is
// agent/memory's business. Any search index over them is a cache the agent
// rebuilds: it may keep one on disk in MemoryIndexDir, and it knows whether
// that cache still reflects the items by comparing MemoryGeneration, a
// random value rewritten in the same batch as every change to r/ (random,
// not a counter, so that a revert or a restored snapshot can never present
// an old number for different items).

var prefixMemory = []byte("r/")

// keyMemoryGen holds the memory generation (memoryGenLen random bytes).
var keyMemoryGen = []byte("m/memory-gen")

const memoryGenLen = 16

// memoryIndexDirName is the agent's index cache inside the image directory,
// next to store/ and snapshots/: not part of the Pebble store, so Export,
// Snapshot, GC and Verify never see it, and an imported or restored image
// (a new directory) starts without one.
const memoryIndexDirName = "memory-index"

// MemoryIndexDir is where the agent may keep a cache of its search index
// over the memory items; "" for an image opened read-only (no cache is
// written then).
func (im *Image) MemoryIndexDir() string {
	if im.opts.ReadOnly {
		return ""
	}
	return filepath.Join(im.path, memoryIndexDirName)
}

// MemoryGeneration returns the value that changes with every PutMemories
// and DeleteMemories (nil if the memory was never written).
func (im *Image) MemoryGeneration() ([]byte, error) {
	if err := im.checkOpen("read the memory generation of"); err != nil {
		return nil, err
	}
	v, err := im.get(keyMemoryGen)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("image: memory generation of %s: %w", im.path, err)
	}
	return v, nil
}

// Memory returns one memory item's value (ok false if there is none).
func (im *Image) Memory(id string) (value []byte, ok bool, err error) {
	if err := CheckMemoryID(id); err != nil {
		return nil, false, err
	}
	if err := im.checkOpen("read the memory of"); err != nil {
		return nil, false, err
	}
	v, err := im.get(memoryKey(id))
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("image: memory %q of %s: %w", id, im.path, err)
	}
	return v, true, nil
}

// setMemoryGen puts a fresh memory generation into b.
func setMemoryGen(b *pebble.Batch) error {
	var g [memoryGenLen]byte
	_, _ = rand.Read(g[:])
	return b.Set(keyMemoryGen, g[:], nil)
}

const maxMemoryID = 64

func memoryKey(id string) []byte {
	return append(append(make([]byte, 0, 2+len(id)), 'r', '/'), id...)
}

// CheckMemoryID reports whether id can name a memory item: 1 to 64
// letters, digits, '.', '_' and '-'.
func CheckMemoryID(id string) error {
	if id == "" || len(id) > maxMemoryID {
		return fmt.Errorf("image: memory id %q: must be 1 to %d characters", id, maxMemoryID)
	}
	for _, c := range []byte(id) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("image: memory id %q: only letters, digits, '.', '_' and '-' are allowed", id)
		}
	}
	return nil
}

// PutMemories stores memory items (id to value), replacing any with the
// same id, in one batch committed with pebble.Sync: all or none.
func (im *Image) PutMemories(items map[string][]byte) error {
	for id := range items {
		if err := CheckMemoryID(id); err != nil {
			return err
		}
	}
	im.mu.Lock()
	defer im.mu.Unlock()
	if err := im.checkWritable("remember in"); err != nil {
		return err
	}
	b := im.db.NewBatch()
	defer b.Close()
	for id, v := range items {
		if err := b.Set(memoryKey(id), v, nil); err != nil {
			return fmt.Errorf("image: remember %q in %s: %w", id, im.path, err)
		}
	}
	if err := setMemoryGen(b); err != nil {
		return fmt.Errorf("image: remember in %s: %w", im.path, err)
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("image: remember in %s: %w", im.path, err)
	}
	return nil
}

// DeleteMemories removes memory items by id in one synced batch; unknown
// ids are ignored.
func (im *Image) DeleteMemories(ids []string) error {
	for _, id := range ids {
		if err := CheckMemoryID(id); err != nil {
			return err
		}
	}
	im.mu.Lock()
	defer im.mu.Unlock()
	if err := im.checkWritable("forget in"); err != nil {
		return err
	}
	b := im.db.NewBatch()
	defer b.Close()
	for _, id := range ids {
		if err := b.Delete(memoryKey(id), nil); err != nil {
			return fmt.Errorf("image: forget %q in %s: %w", id, im.path, err)
		}
	}
	if err := setMemoryGen(b); err != nil {
		return fmt.Errorf("image: forget in %s: %w", im.path, err)
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("image: forget in %s: %w", im.path, err)
	}
	return nil
}

// Memories calls fn with every memory item, in id order. An error from fn
// stops the scan and is returned.
func (im *Image) Memories(fn func(id string, value []byte) error) error {
	return im.scanMemories(fn, true)
}

// ScanMemories is Memories without copying the values: value is valid
// only during the call to fn (for a reader that keeps a part of each, such
// as the memory's vector loader).
func (im *Image) ScanMemories(fn func(id string, value []byte) error) error {
	return im.scanMemories(fn, false)
}

func (im *Image) scanMemories(fn func(id string, value []byte) error, clone bool) error {
	if err := im.checkOpen("read the memory of"); err != nil {
		return err
	}
	var stop error
	err := scan(im.db, &pebble.IterOptions{LowerBound: prefixMemory, UpperBound: prefixEnd(prefixMemory)}, func(k, v []byte) error {
		if clone {
			v = bytes.Clone(v)
		}
		if err := fn(string(k[len(prefixMemory):]), v); err != nil {
			stop = err
			return err
		}
		return nil
	})
	if stop != nil && errors.Is(err, stop) {
		return stop
	}
	if err != nil {
		return fmt.Errorf("image: memory of %s: %w", im.path, err)
	}
	return nil
}
