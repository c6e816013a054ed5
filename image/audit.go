package image

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// ErrAuditDamaged is wrapped by AppendAudit when the audit log's last entry
// and its head (m/audit-head) disagree: appending would give a tampered or
// truncated log a fresh, valid-looking head, so it is refused. VerifyAudit
// says what is wrong.
var ErrAuditDamaged = errors.New("audit log damaged")

// AuditEntry is one entry of the image's audit log: an append-only,
// hash-chained record of what the agent and the humans did. The log lives
// outside the VM's transactions: an entry stays even when the evaluation
// that produced it rolls back.
type AuditEntry struct {
	Seq     uint64          // 1, 2, 3, ...
	Time    time.Time       // UTC, nanosecond precision
	Kind    string          // e.g. "prompt", "tool", "sandbox", "approval", "install", "reject"
	Actor   string          // "agent", "human", "system"
	Subject string          // e.g. "Account>>withdraw"; may be empty
	Data    json.RawMessage // kind-specific details, valid JSON (the caller guarantees no secrets)
	Prev    [32]byte        // Hash of the entry before (zero for the first)
	Hash    [32]byte        // SHA-256 of the entry's canonical encoding (see AuditHash)
}

// auditVersion is the first byte of every audit entry's encoding.
const auditVersion = 1

// auditHeadLen is the size of m/audit-head: 8-byte BE seq + 32-byte hash.
const auditHeadLen = 8 + 32

// appendAuditPreimage appends the canonical encoding of e without its Hash:
//
//	version   1 byte, 1
//	Seq       8-byte big-endian
//	Time      8-byte big-endian two's complement Unix nanoseconds
//	Kind      8-byte big-endian length, then the bytes
//	Actor     8-byte big-endian length, then the bytes
//	Subject   8-byte big-endian length, then the bytes
//	Data      8-byte big-endian length, then the bytes (compact JSON)
//	Prev      32 bytes
//
// Every field has a fixed size or a length prefix, so distinct entries
// never encode alike.
func appendAuditPreimage(b []byte, e *AuditEntry) []byte {
	b = append(b, auditVersion)
	b = binary.BigEndian.AppendUint64(b, e.Seq)
	b = binary.BigEndian.AppendUint64(b, uint64(e.Time.UnixNano()))
	for _, f := range []string{e.Kind, e.Actor, e.Subject, string(e.Data)} {
		b = binary.BigEndian.AppendUint64(b, uint64(len(f)))
		b = append(b, f...)
	}
	return append(b, e.Prev[:]...)
}

// AuditHash returns the SHA-256 of the canonical encoding of e's Seq,
// Time, Kind, Actor, Subject, Data and Prev (its Hash field is ignored).
// The encoding is documented at appendAuditPreimage and in the package
// comment; the stored value of an a/ key is that encoding followed by the
// 32-byte hash.
func AuditHash(e *AuditEntry) [32]byte {
	return sha256.Sum256(appendAuditPreimage(nil, e))
}

func encodeAudit(e *AuditEntry) []byte {
	n := 1 + 8 + 8 + 4*8 + len(e.Kind) + len(e.Actor) + len(e.Subject) + len(e.Data) + 32 + 32
	b := appendAuditPreimage(make([]byte, 0, n), e)
	return append(b, e.Hash[:]...)
}

