package tests

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/cockroachdb/pebble/v2"

	"github.com/phoenix-image/phoenix/bootstrap"
	"github.com/phoenix-image/phoenix/image"
	"github.com/phoenix-image/phoenix/vm"
)

// Whole-stack benchmarks for the anchors of issue 1 of 5; make bench runs
// them side by side and tests/benchreport prints the ratios.

const commitN = 100000

// captureStore records the batch a VM commits, to replay its bytes raw.
type captureStore struct {
	vm.Store
	last *vm.Batch
}

func (c *captureStore) Commit(b *vm.Batch) error { c.last = b; return c.Store.Commit(b) }

// BenchmarkCommitPhoenix100k times the commit of 100k small new objects
// (each a clone of Item with two slots, held in a table): finding what
// changed, encoding, and one synced Pebble batch. Creating the objects in
// Lua is not timed.
func BenchmarkCommitPhoenix100k(b *testing.B) {
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		dir := b.TempDir()
		s, err := bootstrap.NewImage(ctx, filepath.Join(dir, "c.image"), bootstrap.Options{})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.VM.Eval(ctx, `Item = Object:clone()`, vm.EvalOptions{}); err != nil {
			b.Fatal(err)
		}
		err = s.VM.Do(ctx, vm.TxOptions{}, func() error {
			_, err := s.VM.Eval(ctx, fmt.Sprintf(`Batch = {}
for i = 1, %d do local o = Item:clone(); o.i = i; o.name = "item"; Batch[i] = o end`, commitN), vm.EvalOptions{NoExpr: true})
			b.StartTimer()
			return err
		})
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		s.Close()
		os.RemoveAll(dir)
	}
	b.ReportMetric(commitN, "objects/op")
}

var rawFixture struct {
	once sync.Once
	keys [][]byte
	vals [][]byte
	err  error
}

// BenchmarkCommitRawPebble100k writes the very bytes Phoenix commits for
// the same 100k objects (captured once) in one raw, synced Pebble batch.
func BenchmarkCommitRawPebble100k(b *testing.B) {
	ctx := context.Background()
	rawFixture.once.Do(func() {
		st := &captureStore{Store: vm.NewMemStore()}
		v, err := bootstrap.Genesis(ctx, vm.Options{Store: st})
		if err != nil {
			rawFixture.err = err
			return
		}
		defer v.Close()
		v.Eval(ctx, `Item = Object:clone()`, vm.EvalOptions{})
		_, err = v.Eval(ctx, fmt.Sprintf(`Batch = {}
for i = 1, %d do local o = Item:clone(); o.i = i; o.name = "item"; Batch[i] = o end`, commitN), vm.EvalOptions{NoExpr: true})
		if err != nil {
			rawFixture.err = err
			return
		}
		for _, r := range st.last.Puts {
			k := binary.BigEndian.AppendUint64([]byte("o/"), uint64(r.OID))
			rawFixture.keys = append(rawFixture.keys, k)
			rawFixture.vals = append(rawFixture.vals, image.EncodeRecord(r))
		}
	})
	if rawFixture.err != nil {
		b.Fatal(rawFixture.err)
	}
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		dir := b.TempDir()
		db, err := pebble.Open(dir, &pebble.Options{MemTableSize: 64 << 20, Logger: quietLogger{}})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		batch := db.NewBatch()
		for j := range rawFixture.keys {
			batch.Set(rawFixture.keys[j], rawFixture.vals[j], nil)
		}
		if err := batch.Commit(pebble.Sync); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		db.Close()
		os.RemoveAll(dir)
	}
	b.ReportMetric(float64(len(rawFixture.keys)), "objects/op")
}

