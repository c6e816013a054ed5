package image

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/phoenix-image/phoenix/vm"
)

// childEnv makes the test binary act as a helper process: with the value
// "hold:PATH" it opens the image at PATH, prints "ready" and holds it until
// its stdin is closed.
const childEnv = "PHOENIX_IMAGE_TEST_CHILD"

func TestMain(m *testing.M) {
	if v := os.Getenv(childEnv); v != "" {
		os.Exit(runChild(v))
	}
	code := m.Run()
	cleanupBenchFixtures()
	os.Exit(code)
}

func runChild(v string) int {
	path, ok := strings.CutPrefix(v, "hold:")
	if !ok {
		fmt.Println("bad child command", v)
		return 2
	}
	im, err := Open(path, Options{})
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	fmt.Println("ready")
	io.Copy(io.Discard, os.Stdin)
	if err := im.Close(); err != nil {
		fmt.Println("error:", err)
		return 1
	}
	return 0
}

// holdInChild starts a child process holding the image at path; the
// returned function releases it and waits for the child.
func holdInChild(t *testing.T, path string) (pid int, release func()) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=hold:"+path)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if strings.TrimSpace(line) != "ready" {
		stdin.Close()
		cmd.Wait()
		t.Fatalf("child did not open the image: %q %v", line, err)
	}
	done := false
	release = func() {
		if done {
			return
		}
		done = true
		stdin.Close()
		if err := cmd.Wait(); err != nil {
			t.Errorf("child: %v", err)
		}
	}
	t.Cleanup(release)
	return cmd.Process.Pid, release
}

// newImage creates an image in a fresh temp dir and closes it at cleanup.
func newImage(t testing.TB) *Image {
	t.Helper()
	im, err := Create(t.TempDir()+"/my.image", Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { im.Close() })
	return im
}

func reopen(t testing.TB, im *Image) *Image {
	t.Helper()
	if err := im.Close(); err != nil {
		t.Fatal(err)
	}
	im2, err := Open(im.Path(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { im2.Close() })
	return im2
}

func ref(o vm.OID) vm.Value             { return vm.Value{Kind: vm.VRef, Ref: o} }
func str(s string) vm.Value             { return vm.Value{Kind: vm.VString, Str: s} }
func num(f float64) vm.Value            { return vm.Value{Kind: vm.VNumber, Num: f} }
func slot(k string, v vm.Value) vm.Slot { return vm.Slot{Key: str(k), Val: v} }

// sampleRecords covers every value kind, traits with excludes and aliases,
// odd numbers and strings.
func sampleRecords() []*vm.Record {
	return []*vm.Record{
		{OID: vm.LobbyOID, Kind: vm.KindObject, Proto: vm.ObjectOID, Name: "Lobby", Slots: []vm.Slot{
			slot("Object", ref(vm.ObjectOID)), slot("Point", ref(100)), slot("T", ref(101)),
		}},
		{OID: vm.ObjectOID, Kind: vm.KindObject, Name: "Object"},
		{OID: 100, Kind: vm.KindObject, Proto: vm.ObjectOID, Name: "Point",
			Traits: []vm.TraitUse{{Trait: 101, Exclude: []string{"a", ""}, Aliases: []vm.Alias{{New: "p", Old: "q"}}}},
			Slots: []vm.Slot{
				slot("x", num(3)), slot("y", num(math.Copysign(0, -1))), slot("nan", num(math.NaN())),
				slot("inf", num(math.Inf(1))), slot("ninf", num(math.Inf(-1))),
				slot("t", vm.Value{Kind: vm.VTrue}), slot("f", vm.Value{Kind: vm.VFalse}), slot("nil", vm.Value{}),
				slot("m", vm.Value{Kind: vm.VMethod, Str: "function(self) return self.x end"}),
				slot("p", vm.Value{Kind: vm.VPrimitive, Str: "prim.print"}),
				{Key: num(1.5), Val: str("one and a half")},
				{Key: ref(102), Val: vm.Value{Kind: vm.VTrue}},
				slot("", str("\x00\xff binary \u00e9")),
			}},
		{OID: 101, Kind: vm.KindTrait, Name: "TPrintable", Slots: []vm.Slot{
			slot("q", vm.Value{Kind: vm.VMethod, Str: "function(self) end"}),
		}},
		{OID: 102, Kind: vm.KindTable, Slots: []vm.Slot{{Key: num(1), Val: ref(vm.LobbyOID)}}},
	}
}

// sameRecord compares records, numbers by their bits (so NaN equals NaN
// and -0 differs from 0), nil and empty slices alike.
func sameRecord(a, b *vm.Record) bool {
	if a.OID != b.OID || a.Kind != b.Kind || a.Proto != b.Proto || a.Name != b.Name ||
		len(a.Traits) != len(b.Traits) || len(a.Slots) != len(b.Slots) {
		return false
	}
	for i := range a.Traits {
		x, y := a.Traits[i], b.Traits[i]
		if x.Trait != y.Trait || len(x.Exclude) != len(y.Exclude) || len(x.Aliases) != len(y.Aliases) {
			return false
		}
		for j := range x.Exclude {
			if x.Exclude[j] != y.Exclude[j] {
				return false
			}
		}
		for j := range x.Aliases {
			if x.Aliases[j] != y.Aliases[j] {
				return false
			}
		}
	}
	for i := range a.Slots {
		if !sameValue(a.Slots[i].Key, b.Slots[i].Key) || !sameValue(a.Slots[i].Val, b.Slots[i].Val) {
			return false
		}
	}
	return true
}

func sameValue(a, b vm.Value) bool {
	return a.Kind == b.Kind && math.Float64bits(a.Num) == math.Float64bits(b.Num) && a.Str == b.Str && a.Ref == b.Ref
}

func sameChange(a, b vm.MethodChange) bool {
	return a.Owner == b.Owner && a.Selector == b.Selector && a.Time.Equal(b.Time) &&
		a.Author == b.Author && a.Old == b.Old && a.New == b.New && a.Note == b.Note
}

var t0 = time.Date(2025, 3, 14, 15, 9, 26, 535897932, time.UTC)

var testChange = vm.MethodChange{Owner: 42, Selector: "area", Time: t0, Author: vm.AuthorHuman, Old: "a", New: "b", Note: "n"}

// childOpen runs a child that tries to open the image at path and returns
// its output.
func childOpen(path string) (string, error) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=hold:"+path)
	cmd.Stdin = strings.NewReader("")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
