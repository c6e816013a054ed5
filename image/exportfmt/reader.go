package exportfmt

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"slices"
)

// Reader reads and verifies an export stream. Create one with NewReader and
// call Next until it returns an error; io.EOF means the whole file, including
// the trailer and its SHA-256, verified. A Reader is not safe for concurrent
// use. Errors are sticky: after Next fails, it keeps returning that error.
type Reader struct {
	br      *bufio.Reader
	h       hash.Hash
	off     int64  // bytes of the export consumed so far
	buf     []byte // bytes of the unit being parsed (reused)
	header  []byte
	section string // for error messages
	start   int64  // offset at which the current section/record started
	records int64
	bytes   int64
	sum     [32]byte
	err     error
}

// errNonMinimal and errOverflow are internal uvarint decoding failures.
var (
	errNonMinimal = errors.New("non-minimal uvarint encoding")
	errOverflow   = errors.New("uvarint overflows 64 bits")
)

// NewReader starts reading an export from r. It reads the prologue: the
// magic (ErrNotExport if it does not match), the format version
// (*VersionError unless it is Version) and the header, whose checksum it
// verifies. r is read through an internal buffer, so a Reader may consume
// more of r than Offset reports.
func NewReader(r io.Reader) (*Reader, error) {
	er := &Reader{
		br:      bufio.NewReaderSize(r, 64<<10),
		h:       sha256.New(),
		section: "magic",
	}
	if err := er.readN(len(magic)); err != nil {
		// A short input is a truncated export if what is there (possibly
		// nothing) is a prefix of the magic, and not an export otherwise.
		if errors.Is(err, ErrTruncated) && !bytes.HasPrefix([]byte(magic), er.buf) {
			return nil, ErrNotExport
		}
		return nil, err
	}
	if string(er.buf) != magic {
		return nil, ErrNotExport
	}

	er.section, er.start = "version", er.off
	v, err := er.readUvarint()
	if err != nil {
		return nil, err
	}
	if v != Version {
		return nil, &VersionError{Got: v, Want: Version}
	}

	er.section, er.start = "header", er.off
	n, err := er.readUvarint()
	if err != nil {
		return nil, err
	}
	if n > MaxHeaderSize {
		return nil, er.corrupt("header length %d exceeds limit of %d", n, MaxHeaderSize)
	}
	hstart := len(er.buf)
	if err := er.readN(int(n)); err != nil {
		return nil, err
	}
	if err := er.checkCRC(0); err != nil {
		return nil, err
	}
	er.header = bytes.Clone(er.buf[hstart : hstart+int(n)])
	er.flushHash()
	return er, nil
}

// Header returns the header bytes given to NewWriter (possibly empty).
func (r *Reader) Header() []byte { return r.header }

// Offset returns the number of bytes of the export consumed so far. After
// Next returns io.EOF it equals the file size.
func (r *Reader) Offset() int64 { return r.off }

// Summary returns the export's summary. It is complete only after Next
// returned io.EOF; before that it counts the records read so far and has a
// zero SHA256.
func (r *Reader) Summary() Summary {
	return Summary{Records: r.records, Bytes: r.bytes, SHA256: r.sum}
}

// Next returns the next key/value pair. The slices are valid until the next
// call to Next and must not be modified. Next returns io.EOF only once the
// trailer verified: the record count, payload size and file SHA-256 all
// match and no data follows. Any other problem is reported as an error
// matching ErrTruncated or ErrCorrupt (a *FormatError), or as a wrapped
// error from the underlying reader.
func (r *Reader) Next() (key, value []byte, err error) {
	if r.err != nil {
		return nil, nil, r.err
	}
	key, value, err = r.next()
	if err != nil {
		r.err = err
		return nil, nil, err
	}
	return key, value, nil
}

func (r *Reader) next() (key, value []byte, err error) {
	r.buf = r.buf[:0]
	r.section, r.start = "record", r.off
	if err := r.readN(1); err != nil {
		return nil, nil, err
	}
	switch kind := r.buf[0]; kind {
	case kindRecord:
	case kindEnd:
		r.section = "trailer"
		return nil, nil, r.readTrailer()
	default:
		return nil, nil, r.corrupt("invalid record kind 0x%02x", kind)
	}

	klen, err := r.readUvarint()
	if err != nil {
		return nil, nil, err
	}
	if klen > MaxKeySize {
		return nil, nil, r.corrupt("key length %d exceeds limit of %d", klen, MaxKeySize)
	}
	kstart := len(r.buf)
	if err := r.readN(int(klen)); err != nil {
		return nil, nil, err
	}
	vlen, err := r.readUvarint()
	if err != nil {
		return nil, nil, err
	}
	if vlen > MaxValueSize {
		return nil, nil, r.corrupt("value length %d exceeds limit of %d", vlen, MaxValueSize)
	}
	vstart := len(r.buf)
	if err := r.readN(int(vlen)); err != nil {
		return nil, nil, err
	}
	if err := r.checkCRC(0); err != nil {
		return nil, nil, err
	}
	r.flushHash()
	r.records++
	r.bytes += int64(klen) + int64(vlen)
	return r.buf[kstart : kstart+int(klen) : kstart+int(klen)], r.buf[vstart : vstart+int(vlen) : vstart+int(vlen)], nil
}

