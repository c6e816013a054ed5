package exportfmt

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
)

type kv struct{ k, v []byte }

// writeExport encodes header and recs with a Writer.
func writeExport(t testing.TB, header []byte, recs []kv) ([]byte, Summary) {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(&buf, header)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if err := w.Add(r.k, r.v); err != nil {
			t.Fatal(err)
		}
	}
	s, err := w.Close()
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), s
}

// readExport decodes data completely. It fails the test if the Reader
// misbehaves in a way that is never allowed (io.EOF before verification is
// checked by callers via err).
func readExport(data []byte) (header []byte, recs []kv, s Summary, err error) {
	r, err := NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, nil, Summary{}, err
	}
	for {
		k, v, err := r.Next()
		if err == io.EOF {
			if r.Offset() != int64(len(data)) {
				return nil, nil, Summary{}, fmt.Errorf("EOF at offset %d of %d", r.Offset(), len(data))
			}
			return r.Header(), recs, r.Summary(), nil
		}
		if err != nil {
			return r.Header(), recs, Summary{}, err
		}
		recs = append(recs, kv{bytes.Clone(k), bytes.Clone(v)})
	}
}

func randBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

func smallExport(t testing.TB) []byte {
	data, _ := writeExport(t, []byte(`{"image":"test"}`), []kv{
		{[]byte("a"), []byte("alpha")},
		{[]byte(""), []byte("empty key")},
		{[]byte("empty value"), nil},
		{[]byte("k\x00\xff"), bytes.Repeat([]byte("v"), 200)},
		{[]byte("last"), []byte("z")},
	})
	return data
}

func TestRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	many := make([]kv, 10000)
	for i := range many {
		many[i] = kv{[]byte(fmt.Sprintf("key/%08d", i)), randBytes(rng, rng.IntN(300))}
	}
	cases := []struct {
		name   string
		header []byte
		recs   []kv
	}{
		{"empty", nil, nil},
		{"header only", []byte(`{"name":"img"}`), nil},
		{"one", []byte("h"), []kv{{[]byte("k"), []byte("v")}}},
		{"empty key and value", nil, []kv{{nil, nil}, {[]byte{}, []byte{}}}},
		{"many", []byte("many"), many},
		{"large", bytes.Repeat([]byte("H"), 100000), []kv{
			{bytes.Repeat([]byte("K"), MaxKeySize), []byte("max key")},
			{[]byte("around small-record limit"), randBytes(rng, smallRecord-30)},
			{[]byte("just over small-record limit"), randBytes(rng, smallRecord+1)},
			{[]byte("8MiB"), randBytes(rng, 8<<20)},
			{[]byte("after"), []byte("large")},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			data, ws := writeExport(t, c.header, c.recs)
			h, recs, rs, err := readExport(data)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(h, c.header) {
				t.Errorf("header = %q, want %q", h, c.header)
			}
			if len(recs) != len(c.recs) {
				t.Fatalf("got %d records, want %d", len(recs), len(c.recs))
			}
			var payload int64
			for i := range recs {
				if !bytes.Equal(recs[i].k, c.recs[i].k) || !bytes.Equal(recs[i].v, c.recs[i].v) {
					t.Fatalf("record %d differs", i)
				}
				payload += int64(len(c.recs[i].k) + len(c.recs[i].v))
			}
			if rs != ws {
				t.Errorf("reader summary %+v != writer summary %+v", rs, ws)
			}
			if ws.Records != int64(len(c.recs)) || ws.Bytes != payload || ws.SHA256 != sha256.Sum256(data[:len(data)-32]) {
				t.Errorf("bad summary %+v", ws)
			}
			if !bytes.Equal(data[len(data)-32:], ws.SHA256[:]) {
				t.Errorf("file does not end with summary SHA256")
			}
		})
	}
}

// --- hand encoding per the format description in doc.go ---

func uv(x uint64) []byte { return binary.AppendUvarint(nil, x) }

func withCRC(b []byte) []byte {
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli)))
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func prologue(version uint64, header []byte) []byte {
	return withCRC(cat([]byte(magic), uv(version), uv(uint64(len(header))), header))
}

func record(klenEnc, key, vlenEnc, val []byte) []byte {
	return withCRC(cat([]byte{1}, klenEnc, key, vlenEnc, val))
}

