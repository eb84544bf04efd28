package network

import (
	"fmt"

	"github.com/xinfang/petition-operator/api/v1alpha1"
)

// Snapshot is a whole network as files or a cluster list hold it: what
// petitionctl reads, offline or not.
type Snapshot struct {
	Offices            []v1alpha1.Office
	EscalationPolicies []v1alpha1.EscalationPolicy
	HolidayCalendars   []v1alpha1.HolidayCalendar
}

// OfficeConfig compiles the configuration of the named office exactly as the
// operator does: its path, its chain from its EscalationPolicy (the built-in
// statutory policy when it names none and none is given) and its calendar.
// Errors name the object and field at fault.
func (s *Snapshot) OfficeConfig(name string) (*OfficeConfig, error) {
	ptrs := make([]*v1alpha1.Office, len(s.Offices))
	for i := range s.Offices {
		ptrs[i] = &s.Offices[i]
	}
	idx := NewIndex(ptrs...)
	office, ok := idx.Get(name)
	if !ok {
		return nil, fmt.Errorf("Office/%s: not found", name)
	}
	path, problem := idx.Path(office)
	if problem != nil {
		return nil, fmt.Errorf("Office/%s: spec.parent: %s (%s)", name, problem.Message, problem.Reason)
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
			return nil, fmt.Errorf("Office/%s: spec.escalation.policyRef: EscalationPolicy %q not found", name, policyName)
		}
		policy = StatutoryPolicy()
	}
	esc, err := ResolveChain(office, path, policy)
	if err != nil {
		return nil, fmt.Errorf("Office/%s: spec.escalation.policyRef: %w", name, err)
	}
	var cal *v1alpha1.HolidayCalendarSpec
	if ref := string(office.Spec.CalendarRef); ref != "" {
		for i := range s.HolidayCalendars {
			if s.HolidayCalendars[i].Name == ref {
				cal = &s.HolidayCalendars[i].Spec
			}
		}
		if cal == nil {
			return nil, fmt.Errorf("Office/%s: spec.calendarRef: HolidayCalendar %q not found", name, ref)
		}
		if _, err := NewCalendar(cal); err != nil {
			return nil, fmt.Errorf("HolidayCalendar/%s: %w", ref, err)
		}
	}
	cfg := Compile(office, path, esc, cal)
	return &cfg, nil
}
