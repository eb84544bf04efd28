package xinfang

import (
	"strings"
	"testing"
	"time"

	"github.com/xinfang/petition-operator/api/v1alpha1"
)

// cn2026 is the State Council's 2026 schedule, as in config/samples.
func cn2026(t *testing.T) *Calendar {
	t.Helper()
	spec := cn2026Spec()
	c, err := NewCalendar(&spec)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// cn2026Spec is the State Council's calendar of 2026, as config/samples has
// it.
func cn2026Spec() v1alpha1.HolidayCalendarSpec {
	return v1alpha1.HolidayCalendarSpec{
		Holidays: []v1alpha1.Holiday{
			{Name: "元旦", From: "2026-01-01", To: "2026-01-03"},
			{Name: "春节", From: "2026-02-15", To: "2026-02-23"},
			{Name: "清明节", From: "2026-04-04", To: "2026-04-06"},
			{Name: "劳动节", From: "2026-05-01", To: "2026-05-05"},
			{Name: "端午节", From: "2026-06-19", To: "2026-06-21"},
			{Name: "中秋节", From: "2026-09-25", To: "2026-09-27"},
			{Name: "国庆节", From: "2026-10-01", To: "2026-10-07"},
		},
		Workdays: []v1alpha1.Date{"2026-01-04", "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20", "2026-10-10"},
	}
}

func date(t *testing.T, s string) time.Time {
	t.Helper()
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestWorkingDays(t *testing.T) {
	c := cn2026(t)
	for day, want := range map[string]bool{
		"2026-09-30": true,  // Wednesday
		"2026-10-01": false, // National Day
		"2026-10-03": false, // Saturday inside the holiday
		"2026-10-08": true,  // Thursday after it
		"2026-10-10": true,  // Saturday, adjusted working day
		"2026-10-11": false, // Sunday
		"2026-02-14": true,  // Saturday before Spring Festival, adjusted
		"2026-02-23": false, // Monday, last day of Spring Festival
		"2026-09-20": true,  // Sunday, adjusted
	} {
		if got := c.IsWorkingDay(date(t, day)); got != want {
			t.Errorf("IsWorkingDay(%s) = %v, want %v", day, got, want)
		}
	}
	var none *Calendar
	if !none.IsWorkingDay(date(t, "2026-10-01")) || none.IsWorkingDay(date(t, "2026-10-03")) {
		t.Error("a nil calendar must know only weekends")
	}
}

func TestAdd(t *testing.T) {
	c := cn2026(t)
	cases := []struct {
		name, from string
		limit      Limit
		cal        *Calendar
		want       string
	}{
		{"15d lands on National Day, moves to the Thursday after", "2026-09-16", Limit{Days: 15}, c, "2026-10-08"},
		{"15d lands on a Monday inside the holiday", "2026-09-20", Limit{Days: 15}, c, "2026-10-08"},
		{"10wd across Mid-Autumn and National Day, counting the adjusted Saturday", "2026-09-24", Limit{Days: 10, Working: true}, c, "2026-10-15"},
		{"5wd across Spring Festival, counting the adjusted Saturday", "2026-02-10", Limit{Days: 5, Working: true}, c, "2026-02-24"},
		{"15d lands on an adjusted Saturday and stays", "2026-02-13", Limit{Days: 15}, c, "2026-02-28"},
		{"13d lands on an ordinary Saturday, moves to Monday", "2026-03-01", Limit{Days: 13}, c, "2026-03-16"},
		{"15d across the year end", "2026-12-20", Limit{Days: 15}, c, "2027-01-04"},
		{"15d onto a leap day", "2028-02-14", Limit{Days: 15}, nil, "2028-02-29"},
		{"1d from a Friday is the Monday", "2026-03-06", Limit{Days: 1}, nil, "2026-03-09"},
		{"1wd from a Friday is the Monday", "2026-03-06", Limit{Days: 1, Working: true}, nil, "2026-03-09"},
		{"the day of the event is not counted", "2026-03-09", Limit{Days: 1, Working: true}, nil, "2026-03-10"},
		{"31d from January 31", "2026-01-31", Limit{Days: 31}, c, "2026-03-03"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.cal.Add(date(t, tc.from), tc.limit).Format(time.DateOnly); got != tc.want {
				t.Errorf("Add(%s, %s) = %s, want %s", tc.from, tc.limit, got, tc.want)
			}
		})
	}
}

func TestAddAllSumsSameUnits(t *testing.T) {
	c := cn2026(t)
	// 30d + 30d from 2026-08-02 is one 60-day span ending 2026-10-01
	// (holiday), moved to 2026-10-08. Added one after the other, the first
	// 30 days would end on 2026-09-01 and the total on 2026-10-01 too: the
	// sum matters where the first span ends on a non-working day.
	if got := c.AddAll(date(t, "2026-08-02"), Limit{Days: 30}, Limit{Days: 30}).Format(time.DateOnly); got != "2026-10-08" {
		t.Errorf("AddAll = %s", got)
	}
	// 2026-08-27 + 30d = 2026-09-26 (holiday); the sum 2026-08-27 + 60d =
	// 2026-10-26 (Monday). One after the other would give 2026-09-28 + 30d
	// = 2026-10-28.
	if got := c.AddAll(date(t, "2026-08-27"), Limit{Days: 30}, Limit{Days: 30}).Format(time.DateOnly); got != "2026-10-26" {
		t.Errorf("AddAll = %s, want 2026-10-26", got)
	}
	// Mixed units are added in turn: 2026-09-24 + 1d = 09-25 (holiday) →
	// 09-28, then 2wd → 09-30.
	if got := c.AddAll(date(t, "2026-09-24"), Limit{Days: 1}, Limit{Days: 2, Working: true}).Format(time.DateOnly); got != "2026-09-30" {
		t.Errorf("AddAll mixed = %s, want 2026-09-30", got)
	}
}

func TestParseLimit(t *testing.T) {
	for in, want := range map[string]Limit{"15d": {Days: 15}, "10wd": {Days: 10, Working: true}, "999d": {Days: 999}, "": {}} {
		got, err := ParseLimit(v1alpha1.Duration(in))
		if err != nil || got != want {
			t.Errorf("ParseLimit(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"0d", "1000d", "15", "d", "wd", "15h", "015d", "-5d", "1.5d", "15dw"} {
		if _, err := ParseLimit(v1alpha1.Duration(in)); err == nil {
			t.Errorf("ParseLimit(%q) accepted", in)
		}
	}
}

func TestValidatePolicy(t *testing.T) {
	if err := ValidatePolicy(&StatutoryPolicy().Spec); err != nil {
		t.Fatalf("the statutory policy is invalid: %v", err)
	}
	stage := func(n v1alpha1.StageName, limit v1alpha1.Duration) v1alpha1.EscalationStage {
		return v1alpha1.EscalationStage{Name: n, Limit: limit}
	}
	cases := map[string]struct {
		stages []v1alpha1.EscalationStage
		want   string
	}{
		"out of order": {[]v1alpha1.EscalationStage{stage("Handling", "60d"), stage("Acceptance", "15d")},
			"spec.stages[1].name: Acceptance must come before"},
		"twice": {[]v1alpha1.EscalationStage{stage("Acceptance", "15d"), stage("Acceptance", "15d")},
			"spec.stages[1].name: Acceptance appears twice"},
		"no handling": {[]v1alpha1.EscalationStage{stage("Acceptance", "15d")}, "must include Acceptance and Handling"},
		"bad limit": {[]v1alpha1.EscalationStage{stage("Acceptance", "0d"), stage("Handling", "60d")},
			"spec.stages[0].limit:"},
		"unknown stage": {[]v1alpha1.EscalationStage{stage("Appeal", "15d")}, `spec.stages[0].name: "Appeal"`},
		// Each bad duration of a stage is judged in the order of the API
		// (limit, extension, requestWindow), so the report is the same on
		// every run.
		"limit before extension": {[]v1alpha1.EscalationStage{{Name: "Acceptance", Limit: "0d", Extension: "-1d", RequestWindow: "x"}},
			"spec.stages[0].limit:"},
		"extension before requestWindow": {[]v1alpha1.EscalationStage{{Name: "Acceptance", Limit: "15d", Extension: "-1d", RequestWindow: "x"}},
			"spec.stages[0].extension:"},
	}
	for name, tc := range cases {
		for range 20 {
			err := ValidatePolicy(&v1alpha1.EscalationPolicySpec{Stages: tc.stages})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s: got %v, want %q", name, err, tc.want)
				break
			}
		}
	}
}

func network3() (city, county, town *v1alpha1.Office) {
	return ofc("nanyang-city", v1alpha1.LevelCity, ""),
		ofc("zhenping-county", v1alpha1.LevelCounty, "nanyang-city"),
		ofc("shifosi-town", v1alpha1.LevelTownship, "zhenping-county")
}

func TestResolveChain(t *testing.T) {
	_, _, town := network3()
	esc, err := ResolveChain(town, []string{"nanyang-city", "zhenping-county", "shifosi-town"}, nil, StatutoryPolicy())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"Acceptance@shifosi-town", "Handling@shifosi-town", "Review@zhenping-county", "ReReview@nanyang-city"}
	for i, s := range esc.Steps {
		if got := string(s.Stage) + "@" + s.Office; got != want[i] {
			t.Errorf("step %d = %s, want %s", i, got, want[i])
		}
	}
	if esc.Supervisor != "zhenping-county" || esc.Policy != "statutory-2022" {
		t.Errorf("supervisor %q, policy %q", esc.Supervisor, esc.Policy)
	}

	// A City never reviews itself: its Review and ReReview are the bodies
	// above the network; a named supervisor is used.
	city, _, _ := network3()
	city.Spec.Escalation.Supervisor = "provincial-office"
	esc, err = ResolveChain(city, []string{"nanyang-city"}, nil, StatutoryPolicy())
	if err != nil {
		t.Fatal(err)
	}
	want = []string{"Acceptance@nanyang-city", "Handling@nanyang-city", "Review@[above nanyang-city]", "ReReview@[2 levels above nanyang-city]"}
	for i, s := range esc.Steps {
		if got := string(s.Stage) + "@" + s.Office + bracket(s.External); got != want[i] {
			t.Errorf("City step %d = %s, want %s", i, got, want[i])
		}
	}
	if esc.Supervisor != "provincial-office" {
		t.Errorf("supervisor = %q", esc.Supervisor)
	}

	bad := StatutoryPolicy()
	bad.Spec.Stages[0], bad.Spec.Stages[1] = bad.Spec.Stages[1], bad.Spec.Stages[0]
	if _, err := ResolveChain(town, []string{"a"}, nil, bad); err == nil || !strings.Contains(err.Error(), "EscalationPolicy statutory-2022: spec.stages[1].name") {
		t.Errorf("a bad policy resolved: %v", err)
	}
}

// bracket writes a body above the network as [name]; "" stays "".
func bracket(external string) string {
	if external == "" {
		return ""
	}
	return "[" + external + "]"
}

// TestStatutoryDeadlines projects the statutory chain for a petition received
// on 2026-09-16, across Mid-Autumn, National Day and the year end.
func TestStatutoryDeadlines(t *testing.T) {
	_, _, town := network3()
	esc, err := ResolveChain(town, []string{"nanyang-city", "zhenping-county", "shifosi-town"}, nil, StatutoryPolicy())
	if err != nil {
		t.Fatal(err)
	}
	cfg := &OfficeConfig{Office: "shifosi-town", Escalation: esc}
	ans, err := cfg.deadlines(cn2026(t), DeadlineQuery{Received: date(t, "2026-09-16")})
	if err != nil {
		t.Fatal(err)
	}
	got := ans.Stages
	want := []StageDeadline{
		// 09-16 + 15d = 10-01, National Day → 10-08. The reminder 5d
		// before, 10-03, is a holiday Saturday: back to Wednesday 09-30.
		{Name: "Acceptance", Office: "shifosi-town", Due: "2026-10-08", Reminders: []string{"2026-09-30"}},
		// 10-08 + 60d = 12-07 (Monday); + 90d = 2027-01-06 (Wednesday).
		{Name: "Handling", Office: "shifosi-town", Due: "2026-12-07", DueWithExtension: "2027-01-06", Reminders: []string{"2026-12-02"}},
		// Request by 12-07 + 30d = 2027-01-06 (Wednesday); due + 30d =
		// 2027-02-05 (Friday). Its reminder, Sunday 2027-01-31, moves back
		// to Friday 01-29.
		{Name: "Review", Office: "zhenping-county", RequestBy: "2027-01-06", Due: "2027-02-05", Reminders: []string{"2027-01-29"}},
		// Request by 02-05 + 30d = 03-07 (Sunday) → 03-08; due + 30d =
		// 2027-04-07 (Wednesday). Counted as one 60-day span it was 04-06.
		{Name: "ReReview", Office: "nanyang-city", RequestBy: "2027-03-08", Due: "2027-04-07", Reminders: []string{"2027-04-02"}},
	}
	if ans.Handler != "shifosi-town" || len(got) != len(want) {
		t.Fatalf("handler %s, %d stages; want shifosi-town, %d", ans.Handler, len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Name != w.Name || g.Office != w.Office || g.RequestBy != w.RequestBy || g.Due != w.Due || g.DueWithExtension != w.DueWithExtension ||
			strings.Join(g.Reminders, ",") != strings.Join(w.Reminders, ",") {
			t.Errorf("stage %d = %+v, want %+v", i, g, w)
		}
	}
}

func TestWorkingDayPolicyAcrossSpringFestival(t *testing.T) {
	_, county, _ := network3()
	policy := StatutoryPolicy()
	policy.Spec.Stages = policy.Spec.Stages[:2]
	policy.Spec.Stages[0].Limit = "5wd"
	policy.Spec.Stages[1].Limit = "10wd"
	policy.Spec.Stages[1].Extension = ""
	policy.Spec.Reminders = []v1alpha1.Reminder{{Before: "2wd"}}
	esc, err := ResolveChain(county, []string{"nanyang-city", "zhenping-county"}, nil, policy)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &OfficeConfig{Office: "zhenping-county", Escalation: esc}
	ans, err := cfg.deadlines(cn2026(t), DeadlineQuery{Received: date(t, "2026-02-10")})
	if err != nil {
		t.Fatal(err)
	}
	got := ans.Stages
	// 02-10 + 5wd: 11, 12, 13, 14 (adjusted Saturday), 24 → 02-24.
	// 02-24 + 10wd: 25, 26, 27, 28 (adjusted), 03-02, 03, 04, 05, 06, 09 → 03-09.
	// Reminders 2 working days before: from 02-24 back over the holiday to
	// 02-14 (adjusted Saturday, 1) and 02-13 (2); from 03-09 to 03-06 (1)
	// and 03-05 (2).
	if got[0].Due != "2026-02-24" || got[1].Due != "2026-03-09" || got[1].DueWithExtension != "" {
		t.Errorf("deadlines = %+v", got)
	}
	if got[0].Reminders[0] != "2026-02-13" || got[1].Reminders[0] != "2026-03-05" {
		t.Errorf("reminders = %v, %v", got[0].Reminders, got[1].Reminders)
	}
}

func TestNewCalendarRejects(t *testing.T) {
	cases := map[string]struct {
		spec v1alpha1.HolidayCalendarSpec
		want string
	}{
		"impossible date": {v1alpha1.HolidayCalendarSpec{Holidays: []v1alpha1.Holiday{{Name: "x", From: "2026-02-30", To: "2026-03-01"}}},
			`spec.holidays[0].from: "2026-02-30" is not a valid date (YYYY-MM-DD)`},
		"backwards": {v1alpha1.HolidayCalendarSpec{Holidays: []v1alpha1.Holiday{{Name: "x", From: "2026-03-02", To: "2026-03-01"}}},
			`spec.holidays[0]: "x" ends (2026-03-01) before it starts (2026-03-02)`},
		"longer than a year": {v1alpha1.HolidayCalendarSpec{Holidays: []v1alpha1.Holiday{{Name: "x", From: "2026-01-01", To: "2027-12-31"}}},
			`spec.holidays[0]: "x" lasts more than 366 days`},
		"bad workday": {v1alpha1.HolidayCalendarSpec{Workdays: []v1alpha1.Date{"2026-13-01"}},
			`spec.workdays[0]: "2026-13-01" is not a valid date (YYYY-MM-DD)`},
	}
	for name, tc := range cases {
		if _, err := NewCalendar(&tc.spec); err == nil || err.Error() != tc.want {
			t.Errorf("%s: got %v, want %q", name, err, tc.want)
		}
	}
}

// TestRemindersMoveOffNonWorkingDays: a reminder (催办) that falls on a
// holiday or a weekend moves to the working day before it, across the
// Mid-Autumn and National Day holidays of 2026 (09-25 to 09-27 and 10-01 to
// 10-07, with Sunday 09-20 and Saturday 10-10 worked).
func TestRemindersMoveOffNonWorkingDays(t *testing.T) {
	cal := cn2026(t)
	tests := []struct {
		due    string
		before Limit
		cal    *Calendar
		want   string
	}{
		{"2026-10-08", Limit{Days: 5}, cal, "2026-09-30"},                // 10-03 holiday Saturday → Wednesday 09-30
		{"2026-10-08", Limit{Days: 1}, cal, "2026-09-30"},                // 10-07 holiday Wednesday → 09-30
		{"2026-10-09", Limit{Days: 3}, cal, "2026-09-30"},                // 10-06 holiday Tuesday → 09-30
		{"2026-10-12", Limit{Days: 2}, cal, "2026-10-10"},                // 10-10, an adjusted Saturday, stays
		{"2026-10-12", Limit{Days: 1}, cal, "2026-10-10"},                // Sunday 10-11 → the adjusted Saturday 10-10
		{"2026-10-14", Limit{Days: 5}, cal, "2026-10-09"},                // Friday 10-09, a working day, stays
		{"2026-09-28", Limit{Days: 1}, cal, "2026-09-24"},                // Sunday 09-27 of Mid-Autumn → Thursday 09-24
		{"2026-09-22", Limit{Days: 2}, cal, "2026-09-20"},                // Sunday 09-20 is worked: stays
		{"2026-10-08", Limit{Days: 2, Working: true}, cal, "2026-09-29"}, // working days back: 09-30, 09-29
		{"2026-10-08", Limit{Days: 5}, nil, "2026-10-02"},                // without a calendar: Saturday → Friday
		{"2026-10-05", Limit{Days: 1}, nil, "2026-10-02"},                // without a calendar: Sunday → Friday
	}
	for _, tt := range tests {
		if got := tt.cal.Before(date(t, tt.due), tt.before).Format(time.DateOnly); got != tt.want {
			t.Errorf("Before(%s, %s) = %s, want %s", tt.due, tt.before, got, tt.want)
		}
	}

	// Through Deadlines: a 10d Acceptance and a 5d reminder. Received
	// 09-23: due 10-03 (holiday) → 10-08; reminder 10-03 → 09-30.
	// Received 09-28: due 10-08; the same reminder.
	policy := StatutoryPolicy()
	policy.Spec.Stages = policy.Spec.Stages[:2]
	policy.Spec.Stages[0].Limit = "10d"
	_, _, town := network3()
	esc, err := ResolveChain(town, []string{"nanyang-city", "zhenping-county", "shifosi-town"}, nil, policy)
	if err != nil {
		t.Fatal(err)
	}
	config := &OfficeConfig{Office: "shifosi-town", Escalation: esc}
	for _, received := range []string{"2026-09-23", "2026-09-28"} {
		ans, err := config.deadlines(cal, DeadlineQuery{Received: date(t, received)})
		if err != nil {
			t.Fatal(err)
		}
		got := ans.Stages
		if got[0].Due != "2026-10-08" || strings.Join(got[0].Reminders, ",") != "2026-09-30" {
			t.Errorf("received %s: Acceptance %+v", received, got[0])
		}
	}
}
