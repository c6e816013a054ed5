package image

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/phoenix-image/phoenix/image/exportfmt"
)

// ExportFormat names the export header's format field.
const ExportFormat = "phoenix-image"

// ExportHeader is the JSON header of an export.
type ExportHeader struct {
	Format        string    `json:"format"`
	FormatVersion int       `json:"formatVersion"`
	ExportedAt    time.Time `json:"exportedAt"`
	Records       int64     `json:"records"` // number of o/ keys (objects, tables, traits)
	Source        string    `json:"source"`  // path of the exported image
}

// progressEvery is how often (in bytes of payload) long operations call
// their progress callback.
const progressEvery = 1 << 20

// Export writes every key of the image (meta, records, history, index,
// audit log, approval queue and the agent's memory), in key order, to w in exportfmt format.
// It reads from a consistent Pebble snapshot, so commits made meanwhile
// are not included. progress (may be
// nil) receives the payload bytes (keys plus values) written so far and
// their total, which is exact: Export scans the image once before writing
// to count the records for the header.
func (im *Image) Export(w io.Writer, progress func(done, total int64)) (exportfmt.Summary, error) {
	if err := im.checkOpen("export"); err != nil {
		return exportfmt.Summary{}, err
	}
	snap := im.db.NewSnapshot()
	defer snap.Close()
	fail := func(err error) (exportfmt.Summary, error) {
		return exportfmt.Summary{}, fmt.Errorf("image: export %s: %w", im.path, err)
	}

	// Count records and payload for the header and the progress total.
	var records, total int64
	it, err := snap.NewIter(nil)
	if err != nil {
		return fail(err)
	}
	for it.First(); it.Valid(); it.Next() {
		k := it.Key()
		if bytes.HasPrefix(k, prefixRecord) {
			records++
		}
		total += int64(len(k) + len(it.Value()))
	}
	if err := it.Close(); err != nil {
		return fail(err)
	}

	hdr, _ := json.Marshal(ExportHeader{
		Format: ExportFormat, FormatVersion: FormatVersion,
		ExportedAt: time.Now().UTC(), Records: records, Source: im.path,
	})
	ew, err := exportfmt.NewWriter(w, hdr)
	if err != nil {
		return fail(err)
	}
	it, err = snap.NewIter(nil)
	if err != nil {
		return fail(err)
	}
	defer it.Close()
	var done, last int64
	report(progress, 0, total)
	for it.First(); it.Valid(); it.Next() {
		k, v := it.Key(), it.Value()
		if err := ew.Add(k, v); err != nil {
			return fail(err)
		}
		done += int64(len(k) + len(v))
		if done-last >= progressEvery {
			report(progress, done, total)
			last = done
		}
	}
	if err := it.Error(); err != nil {
		return fail(err)
	}
	sum, err := ew.Close()
	if err != nil {
		return fail(err)
	}
	report(progress, done, total)
	return sum, nil
}

func report(progress func(done, total int64), done, total int64) {
	if progress != nil {
		progress(done, total)
	}
}

// ImportSummary describes a completed Import.
type ImportSummary struct {
	Path    string       // the new image
	Header  ExportHeader // as found in the export
	Records int64        // o/ keys imported
	Keys    int64        // all keys imported
	Bytes   int64        // payload bytes (keys plus values)
	SHA256  [32]byte     // the export's checksum
}

// importBatchSize is how much Import writes per Pebble batch.
const importBatchSize = 4 << 20

