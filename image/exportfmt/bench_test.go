package exportfmt

import (
	"bytes"
	"encoding/binary"
	"io"
	"testing"
)

// The target workload: 1M records of about 100 bytes (20-byte key, 80-byte
// value), as in a large image.
const (
	benchRecords = 1 << 20
	benchKeyLen  = 20
	benchValLen  = 80
)

func benchRecordsInto(w *Writer, b *testing.B) {
	key := make([]byte, benchKeyLen)
	val := bytes.Repeat([]byte("value-bytes-"), benchValLen/12+1)[:benchValLen]
	copy(key, "image/object/")
	for i := range benchRecords {
		binary.BigEndian.PutUint64(key[benchKeyLen-8:], uint64(i))
		binary.LittleEndian.PutUint32(val, uint32(i))
		if err := w.Add(key, val); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWrite(b *testing.B) {
	b.SetBytes(benchRecords * (benchKeyLen + benchValLen))
	b.ReportAllocs()
	for b.Loop() {
		w, err := NewWriter(io.Discard, []byte(`{"bench":true}`))
		if err != nil {
			b.Fatal(err)
		}
		benchRecordsInto(w, b)
		if _, err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRead(b *testing.B) {
	var buf bytes.Buffer
	w, err := NewWriter(&buf, []byte(`{"bench":true}`))
	if err != nil {
		b.Fatal(err)
	}
	benchRecordsInto(w, b)
	if _, err := w.Close(); err != nil {
		b.Fatal(err)
	}
	data := buf.Bytes()
	b.SetBytes(benchRecords * (benchKeyLen + benchValLen))
	b.ReportAllocs()
	for b.Loop() {
		r, err := NewReader(bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for {
			_, _, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != benchRecords {
			b.Fatalf("read %d records", n)
		}
	}
	b.ReportMetric(float64(len(data))/benchRecords, "file-bytes/record")
}
