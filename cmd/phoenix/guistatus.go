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
	paused  bool // the image is being closed: Recount waits for Resume
}

func newObjectCounter(im *image.Image, invalidate func()) *objectCounter {
	return &objectCounter{n: -1, invalidate: invalidate, count: recordsOf(im)}
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
	if c.running || c.paused {
		c.again = true
		c.mu.Unlock()
		return
	}
	c.running = true
	c.wg.Add(1)
	c.mu.Unlock()
	count := c.count
	go func() {
		defer c.wg.Done()
		for {
			n, err := count()
			c.mu.Lock()
			if err == nil {
				c.n = n
			}
			if !c.again || c.paused {
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

// Pause stops counting until Resume and waits for a running count, so
// that the image can be closed.
func (c *objectCounter) Pause() {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.paused = true
	c.mu.Unlock()
	c.wg.Wait()
}

// Resume counts im's objects from now on, starting with a count.
func (c *objectCounter) Resume(im *image.Image) {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.paused, c.again = false, false
	c.count = recordsOf(im)
	c.mu.Unlock()
	c.Recount()
}

func recordsOf(im *image.Image) func() (int64, error) {
	return im.CountRecords
}
