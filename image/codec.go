package image

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/phoenix-image/phoenix/vm"
)

// recordVersion and changeVersion open every encoded record and method
// change; a decoder rejects any other value.
const (
	recordVersion = 1
	changeVersion = 1
)

// ErrCorruptRecord is wrapped by every decoding error (a *DecodeError).
var ErrCorruptRecord = errors.New("corrupt record")

// DecodeError reports an encoded record or method change that could not be
// decoded, naming the object and the place.
type DecodeError struct {
	OID    vm.OID
	What   string // "object" or "history of object"
	Place  string // e.g. "slot 3", "trait 0", "header"
	Detail string // e.g. "truncated string"
}

func (e *DecodeError) Error() string {
	if e.Place == "" {
		return fmt.Sprintf("image: %s %d: %s", e.What, e.OID, e.Detail)
	}
	return fmt.Sprintf("image: %s %d: %s: %s", e.What, e.OID, e.Place, e.Detail)
}

func (e *DecodeError) Unwrap() error { return ErrCorruptRecord }

// EncodeRecord encodes r (its OID excluded: that is the key). The encoding
// is deterministic:
//
//	record = version(1) kind:byte uvarint(proto) string(name)
//	         uvarint(ntraits) trait* uvarint(nslots) (value value)*
//	trait  = uvarint(oid) uvarint(nexclude) string* uvarint(naliases) (string string)*
//	value  = kind:byte payload
//	payload: VNumber: 8 bytes little-endian IEEE-754 bits;
//	         VString, VMethod, VPrimitive: string; VRef: uvarint(oid);
//	         VNil, VFalse, VTrue: nothing
//	string = uvarint(len) bytes
//
// Fields a value's kind does not use are not stored.
func EncodeRecord(r *vm.Record) []byte {
	return AppendRecord(make([]byte, 0, recordSizeHint(r)), r)
}

// AppendRecord appends the encoding of r to dst.
func AppendRecord(dst []byte, r *vm.Record) []byte {
	b := append(dst, recordVersion, byte(r.Kind))
	b = binary.AppendUvarint(b, uint64(r.Proto))
	b = appendString(b, r.Name)
	b = binary.AppendUvarint(b, uint64(len(r.Traits)))
	for _, t := range r.Traits {
		b = binary.AppendUvarint(b, uint64(t.Trait))
		b = binary.AppendUvarint(b, uint64(len(t.Exclude)))
		for _, s := range t.Exclude {
			b = appendString(b, s)
		}
		b = binary.AppendUvarint(b, uint64(len(t.Aliases)))
		for _, a := range t.Aliases {
			b = appendString(b, a.New)
			b = appendString(b, a.Old)
		}
	}
	b = binary.AppendUvarint(b, uint64(len(r.Slots)))
	for _, s := range r.Slots {
		b = appendValue(b, s.Key)
		b = appendValue(b, s.Val)
	}
	return b
}

func recordSizeHint(r *vm.Record) int {
	n := 16 + len(r.Name) + 4*len(r.Slots)
	for _, s := range r.Slots {
		n += len(s.Key.Str) + len(s.Val.Str) + 8
	}
	for _, t := range r.Traits {
		n += 8
		for _, e := range t.Exclude {
			n += len(e) + 1
		}
		for _, a := range t.Aliases {
			n += len(a.New) + len(a.Old) + 2
		}
	}
	return n
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendValue(b []byte, v vm.Value) []byte {
	b = append(b, byte(v.Kind))
	switch v.Kind {
	case vm.VNumber:
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v.Num))
	case vm.VString, vm.VMethod, vm.VPrimitive:
		b = appendString(b, v.Str)
	case vm.VRef:
		b = binary.AppendUvarint(b, uint64(v.Ref))
	}
	return b
}

// validValueKind reports whether k is a kind the codec knows.
func validValueKind(k vm.ValueKind) bool { return k <= vm.VPrimitive }

// validKind reports whether k is a record kind.
func validKind(k vm.Kind) bool { return k >= vm.KindObject && k <= vm.KindTrait }

