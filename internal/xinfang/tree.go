package xinfang

import (
	"sort"

	"github.com/xinfang/petition-operator/api/v1alpha1"
)

// TreeRow is one office in a printed hierarchy.
type TreeRow struct {
	// Office is the office of the row.
	Office *v1alpha1.Office
	// Prefix draws the tree lines before the name ("├─ ", "│  └─ ", …).
	Prefix string
	// Depth is the number of ancestors above the office in the tree.
	Depth int
	// Children is the number of offices whose parent is this one.
	Children int
	// Problem is why the office is not in the network, if it is not.
	Problem *Problem
}

// Tree orders offices as a depth-first walk of the hierarchy, each City
// followed by its subtree, children sorted by level then name. Offices that
// do not fit into the network (missing parent, wrong level, cycle) follow at
// the end with their problem.
func Tree(offices []v1alpha1.Office) []TreeRow {
	idx := NetworkOf(offices)
	children := func(name string) []*v1alpha1.Office {
		names := idx.Children(name)
		list := make([]*v1alpha1.Office, 0, len(names))
		for _, n := range names {
			if o, ok := idx.Get(n); ok {
				list = append(list, o)
			}
		}
		sortOffices(list)
		return list
	}

	var rows []TreeRow
	placed := make(map[string]bool, len(offices))
	var walk func(o *v1alpha1.Office, depth int, prefix, indent string)
	walk = func(o *v1alpha1.Office, depth int, prefix, indent string) {
		placed[o.Name] = true
		rows = append(rows, TreeRow{Office: o, Prefix: prefix, Depth: depth, Children: idx.ChildCount(o.Name)})
		var kids []*v1alpha1.Office
		for _, k := range children(o.Name) {
			if _, problem := idx.Path(k); problem == nil && !placed[k.Name] {
				kids = append(kids, k)
			}
		}
		for i, k := range kids {
			branch, next := "├─ ", "│  "
			if i == len(kids)-1 {
				branch, next = "└─ ", "   "
			}
			walk(k, depth+1, indent+branch, indent+next)
		}
	}
	var roots []*v1alpha1.Office
	for i := range offices {
		if offices[i].Spec.Level == v1alpha1.LevelCity && offices[i].Spec.Parent == "" {
			roots = append(roots, &offices[i])
		}
	}
	sortOffices(roots)
	for _, r := range roots {
		walk(r, 0, "", "")
	}
	var rest []*v1alpha1.Office
	for i := range offices {
		if !placed[offices[i].Name] {
			rest = append(rest, &offices[i])
		}
	}
	sortOffices(rest)
	for _, o := range rest {
		_, problem := idx.Path(o)
		rows = append(rows, TreeRow{Office: o, Children: idx.ChildCount(o.Name), Problem: problem})
	}
	return rows
}

var levelOrder = map[v1alpha1.Level]int{
	v1alpha1.LevelCity: 0, v1alpha1.LevelCounty: 1, v1alpha1.LevelDepartment: 2, v1alpha1.LevelTownship: 3, v1alpha1.LevelVillage: 4,
}

func sortOffices(list []*v1alpha1.Office) {
	sort.Slice(list, func(i, j int) bool {
		a, b := list[i], list[j]
		if levelOrder[a.Spec.Level] != levelOrder[b.Spec.Level] {
			return levelOrder[a.Spec.Level] < levelOrder[b.Spec.Level]
		}
		return a.Name < b.Name
	})
}
