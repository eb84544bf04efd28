package xinfang

import (
	"slices"
	"sync"
	"sync/atomic"

	"github.com/xinfang/petition-operator/api/v1alpha1"
)

// Network is the one model of the petition network: every office by name
// with its parent and child links, its departments and the joint reception
// centres it is stationed at, and (through Objects) the policies,
// calendars, duty periods and tenant defaults its offices compile against.
// It is what the rules across objects judge (World), what Compile reads,
// and what every part of the product answers "the network" with: the
// operator keeps one per process, fed by its informers on every replica
// (package cluster), for its reconcilers and its admission webhooks alike;
// petitionctl, the registry, bench and chaos build one from files or a
// list (Snapshot.Network).
//
// Children are tracked by the parent name they declare, so offices waiting
// for a parent that does not exist yet are found when it appears. Ancestor
// and subtree queries take time proportional to their answer. A Network is
// safe for concurrent use; the offices it holds must not be modified.
type Network struct {
	// objects answers what is not an office; set once, before use.
	objects  Objects
	mu       sync.RWMutex
	offices  map[string]*v1alpha1.Office
	children map[string]*childSet // parent name → child names
	// departments finds the Department offices by parent and code, which
	// routing asks for at every level of every office's path and
	// validation for every Department (no code twice under one parent).
	departments map[departmentKey]map[string]struct{}
	// stations finds the joint reception centres that name an office in
	// spec.jointReception.stationed: their configuration holds its windows.
	stations map[string]map[string]struct{}
}

// childSet is the names of the children of one parent, with their sorted
// list kept until the set changes: a parent of thousands of offices is not
// sorted again on every query.
type childSet struct {
	names map[string]struct{}
	// sorted is nil after a change. Readers under the read lock may set
	// it concurrently, each to the same list.
	sorted atomic.Pointer[[]string]
}

