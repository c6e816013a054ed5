package tests

import (
	"context"
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"

	"github.com/phoenix-image/phoenix/bootstrap"
	"github.com/phoenix-image/phoenix/vm"
)

// TestLazyOpenLoadsWhatIsTouched: an image of 20000 objects, built by one
// phoenix process, is opened by another (this one) and asked for one of
// them; only the handful of objects on the way are loaded.
func TestLazyOpenLoadsWhatIsTouched(t *testing.T) {
	home := t.TempDir()
	img := newImage(t, home, "big.image")
	mustEval(t, home, img, "Items = {}; for i = 1, 20000 do local o = Object:clone(); o.i = i; Items[i] = o end")
	if got := mustEval(t, home, img, "return #Items"); got != "20000" {
		t.Fatalf("#Items = %s", got)
	}
	info, stderr, err := phoenix(t, home, "image", "info", "--image", img)
	if err != nil || !strings.Contains(info, "objects 200") {
		t.Fatalf("image info: %v\n%s%s", err, info, stderr)
	}

	ctx := context.Background()
	s, err := bootstrap.Open(ctx, img, bootstrap.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	loaded0, faults0 := s.VM.Loaded()
	res, err := s.VM.Eval(ctx, "return Items[777].i", vm.EvalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Values) != 1 || res.Values[0] != lua.LNumber(777) {
		t.Fatalf("Items[777].i = %v", res.Values)
	}
	loaded, faults := s.VM.Loaded()
	t.Logf("after open: %d loaded, %d faults; after Items[777].i: %d loaded, %d faults (of 20000+ objects)", loaded0, faults0, loaded, faults)
	if loaded >= 50 {
		t.Fatalf("%d objects loaded to read one of 20000", loaded)
	}
	// The Items table itself was loaded, and so was element 777; its
	// 19999 siblings are at most faults (which hold no data).
	if loaded <= loaded0 {
		t.Fatalf("nothing was loaded (%d before, %d after)", loaded0, loaded)
	}
	if loaded+faults > 20000+100 {
		t.Fatalf("%d loaded + %d faults: more objects than the image holds", loaded, faults)
	}
}
