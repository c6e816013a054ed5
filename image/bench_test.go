package image

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/phoenix-image/phoenix/vm"
)

const benchBatch = 100_000

// smallRecord is a typical small object: a proto and three slots.
func smallRecord(oid vm.OID) *vm.Record {
	return &vm.Record{OID: oid, Kind: vm.KindObject, Proto: 100, Slots: []vm.Slot{
		slot("x", num(float64(oid))), slot("y", num(2.5)), slot("label", str("point")),
	}}
}

func benchRecords(base vm.OID) []*vm.Record {
	recs := make([]*vm.Record, benchBatch)
	for i := range recs {
		recs[i] = smallRecord(base + vm.OID(i))
	}
	return recs
}

// BenchmarkCommitRecords commits 100k new small object records in one
// vm.Batch through (*Image).Commit. Compare with BenchmarkRawPebbleBatch,
// which writes the same keys and encoded bytes with the same Pebble
// options straight into one synced Pebble batch. Both report the payload
// (key+value bytes) as MB/s.
func BenchmarkCommitRecords(b *testing.B) {
	im := newImage(b)
	next := vm.FirstFreeOID
	var payload int64
	for _, r := range benchRecords(next) {
		payload += int64(10 + len(EncodeRecord(r)))
	}
	b.SetBytes(payload)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		batch := &vm.Batch{Puts: benchRecords(next), NextOID: next + benchBatch}
		next += benchBatch
		b.StartTimer()
		if err := im.Commit(batch); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRawPebbleBatch(b *testing.B) {
	dir := b.TempDir()
	db, err := pebble.Open(dir, pebbleOptions(slog.New(slog.DiscardHandler), false))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	next := vm.FirstFreeOID
	var payload int64
	for _, r := range benchRecords(next) {
		payload += int64(10 + len(EncodeRecord(r)))
	}
	b.SetBytes(payload)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		keys := make([][]byte, benchBatch)
		vals := make([][]byte, benchBatch)
		for j, r := range benchRecords(next) {
			keys[j], vals[j] = recordKey(r.OID), EncodeRecord(r)
		}
		next += benchBatch
		b.StartTimer()
		pb := db.NewBatch()
		for j := range keys {
			pb.Set(keys[j], vals[j], nil)
		}
		if err := pb.Commit(pebble.Sync); err != nil {
			b.Fatal(err)
		}
		pb.Close()
	}
}

// The export/import fixture: an image of 1M small records and its export,
// built once per test process under a temp dir removed by TestMain.
var (
	fixtureOnce sync.Once
	fixtureDir  string
	fixtureErr  error
)

const fixtureRecords = 1_000_000

func benchFixture(b *testing.B) (imagePath, exportPath string) {
	fixtureOnce.Do(func() {
		fixtureDir, fixtureErr = os.MkdirTemp("", "phoenix-image-bench-")
		if fixtureErr != nil {
			return
		}
		imagePath := filepath.Join(fixtureDir, "src.image")
		im, err := Create(imagePath, Options{})
		if err != nil {
			fixtureErr = err
			return
		}
		defer im.Close()
		recs := sampleRecords()
		if err := im.Commit(&vm.Batch{Puts: recs}); err != nil {
			fixtureErr = err
			return
		}
		for base := vm.OID(1000); base < 1000+fixtureRecords; base += benchBatch {
			if err := im.Commit(&vm.Batch{Puts: benchRecords(base)}); err != nil {
				fixtureErr = err
				return
			}
		}
		f, err := os.Create(filepath.Join(fixtureDir, "src.export"))
		if err != nil {
			fixtureErr = err
			return
		}
		defer f.Close()
		if _, err := im.Export(f, nil); err != nil {
			fixtureErr = err
		}
	})
	if fixtureErr != nil {
		b.Fatal(fixtureErr)
	}
	return filepath.Join(fixtureDir, "src.image"), filepath.Join(fixtureDir, "src.export")
}

func cleanupBenchFixtures() {
	if fixtureDir != "" {
		os.RemoveAll(fixtureDir)
	}
}

// BenchmarkExport exports a 1M-record image to io.Discard; MB/s is of the
// export file.
func BenchmarkExport(b *testing.B) {
	imagePath, exportPath := benchFixture(b)
	st, err := os.Stat(exportPath)
	if err != nil {
		b.Fatal(err)
	}
	im, err := Open(imagePath, Options{ReadOnly: true})
	if err != nil {
		b.Fatal(err)
	}
	defer im.Close()
	b.SetBytes(st.Size())
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := im.Export(io.Discard, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkImport imports the 1M-record export into a new image; MB/s is
// of the export file.
func BenchmarkImport(b *testing.B) {
	_, exportPath := benchFixture(b)
	st, err := os.Stat(exportPath)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(st.Size())
	dir := b.TempDir()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		f, err := os.Open(exportPath)
		if err != nil {
			b.Fatal(err)
		}
		dest := filepath.Join(dir, "dest.image")
		if _, err := Import(f, dest, nil); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		f.Close()
		os.RemoveAll(dest)
		b.StartTimer()
	}
}
