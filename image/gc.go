package image

import (
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
	"github.com/phoenix-image/phoenix/vm"
)

// GCReport is the result of GC.
type GCReport struct {
	Scanned        int64 // records examined
	Live           int64 // records reachable from the roots
	Removed        int64 // records deleted
	HistoryRemoved int64 // history entries deleted with them
	IndexRemoved   int64 // trait users index entries deleted with them
	BytesFreed     int64 // approximate: keys plus values deleted (before compression)
}

// GC deletes every record not reachable from the Lobby (and from the
// kernel objects, OIDs 1 to vm.FirstFreeOID-1, that exist) through
// references in slot keys and values, protos and traits, together with
// the history and trait users index entries of the deleted objects, in one
// batch committed with pebble.Sync. References to missing objects are
// ignored (Verify reports them); a corrupt reachable record stops GC with
// an error, since its references cannot be known.
//
// GC only sees committed state: objects a running VM holds but has not yet
// made reachable in a commit are deleted if unreachable on disk.
//
// progress (may be nil) counts records: marked during the mark phase
// (total -1, unknown), then swept (total = records).
func (im *Image) GC(progress func(done, total int64)) (*GCReport, error) {
	im.mu.Lock()
	defer im.mu.Unlock()
	if err := im.checkWritable("gc"); err != nil {
		return nil, err
	}
	fail := func(err error) (*GCReport, error) {
		return nil, fmt.Errorf("image: gc %s: %w", im.path, err)
	}
	rep := &GCReport{}

	// Mark.
	live := map[vm.OID]bool{}
	var stack []vm.OID
	push := func(o vm.OID) {
		if o != 0 && !live[o] {
			live[o] = true
			stack = append(stack, o)
		}
	}
	for o := vm.LobbyOID; o < vm.FirstFreeOID; o++ {
		push(o) // missing roots are dropped below
	}
	var marked int64
	for len(stack) > 0 {
		o := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		v, c, err := im.db.Get(recordKey(o))
		if errors.Is(err, pebble.ErrNotFound) {
			delete(live, o) // dangling reference or absent kernel OID
			continue
		}
		if err != nil {
			return fail(err)
		}
		r, err := DecodeRecord(o, v)
		c.Close()
		if err != nil {
			return fail(fmt.Errorf("reachable %w; nothing was deleted (run verify)", err))
		}
		marked++
		if marked%65536 == 0 {
			report(progress, marked, -1)
		}
		push(r.Proto)
		for _, t := range r.Traits {
			push(t.Trait)
		}
		for _, s := range r.Slots {
			if s.Key.Kind == vm.VRef {
				push(s.Key.Ref)
			}
			if s.Val.Kind == vm.VRef {
				push(s.Val.Ref)
			}
		}
	}
	rep.Live = int64(len(live))

	// Sweep.
	b := im.db.NewBatch()
	defer b.Close()
	indexGone := map[[2]vm.OID]bool{}
	total := int64(-1)
	it, err := im.db.NewIter(&pebble.IterOptions{LowerBound: prefixRecord, UpperBound: prefixEnd(prefixRecord)})
	if err != nil {
		return fail(err)
	}
	defer it.Close()
	for it.First(); it.Valid(); it.Next() {
		oid, ok := parseRecordKey(it.Key())
		if !ok {
			continue
		}
		rep.Scanned++
		if rep.Scanned%65536 == 0 {
			report(progress, rep.Scanned, total)
		}
		if live[oid] {
			continue
		}
		rep.Removed++
		rep.BytesFreed += int64(len(it.Key()) + len(it.Value()))
		b.Delete(it.Key(), nil)
		// Its history.
		hp := historyOwnerPrefix(oid)
		n, bytesN, err := countRange(im.db, hp)
		if err != nil {
			return fail(err)
		}
		if n > 0 {
			b.DeleteRange(hp, prefixEnd(hp), nil)
			rep.HistoryRemoved += n
			rep.BytesFreed += bytesN
		}
		// Its index entries as a user (keyed by its traits) ...
		if r, err := DecodeRecord(oid, it.Value()); err == nil {
			for _, t := range r.Traits {
				b.Delete(usersKey(t.Trait, oid), nil)
				indexGone[[2]vm.OID{t.Trait, oid}] = true
			}
		} else {
			im.log.Warn("gc: deleting a corrupt unreachable record", "err", err)
		}
		// ... and as a trait (its users are unreachable too, since they
		// refer to it).
		up := usersPrefix(oid)
		found := false
		err = scan(im.db, &pebble.IterOptions{LowerBound: up, UpperBound: prefixEnd(up)}, func(k, _ []byte) error {
			if t, u, ok := parseUsersKey(k); ok {
				indexGone[[2]vm.OID{t, u}] = true
				found = true
			}
			return nil
		})
		if err != nil {
			return fail(err)
		}
		if found {
			b.DeleteRange(up, prefixEnd(up), nil)
		}
	}
	if err := it.Error(); err != nil {
		return fail(err)
	}
	rep.IndexRemoved = int64(len(indexGone))
	rep.BytesFreed += 18 * rep.IndexRemoved
	if rep.Removed > 0 {
		if err := b.Commit(pebble.Sync); err != nil {
			return fail(err)
		}
	}
	report(progress, rep.Scanned, rep.Scanned)
	im.log.Info("gc done", "image", im.path, "scanned", rep.Scanned, "live", rep.Live, "removed", rep.Removed)
	return rep, nil
}

// countRange counts the keys with prefix p and their payload bytes.
func countRange(r pebble.Reader, p []byte) (n, size int64, err error) {
	err = scan(r, &pebble.IterOptions{LowerBound: p, UpperBound: prefixEnd(p)}, func(k, v []byte) error {
		n++
		size += int64(len(k) + len(v))
		return nil
	})
	return n, size, err
}
