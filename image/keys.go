package image

import (
	"bytes"
	"encoding/binary"

	"github.com/phoenix-image/phoenix/vm"
)

// Key prefixes and meta keys (see the package comment).
var (
	prefixMeta    = []byte("m/")
	prefixRecord  = []byte("o/")
	prefixHistory = []byte("h/")
	prefixUsers   = []byte("u/")
	prefixAudit   = []byte("a/")
	prefixQueue   = []byte("q/")
	prefixPrefs   = []byte("p/") // preferences (preferences.go)

	keyFormat  = []byte("m/format")
	keyNext    = []byte("m/next")
	keyHSeq    = []byte("m/hseq")
	keyCreated = []byte("m/created")

	keyAuditHead   = []byte("m/audit-head")
	keyApprovalSeq = []byte("m/approval-seq")
	keyPrefSeq     = []byte("m/pref-seq")
)

func recordKey(oid vm.OID) []byte {
	return appendRecordKey(make([]byte, 0, 10), oid)
}

func appendRecordKey(dst []byte, oid vm.OID) []byte {
	return binary.BigEndian.AppendUint64(append(dst, 'o', '/'), uint64(oid))
}

// parseRecordKey returns the OID of an o/ key.
func parseRecordKey(k []byte) (vm.OID, bool) {
	if len(k) != 10 || !bytes.HasPrefix(k, prefixRecord) {
		return 0, false
	}
	return vm.OID(binary.BigEndian.Uint64(k[2:])), true
}

// historyPrefix is the prefix of all history keys of one method.
func historyPrefix(owner vm.OID, sel string) []byte {
	b := make([]byte, 0, 11+len(sel)+8)
	b = binary.BigEndian.AppendUint64(append(b, 'h', '/'), uint64(owner))
	b = append(b, sel...)
	return append(b, 0)
}

func historyKey(owner vm.OID, sel string, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(historyPrefix(owner, sel), seq)
}

// historyOwnerPrefix is the prefix of all history keys of one object.
func historyOwnerPrefix(owner vm.OID) []byte {
	return binary.BigEndian.AppendUint64(append(make([]byte, 0, 10), 'h', '/'), uint64(owner))
}

// parseHistoryKey splits an h/ key into owner, selector and sequence.
func parseHistoryKey(k []byte) (owner vm.OID, sel string, seq uint64, ok bool) {
	if len(k) < 2+8+1+8 || !bytes.HasPrefix(k, prefixHistory) || k[len(k)-9] != 0 {
		return 0, "", 0, false
	}
	return vm.OID(binary.BigEndian.Uint64(k[2:10])), string(k[10 : len(k)-9]), binary.BigEndian.Uint64(k[len(k)-8:]), true
}

func usersKey(trait, user vm.OID) []byte {
	b := make([]byte, 0, 18)
	b = binary.BigEndian.AppendUint64(append(b, 'u', '/'), uint64(trait))
	return binary.BigEndian.AppendUint64(b, uint64(user))
}

func usersPrefix(trait vm.OID) []byte {
	return binary.BigEndian.AppendUint64(append(make([]byte, 0, 10), 'u', '/'), uint64(trait))
}

func parseUsersKey(k []byte) (trait, user vm.OID, ok bool) {
	if len(k) != 18 || !bytes.HasPrefix(k, prefixUsers) {
		return 0, 0, false
	}
	return vm.OID(binary.BigEndian.Uint64(k[2:10])), vm.OID(binary.BigEndian.Uint64(k[10:])), true
}

func auditKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64(append(make([]byte, 0, 10), 'a', '/'), seq)
}

// parseAuditKey returns the sequence number of an a/ key.
func parseAuditKey(k []byte) (uint64, bool) {
	if len(k) != 10 || !bytes.HasPrefix(k, prefixAudit) {
		return 0, false
	}
	return binary.BigEndian.Uint64(k[2:]), true
}

func approvalKey(id string) []byte {
	return append(append(make([]byte, 0, 2+len(id)), 'q', '/'), id...)
}

// prefixEnd returns the first key after every key with prefix p.
func prefixEnd(p []byte) []byte {
	end := bytes.Clone(p)
	for i := len(end) - 1; i >= 0; i-- {
		end[i]++
		if end[i] != 0 {
			return end[:i+1]
		}
	}
	return nil // p is all 0xff: no upper bound
}

func u64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }
