package browser

import (
	"image"
	"strings"
	"testing"

	"gioui.org/io/key"
	lua "github.com/yuin/gopher-lua"

	"github.com/phoenix-image/phoenix/browser/browsertest"
)

// TestBrowserAddSlotForm drives the add-slot form: a bad expression, a
// nil value and a name the object has are refused inline with nothing
// committed and the typing kept; a good one is one transaction, closes
// the form and selects the new slot.
func TestBrowserAddSlotForm(t *testing.T) {
	v, st := editImage(t)
	d := newDriver(t, VMImage{VM: v})
	d.click(d.find(0, "Bank"))
	d.click(d.find(1, "Add slot"))
	eds := d.paneEditors(1)
	if len(eds) != 2 {
		t.Fatalf("%d editors in the middle pane, want the form's name and value", len(eds))
	}
	d.typeAt(eds[0], "rate")
	d.typeAt(eds[1], "1 +")
	before := st.commits.Load()
	d.click(d.find(1, "Create slot"))
	errText := d.b.AddSlotErr()
	if !strings.HasPrefix(errText, "adding slot Bank.rate: ") {
		t.Fatalf("form error %q", errText)
	}
	if !d.showsIn(1, "adding slot Bank.rate: ") {
		t.Fatal("the error is not shown in the form")
	}
	if st.commits.Load() != before || evalValue(t, v, "return rawget(Bank, 'rate')") != lua.LNil {
		t.Fatal("a failed add changed the image")
	}
	if d.b.ed.SlotName.Text() != "rate" || d.b.ed.SlotValue.Text() != "1 +" {
		t.Fatal("the form lost what was typed")
	}

	// A nil value is refused too.
	d.replaceAt(eds[1], "1 +", "Bank.nothing")
	d.click(d.find(1, "Create slot"))
	if !strings.Contains(d.b.AddSlotErr(), "is nil, which makes no slot") || st.commits.Load() != before {
		t.Fatalf("nil value: %q", d.b.AddSlotErr())
	}

	// A good expression, with Enter in the value field: one transaction.
	d.replaceAt(eds[1], "Bank.nothing", "{interest = 3 * 2}")
	commitsOf(t, d, st, "Add slot", func() { d.press(key.NameReturn, 0) })
	if got := evalValue(t, v, "return Bank.rate.interest"); got != lua.LNumber(6) {
		t.Fatalf("Bank.rate.interest = %v", got)
	}
	if d.b.AddSlotErr() != "" || len(d.paneEditors(1)) != 0 {
		t.Fatalf("the form is still open (error %q)", d.b.AddSlotErr())
	}
	d.frame()
	if !d.showsIn(1, "rate = ") || !d.showsIn(1, "Remove slot rate") {
		t.Fatal("the new slot is not listed and selected")
	}

	// The name is taken now.
	d.click(d.find(1, "Add slot"))
	eds = d.paneEditors(1)
	d.typeAt(eds[0], "rate")
	d.typeAt(eds[1], "1")
	before = st.commits.Load()
	d.click(d.find(1, "Create slot"))
	if !strings.Contains(d.b.AddSlotErr(), "Bank already has it") || st.commits.Load() != before {
		t.Fatalf("taken name: %q", d.b.AddSlotErr())
	}
	d.click(d.find(1, "Cancel"))
	if len(d.paneEditors(1)) != 0 {
		t.Fatal("Cancel left the form open")
	}
}

// replaceAt focuses the editor at p and replaces its text old with s.
func (d *driver) replaceAt(p image.Point, old, s string) {
	d.click(p)
	d.r.Queue(key.EditEvent{Range: key.Range{Start: 0, End: len([]rune(old))}, Text: s})
	d.frame()
}

// showsIn reports whether some widget of pane has text containing s.
func (d *driver) showsIn(pane int, s string) bool {
	for _, n := range d.nodes() {
		if d.inPane(pane, n.Desc.Bounds) && strings.Contains(d.label(n), s) {
			return true
		}
	}
	return false
}

