//go:build cgo

package main

import (
	"bytes"
	"testing"
	"time"
)

func TestWriteFirstFrame(t *testing.T) {
	var b bytes.Buffer
	writeFirstFrame(&b, 1234567*time.Microsecond)
	if got, want := b.String(), "phoenix: first frame after 1234.6 ms\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
