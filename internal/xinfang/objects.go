package xinfang

import (
	"github.com/xinfang/petition-operator/api/v1alpha1"
)

// Objects are the objects of a network other than its offices: what an
// office compiles against (Compile) and what a reference may name (World).
// The operator reads them from its informer cache (package cluster),
// petitionctl from files (Snapshot). Every error is a failure to read,
// which a later attempt may not meet: a missing object is not an error.
type Objects interface {
	// RoutingPolicies returns every RoutingPolicy, each with the status
	// that says which revision an office compiles during a staged rollout
	// (Entitled); files, which hold no status, give Declared policies.
	RoutingPolicies() ([]v1alpha1.RoutingPolicy, error)
	// EscalationPolicy returns the named policy, nil when it does not exist.
	EscalationPolicy(name string) (*v1alpha1.EscalationPolicy, error)
	// HolidayCalendar returns the named calendar, nil when it does not
	// exist.
	HolidayCalendar(name string) (*v1alpha1.HolidayCalendar, error)
	// TenantDefaults returns the TenantDefaults, nil when there is none.
	TenantDefaults() (*v1alpha1.TenantDefaults, error)
	// DutyPeriods returns every DutyPeriod, each with the status that says
	// which revision an office compiles during a staged rollout
	// (EntitledDuty); files give them as DeclaredDutyPeriods.
	DutyPeriods() ([]v1alpha1.DutyPeriod, error)
	// Exists reports whether the RoutingPolicy, EscalationPolicy,
	// HolidayCalendar or DutyPeriod of that name exists.
	Exists(kind, name string) (bool, error)
}

// WithObjects gives the network its other objects and returns it. Call it
// once, before the network is used.
func (x *Network) WithObjects(o Objects) *Network {
	x.objects = o
	return x
}

// RoutingPolicies returns every RoutingPolicy of the network (Objects).
func (x *Network) RoutingPolicies() ([]v1alpha1.RoutingPolicy, error) {
	return x.objects.RoutingPolicies()
}

// EscalationPolicy returns the named policy, nil when it does not exist.
func (x *Network) EscalationPolicy(name string) (*v1alpha1.EscalationPolicy, error) {
	return x.objects.EscalationPolicy(name)
}

// HolidayCalendar returns the named calendar, nil when it does not exist.
func (x *Network) HolidayCalendar(name string) (*v1alpha1.HolidayCalendar, error) {
	return x.objects.HolidayCalendar(name)
}

// TenantDefaults returns the TenantDefaults, nil when there is none.
func (x *Network) TenantDefaults() (*v1alpha1.TenantDefaults, error) {
	return x.objects.TenantDefaults()
}

// DutyPeriods returns every DutyPeriod of the network (Objects).
func (x *Network) DutyPeriods() ([]v1alpha1.DutyPeriod, error) {
	return x.objects.DutyPeriods()
}

var _ World = &Network{}

// Office implements World.
func (x *Network) Office(name string) (*v1alpha1.Office, bool) { return x.Get(name) }

// Exists implements World: whether an office, or an object of Objects, of
// that kind and name exists. An object that cannot be read counts as
// missing: a missing reference is only pending (a warning), and the
// compile that follows reads it again and fails.
func (x *Network) Exists(kind, name string) bool {
	if kind == KindOffice {
		_, ok := x.Get(name)
		return ok
	}
	ok, err := x.objects.Exists(kind, name)
	return ok && err == nil
}

// noObjects is the Objects of a network of offices alone.
type noObjects struct{}

func (noObjects) RoutingPolicies() ([]v1alpha1.RoutingPolicy, error)          { return nil, nil }
func (noObjects) EscalationPolicy(string) (*v1alpha1.EscalationPolicy, error) { return nil, nil }
func (noObjects) HolidayCalendar(string) (*v1alpha1.HolidayCalendar, error)   { return nil, nil }
func (noObjects) TenantDefaults() (*v1alpha1.TenantDefaults, error)           { return nil, nil }
func (noObjects) DutyPeriods() ([]v1alpha1.DutyPeriod, error)                 { return nil, nil }
func (noObjects) Exists(string, string) (bool, error)                         { return false, nil }
