package xinfang

import (
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/xinfang/petition-operator/api/v1alpha1"
)

// ParseDate parses a YYYY-MM-DD date. The API's pattern admits dates such as
// 2026-02-30 that do not exist; ParseDate rejects them.
func ParseDate(d v1alpha1.Date) (time.Time, error) {
	t, err := time.Parse(time.DateOnly, string(d))
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not a valid date (YYYY-MM-DD)", d)
	}
	return t, nil
}

// HolidayDays returns the number of distinct dates the holidays cover, in
// time proportional to the number of holidays, not of days.
func HolidayDays(holidays []v1alpha1.Holiday) (int, error) {
	spans := make([]dateSpan, 0, len(holidays))
	for _, h := range holidays {
		from, err := ParseDate(h.From)
		if err != nil {
			return 0, fmt.Errorf("holiday %q: from: %w", h.Name, err)
		}
		to, err := ParseDate(h.To)
		if err != nil {
			return 0, fmt.Errorf("holiday %q: to: %w", h.Name, err)
		}
		if to.Before(from) {
			return 0, fmt.Errorf("holiday %q: to %s is before from %s", h.Name, h.To, h.From)
		}
		spans = append(spans, dateSpan{from, to})
	}
	return countDays(spans), nil
}

// countDays returns the number of distinct dates the spans cover.
func countDays(spans []dateSpan) int {
	spans = slices.Clone(spans)
	sort.Slice(spans, func(i, j int) bool { return spans[i].from.Before(spans[j].from) })
	days := 0
	var end time.Time // last day counted so far
	for i, s := range spans {
		if i > 0 && !s.from.After(end) {
			if !s.to.After(end) {
				continue
			}
			s.from = end.AddDate(0, 0, 1)
		}
		// Unix seconds, not Sub: a time.Duration saturates at about 292
		// years. ParseDate returns UTC midnights, so days are 86400 s.
		days += int((s.to.Unix()-s.from.Unix())/(24*60*60)) + 1
		end = s.to
	}
	return days
}

// maxHolidayDays bounds one holiday: anything longer than a year is a typo.
const maxHolidayDays = 366

// Calendar answers which days are working days: Monday to Friday, minus
// public holidays, plus adjusted working days (调休). A nil *Calendar has no
// holidays and no adjusted days.
type Calendar struct {
	holidays []dateSpan
	// merged is holidays sorted and merged where they overlap or touch,
	// for IsHoliday to search.
	merged   []dateSpan
	workdays map[time.Time]bool
	// workdayList is workdays sorted, for counting to skip past.
	workdayList []time.Time
	// years are the years the calendar covers, sorted (calendar_coverage.go).
	years []int
}

type dateSpan struct{ from, to time.Time }

// NewCalendar builds the calendar of a HolidayCalendar's spec. It refuses
// dates that do not exist, holidays that end before they start or last more
// than a year, errors naming the field.
func NewCalendar(spec *v1alpha1.HolidayCalendarSpec) (*Calendar, error) {
	c := &Calendar{workdays: map[time.Time]bool{}}
	for i, h := range spec.Holidays {
		from, err := ParseDate(h.From)
		if err != nil {
			return nil, fmt.Errorf("spec.holidays[%d].from: %w", i, err)
		}
		to, err := ParseDate(h.To)
		if err != nil {
			return nil, fmt.Errorf("spec.holidays[%d].to: %w", i, err)
		}
		if to.Before(from) {
			return nil, fmt.Errorf("spec.holidays[%d]: %q ends (%s) before it starts (%s)", i, h.Name, h.To, h.From)
		}
		if to.Sub(from) >= maxHolidayDays*24*time.Hour {
			return nil, fmt.Errorf("spec.holidays[%d]: %q lasts more than %d days", i, h.Name, maxHolidayDays)
		}
		c.holidays = append(c.holidays, dateSpan{from, to})
	}
	for i, d := range spec.Workdays {
		t, err := ParseDate(d)
		if err != nil {
			return nil, fmt.Errorf("spec.workdays[%d]: %w", i, err)
		}
		if err := checkWorkday(t, spec.Holidays); err != nil {
			return nil, fmt.Errorf("spec.workdays[%d]: %w", i, err)
		}
		c.workdays[t] = true
	}
	if err := c.setCoverage(spec); err != nil {
		return nil, err
	}
	c.merged = mergeSpans(c.holidays)
	for d := range c.workdays {
		c.workdayList = append(c.workdayList, d)
	}
	slices.SortFunc(c.workdayList, func(a, b time.Time) int { return a.Compare(b) })
	return c, nil
}

