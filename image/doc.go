// Package image stores a Phoenix image on disk: it is the Pebble-backed
// implementation of vm.Store, plus the operations the CLI needs on a whole
// image — locking, snapshots, export/import, verification, garbage
// collection and statistics — and fileout/filein, the image's code as
// readable Lua files (fileout.go).
//
// It may import the standard library, github.com/cockroachdb/pebble/v2,
// image/exportfmt, and package vm: the store uses only vm's persistent
// types (Record, Value, MethodChange, Batch, Store, the well-known OIDs and
// ErrNotFound); fileout/filein work through a running *vm.VM and its
// mirrors, and vm/luasrc to render method headers.
// It draws nothing on a terminal: long operations take a progress callback
// func(done, total int64) and the CLI draws the bars.
//
// # On-disk layout
//
// An image path is a directory:
//
//	PATH/LOCK              flock(LOCK_EX|LOCK_NB) lock file holding the owner's pid
//	PATH/store/            the Pebble database
//	PATH/snapshots/NAME/   a Pebble checkpoint of store/, plus PHOENIX-SNAPSHOT.json
//
// Exactly one process (and within it one *Image) opens an image at a time;
// a second opener gets a *LockedError naming the owner's pid. A snapshot is
// created in snapshots/.tmp-NAME-PID and renamed into place, so a crash
// never leaves a half-made snapshot under a valid name. RestoreSnapshot
// reads only the snapshot directory and so works while the image is open
// elsewhere.
//
// # Key schema (FormatVersion 1)
//
// All integers in keys are 8-byte big-endian so that keys sort numerically.
//
//	m/format                         uvarint FormatVersion
//	m/next                           8-byte BE next OID (first unused)
//	m/hseq                           8-byte BE next history sequence number
//	m/created                        8-byte BE creation time, Unix nanoseconds
//	o/<oid>                          encoded vm.Record (see EncodeRecord)
//	h/<oid><selector>\x00<seq>       encoded vm.MethodChange (see EncodeChange)
//	u/<trait oid><user oid>          empty: user's composition includes trait
//	m/audit-head                     8-byte BE seq + 32-byte hash of the last audit entry
//	a/<seq>                          audit entry (see below), seq 1, 2, 3, ...
//	m/approval-seq                   8-byte BE last approval number assigned (absent = 0)
//	q/<id>                           JSON Approval; id is 1-64 of [A-Za-z0-9._-]
//	m/pref-seq                       8-byte BE last preference seq assigned (absent = 0)
//	p/<seq>                          JSON Preference (preferences.go), seq 1, 2, 3, ...
//	r/<id>                           a memory item of agent/memory (opaque bytes); id as for q/
//	m/memory-gen                     16 random bytes, rewritten with every change to r/ (the memory index cache's check)
//
// History sequence numbers are global to the image and increase with every
// entry committed, so a method's entries sort oldest first. A selector may
// itself contain \x00: a key belongs to selector s exactly when it is
// "h/"+oid+s+"\x00" followed by exactly 8 bytes.
//
// The trait users index u/ is maintained by Commit, which compares each
// put record's Traits with those of the record it replaces. Commit writes
// all records, history entries, index changes and the new m/next and m/hseq
// in one Pebble batch committed with pebble.Sync: a commit is applied
// entirely or not at all. m/next only grows, and Commit keeps it above
// every OID it writes, so "next OID > every OID" always holds.
//
// The audit log (a/, m/audit-head; audit.go) and the approval queue (q/,
// m/approval-seq; approvals.go) are written by their own synced batches,
// never by Commit: they persist even when the VM transaction that led to
// them rolls back. Every audit entry's value is its canonical encoding
// followed by its 32-byte SHA-256 hash, which covers everything before it:
//
//	version 1 byte (1) | seq 8-byte BE | time 8-byte BE Unix nanoseconds |
//	kind, actor, subject, data: each an 8-byte BE length then the bytes |
//	prev hash 32 bytes | hash 32 bytes
//
// Each entry's prev is the hash of the entry before (zeros for seq 1), and
// AppendAudit writes the entry and the new head in one batch, so
// VerifyAudit detects a modified, deleted, reordered or inserted entry and
// a truncated end; a consistent rewrite of the whole chain and its head
// can only be detected against a copy of the head kept elsewhere. GC
// leaves a/ and q/ alone; Export and Import carry them. Approval ids the
// image assigns are "a" followed by the approval number.
//
// An Import writes m/format last, in its final synced batch: a directory
// left behind by a crashed import is refused by Open.
//
// # Record encoding
//
// See EncodeRecord and EncodeChange: a version byte, then uvarints,
// uvarint-length-prefixed strings and little-endian float64 bits. The
// encoding is canonical (the decoder rejects non-minimal uvarints, unknown
// kinds and trailing bytes), so decoding and re-encoding gives the same
// bytes back.
package image
