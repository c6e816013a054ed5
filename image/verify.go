package image

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"sort"

	"github.com/cockroachdb/pebble/v2"
	"github.com/phoenix-image/phoenix/vm"
)

// Problem is one defect found by Verify.
type Problem struct {
	OID   vm.OID // the object concerned (0 for image-wide problems)
	Where string // e.g. "slot 3 value", "proto", "trait 0", "history \"foo\""; may be empty
	What  string
}

func (p Problem) String() string {
	switch {
	case p.OID == 0 && p.Where == "":
		return p.What
	case p.OID == 0:
		return p.Where + ": " + p.What
	case p.Where == "":
		return fmt.Sprintf("object %d: %s", p.OID, p.What)
	}
	return fmt.Sprintf("object %d: %s: %s", p.OID, p.Where, p.What)
}

// maxProblems caps VerifyReport.Problems; ProblemCount counts them all.
const maxProblems = 1000

// VerifyReport is the result of Verify.
type VerifyReport struct {
	Records        int64             // o/ keys
	ByKind         map[vm.Kind]int64 // records that decoded, by kind
	HistoryEntries int64
	IndexEntries   int64
	AuditEntries   int64 // a/ keys
	Approvals      int64 // q/ keys
	NextOID        vm.OID
	Problems       []Problem // the first maxProblems problems, in key order
	ProblemCount   int64     // all problems found
}

// OK reports whether Verify found no problems.
func (r *VerifyReport) OK() bool { return r.ProblemCount == 0 }

func (r *VerifyReport) add(oid vm.OID, where, format string, args ...any) {
	r.ProblemCount++
	if len(r.Problems) < maxProblems {
		r.Problems = append(r.Problems, Problem{OID: oid, Where: where, What: fmt.Sprintf(format, args...)})
	}
}