// bigImage builds (once per process) an image with n Item objects reachable
// from the Lobby as Items[page][i], pages of 1000. The records are written
// straight through the store, in the form the VM writes them.
func bigImage(b *testing.B, n int) string {
	b.Helper()
	bigImages.Lock()
	defer bigImages.Unlock()
	if p, ok := bigImages.m[n]; ok {
		return p
	}
	dir, err := os.MkdirTemp("", fmt.Sprintf("phoenix-bench-%d-", n))
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(dir, "big.image")
	ctx := context.Background()
	s, err := bootstrap.NewImage(ctx, path, bootstrap.Options{})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.VM.Eval(ctx, `Item = Object:clone(); Item.kind = "item"`, vm.EvalOptions{}); err != nil {
		b.Fatal(err)
	}
	item := s.VM.Global("Item").OID()
	s.Close()
	im, err := image.Open(path, image.Options{})
	if err != nil {
		b.Fatal(err)
	}
	next := im.NextOID()
	const page = 1000
	pages := (n + page - 1) / page
	top := &vm.Record{OID: next, Kind: vm.KindTable}
	next++
	batch := &vm.Batch{}
	flush := func(force bool) {
		if len(batch.Puts) >= 100000 || force && len(batch.Puts) > 0 {
			batch.NextOID = next
			if err := im.Commit(batch); err != nil {
				b.Fatal(err)
			}
			batch = &vm.Batch{}
		}
	}
	made := 0
	for p := 0; p < pages; p++ {
		pg := &vm.Record{OID: next, Kind: vm.KindTable}
		next++
		top.Slots = append(top.Slots, vm.Slot{Key: vm.Value{Kind: vm.VNumber, Num: float64(p + 1)}, Val: vm.Value{Kind: vm.VRef, Ref: pg.OID}})
		for i := 0; i < page && made < n; i++ {
			o := &vm.Record{OID: next, Kind: vm.KindObject, Proto: item, Slots: []vm.Slot{
				{Key: vm.Value{Kind: vm.VString, Str: "i"}, Val: vm.Value{Kind: vm.VNumber, Num: float64(made + 1)}},
			}}
			next++
			made++
			pg.Slots = append(pg.Slots, vm.Slot{Key: vm.Value{Kind: vm.VNumber, Num: float64(i + 1)}, Val: vm.Value{Kind: vm.VRef, Ref: o.OID}})
			batch.Puts = append(batch.Puts, o)
		}
		batch.Puts = append(batch.Puts, pg)
		flush(false)
	}
	batch.Puts = append(batch.Puts, top)
	lobby, err := im.Load(vm.LobbyOID)
	if err != nil {
		b.Fatal(err)
	}
	lobby.Slots = append(lobby.Slots, vm.Slot{Key: vm.Value{Kind: vm.VString, Str: "Items"}, Val: vm.Value{Kind: vm.VRef, Ref: top.OID}})
	batch.Puts = append(batch.Puts, lobby)
	flush(true)
	if err := im.Close(); err != nil {
		b.Fatal(err)
	}
	bigImages.m[n] = path
	return path
}

var bigImages = struct {
	sync.Mutex
	m map[int]string
}{m: map[int]string{}}

func benchOpenEval(b *testing.B, n int) {
	path := bigImage(b, n)
	ctx := context.Background()
	mid := n / 2
	expr := fmt.Sprintf("return Items[%d][%d].i", mid/1000+1, mid%1000+1)
	b.ResetTimer()
	var loaded int
	for i := 0; i < b.N; i++ {
		s, err := bootstrap.Open(ctx, path, bootstrap.Options{})
		if err != nil {
			b.Fatal(err)
		}
		res, err := s.VM.Eval(ctx, expr, vm.EvalOptions{Print: true})
		if err != nil {
			b.Fatal(err)
		}
		if res.Strings[0] != fmt.Sprint(mid+1) {
			b.Fatalf("got %s", res.Strings[0])
		}
		loaded, _ = s.VM.Loaded()
		b.StopTimer()
		s.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(loaded), "loaded-objects")
}

func BenchmarkOpenEval10k(b *testing.B) { benchOpenEval(b, 10000) }
func BenchmarkOpenEval1M(b *testing.B)  { benchOpenEval(b, 1000000) }

func benchExportImport(b *testing.B, n int, doImport bool) {
	path := bigImage(b, n)
	dir := b.TempDir()
	file := filepath.Join(dir, "x.phx")
	exportOnce := func() int64 {
		im, err := image.Open(path, image.Options{})
		if err != nil {
			b.Fatal(err)
		}
		defer im.Close()
		f, err := os.Create(file)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		sum, err := im.Export(f, nil)
		if err != nil {
			b.Fatal(err)
		}
		return sum.Bytes
	}
	size := exportOnce()
	b.SetBytes(size)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if !doImport {
			exportOnce()
			continue
		}
		dest := filepath.Join(dir, fmt.Sprintf("imp%d.image", i))
		f, err := os.Open(file)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := image.Import(f, dest, nil); err != nil {
			b.Fatal(err)
		}
		f.Close()
		b.StopTimer()
		os.RemoveAll(dest)
		b.StartTimer()
	}
}

func BenchmarkExport1M(b *testing.B) { benchExportImport(b, 1000000, false) }
func BenchmarkImport1M(b *testing.B) { benchExportImport(b, 1000000, true) }

type quietLogger struct{}

func (quietLogger) Infof(string, ...any)  {}
func (quietLogger) Errorf(string, ...any) {}
func (quietLogger) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf(format, args...))
}