func rec(key, val string) []byte {
	return record(uv(uint64(len(key))), []byte(key), uv(uint64(len(val))), []byte(val))
}

// finish appends a trailer with the given count and payload to body.
func finish(body []byte, count, payload uint64) []byte {
	b := cat(body, []byte{0}, uv(count), binary.LittleEndian.AppendUint64(nil, payload))
	sum := sha256.Sum256(b)
	return append(b, sum[:]...)
}

func TestFormatMatchesDoc(t *testing.T) {
	got, _ := writeExport(t, []byte("hdr"), []kv{{[]byte("k1"), []byte("value-1")}, {nil, []byte("v")}})
	want := finish(cat(prologue(1, []byte("hdr")), rec("k1", "value-1"), rec("", "v")), 2, 10)
	if !bytes.Equal(got, want) {
		t.Fatalf("encoding differs from documented format:\n got %q\nwant %q", got, want)
	}
	if !bytes.HasPrefix(got, []byte("PHOENIX-EXPORT\n\x01\x03hdr")) {
		t.Fatalf("unexpected prologue %q", got)
	}
}

func wantErr(t *testing.T, err, target error, substr string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %v", target)
	}
	if errors.Is(err, io.EOF) {
		t.Fatalf("error %v matches io.EOF", err)
	}
	if !errors.Is(err, target) {
		t.Fatalf("error %q does not match %v", err, target)
	}
	if !strings.Contains(err.Error(), substr) {
		t.Fatalf("error %q does not contain %q", err, substr)
	}
}

func TestEveryTruncation(t *testing.T) {
	data := smallExport(t)
	for n := 0; n < len(data); n++ {
		_, _, _, err := readExport(data[:n])
		wantErr(t, err, ErrTruncated, fmt.Sprintf("truncated at byte %d (", n))
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("truncation error %v does not match io.ErrUnexpectedEOF", err)
		}
	}
	// Truncation exactly at a record boundary names the record.
	_, _, _, err := readExport(data[:len(prologue(1, []byte(`{"image":"test"}`)))+len(rec("a", "alpha"))])
	wantErr(t, err, ErrTruncated, "(record 1): unexpected end of file")
}

func TestEveryBitFlip(t *testing.T) {
	data := smallExport(t)
	for i := range data {
		for bit := range 8 {
			d := bytes.Clone(data)
			d[i] ^= 1 << bit
			_, _, _, err := readExport(d)
			var ve *VersionError
			switch {
			case err == nil:
				t.Fatalf("flip of byte %d bit %d not detected", i, bit)
			case errors.Is(err, io.EOF):
				t.Fatalf("flip of byte %d bit %d: io.EOF", i, bit)
			case errors.Is(err, ErrCorrupt), errors.Is(err, ErrTruncated), errors.Is(err, ErrNotExport), errors.As(err, &ve):
			default:
				t.Fatalf("flip of byte %d bit %d: unclassified error %v", i, bit, err)
			}
		}
	}
}

func TestErrorMessages(t *testing.T) {
	data := smallExport(t)
	hdrLen := len(prologue(1, []byte(`{"image":"test"}`)))
	rec3 := hdrLen + len(rec("a", "alpha")) + len(rec("", "empty key")) + len(rec("empty value", ""))

	d := bytes.Clone(data)
	d[rec3+10] ^= 0x20 // inside record 3's value
	_, _, _, err := readExport(d)
	wantErr(t, err, ErrCorrupt, fmt.Sprintf("export: record 3 at byte %d: checksum mismatch", rec3))
	var fe *FormatError
	if !errors.As(err, &fe) || fe.Record != 3 || fe.Offset != int64(rec3) || fe.Section != "record" {
		t.Fatalf("FormatError = %+v", fe)
	}

	d = bytes.Clone(data)
	d[len(magic)+5] ^= 1 // inside the header
	_, _, _, err = readExport(d)
	wantErr(t, err, ErrCorrupt, "export: header at byte 16: checksum mismatch")

	d = bytes.Clone(data)
	d[len(d)-1] ^= 1 // the stored SHA-256 itself
	_, _, _, err = readExport(d)
	wantErr(t, err, ErrCorrupt, "export: trailer at byte ")
	wantErr(t, err, ErrCorrupt, ": file checksum mismatch (file corrupt)")

	d = bytes.Clone(data)
	d[rec3] = 7
	_, _, _, err = readExport(d)
	wantErr(t, err, ErrCorrupt, fmt.Sprintf("export: record 3 at byte %d: invalid record kind 0x07", rec3))

	_, _, _, err = readExport(data[:rec3+3])
	wantErr(t, err, ErrTruncated, fmt.Sprintf("export: truncated at byte %d (record 3): unexpected end of file", rec3+3))

	_, _, _, err = readExport(data[:len(data)-5])
	wantErr(t, err, ErrTruncated, fmt.Sprintf("export: truncated at byte %d (trailer): unexpected end of file", len(data)-5))

	_, _, _, err = readExport(data[:8])
	wantErr(t, err, ErrTruncated, "export: truncated at byte 8 (magic)")
}