// checkWorkday refuses an adjusted working day that contradicts the rest of
// the calendar: one that is not a Saturday or Sunday (a weekday is a working
// day already) or that falls within a holiday (it cannot be both). Either
// would make deadlines count a day as worked that reception windows keep
// closed. The API's CEL rules say the same where the API server can.
func checkWorkday(d time.Time, holidays []v1alpha1.Holiday) error {
	if wd := d.Weekday(); wd != time.Saturday && wd != time.Sunday {
		return fmt.Errorf("%s is a %s; an adjusted working day (调休) is a Saturday or Sunday made a working day", d.Format(time.DateOnly), wd)
	}
	for _, h := range holidays {
		from, err1 := ParseDate(h.From)
		to, err2 := ParseDate(h.To)
		if err1 == nil && err2 == nil && !d.Before(from) && !d.After(to) {
			return fmt.Errorf("%s falls within the holiday %s (%s to %s); a date is a holiday or an adjusted working day, not both", d.Format(time.DateOnly), Quote(h.Name), h.From, h.To)
		}
	}
	return nil
}

// mergeSpans returns the spans sorted, those that overlap or touch made one.
func mergeSpans(spans []dateSpan) []dateSpan {
	sorted := slices.Clone(spans)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].from.Before(sorted[j].from) })
	var out []dateSpan
	for _, s := range sorted {
		if n := len(out); n > 0 && !s.from.After(out[n-1].to.AddDate(0, 0, 1)) {
			if s.to.After(out[n-1].to) {
				out[n-1].to = s.to
			}
			continue
		}
		out = append(out, s)
	}
	return out
}