// list returns the names, sorted; it must not be modified.
func (c *childSet) list() []string {
	if c == nil {
		return nil
	}
	if p := c.sorted.Load(); p != nil {
		return *p
	}
	out := make([]string, 0, len(c.names))
	for k := range c.names {
		out = append(out, k)
	}
	slices.Sort(out)
	c.sorted.Store(&out)
	return out
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

func (x *Network) addStations(o *v1alpha1.Office) {
	if o.Spec.JointReception == nil {
		return
	}
	for _, n := range o.Spec.JointReception.Stationed {
		set := x.stations[string(n)]
		if set == nil {
			set = map[string]struct{}{}
			x.stations[string(n)] = set
		}
		set[o.Name] = struct{}{}
	}
}

func (x *Network) removeStations(o *v1alpha1.Office) {
	if o.Spec.JointReception == nil {
		return
	}
	for _, n := range o.Spec.JointReception.Stationed {
		delete(x.stations[string(n)], o.Name)
		if len(x.stations[string(n)]) == 0 {
			delete(x.stations, string(n))
		}
	}
}

// Stations returns the offices whose spec.jointReception.stationed names
// name, sorted, whether or not name exists: their configuration holds its
// windows, so a change of it reaches them.
func (x *Network) Stations(name string) []string {
	x.mu.RLock()
	defer x.mu.RUnlock()
	set := x.stations[name]
	if len(set) == 0 {
		return nil
	}
	out := make([]string, 0, len(set))
	for n := range set {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

func (x *Network) addDepartment(o *v1alpha1.Office) {
	if k, ok := departmentKeyOf(o); ok {
		set := x.departments[k]
		if set == nil {
			set = map[string]struct{}{}
			x.departments[k] = set
		}
		set[o.Name] = struct{}{}
	}
}

func (x *Network) removeDepartment(o *v1alpha1.Office) {
	if k, ok := departmentKeyOf(o); ok {
		delete(x.departments[k], o.Name)
		if len(x.departments[k]) == 0 {
			delete(x.departments, k)
		}
	}
}

// NewNetwork returns the network of the offices, with no other objects
// (WithObjects gives them).
func NewNetwork(offices ...*v1alpha1.Office) *Network {
	idx := &Network{
		offices:     make(map[string]*v1alpha1.Office, len(offices)),
		children:    map[string]*childSet{},
		departments: map[departmentKey]map[string]struct{}{},
		stations:    map[string]map[string]struct{}{},
		objects:     noObjects{},
	}
	for _, o := range offices {
		idx.Upsert(o)
	}
	return idx
}

// NetworkOf returns the network of the offices of a slice, as files or a
// list hold them, with no other objects (WithObjects gives them); it points
// into the slice.
func NetworkOf(offices []v1alpha1.Office) *Network {
	ptrs := make([]*v1alpha1.Office, len(offices))
	for i := range offices {
		ptrs[i] = &offices[i]
	}
	return NewNetwork(ptrs...)
}

// Upsert adds or replaces an office and returns the names of the offices whose
// place in the network the change may alter, the office itself first: its old
// and new parent (their children) and, when its parent or level changed or it
// is new, every office below it (their path).
func (x *Network) Upsert(o *v1alpha1.Office) []string {
	x.mu.Lock()
	defer x.mu.Unlock()
	old, existed := x.offices[o.Name]
	x.offices[o.Name] = o
	if existed {
		x.removeDepartment(old)
		x.removeStations(old)
	}
	x.addDepartment(o)
	x.addStations(o)
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
func (x *Network) Delete(name string) []string {
	x.mu.Lock()
	defer x.mu.Unlock()
	old, existed := x.offices[name]
	if !existed {
		return nil
	}
	delete(x.offices, name)
	x.removeDepartment(old)
	x.removeStations(old)
	var affected []string
	if p := string(old.Spec.Parent); p != "" {
		x.unlink(p, name)
		affected = append(affected, p)
	}
	return append(affected, x.descendants(name)...)
}

func (x *Network) link(parent, child string) {
	set := x.children[parent]
	if set == nil {
		set = &childSet{names: map[string]struct{}{}}
		x.children[parent] = set
	}
	if _, ok := set.names[child]; !ok {
		set.names[child] = struct{}{}
		set.sorted.Store(nil)
	}
}

func (x *Network) unlink(parent, child string) {
	set := x.children[parent]
	if set == nil {
		return
	}
	delete(set.names, child)
	set.sorted.Store(nil)
	if len(set.names) == 0 {
		delete(x.children, parent)
	}
}

// Get returns the office of that name.
func (x *Network) Get(name string) (*v1alpha1.Office, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	o, ok := x.offices[name]
	return o, ok
}

// All returns every office, in no particular order.
func (x *Network) All() []*v1alpha1.Office {
	x.mu.RLock()
	defer x.mu.RUnlock()
	out := make([]*v1alpha1.Office, 0, len(x.offices))
	for _, o := range x.offices {
		out = append(out, o)
	}
	return out
}

// Len returns the number of offices.
func (x *Network) Len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return len(x.offices)
}

// Children returns the names of the offices that declare name as their parent,
// sorted, whether or not name exists. The sorted list is kept until the
// children change, so asking again costs a copy, not a sort.
func (x *Network) Children(name string) []string {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return slices.Clone(x.children[name].list())
}

// ChildCount returns the number of offices that declare name as their
// parent.
func (x *Network) ChildCount(name string) int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if set := x.children[name]; set != nil {
		return len(set.names)
	}
	return 0
}

// Department returns the Department office with code among the children of
// parent. Should there be more than one (admission refuses that), it is the
// first by name. It is a map lookup: routing asks this for every rule at
// every level of every office's path.
func (x *Network) Department(parent string, code v1alpha1.DepartmentCode) (string, bool) {
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

// Departments returns the Department offices with code among the children
// of parent, sorted: one in a valid network. It is a map lookup, so that
// checking every Department of a parent for a code twice is linear in their
// number, not quadratic.
func (x *Network) Departments(parent string, code v1alpha1.DepartmentCode) []string {
	x.mu.RLock()
	defer x.mu.RUnlock()
	set := x.departments[departmentKey{parent: parent, code: code}]
	if len(set) == 0 {
		return nil
	}
	out := make([]string, 0, len(set))
	for name := range set {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

// Descendants returns every office below name, breadth first, each level
// sorted. A cycle is walked once.
func (x *Network) Descendants(name string) []string {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.descendants(name)
}

func (x *Network) descendants(name string) []string {
	var out []string
	seen := map[string]bool{name: true}
	queue := []string{name}
	for len(queue) > 0 {
		next := queue[0]
		queue = queue[1:]
		for _, c := range x.children[next].list() {
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
func (x *Network) Path(office *v1alpha1.Office) ([]string, *Problem) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return Path(office, func(name string) (*v1alpha1.Office, bool) {
		o, ok := x.offices[name]
		return o, ok
	})
}
