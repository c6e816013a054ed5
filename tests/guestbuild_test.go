package tests

import (
	"debug/buildinfo"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/phoenix-image/phoenix/kernelhost/qemu"
)

// The guest's build of phoenix (tag phoenix_guest, which phoenix boot
// prefers) leaves out the Weaviate backend and its client; an image
// configured for Weaviate gets an error naming the backend and the build,
// and loses nothing.
func TestGuestBuildLeavesOutWeaviate(t *testing.T) {
	guestBin := filepath.Join(filepath.Dir(phoenixBin), qemu.GuestBinName)
	if ok, err := qemu.IsGuestBuild(guestBin); err != nil || !ok {
		t.Fatalf("IsGuestBuild(%s) = %v, %v; want true", guestBin, ok, err)
	}
	if ok, err := qemu.IsGuestBuild(phoenixBin); err != nil || ok {
		t.Fatalf("IsGuestBuild(%s) = %v, %v; want false", phoenixBin, ok, err)
	}
	linked := func(bin string) bool {
		bi, err := buildinfo.ReadFile(bin)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range bi.Deps {
			if strings.HasPrefix(d.Path, "github.com/weaviate/") {
				return true
			}
		}
		return false
	}
	if !linked(phoenixBin) || linked(guestBin) {
		t.Fatalf("Weaviate linked: host build %v (want true), guest build %v (want false)", linked(phoenixBin), linked(guestBin))
	}

	home := t.TempDir()
	img := filepath.Join(home, "w.image")
	if _, errOut, err := phoenix(t, home, "image", "new", img); err != nil {
		t.Fatalf("image new: %v %s", err, errOut)
	}
	if _, errOut, err := phoenix(t, home, "eval", "--image", img, `Memory.backend = "weaviate"; Memory.weaviateURL = "http://127.0.0.1:1"`); err != nil {
		t.Fatalf("eval: %v %s", err, errOut)
	}
	cmd := exec.Command(guestBin, "memory", "list", "--image", img)
	cmd.Env = append(os.Environ(), "XDG_DATA_HOME="+filepath.Join(home, "data"), "HOME="+home)
	got, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(got), "Weaviate backend") || !strings.Contains(string(got), "phoenix_guest") {
		t.Fatalf("memory list with Weaviate in the guest build: err %v, output %q; want an error naming the backend and the build", err, got)
	}
	// Nothing lost: the configuration is still there and the image works.
	out, errOut, err := phoenix(t, home, "eval", "--image", img, `return Memory.backend`)
	if err != nil || strings.TrimSpace(out) != "weaviate" {
		t.Fatalf("after the refusal: %q %q %v", out, errOut, err)
	}
}
