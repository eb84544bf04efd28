package xinfang

import (
	"fmt"
	"slices"
	"sort"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/xinfang/petition-operator/api/v1alpha1"
)

// Snapshot is a whole network as files or a cluster list hold it: what
// petitionctl reads, offline or not (package objfiles reads it from files).
// Through Network it is the network Compile compiles against.
type Snapshot struct {
	Offices            []v1alpha1.Office
	RoutingPolicies    []v1alpha1.RoutingPolicy
	EscalationPolicies []v1alpha1.EscalationPolicy
	HolidayCalendars   []v1alpha1.HolidayCalendar
	// TenantDefaults is every TenantDefaults read, whatever its name; the
	// network's is the one named DefaultTenantDefaults (Network).
	TenantDefaults []v1alpha1.TenantDefaults
	DutyPeriods    []v1alpha1.DutyPeriod
	// Live is true for a network read from a cluster: each RoutingPolicy's
	// status says which revision an office compiles during a staged
	// rollout (Entitled). Otherwise, as for files, every office compiles
	// each policy as written (Declared).
	Live bool
}

// OfficeConfig compiles the configuration of the named office with Compile,
// as the operator does. The error names the object and field at fault.
//
// Each call builds the whole network; to compile many offices, use Network.
func (s *Snapshot) OfficeConfig(name string) (*OfficeConfig, error) {
	return s.Network().OfficeConfig(name)
}

// Network is the network of s: its offices, and its other objects by name
// (the last of a name wins, as the API server would keep the last
// applied). Its TenantDefaults is the one named DefaultTenantDefaults, nil
// when there is none. The Snapshot must not change while it is in use.
func (s *Snapshot) Network() *Network {
	policies, periods := s.RoutingPolicies, s.DutyPeriods
	if !s.Live {
		policies, periods = Declared(policies), DeclaredDutyPeriods(periods)
	}
	o := &snapshotObjects{policies: policies, periods: periods,
		escalation: make(map[string]*v1alpha1.EscalationPolicy, len(s.EscalationPolicies)),
		calendars:  make(map[string]*v1alpha1.HolidayCalendar, len(s.HolidayCalendars)),
	}
	for i := range s.EscalationPolicies {
		o.escalation[s.EscalationPolicies[i].Name] = &s.EscalationPolicies[i]
	}
	for i := range s.HolidayCalendars {
		o.calendars[s.HolidayCalendars[i].Name] = &s.HolidayCalendars[i]
	}
	for i := range s.TenantDefaults {
		if s.TenantDefaults[i].Name == v1alpha1.DefaultTenantDefaults {
			o.defaults = &s.TenantDefaults[i]
		}
	}
	return NetworkOf(s.Offices).WithObjects(o)
}

// Object is one object of the API as a Kubernetes client takes it (the
// methods of controller-runtime's client.Object).
type Object interface {
	metav1.Object
	runtime.Object
}

// Objects returns every object of s in the order to apply them: the
// calendars and escalation policies that offices name, the offices, then
// the routing policies, duty periods and tenant defaults that select them.
func (s *Snapshot) Objects() []Object {
	var objs []Object
	objs = appendObjects(objs, s.HolidayCalendars)
	objs = appendObjects(objs, s.EscalationPolicies)
	objs = appendObjects(objs, s.Offices)
	objs = appendObjects(objs, s.RoutingPolicies)
	objs = appendObjects(objs, s.DutyPeriods)
	return appendObjects(objs, s.TenantDefaults)
}

// appendObjects appends a pointer to each item to objs.
func appendObjects[T any, P interface {
	*T
	Object
}](objs []Object, items []T) []Object {
	for i := range items {
		objs = append(objs, P(&items[i]))
	}
	return objs
}

// Sort orders the offices by name, as listing them from the cluster does.
func (s *Snapshot) Sort() {
	sort.Slice(s.Offices, func(i, j int) bool { return s.Offices[i].Name < s.Offices[j].Name })
}

// snapshotObjects are the Objects of a Snapshot.
type snapshotObjects struct {
	policies   []v1alpha1.RoutingPolicy
	periods    []v1alpha1.DutyPeriod
	defaults   *v1alpha1.TenantDefaults
	escalation map[string]*v1alpha1.EscalationPolicy
	calendars  map[string]*v1alpha1.HolidayCalendar
}

func (o *snapshotObjects) RoutingPolicies() ([]v1alpha1.RoutingPolicy, error) { return o.policies, nil }
func (o *snapshotObjects) DutyPeriods() ([]v1alpha1.DutyPeriod, error)        { return o.periods, nil }
func (o *snapshotObjects) TenantDefaults() (*v1alpha1.TenantDefaults, error)  { return o.defaults, nil }
func (o *snapshotObjects) EscalationPolicy(name string) (*v1alpha1.EscalationPolicy, error) {
	return o.escalation[name], nil
}
func (o *snapshotObjects) HolidayCalendar(name string) (*v1alpha1.HolidayCalendar, error) {
	return o.calendars[name], nil
}

func (o *snapshotObjects) Exists(kind, name string) (bool, error) {
	switch kind {
	case KindEscalationPolicy:
		return o.escalation[name] != nil, nil
	case KindHolidayCalendar:
		return o.calendars[name] != nil, nil
	case KindRoutingPolicy:
		return slices.ContainsFunc(o.policies, func(p v1alpha1.RoutingPolicy) bool { return p.Name == name }), nil
	case KindDutyPeriod:
		return slices.ContainsFunc(o.periods, func(p v1alpha1.DutyPeriod) bool { return p.Name == name }), nil
	}
	return false, nil
}

// Compile compiles the named office with Compile; the error is an office
// that does not exist or cannot be compiled, in the CLI contract's form.
func (x *Network) Compile(name string, opts CompileOptions) (*Compiled, error) {
	office, ok := x.Get(name)
	if !ok {
		return nil, objectError("Office", name, "not found")
	}
	compiled, err := Compile(x, office, opts)
	if err != nil {
		return nil, err
	}
	if compiled.Problem != nil {
		return nil, compiled.Problem
	}
	return compiled, nil
}

// OfficeConfig is the configuration of Compile for the named office; for
// a Village, that of its township, whose desk serves it (ServedBy).
func (x *Network) OfficeConfig(name string) (*OfficeConfig, error) {
	compiled, err := x.Compile(name, CompileOptions{})
	if err != nil {
		return nil, err
	}
	if served := ServedBy(compiled.Office); served != name {
		return x.OfficeConfig(served)
	}
	return &compiled.Config, nil
}

// objectError is an error in the CLI contract's form:
// <Kind>/<name>: <field path>: <message>.
func objectError(kind, name, format string, args ...any) error {
	return fmt.Errorf("%s/%s: %w", kind, name, fmt.Errorf(format, args...))
}
