package vm

import (
	"fmt"
	"time"
)

// OID identifies a persistent object, table or trait in an image.
type OID uint64

// Well-known objects have fixed OIDs so that the VM can find them before
// anything else is loaded.
const (
	LobbyOID   OID = 1
	ObjectOID  OID = 2
	TraitOID   OID = 3
	MessageOID OID = 4
	ErrorOID   OID = 5
	MNUOID     OID = 6 // MessageNotUnderstood
	// FirstFreeOID is the first OID handed out to user objects.
	FirstFreeOID OID = 100
)

// Kind says what a record holds.
type Kind uint8

const (
	KindObject Kind = 1 // a prototype object: slots, own methods, proto, traits
	KindTable  Kind = 2 // a plain Lua table
	KindTrait  Kind = 3 // a trait: methods only
)

func (k Kind) String() string {
	switch k {
	case KindObject:
		return "object"
	case KindTable:
		return "table"
	case KindTrait:
		return "trait"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// ValueKind tags a persistent value.
type ValueKind uint8

const (
	VNil ValueKind = iota
	VFalse
	VTrue
	VNumber
	VString
	VRef       // reference to another record
	VMethod    // a Lua method: Str holds its source
	VPrimitive // a Go primitive: Str holds its registered name
)

// Value is the persistent form of a Lua value.
type Value struct {
	Kind ValueKind
	Num  float64
	Str  string
	Ref  OID
}

// Slot is one key/value pair of a record.
type Slot struct{ Key, Val Value }

// Alias renames a trait method for one user: New is the selector the user
// sees, Old the trait's selector.
type Alias struct{ New, Old string }

// TraitUse is one trait in an object's composition, with its resolution.
type TraitUse struct {
	Trait   OID
	Exclude []string
	Aliases []Alias
}

// Record is the persistent state of one object, table or trait.
type Record struct {
	OID    OID
	Kind   Kind
	Proto  OID    // 0 for none (Object, plain tables, traits)
	Name   string // the global name the object was first bound to, if any
	Traits []TraitUse
	Slots  []Slot
}

// Author says who made a change.
type Author string

const (
	AuthorHuman  Author = "human"
	AuthorAgent  Author = "agent"
	AuthorFilein Author = "filein"
	AuthorSystem Author = "system"
)

// MethodChange is one entry in a method's history.
type MethodChange struct {
	Owner    OID
	Selector string
	Time     time.Time
	Author   Author
	Old, New string // sources; "" when the method did not exist / was removed
	Note     string // optional provenance
}

// Batch is everything one transaction writes.
type Batch struct {
	Puts    []*Record
	History []MethodChange
	NextOID OID
}

// Store is what the VM needs from persistence. Package image implements it
// on Pebble; MemStore is an in-memory implementation for tests.
type Store interface {
	// Load returns the record for oid, or an error wrapping ErrNotFound.
	Load(oid OID) (*Record, error)
	// Commit writes b atomically and durably, or not at all.
	Commit(b *Batch) error
	// NextOID is the first unused OID.
	NextOID() OID
	// History lists the changes of one method, oldest first.
	History(owner OID, selector string) ([]MethodChange, error)
}
