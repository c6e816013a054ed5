package vm

import (
	"errors"
	"fmt"
	"sync"
)

// ErrNotFound is wrapped by Store.Load when an OID has no record.
var ErrNotFound = errors.New("no such object")

// MemStore is an in-memory Store for tests and for throwaway VMs. It deep
// copies records so that a VM cannot alias what it committed.
type MemStore struct {
	mu      sync.Mutex
	recs    map[OID]*Record
	hist    map[OID]map[string][]MethodChange
	next    OID
	Commits int
	// FailNext makes the next Commit fail with this error (fault injection).
	FailNext error
}

// NewMemStore returns an empty store.
func NewMemStore() *MemStore {
	return &MemStore{recs: map[OID]*Record{}, hist: map[OID]map[string][]MethodChange{}, next: FirstFreeOID}
}

func (m *MemStore) Load(oid OID) (*Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.recs[oid]
	if !ok {
		return nil, fmt.Errorf("load object %d: %w", oid, ErrNotFound)
	}
	return cloneRecord(r), nil
}

func (m *MemStore) Commit(b *Batch) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.FailNext; err != nil {
		m.FailNext = nil
		return err
	}
	for _, r := range b.Puts {
		m.recs[r.OID] = cloneRecord(r)
	}
	for _, h := range b.History {
		if m.hist[h.Owner] == nil {
			m.hist[h.Owner] = map[string][]MethodChange{}
		}
		m.hist[h.Owner][h.Selector] = append(m.hist[h.Owner][h.Selector], h)
	}
	if b.NextOID > m.next {
		m.next = b.NextOID
	}
	m.Commits++
	return nil
}

func (m *MemStore) NextOID() OID {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.next
}

func (m *MemStore) History(owner OID, sel string) ([]MethodChange, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]MethodChange(nil), m.hist[owner][sel]...), nil
}

// Len is the number of records.
func (m *MemStore) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.recs)
}

func cloneRecord(r *Record) *Record {
	c := *r
	c.Slots = append([]Slot(nil), r.Slots...)
	c.Traits = make([]TraitUse, len(r.Traits))
	for i, t := range r.Traits {
		c.Traits[i] = TraitUse{Trait: t.Trait, Exclude: append([]string(nil), t.Exclude...), Aliases: append([]Alias(nil), t.Aliases...)}
	}
	return &c
}
