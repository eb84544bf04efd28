package network

import (
	"fmt"

	"github.com/xinfang/petition-operator/api/v1alpha1"
)

// Snapshot is a whole network as files or a cluster list hold it: what
// petitionctl reads, offline or not.
type Snapshot struct {
	Offices            []v1alpha1.Office
	RoutingPolicies    []v1alpha1.RoutingPolicy
	EscalationPolicies []v1alpha1.EscalationPolicy
	HolidayCalendars   []v1alpha1.HolidayCalendar
	// Live is true for a network read from a cluster: each RoutingPolicy's
	// status says which revision an office compiles during a staged
	// rollout (Entitled). Otherwise, as for files, every office compiles
	// each policy as written (Declared).
	Live bool
}

// OfficeConfig compiles the configuration of the named office exactly as the
// operator does: its path, its chain from its EscalationPolicy (the built-in
// statutory policy when it names none and none is given) and its calendar.
// Errors name the object and field at fault.
//
// Each call indexes the whole network; to compile many offices, use
// Compiler.
func (s *Snapshot) OfficeConfig(name string) (*OfficeConfig, error) {
	return s.Compiler().OfficeConfig(name)
}

// SnapshotCompiler compiles the offices of a Snapshot against one index of
// it, built once. The Snapshot must not change while it is in use.
type SnapshotCompiler struct {
	s        *Snapshot
	idx      *Index
	policies []v1alpha1.RoutingPolicy
}

// Compiler indexes the network of s for compiling many of its offices.
func (s *Snapshot) Compiler() *SnapshotCompiler {
	policies := s.RoutingPolicies
	if !s.Live {
		policies = Declared(policies)
	}
	return &SnapshotCompiler{s: s, idx: IndexOf(s.Offices), policies: policies}
}

// OfficeConfig is Snapshot.OfficeConfig against the compiler's index.
func (c *SnapshotCompiler) OfficeConfig(name string) (*OfficeConfig, error) {
	s, idx := c.s, c.idx
	office, ok := idx.Get(name)
	if !ok {
		return nil, objectError("Office", name, "not found")
	}
	path, problem := idx.Path(office)
	if problem != nil {
		return nil, objectError("Office", name, "spec.parent: %s (%s)", problem.Message, problem.Reason)
	}
	policyName := string(office.Spec.Escalation.PolicyRef)
	if policyName == "" {
		policyName = v1alpha1.DefaultEscalationPolicy
	}
	var policy *v1alpha1.EscalationPolicy
	for i := range s.EscalationPolicies {
		if s.EscalationPolicies[i].Name == policyName {
			policy = &s.EscalationPolicies[i]
		}
	}
	if policy == nil {
		if policyName != v1alpha1.DefaultEscalationPolicy {
			return nil, objectError("Office", name, "spec.escalation.policyRef: EscalationPolicy %q not found", policyName)
		}
		policy = StatutoryPolicy()
	}
	esc, err := ResolveChain(office, path, policy)
	if err != nil {
		return nil, objectError("Office", name, "spec.escalation.policyRef: %w", err)
	}
	var cal *v1alpha1.HolidayCalendarSpec
	if ref := string(office.Spec.CalendarRef); ref != "" {
		for i := range s.HolidayCalendars {
			if s.HolidayCalendars[i].Name == ref {
				cal = &s.HolidayCalendars[i].Spec
			}
		}
		if cal == nil {
			return nil, objectError("Office", name, "spec.calendarRef: HolidayCalendar %q not found", ref)
		}
		if _, err := NewCalendar(cal); err != nil {
			return nil, objectError("HolidayCalendar", ref, "%w", err)
		}
	}
	routing := CompileRouting(office, path, c.policies, idx)
	cfg := Compile(office, path, esc, cal, &routing)
	return &cfg, nil
}

// objectError is an error in the CLI contract's form:
// <Kind>/<name>: <field path>: <message>.
func objectError(kind, name, format string, args ...any) error {
	return fmt.Errorf("%s/%s: %w", kind, name, fmt.Errorf(format, args...))
}