// decoder reads an encoding, recording where it is for error messages.
type decoder struct {
	data    []byte
	pos     int
	err     string // detail of the first failure
	section string // "header", "trait", "slot", "slots", ...
	index   int    // element number within section, or -1
	errAt   string // place of the first failure
	suffix  string // appended to details: " in key", " in value"
}

// at moves to an element of a section (index -1 for none). Nothing is
// formatted unless decoding fails.
func (d *decoder) at(section string, index int) {
	if d.err == "" {
		d.section, d.index = section, index
	}
}

func (d *decoder) fail(detail string) {
	if d.err == "" {
		d.err = detail + d.suffix
		if d.index >= 0 {
			d.errAt = fmt.Sprintf("%s %d", d.section, d.index)
		} else {
			d.errAt = d.section
		}
	}
}

func (d *decoder) byte(what string) byte {
	if d.err != "" {
		return 0
	}
	if d.pos >= len(d.data) {
		d.fail("truncated " + what)
		return 0
	}
	c := d.data[d.pos]
	d.pos++
	return c
}

func (d *decoder) uvarint(what string) uint64 {
	if d.err != "" {
		return 0
	}
	v, n := binary.Uvarint(d.data[d.pos:])
	switch {
	case n == 0:
		d.fail("truncated " + what)
		return 0
	case n < 0:
		d.fail(what + " overflows 64 bits")
		return 0
	case n > 1 && d.data[d.pos+n-1] == 0:
		d.fail("non-minimal encoding of " + what)
		return 0
	}
	d.pos += n
	return v
}

// count reads a element count and checks that the remaining input could
// hold that many elements of at least min bytes each.
func (d *decoder) count(what string, min int) int {
	n := d.uvarint(what)
	if d.err != "" {
		return 0
	}
	if n > uint64(len(d.data)-d.pos)/uint64(min) {
		d.fail(fmt.Sprintf("%s %d exceeds what the remaining %d bytes can hold", what, n, len(d.data)-d.pos))
		return 0
	}
	return int(n)
}

func (d *decoder) string(what string) string {
	n := d.uvarint(what + " length")
	if d.err != "" {
		return ""
	}
	if n > uint64(len(d.data)-d.pos) {
		d.fail("truncated " + what)
		return ""
	}
	s := string(d.data[d.pos : d.pos+int(n)])
	d.pos += int(n)
	return s
}

// value decodes a value; in (" in key", " in value") ends error details.
func (d *decoder) value(in string) vm.Value {
	d.suffix = in
	defer func() { d.suffix = "" }()
	k := vm.ValueKind(d.byte("value kind"))
	if d.err != "" {
		return vm.Value{}
	}
	v := vm.Value{Kind: k}
	switch k {
	case vm.VNil, vm.VFalse, vm.VTrue:
	case vm.VNumber:
		if len(d.data)-d.pos < 8 {
			d.fail("truncated number")
			return vm.Value{}
		}
		v.Num = math.Float64frombits(binary.LittleEndian.Uint64(d.data[d.pos:]))
		d.pos += 8
	case vm.VString, vm.VMethod, vm.VPrimitive:
		v.Str = d.string("string")
	case vm.VRef:
		v.Ref = vm.OID(d.uvarint("reference"))
	default:
		d.fail(fmt.Sprintf("unknown value kind %d", k))
	}
	return v
}

func (d *decoder) finish() {
	if d.err == "" && d.pos != len(d.data) {
		d.at("", -1)
		d.fail(fmt.Sprintf("%d trailing bytes", len(d.data)-d.pos))
	}
}

