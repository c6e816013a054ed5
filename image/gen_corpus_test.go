package image

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/phoenix-image/phoenix/vm"
)

// TestFuzzCorpusIsCurrent checks that the committed seed corpus in
// testdata/fuzz/FuzzDecodeRecord is what the current encoder produces (so
// the seeds CI runs exercise today's format); PHOENIX_GEN_CORPUS=1 rewrites it.
func TestFuzzCorpusIsCurrent(t *testing.T) {
	regen := os.Getenv("PHOENIX_GEN_CORPUS") == "1"
	dir := filepath.Join("testdata", "fuzz", "FuzzDecodeRecord")
	os.MkdirAll(dir, 0o755)
	write := func(name string, data []byte) {
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", data)
		path := filepath.Join(dir, name)
		if regen {
			if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != body {
			t.Errorf("seed %s is missing or stale (err %v); regenerate with PHOENIX_GEN_CORPUS=1", path, err)
		}
	}
	names := []string{"valid-lobby", "valid-object", "valid-point", "valid-trait", "valid-table"}
	recs := sampleRecords()
	for i, r := range recs {
		write(names[i], EncodeRecord(r))
	}
	write("valid-empty-table", EncodeRecord(&vm.Record{Kind: vm.KindTable}))
	write("valid-numbers", EncodeRecord(&vm.Record{Kind: vm.KindObject, Slots: []vm.Slot{
		{Key: num(math.NaN()), Val: num(math.Inf(-1))}, {Key: num(math.Copysign(0, -1)), Val: num(math.MaxFloat64)},
	}}))
	point := EncodeRecord(recs[2])
	write("corrupt-truncated", point[:len(point)/2])
	write("corrupt-trailing", append(EncodeRecord(recs[3]), 0))
	write("corrupt-kind", []byte{1, 9, 0, 0, 0, 0})
	write("corrupt-version", []byte{7, 1, 0, 0, 0, 0})
	write("corrupt-huge-count", []byte{1, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	write("corrupt-nonminimal", []byte{1, 1, 0x80, 0x00, 0, 0, 0})
	write("corrupt-value-kind", []byte{1, 1, 0, 0, 0, 1, 8, 0})
	write("empty", nil)
}
