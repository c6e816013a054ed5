package image

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// appendN appends n entries "tool"/"agent" with data {"i": 1..n}.
func appendN(t *testing.T, im *Image, n int) []*AuditEntry {
	t.Helper()
	var out []*AuditEntry
	for i := 1; i <= n; i++ {
		e, err := im.AppendAudit("tool", "agent", fmt.Sprintf("Account>>m%d", i), map[string]int{"i": i})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

func sameEntry(a, b *AuditEntry) bool {
	return a.Seq == b.Seq && a.Time.Equal(b.Time) && a.Kind == b.Kind && a.Actor == b.Actor &&
		a.Subject == b.Subject && string(a.Data) == string(b.Data) && a.Prev == b.Prev && a.Hash == b.Hash
}

func auditAll(t *testing.T, im *Image) []*AuditEntry {
	t.Helper()
	var out []*AuditEntry
	if err := im.Audit(func(e *AuditEntry) error { out = append(out, e); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestAuditAppendAndRead(t *testing.T) {
	im := newImage(t)
	if tail, err := im.AuditTail(5); err != nil || len(tail) != 0 {
		t.Fatalf("empty log tail: %v %v", tail, err)
	}
	if rep, err := im.VerifyAudit(); err != nil || !rep.OK || rep.Entries != 0 {
		t.Fatalf("empty log: %+v %v", rep, err)
	}
	before := time.Now()
	es := appendN(t, im, 3)
	for i, e := range es {
		if e.Seq != uint64(i+1) || e.Kind != "tool" || e.Actor != "agent" || e.Subject != fmt.Sprintf("Account>>m%d", i+1) ||
			string(e.Data) != fmt.Sprintf(`{"i":%d}`, i+1) || e.Time.Location() != time.UTC || e.Time.Before(before.Add(-time.Second)) ||
			e.Hash != AuditHash(e) {
			t.Fatalf("entry %d: %+v", i, e)
		}
		if i == 0 && e.Prev != [32]byte{} || i > 0 && e.Prev != es[i-1].Hash {
			t.Fatalf("entry %d: prev %x", i, e.Prev)
		}
	}
	// nil data is JSON null; unmarshalable data and empty kind/actor are refused.
	e4, err := im.AppendAudit("prompt", "human", "", nil)
	if err != nil || string(e4.Data) != "null" || e4.Seq != 4 {
		t.Fatalf("nil data: %+v %v", e4, err)
	}
	es = append(es, e4)
	if _, err := im.AppendAudit("tool", "agent", "", make(chan int)); err == nil {
		t.Fatal("unmarshalable data accepted")
	}
	if _, err := im.AppendAudit("", "agent", "", 1); err == nil {
		t.Fatal("empty kind accepted")
	}
	if _, err := im.AppendAudit("tool", "", "", 1); err == nil {
		t.Fatal("empty actor accepted")
	}

	check := func(im *Image) {
		t.Helper()
		all := auditAll(t, im)
		if len(all) != len(es) {
			t.Fatalf("%d entries, want %d", len(all), len(es))
		}
		for i := range all {
			if !sameEntry(all[i], es[i]) {
				t.Fatalf("entry %d: got %+v want %+v", i, all[i], es[i])
			}
		}
		tail, err := im.AuditTail(2)
		if err != nil || len(tail) != 2 || !sameEntry(tail[0], es[2]) || !sameEntry(tail[1], es[3]) {
			t.Fatalf("tail 2: %v %v", tail, err)
		}
		if tail, err := im.AuditTail(100); err != nil || len(tail) != 4 || tail[0].Seq != 1 {
			t.Fatalf("tail 100: %v %v", tail, err)
		}
		if tail, err := im.AuditTail(0); err != nil || tail != nil {
			t.Fatalf("tail 0: %v %v", tail, err)
		}
		rep, err := im.VerifyAudit()
		if err != nil || !rep.OK || rep.Entries != 4 || len(rep.Problems) != 0 {
			t.Fatalf("verify: %+v %v", rep, err)
		}
	}
	check(im)
	// Audit stops at fn's error.
	stop := errors.New("stop")
	n := 0
	if err := im.Audit(func(*AuditEntry) error { n++; return stop }); !errors.Is(err, stop) || n != 1 {
		t.Fatalf("Audit with failing fn: %v after %d", err, n)
	}

	// Durable, and the chain continues after reopening.
	im = reopen(t, im)
	check(im)
	e5, err := im.AppendAudit("install", "system", "Account>>withdraw", json.RawMessage(`{ "ok" : true }`))
	if err != nil || e5.Seq != 5 || e5.Prev != e4.Hash || string(e5.Data) != `{"ok":true}` {
		t.Fatalf("after reopen: %+v %v", e5, err)
	}
	if in, err := im.Info(); err != nil || in.AuditEntries != 5 {
		t.Fatalf("info: %+v %v", in, err)
	}
}

func TestAuditHashCanonical(t *testing.T) {
	e := &AuditEntry{Seq: 7, Time: time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC), Kind: "tool", Actor: "agent",
		Subject: "Account>>withdraw", Data: json.RawMessage(`{"a":1}`)}
	e.Prev[0], e.Prev[31] = 1, 2
	// Pins the documented encoding: changing it breaks every stored log.
	const golden = "8fe5de4ed6afcbac0b3dc8db711bbfa060b4e8e9d12c4286bcedeff8c6885cdd"
	if h := AuditHash(e); hex.EncodeToString(h[:]) != golden {
		t.Errorf("hash %x, want %s", h, golden)
	}
	// Length prefixes keep field boundaries: moving bytes between fields
	// changes the hash.
	f := *e
	f.Kind, f.Actor = "toola", "gent"
	if AuditHash(&f) == AuditHash(e) {
		t.Error("field boundary not part of the hash")
	}
	// Each field is covered.
	for i, mod := range []func(*AuditEntry){
		func(x *AuditEntry) { x.Seq++ },
		func(x *AuditEntry) { x.Time = x.Time.Add(1) },
		func(x *AuditEntry) { x.Kind += "x" },
		func(x *AuditEntry) { x.Actor += "x" },
		func(x *AuditEntry) { x.Subject += "x" },
		func(x *AuditEntry) { x.Data = json.RawMessage(`{"a":2}`) },
		func(x *AuditEntry) { x.Prev[5] ^= 1 },
	} {
		g := *e
		mod(&g)
		if AuditHash(&g) == AuditHash(e) {
			t.Errorf("modification %d does not change the hash", i)
		}
	}
	// Encode/decode round trip.
	e.Hash = AuditHash(e)
	d, err := decodeAudit(encodeAudit(e))
	if err != nil || !sameEntry(d, e) {
		t.Fatalf("round trip: %+v %v", d, err)
	}
	enc := encodeAudit(e)
	for _, bad := range [][]byte{enc[:len(enc)-1], append(enc, 0), enc[:20], append([]byte{2}, enc[1:]...)} {
		if _, err := decodeAudit(bad); err == nil {
			t.Errorf("decoded a bad encoding %x", bad)
		}
	}
}

func TestAuditConcurrentAppends(t *testing.T) {
	im := newImage(t)
	const workers, each = 8, 10
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if _, err := im.AppendAudit("tool", "agent", "", []int{w, i}); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	all := auditAll(t, im)
	if len(all) != workers*each {
		t.Fatalf("%d entries", len(all))
	}
	for i, e := range all {
		if e.Seq != uint64(i+1) {
			t.Fatalf("entry %d has seq %d", i, e.Seq)
		}
	}
	if rep, err := im.VerifyAudit(); err != nil || !rep.OK || rep.Entries != workers*each {
		t.Fatalf("verify: %+v %v", rep, err)
	}
}

// tamper closes im, edits its store directly with Pebble and reopens it.
func tamper(t *testing.T, im *Image, edit func(db *pebble.DB)) *Image {
	t.Helper()
	if err := im.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := pebble.Open(storeDir(im.Path()), pebbleOptions(logger(Options{}), false))
	if err != nil {
		t.Fatal(err)
	}
	edit(db)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	im2, err := Open(im.Path(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { im2.Close() })
	return im2
}

func rawGet(t *testing.T, db *pebble.DB, k []byte) []byte {
	t.Helper()
	v, c, err := db.Get(k)
	if err != nil {
		t.Fatalf("get %x: %v", k, err)
	}
	defer c.Close()
	return append([]byte(nil), v...)
}

func rawSet(t *testing.T, db *pebble.DB, k, v []byte) {
	t.Helper()
	if err := db.Set(k, v, pebble.Sync); err != nil {
		t.Fatal(err)
	}
}

func rawDelete(t *testing.T, db *pebble.DB, k []byte) {
	t.Helper()
	if err := db.Delete(k, pebble.Sync); err != nil {
		t.Fatal(err)
	}
}

func rawEntry(t *testing.T, db *pebble.DB, seq uint64) *AuditEntry {
	t.Helper()
	e, err := decodeAudit(rawGet(t, db, auditKey(seq)))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// forge stores e under its seq with a correct hash of its (new) contents.
func forge(t *testing.T, db *pebble.DB, e *AuditEntry) {
	t.Helper()
	e.Hash = AuditHash(e)
	rawSet(t, db, auditKey(e.Seq), encodeAudit(e))
}

// forgedApproval is a well-formed entry claiming a human approval,
// chained after prev.
func forgedApproval(seq uint64, prev *AuditEntry) *AuditEntry {
	return &AuditEntry{Seq: seq, Time: prev.Time, Kind: "approval", Actor: "human", Subject: "Account>>withdraw",
		Data: json.RawMessage(`{"approved":true}`), Prev: prev.Hash}
}

func TestVerifyAuditDetectsTampering(t *testing.T) {
	for _, tc := range []struct {
		name    string
		edit    func(t *testing.T, db *pebble.DB)
		want    []string // substrings of problems, all of them
		nProbs  int      // exact number of problems
		damaged bool     // AppendAudit must refuse afterwards
	}{
		{
			name: "modified data byte",
			edit: func(t *testing.T, db *pebble.DB) {
				v := rawGet(t, db, auditKey(2))
				i := strings.Index(string(v), `"i":2`)
				v[i+4] = '9'
				rawSet(t, db, auditKey(2), v)
			},
			want: []string{"seq 2: hash mismatch (entry modified)"}, nProbs: 1,
		},
		{
			name: "modified time",
			edit: func(t *testing.T, db *pebble.DB) {
				v := rawGet(t, db, auditKey(3))
				v[16] ^= 1
				rawSet(t, db, auditKey(3), v)
			},
			want: []string{"seq 3: hash mismatch"}, nProbs: 1,
		},
		{
			name: "truncated value",
			edit: func(t *testing.T, db *pebble.DB) {
				v := rawGet(t, db, auditKey(2))
				rawSet(t, db, auditKey(2), v[:len(v)-5])
			},
			want: []string{"seq 2: corrupt entry"}, nProbs: 1,
		},
		{
			name: "deleted middle entry",
			edit: func(t *testing.T, db *pebble.DB) { rawDelete(t, db, auditKey(2)) },
			want: []string{"seq 3: follows seq 1 (entries 2..2 deleted)", "seq 3: broken link"}, nProbs: 2,
		},
		{
			name: "deleted first entry",
			edit: func(t *testing.T, db *pebble.DB) { rawDelete(t, db, auditKey(1)) },
			want: []string{"seq 2: the log starts at seq 2, not 1", "seq 2: broken link: the first entry"}, nProbs: 2,
		},
		{
			name:    "deleted last entry",
			edit:    func(t *testing.T, db *pebble.DB) { rawDelete(t, db, auditKey(4)) },
			want:    []string{"head mismatch: the head names seq 4 but the log ends at seq 3 (truncated at the end)"},
			nProbs:  1,
			damaged: true,
		},
		{
			name: "deleted last two entries and the head rewound",
			edit: func(t *testing.T, db *pebble.DB) {
				rawDelete(t, db, auditKey(4))
				rawDelete(t, db, auditKey(3))
				rawDelete(t, db, keyAuditHead)
			},
			want: []string{"head: missing, but the log ends at seq 2"}, nProbs: 1, damaged: true,
		},
		{
			name: "reordered pair (values swapped)",
			edit: func(t *testing.T, db *pebble.DB) {
				v2, v3 := rawGet(t, db, auditKey(2)), rawGet(t, db, auditKey(3))
				rawSet(t, db, auditKey(2), v3)
				rawSet(t, db, auditKey(3), v2)
			},
			want: []string{
				"seq 2: the entry stored here records seq 3 (entries moved or reordered)", "seq 2: broken link",
				"seq 3: the entry stored here records seq 2", "seq 3: broken link", "seq 4: broken link",
			},
			nProbs: 5,
		},
		{
			name: "reordered pair (renumbered, hashes recomputed)",
			edit: func(t *testing.T, db *pebble.DB) {
				e2, e3 := rawEntry(t, db, 2), rawEntry(t, db, 3)
				e2.Seq, e3.Seq = 3, 2
				forge(t, db, e2)
				forge(t, db, e3)
			},
			want:   []string{"seq 2: broken link", "seq 3: broken link", "seq 4: broken link"},
			nProbs: 3,
		},
		{
			name: "inserted forged entry (later entries renumbered)",
			edit: func(t *testing.T, db *pebble.DB) {
				e2, e3, e4 := rawEntry(t, db, 2), rawEntry(t, db, 3), rawEntry(t, db, 4)
				forge(t, db, forgedApproval(3, e2))
				e3.Seq, e4.Seq = 4, 5
				forge(t, db, e3)
				forge(t, db, e4)
			},
			want: []string{
				"seq 4: broken link", "seq 5: broken link",
				"head mismatch: the head names seq 4 but the log ends at seq 5 (entries inserted or appended behind the head)",
			},
			nProbs: 3, damaged: true,
		},
		{
			name: "inserted forged entry (later entries renumbered and re-chained)",
			edit: func(t *testing.T, db *pebble.DB) {
				e2, e3, e4 := rawEntry(t, db, 2), rawEntry(t, db, 3), rawEntry(t, db, 4)
				fake := forgedApproval(3, e2)
				forge(t, db, fake)
				e3.Seq, e3.Prev = 4, fake.Hash
				forge(t, db, e3)
				e4.Seq, e4.Prev = 5, e3.Hash
				forge(t, db, e4)
			},
			want:   []string{"head mismatch: the head names seq 4 but the log ends at seq 5"},
			nProbs: 1, damaged: true,
		},
		{
			name: "forged entry appended behind the head",
			edit: func(t *testing.T, db *pebble.DB) {
				forge(t, db, forgedApproval(5, rawEntry(t, db, 4)))
			},
			want:   []string{"head mismatch: the head names seq 4 but the log ends at seq 5"},
			nProbs: 1, damaged: true,
		},
		{
			name: "inserted key of another shape",
			edit: func(t *testing.T, db *pebble.DB) {
				rawSet(t, db, append(auditKey(2), 'x'), rawGet(t, db, auditKey(2)))
			},
			want: []string{"malformed audit key (inserted)"}, nProbs: 1,
		},
		{
			name: "middle entry rewritten with a recomputed hash",
			edit: func(t *testing.T, db *pebble.DB) {
				e := rawEntry(t, db, 2)
				e.Data = json.RawMessage(`{"i":99}`)
				forge(t, db, e)
			},
			want: []string{"seq 3: broken link"}, nProbs: 1,
		},
		{
			name: "last entry rewritten with a recomputed hash",
			edit: func(t *testing.T, db *pebble.DB) {
				e := rawEntry(t, db, 4)
				e.Actor = "human"
				forge(t, db, e)
			},
			want:   []string{"head mismatch: the head's hash is not that of seq 4 (last entry replaced)"},
			nProbs: 1, damaged: true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			im := newImage(t)
			commitSample(t, im)
			appendN(t, im, 4)
			im = tamper(t, im, func(db *pebble.DB) { tc.edit(t, db) })
			rep, err := im.VerifyAudit()
			if err != nil {
				t.Fatal(err)
			}
			got := strings.Join(rep.Problems, "\n")
			if rep.OK || len(rep.Problems) != tc.nProbs {
				t.Errorf("OK %v, %d problems, want %d:\n%s", rep.OK, len(rep.Problems), tc.nProbs, got)
			}
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("missing problem %q in:\n%s", w, got)
				}
			}
			// image verify reports them too.
			vrep, err := im.Verify(nil)
			if err != nil {
				t.Fatal(err)
			}
			if vg := problems(vrep); vrep.ProblemCount != int64(tc.nProbs) || !strings.Contains(vg, "audit log: ") || !strings.Contains(vg, tc.want[0]) {
				t.Errorf("Verify:\n%s", problems(vrep))
			}
			_, err = im.AppendAudit("tool", "agent", "", nil)
			if tc.damaged != errors.Is(err, ErrAuditDamaged) {
				t.Errorf("append after tampering: %v (damaged %v)", err, tc.damaged)
			}
		})
	}
}

func TestAuditReadOnlyAndClosed(t *testing.T) {
	im := newImage(t)
	appendN(t, im, 2)
	path := im.Path()
	im.Close()
	ro, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ro.AppendAudit("tool", "agent", "", nil); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("read-only append: %v", err)
	}
	if all := auditAll(t, ro); len(all) != 2 {
		t.Fatalf("read-only audit: %d entries", len(all))
	}
	if rep, err := ro.VerifyAudit(); err != nil || !rep.OK {
		t.Fatalf("read-only verify: %+v %v", rep, err)
	}
	ro.Close()
	if _, err := ro.AppendAudit("tool", "agent", "", nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("closed append: %v", err)
	}
	if err := ro.Audit(func(*AuditEntry) error { return nil }); !errors.Is(err, ErrClosed) {
		t.Fatalf("closed audit: %v", err)
	}
	if _, err := ro.AuditTail(1); !errors.Is(err, ErrClosed) {
		t.Fatalf("closed tail: %v", err)
	}
	if _, err := ro.VerifyAudit(); !errors.Is(err, ErrClosed) {
		t.Fatalf("closed verify: %v", err)
	}
}