// Import creates a new image at destPath (which must not exist) from an
// export read from r. It writes in batches of about 4 MiB; the format
// version key goes in the last batch, after the export's trailer verified,
// and that batch is committed with pebble.Sync. If anything goes wrong —
// a truncated or corrupt export (the error, from exportfmt, names the
// record and byte offset), an export of another format version, a write
// error — Import removes destPath entirely and returns the error.
//
// progress (may be nil) receives the bytes of r consumed and their total:
// the size of r when it is a file or has a Len or Size method, else -1.
func Import(r io.Reader, destPath string, progress func(done, total int64)) (sum *ImportSummary, err error) {
	destPath, err = filepath.Abs(destPath)
	if err != nil {
		return nil, fmt.Errorf("image: %w", err)
	}
	if _, err := os.Lstat(destPath); err == nil {
		return nil, fmt.Errorf("image: import to %s: %w", destPath, ErrExists)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("image: import: %w", err)
	}
	total := readerSize(r)

	er, err := exportfmt.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("image: import to %s: %w", destPath, err)
	}
	var hdr ExportHeader
	if err := json.Unmarshal(er.Header(), &hdr); err != nil {
		return nil, fmt.Errorf("image: import to %s: export header is not valid JSON: %w", destPath, err)
	}
	if hdr.Format != ExportFormat {
		return nil, fmt.Errorf("image: import to %s: export holds %q, not %q", destPath, hdr.Format, ExportFormat)
	}
	if hdr.FormatVersion != FormatVersion {
		return nil, fmt.Errorf("image: import to %s: export is of image format version %d, but this build reads only version %d", destPath, hdr.FormatVersion, FormatVersion)
	}

	if err := os.Mkdir(destPath, 0o755); err != nil {
		return nil, fmt.Errorf("image: import: %w", err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(destPath)
		}
	}()
	sum = &ImportSummary{Path: destPath, Header: hdr}
	var formatValue []byte
	im, err := create(destPath, Options{}, func(*pebble.Batch) error { return nil }, false)
	if err != nil {
		return nil, err
	}
	// Until the format key is written the store is not an image; on any
	// failure the deferred RemoveAll removes it.
	defer func() {
		if cerr := im.Close(); err == nil && cerr != nil {
			err = cerr
		}
	}()
	b := im.db.NewBatch()
	defer func() { b.Close() }()
	var last int64
	report(progress, 0, total)
	for {
		k, v, rerr := er.Next()
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return nil, fmt.Errorf("image: import to %s: %w", destPath, rerr)
		}
		if !knownKey(k) {
			return nil, fmt.Errorf("image: import to %s: export record %d has unknown key %q", destPath, sum.Keys, k)
		}
		sum.Keys++
		sum.Bytes += int64(len(k) + len(v))
		if bytes.HasPrefix(k, prefixRecord) {
			sum.Records++
		}
		if bytes.Equal(k, keyFormat) {
			formatValue = bytes.Clone(v)
			continue
		}
		if err := b.Set(k, v, nil); err != nil {
			return nil, fmt.Errorf("image: import to %s: %w", destPath, err)
		}
		if b.Len() >= importBatchSize {
			if err := b.Commit(pebble.NoSync); err != nil {
				return nil, fmt.Errorf("image: import to %s: %w", destPath, err)
			}
			b.Close()
			b = im.db.NewBatch()
		}
		if off := er.Offset(); off-last >= progressEvery {
			report(progress, off, total)
			last = off
		}
	}
	if sum.Records != hdr.Records {
		return nil, fmt.Errorf("image: import to %s: export header announces %d records but holds %d", destPath, hdr.Records, sum.Records)
	}
	if formatValue == nil {
		return nil, fmt.Errorf("image: import to %s: export has no format version key %q", destPath, keyFormat)
	}
	if err := b.Set(keyFormat, formatValue, nil); err != nil {
		return nil, fmt.Errorf("image: import to %s: %w", destPath, err)
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return nil, fmt.Errorf("image: import to %s: %w", destPath, err)
	}
	if err := im.readMeta(); err != nil {
		return nil, fmt.Errorf("image: import to %s: %w", destPath, err)
	}
	// Flush so that the new image does not start life with a large WAL.
	if err := im.db.Flush(); err != nil {
		return nil, fmt.Errorf("image: import to %s: %w", destPath, err)
	}
	es := er.Summary()
	sum.SHA256 = es.SHA256
	report(progress, er.Offset(), total)
	return sum, nil
}

func knownKey(k []byte) bool {
	for _, p := range [][]byte{prefixMeta, prefixRecord, prefixHistory, prefixUsers, prefixAudit, prefixQueue, prefixPrefs, prefixMemory} {
		if bytes.HasPrefix(k, p) {
			return true
		}
	}
	return false
}

// readerSize returns the size of r's content if it can tell, else -1.
func readerSize(r io.Reader) int64 {
	switch v := r.(type) {
	case interface{ Stat() (fs.FileInfo, error) }:
		if st, err := v.Stat(); err == nil && st.Mode().IsRegular() {
			if s, ok := r.(io.Seeker); ok {
				if off, err := s.Seek(0, io.SeekCurrent); err == nil {
					return st.Size() - off
				}
			}
			return st.Size()
		}
	case interface{ Len() int }:
		return int64(v.Len())
	case interface{ Size() int64 }:
		return v.Size()
	}
	return -1
}
