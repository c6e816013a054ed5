package image

import (
	"bytes"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/phoenix-image/phoenix/vm"
)

// Info describes an image.
type Info struct {
	Path             string
	FormatVersion    int
	Created          time.Time
	NextOID          vm.OID
	Records          int64
	ByKind           map[vm.Kind]int64 // by the kind byte of each record; a corrupt one may show an invalid kind
	HistoryEntries   int64
	AuditEntries     int64 // a/ keys
	PendingApprovals int64 // q/ approvals whose status is pending (corrupt ones are not counted)
	DiskSize         int64 // bytes of PATH/store
	Snapshots        int
	SnapshotsSize    int64 // bytes of PATH/snapshots (hard-linked files counted in full)
}

// Info scans the image and returns its statistics.
func (im *Image) Info() (*Info, error) {
	if err := im.checkOpen("info"); err != nil {
		return nil, err
	}
	in := &Info{
		Path: im.path, FormatVersion: FormatVersion, Created: im.created,
		NextOID: im.NextOID(), ByKind: map[vm.Kind]int64{},
	}
	snap := im.db.NewSnapshot()
	defer snap.Close()
	err := scan(snap, nil, func(k, v []byte) error {
		switch {
		case bytes.HasPrefix(k, prefixRecord):
			in.Records++
			if len(v) >= 2 {
				in.ByKind[vm.Kind(v[1])]++
			} else {
				in.ByKind[0]++
			}
		case bytes.HasPrefix(k, prefixHistory):
			in.HistoryEntries++
		case bytes.HasPrefix(k, prefixAudit):
			in.AuditEntries++
		case bytes.HasPrefix(k, prefixQueue):
			if a, err := decodeApproval(string(k[len(prefixQueue):]), v); err == nil && a.Status == ApprovalPending {
				in.PendingApprovals++
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("image: info %s: %w", im.path, err)
	}
	in.DiskSize = dirSize(storeDir(im.path))
	snaps, err := listSnapshots(im.path)
	if err != nil {
		return nil, err
	}
	in.Snapshots = len(snaps)
	in.SnapshotsSize = dirSize(snapshotsDir(im.path))
	return in, nil
}

// CountRecords counts the image's records (its persistent objects), what
// Info reports as Records, reading only the record keyspace's keys rather
// than every entry of the store.
func (im *Image) CountRecords() (int64, error) {
	if err := im.checkOpen("count the records of"); err != nil {
		return 0, err
	}
	it, err := im.db.NewIter(&pebble.IterOptions{LowerBound: prefixRecord, UpperBound: prefixEnd(prefixRecord)})
	if err != nil {
		return 0, fmt.Errorf("image: records of %s: %w", im.path, err)
	}
	defer it.Close()
	var n int64
	for it.First(); it.Valid(); it.Next() {
		n++
	}
	if err := it.Error(); err != nil {
		return 0, fmt.Errorf("image: records of %s: %w", im.path, err)
	}
	return n, nil
}
