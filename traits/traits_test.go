package traits

import (
	"reflect"
	"strings"
	"testing"
)

func TestComposeIsASetOperation(t *testing.T) {
	a := Use[int]{Name: "A", Methods: map[string]int{"x": 1, "y": 2}}
	b := Use[int]{Name: "B", Methods: map[string]int{"y": 3, "z": 4}}
	ab := Compose([]Use[int]{a, b})
	ba := Compose([]Use[int]{b, a})
	if !reflect.DeepEqual(ab, ba) {
		t.Fatalf("order changed the result: %v vs %v", ab, ba)
	}
	if got := ab.Conflicts["y"]; !reflect.DeepEqual(got, []string{"A", "B"}) {
		t.Fatalf("conflict on y: %v", got)
	}
	if _, ok := ab.Methods["y"]; ok {
		t.Fatal("a conflicting selector must not be in the method set")
	}
	if ab.Methods["x"] != 1 || ab.Methods["z"] != 4 {
		t.Fatalf("methods: %v", ab.Methods)
	}
}

func TestComposeExcludeAndAlias(t *testing.T) {
	a := Use[int]{Name: "A", Methods: map[string]int{"y": 2}, Exclude: []string{"y"}, Aliases: map[string]string{"ay": "y"}}
	b := Use[int]{Name: "B", Methods: map[string]int{"y": 3}}
	c := Compose([]Use[int]{a, b})
	if len(c.Conflicts) != 0 {
		t.Fatalf("conflicts: %v", c.Conflicts)
	}
	if c.Methods["y"] != 3 || c.Methods["ay"] != 2 {
		t.Fatalf("methods: %v", c.Methods)
	}
	// An alias that collides is itself a conflict.
	d := Use[int]{Name: "D", Methods: map[string]int{"ay": 9}}
	c = Compose([]Use[int]{a, b, d})
	if !reflect.DeepEqual(c.Conflicts["ay"], []string{"A@y", "D"}) {
		t.Fatalf("alias conflict: %v", c.Conflicts)
	}
}

func TestLibraryIsOrderedAndComplete(t *testing.T) {
	var names []string
	for _, s := range Library() {
		names = append(names, s.Name)
		if strings.TrimSpace(s.Code) == "" {
			t.Errorf("%s is empty", s.Name)
		}
	}
	want := []string{"00_testcase.lua", "10_comparable.lua", "11_enumerable.lua", "12_printable.lua", "90_tests.lua"}
	if !reflect.DeepEqual(names, want) {
		t.Fatalf("library: %v", names)
	}
}