// decodeAudit decodes a stored audit entry. It checks the layout only,
// not the hash (VerifyAudit does).
func decodeAudit(v []byte) (*AuditEntry, error) {
	if len(v) < 1+8+8 {
		return nil, fmt.Errorf("truncated entry (%d bytes)", len(v))
	}
	if v[0] != auditVersion {
		return nil, fmt.Errorf("unknown entry version %d", v[0])
	}
	e := &AuditEntry{
		Seq:  binary.BigEndian.Uint64(v[1:9]),
		Time: time.Unix(0, int64(binary.BigEndian.Uint64(v[9:17]))).UTC(),
	}
	rest := v[17:]
	var fields [4]string
	for i := range fields {
		if len(rest) < 8 {
			return nil, fmt.Errorf("truncated entry")
		}
		n := binary.BigEndian.Uint64(rest)
		rest = rest[8:]
		if n > uint64(len(rest)) {
			return nil, fmt.Errorf("field %d: length %d exceeds the entry", i, n)
		}
		fields[i], rest = string(rest[:n]), rest[n:]
	}
	if len(rest) != 64 {
		return nil, fmt.Errorf("entry ends with %d bytes, want 64 (prev and hash)", len(rest))
	}
	e.Kind, e.Actor, e.Subject, e.Data = fields[0], fields[1], fields[2], json.RawMessage(fields[3])
	copy(e.Prev[:], rest[:32])
	copy(e.Hash[:], rest[32:])
	return e, nil
}

// readAuditHead returns the head's seq and hash; ok is false if there is
// no head.
func readAuditHead(r pebble.Reader) (seq uint64, hash [32]byte, ok bool, err error) {
	v, c, err := r.Get(keyAuditHead)
	if errors.Is(err, pebble.ErrNotFound) {
		return 0, hash, false, nil
	}
	if err != nil {
		return 0, hash, false, err
	}
	defer c.Close()
	if len(v) != auditHeadLen {
		return 0, hash, false, fmt.Errorf("corrupt %s (%d bytes, want %d)", keyAuditHead, len(v), auditHeadLen)
	}
	copy(hash[:], v[8:])
	return binary.BigEndian.Uint64(v), hash, true, nil
}

func auditRange() *pebble.IterOptions {
	return &pebble.IterOptions{LowerBound: prefixAudit, UpperBound: prefixEnd(prefixAudit)}
}

// decodeAuditAt decodes the entry stored under key k, checking that the
// key is well-formed and names the entry's own seq.
func decodeAuditAt(k, v []byte) (*AuditEntry, error) {
	seq, ok := parseAuditKey(k)
	if !ok {
		return nil, fmt.Errorf("malformed audit key %x", k)
	}
	e, err := decodeAudit(v)
	if err != nil {
		return nil, fmt.Errorf("audit entry %d: %w", seq, err)
	}
	if e.Seq != seq {
		return nil, fmt.Errorf("audit entry %d: records seq %d", seq, e.Seq)
	}
	return e, nil
}

// AppendAudit appends an entry to the audit log: data is marshalled to
// JSON (nil gives null), the entry is chained to the current head and
// written together with the new head (m/audit-head) in one batch committed
// with pebble.Sync. kind and actor must not be empty. Appends are
// serialized with each other and with Commit.
//
// If the last entry and the head disagree (the log was truncated or
// tampered with), AppendAudit refuses with an error wrapping
// ErrAuditDamaged rather than chain onto it.
func (im *Image) AppendAudit(kind, actor, subject string, data any) (*AuditEntry, error) {
	if kind == "" || actor == "" {
		return nil, fmt.Errorf("image: append audit: kind and actor must not be empty (kind %q, actor %q)", kind, actor)
	}
	js, err := json.Marshal(data)
	if err != nil {
		return nil, fmt.Errorf("image: append audit %s: data: %w", kind, err)
	}
	im.mu.Lock()
	defer im.mu.Unlock()
	if err := im.checkWritable("append audit to"); err != nil {
		return nil, err
	}
	fail := func(err error) (*AuditEntry, error) {
		return nil, fmt.Errorf("image: append audit to %s: %w", im.path, err)
	}
	headSeq, headHash, haveHead, err := readAuditHead(im.db)
	if err != nil {
		return fail(fmt.Errorf("%w: %w", ErrAuditDamaged, err))
	}
	var last *AuditEntry
	it, err := im.db.NewIter(auditRange())
	if err != nil {
		return fail(err)
	}
	if it.Last() {
		last, err = decodeAuditAt(it.Key(), it.Value())
		if err != nil {
			it.Close()
			return fail(fmt.Errorf("%w: %w", ErrAuditDamaged, err))
		}
	}
	if err := it.Close(); err != nil {
		return fail(err)
	}
	e := &AuditEntry{Seq: 1, Kind: kind, Actor: actor, Subject: subject, Data: js}
	switch {
	case last == nil && !haveHead:
	case last != nil && haveHead && last.Seq == headSeq && last.Hash == headHash && AuditHash(last) == last.Hash:
		e.Seq, e.Prev = headSeq+1, headHash
	case last == nil:
		return fail(fmt.Errorf("%w: the head names entry %d but the log is empty", ErrAuditDamaged, headSeq))
	case !haveHead:
		return fail(fmt.Errorf("%w: the log ends at entry %d but has no head", ErrAuditDamaged, last.Seq))
	default:
		return fail(fmt.Errorf("%w: the head names entry %d, the log ends at entry %d (run verify)", ErrAuditDamaged, headSeq, last.Seq))
	}
	e.Time = time.Unix(0, time.Now().UnixNano()).UTC()
	e.Hash = AuditHash(e)

	b := im.db.NewBatch()
	defer b.Close()
	b.Set(auditKey(e.Seq), encodeAudit(e), nil)
	head := binary.BigEndian.AppendUint64(make([]byte, 0, auditHeadLen), e.Seq)
	b.Set(keyAuditHead, append(head, e.Hash[:]...), nil)
	if err := b.Commit(pebble.Sync); err != nil {
		return fail(err)
	}
	return e, nil
}

