package xinfang

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/xinfang/petition-operator/api/v1alpha1"
)

// The kinds a reference may name.
const (
	KindOffice           = "Office"
	KindRoutingPolicy    = "RoutingPolicy"
	KindEscalationPolicy = "EscalationPolicy"
	KindHolidayCalendar  = "HolidayCalendar"
)

// World is what the rules across objects need to know about the rest of the
// network. The admission webhooks answer it from the operator's cache,
// petitionctl validate from the files it reads.
type World interface {
	// Office returns the office of that name.
	Office(name string) (*v1alpha1.Office, bool)
	// Children returns the names of the offices whose spec.parent is name.
	Children(name string) []string
	// Departments returns the names of the Department offices whose
	// spec.parent is parent and spec.department is code, sorted. Answered
	// from an index, it keeps the check for a code twice under one parent
	// from reading every sibling of every Department.
	Departments(parent string, code v1alpha1.DepartmentCode) []string
	// Exists reports whether an object of kind (an EscalationPolicy, a
	// HolidayCalendar or a RoutingPolicy) and name exists.
	Exists(kind, name string) bool
}

// Findings are the results of the rules across objects for one object.
type Findings struct {
	// Errors make the object invalid whatever else is applied: the cluster
	// refuses it and petitionctl validate reports it.
	Errors field.ErrorList
	// Pending are references to objects that do not exist (yet). A GitOps
	// tool may apply a network in any order, so the cluster accepts them
	// with a warning and the object waits, not Ready, until they appear;
	// petitionctl validate, which sees the whole change, reports them as
	// errors.
	Pending field.ErrorList
}

// All returns the errors followed by the pending references.
func (f Findings) All() field.ErrorList {
	return append(append(field.ErrorList{}, f.Errors...), f.Pending...)
}

// maxDepth bounds the walk up a parent chain; a valid network is four levels
// deep.
const maxDepth = 64

// CheckOffice applies the rules the schema cannot express to office o: its
// windows and time zone; the level of its parent; no cycle through o; no
// department code twice under one parent; and that what it references
// exists.
func CheckOffice(o *v1alpha1.Office, w World) Findings {
	var f Findings
	spec := field.NewPath("spec")
	if _, err := NewWindowSet(o.Spec.TimeZone, CompileWindows(o), nil); err != nil {
		f.Errors = append(f.Errors, pathError(spec, err))
	}
	if parentName := string(o.Spec.Parent); parentName != "" && parentName != o.Name {
		f.checkParent(o, parentName, w)
	}
	f.checkJointReception(o, w)
	if ref := string(o.Spec.CalendarRef); ref != "" && !w.Exists(KindHolidayCalendar, ref) {
		f.Pending = append(f.Pending, missing(spec.Child("calendarRef"), KindHolidayCalendar, ref))
	}
	if ref := string(o.Spec.Escalation.PolicyRef); ref != "" && ref != v1alpha1.DefaultEscalationPolicy && !w.Exists(KindEscalationPolicy, ref) {
		f.Pending = append(f.Pending, missing(spec.Child("escalation", "policyRef"), KindEscalationPolicy, ref))
	}
	if sup := string(o.Spec.Escalation.Supervisor); sup != "" && sup != o.Name {
		if _, ok := w.Office(sup); !ok {
			f.Pending = append(f.Pending, missing(spec.Child("escalation", "supervisor"), KindOffice, sup))
		}
	}
	for i, r := range o.Spec.Routing.Rules {
		if to := string(r.RouteTo.Office); to != "" && to != o.Name {
			if _, ok := w.Office(to); !ok {
				f.Pending = append(f.Pending, missing(spec.Child("routing", "rules").Index(i).Child("routeTo", "office"), KindOffice, to))
			}
		}
	}
	return f
}

func (f *Findings) checkParent(o *v1alpha1.Office, parentName string, w World) {
	fld := field.NewPath("spec", "parent")
	parent, ok := w.Office(parentName)
	if !ok {
		f.Pending = append(f.Pending, missing(fld, KindOffice, parentName))
		return
	}
	if cycle := cycleThrough(o, w); cycle != nil {
		f.Errors = append(f.Errors, field.Invalid(fld, parentName,
			fmt.Sprintf("the parent chain %s is a cycle", strings.Join(cycle, " → "))))
	}
	if err := CheckParentLevel(o.Spec.Level, parent.Spec.Level); err != nil {
		f.Errors = append(f.Errors, field.Invalid(fld, parentName, fmt.Sprintf("%v (%q is a %s)", err, parentName, parent.Spec.Level)))
	}
	if o.Spec.Level == v1alpha1.LevelDepartment && o.Spec.Department != "" {
		for _, sibling := range w.Departments(parentName, o.Spec.Department) {
			if sibling == o.Name {
				continue
			}
			f.Errors = append(f.Errors, &field.Error{Type: field.ErrorTypeDuplicate, Field: "spec.department",
				BadValue: string(o.Spec.Department),
				Detail:   fmt.Sprintf("office %q already is that department under %q", sibling, parentName)})
			break
		}
	}
}