// Verify checks the whole image from a consistent snapshot: the meta keys,
// that every record and history entry decodes, that every reference, proto
// and trait OID names an existing record, that the Lobby exists, that the
// next OID exceeds every OID, and that the trait users index agrees with
// the records' compositions; also that every approval decodes, and
// VerifyAudit's checks of the audit log. Problems are reported, not
// returned as an error; the error is for failures to read the image.
//
// progress (may be nil) counts keys visited over two passes; during the
// first pass the total is -1 (unknown), then it is twice the key count.
func (im *Image) Verify(progress func(done, total int64)) (*VerifyReport, error) {
	if err := im.checkOpen("verify"); err != nil {
		return nil, err
	}
	snap := im.db.NewSnapshot()
	defer snap.Close()
	rep := &VerifyReport{ByKind: map[vm.Kind]int64{}}
	fail := func(err error) (*VerifyReport, error) {
		return nil, fmt.Errorf("image: verify %s: %w", im.path, err)
	}

	// Pass 1: meta, the set of OIDs (sorted, as keys are), the index.
	var oids []vm.OID
	index := map[[2]vm.OID]bool{} // (trait, user) -> seen in a record
	var keys int64
	var next uint64
	var haveNext bool
	err := scan(snap, nil, func(k, v []byte) error {
		keys++
		if keys%65536 == 0 {
			report(progress, keys, -1)
		}
		switch {
		case bytes.HasPrefix(k, prefixRecord):
			oid, ok := parseRecordKey(k)
			if !ok {
				rep.add(0, "", "malformed record key %x", k)
				return nil
			}
			oids = append(oids, oid)
		case bytes.HasPrefix(k, prefixUsers):
			t, u, ok := parseUsersKey(k)
			if !ok {
				rep.add(0, "trait users index", "malformed key %x", k)
				return nil
			}
			rep.IndexEntries++
			index[[2]vm.OID{t, u}] = false
		case bytes.HasPrefix(k, prefixMeta):
			switch {
			case bytes.Equal(k, keyFormat):
				if ver, n := binary.Uvarint(v); n <= 0 || n != len(v) || ver != FormatVersion {
					rep.add(0, "meta", "format version %x is not %d", v, FormatVersion)
				}
			case bytes.Equal(k, keyNext):
				if len(v) == 8 {
					next, haveNext = binary.BigEndian.Uint64(v), true
				} else {
					rep.add(0, "meta", "next OID is %d bytes, want 8", len(v))
				}
			case bytes.Equal(k, keyAuditHead):
				if len(v) != auditHeadLen {
					rep.add(0, "meta", "%s is %d bytes, want %d", k, len(v), auditHeadLen)
				}
			case bytes.Equal(k, keyMemoryGen):
				if len(v) != memoryGenLen {
					rep.add(0, "meta", "%s is %d bytes, want %d", k, len(v), memoryGenLen)
				}
			case bytes.Equal(k, keyHSeq), bytes.Equal(k, keyCreated), bytes.Equal(k, keyApprovalSeq), bytes.Equal(k, keyPrefSeq):
				if len(v) != 8 {
					rep.add(0, "meta", "%s is %d bytes, want 8", k, len(v))
				}
			default:
				rep.add(0, "meta", "unknown meta key %q", k)
			}
		case bytes.HasPrefix(k, prefixHistory):
		case bytes.HasPrefix(k, prefixAudit):
			rep.AuditEntries++ // checked by verifyAudit below
		case bytes.HasPrefix(k, prefixQueue):
			rep.Approvals++
			id := string(k[len(prefixQueue):])
			if checkApprovalID(id) != nil {
				rep.add(0, "approval queue", "malformed key %q", k)
			} else if _, err := decodeApproval(id, v); err != nil {
				rep.add(0, "approval queue", "%v", err)
			}
		case bytes.HasPrefix(k, prefixPrefs):
			if _, err := decodePreference(k, v); err != nil {
				rep.add(0, "preferences", "%v", err)
			}
		case bytes.HasPrefix(k, prefixMemory):
			if CheckMemoryID(string(k[len(prefixMemory):])) != nil {
				rep.add(0, "memory", "malformed key %q", k)
			}
		default:
			rep.add(0, "", "key %q is in no known keyspace", k)
		}
		return nil
	})
	if err != nil {
		return fail(err)
	}
	rep.Records = int64(len(oids))
	rep.NextOID = vm.OID(next)
	if !haveNext {
		rep.add(0, "meta", "no next OID")
	} else if n := len(oids); n > 0 && uint64(oids[n-1]) >= next {
		rep.add(oids[n-1], "", "OID is not below the next OID %d", next)
	}
	exists := func(oid vm.OID) bool {
		i := sort.Search(len(oids), func(i int) bool { return oids[i] >= oid })
		return i < len(oids) && oids[i] == oid
	}
	if !exists(vm.LobbyOID) {
		rep.add(vm.LobbyOID, "", "the Lobby is missing")
	}

	// Pass 2: decode records and history, check references.
	total := 2 * keys
	done := keys
	report(progress, done, total)
	hseqs := map[uint64]bool{}
	err = scan(snap, nil, func(k, v []byte) error {
		done++
		if done%65536 == 0 {
			report(progress, done, total)
		}
		switch {
		case bytes.HasPrefix(k, prefixRecord):
			oid, ok := parseRecordKey(k)
			if !ok {
				return nil
			}
			r, err := DecodeRecord(oid, v)
			if err != nil {
				de := err.(*DecodeError)
				rep.add(oid, de.Place, "corrupt: %s", de.Detail)
				return nil
			}
			rep.ByKind[r.Kind]++
			checkRef := func(ref vm.OID, where string) {
				if ref != 0 && !exists(ref) {
					rep.add(oid, where, "refers to missing object %d", ref)
				}
			}
			checkRef(r.Proto, "proto")
			for i, t := range r.Traits {
				where := fmt.Sprintf("trait %d", i)
				if t.Trait == 0 {
					rep.add(oid, where, "trait OID is 0")
				} else {
					checkRef(t.Trait, where)
				}
				if _, ok := index[[2]vm.OID{t.Trait, oid}]; ok {
					index[[2]vm.OID{t.Trait, oid}] = true
				} else {
					rep.add(oid, where, "missing from the users index of trait %d", t.Trait)
				}
			}
			for i, s := range r.Slots {
				if s.Key.Kind == vm.VRef {
					checkRef(s.Key.Ref, fmt.Sprintf("slot %d key", i))
				}
				if s.Val.Kind == vm.VRef {
					checkRef(s.Val.Ref, fmt.Sprintf("slot %d value", i))
				}
			}
		case bytes.HasPrefix(k, prefixHistory):
			rep.HistoryEntries++
			owner, sel, seq, ok := parseHistoryKey(k)
			if !ok {
				rep.add(0, "history", "malformed key %x", k)
				return nil
			}
			where := fmt.Sprintf("history of %q", sel)
			c, err := DecodeChange(owner, v)
			if err != nil {
				de := err.(*DecodeError)
				rep.add(owner, where, "corrupt: %s", de.Detail)
				return nil
			}
			if c.Selector != sel {
				rep.add(owner, where, "entry %d is for selector %q", seq, c.Selector)
			}
			if !exists(owner) {
				rep.add(owner, where, "history of a missing object")
			}
			if hseqs[seq] {
				rep.add(owner, where, "history sequence number %d used twice", seq)
			}
			hseqs[seq] = true
		}
		return nil
	})
	if err != nil {
		return fail(err)
	}
	var stale [][2]vm.OID
	for tu, seen := range index {
		if !seen {
			stale = append(stale, tu)
		}
	}
	sort.Slice(stale, func(i, j int) bool {
		return stale[i][0] < stale[j][0] || stale[i][0] == stale[j][0] && stale[i][1] < stale[j][1]
	})
	for _, tu := range stale {
		rep.add(tu[1], "trait users index", "listed as a user of trait %d, but its record does not use it", tu[0])
	}
	arep, err := verifyAudit(snap)
	if err != nil {
		return fail(err)
	}
	for _, p := range arep.Problems {
		rep.add(0, "audit log", "%s", p)
	}
	report(progress, total, total)
	return rep, nil
}

// scan calls fn for every key/value of r within opts' bounds.
func scan(r pebble.Reader, opts *pebble.IterOptions, fn func(k, v []byte) error) error {
	it, err := r.NewIter(opts)
	if err != nil {
		return err
	}
	for it.First(); it.Valid(); it.Next() {
		v, err := it.ValueAndErr()
		if err != nil {
			it.Close()
			return err
		}
		if err := fn(it.Key(), v); err != nil {
			it.Close()
			return err
		}
	}
	return it.Close()
}
