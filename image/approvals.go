package image

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// Approval statuses.
const (
	ApprovalPending  = "pending"
	ApprovalApproved = "approved"
	ApprovalRejected = "rejected"
	ApprovalExpired  = "expired"
)

var (
	// ErrNoApproval is wrapped when an approval id names no approval.
	ErrNoApproval = errors.New("no such approval")
	// ErrNotPending is wrapped when an approval that is no longer
	// pending is decided or changed.
	ErrNotPending = errors.New("approval is not pending")
)

// Approval is one entry of the image's approval queue: a proposal (for
// example a method change by the agent) waiting for, or having received, a
// human decision. Like the audit log, the queue lives outside the VM's
// transactions. It is stored as JSON under q/<ID>.
type Approval struct {
	ID        string          `json:"id"`      // short, human-typable: "a1", "a2", ... when the image assigns it
	Created   time.Time       `json:"created"` // UTC
	Status    string          `json:"status"`  // ApprovalPending, ApprovalApproved, ApprovalRejected, ApprovalExpired
	Object    string          `json:"object,omitempty"`
	Selector  string          `json:"selector,omitempty"`
	Data      json.RawMessage `json:"data,omitempty"` // the proposal; opaque to the image, valid JSON
	Decided   time.Time       `json:"decided,omitzero"`
	DecidedBy string          `json:"decidedBy,omitempty"`
	Note      string          `json:"note,omitempty"`
}

// maxApprovalID is the longest approval id accepted.
const maxApprovalID = 64

// checkApprovalID accepts 1 to 64 bytes of ASCII letters, digits, '.', '_'
// and '-'.
func checkApprovalID(id string) error {
	if id == "" || len(id) > maxApprovalID {
		return fmt.Errorf("image: approval id %q: must be 1 to %d characters", id, maxApprovalID)
	}
	for _, c := range []byte(id) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("image: approval id %q: only letters, digits, '.', '_' and '-' are allowed", id)
		}
	}
	return nil
}

func validApprovalStatus(s string) bool {
	switch s {
	case ApprovalPending, ApprovalApproved, ApprovalRejected, ApprovalExpired:
		return true
	}
	return false
}

func decodeApproval(id string, v []byte) (*Approval, error) {
	a := &Approval{}
	if err := json.Unmarshal(v, a); err != nil {
		return nil, fmt.Errorf("approval %q: corrupt: %w", id, err)
	}
	if a.ID != id {
		return nil, fmt.Errorf("approval %q: corrupt: records id %q", id, a.ID)
	}
	if !validApprovalStatus(a.Status) {
		return nil, fmt.Errorf("approval %q: corrupt: invalid status %q", id, a.Status)
	}
	return a, nil
}

// loadApproval returns the approval id, or nil if there is none.
func loadApproval(r pebble.Reader, id string) (*Approval, error) {
	v, c, err := r.Get(approvalKey(id))
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("approval %q: %w", id, err)
	}
	defer c.Close()
	return decodeApproval(id, v)
}

func utc(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.Round(0).UTC()
}

func now() time.Time { return time.Now().Round(0).UTC() }

// PutApproval stores an approval with pebble.Sync and returns it as
// stored (Data compacted, times in UTC); a itself is not modified.
//
// If a.ID is empty the image assigns the next free id "a1", "a2", ...
// (counted by m/approval-seq); otherwise a.ID (1 to 64 letters, digits,
// '.', '_', '-') is used, creating the approval or replacing it. An empty
// Status means pending. A new approval's Created defaults to now; a
// replaced one keeps its original Created.
//
// Only a pending approval can be replaced, and Put writes only the
// statuses pending (which clears Decided and DecidedBy) and expired
// (which sets Decided to now if it is zero): approving and rejecting go through DecideApproval, and a decided
// approval never changes. Anything else is refused, wrapping ErrNotPending
// when the stored approval is no longer pending.
func (im *Image) PutApproval(a *Approval) (*Approval, error) {
	if a == nil {
		return nil, errors.New("image: put approval: nil approval")
	}
	n := *a
	n.Created, n.Decided = utc(n.Created), utc(n.Decided)
	if n.Status == "" {
		n.Status = ApprovalPending
	}
	if len(n.Data) > 0 {
		var buf bytes.Buffer
		if err := json.Compact(&buf, n.Data); err != nil {
			return nil, fmt.Errorf("image: put approval %q: data is not valid JSON: %w", n.ID, err)
		}
		n.Data = buf.Bytes()
	}
	switch n.Status {
	case ApprovalPending:
		n.Decided, n.DecidedBy = time.Time{}, ""
	case ApprovalExpired:
		if n.Decided.IsZero() {
			n.Decided = now()
		}
	case ApprovalApproved, ApprovalRejected:
		return nil, fmt.Errorf("image: put approval %q: status %q is set by DecideApproval", n.ID, n.Status)
	default:
		return nil, fmt.Errorf("image: put approval %q: invalid status %q", n.ID, n.Status)
	}
	if n.ID != "" {
		if err := checkApprovalID(n.ID); err != nil {
			return nil, err
		}
	}

	im.mu.Lock()
	defer im.mu.Unlock()
	if err := im.checkWritable("put approval in"); err != nil {
		return nil, err
	}
	fail := func(err error) (*Approval, error) {
		return nil, fmt.Errorf("image: put approval in %s: %w", im.path, err)
	}
	b := im.db.NewBatch()
	defer b.Close()
	if n.ID == "" {
		seq, err := im.approvalSeq()
		if err != nil {
			return fail(err)
		}
		for {
			seq++
			n.ID = "a" + strconv.FormatUint(seq, 10)
			old, err := loadApproval(im.db, n.ID)
			if err != nil {
				return fail(err)
			}
			if old == nil {
				break // a caller may have used the id itself
			}
		}
		b.Set(keyApprovalSeq, u64(seq), nil)
		if n.Created.IsZero() {
			n.Created = now()
		}
	} else {
		old, err := loadApproval(im.db, n.ID)
		if err != nil {
			return fail(err)
		}
		switch {
		case old == nil:
			if n.Created.IsZero() {
				n.Created = now()
			}
		case old.Status != ApprovalPending:
			return nil, fmt.Errorf("image: put approval %q: it is %s: %w", n.ID, old.Status, ErrNotPending)
		default:
			n.Created = old.Created
		}
	}
	if err := im.writeApproval(b, &n); err != nil {
		return fail(err)
	}
	return &n, nil
}