// cycleThrough returns the parent chain from o back to o when o's parent
// leads back to it, with o as it would be stored.
func cycleThrough(o *v1alpha1.Office, w World) []string {
	chain := []string{o.Name}
	next := string(o.Spec.Parent)
	for range maxDepth {
		if next == "" {
			return nil
		}
		chain = append(chain, next)
		if next == o.Name {
			return chain
		}
		cur, ok := w.Office(next)
		if !ok {
			return nil
		}
		next = string(cur.Spec.Parent)
	}
	return nil
}

// CheckOfficeChildren refuses a change of o (typically of its level) that
// would leave an office naming o as its parent at a level that may not sit
// under it. Offline, each child reports the same problem on its own
// spec.parent, so only the webhook calls this.
func CheckOfficeChildren(o *v1alpha1.Office, w World) field.ErrorList {
	var errs field.ErrorList
	for _, name := range slices.Sorted(slices.Values(w.Children(o.Name))) {
		child, ok := w.Office(name)
		if !ok || name == o.Name {
			continue
		}
		if err := CheckParentLevel(child.Spec.Level, o.Spec.Level); err != nil {
			errs = append(errs, field.Invalid(field.NewPath("spec", "level"), o.Spec.Level,
				fmt.Sprintf("office %q names this office as its parent and would not fit: %v", name, err)))
		}
	}
	return errs
}

// CheckWaitingDepartments refuses to create office o while two offices that
// already name it as their parent are the same department. Children applied
// before their parent are admitted without their siblings being known, so
// the parent's creation is where such a duplicate is caught; once the parent
// exists, each new child is checked against its siblings by CheckOffice.
func CheckWaitingDepartments(o *v1alpha1.Office, w World) field.ErrorList {
	var errs field.ErrorList
	departments := map[v1alpha1.DepartmentCode]string{}
	for _, name := range slices.Sorted(slices.Values(w.Children(o.Name))) {
		child, ok := w.Office(name)
		if !ok || name == o.Name || child.Spec.Level != v1alpha1.LevelDepartment || child.Spec.Department == "" {
			continue
		}
		if first, dup := departments[child.Spec.Department]; dup {
			errs = append(errs, field.Forbidden(field.NewPath("metadata", "name"),
				fmt.Sprintf("offices %q and %q wait for this office as their parent and both are department %q, which may appear once under a parent; change or delete one of them first",
					first, name, child.Spec.Department)))
			continue
		}
		departments[child.Spec.Department] = name
	}
	return errs
}

// CheckOfficeDelete refuses to delete an office that other offices name as
// their parent (children), listing them: they would be left without a place
// in the network and their tenants without an escalation chain.
func CheckOfficeDelete(name string, children []string) error {
	if len(children) == 0 {
		return nil
	}
	children = slices.Sorted(slices.Values(children))
	shown := children
	const maxShown = 20
	more := ""
	if len(shown) > maxShown {
		more = fmt.Sprintf(" and %d more", len(shown)-maxShown)
		shown = shown[:maxShown]
	}
	return fmt.Errorf("office %q still has %d child office(s): %s%s; delete or re-parent them first",
		name, len(children), strings.Join(shown, ", "), more)
}

// CheckRoutingPolicy reports the offices a RoutingPolicy names that do not
// exist: its selector's subtreeOf, its explicit route targets and its
// rollout stages' subtreeOf.
func CheckRoutingPolicy(p *v1alpha1.RoutingPolicy, w World) Findings {
	var f Findings
	spec := field.NewPath("spec")
	office := func(fld *field.Path, name v1alpha1.OfficeName) {
		if name == "" {
			return
		}
		if _, ok := w.Office(string(name)); !ok {
			f.Pending = append(f.Pending, missing(fld, KindOffice, string(name)))
		}
	}
	office(spec.Child("officeSelector", "subtreeOf"), p.Spec.OfficeSelector.SubtreeOf)
	for i, r := range p.Spec.Rules {
		office(spec.Child("rules").Index(i).Child("routeTo", "office"), r.RouteTo.Office)
	}
	for i, s := range p.Spec.Rollout.Stages {
		office(spec.Child("rollout", "stages").Index(i).Child("subtreeOf"), s.SubtreeOf)
	}
	return f
}