func TestTrailerConsistency(t *testing.T) {
	body := cat(prologue(1, nil), rec("k", "v"))
	_, _, _, err := readExport(finish(body, 2, 2))
	wantErr(t, err, ErrCorrupt, "record count mismatch: trailer says 2, read 1")
	_, _, _, err = readExport(finish(body, 1, 3))
	wantErr(t, err, ErrCorrupt, "payload size mismatch")
	if _, _, _, err := readExport(finish(body, 1, 2)); err != nil {
		t.Fatal(err)
	}
}

func TestWrongVersion(t *testing.T) {
	for _, v := range []uint64{0, 2, 1 << 40} {
		_, _, _, err := readExport(finish(prologue(v, nil), 0, 0))
		var ve *VersionError
		if !errors.As(err, &ve) || ve.Got != v || ve.Want != Version {
			t.Fatalf("version %d: err = %v", v, err)
		}
		if !strings.Contains(err.Error(), fmt.Sprintf("version %d", v)) {
			t.Fatalf("message %q", err)
		}
	}
}

func TestNotExport(t *testing.T) {
	for _, in := range []string{
		"x",
		"PHOENIX", // a prefix of the magic: truncated, checked below
		"PK\x03\x04\x14\x00\x00\x00\x08\x00 zip file......",
		"phoenix-export\n\x01\x00",
		"PHOENIX-EXPORT\r\n\x01\x00",
		strings.Repeat("\x00", 100),
	} {
		_, _, _, err := readExport([]byte(in))
		if in == "PHOENIX" {
			wantErr(t, err, ErrTruncated, "(magic)")
			continue
		}
		if err != ErrNotExport {
			t.Errorf("%q: err = %v, want ErrNotExport", in, err)
		}
	}
	_, _, _, err := readExport(nil)
	wantErr(t, err, ErrTruncated, "truncated at byte 0 (magic)")
}

func TestTrailingGarbage(t *testing.T) {
	data := smallExport(t)
	for _, extra := range [][]byte{{0}, []byte("\n"), data} {
		_, _, _, err := readExport(cat(data, extra))
		wantErr(t, err, ErrCorrupt, fmt.Sprintf("export: trailer at byte %d: trailing garbage", len(data)))
	}
}

func TestNonMinimalAndOverflowingVarints(t *testing.T) {
	body := cat(prologue(1, nil), record([]byte{0x81, 0x00}, []byte("k"), uv(1), []byte("v")))
	_, _, _, err := readExport(finish(body, 1, 2))
	wantErr(t, err, ErrCorrupt, "record 0 at byte 21: non-minimal uvarint")

	over := bytes.Repeat([]byte{0xff}, 9)
	over = append(over, 0x02)
	_, _, _, err = readExport(cat(prologue(1, nil), []byte{1}, over))
	wantErr(t, err, ErrCorrupt, "overflows")

	// Non-minimal version and header length.
	_, _, _, err = readExport([]byte(magic + "\x81\x00"))
	wantErr(t, err, ErrCorrupt, "version at byte 15: non-minimal")
	_, _, _, err = readExport(withCRC([]byte(magic + "\x01\x80\x00")))
	wantErr(t, err, ErrCorrupt, "header at byte 16: non-minimal")
}