// approvalSeq returns the last assigned approval sequence number (0 if
// none). Called with mu held.
func (im *Image) approvalSeq() (uint64, error) {
	v, err := im.get(keyApprovalSeq)
	if errors.Is(err, pebble.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("corrupt %s (%d bytes, want 8)", keyApprovalSeq, len(v))
	}
	return binary.BigEndian.Uint64(v), nil
}

// writeApproval adds a to b and commits b with pebble.Sync.
func (im *Image) writeApproval(b *pebble.Batch, a *Approval) error {
	v, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("approval %q: %w", a.ID, err)
	}
	b.Set(approvalKey(a.ID), v, nil)
	return b.Commit(pebble.Sync)
}

// GetApproval returns the approval id, or an error wrapping ErrNoApproval
// naming id.
func (im *Image) GetApproval(id string) (*Approval, error) {
	if err := im.checkOpen("read approvals of"); err != nil {
		return nil, err
	}
	if err := checkApprovalID(id); err != nil {
		return nil, fmt.Errorf("%w: %w", err, ErrNoApproval)
	}
	a, err := loadApproval(im.db, id)
	if err != nil {
		return nil, fmt.Errorf("image: %w", err)
	}
	if a == nil {
		return nil, fmt.Errorf("image: approval %q: %w", id, ErrNoApproval)
	}
	return a, nil
}

// Approvals lists the approvals with the given status ("" for all),
// oldest first (by Created, then by id with "a9" before "a10"). A corrupt
// approval is an error naming it.
func (im *Image) Approvals(status string) ([]*Approval, error) {
	if status != "" && !validApprovalStatus(status) {
		return nil, fmt.Errorf("image: approvals: invalid status %q", status)
	}
	if err := im.checkOpen("read approvals of"); err != nil {
		return nil, err
	}
	var out []*Approval
	err := scan(im.db, &pebble.IterOptions{LowerBound: prefixQueue, UpperBound: prefixEnd(prefixQueue)}, func(k, v []byte) error {
		a, err := decodeApproval(string(k[len(prefixQueue):]), v)
		if err != nil {
			return err
		}
		if status == "" || a.Status == status {
			out = append(out, a)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("image: approvals of %s: %w", im.path, err)
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if !a.Created.Equal(b.Created) {
			return a.Created.Before(b.Created)
		}
		if len(a.ID) != len(b.ID) {
			return len(a.ID) < len(b.ID)
		}
		return a.ID < b.ID
	})
	return out, nil
}

// DecideApproval records a human's decision on a pending approval: status
// must be ApprovalApproved or ApprovalRejected and by must not be empty.
// Decided is set to now; the write is synced. An approval that is not
// pending is refused with an error naming id and its current status and
// wrapping ErrNotPending; an unknown id wraps ErrNoApproval.
func (im *Image) DecideApproval(id, status, by, note string) (*Approval, error) {
	if status != ApprovalApproved && status != ApprovalRejected {
		return nil, fmt.Errorf("image: decide approval %q: status %q: must be %q or %q", id, status, ApprovalApproved, ApprovalRejected)
	}
	if by == "" {
		return nil, fmt.Errorf("image: decide approval %q: who decided must be given", id)
	}
	if err := checkApprovalID(id); err != nil {
		return nil, fmt.Errorf("%w: %w", err, ErrNoApproval)
	}
	im.mu.Lock()
	defer im.mu.Unlock()
	if err := im.checkWritable("decide approval in"); err != nil {
		return nil, err
	}
	a, err := loadApproval(im.db, id)
	if err != nil {
		return nil, fmt.Errorf("image: %w", err)
	}
	if a == nil {
		return nil, fmt.Errorf("image: decide approval %q: %w", id, ErrNoApproval)
	}
	if a.Status != ApprovalPending {
		return nil, fmt.Errorf("image: decide approval %q: it is %s: %w", id, a.Status, ErrNotPending)
	}
	a.Status, a.Decided, a.DecidedBy, a.Note = status, now(), by, note
	b := im.db.NewBatch()
	defer b.Close()
	if err := im.writeApproval(b, a); err != nil {
		return nil, fmt.Errorf("image: decide approval in %s: %w", im.path, err)
	}
	return a, nil
}
