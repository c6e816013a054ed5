package image

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

func TestPreferencesAppendTailAndSurvive(t *testing.T) {
	im := newImage(t)
	for i, sel := range []string{"withdraw", "deposit", "withdraw"} {
		p, err := im.AddPreference(&Preference{Kind: "rating", Object: "Account", Selector: sel, Approval: "a1",
			Data: json.RawMessage(`{ "score": ` + string(rune('3'+i)) + ` }`)})
		if err != nil {
			t.Fatal(err)
		}
		if p.Seq != uint64(i+1) || p.Time.IsZero() || string(p.Data) != `{"score":`+string(rune('3'+i))+`}` {
			t.Fatalf("stored %+v", p)
		}
	}
	if _, err := im.AddPreference(&Preference{Object: "Account"}); err == nil || !strings.Contains(err.Error(), "kind") {
		t.Fatalf("a preference without a kind: %v", err)
	}
	if _, err := im.AddPreference(&Preference{Kind: "rating", Object: "Account", Selector: "x", Data: json.RawMessage(`{`)}); err == nil ||
		!strings.Contains(err.Error(), "Account>>x") || !strings.Contains(err.Error(), "not valid JSON") {
		t.Fatalf("bad data: %v", err)
	}
	im = reopen(t, im)
	tail, err := im.PreferencesTail(2)
	if err != nil || len(tail) != 2 || tail[0].Seq != 3 || tail[1].Seq != 2 || tail[1].Selector != "deposit" {
		t.Fatalf("tail after reopen: %v %+v", err, tail)
	}
	var all []uint64
	if err := im.Preferences(func(p *Preference) error { all = append(all, p.Seq); return nil }); err != nil || len(all) != 3 || all[0] != 1 {
		t.Fatalf("all: %v %v", err, all)
	}
	p, err := im.AddPreference(&Preference{Kind: "choice", Object: "Account", Selector: "withdraw"})
	if err != nil || p.Seq != 4 {
		t.Fatalf("the seq does not continue after reopen: %+v %v", p, err)
	}
	rep, err := im.Verify(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range rep.Problems { // an empty store lacks a Lobby; the preferences must not be a problem
		if strings.Contains(p.What, "preference") || strings.Contains(p.What, "keyspace") || strings.Contains(p.What, "meta") {
			t.Errorf("verify: %+v", p)
		}
	}

	// Export and import keep them.
	var buf bytes.Buffer
	if _, err := im.Export(&buf, nil); err != nil {
		t.Fatal(err)
	}
	dest := filepath.Join(t.TempDir(), "copy.image")
	if _, err := Import(&buf, dest, nil); err != nil {
		t.Fatal(err)
	}
	cp, err := Open(dest, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer cp.Close()
	tail, err = cp.PreferencesTail(10)
	if err != nil || len(tail) != 4 || tail[0].Kind != "choice" || tail[3].Selector != "withdraw" {
		t.Fatalf("after import: %v %+v", err, tail)
	}
}

func TestCorruptPreferenceIsNamed(t *testing.T) {
	im := newImage(t)
	if _, err := im.AddPreference(&Preference{Kind: "rating"}); err != nil {
		t.Fatal(err)
	}
	if err := im.db.Set(prefKey(2), []byte("{not json"), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := im.PreferencesTail(5); err == nil || !strings.Contains(err.Error(), "preference 2: corrupt") {
		t.Fatalf("tail over a corrupt record: %v", err)
	}
	rep, err := im.Verify(nil)
	if err != nil || rep.OK() || !strings.Contains(fmt.Sprint(rep.Problems), "preference 2: corrupt") {
		t.Fatalf("verify: %v %+v", err, rep)
	}
}
