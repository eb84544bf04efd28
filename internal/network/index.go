package network

import (
	"sort"
	"sync"

	"github.com/xinfang/petition-operator/api/v1alpha1"
)

// Index is the network model: every office by name with its parent and child
// links. The operator feeds it from the informer's events, petitionctl from
// files. Children are tracked by the parent name they declare, so offices
// waiting for a parent that does not exist yet are found when it appears.
// Ancestor and subtree queries take time proportional to their answer. An
// Index is safe for concurrent use; the offices it holds must not be
// modified.
type Index struct {
	mu       sync.RWMutex
	offices  map[string]*v1alpha1.Office
	children map[string]map[string]struct{} // parent name → child names
	// departments finds the Department offices by parent and code, which
	// routing asks for at every level of every office's path.
	departments map[departmentKey]map[string]struct{}
}

type departmentKey struct {
	parent string
	code   v1alpha1.DepartmentCode
}

// departmentKeyOf returns the key of a Department office, false for any
// other.
func departmentKeyOf(o *v1alpha1.Office) (departmentKey, bool) {
	if o.Spec.Level != v1alpha1.LevelDepartment || o.Spec.Parent == "" || o.Spec.Department == "" {
		return departmentKey{}, false
	}
	return departmentKey{parent: string(o.Spec.Parent), code: o.Spec.Department}, true
}

func (x *Index) addDepartment(o *v1alpha1.Office) {
	if k, ok := departmentKeyOf(o); ok {
		set := x.departments[k]
		if set == nil {
			set = map[string]struct{}{}
			x.departments[k] = set
		}
		set[o.Name] = struct{}{}
	}
}

func (x *Index) removeDepartment(o *v1alpha1.Office) {
	if k, ok := departmentKeyOf(o); ok {
		delete(x.departments[k], o.Name)
		if len(x.departments[k]) == 0 {
			delete(x.departments, k)
		}
	}
}

// NewIndex returns an index of the offices.
func NewIndex(offices ...*v1alpha1.Office) *Index {
	idx := &Index{
		offices:     make(map[string]*v1alpha1.Office, len(offices)),
		children:    map[string]map[string]struct{}{},
		departments: map[departmentKey]map[string]struct{}{},
	}
	for _, o := range offices {
		idx.Upsert(o)
	}
	return idx
}

// IndexOf returns an index of the offices of a slice, as files or a list
// hold them; it points into the slice.
func IndexOf(offices []v1alpha1.Office) *Index {
	ptrs := make([]*v1alpha1.Office, len(offices))
	for i := range offices {
		ptrs[i] = &offices[i]
	}
	return NewIndex(ptrs...)
}

// Upsert adds or replaces an office and returns the names of the offices whose
// place in the network the change may alter, the office itself first: its old
// and new parent (their children) and, when its parent or level changed or it
// is new, every office below it (their path).
func (x *Index) Upsert(o *v1alpha1.Office) []string {
	x.mu.Lock()
	defer x.mu.Unlock()
	old, existed := x.offices[o.Name]
	x.offices[o.Name] = o
	if existed {
		x.removeDepartment(old)
	}
	x.addDepartment(o)
	affected := []string{o.Name}
	if existed && old.Spec.Parent == o.Spec.Parent && old.Spec.Level == o.Spec.Level {
		return affected
	}
	if existed && old.Spec.Parent != "" && old.Spec.Parent != o.Spec.Parent {
		x.unlink(string(old.Spec.Parent), o.Name)
		affected = append(affected, string(old.Spec.Parent))
	}
	if p := string(o.Spec.Parent); p != "" {
		x.link(p, o.Name)
		affected = append(affected, p)
	}
	return append(affected, x.descendants(o.Name)...)
}

// Delete removes an office and returns the names of the offices whose place
// in the network that alters: its parent and every office below it.
func (x *Index) Delete(name string) []string {
	x.mu.Lock()
	defer x.mu.Unlock()
	old, existed := x.offices[name]
	if !existed {
		return nil
	}
	delete(x.offices, name)
	x.removeDepartment(old)
	var affected []string
	if p := string(old.Spec.Parent); p != "" {
		x.unlink(p, name)
		affected = append(affected, p)
	}
	return append(affected, x.descendants(name)...)
}

func (x *Index) link(parent, child string) {
	set := x.children[parent]
	if set == nil {
		set = map[string]struct{}{}
		x.children[parent] = set
	}
	set[child] = struct{}{}
}

func (x *Index) unlink(parent, child string) {
	delete(x.children[parent], child)
	if len(x.children[parent]) == 0 {
		delete(x.children, parent)
	}
}

// Get returns the office of that name.
func (x *Index) Get(name string) (*v1alpha1.Office, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	o, ok := x.offices[name]
	return o, ok
}

// All returns every office, in no particular order.
func (x *Index) All() []*v1alpha1.Office {
	x.mu.RLock()
	defer x.mu.RUnlock()
	out := make([]*v1alpha1.Office, 0, len(x.offices))
	for _, o := range x.offices {
		out = append(out, o)
	}
	return out
}

// Len returns the number of offices.
func (x *Index) Len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return len(x.offices)
}

// Children returns the names of the offices that declare name as their parent,
// sorted, whether or not name exists.
func (x *Index) Children(name string) []string {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return sortedKeys(x.children[name])
}

// Department returns the Department office with code among the children of
// parent. Should there be more than one (admission refuses that), it is the
// first by name. It is a map lookup: routing asks this for every rule at
// every level of every office's path.
func (x *Index) Department(parent string, code v1alpha1.DepartmentCode) (string, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	found := ""
	for name := range x.departments[departmentKey{parent: parent, code: code}] {
		if found == "" || name < found {
			found = name
		}
	}
	return found, found != ""
}

// Descendants returns every office below name, breadth first, each level
// sorted. A cycle is walked once.
func (x *Index) Descendants(name string) []string {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.descendants(name)
}

func (x *Index) descendants(name string) []string {
	var out []string
	seen := map[string]bool{name: true}
	queue := []string{name}
	for len(queue) > 0 {
		next := queue[0]
		queue = queue[1:]
		for _, c := range sortedKeys(x.children[next]) {
			if !seen[c] {
				seen[c] = true
				out = append(out, c)
				queue = append(queue, c)
			}
		}
	}
	return out
}

// Path returns the names from the City down to the office, or why the office
// does not fit into the network (see Path).
func (x *Index) Path(office *v1alpha1.Office) ([]string, *Problem) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return Path(office, func(name string) (*v1alpha1.Office, bool) {
		o, ok := x.offices[name]
		return o, ok
	})
}

func sortedKeys(set map[string]struct{}) []string {
	if len(set) == 0 {
		return nil
	}
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
