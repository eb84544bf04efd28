package netgen

import (
	"reflect"
	"strings"
	"testing"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/xinfang"
)

func levels(s *xinfang.Snapshot) map[v1alpha1.Level]int {
	count := map[v1alpha1.Level]int{}
	for _, o := range s.Offices {
		count[o.Spec.Level]++
	}
	return count
}

func TestGenerateShape(t *testing.T) {
	for _, tt := range []struct {
		opts Options
		want map[v1alpha1.Level]int
	}{
		{Options{Offices: 2000}, map[v1alpha1.Level]int{v1alpha1.LevelCity: 1, v1alpha1.LevelCounty: 20, v1alpha1.LevelTownship: 400, v1alpha1.LevelDepartment: 1579}},
		{Options{Offices: 500}, map[v1alpha1.Level]int{v1alpha1.LevelCity: 1, v1alpha1.LevelCounty: 5, v1alpha1.LevelTownship: 100, v1alpha1.LevelDepartment: 394}},
		{Options{Offices: 1}, map[v1alpha1.Level]int{v1alpha1.LevelCity: 1}},
		{Options{Offices: 2}, map[v1alpha1.Level]int{v1alpha1.LevelCity: 1, v1alpha1.LevelCounty: 1}},
		{Options{Offices: 10, Counties: 2, Townships: 3}, map[v1alpha1.Level]int{v1alpha1.LevelCity: 1, v1alpha1.LevelCounty: 2, v1alpha1.LevelTownship: 3, v1alpha1.LevelDepartment: 4}},
	} {
		s, err := Generate(tt.opts)
		if err != nil {
			t.Fatalf("Generate(%+v): %v", tt.opts, err)
		}
		if got := levels(s); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Generate(%+v) levels = %v, want %v", tt.opts, got, tt.want)
		}
		// Every generated network is valid by the rules the webhooks and
		// petitionctl validate apply.
		if problems := xinfang.ValidateSnapshot(s); len(problems) > 0 {
			t.Errorf("Generate(%+v) is not valid: %v", tt.opts, problems[0])
		}
	}
}

func TestGenerateParentsFirst(t *testing.T) {
	s, err := Generate(Options{Offices: 300, Prefix: "b-"})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, o := range s.Offices {
		if !strings.HasPrefix(o.Name, "b-") {
			t.Errorf("%s lacks the prefix", o.Name)
		}
		if p := string(o.Spec.Parent); p != "" && !seen[p] {
			t.Errorf("%s comes before its parent %s", o.Name, p)
		}
		seen[o.Name] = true
	}
}

func TestGenerateIsDeterministic(t *testing.T) {
	a, _ := Generate(Options{Offices: 200, Seed: 7})
	b, _ := Generate(Options{Offices: 200, Seed: 7})
	c, _ := Generate(Options{Offices: 200, Seed: 8})
	if !reflect.DeepEqual(a, b) {
		t.Error("the same seed gave two networks")
	}
	if reflect.DeepEqual(a, c) {
		t.Error("two seeds gave the same network")
	}
}

func TestGenerateRefusesImpossibleShapes(t *testing.T) {
	for _, o := range []Options{{Offices: 0}, {Offices: 5, Counties: 3, Townships: 3}, {Offices: 5, Counties: -1}} {
		if _, err := Generate(o); err == nil {
			t.Errorf("Generate(%+v) = nil error", o)
		}
	}
}
