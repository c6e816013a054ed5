// Package exportfmt reads and writes the Phoenix image export format: a
// portable, single-file, streamable dump of every key/value pair in an image
// (a Pebble store), together with caller-supplied metadata. Exports are
// written in one pass with a Writer and read back in one pass with a Reader;
// neither needs to seek, so an export can be piped through compressors or
// over the network.
//
// The format is designed so that a reader can tell, precisely, whether a
// file is complete and intact: every record carries its own CRC-32C, the
// trailer carries the record count, the payload size and a SHA-256 of the
// whole file, and a Reader reports io.EOF only after all of that verified.
// A truncated file is reported as ErrTruncated, damage as ErrCorrupt, and
// both kinds of error name the record and byte offset where the problem was
// found. A Reader never panics and never allocates much more memory than the
// input actually contains, whatever the input.
//
// This package may import only the standard library. It knows nothing about
// Pebble or about the meaning of keys, values or the header; higher layers
// stream an image's key/value pairs through it.
//
// # Format (version 1)
//
// Notation: uvarint is the unsigned LEB128 encoding produced by
// encoding/binary.AppendUvarint, and it must be minimal (the shortest
// encoding of its value; a reader rejects longer ones, so that every valid
// export has exactly one byte representation). u32le and u64le are fixed
// width little-endian integers. CRC-32C uses the Castagnoli polynomial
// (hash/crc32.Castagnoli). Offsets count from 0 at the first byte of the file.
//
//	file    = magic version header record* trailer
//	magic   = "PHOENIX-EXPORT\n"                     (15 bytes)
//	version = uvarint                                (currently 1)
//	header  = uvarint(len) bytes[len] u32le(hcrc)
//	record  = 0x01 uvarint(klen) key[klen] uvarint(vlen) value[vlen] u32le(rcrc)
//	trailer = 0x00 uvarint(count) u64le(payload) sha256[32]
//
// The header bytes are opaque to this package (typically JSON metadata
// describing the image); len must not exceed MaxHeaderSize. hcrc is the
// CRC-32C of every byte of the file before it (magic, version, len and the
// header bytes), so a damaged header is caught before the caller interprets
// it.
//
// Each record holds one key/value pair; klen must not exceed MaxKeySize and
// vlen must not exceed MaxValueSize. Empty keys and values are allowed, and
// this package imposes no order and no uniqueness on keys. rcrc is the
// CRC-32C of the record's bytes from its 0x01 kind byte through the last byte
// of the value. Records are numbered from 0 in file order; error messages
// use that number.
//
// The trailer begins with the kind byte 0x00 (any kind byte other than 0x00
// and 0x01 is corruption). count is the number of records, payload is the sum
// of klen+vlen over all records, and sha256 is the SHA-256 of every byte of
// the file before it, from the first byte of magic through the last byte of
// payload. The file ends immediately after sha256; any further byte is
// corruption ("trailing garbage").
//
// # Errors
//
// A Reader classifies every problem: input that does not start with the
// magic is ErrNotExport (but empty input, or input that ends inside the
// magic, is a truncation); an unknown version is a *VersionError; input that
// ends before the last byte of the trailer is ErrTruncated; anything else
// (checksum mismatch, length over a limit, non-minimal or overflowing
// uvarint, unknown kind byte, trailer totals that disagree with the records,
// trailing garbage) is ErrCorrupt. Truncation and corruption errors are
// *FormatError values naming the section, record number and byte offset.
//
// A future incompatible change increments the version; a Reader rejects any
// version other than Version with a *VersionError.
package exportfmt
