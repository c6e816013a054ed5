package image

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/phoenix-image/phoenix/vm"
)

func TestRecordRoundTrip(t *testing.T) {
	long := strings.Repeat("long string \u00e9\x00", 100000) // 1.4 MB
	many := &vm.Record{OID: 1234, Kind: vm.KindTable}
	for i := 0; i < 20000; i++ {
		many.Slots = append(many.Slots, vm.Slot{Key: num(float64(i)), Val: str(fmt.Sprint(i))})
	}
	recs := append(sampleRecords(),
		&vm.Record{OID: 7, Kind: vm.KindObject, Name: long, Slots: []vm.Slot{slot(long, str(long))}},
		many,
		&vm.Record{OID: math.MaxUint64, Kind: vm.KindTrait, Proto: math.MaxUint64},
		&vm.Record{OID: 9, Kind: vm.KindObject, Slots: []vm.Slot{
			{Key: num(math.SmallestNonzeroFloat64), Val: num(math.MaxFloat64)},
			{Key: num(math.Float64frombits(0x7ff8000000000123)), Val: ref(math.MaxUint64)}, // NaN payload
		}},
	)
	for _, r := range recs {
		enc := EncodeRecord(r)
		got, err := DecodeRecord(r.OID, enc)
		if err != nil {
			t.Fatalf("object %d: %v", r.OID, err)
		}
		if !sameRecord(r, got) {
			t.Fatalf("object %d: round trip changed the record:\n got %+v\nwant %+v", r.OID, got, r)
		}
		if !bytes.Equal(EncodeRecord(got), enc) {
			t.Fatalf("object %d: re-encoding differs", r.OID)
		}
	}
	// -0 stays -0 and NaN stays NaN.
	got, _ := DecodeRecord(100, EncodeRecord(sampleRecords()[2]))
	if y := got.Slots[1].Val.Num; y != 0 || !math.Signbit(y) {
		t.Errorf("-0 decoded as %v", y)
	}
	if !math.IsNaN(got.Slots[2].Val.Num) || !math.IsInf(got.Slots[3].Val.Num, 1) || !math.IsInf(got.Slots[4].Val.Num, -1) {
		t.Errorf("NaN/Inf not preserved: %v", got.Slots[2:5])
	}
}

func TestEncodeDeterministic(t *testing.T) {
	r := sampleRecords()[2]
	a, b := EncodeRecord(r), EncodeRecord(r)
	if !bytes.Equal(a, b) {
		t.Fatal("two encodings of one record differ")
	}
	// Unused fields are not stored.
	x := &vm.Record{OID: 5, Kind: vm.KindObject, Slots: []vm.Slot{{Key: vm.Value{Kind: vm.VNil, Num: 3, Str: "x", Ref: 9}, Val: vm.Value{Kind: vm.VRef, Ref: 4, Str: "ignored"}}}}
	y := &vm.Record{OID: 5, Kind: vm.KindObject, Slots: []vm.Slot{{Key: vm.Value{}, Val: ref(4)}}}
	if !bytes.Equal(EncodeRecord(x), EncodeRecord(y)) {
		t.Fatal("fields unused by a value's kind affect the encoding")
	}
}

func TestDecodeRecordErrors(t *testing.T) {
	enc := EncodeRecord(sampleRecords()[2])
	// Every proper prefix fails with an error naming the object; none panics.
	for i := 0; i < len(enc); i++ {
		_, err := DecodeRecord(1234, enc[:i])
		if err == nil {
			t.Fatalf("prefix of %d bytes decoded", i)
		}
		if !errors.Is(err, ErrCorruptRecord) || !strings.HasPrefix(err.Error(), "image: object 1234: ") {
			t.Fatalf("prefix %d: error %q", i, err)
		}
	}
	// Every single-bit flip either fails cleanly or decodes to something
	// that re-encodes canonically.
	for i := 0; i < len(enc)*8; i++ {
		c := bytes.Clone(enc)
		c[i/8] ^= 1 << (i % 8)
		if r, err := DecodeRecord(1234, c); err == nil && !bytes.Equal(EncodeRecord(r), c) {
			t.Fatalf("bit flip %d decoded to a non-canonical encoding", i)
		}
	}

	// A string truncated inside slot 3.
	r := &vm.Record{OID: 1234, Kind: vm.KindObject, Slots: []vm.Slot{
		slot("a", num(1)), slot("b", num(2)), slot("c", num(3)), slot("d", str("hello world")),
	}}
	enc = EncodeRecord(r)
	_, err := DecodeRecord(1234, enc[:len(enc)-3])
	if err == nil || !strings.Contains(err.Error(), "image: object 1234: slot 3: truncated string") {
		t.Fatalf("got %v", err)
	}

	cases := []struct {
		data []byte
		want string
	}{
		{nil, "image: object 1234: header: truncated version"},
		{[]byte{2, 1, 0, 0, 0, 0}, "unknown record encoding version 2"},
		{[]byte{1, 9, 0, 0, 0, 0}, "header: invalid kind 9"},
		{[]byte{1, 1, 0, 0, 0, 0, 0}, "1 trailing bytes"},
		{[]byte{1, 1, 0x80, 0x00, 0, 0, 0}, "non-minimal encoding of proto"},
		{[]byte{1, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f}, "slot count 4294967295 exceeds"},
		{[]byte{1, 1, 0, 0, 0, 1, 9, 0}, "slot 0: unknown value kind 9 in key"},
		{[]byte{1, 1, 0, 0, 0, 1, 0, 3, 1, 2}, "slot 0: truncated number in value"},
		{[]byte{1, 1, 0, 5, 'a'}, "header: truncated name"},
		{[]byte{1, 1, 0, 0, 1, 7, 1, 5, 'x', 0, 0}, "trait 0: truncated excluded selector"},
		{[]byte{1, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, "proto overflows"},
	}
	for _, c := range cases {
		_, err := DecodeRecord(1234, c.data)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%x: got %v, want error containing %q", c.data, err, c.want)
		}
	}
}

func TestChangeRoundTrip(t *testing.T) {
	changes := []vm.MethodChange{
		{Owner: 100, Selector: "area", Time: t0, Author: vm.AuthorHuman, New: "function(self) end", Note: "first"},
		{Owner: 100, Selector: "a\x00b", Time: time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), Author: vm.AuthorAgent, Old: "x", New: ""},
		{Owner: 100, Selector: "", Time: time.Date(1900, 1, 1, 0, 0, 0, 1, time.FixedZone("X", 3600))},
		{Owner: 100, Selector: "z", Time: time.Time{}},
	}
	for _, c := range changes {
		enc := EncodeChange(&c)
		got, err := DecodeChange(c.Owner, enc)
		if err != nil {
			t.Fatal(err)
		}
		if !sameChange(c, *got) {
			t.Fatalf("round trip: got %+v want %+v", *got, c)
		}
		if c.Time.IsZero() != got.Time.IsZero() {
			t.Fatalf("zero time not preserved")
		}
		for i := 0; i < len(enc); i++ {
			if _, err := DecodeChange(100, enc[:i]); err == nil || !strings.HasPrefix(err.Error(), "image: history of object 100") {
				t.Fatalf("prefix %d: %v", i, err)
			}
		}
	}
}
