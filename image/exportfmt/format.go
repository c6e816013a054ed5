package exportfmt

import (
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

// Version is the format version written by Writer and the only one Reader
// accepts.
const Version = 1

// Size limits. A Writer refuses to write anything larger; a Reader treats a
// larger length field as corruption instead of trying to allocate it.
const (
	MaxKeySize    = 64 << 10  // 64 KiB
	MaxValueSize  = 256 << 20 // 256 MiB
	MaxHeaderSize = 16 << 20  // 16 MiB
)

// magic opens every export file.
const magic = "PHOENIX-EXPORT\n"

// Record kind bytes.
const (
	kindEnd    = 0x00
	kindRecord = 0x01
)

const (
	crcSize    = 4
	sha256Size = 32
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Sentinel errors. Every *FormatError matches exactly one of ErrCorrupt and
// ErrTruncated with errors.Is.
var (
	// ErrNotExport means the input does not start with the export magic.
	ErrNotExport = errors.New("export: not a Phoenix export file (bad magic)")
	// ErrCorrupt means the input is damaged: a checksum failed, a field
	// holds an impossible value, or data follows the trailer.
	ErrCorrupt = errors.New("export: file corrupt")
	// ErrTruncated means the input ended before the trailer was complete.
	ErrTruncated = errors.New("export: file truncated")
)

// VersionError reports an export written in a format version this package
// does not read.
type VersionError struct {
	Got, Want uint64
}

func (e *VersionError) Error() string {
	return fmt.Sprintf("export: unsupported format version %d (this build reads version %d)", e.Got, e.Want)
}

// FormatError describes a truncated or corrupt export and where the problem
// was found. errors.Is(err, ErrTruncated) or errors.Is(err, ErrCorrupt)
// reports which; a truncation also matches io.ErrUnexpectedEOF (never
// io.EOF).
type FormatError struct {
	// Section is "magic", "version", "header", "record" or "trailer".
	Section string
	// Record is the 0-based record number; meaningful when Section is
	// "record".
	Record int64
	// Offset is the byte offset of the problem: for a truncation, the
	// number of bytes the input held; otherwise the offset at which the
	// damaged section (for records, the damaged record) starts.
	Offset int64
	// Err is ErrCorrupt or ErrTruncated.
	Err error
	// Detail says what is wrong, e.g. "checksum mismatch".
	Detail string
}

func (e *FormatError) place() string {
	if e.Section == "record" {
		return fmt.Sprintf("record %d", e.Record)
	}
	return e.Section
}

func (e *FormatError) Error() string {
	if e.Err == ErrTruncated {
		return fmt.Sprintf("export: truncated at byte %d (%s): unexpected end of file", e.Offset, e.place())
	}
	return fmt.Sprintf("export: %s at byte %d: %s", e.place(), e.Offset, e.Detail)
}

// Unwrap lets errors.Is match the sentinel (and, for truncations,
// io.ErrUnexpectedEOF).
func (e *FormatError) Unwrap() []error {
	if e.Err == ErrTruncated {
		return []error{ErrTruncated, io.ErrUnexpectedEOF}
	}
	return []error{e.Err}
}

// Summary describes a complete export.
type Summary struct {
	// Records is the number of key/value records.
	Records int64
	// Bytes is the payload size: the sum of len(key)+len(value) over all
	// records (not the file size).
	Bytes int64
	// SHA256 is the file checksum stored in the trailer: the SHA-256 of
	// every byte of the file before it.
	SHA256 [32]byte
}
