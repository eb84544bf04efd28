package main

import (
	"fmt"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/xinfang"
)

// checkWindowBounds refuses a window, at field, whose lists hold more than
// the API admits.
func checkWindowBounds(field string, w *xinfang.CompiledWindow) error {
	for _, f := range []struct {
		name     string
		n, limit int
	}{
		{"channels", len(w.Channels), v1alpha1.MaxWindowChannels},
		{"weekdays", len(w.Weekdays), v1alpha1.MaxWindowWeekdays},
		{"times", len(w.Times), v1alpha1.MaxWindowTimes},
		{"daysOfMonth", len(w.DaysOfMonth), v1alpha1.MaxWindowDaysOfMonth},
		{"dateRanges", len(w.DateRanges), v1alpha1.MaxWindowDateRanges},
	} {
		if f.n > f.limit {
			return fmt.Errorf("%s.%s: %d items, at most %d", field, f.name, f.n, f.limit)
		}
	}
	return nil
}

// checkBounds refuses a configuration that holds more than the API admits:
// the bounds of api/v1alpha1, which a test there holds to the generated
// schema. The work of a windows or deadlines answer grows with them.
func checkBounds(c *xinfang.OfficeConfig) error {
	if n := len(c.ReceptionWindows); n > v1alpha1.MaxReceptionWindows {
		return fmt.Errorf("receptionWindows: %d windows, at most %d", n, v1alpha1.MaxReceptionWindows)
	}
	for i := range c.ReceptionWindows {
		if err := checkWindowBounds(fmt.Sprintf("receptionWindows[%d]", i), &c.ReceptionWindows[i]); err != nil {
			return err
		}
	}
	if err := checkDutyBounds(c.Duty); err != nil {
		return err
	}
	if c.Calendar != nil {
		if n := len(c.Calendar.Holidays); n > v1alpha1.MaxHolidays {
			return fmt.Errorf("calendar.holidays: %d holidays, at most %d", n, v1alpha1.MaxHolidays)
		}
		if n := len(c.Calendar.Workdays); n > v1alpha1.MaxWorkdays {
			return fmt.Errorf("calendar.workdays: %d dates, at most %d", n, v1alpha1.MaxWorkdays)
		}
	}
	if e := c.Escalation; e != nil {
		if err := checkChain("escalation", e); err != nil {
			return err
		}
	}
	// One handler per rule at most: the offices the rules route to.
	rules := 0
	if c.Routing != nil {
		rules = len(c.Routing.Rules)
	}
	if n := len(c.Handlers); n > rules {
		return fmt.Errorf("handlers: %d handlers, more than the %d routing rules", n, rules)
	}
	for name, h := range c.Handlers {
		if h == nil {
			return fmt.Errorf("handlers[%s]: null", xinfang.Quote(name))
		}
		if err := checkChain(fmt.Sprintf("handlers[%s]", xinfang.Quote(name)), &h.Escalation); err != nil {
			return err
		}
	}
	return nil
}

// checkChain refuses a chain with more stages, reminders or overdue rungs,
// or longer limits or names, than the API admits; field names it. An
// overdue rung's office is bounded as any object name (a DNS-1123
// subdomain), a body's name as an ExternalBody's displayName.
func checkChain(field string, e *xinfang.Escalation) error {
	if n := len(e.Steps); n > v1alpha1.MaxStages {
		return fmt.Errorf("%s.stages: %d stages, at most %d", field, n, v1alpha1.MaxStages)
	}
	if n := len(e.Reminders); n > v1alpha1.MaxReminders {
		return fmt.Errorf("%s.reminders: %d reminders, at most %d", field, n, v1alpha1.MaxReminders)
	}
	type limit struct {
		field string
		l     *xinfang.Limit
	}
	var limits []limit
	for i := range e.Steps {
		s := &e.Steps[i]
		limits = append(limits, limit{fmt.Sprintf("%s.stages[%d].limit", field, i), &s.Limit},
			limit{fmt.Sprintf("%s.stages[%d].requestWindow", field, i), s.RequestWindow},
			limit{fmt.Sprintf("%s.stages[%d].extension", field, i), s.Extension})
		if n := len(s.Overdue); n > v1alpha1.MaxOverdueRungs {
			return fmt.Errorf("%s.stages[%d].overdue: %d rungs, at most %d", field, i, n, v1alpha1.MaxOverdueRungs)
		}
		for j := range s.Overdue {
			r := &s.Overdue[j]
			if len(r.Office) > validation.DNS1123SubdomainMaxLength || utf8.RuneCountInString(r.External) > v1alpha1.MaxExternalBodyName {
				return fmt.Errorf("%s.stages[%d].overdue[%d]: an office name longer than %d bytes or a body's name longer than %d characters", field, i, j, validation.DNS1123SubdomainMaxLength, v1alpha1.MaxExternalBodyName)
			}
			limits = append(limits, limit{fmt.Sprintf("%s.stages[%d].overdue[%d].after", field, i, j), &r.After})
		}
	}
	for i := range e.Reminders {
		limits = append(limits, limit{fmt.Sprintf("%s.reminders[%d]", field, i), &e.Reminders[i]})
	}
	for _, x := range limits {
		if x.l != nil && (x.l.Days < 0 || x.l.Days > v1alpha1.MaxDurationDays) {
			return fmt.Errorf("%s: %d days, want 0 to %d", x.field, x.l.Days, v1alpha1.MaxDurationDays)
		}
	}
	return nil
}

// checkDutyBounds refuses a duty section that holds more than the API
// admits: at most xinfang.MaxDutyPeriods periods, each window bounded as a
// DutyPeriod's fields are.
func checkDutyBounds(d *xinfang.DutyConfig) error {
	if d == nil {
		return nil
	}
	if n := len(d.Periods); n > xinfang.MaxDutyPeriods {
		return fmt.Errorf("duty.periods: %d periods, at most %d", n, xinfang.MaxDutyPeriods)
	}
	for i := range d.Periods {
		if err := checkWindowBounds(fmt.Sprintf("duty.periods[%d].window", i), &d.Periods[i].Window); err != nil {
			return err
		}
	}
	return nil
}
