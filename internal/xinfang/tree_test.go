package xinfang

import (
	"fmt"
	"strings"
	"testing"

	"github.com/xinfang/petition-operator/api/v1alpha1"
)

// row is the expected shape of a TreeRow.
type row struct {
	name     string
	prefix   string
	children int
	reason   string // the Problem's reason; "" for no problem
	message  string // the Problem's message, checked when reason is set
}

func checkRows(t *testing.T, got []TreeRow, want []row) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("Tree returned %d rows, want %d:\n%s", len(got), len(want), render(got))
	}
	for i := 0; i < len(got) && i < len(want); i++ {
		g, w := got[i], want[i]
		if g.Office == nil {
			t.Errorf("row %d: nil Office", i)
			continue
		}
		if g.Office.Name != w.name {
			t.Errorf("row %d: name %q, want %q", i, g.Office.Name, w.name)
		}
		if g.Prefix != w.prefix {
			t.Errorf("row %d (%s): prefix %q, want %q", i, g.Office.Name, g.Prefix, w.prefix)
		}
		// Every level of the tree draws three characters of prefix.
		if wantDepth := len([]rune(w.prefix)) / 3; g.Depth != wantDepth {
			t.Errorf("row %d (%s): depth %d, want %d", i, g.Office.Name, g.Depth, wantDepth)
		}
		if g.Children != w.children {
			t.Errorf("row %d (%s): children %d, want %d", i, g.Office.Name, g.Children, w.children)
		}
		switch {
		case w.reason == "" && g.Problem != nil:
			t.Errorf("row %d (%s): problem %+v, want none", i, g.Office.Name, *g.Problem)
		case w.reason != "" && g.Problem == nil:
			t.Errorf("row %d (%s): no problem, want %s", i, g.Office.Name, w.reason)
		case w.reason != "":
			if g.Problem.Reason != w.reason {
				t.Errorf("row %d (%s): reason %q, want %q", i, g.Office.Name, g.Problem.Reason, w.reason)
			}
			if w.message != "" && g.Problem.Message != w.message {
				t.Errorf("row %d (%s): message %q, want %q", i, g.Office.Name, g.Problem.Message, w.message)
			}
		}
	}
	if t.Failed() {
		t.Logf("tree:\n%s", render(got))
	}
}

