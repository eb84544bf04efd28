package xinfang

import (
	"fmt"
	"slices"
	"sync"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/xinfang/petition-operator/api/v1alpha1"
)

func ofc(name string, level v1alpha1.Level, parent string) *v1alpha1.Office {
	return &v1alpha1.Office{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1alpha1.OfficeSpec{Level: level, Parent: v1alpha1.OfficeName(parent)}}
}

func sample() *Network {
	return NewNetwork(
		ofc("city", v1alpha1.LevelCity, ""),
		ofc("county-a", v1alpha1.LevelCounty, "city"),
		ofc("county-b", v1alpha1.LevelCounty, "city"),
		ofc("town-a1", v1alpha1.LevelTownship, "county-a"),
		ofc("town-a2", v1alpha1.LevelTownship, "county-a"),
		ofc("dept-a", v1alpha1.LevelDepartment, "county-a"),
		ofc("town-b1", v1alpha1.LevelTownship, "county-b"),
	)
}

func TestIndexQueries(t *testing.T) {
	idx := sample()
	if idx.Len() != 7 {
		t.Fatalf("Len = %d", idx.Len())
	}
	if got := idx.Children("county-a"); !slices.Equal(got, []string{"dept-a", "town-a1", "town-a2"}) {
		t.Errorf("Children(county-a) = %v", got)
	}
	if got := idx.Children("town-a1"); got != nil {
		t.Errorf("Children of a leaf = %v", got)
	}
	if got := idx.Descendants("city"); !slices.Equal(got, []string{"county-a", "county-b", "dept-a", "town-a1", "town-a2", "town-b1"}) {
		t.Errorf("Descendants(city) = %v", got)
	}
	if got := idx.Descendants("county-b"); !slices.Equal(got, []string{"town-b1"}) {
		t.Errorf("Descendants(county-b) = %v", got)
	}
	town, _ := idx.Get("town-a2")
	if path, problem := idx.Path(town); problem != nil || !slices.Equal(path, []string{"city", "county-a", "town-a2"}) {
		t.Errorf("Path(town-a2) = %v, %v", path, problem)
	}
	if _, ok := idx.Get("nowhere"); ok {
		t.Error("Get of a missing office succeeded")
	}
}

