//go:build cgo

package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// processStart approximates the start of the process (package variables
// are initialised before main runs).
var processStart = time.Now()

// firstFrameEnv names the environment variable that makes phoenix gui
// report its first drawn frame on stderr, for the launch benchmark
// (tests/guibench_test.go): "phoenix: first frame after N ms".
const firstFrameEnv = "PHOENIX_FIRST_FRAME"

// firstFrameLine is the start of the line reportFirstFrame prints.
const firstFrameLine = "phoenix: first frame after"

var firstFrameOnce sync.Once

// reportFirstFrame is called after every frame; it prints the line once,
// when $PHOENIX_FIRST_FRAME is set.
func reportFirstFrame() {
	firstFrameOnce.Do(func() {
		if os.Getenv(firstFrameEnv) != "" {
			writeFirstFrame(os.Stderr, time.Since(processStart))
		}
	})
}

func writeFirstFrame(w io.Writer, d time.Duration) {
	fmt.Fprintf(w, "%s %.1f ms\n", firstFrameLine, float64(d.Microseconds())/1000)
}
