package xinfang

import (
	"fmt"
	"slices"
	"testing"

	"github.com/xinfang/petition-operator/api/v1alpha1"
)

// wideParent is a City, a County and n Departments under the County, each
// of its own code.
func wideParent(n int) *Snapshot {
	s := &Snapshot{Offices: make([]v1alpha1.Office, 0, n+2)}
	s.Offices = append(s.Offices, *ofc("city", city, ""), *ofc("county", county, "city"))
	for i := range n {
		s.Offices = append(s.Offices, *dept(fmt.Sprintf("dept-%05d", i), "county", v1alpha1.DepartmentCode(fmt.Sprintf("D%05d", i))))
	}
	return s
}

// countingWorld counts what the rules ask a World about siblings.
type countingWorld struct {
	World
	// children and departments count the calls, names the names they
	// returned: the siblings the rules then look at.
	children, departments, names int
}

func (w *countingWorld) Children(name string) []string {
	out := w.World.Children(name)
	w.children++
	w.names += len(out)
	return out
}

func (w *countingWorld) Departments(parent string, code v1alpha1.DepartmentCode) []string {
	out := w.World.Departments(parent, code)
	w.departments++
	w.names += len(out)
	return out
}

func TestIndexDepartments(t *testing.T) {
	idx := NewNetwork(
		ofc("city", city, ""),
		dept("hr-b", "city", "HumanResources"),
		dept("hr-a", "city", "HumanResources"),
		dept("nr", "city", "NaturalResources"),
		dept("county-hr", "county", "HumanResources"),
	)
	if got, want := idx.Departments("city", "HumanResources"), []string{"hr-a", "hr-b"}; !slices.Equal(got, want) {
		t.Errorf("Departments(city, HumanResources) = %q, want %q", got, want)
	}
	if got := idx.Departments("city", "Finance"); got != nil {
		t.Errorf("Departments(city, Finance) = %q, want none", got)
	}
	// A change of code moves the office; a deletion removes it.
	idx.Upsert(dept("hr-a", "city", "Finance"))
	idx.Delete("hr-b")
	if got := idx.Departments("city", "HumanResources"); got != nil {
		t.Errorf("Departments(city, HumanResources) after the changes = %q, want none", got)
	}
	if got, want := idx.Departments("city", "Finance"), []string{"hr-a"}; !slices.Equal(got, want) {
		t.Errorf("Departments(city, Finance) = %q, want %q", got, want)
	}
	// A Township is no Department, whatever code it carries.
	town := ofc("town", township, "city")
	town.Spec.Department = "NaturalResources"
	idx.Upsert(town)
	if got, want := idx.Departments("city", "NaturalResources"), []string{"nr"}; !slices.Equal(got, want) {
		t.Errorf("Departments(city, NaturalResources) = %q, want %q", got, want)
	}
}

func TestIndexChildrenSortedOnce(t *testing.T) {
	idx := NewNetwork(ofc("city", city, ""), ofc("b", county, "city"), ofc("a", county, "city"))
	got := idx.Children("city")
	if !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("Children(city) = %q, want [a b]", got)
	}
	kept := idx.children["city"].sorted.Load()
	if kept == nil {
		t.Fatal("the sorted children are not kept")
	}
	// The caller's copy is its own.
	got[0] = "changed"
	if again := idx.Children("city"); !slices.Equal(again, []string{"a", "b"}) || idx.children["city"].sorted.Load() != kept {
		t.Errorf("Children(city) again = %q, want [a b] from the list kept", again)
	}
	if n := idx.ChildCount("city"); n != 2 {
		t.Errorf("ChildCount(city) = %d, want 2", n)
	}
	// A change of the children drops the list; the next query sorts anew.
	idx.Upsert(ofc("0", county, "city"))
	if idx.children["city"].sorted.Load() != nil {
		t.Error("the sorted children are kept after a new child")
	}
	if got := idx.Children("city"); !slices.Equal(got, []string{"0", "a", "b"}) {
		t.Errorf("Children(city) = %q, want [0 a b]", got)
	}
	idx.Delete("a")
	if got := idx.Children("city"); !slices.Equal(got, []string{"0", "b"}) {
		t.Errorf("Children(city) after a deletion = %q, want [0 b]", got)
	}
	if got := idx.Descendants("city"); !slices.Equal(got, []string{"0", "b"}) {
		t.Errorf("Descendants(city) = %q, want [0 b]", got)
	}
	if n := idx.ChildCount("ghost"); n != 0 {
		t.Errorf("ChildCount(ghost) = %d, want 0", n)
	}
}

// TestValidateWideParent checks n Departments under one parent, two of them
// of one code: the duplicate is found on both, and the rules look at one
// sibling list per Department, answered from the index, never at all the
// children of the parent.
func TestValidateWideParent(t *testing.T) {
	const n = 10000
	s := wideParent(n)
	// The last Department takes the code of the first.
	s.Offices[len(s.Offices)-1].Spec.Department = "D00000"
	nw := s.Network()
	w := &countingWorld{World: nw}
	problems := validateSnapshot(s, nw, w)
	want := []string{
		`Office/dept-00000: spec.department: Duplicate value: "D00000": office "dept-09999" already is that department under "county"`,
		`Office/dept-09999: spec.department: Duplicate value: "D00000": office "dept-00000" already is that department under "county"`,
	}
	var got []string
	for _, p := range problems {
		got = append(got, p.String())
	}
	if !slices.Equal(got, want) {
		t.Errorf("problems = %q, want %q", got, want)
	}
	if w.children != 0 {
		t.Errorf("Children asked %d times, want never", w.children)
	}
	if w.departments != n {
		t.Errorf("Departments asked %d times, want once per Department (%d)", w.departments, n)
	}
	// Each Department sees itself, the two of one code each other too.
	if w.names != n+2 {
		t.Errorf("%d siblings looked at for %d Departments, want %d", w.names, n, n+2)
	}
}

// BenchmarkValidateWideParent applies the rules across objects to 10,000
// Departments under one County, as petitionctl validate does.
func BenchmarkValidateWideParent(b *testing.B) {
	s := wideParent(10000)
	b.ReportAllocs()
	for b.Loop() {
		if problems := ValidateSnapshot(s); len(problems) > 0 {
			b.Fatalf("%d problems, the first %s", len(problems), problems[0])
		}
	}
}
