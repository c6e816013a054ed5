//go:build cgo

package main

import (
	"sync"

	"github.com/phoenix-image/phoenix/image"
)

// objectCounter counts an image's objects (its records) for the status
// bar on a goroutine of its own: image.Info reads a Pebble snapshot, not
// the VM, so the count never waits for an evaluation nor makes one wait.
// Recount while a count runs counts once more after it.
type objectCounter struct {
	count      func() (int64, error)
	invalidate func()

	wg      sync.WaitGroup // the running count
	mu      sync.Mutex
	n       int64 // -1 before the first count
	running bool
	again   bool
}

func newObjectCounter(im *image.Image, invalidate func()) *objectCounter {
	c := &objectCounter{n: -1, invalidate: invalidate}
	c.count = func() (int64, error) {
		in, err := im.Info()
		if err != nil {
			return 0, err
		}
		return in.Records, nil
	}
	return c
}

// Count returns the last count, -1 before one (or for a nil counter).
func (c *objectCounter) Count() int64 {
	if c == nil {
		return -1
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// Recount starts a count (nil: nothing to count).
func (c *objectCounter) Recount() {
	if c == nil {
		return
	}
	c.mu.Lock()
	if c.running {
		c.again = true
		c.mu.Unlock()
		return
	}
	c.running = true
	c.wg.Add(1)
	c.mu.Unlock()
	go func() {
		defer c.wg.Done()
		for {
			n, err := c.count()
			c.mu.Lock()
			if err == nil {
				c.n = n
			}
			if !c.again {
				c.running = false
				c.mu.Unlock()
				break
			}
			c.again = false
			c.mu.Unlock()
		}
		if c.invalidate != nil {
			c.invalidate()
		}
	}()
}

// Wait waits for a running count to end; call it before the image
// closes.
func (c *objectCounter) Wait() {
	if c != nil {
		c.wg.Wait()
	}
}
