package network

import (
	"fmt"

	"github.com/xinfang/petition-operator/api/v1alpha1"
)

// Snapshot is a whole network as files or a cluster list hold it: what
// petitionctl reads, offline or not. Through Source it is a Source of
// Compile.
type Snapshot struct {
	Offices            []v1alpha1.Office
	RoutingPolicies    []v1alpha1.RoutingPolicy
	EscalationPolicies []v1alpha1.EscalationPolicy
	HolidayCalendars   []v1alpha1.HolidayCalendar
	// TenantDefaults is the TenantDefaults named DefaultTenantDefaults, nil
	// when there is none.
	TenantDefaults *v1alpha1.TenantDefaults
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
// Each call indexes the whole network; to compile many offices, use Source.
func (s *Snapshot) OfficeConfig(name string) (*OfficeConfig, error) {
	return s.Source().OfficeConfig(name)
}

// SnapshotSource is a Snapshot indexed once, the Source that compiles its
// offices. The Snapshot must not change while it is in use.
type SnapshotSource struct {
	s        *Snapshot
	idx      *Index
	policies []v1alpha1.RoutingPolicy
	periods  []v1alpha1.DutyPeriod
	// escalation and calendars by name; the last of a name wins, as the
	// API server would keep the last applied.
	escalation map[string]*v1alpha1.EscalationPolicy
	calendars  map[string]*v1alpha1.HolidayCalendar
}

var _ Source = &SnapshotSource{}

// Source indexes the network of s for compiling its offices.
func (s *Snapshot) Source() *SnapshotSource {
	policies, periods := s.RoutingPolicies, s.DutyPeriods
	if !s.Live {
		policies, periods = Declared(policies), DeclaredDutyPeriods(periods)
	}
	src := &SnapshotSource{s: s, idx: IndexOf(s.Offices), policies: policies, periods: periods,
		escalation: make(map[string]*v1alpha1.EscalationPolicy, len(s.EscalationPolicies)),
		calendars:  make(map[string]*v1alpha1.HolidayCalendar, len(s.HolidayCalendars)),
	}
	for i := range s.EscalationPolicies {
		src.escalation[s.EscalationPolicies[i].Name] = &s.EscalationPolicies[i]
	}
	for i := range s.HolidayCalendars {
		src.calendars[s.HolidayCalendars[i].Name] = &s.HolidayCalendars[i]
	}
	return src
}

// Index implements Source.
func (c *SnapshotSource) Index() *Index { return c.idx }

// RoutingPolicies implements Source.
func (c *SnapshotSource) RoutingPolicies() ([]v1alpha1.RoutingPolicy, error) { return c.policies, nil }

// EscalationPolicy implements Source.
func (c *SnapshotSource) EscalationPolicy(name string) (*v1alpha1.EscalationPolicy, error) {
	return c.escalation[name], nil
}

// HolidayCalendar implements Source.
func (c *SnapshotSource) HolidayCalendar(name string) (*v1alpha1.HolidayCalendar, error) {
	return c.calendars[name], nil
}

// TenantDefaults implements Source.
func (c *SnapshotSource) TenantDefaults() (*v1alpha1.TenantDefaults, error) {
	return c.s.TenantDefaults, nil
}

// DutyPeriods implements Source.
func (c *SnapshotSource) DutyPeriods() ([]v1alpha1.DutyPeriod, error) { return c.periods, nil }

// Compile compiles the named office with Compile; the error is an office
// that does not exist or cannot be compiled, in the CLI contract's form.
func (c *SnapshotSource) Compile(name string, opts CompileOptions) (*Compiled, error) {
	office, ok := c.idx.Get(name)
	if !ok {
		return nil, objectError("Office", name, "not found")
	}
	compiled, err := Compile(c, office, opts)
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
func (c *SnapshotSource) OfficeConfig(name string) (*OfficeConfig, error) {
	compiled, err := c.Compile(name, CompileOptions{})
	if err != nil {
		return nil, err
	}
	if served := ServedBy(compiled.Office); served != name {
		return c.OfficeConfig(served)
	}
	return &compiled.Config, nil
}

// objectError is an error in the CLI contract's form:
// <Kind>/<name>: <field path>: <message>.
func objectError(kind, name, format string, args ...any) error {
	return fmt.Errorf("%s/%s: %w", kind, name, fmt.Errorf(format, args...))
}