func TestLengthLimits(t *testing.T) {
	base := prologue(1, nil)
	_, _, _, err := readExport(cat(base, []byte{1}, uv(MaxKeySize+1)))
	wantErr(t, err, ErrCorrupt, "key length 65537 exceeds limit")
	_, _, _, err = readExport(cat(base, []byte{1}, uv(1), []byte("k"), uv(MaxValueSize+1)))
	wantErr(t, err, ErrCorrupt, "value length 268435457 exceeds limit")
	_, _, _, err = readExport(cat([]byte(magic), uv(1), uv(MaxHeaderSize+1)))
	wantErr(t, err, ErrCorrupt, "header length 16777217 exceeds limit")

	// A huge but legal length on a short input must not allocate it.
	in := cat(base, []byte{1}, uv(1), []byte("k"), uv(MaxValueSize), []byte("only a few bytes"))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, _, _, err = readExport(in)
	runtime.ReadMemStats(&after)
	wantErr(t, err, ErrTruncated, "(record 0)")
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4<<20 {
		t.Fatalf("reading a truncated huge record allocated %d bytes", alloc)
	}

	var buf bytes.Buffer
	w, err := NewWriter(&buf, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Add(make([]byte, MaxKeySize+1), nil); err == nil {
		t.Fatal("oversized key accepted")
	}
	if err := w.Add(nil, make([]byte, MaxValueSize+1)); err == nil {
		t.Fatal("oversized value accepted")
	}
	// The Writer stays usable after refusing a record.
	if err := w.Add([]byte("k"), []byte("v")); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, recs, _, err := readExport(buf.Bytes()); err != nil || len(recs) != 1 {
		t.Fatalf("recs=%d err=%v", len(recs), err)
	}
	if _, err := NewWriter(io.Discard, make([]byte, MaxHeaderSize+1)); err == nil {
		t.Fatal("oversized header accepted")
	}
}

type errReader struct {
	data []byte
	err  error
}

func (r *errReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

func TestUnderlyingReadError(t *testing.T) {
	boom := errors.New("disk on fire")
	data := smallExport(t)
	r, err := NewReader(&errReader{data[:60], boom})
	if err != nil {
		t.Fatal(err)
	}
	for {
		_, _, err = r.Next()
		if err != nil {
			break
		}
	}
	if !errors.Is(err, boom) || errors.Is(err, io.EOF) || errors.Is(err, ErrTruncated) {
		t.Fatalf("err = %v", err)
	}
	if !strings.Contains(err.Error(), "export: read error at byte 60 (record") {
		t.Fatalf("message %q", err)
	}
	// Sticky.
	if _, _, err2 := r.Next(); err2 != err {
		t.Fatalf("second Next = %v", err2)
	}
}

func TestReaderAfterEOF(t *testing.T) {
	data := smallExport(t)
	r, err := NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	last := int64(0)
	for {
		_, _, err := r.Next()
		if r.Offset() < last {
			t.Fatal("Offset went backwards")
		}
		last = r.Offset()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := r.Next(); err != io.EOF {
		t.Fatalf("Next after EOF = %v", err)
	}
	if s := r.Summary(); s.Records != 5 || s.SHA256 == ([32]byte{}) {
		t.Fatalf("summary %+v", s)
	}
}

type failWriter struct{ n int }

func (w *failWriter) Write(p []byte) (int, error) {
	if w.n < len(p) {
		n := w.n
		w.n = 0
		return n, errors.New("no space left")
	}
	w.n -= len(p)
	return len(p), nil
}

func TestWriterErrors(t *testing.T) {
	w, err := NewWriter(&failWriter{n: 100}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var addErr error
	for i := 0; i < 100000 && addErr == nil; i++ {
		addErr = w.Add([]byte("key"), bytes.Repeat([]byte("v"), 100))
	}
	if addErr == nil || !strings.Contains(addErr.Error(), "no space left") {
		t.Fatalf("Add error = %v", addErr)
	}
	if err := w.Add([]byte("k"), nil); err != addErr {
		t.Fatalf("error not sticky: %v", err)
	}
	if _, err := w.Close(); err == nil {
		t.Fatal("Close succeeded after write error")
	}

	// An error that only shows at the final flush.
	w, _ = NewWriter(&failWriter{n: 10}, nil)
	if err := w.Add([]byte("k"), []byte("v")); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Close(); err == nil {
		t.Fatal("Close hid a flush error")
	}

	w, _ = NewWriter(io.Discard, nil)
	if _, err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Close(); err == nil {
		t.Fatal("second Close succeeded")
	}
	if err := w.Add(nil, nil); err == nil {
		t.Fatal("Add after Close succeeded")
	}
}