func render(rows []TreeRow) string {
	var b strings.Builder
	for _, r := range rows {
		fmt.Fprintf(&b, "%s%s (%s, %d children)", r.Prefix, r.Office.Name, r.Office.Spec.Level, r.Children)
		if r.Problem != nil {
			fmt.Fprintf(&b, " [%s: %s]", r.Problem.Reason, r.Problem.Message)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// smallNetwork is one city, two counties, and townships and departments,
// listed out of order. Names are chosen so that sorting by name alone would
// give a different order than sorting by level then name.
func smallNetwork() []v1alpha1.Office {
	return []v1alpha1.Office{
		office("b-zhen-town", township, "zhenping"),
		office("a-nei-town", township, "neixiang"),
		office("zhenping", county, "nanyang"),
		office("z-zhen-dept", department, "zhenping"),
		office("nanyang", city, ""),
		office("c-zhen-town", township, "zhenping"),
		office("neixiang", county, "nanyang"),
		office("a-zhen-town", township, "zhenping"),
		office("y-nei-dept", department, "neixiang"),
		office("x-nei-dept", department, "neixiang"),
	}
}

// smallNetworkRows is the tree of smallNetwork:
//
//	nanyang
//	├─ neixiang
//	│  ├─ x-nei-dept
//	│  ├─ y-nei-dept
//	│  └─ a-nei-town
//	└─ zhenping
//	   ├─ z-zhen-dept
//	   ├─ a-zhen-town
//	   ├─ b-zhen-town
//	   └─ c-zhen-town
var smallNetworkRows = []row{
	{name: "nanyang", prefix: "", children: 2},
	{name: "neixiang", prefix: "├─ ", children: 3},
	{name: "x-nei-dept", prefix: "│  ├─ "},
	{name: "y-nei-dept", prefix: "│  ├─ "},
	{name: "a-nei-town", prefix: "│  └─ "},
	{name: "zhenping", prefix: "└─ ", children: 4},
	{name: "z-zhen-dept", prefix: "   ├─ "},
	{name: "a-zhen-town", prefix: "   ├─ "},
	{name: "b-zhen-town", prefix: "   ├─ "},
	{name: "c-zhen-town", prefix: "   └─ "},
}

func TestTree(t *testing.T) {
	tests := []struct {
		name    string
		offices []v1alpha1.Office
		want    []row
	}{
		{name: "nil", offices: nil, want: nil},
		{name: "empty", offices: []v1alpha1.Office{}, want: nil},
		{
			name:    "single city",
			offices: []v1alpha1.Office{office("nanyang", city, "")},
			want:    []row{{name: "nanyang", prefix: ""}},
		},
		{name: "small network", offices: smallNetwork(), want: smallNetworkRows},
		{
			// A Department sorts after a County whatever its name, and a
			// Township after a Department; the last child's subtree is
			// indented with spaces, the others' with a bar.
			name: "city departments after counties",
			offices: []v1alpha1.Office{
				office("aaa-dept", department, "nanyang"),
				office("zzz-county", county, "nanyang"),
				office("nanyang", city, ""),
				office("mmm-town", township, "zzz-county"),
				office("bbb-dept", department, "nanyang"),
			},
			want: []row{
				{name: "nanyang", prefix: "", children: 3},
				{name: "zzz-county", prefix: "├─ ", children: 1},
				{name: "mmm-town", prefix: "│  └─ "},
				{name: "aaa-dept", prefix: "├─ "},
				{name: "bbb-dept", prefix: "└─ "},
			},
		},
		{
			name: "several cities sorted by name",
			offices: []v1alpha1.Office{
				office("zz-city", city, ""),
				office("zz-county", county, "zz-city"),
				office("aa-city", city, ""),
				office("aa-county", county, "aa-city"),
				office("aa-town", township, "aa-county"),
			},
			want: []row{
				{name: "aa-city", prefix: "", children: 1},
				{name: "aa-county", prefix: "└─ ", children: 1},
				{name: "aa-town", prefix: "   └─ "},
				{name: "zz-city", prefix: "", children: 1},
				{name: "zz-county", prefix: "└─ "},
			},
		},
		{
			// Offices that do not fit come last, sorted by level then name,
			// without a prefix and with their problem. Children counts every
			// office naming the parent, also those that are not drawn under
			// it.
			name: "offices with problems",
			offices: append(smallNetwork(),
				office("lost-town", township, "ghost"),
				office("bad-town", township, "nanyang"),
				office("lone-county", county, ""),
				office("lone-county-town", township, "lone-county"),
				office("dept-town", township, "z-zhen-dept"),
				office("capital", city, "nanyang"),
			),
			want: append(
				[]row{
					{name: "nanyang", prefix: "", children: 4}, // neixiang, zhenping, bad-town, capital
					{name: "neixiang", prefix: "├─ ", children: 3},
					{name: "x-nei-dept", prefix: "│  ├─ "},
					{name: "y-nei-dept", prefix: "│  ├─ "},
					{name: "a-nei-town", prefix: "│  └─ "},
					{name: "zhenping", prefix: "└─ ", children: 4},
					{name: "z-zhen-dept", prefix: "   ├─ ", children: 1}, // dept-town
					{name: "a-zhen-town", prefix: "   ├─ "},
					{name: "b-zhen-town", prefix: "   ├─ "},
					{name: "c-zhen-town", prefix: "   └─ "},
				},
				row{name: "capital", reason: v1alpha1.ReasonInvalidLevel,
					message: `office "capital": a City has no parent ("nanyang" is a City)`},
				row{name: "lone-county", children: 1, reason: v1alpha1.ReasonInvalidLevel,
					message: `office "lone-county" is a County without a parent; only a City is a root`},
				row{name: "bad-town", reason: v1alpha1.ReasonInvalidLevel,
					message: `office "bad-town": the parent of a Township must be a County, not a City ("nanyang" is a City)`},
				row{name: "dept-town", reason: v1alpha1.ReasonInvalidLevel,
					message: `office "dept-town": the parent of a Township must be a County, not a Department ("z-zhen-dept" is a Department)`},
				row{name: "lone-county-town", reason: v1alpha1.ReasonInvalidLevel,
					message: `office "lone-county" is a County without a parent; only a City is a root`},
				row{name: "lost-town", reason: v1alpha1.ReasonParentMissing,
					message: `parent office "ghost" does not exist`},
			),
		},
		{
			name: "only problems",
			offices: []v1alpha1.Office{
				office("t", township, "missing"),
				office("c", county, "missing"),
			},
			want: []row{
				{name: "c", reason: v1alpha1.ReasonParentMissing, message: `parent office "missing" does not exist`},
				{name: "t", reason: v1alpha1.ReasonParentMissing, message: `parent office "missing" does not exist`},
			},
		},
		{
			name: "cycles",
			offices: []v1alpha1.Office{
				office("nanyang", city, ""),
				office("self", county, "self"),
				office("cy-town", township, "cy-county"),
				office("cy-county", county, "cy-city"),
				office("cy-city", city, "cy-town"),
			},
			want: []row{
				{name: "nanyang"},
				{name: "cy-city", children: 1, reason: v1alpha1.ReasonInvalidLevel,
					message: `office "cy-city": a City has no parent ("cy-town" is a Township)`},
				// From cy-county the walk takes cy-city → cy-town, a
				// disallowed hop, before it could return to cy-county.
				{name: "cy-county", children: 1, reason: v1alpha1.ReasonInvalidLevel,
					message: `office "cy-city": a City has no parent ("cy-town" is a Township)`},
				{name: "self", children: 1, reason: v1alpha1.ReasonInCycle,
					message: "the parent chain self returns to self"},
				{name: "cy-town", children: 1, reason: v1alpha1.ReasonInCycle,
					message: "the parent chain cy-town → cy-county → cy-city returns to cy-town"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkRows(t, Tree(tt.offices), tt.want)
		})
	}
}

// TestTreeRowsPointIntoInput checks that every office appears exactly once
// and that the rows point at the caller's offices, not at copies.
func TestTreeRowsPointIntoInput(t *testing.T) {
	offices := append(smallNetwork(), office("lost", township, "ghost"))
	rows := Tree(offices)
	if len(rows) != len(offices) {
		t.Fatalf("Tree returned %d rows for %d offices", len(rows), len(offices))
	}
	seen := map[*v1alpha1.Office]bool{}
	for _, r := range rows {
		if seen[r.Office] {
			t.Errorf("office %s appears twice", r.Office.Name)
		}
		seen[r.Office] = true
	}
	for i := range offices {
		if !seen[&offices[i]] {
			t.Errorf("office %s: no row points at the input element", offices[i].Name)
		}
	}
}

// TestTreeDoesNotReorderInput checks that Tree leaves its input alone.
func TestTreeDoesNotReorderInput(t *testing.T) {
	offices := smallNetwork()
	var before []string
	for _, o := range offices {
		before = append(before, o.Name)
	}
	Tree(offices)
	for i, o := range offices {
		if o.Name != before[i] {
			t.Fatalf("input reordered: element %d is %s, was %s", i, o.Name, before[i])
		}
	}
}
