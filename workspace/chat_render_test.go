package workspace

import (
	"testing"

	"github.com/phoenix-image/phoenix/browser/browsertest"
)

// TestChatRenders renders a chat on the headless GPU — a request, a plan
// run, an open and a closed tool row, an error and the answer — writes
// out/gui/chat.png and checks that the transcript drew something. Without
// a GPU it fails: it never skips.
func TestChatRenders(t *testing.T) {
	eng := &scriptedEngine{
		before: []ChatEvent{{Kind: "plan", Text: "1. Inspect Account\n2. Propose Account:withdraw with tests\n3. Report"}, {Kind: "confirm"}},
		after: []ChatEvent{
			{Kind: "tool", Tool: "inspect_object", Args: `{"name":"Account"}`},
			{Kind: "observation", Tool: "inspect_object", Text: "Account (object 12)\nslot balance = 0\nprototypes: Object"},
			{Kind: "thought", Text: "Account has a balance and no withdraw; I will propose one."},
			{Kind: "tool", Tool: "propose_method", Args: `{"object":"Account","selector":"withdraw","source":"function Account:withdraw(n) ... end"}`},
			{Kind: "observation", Tool: "propose_method", Text: "installed Account>>withdraw (sandbox: 1 passed, 0 failed)"},
			{Kind: "tool", Tool: "eval_in_sandbox", Args: `{"code":"return Account:clone():withdraw(3).balance"}`},
			{Kind: "observation", Tool: "eval_in_sandbox", Text: "error: attempt to perform arithmetic on a nil value"},
			{Kind: "error", Text: "the sandbox call failed"},
			{Kind: "answer", Text: "Account now understands withdraw(n): "},
			{Kind: "answer", Text: "it subtracts n from the balance."},
			{Kind: "done"},
		},
	}
	c := &Chat{Engine: eng, Known: func(n string) bool { return n == "Account" }, Inspect: func(string) {}}
	d := newChatDriver(t, c)
	d.typeInto("", "Accounts should support withdraw(n)")
	d.frame()
	d.click(d.find("Run"))
	d.frame()
	d.click(d.find("[+] → inspect_object"))
	if !d.shows("slot balance = 0") || !d.shows("it subtracts n") || !d.shows("Inspect Account") {
		t.Fatalf("the chat is not as scripted:\n%s", c.Transcript())
	}
	d.frame()
	img := browsertest.Shoot(t, d.size, &d.ops)
	browsertest.SavePNG(t, img, "chat.png")

	colours := browsertest.Colours(img)
	if len(colours) < 8 {
		t.Fatalf("the frame has %d distinct colours, want a rendered UI (at least 8)", len(colours))
	}
	bg := browsertest.Dominant(colours)
	ink := 0
	reds := 0
	// The link is drawn in link blue where the Router says it is.
	linkAt, ok := browsertest.Find(&d.r, "Inspect Account")
	if !ok {
		t.Fatal("no Inspect Account link")
	}
	links := 0
	for y := linkAt.Min.Y; y < linkAt.Max.Y; y++ {
		for x := linkAt.Min.X; x < linkAt.Max.X; x++ {
			if p := img.RGBAAt(x, y); p.B > 0x90 && p.R < 0x60 && p.G < 0x80 {
				links++
			}
		}
	}
	for y := 0; y < img.Bounds().Dy(); y++ {
		for x := 0; x < img.Bounds().Dx(); x++ {
			p := img.RGBAAt(x, y)
			if p != bg {
				ink++
			}
			if p.R > 0x90 && p.G < 0x60 && p.B < 0x60 {
				reds++
			}

		}
	}
	if ink < 20000 {
		t.Errorf("%d non-background pixels, want a transcript (at least 20000)", ink)
	}
	if links < 20 {
		t.Errorf("%d link-blue pixels, want the Inspect links drawn", links)
	}
	if reds < 20 {
		t.Errorf("%d red pixels, want the error drawn in red", reds)
	}
}