func TestIndexAffected(t *testing.T) {
	cases := []struct {
		name   string
		change func(*Network) []string
		want   []string
	}{
		{"new leaf: itself and its parent", func(x *Network) []string {
			return x.Upsert(ofc("town-a3", v1alpha1.LevelTownship, "county-a"))
		}, []string{"town-a3", "county-a"}},
		{"spec change without a move: itself only", func(x *Network) []string {
			o := ofc("county-a", v1alpha1.LevelCounty, "city")
			o.Spec.DisplayName = "new name"
			return x.Upsert(o)
		}, []string{"county-a"}},
		{"move: old and new parent and the subtree", func(x *Network) []string {
			return x.Upsert(ofc("county-a", v1alpha1.LevelCounty, "county-b"))
		}, []string{"county-a", "city", "county-b", "dept-a", "town-a1", "town-a2"}},
		{"level change: the subtree", func(x *Network) []string {
			return x.Upsert(ofc("county-b", v1alpha1.LevelDepartment, "city"))
		}, []string{"county-b", "city", "town-b1"}},
		{"delete: parent and subtree", func(x *Network) []string { return x.Delete("county-a") },
			[]string{"city", "dept-a", "town-a1", "town-a2"}},
		{"delete of an unknown office", func(x *Network) []string { return x.Delete("nowhere") }, nil},
		{"a parent appears after its children", func(x *Network) []string {
			x.Upsert(ofc("late-town", v1alpha1.LevelTownship, "late-county"))
			return x.Upsert(ofc("late-county", v1alpha1.LevelCounty, "city"))
		}, []string{"late-county", "city", "late-town"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.change(sample()); !slices.Equal(got, tc.want) {
				t.Errorf("affected = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestIndexMoveAndDeleteKeepLinks(t *testing.T) {
	idx := sample()
	idx.Upsert(ofc("town-a1", v1alpha1.LevelTownship, "county-b"))
	if got := idx.Children("county-a"); !slices.Equal(got, []string{"dept-a", "town-a2"}) {
		t.Errorf("old parent's children = %v", got)
	}
	if got := idx.Children("county-b"); !slices.Equal(got, []string{"town-a1", "town-b1"}) {
		t.Errorf("new parent's children = %v", got)
	}
	idx.Delete("county-b")
	// Children of a deleted office still declare it: they wait for it.
	if got := idx.Children("county-b"); !slices.Equal(got, []string{"town-a1", "town-b1"}) {
		t.Errorf("children of a deleted parent = %v", got)
	}
	town, _ := idx.Get("town-b1")
	if _, problem := idx.Path(town); problem == nil || problem.Reason != v1alpha1.ReasonParentMissing {
		t.Errorf("Path of an orphan = %v", problem)
	}
	idx.Delete("town-a1")
	idx.Delete("town-b1")
	if got := idx.Children("county-b"); got != nil {
		t.Errorf("children after deleting them = %v", got)
	}
}

func TestIndexCycleIsWalkedOnce(t *testing.T) {
	idx := NewNetwork(ofc("a", v1alpha1.LevelCounty, "b"), ofc("b", v1alpha1.LevelCounty, "a"))
	if got := idx.Descendants("a"); !slices.Equal(got, []string{"b"}) {
		t.Errorf("Descendants in a cycle = %v", got)
	}
}

// TestIndexSubtreeCostFollowsTheAnswer checks that a subtree query visits
// only the subtree: a small county's subtree in a network of 20,000 offices.
func TestIndexSubtreeCostFollowsTheAnswer(t *testing.T) {
	idx := NewNetwork(ofc("city", v1alpha1.LevelCity, ""))
	for c := range 100 {
		county := fmt.Sprintf("county-%d", c)
		idx.Upsert(ofc(county, v1alpha1.LevelCounty, "city"))
		for i := range 200 {
			idx.Upsert(ofc(fmt.Sprintf("town-%d-%d", c, i), v1alpha1.LevelTownship, county))
		}
	}
	idx.Upsert(ofc("small", v1alpha1.LevelCounty, "city"))
	idx.Upsert(ofc("small-town", v1alpha1.LevelTownship, "small"))
	allocs := testing.AllocsPerRun(100, func() { _ = idx.Descendants("small") })
	if got := idx.Descendants("small"); !slices.Equal(got, []string{"small-town"}) {
		t.Fatalf("Descendants(small) = %v", got)
	}
	// A walk of the whole network would allocate per office; the subtree
	// of one child allocates a handful of times.
	if allocs > 20 {
		t.Errorf("Descendants of a one-office subtree allocated %.0f times", allocs)
	}
}

func TestIndexConcurrentUse(t *testing.T) {
	idx := sample()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 200 {
				name := fmt.Sprintf("t-%d-%d", i, j)
				idx.Upsert(ofc(name, v1alpha1.LevelTownship, "county-a"))
				_ = idx.Descendants("city")
				idx.Delete(name)
			}
		})
	}
	wg.Wait()
	if idx.Len() != 7 {
		t.Errorf("Len after concurrent churn = %d", idx.Len())
	}
}

func TestIndexDepartment(t *testing.T) {
	idx := NewNetwork(
		ofc("city", v1alpha1.LevelCity, ""),
		dept("hr-b", "city", "HumanResources"),
		dept("hr-a", "city", "HumanResources"),
		dept("nr", "city", "NaturalResources"),
		ofc("county", v1alpha1.LevelCounty, "city"),
		dept("county-hr", "county", "HumanResources"),
	)
	for _, tt := range []struct {
		parent string
		code   v1alpha1.DepartmentCode
		want   string
	}{
		{"city", "HumanResources", "hr-a"}, // two (admission refuses it): the first by name
		{"city", "NaturalResources", "nr"},
		{"county", "HumanResources", "county-hr"},
		{"county", "NaturalResources", ""},
		{"nowhere", "HumanResources", ""},
	} {
		got, ok := idx.Department(tt.parent, tt.code)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("Department(%s, %s) = %q, %v; want %q", tt.parent, tt.code, got, ok, tt.want)
		}
	}
}

// The department lookup follows every change: a code, a parent or a level
// changed, an office deleted.
func TestIndexDepartmentFollowsChanges(t *testing.T) {
	idx := NewNetwork(ofc("city", v1alpha1.LevelCity, ""), ofc("county", v1alpha1.LevelCounty, "city"), dept("hr", "city", "HumanResources"))
	expect := func(parent string, code v1alpha1.DepartmentCode, want string) {
		t.Helper()
		if got, _ := idx.Department(parent, code); got != want {
			t.Errorf("Department(%s, %s) = %q, want %q", parent, code, got, want)
		}
	}
	expect("city", "HumanResources", "hr")
	idx.Upsert(dept("hr", "city", "Audit"))
	expect("city", "HumanResources", "")
	expect("city", "Audit", "hr")
	idx.Upsert(dept("hr", "county", "Audit"))
	expect("city", "Audit", "")
	expect("county", "Audit", "hr")
	idx.Upsert(ofc("hr", v1alpha1.LevelCounty, "city"))
	expect("county", "Audit", "")
	idx.Upsert(dept("hr", "county", "Audit"))
	idx.Delete("hr")
	expect("county", "Audit", "")
}
