package image

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// The agent's long-term memory (agent/memory) keeps its items in the image,
// under r/<id>, so that they survive a restart and travel with Export and
// Import. The image stores the values as opaque bytes; what they mean is
// agent/memory's business. Any search index over them is a cache the agent
// rebuilds.

var prefixMemory = []byte("r/")

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
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("image: forget in %s: %w", im.path, err)
	}
	return nil
}

// Memories calls fn with every memory item, in id order. An error from fn
// stops the scan and is returned.
func (im *Image) Memories(fn func(id string, value []byte) error) error {
	if err := im.checkOpen("read the memory of"); err != nil {
		return err
	}
	var stop error
	err := scan(im.db, &pebble.IterOptions{LowerBound: prefixMemory, UpperBound: prefixEnd(prefixMemory)}, func(k, v []byte) error {
		if err := fn(string(k[len(prefixMemory):]), bytes.Clone(v)); err != nil {
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
