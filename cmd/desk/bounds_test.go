package main

import (
	"strings"
	"testing"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/xinfang"
)

// TestBoundsAreTheAPIs checks that the desk admits each list at the API's
// bound (api/v1alpha1, held to the schema by a test there) and refuses it
// one past, naming the field: a configuration the API admits always loads.
func TestBoundsAreTheAPIs(t *testing.T) {
	window := func(c *xinfang.OfficeConfig) *xinfang.CompiledWindow {
		if len(c.ReceptionWindows) == 0 {
			c.ReceptionWindows = make([]xinfang.CompiledWindow, 1)
		}
		return &c.ReceptionWindows[0]
	}
	duty := func(c *xinfang.OfficeConfig) *xinfang.CompiledWindow {
		c.Duty = &xinfang.DutyConfig{Periods: make([]xinfang.CompiledDutyPeriod, 1)}
		return &c.Duty.Periods[0].Window
	}
	chain := func(c *xinfang.OfficeConfig) *xinfang.Escalation {
		c.Escalation = &xinfang.Escalation{}
		return c.Escalation
	}
	for _, tc := range []struct {
		field string
		bound int
		fill  func(c *xinfang.OfficeConfig, n int)
	}{
		{"receptionWindows", v1alpha1.MaxReceptionWindows, func(c *xinfang.OfficeConfig, n int) {
			c.ReceptionWindows = make([]xinfang.CompiledWindow, n)
		}},
		{"receptionWindows[0].channels", v1alpha1.MaxWindowChannels, func(c *xinfang.OfficeConfig, n int) {
			window(c).Channels = make([]v1alpha1.Channel, n)
		}},
		{"receptionWindows[0].weekdays", v1alpha1.MaxWindowWeekdays, func(c *xinfang.OfficeConfig, n int) {
			window(c).Weekdays = make([]string, n)
		}},
		{"receptionWindows[0].times", v1alpha1.MaxWindowTimes, func(c *xinfang.OfficeConfig, n int) {
			window(c).Times = make([]v1alpha1.TimeRange, n)
		}},
		{"receptionWindows[0].daysOfMonth", v1alpha1.MaxWindowDaysOfMonth, func(c *xinfang.OfficeConfig, n int) {
			window(c).DaysOfMonth = make([]string, n)
		}},
		{"receptionWindows[0].dateRanges", v1alpha1.MaxWindowDateRanges, func(c *xinfang.OfficeConfig, n int) {
			window(c).DateRanges = make([]v1alpha1.DateRange, n)
		}},
		{"duty.periods[0].window.channels", v1alpha1.MaxWindowChannels, func(c *xinfang.OfficeConfig, n int) {
			duty(c).Channels = make([]v1alpha1.Channel, n)
		}},
		{"duty.periods[0].window.times", v1alpha1.MaxWindowTimes, func(c *xinfang.OfficeConfig, n int) {
			duty(c).Times = make([]v1alpha1.TimeRange, n)
		}},
		{"duty.periods[0].window.dateRanges", v1alpha1.MaxWindowDateRanges, func(c *xinfang.OfficeConfig, n int) {
			duty(c).DateRanges = make([]v1alpha1.DateRange, n)
		}},
		{"calendar.holidays", v1alpha1.MaxHolidays, func(c *xinfang.OfficeConfig, n int) {
			c.Calendar = &xinfang.CompiledCalendar{Holidays: make([]v1alpha1.Holiday, n)}
		}},
		{"calendar.workdays", v1alpha1.MaxWorkdays, func(c *xinfang.OfficeConfig, n int) {
			c.Calendar = &xinfang.CompiledCalendar{Workdays: make([]v1alpha1.Date, n)}
		}},
		{"escalation.stages", v1alpha1.MaxStages, func(c *xinfang.OfficeConfig, n int) {
			chain(c).Steps = make([]xinfang.Step, n)
		}},
		{"escalation.reminders", v1alpha1.MaxReminders, func(c *xinfang.OfficeConfig, n int) {
			chain(c).Reminders = make([]xinfang.Limit, n)
		}},
		{"escalation.stages[0].overdue", v1alpha1.MaxOverdueRungs, func(c *xinfang.OfficeConfig, n int) {
			chain(c).Steps = []xinfang.Step{{Overdue: make([]xinfang.Rung, n)}}
		}},
		{"escalation.stages[0].limit", v1alpha1.MaxDurationDays, func(c *xinfang.OfficeConfig, n int) {
			chain(c).Steps = []xinfang.Step{{Limit: xinfang.Limit{Days: n}}}
		}},
		{"escalation.stages[0].overdue[0]", v1alpha1.MaxExternalBodyName, func(c *xinfang.OfficeConfig, n int) {
			chain(c).Steps = []xinfang.Step{{Overdue: []xinfang.Rung{{External: strings.Repeat("局", n)}}}}
		}},
	} {
		at := &xinfang.OfficeConfig{}
		tc.fill(at, tc.bound)
		if err := checkBounds(at); err != nil {
			t.Errorf("%s at the API's bound %d: refused: %v", tc.field, tc.bound, err)
		}
		past := &xinfang.OfficeConfig{}
		tc.fill(past, tc.bound+1)
		if err := checkBounds(past); err == nil || !strings.HasPrefix(err.Error(), tc.field+":") {
			t.Errorf("%s one past the API's bound %d: %v, want refused naming %s", tc.field, tc.bound, err, tc.field)
		}
	}
}
