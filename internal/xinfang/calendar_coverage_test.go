package xinfang

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xinfang/petition-operator/api/v1alpha1"
)

func TestCalendarCovers(t *testing.T) {
	newYear := v1alpha1.Holiday{Name: "元旦", From: "2026-12-31", To: "2027-01-02"}
	tests := []struct {
		name     string
		spec     v1alpha1.HolidayCalendarSpec
		covered  []string // dates covered
		outside  []string // dates not covered
		from, to string   // Coverage; "" when none
		gaps     []int
	}{
		{name: "the 2026 calendar covers 2026 only", spec: cn2026Spec(),
			covered: []string{"2026-01-01", "2026-07-15", "2026-12-31"}, outside: []string{"2025-12-31", "2027-01-01", "2027-02-05"},
			from: "2026-01-01", to: "2026-12-31"},
		{name: "a holiday across the year end covers both years",
			spec:    v1alpha1.HolidayCalendarSpec{Holidays: []v1alpha1.Holiday{newYear}},
			covered: []string{"2026-01-01", "2027-12-31"}, outside: []string{"2025-12-31", "2028-01-01"},
			from: "2026-01-01", to: "2027-12-31"},
		{name: "an adjusted working day alone covers nothing",
			spec:    v1alpha1.HolidayCalendarSpec{Workdays: []v1alpha1.Date{"2027-02-07"}},
			outside: []string{"2026-12-31", "2027-01-01", "2027-12-31", "2028-01-01"}},
		{name: "a make-up day of 2027 in the 2026 calendar leaves 2027 uncovered",
			spec: func() v1alpha1.HolidayCalendarSpec {
				s := cn2026Spec()
				s.Workdays = append(s.Workdays, "2027-01-02")
				return s
			}(),
			covered: []string{"2026-12-31"}, outside: []string{"2027-01-01", "2027-01-02", "2027-10-01"},
			from: "2026-01-01", to: "2026-12-31"},
		{name: "covers widens the years of the dates",
			spec: func() v1alpha1.HolidayCalendarSpec {
				s := cn2026Spec()
				s.Covers = &v1alpha1.CoverageRange{From: "2027-01-01", To: "2028-12-31"}
				return s
			}(),
			covered: []string{"2026-01-01", "2027-06-30", "2028-12-31"}, outside: []string{"2025-12-31", "2029-01-01"},
			from: "2026-01-01", to: "2028-12-31"},
		{name: "covers never narrows the years of the dates",
			spec: func() v1alpha1.HolidayCalendarSpec {
				s := cn2026Spec()
				s.Covers = &v1alpha1.CoverageRange{From: "2026-06-01", To: "2026-06-30"}
				return s
			}(),
			covered: []string{"2026-01-01", "2026-12-31"}, outside: []string{"2027-01-01"},
			from: "2026-01-01", to: "2026-12-31"},
		{name: "covers alone: a year without holidays",
			spec:    v1alpha1.HolidayCalendarSpec{Covers: &v1alpha1.CoverageRange{From: "2030-01-01", To: "2030-12-31"}},
			covered: []string{"2030-01-01", "2030-12-31"}, outside: []string{"2029-12-31", "2031-01-01"},
			from: "2030-01-01", to: "2030-12-31"},
		{name: "a year between two that holds no holiday is not covered",
			spec: func() v1alpha1.HolidayCalendarSpec {
				s := cn2026Spec()
				s.Holidays = append(s.Holidays, v1alpha1.Holiday{Name: "春节", From: "2028-01-26", To: "2028-02-01"})
				return s
			}(),
			covered: []string{"2026-05-01", "2028-01-29"}, outside: []string{"2027-01-01", "2027-12-31"},
			from: "2026-01-01", to: "2028-12-31", gaps: []int{2027}},
		{name: "an empty calendar covers nothing",
			outside: []string{"2026-01-01", "1999-12-31"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := NewCalendar(&tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range tt.covered {
				if !c.Covers(date(t, d)) {
					t.Errorf("Covers(%s) = false, want true", d)
				}
			}
			for _, d := range tt.outside {
				if c.Covers(date(t, d)) {
					t.Errorf("Covers(%s) = true, want false", d)
				}
			}
			from, to, ok := c.Coverage()
			if ok != (tt.from != "") || (ok && (from.Format(time.DateOnly) != tt.from || to.Format(time.DateOnly) != tt.to)) {
				t.Errorf("Coverage() = %s, %s, %v; want %q, %q", from.Format(time.DateOnly), to.Format(time.DateOnly), ok, tt.from, tt.to)
			}
			if got := c.Gaps(); !slices.Equal(got, tt.gaps) {
				t.Errorf("Gaps() = %v, want %v", got, tt.gaps)
			}
		})
	}
	// A date's year is read in its own zone: 2027-01-01 00:30 in Shanghai
	// is still 2026 in UTC.
	c := cn2026(t)
	loc, _ := time.LoadLocation(shanghai)
	if at := time.Date(2027, 1, 1, 0, 30, 0, 0, loc); c.Covers(at) || !c.Covers(at.UTC()) {
		t.Errorf("Covers(%s) = %v, Covers(%s) = %v", at, c.Covers(at), at.UTC(), c.Covers(at.UTC()))
	}
	// No calendar: no holidays by choice, nothing to warn about.
	var none *Calendar
	if !none.Covers(date(t, "2040-01-01")) {
		t.Error("a nil calendar must cover every date")
	}
	if _, _, ok := none.Coverage(); ok {
		t.Error("a nil calendar has no coverage range")
	}
}

func TestNewCalendarRejectsCovers(t *testing.T) {
	cases := map[string]struct {
		covers v1alpha1.CoverageRange
		want   string
	}{
		"impossible from": {v1alpha1.CoverageRange{From: "2026-02-30", To: "2026-12-31"},
			`spec.covers.from: "2026-02-30" is not a valid date (YYYY-MM-DD)`},
		"impossible to": {v1alpha1.CoverageRange{From: "2026-01-01", To: "2026-13-31"},
			`spec.covers.to: "2026-13-31" is not a valid date (YYYY-MM-DD)`},
		"backwards": {v1alpha1.CoverageRange{From: "2027-01-01", To: "2026-12-31"},
			`spec.covers: to (2026-12-31) is before from (2027-01-01)`},
		"eleven years": {v1alpha1.CoverageRange{From: "2026-01-01", To: "2036-01-01"},
			`spec.covers: 2026 to 2036 is 11 years; at most 10 are allowed`},
	}
	for name, tc := range cases {
		if _, err := NewCalendar(&v1alpha1.HolidayCalendarSpec{Covers: &tc.covers}); err == nil || err.Error() != tc.want {
			t.Errorf("%s: got %v, want %q", name, err, tc.want)
		}
	}
	if _, err := NewCalendar(&v1alpha1.HolidayCalendarSpec{Covers: &v1alpha1.CoverageRange{From: "2026-01-01", To: "2035-12-31"}}); err != nil {
		t.Errorf("ten years: %v", err)
	}
	hc := &v1alpha1.HolidayCalendar{Spec: v1alpha1.HolidayCalendarSpec{Covers: &v1alpha1.CoverageRange{From: "2026-02-30", To: "2026-12-31"}}}
	if f := CheckHolidayCalendar(hc); len(f.Errors) != 1 || f.Errors[0].Field != "spec.covers.from" {
		t.Errorf("CheckHolidayCalendar = %+v, want one error on spec.covers.from", f.Errors)
	}
}

func TestCalendarHealth(t *testing.T) {
	with2027 := cn2026Spec()
	with2027.Covers = &v1alpha1.CoverageRange{From: "2027-01-01", To: "2027-12-31"}
	utc := func(s string) time.Time {
		at, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return at
	}
	tests := []struct {
		name    string
		spec    v1alpha1.HolidayCalendarSpec
		now     string
		ending  bool
		next    string // RFC 3339; "" for none
		message string // a part of it
	}{
		// 2027-01-01 is the first date the 2026 calendar does not cover;
		// 60 days before it is 2026-11-02 (31 days of December, 29 of
		// November).
		{"61 days before the end", cn2026Spec(), "2026-11-01T23:59:59Z", false, "2026-11-02T00:00:00Z", "covers 2026-01-01 to 2026-12-31"},
		{"60 days before the end", cn2026Spec(), "2026-11-02T00:00:00Z", true, "",
			"its coverage ends on 2026-12-31: apply the public holidays and adjusted working days of 2027"},
		{"a month before the end", cn2026Spec(), "2026-12-02T07:00:00Z", true, "", "ends on 2026-12-31"},
		{"after the end", cn2026Spec(), "2027-03-01T00:00:00Z", true, "", "ends on 2026-12-31"},
		// Covering 2027 too moves the warning to 2027-11-02.
		{"two years", with2027, "2026-12-02T07:00:00Z", false, "2027-11-02T00:00:00Z", "covers 2026-01-01 to 2027-12-31"},
		{"an empty calendar", v1alpha1.HolidayCalendarSpec{}, "2026-12-02T07:00:00Z", true, "", "it covers no year"},
		{"a gap is named", func() v1alpha1.HolidayCalendarSpec {
			s := cn2026Spec()
			s.Holidays = append(s.Holidays, v1alpha1.Holiday{Name: "春节", From: "2028-01-26", To: "2028-02-01"})
			return s
		}(), "2026-12-02T07:00:00Z", false, "2028-11-02T00:00:00Z", "covers 2026-01-01 to 2028-12-31 except 2027, which hold no holiday"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := NewCalendar(&tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			h := c.Health(utc(tt.now))
			next := ""
			if !h.Next.IsZero() {
				next = h.Next.Format(time.RFC3339)
			}
			if h.Ending != tt.ending || next != tt.next || !strings.Contains(h.Message, tt.message) {
				t.Errorf("Health(%s) = ending %v, next %q, %q; want %v, %q, containing %q", tt.now, h.Ending, next, h.Message, tt.ending, tt.next, tt.message)
			}
		})
	}
}

func TestOfficeCalendarCoverage(t *testing.T) {
	_, _, town := network3()
	esc, err := ResolveChain(town, []string{"nanyang-city", "zhenping-county", "shifosi-town"}, nil, StatutoryPolicy())
	if err != nil {
		t.Fatal(err)
	}
	config := func(spec *v1alpha1.HolidayCalendarSpec) *OfficeConfig {
		c := &OfficeConfig{Office: "shifosi-town", TimeZone: shanghai, CalendarRef: "cn", Escalation: esc}
		if spec != nil {
			c.Calendar = compileCalendar(spec)
		}
		return c
	}
	cn := cn2026Spec()
	with2027 := cn2026Spec()
	with2027.Covers = &v1alpha1.CoverageRange{From: "2027-01-01", To: "2027-12-31"}
	only2027 := v1alpha1.HolidayCalendarSpec{Covers: &v1alpha1.CoverageRange{From: "2027-01-01", To: "2027-12-31"}}
	tests := []struct {
		name    string
		spec    *v1alpha1.HolidayCalendarSpec
		now     string // wall clock in Shanghai
		beyond  bool
		date    string // CoveredUntil, or FirstUncovered when beyond
		next    string // RFC 3339 in Shanghai
		message string
	}{
		// Received 2026-06-17 (Wednesday): Acceptance 07-02, Handling
		// 08-31 (with extension 09-30), Review 10-30, ReReview 12-29: all
		// in 2026. Received 06-18: Acceptance 07-03, Handling 09-01,
		// Review 10-31 (Saturday) → 11-02, ReReview 2027-01-01: beyond.
		{"spring: covered until 06-17", &cn, "2026-03-10 09:00", false, "2026-06-17", "2026-06-18T00:00:00+08:00",
			"HolidayCalendar cn covers every deadline of a petition received up to 2026-06-17"},
		{"the last minute of 06-17", &cn, "2026-06-17 23:59", false, "2026-06-17", "2026-06-18T00:00:00+08:00", "up to 2026-06-17"},
		// 00:00 in Shanghai is still 06-17 in UTC: the office's zone counts.
		{"midnight of 06-18", &cn, "2026-06-18 00:00", true, "2027-01-01", "2027-01-01T00:00:00+08:00",
			"HolidayCalendar cn does not cover 2027, where deadlines of a petition received now fall; the first date it does not cover is 2027-01-01"},
		{"December 2026", &cn, "2026-12-02 15:25", true, "2027-01-01", "2027-01-01T00:00:00+08:00", "the first date it does not cover is 2027-01-01"},
		// With 2027 covered (without holidays): received 2027-06-17
		// (Thursday): Acceptance 07-02, Handling 08-31, Review 10-30
		// (Saturday) → 11-01, ReReview 12-31. Received 06-18: Acceptance
		// 07-03 (Saturday) → 07-05, Handling 09-03, Review 11-02,
		// ReReview 2028-01-01.
		{"covers 2027 too", &with2027, "2026-12-02 15:25", false, "2027-06-17", "2027-06-18T00:00:00+08:00", "up to 2027-06-17"},
		// A calendar of next year only does not cover a petition of today.
		{"next year only", &only2027, "2026-12-02 15:25", true, "2026-01-01", "2027-01-01T00:00:00+08:00", "does not cover 2026"},
		{"next year only, in that year", &only2027, "2027-01-04 09:00", false, "2027-06-17", "2027-06-18T00:00:00+08:00", "up to 2027-06-17"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := config(tt.spec)
			ans, ok, err := c.CalendarCoverage(winAt(t, shanghai, tt.now))
			if err != nil || !ok {
				t.Fatalf("CalendarCoverage: %v, %v", ok, err)
			}
			got := ans.CoveredUntil
			if ans.Beyond {
				got = ans.FirstUncovered
			}
			if ans.Beyond != tt.beyond || got.Format(time.DateOnly) != tt.date || ans.Next.Format(time.RFC3339) != tt.next ||
				!strings.Contains(ans.Message, tt.message) {
				t.Errorf("CalendarCoverage(%s) = beyond %v, %s, next %s, %q; want %v, %s, %s, %q", tt.now, ans.Beyond,
					got.Format(time.DateOnly), ans.Next.Format(time.RFC3339), ans.Message, tt.beyond, tt.date, tt.next, tt.message)
			}
			msg, problem := c.CoverageProblem(winAt(t, shanghai, tt.now))
			if problem != tt.beyond || msg != ans.Message {
				t.Errorf("CoverageProblem = %q, %v", msg, problem)
			}
			// The answer stays the same until Next.
			before, _, _ := c.CalendarCoverage(ans.Next.Add(-time.Second))
			if before.Message != ans.Message {
				t.Errorf("a second before Next: %q, want %q", before.Message, ans.Message)
			}
		})
	}
	// An office without a calendar gets no answer and no problem.
	c := config(nil)
	if _, ok, err := c.CalendarCoverage(time.Now()); ok || err != nil {
		t.Errorf("without a calendar: %v, %v", ok, err)
	}
	if msg, problem := c.CoverageProblem(time.Now()); problem || msg != "" {
		t.Errorf("without a calendar: %q, %v", msg, problem)
	}
}