// Audit calls fn for every audit entry, oldest first, stopping at the
// first error (which it returns). An entry that cannot be decoded is an
// error; Audit does not check hashes (VerifyAudit does).
func (im *Image) Audit(fn func(*AuditEntry) error) error {
	if err := im.checkOpen("read audit log of"); err != nil {
		return err
	}
	err := scan(im.db, auditRange(), func(k, v []byte) error {
		e, err := decodeAuditAt(k, v)
		if err != nil {
			return err
		}
		return fn(e)
	})
	if err != nil {
		return fmt.Errorf("image: audit log of %s: %w", im.path, err)
	}
	return nil
}

// AuditTail returns the last n audit entries (fewer if the log is
// shorter), oldest first.
func (im *Image) AuditTail(n int) ([]*AuditEntry, error) {
	if err := im.checkOpen("read audit log of"); err != nil {
		return nil, err
	}
	if n <= 0 {
		return nil, nil
	}
	out, err := lastRecords(im, "audit log", auditRange(), n, decodeAuditAt)
	if err != nil {
		return nil, err
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, nil
}

// AuditReport is the result of VerifyAudit.
type AuditReport struct {
	Entries  int64    // a/ keys examined
	OK       bool     // no problems
	Problems []string // the first maxProblems, each naming the seq (or "head") and what is wrong
}

func (r *AuditReport) add(format string, args ...any) {
	if len(r.Problems) < maxProblems {
		r.Problems = append(r.Problems, fmt.Sprintf(format, args...))
	}
	r.OK = false
}

// VerifyAudit checks the whole audit log from a consistent snapshot: that
// every entry decodes, is stored under its own seq, and has the hash of
// its contents (else it was modified); that the seqs run 1, 2, 3, ... and
// each entry's Prev is the Hash of the one before (else entries were
// deleted, reordered or inserted, or an entry was rewritten with a
// recomputed hash); and that the head names the last entry (else the log
// was truncated at the end or extended behind the head's back).
//
// A consistent rewrite of the whole chain including the head cannot be
// detected from inside the image; compare the head with a copy kept
// elsewhere for that. Problems are reported, not returned as an error; the
// error is for failures to read the image.
func (im *Image) VerifyAudit() (*AuditReport, error) {
	if err := im.checkOpen("verify audit log of"); err != nil {
		return nil, err
	}
	snap := im.db.NewSnapshot()
	defer snap.Close()
	rep, err := verifyAudit(snap)
	if err != nil {
		return nil, fmt.Errorf("image: verify audit log of %s: %w", im.path, err)
	}
	return rep, nil
}

func verifyAudit(r pebble.Reader) (*AuditReport, error) {
	rep := &AuditReport{OK: true}
	var (
		prevSeq  uint64   // seq of the last well-formed key (0 = none yet)
		prevHash [32]byte // stored Hash of that entry
		linkable = true   // prevHash is known (the previous entry decoded)
		lastHash [32]byte
		lastOK   bool // the last entry decoded
	)
	err := scan(r, auditRange(), func(k, v []byte) error {
		rep.Entries++
		seq, ok := parseAuditKey(k)
		if !ok {
			rep.add("key %x: malformed audit key (inserted)", k)
			return nil
		}
		switch {
		case prevSeq == 0 && seq != 1:
			rep.add("seq %d: the log starts at seq %d, not 1 (entries deleted)", seq, seq)
		case prevSeq != 0 && seq != prevSeq+1:
			rep.add("seq %d: follows seq %d (entries %d..%d deleted)", seq, prevSeq, prevSeq+1, seq-1)
		}
		first := prevSeq == 0
		prevSeq = seq
		e, err := decodeAudit(v)
		if err != nil {
			rep.add("seq %d: corrupt entry: %v (entry modified)", seq, err)
			linkable, lastOK = false, false
			return nil
		}
		if e.Seq != seq {
			rep.add("seq %d: the entry stored here records seq %d (entries moved or reordered)", seq, e.Seq)
		}
		if AuditHash(e) != e.Hash {
			rep.add("seq %d: hash mismatch (entry modified)", seq)
		}
		switch {
		case first && e.Prev != [32]byte{}:
			rep.add("seq %d: broken link: the first entry has a non-zero prev hash (entries deleted before it)", seq)
		case !first && linkable && e.Prev != prevHash:
			rep.add("seq %d: broken link: prev is not the hash of the entry before (entry deleted, reordered or inserted, or the one before rewritten)", seq)
		}
		prevHash, linkable = e.Hash, true
		lastHash, lastOK = e.Hash, true
		return nil
	})
	if err != nil {
		return nil, err
	}
	headSeq, headHash, haveHead, err := readAuditHead(r)
	switch {
	case err != nil:
		rep.add("head: %v", err)
	case !haveHead && prevSeq != 0:
		rep.add("head: missing, but the log ends at seq %d", prevSeq)
	case !haveHead:
	case prevSeq == 0:
		rep.add("head: names seq %d but the log is empty (truncated at the end)", headSeq)
	case headSeq > prevSeq:
		rep.add("head mismatch: the head names seq %d but the log ends at seq %d (truncated at the end)", headSeq, prevSeq)
	case headSeq < prevSeq:
		rep.add("head mismatch: the head names seq %d but the log ends at seq %d (entries inserted or appended behind the head)", headSeq, prevSeq)
	case lastOK && headHash != lastHash:
		rep.add("head mismatch: the head's hash is not that of seq %d (last entry replaced)", headSeq)
	}
	return rep, nil
}

// lastRecords decodes the last n records of a keyspace (fewer if there
// are fewer), newest first; what names the keyspace in errors.
func lastRecords[T any](im *Image, what string, r *pebble.IterOptions, n int, decode func(k, v []byte) (T, error)) ([]T, error) {
	fail := func(err error) ([]T, error) {
		return nil, fmt.Errorf("image: %s of %s: %w", what, im.path, err)
	}
	it, err := im.db.NewIter(r)
	if err != nil {
		return fail(err)
	}
	defer it.Close()
	var out []T
	for ok := it.Last(); ok && len(out) < n; ok = it.Prev() {
		e, err := decode(it.Key(), it.Value())
		if err != nil {
			return fail(err)
		}
		out = append(out, e)
	}
	if err := it.Error(); err != nil {
		return fail(err)
	}
	return out, nil
}