// TestBrowserAddSlotFormRenders renders the add-slot form with an error
// (and the traits form with one),
// writes out/gui/browser-addslot.png and checks that the form's fields
// and its error (in red) are drawn where the Router says they are.
func TestBrowserAddSlotFormRenders(t *testing.T) {
	v, _ := editImage(t)
	d := newDriver(t, VMImage{VM: v})
	d.click(d.find(0, "Bank"))
	d.click(d.find(1, "Add slot"))
	eds := d.paneEditors(1)
	d.typeAt(eds[0], "rate")
	d.typeAt(eds[1], "1 +")
	d.click(d.find(1, "Create slot"))
	d.click(d.find(1, "Traits…"))
	d.typeAt(d.paneEditors(1)[2], "Nope")
	d.click(d.find(1, "Use trait"))
	d.frame()
	img := browsertest.Shoot(t, d.size, &d.ops)
	browsertest.SavePNG(t, img, "browser-addslot.png")
	bg := browsertest.Dominant(browsertest.Colours(img))
	var errAt, formAt, traitErrAt image.Rectangle
	for _, n := range d.nodes() {
		l := d.label(n)
		if strings.HasPrefix(l, "Bank using Nope") && traitErrAt.Empty() {
			traitErrAt = n.Desc.Bounds
		}
		if strings.HasPrefix(l, "adding slot Bank.rate") && errAt.Empty() {
			errAt = n.Desc.Bounds
		}
		if strings.HasPrefix(l, "New slot of Bank") && formAt.Empty() {
			formAt = n.Desc.Bounds
		}
	}
	if errAt.Empty() || formAt.Empty() || traitErrAt.Empty() {
		t.Fatal("the forms' caption or errors are not on screen")
	}
	if ink := browsertest.Ink(img, traitErrAt, bg); ink < 50 {
		t.Errorf("the traits form's error has %d ink pixels", ink)
	}
	if ink := browsertest.Ink(img, formAt, bg); ink < 50 {
		t.Errorf("the form's caption has %d ink pixels", ink)
	}
	reds := 0
	for y := errAt.Min.Y; y < errAt.Max.Y; y++ {
		for x := errAt.Min.X; x < errAt.Max.X; x++ {
			if p := img.RGBAAt(x, y); p.R > 0x90 && p.G < 0x70 && p.B < 0x70 {
				reds++
			}
		}
	}
	if reds < 50 {
		t.Errorf("%d red pixels in the error, want it drawn in red", reds)
	}
}

// TestBrowserTraitsForm drives the traits form: use a trait, see a
// conflict refused in the form with nothing committed, keep another
// trait's exclusions when one is added, and stop using one.
func TestBrowserTraitsForm(t *testing.T) {
	v, st := editImage(t)
	for _, src := range []string{
		"Loud = Trait:clone(); function Loud:speak() return 'LOUD' end; function Loud:shout() return 'HEY' end",
		"Quiet = Trait:clone(); function Quiet:speak() return 'psst' end",
		"Bank:uses(Loud:exclude('speak'))",
	} {
		evalValue(t, v, src)
	}
	d := newDriver(t, VMImage{VM: v})
	use := func(obj, trait, button string) {
		t.Helper()
		d.click(d.find(0, obj))
		d.click(d.find(1, "Traits…"))
		eds := d.paneEditors(1)
		if len(eds) != 1 {
			t.Fatalf("%d editors in the middle pane, want the trait's name", len(eds))
		}
		d.typeAt(eds[0], trait)
		d.click(d.find(1, button))
	}
	commitsOf(t, d, st, "use Loud", func() { use("Account", "Loud", "Use trait") })
	if got := evalValue(t, v, "return Account:clone():speak()"); got != lua.LString("LOUD") {
		t.Fatalf("Account speaks %v", got)
	}
	d.frame()
	if !d.showsIn(1, "Loud") || d.b.TraitErr() != "" {
		t.Fatalf("the view does not list Loud (error %q)", d.b.TraitErr())
	}

	// Quiet conflicts with Loud on speak: refused, in the form.
	before := st.commits.Load()
	use("Account", "Quiet", "Use trait")
	if e := d.b.TraitErr(); !strings.Contains(e, "speak") || !strings.Contains(e, "Loud") || !strings.Contains(e, "Quiet") {
		t.Fatalf("conflict error %q does not name the selector and both traits", e)
	}
	if !d.showsIn(1, "Account using Quiet") || st.commits.Load() != before {
		t.Fatal("the conflict is not shown in the form, or something was committed")
	}
	if us := v.Global("Account").Traits(); len(us) != 1 {
		t.Fatalf("Account's traits after the refused conflict: %+v", us)
	}
	d.click(d.find(1, "Cancel"))

	// Bank excludes Loud's speak, so Quiet composes; the exclusion stays.
	commitsOf(t, d, st, "use Quiet", func() { use("Bank", "Quiet", "Use trait") })
	if got := evalValue(t, v, "return Bank:clone():speak() .. Bank:clone():shout()"); got != lua.LString("psstHEY") {
		t.Fatalf("Bank says %v", got)
	}
	us := v.Global("Bank").Traits()
	if len(us) != 2 || len(us[0].Exclude) != 1 || us[0].Exclude[0] != "speak" {
		t.Fatalf("Bank's traits %+v: Loud's exclusion was lost", us)
	}

	commitsOf(t, d, st, "stop using Loud", func() { use("Account", "Loud", "Stop using trait") })
	if got := evalValue(t, v, "return Account.speak"); got != lua.LNil {
		t.Fatalf("Account still speaks: %v", got)
	}
	before = st.commits.Load()
	use("Account", "Nope", "Use trait")
	if !strings.Contains(d.b.TraitErr(), `no trait "Nope"`) || st.commits.Load() != before {
		t.Fatalf("unknown trait: %q", d.b.TraitErr())
	}
}
