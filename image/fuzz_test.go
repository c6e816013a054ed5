package image

import (
	"bytes"
	"testing"
)

// FuzzDecodeRecord checks that DecodeRecord never panics and that whatever
// decodes re-encodes to the same bytes (the encoding is canonical), which
// in turn decode to an equal record.
func FuzzDecodeRecord(f *testing.F) {
	for _, r := range sampleRecords() {
		f.Add(EncodeRecord(r))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := DecodeRecord(42, data)
		if err != nil {
			if r != nil {
				t.Fatal("record and error both returned")
			}
			return
		}
		enc := EncodeRecord(r)
		if !bytes.Equal(enc, data) {
			t.Fatalf("re-encoding differs:\n in  %x\n out %x", data, enc)
		}
		r2, err := DecodeRecord(42, enc)
		if err != nil {
			t.Fatalf("re-encoded record does not decode: %v", err)
		}
		if !sameRecord(r, r2) {
			t.Fatalf("re-decoded record differs: %+v vs %+v", r, r2)
		}
	})
}

// FuzzDecodeChange checks the same for method changes.
func FuzzDecodeChange(f *testing.F) {
	f.Add(EncodeChange(&testChange))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := DecodeChange(42, data)
		if err != nil {
			return
		}
		if enc := EncodeChange(c); !bytes.Equal(enc, data) {
			t.Fatalf("re-encoding differs:\n in  %x\n out %x", data, enc)
		}
	})
}