// DecodeRecord decodes the record stored for oid. It never panics; any
// problem is a *DecodeError (wrapping ErrCorruptRecord) naming the object
// and the place, e.g. "image: object 1234: slot 3: truncated string in value".
func DecodeRecord(oid vm.OID, data []byte) (*vm.Record, error) {
	d := &decoder{data: data, section: "header", index: -1}
	r := &vm.Record{OID: oid}
	if v := d.byte("version"); d.err == "" && v != recordVersion {
		d.fail(fmt.Sprintf("unknown record encoding version %d", v))
	}
	r.Kind = vm.Kind(d.byte("kind"))
	if d.err == "" && !validKind(r.Kind) {
		d.fail(fmt.Sprintf("invalid kind %d", r.Kind))
	}
	r.Proto = vm.OID(d.uvarint("proto"))
	r.Name = d.string("name")
	// A trait use takes at least 3 bytes, a slot at least 2.
	nt := d.count("trait count", 3)
	if nt > 0 {
		r.Traits = make([]vm.TraitUse, nt)
	}
	for i := 0; i < nt && d.err == ""; i++ {
		d.at("trait", i)
		t := &r.Traits[i]
		t.Trait = vm.OID(d.uvarint("trait OID"))
		if ne := d.count("exclude count", 1); ne > 0 {
			t.Exclude = make([]string, ne)
			for j := range t.Exclude {
				t.Exclude[j] = d.string("excluded selector")
			}
		}
		if na := d.count("alias count", 2); na > 0 {
			t.Aliases = make([]vm.Alias, na)
			for j := range t.Aliases {
				t.Aliases[j].New = d.string("alias new name")
				t.Aliases[j].Old = d.string("alias old name")
			}
		}
	}
	d.at("slots", -1)
	ns := d.count("slot count", 2)
	if ns > 0 {
		r.Slots = make([]vm.Slot, ns)
	}
	for i := 0; i < ns && d.err == ""; i++ {
		d.at("slot", i)
		r.Slots[i].Key = d.value(" in key")
		r.Slots[i].Val = d.value(" in value")
	}
	d.finish()
	if d.err != "" {
		return nil, &DecodeError{OID: oid, What: "object", Place: d.errAt, Detail: d.err}
	}
	return r, nil
}

// EncodeChange encodes a method change (its Owner excluded: that is part
// of the key):
//
//	change = version(1) string(selector) varint(unix seconds) uvarint(nanoseconds)
//	         string(author) string(old) string(new) string(note)
//
// The time is stored to the nanosecond, without location or monotonic
// reading; DecodeChange returns it in UTC.
func EncodeChange(c *vm.MethodChange) []byte {
	b := make([]byte, 0, 24+len(c.Selector)+len(c.Author)+len(c.Old)+len(c.New)+len(c.Note))
	b = append(b, changeVersion)
	b = appendString(b, c.Selector)
	b = binary.AppendVarint(b, c.Time.Unix())
	b = binary.AppendUvarint(b, uint64(c.Time.Nanosecond()))
	b = appendString(b, string(c.Author))
	b = appendString(b, c.Old)
	b = appendString(b, c.New)
	b = appendString(b, c.Note)
	return b
}

// DecodeChange decodes a method change of owner. Like DecodeRecord it never
// panics and returns a *DecodeError.
func DecodeChange(owner vm.OID, data []byte) (*vm.MethodChange, error) {
	d := &decoder{data: data, section: "method change", index: -1}
	c := &vm.MethodChange{Owner: owner}
	if v := d.byte("version"); d.err == "" && v != changeVersion {
		d.fail(fmt.Sprintf("unknown method change encoding version %d", v))
	}
	c.Selector = d.string("selector")
	var sec int64
	if d.err == "" {
		var n int
		sec, n = binary.Varint(d.data[d.pos:])
		switch {
		case n == 0:
			d.fail("truncated time")
		case n < 0:
			d.fail("time overflows 64 bits")
		case n > 1 && d.data[d.pos+n-1] == 0:
			d.fail("non-minimal encoding of time")
		default:
			d.pos += n
		}
	}
	nsec := d.uvarint("time nanoseconds")
	if d.err == "" && nsec >= 1e9 {
		d.fail(fmt.Sprintf("time nanoseconds %d out of range", nsec))
	}
	c.Time = time.Unix(sec, int64(nsec)).UTC()
	c.Author = vm.Author(d.string("author"))
	c.Old = d.string("old source")
	c.New = d.string("new source")
	c.Note = d.string("note")
	d.finish()
	if d.err != "" {
		place := d.errAt
		if c.Selector != "" {
			place = fmt.Sprintf("method change of %q", c.Selector)
		}
		return nil, &DecodeError{OID: owner, What: "history of object", Place: place, Detail: d.err}
	}
	return c, nil
}