// CheckEscalationPolicy applies the rules of ValidatePolicy.
func CheckEscalationPolicy(p *v1alpha1.EscalationPolicy) Findings {
	var f Findings
	if err := ValidatePolicy(&p.Spec); err != nil {
		f.Errors = append(f.Errors, pathError(nil, err))
	}
	return f
}

// CheckHolidayCalendar applies the rules of NewCalendar.
func CheckHolidayCalendar(c *v1alpha1.HolidayCalendar) Findings {
	var f Findings
	if _, err := NewCalendar(&c.Spec); err != nil {
		f.Errors = append(f.Errors, pathError(nil, err))
	}
	return f
}

// missing is the finding for a reference to an object that does not exist.
func missing(fld *field.Path, kind, name string) *field.Error {
	return &field.Error{Type: field.ErrorTypeNotFound, Field: fld.String(), BadValue: field.OmitValueType{},
		Detail: fmt.Sprintf("%s %q does not exist", kind, name)}
}

// pathError turns an error of the form "<field path>: <message>", as the
// rules of this package word them, into a field error under base.
func pathError(base *field.Path, err error) *field.Error {
	msg := err.Error()
	p, detail, ok := strings.Cut(msg, ": ")
	if !ok || strings.ContainsAny(p, " \"") {
		return &field.Error{Type: field.ErrorTypeInvalid, Field: base.String(), BadValue: field.OmitValueType{}, Detail: msg}
	}
	if base != nil {
		p = base.String() + "." + p
	}
	return &field.Error{Type: field.ErrorTypeInvalid, Field: p, BadValue: field.OmitValueType{}, Detail: detail}
}

// Problem lines of ValidateSnapshot are in the CLI contract's form.

// ObjectProblem is one problem of one object.
type ObjectProblem struct {
	Kind, Name string
	Err        *field.Error
}

// String is the line of the CLI contract: <Kind>/<name>: <field path>: <message>.
func (p ObjectProblem) String() string {
	return fmt.Sprintf("%s/%s: %s", p.Kind, p.Name, p.Err.Error())
}

// ValidateSnapshot applies every rule across objects to a whole network, as
// petitionctl validate does: a reference to an object the network does not
// hold is a problem, since the files are meant to be complete. Problems are
// sorted by kind, name and field.
func ValidateSnapshot(s *Snapshot) []ObjectProblem {
	n := s.Network()
	return validateSnapshot(s, n, n)
}

// validateSnapshot is ValidateSnapshot of the network n of s, judged
// through w (n, or a view of it).
func validateSnapshot(s *Snapshot, n *Network, w World) []ObjectProblem {
	var out []ObjectProblem
	add := func(kind, name string, errs field.ErrorList) {
		for _, e := range errs {
			out = append(out, ObjectProblem{Kind: kind, Name: name, Err: e})
		}
	}
	seen := map[string]bool{}
	dup := func(kind, name string) bool {
		key := kind + "/" + name
		if seen[key] {
			add(kind, name, field.ErrorList{field.Duplicate(field.NewPath("metadata", "name"), name)})
			return true
		}
		seen[key] = true
		return false
	}
	for i := range s.Offices {
		o := &s.Offices[i]
		if dup(KindOffice, o.Name) {
			continue
		}
		add(KindOffice, o.Name, CheckOffice(o, w).All())
	}
	for i := range s.RoutingPolicies {
		p := &s.RoutingPolicies[i]
		if dup(KindRoutingPolicy, p.Name) {
			continue
		}
		add(KindRoutingPolicy, p.Name, CheckRoutingPolicy(p, w).All())
	}
	for i := range s.EscalationPolicies {
		p := &s.EscalationPolicies[i]
		if dup(KindEscalationPolicy, p.Name) {
			continue
		}
		add(KindEscalationPolicy, p.Name, CheckEscalationPolicy(p).All())
	}
	for i := range s.HolidayCalendars {
		c := &s.HolidayCalendars[i]
		if dup(KindHolidayCalendar, c.Name) {
			continue
		}
		add(KindHolidayCalendar, c.Name, CheckHolidayCalendar(c).All())
	}
	for i := range s.DutyPeriods {
		p := &s.DutyPeriods[i]
		if dup(KindDutyPeriod, p.Name) {
			continue
		}
		f := CheckDutyPeriod(p, w)
		f.Errors = append(f.Errors, CheckDutyLoad(p, n, s.DutyPeriods)...)
		add(KindDutyPeriod, p.Name, f.All())
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.Err.Field < b.Err.Field
	})
	return out
}
