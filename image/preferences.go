package image

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// Preference is one record of the person's taste in the agent's proposals:
// which of several alternatives they chose, or how they rated one. The
// image keeps them, like the approval queue, outside the VM's
// transactions, so that a choice made during an evaluation that rolls
// back is still remembered. They are stored as JSON under p/<seq>, seq
// 1, 2, 3, ... counted by m/pref-seq.
type Preference struct {
	Seq      uint64          `json:"seq"`
	Time     time.Time       `json:"time"` // UTC
	Kind     string          `json:"kind"` // e.g. "choice", "rating"
	Object   string          `json:"object,omitempty"`
	Selector string          `json:"selector,omitempty"`
	Approval string          `json:"approval,omitempty"` // the approval it is about, if any
	Data     json.RawMessage `json:"data,omitempty"`     // kind-specific; opaque to the image, valid JSON
}

func prefKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64(append(make([]byte, 0, 10), 'p', '/'), seq)
}

func parsePrefKey(k []byte) (uint64, bool) {
	if len(k) != 10 || !bytes.HasPrefix(k, prefixPrefs) {
		return 0, false
	}
	return binary.BigEndian.Uint64(k[2:]), true
}

func decodePreference(k, v []byte) (*Preference, error) {
	seq, ok := parsePrefKey(k)
	if !ok {
		return nil, fmt.Errorf("preference: malformed key %x", k)
	}
	p := &Preference{}
	if err := json.Unmarshal(v, p); err != nil {
		return nil, fmt.Errorf("preference %d: corrupt: %w", seq, err)
	}
	if p.Seq != seq {
		return nil, fmt.Errorf("preference %d: corrupt: records seq %d", seq, p.Seq)
	}
	if p.Kind == "" {
		return nil, fmt.Errorf("preference %d: corrupt: no kind", seq)
	}
	return p, nil
}

// AddPreference appends a preference with the next seq and the current
// time, in one batch (with m/pref-seq) committed with pebble.Sync, and
// returns it as stored. Kind must not be empty and Data, if any, must be
// valid JSON; p itself is not modified.
func (im *Image) AddPreference(p *Preference) (*Preference, error) {
	if p == nil || p.Kind == "" {
		return nil, errors.New("image: add preference: a kind must be given")
	}
	n := *p
	if len(n.Data) > 0 {
		var buf bytes.Buffer
		if err := json.Compact(&buf, n.Data); err != nil {
			return nil, fmt.Errorf("image: add preference %s for %s>>%s: data is not valid JSON: %w", n.Kind, n.Object, n.Selector, err)
		}
		n.Data = buf.Bytes()
	}
	im.mu.Lock()
	defer im.mu.Unlock()
	if err := im.checkWritable("add preference to"); err != nil {
		return nil, err
	}
	fail := func(err error) (*Preference, error) {
		return nil, fmt.Errorf("image: add preference to %s: %w", im.path, err)
	}
	seq := uint64(0)
	v, err := im.get(keyPrefSeq)
	switch {
	case errors.Is(err, pebble.ErrNotFound):
	case err != nil:
		return fail(err)
	case len(v) != 8:
		return fail(fmt.Errorf("corrupt %s (%d bytes, want 8)", keyPrefSeq, len(v)))
	default:
		seq = binary.BigEndian.Uint64(v)
	}
	n.Seq, n.Time = seq+1, now()
	js, err := json.Marshal(&n)
	if err != nil {
		return fail(err)
	}
	b := im.db.NewBatch()
	defer b.Close()
	b.Set(prefKey(n.Seq), js, nil)
	b.Set(keyPrefSeq, u64(n.Seq), nil)
	if err := b.Commit(pebble.Sync); err != nil {
		return fail(err)
	}
	return &n, nil
}

func prefRange() *pebble.IterOptions {
	return &pebble.IterOptions{LowerBound: prefixPrefs, UpperBound: prefixEnd(prefixPrefs)}
}

// PreferencesTail returns the last n preferences (fewer if there are
// fewer), newest first. A corrupt one is an error naming it.
func (im *Image) PreferencesTail(n int) ([]*Preference, error) {
	if err := im.checkOpen("read preferences of"); err != nil {
		return nil, err
	}
	if n <= 0 {
		return nil, nil
	}
	return lastRecords(im, "preferences", prefRange(), n, decodePreference)
}

// Preferences calls fn for every preference, oldest first, stopping at
// the first error (which it returns).
func (im *Image) Preferences(fn func(*Preference) error) error {
	if err := im.checkOpen("read preferences of"); err != nil {
		return err
	}
	err := scan(im.db, prefRange(), func(k, v []byte) error {
		p, err := decodePreference(k, v)
		if err != nil {
			return err
		}
		return fn(p)
	})
	if err != nil {
		return fmt.Errorf("image: preferences of %s: %w", im.path, err)
	}
	return nil
}
