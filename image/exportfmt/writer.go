package exportfmt

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
)

// smallRecord is the largest encoded record the Writer assembles in one
// buffer; larger records are written piecewise without copying the value.
const smallRecord = 32 << 10

var errWriterClosed = errors.New("export: writer already closed")

// Writer writes an export stream. Create one with NewWriter, call Add for
// every key/value pair and finish with Close. A Writer is not safe for
// concurrent use. After any write error the Writer is unusable and every
// later call returns that error.
type Writer struct {
	bw      *bufio.Writer
	h       hash.Hash
	records int64
	bytes   int64
	scratch []byte
	err     error
	closed  bool
}

// NewWriter starts an export on w and writes the file prologue (magic,
// version and header). header is opaque caller metadata (for example JSON)
// returned unchanged by Reader.Header; it may be empty and must not exceed
// MaxHeaderSize. Output is buffered: nothing is guaranteed to reach w before
// Close.
func NewWriter(w io.Writer, header []byte) (*Writer, error) {
	if len(header) > MaxHeaderSize {
		return nil, fmt.Errorf("export: header of %d bytes exceeds limit of %d", len(header), MaxHeaderSize)
	}
	ew := &Writer{
		bw:      bufio.NewWriterSize(w, 64<<10),
		h:       sha256.New(),
		scratch: make([]byte, 0, 512),
	}
	b := append(ew.scratch[:0], magic...)
	b = binary.AppendUvarint(b, Version)
	b = binary.AppendUvarint(b, uint64(len(header)))
	crc := crc32.Update(crc32.Update(0, castagnoli, b), castagnoli, header)
	ew.write(b)
	ew.write(header)
	ew.write(binary.LittleEndian.AppendUint32(b[:0], crc))
	if ew.err != nil {
		return nil, ew.err
	}
	return ew, nil
}

// write hashes p and writes it to the buffer, recording the first error.
func (w *Writer) write(p []byte) {
	if w.err != nil {
		return
	}
	w.h.Write(p)
	if _, err := w.bw.Write(p); err != nil {
		w.err = fmt.Errorf("export: write: %w", err)
	}
}

// Add appends one key/value record. The slices are not retained. A key
// larger than MaxKeySize or a value larger than MaxValueSize is refused with
// an error; nothing is written and the Writer stays usable.
func (w *Writer) Add(key, value []byte) error {
	if w.closed {
		return errWriterClosed
	}
	if w.err != nil {
		return w.err
	}
	if len(key) > MaxKeySize {
		return fmt.Errorf("export: key of %d bytes exceeds limit of %d", len(key), MaxKeySize)
	}
	if len(value) > MaxValueSize {
		return fmt.Errorf("export: value of %d bytes (key %q) exceeds limit of %d", len(value), truncKey(key), MaxValueSize)
	}
	b := append(w.scratch[:0], kindRecord)
	b = binary.AppendUvarint(b, uint64(len(key)))
	if len(key)+len(value)+2*binary.MaxVarintLen64+crcSize <= smallRecord {
		b = append(b, key...)
		b = binary.AppendUvarint(b, uint64(len(value)))
		b = append(b, value...)
		b = binary.LittleEndian.AppendUint32(b, crc32.Update(0, castagnoli, b))
		w.write(b)
		w.scratch = b[:0] // keep any growth for the next record
	} else {
		crc := crc32.Update(0, castagnoli, b)
		w.write(b)
		crc = crc32.Update(crc, castagnoli, key)
		w.write(key)
		b = binary.AppendUvarint(b[:0], uint64(len(value)))
		crc = crc32.Update(crc, castagnoli, b)
		w.write(b)
		crc = crc32.Update(crc, castagnoli, value)
		w.write(value)
		w.write(binary.LittleEndian.AppendUint32(b[:0], crc))
	}
	if w.err != nil {
		return w.err
	}
	w.records++
	w.bytes += int64(len(key)) + int64(len(value))
	return nil
}

// Close writes the trailer (record count, payload size and the SHA-256 of
// the whole file) and flushes buffered output. It does not close the
// underlying writer. Calling Close twice is an error.
func (w *Writer) Close() (Summary, error) {
	if w.closed {
		return Summary{}, errWriterClosed
	}
	w.closed = true
	if w.err != nil {
		return Summary{}, w.err
	}
	b := append(w.scratch[:0], kindEnd)
	b = binary.AppendUvarint(b, uint64(w.records))
	b = binary.LittleEndian.AppendUint64(b, uint64(w.bytes))
	w.write(b)
	s := Summary{Records: w.records, Bytes: w.bytes}
	w.h.Sum(s.SHA256[:0])
	if w.err == nil {
		if _, err := w.bw.Write(s.SHA256[:]); err != nil {
			w.err = fmt.Errorf("export: write: %w", err)
		}
	}
	if w.err == nil {
		if err := w.bw.Flush(); err != nil {
			w.err = fmt.Errorf("export: write: %w", err)
		}
	}
	if w.err != nil {
		return Summary{}, w.err
	}
	return s, nil
}

// truncKey shortens a key for use in an error message.
func truncKey(k []byte) []byte {
	if len(k) > 64 {
		return k[:64]
	}
	return k
}