// civil returns the calendar date of t as midnight UTC.
func civil(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// HolidayDays returns the number of distinct holiday dates of the calendar.
func (c *Calendar) HolidayDays() int {
	if c == nil {
		return 0
	}
	return countDays(c.holidays)
}

// IsHoliday reports whether the date is a public holiday.
func (c *Calendar) IsHoliday(t time.Time) bool {
	if c == nil {
		return false
	}
	d := civil(t)
	i := sort.Search(len(c.merged), func(i int) bool { return !c.merged[i].to.Before(d) })
	return i < len(c.merged) && !d.Before(c.merged[i].from)
}

// IsAdjustedWorkday reports whether the date is a weekend day made a
// working day (调休).
func (c *Calendar) IsAdjustedWorkday(t time.Time) bool {
	return c != nil && c.workdays[civil(t)]
}

// IsWorkingDay reports whether the date is a working day: an adjusted
// working day, or Monday to Friday and not a holiday.
func (c *Calendar) IsWorkingDay(t time.Time) bool {
	if c.IsAdjustedWorkday(t) {
		return true
	}
	if wd := t.Weekday(); wd == time.Saturday || wd == time.Sunday {
		return false
	}
	return !c.IsHoliday(t)
}

// Add returns the deadline l after the date: the date itself is not counted;
// working days count only working days; a calendar-day deadline that falls on
// a non-working day moves to the next working day (民法典 Art. 203).
//
// It counts in time proportional to the holidays and adjusted working days
// it passes, not to the days: seven days without either hold five working
// days, and a holiday's days are skipped together.
func (c *Calendar) Add(t time.Time, l Limit) time.Time {
	d := civil(t)
	if l.Working {
		for n := 0; n < l.Days; {
			// Whole weeks before the next holiday or adjusted working
			// day, as long as the deadline lies beyond them.
			if weeks := min(c.plainDaysAfter(d)/7, (l.Days-n-1)/5); weeks > 0 {
				d = d.AddDate(0, 0, 7*weeks)
				n += 5 * weeks
				continue
			}
			d = d.AddDate(0, 0, 1)
			if c.IsWorkingDay(d) {
				n++
				continue
			}
			d = c.holidayRunEnd(d)
		}
		return d
	}
	d = d.AddDate(0, 0, l.Days)
	for !c.IsWorkingDay(d) {
		d = c.holidayRunEnd(d).AddDate(0, 0, 1)
	}
	return d
}

// day is a date's length in seconds: dates are midnights UTC.
const day = 24 * 60 * 60

// plainDaysAfter returns how many dates after d come before the next
// holiday or adjusted working day (a large number when none comes).
func (c *Calendar) plainDaysAfter(d time.Time) int {
	const forever = 1 << 30
	if c == nil {
		return forever
	}
	next := d.AddDate(0, 0, 1)
	special := int64(-1)
	if i := sort.Search(len(c.merged), func(i int) bool { return !c.merged[i].to.Before(next) }); i < len(c.merged) {
		special = max(c.merged[i].from.Unix(), next.Unix())
	}
	if i := sort.Search(len(c.workdayList), func(i int) bool { return !c.workdayList[i].Before(next) }); i < len(c.workdayList) {
		if w := c.workdayList[i].Unix(); special < 0 || w < special {
			special = w
		}
	}
	if special < 0 {
		return forever
	}
	return int((special - next.Unix()) / day)
}

// plainDaysBefore returns how many dates before d come after the last
// holiday or adjusted working day before them (a large number when none).
func (c *Calendar) plainDaysBefore(d time.Time) int {
	const forever = 1 << 30
	if c == nil {
		return forever
	}
	prev := d.AddDate(0, 0, -1)
	special := int64(-1)
	found := false
	// The last span that starts on or before prev.
	if i := sort.Search(len(c.merged), func(i int) bool { return c.merged[i].from.After(prev) }); i > 0 {
		special, found = min(c.merged[i-1].to.Unix(), prev.Unix()), true
	}
	if i := sort.Search(len(c.workdayList), func(i int) bool { return c.workdayList[i].After(prev) }); i > 0 {
		if w := c.workdayList[i-1].Unix(); !found || w > special {
			special, found = w, true
		}
	}
	if !found {
		return forever
	}
	return int((prev.Unix() - special) / day)
}

// holidayRunEnd returns the last date of the run of holidays that d, not a
// working day, begins, up to the day before an adjusted working day within
// it; d itself when d is no holiday.
func (c *Calendar) holidayRunEnd(d time.Time) time.Time {
	if c == nil {
		return d
	}
	i := sort.Search(len(c.merged), func(i int) bool { return !c.merged[i].to.Before(d) })
	if i == len(c.merged) || d.Before(c.merged[i].from) {
		return d
	}
	end := c.merged[i].to
	if j := sort.Search(len(c.workdayList), func(j int) bool { return c.workdayList[j].After(d) }); j < len(c.workdayList) && !c.workdayList[j].After(end) {
		end = c.workdayList[j].AddDate(0, 0, -1)
	}
	return end
}

// holidayRunStart is holidayRunEnd going back: the first date of the run of
// holidays that ends at d, down to the day after an adjusted working day
// within it.
func (c *Calendar) holidayRunStart(d time.Time) time.Time {
	if c == nil {
		return d
	}
	i := sort.Search(len(c.merged), func(i int) bool { return !c.merged[i].to.Before(d) })
	if i == len(c.merged) || d.Before(c.merged[i].from) {
		return d
	}
	start := c.merged[i].from
	if j := sort.Search(len(c.workdayList), func(j int) bool { return !c.workdayList[j].Before(d) }); j > 0 && !c.workdayList[j-1].Before(start) {
		start = c.workdayList[j-1].AddDate(0, 0, 1)
	}
	return start
}

// AddAll adds the limits in turn, summing neighbours of the same unit first:
// a 30d request window and a 30d limit are one 60-day span, so only its end
// moves off a non-working day.
func (c *Calendar) AddAll(t time.Time, limits ...Limit) time.Time {
	var merged []Limit
	for _, l := range limits {
		if n := len(merged); n > 0 && merged[n-1].Working == l.Working {
			merged[n-1].Days += l.Days
			continue
		}
		merged = append(merged, l)
	}
	for _, l := range merged {
		t = c.Add(t, l)
	}
	return civil(t)
}

// Before returns the date l before due, for reminders (催办): a working-day
// limit counts working days back; a calendar-day limit counts calendar days
// back and, when it lands on a non-working day, moves to the working day
// before it, so that a reminder is never due on a holiday or a weekend.
// Like Add it skips weeks without holidays or adjusted working days, and
// holidays, together.
func (c *Calendar) Before(due time.Time, l Limit) time.Time {
	d := civil(due)
	if !l.Working {
		d = d.AddDate(0, 0, -l.Days)
		for !c.IsWorkingDay(d) {
			d = c.holidayRunStart(d).AddDate(0, 0, -1)
		}
		return d
	}
	for n := 0; n < l.Days; {
		if weeks := min(c.plainDaysBefore(d)/7, (l.Days-n-1)/5); weeks > 0 {
			d = d.AddDate(0, 0, -7*weeks)
			n += 5 * weeks
			continue
		}
		d = d.AddDate(0, 0, -1)
		if c.IsWorkingDay(d) {
			n++
			continue
		}
		d = c.holidayRunStart(d)
	}
	return d
}
