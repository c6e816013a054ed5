package sandbox

import (
	"context"
	"runtime/metrics"
	"time"
)

// WatchMemory returns a context that is cancelled with cause ErrMemory when
// the Go heap of this process grows past limit bytes, so that a runaway
// candidate ends as a reported sandbox failure before the hard rlimit kills
// the process. It polls every few milliseconds until the context ends. It
// is for a process that does nothing but validate (phoenix sandbox-exec).
func WatchMemory(ctx context.Context, limit uint64) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(ctx)
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	go func() {
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			metrics.Read(sample)
			if sample[0].Value.Kind() == metrics.KindUint64 && sample[0].Value.Uint64() > limit {
				cancel(ErrMemory)
				return
			}
		}
	}()
	return ctx, func() { cancel(context.Canceled) }
}
