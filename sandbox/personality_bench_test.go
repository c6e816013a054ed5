package sandbox

import (
	"context"
	"slices"
	"testing"
	"time"
)

// benchPersonality times one command per iteration and reports the median;
// before each, cold stops the personality, so the time is a start (runsc
// run of the sleeper) plus the command's runsc exec.
func benchPersonality(b *testing.B, cold bool, shell string) {
	p := newPersonalities(b, PersonalityOptions{})
	ctx := context.Background()
	if !cold {
		if _, err := p.Start(ctx, debian); err != nil {
			b.Fatal(err)
		}
	}
	var each []time.Duration
	for b.Loop() {
		if cold {
			b.StopTimer()
			p.Stop(debian.Name)
			b.StartTimer()
		}
		start := time.Now()
		res, err := p.RunCommand(ctx, debian, Command{Shell: shell})
		each = append(each, time.Since(start))
		if err != nil || !res.OK() || res.Started != cold {
			b.Fatalf("%v %+v", err, res)
		}
	}
	slices.Sort(each)
	b.ReportMetric(float64(each[len(each)/2].Nanoseconds()), "median-ns/op")
}

// BenchmarkPersonalityColdStart: start the Debian personality and run
// `true` in it.
func BenchmarkPersonalityColdStart(b *testing.B) { benchPersonality(b, true, "true") }

// BenchmarkPersonalityWarmCommand: `true` in the running personality.
func BenchmarkPersonalityWarmCommand(b *testing.B) { benchPersonality(b, false, "true") }

// BenchmarkPersonalityWarmCowsay: the walkthrough's command (a shell, shuf,
// perl's cowsay) in the running personality.
func BenchmarkPersonalityWarmCowsay(b *testing.B) {
	benchPersonality(b, false, "shuf -n1 /usr/share/phoenix/os-jokes.txt | cowsay")
}