// readTrailer parses and verifies the trailer; r.buf holds its kind byte.
func (r *Reader) readTrailer() error {
	count, err := r.readUvarint()
	if err != nil {
		return err
	}
	pstart := len(r.buf)
	if err := r.readN(8); err != nil {
		return err
	}
	payload := binary.LittleEndian.Uint64(r.buf[pstart:])
	r.flushHash()
	var want [32]byte
	r.h.Sum(want[:0])
	if err := r.readN(sha256Size); err != nil {
		return err
	}
	if count != uint64(r.records) {
		return r.corrupt("record count mismatch: trailer says %d, read %d", count, r.records)
	}
	if payload != uint64(r.bytes) {
		return r.corrupt("payload size mismatch: trailer says %d bytes, read %d", payload, r.bytes)
	}
	if !bytes.Equal(r.buf[len(r.buf)-sha256Size:], want[:]) {
		return r.corrupt("file checksum mismatch (file corrupt)")
	}
	// The file must end here.
	switch _, err := r.br.ReadByte(); {
	case err == nil:
		r.start = r.off
		return r.corrupt("trailing garbage after the trailer")
	case err != io.EOF:
		return r.ioErr(err)
	}
	r.sum = want
	return io.EOF
}

// readN appends the next n bytes of input to r.buf. It grows r.buf in
// steps no larger than what has already arrived, so a corrupt length field
// on a short input cannot force a large allocation.
func (r *Reader) readN(n int) error {
	for n > 0 {
		chunk := n
		if free := cap(r.buf) - len(r.buf); chunk > free {
			chunk = min(n, max(free, len(r.buf), 64<<10))
			r.buf = slices.Grow(r.buf, chunk)
		}
		start := len(r.buf)
		r.buf = r.buf[:start+chunk]
		m, err := io.ReadFull(r.br, r.buf[start:])
		r.off += int64(m)
		if err != nil {
			r.buf = r.buf[:start+m]
			return r.ioErr(err)
		}
		n -= chunk
	}
	return nil
}

// readUvarint reads a minimal uvarint, appending its bytes to r.buf.
func (r *Reader) readUvarint() (uint64, error) {
	var x uint64
	for i := 0; ; i++ {
		b, err := r.br.ReadByte()
		if err != nil {
			return 0, r.ioErr(err)
		}
		r.off++
		r.buf = append(r.buf, b)
		if i == binary.MaxVarintLen64-1 && b > 1 {
			return 0, r.corrupt("%v", errOverflow)
		}
		x |= uint64(b&0x7f) << (7 * i)
		if b < 0x80 {
			if i > 0 && b == 0 {
				return 0, r.corrupt("%v", errNonMinimal)
			}
			return x, nil
		}
	}
}

// checkCRC reads a CRC-32C and compares it with the CRC of r.buf[from:].
func (r *Reader) checkCRC(from int) error {
	end := len(r.buf)
	if err := r.readN(crcSize); err != nil {
		return err
	}
	got := binary.LittleEndian.Uint32(r.buf[end:])
	if want := crc32.Checksum(r.buf[from:end], castagnoli); got != want {
		return r.corrupt("checksum mismatch")
	}
	return nil
}

// flushHash adds r.buf to the file hash. Every byte before the trailer
// checksum passes through r.buf exactly once.
func (r *Reader) flushHash() { r.h.Write(r.buf) }

func (r *Reader) corrupt(format string, args ...any) error {
	return &FormatError{
		Section: r.section,
		Record:  r.records,
		Offset:  r.start,
		Err:     ErrCorrupt,
		Detail:  fmt.Sprintf(format, args...),
	}
}

// ioErr converts an error from the underlying reader. End of input before
// the trailer completed is a truncation, never io.EOF.
func (r *Reader) ioErr(err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return &FormatError{Section: r.section, Record: r.records, Offset: r.off, Err: ErrTruncated}
	}
	return fmt.Errorf("export: read error at byte %d (%s): %w", r.off, (&FormatError{Section: r.section, Record: r.records}).place(), err)
}
