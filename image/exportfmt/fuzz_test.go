package exportfmt

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
)

var genCorpus = flag.Bool("gen-fuzz-corpus", false, "rewrite testdata/fuzz/FuzzReader seed corpus")

// fuzzSeeds returns named seed inputs: small valid exports and corruptions.
func fuzzSeeds(t testing.TB) map[string][]byte {
	empty, _ := writeExport(t, nil, nil)
	one, _ := writeExport(t, []byte(`{"image":"seed"}`), []kv{{[]byte("key"), []byte("value")}})
	three, _ := writeExport(t, []byte("h"), []kv{
		{[]byte("a"), []byte("1")},
		{nil, nil},
		{[]byte("c"), bytes.Repeat([]byte{0xAB}, 150)},
	})
	small := smallExport(t)

	flip := func(b []byte, i int, mask byte) []byte { b = bytes.Clone(b); b[i] ^= mask; return b }
	return map[string][]byte{
		"valid-empty":        empty,
		"valid-one":          one,
		"valid-three":        three,
		"valid-small":        small,
		"truncated-record":   three[:len(three)-50],
		"truncated-trailer":  one[:len(one)-1],
		"truncated-magic":    one[:7],
		"bitflip-record":     flip(three, len(prologue(1, []byte("h")))+2, 0x01),
		"bitflip-header":     flip(one, 20, 0x40),
		"bitflip-sha":        flip(empty, len(empty)-3, 0x80),
		"trailing-garbage":   append(bytes.Clone(one), 0),
		"wrong-version":      finish(prologue(2, nil), 0, 0),
		"not-export":         []byte("PK\x03\x04 definitely a zip file"),
		"non-minimal-varint": finish(cat(prologue(1, nil), record([]byte{0x81, 0x00}, []byte("k"), uv(1), []byte("v"))), 1, 2),
		"huge-value-length":  cat(prologue(1, nil), []byte{1}, uv(1), []byte("k"), uv(MaxValueSize), []byte("short")),
		"count-mismatch":     finish(cat(prologue(1, nil), rec("k", "v")), 2, 2),
		"bad-kind":           finish(cat(prologue(1, nil), []byte{7}), 0, 0),
		"two-exports-concat": cat(empty, one),
	}
}

// TestFuzzCorpusIsCurrent checks that the committed seed corpus matches
// the seeds the current Writer produces; -gen-fuzz-corpus rewrites it.
func TestFuzzCorpusIsCurrent(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzReader")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range fuzzSeeds(t) {
		content := fmt.Sprintf("go test fuzz v1\n[]byte(%s)\n", strconv.Quote(string(data)))
		path := filepath.Join(dir, name)
		if *genCorpus {
			if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != content {
			t.Errorf("seed %s is missing or stale (err %v); regenerate with -gen-fuzz-corpus", path, err)
		}
	}
}

// FuzzReader checks that the Reader never panics or reports io.EOF for a
// bad input, classifies every error, and that any input it accepts is
// exactly what a Writer produces for the same header and records.
func FuzzReader(f *testing.F) {
	seeds := fuzzSeeds(f)
	for _, name := range slices.Sorted(maps.Keys(seeds)) {
		f.Add(seeds[name])
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		header, recs, s, err := readExport(data)
		if err != nil {
			var ve *VersionError
			switch {
			case errors.Is(err, io.EOF):
				t.Fatalf("error matches io.EOF: %v", err)
			case errors.Is(err, ErrCorrupt), errors.Is(err, ErrTruncated), errors.Is(err, ErrNotExport), errors.As(err, &ve):
			default:
				t.Fatalf("unclassified error: %v", err)
			}
			return
		}
		again, s2 := writeExport(t, header, recs)
		if !bytes.Equal(again, data) {
			t.Fatalf("accepted input does not round-trip:\n in  %q\n out %q", data, again)
		}
		if s != s2 {
			t.Fatalf("summary %+v, rewritten %+v", s, s2)
		}
	})
}
