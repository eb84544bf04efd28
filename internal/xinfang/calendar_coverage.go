package xinfang

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/xinfang/petition-operator/api/v1alpha1"
)

// A HolidayCalendar covers whole years: every year that holds a holiday
// (its from or to) and every year from spec.covers.from's to
// spec.covers.to's. The two add up: covers widens what the holidays cover,
// it never narrows it. An adjusted working day covers nothing: a make-up
// day of 2027 in a 2026 calendar (for a holiday that spans the new year)
// says nothing about 2027's holidays. A covered year is one
// whose holidays and adjusted working days the calendar holds in full, so
// a date outside the covered years is counted as if it had no holiday, and
// warned about.

// CoverageWarningDays is how close the end of a calendar's coverage may come
// before the calendar warns (Ready reason CoverageEnding).
const CoverageWarningDays = 60

// maxCoverYears bounds spec.covers: a calendar that claims to know the
// holidays of more years than this is a typo.
const maxCoverYears = 10

// setCoverage records the years the spec covers; it refuses a spec.covers
// that does not parse, runs backwards or spans more than maxCoverYears.
func (c *Calendar) setCoverage(spec *v1alpha1.HolidayCalendarSpec) error {
	years := map[int]bool{}
	for _, h := range spec.Holidays {
		from, _ := ParseDate(h.From)
		to, _ := ParseDate(h.To)
		for y := from.Year(); y <= to.Year(); y++ {
			years[y] = true
		}
	}
	if cv := spec.Covers; cv != nil {
		from, err := ParseDate(cv.From)
		if err != nil {
			return fmt.Errorf("spec.covers.from: %w", err)
		}
		to, err := ParseDate(cv.To)
		if err != nil {
			return fmt.Errorf("spec.covers.to: %w", err)
		}
		if to.Before(from) {
			return fmt.Errorf("spec.covers: to (%s) is before from (%s)", cv.To, cv.From)
		}
		if to.Year()-from.Year() >= maxCoverYears {
			return fmt.Errorf("spec.covers: %d to %d is %d years; at most %d are allowed", from.Year(), to.Year(), to.Year()-from.Year()+1, maxCoverYears)
		}
		for y := from.Year(); y <= to.Year(); y++ {
			years[y] = true
		}
	}
	for y := range years {
		c.years = append(c.years, y)
	}
	slices.Sort(c.years)
	return nil
}

// Covers reports whether the calendar covers the date (in t's location):
// whether it holds the holidays and adjusted working days of its year. A
// nil calendar — an office that names none — has no holidays by choice and
// covers every date, so it is never warned about.
func (c *Calendar) Covers(day time.Time) bool {
	if c == nil {
		return true
	}
	_, found := slices.BinarySearch(c.years, day.Year())
	return found
}

// Coverage returns the first and the last date the calendar covers, 1
// January of its first year and 31 December of its last; ok is false when
// it covers no year (or is nil). Years between them may be uncovered
// (Gaps).
func (c *Calendar) Coverage() (from, to time.Time, ok bool) {
	if c == nil || len(c.years) == 0 {
		return time.Time{}, time.Time{}, false
	}
	first, last := c.years[0], c.years[len(c.years)-1]
	return time.Date(first, time.January, 1, 0, 0, 0, 0, time.UTC), time.Date(last, time.December, 31, 0, 0, 0, 0, time.UTC), true
}

// Gaps returns the years between the first and the last covered year that
// the calendar does not cover.
func (c *Calendar) Gaps() []int {
	if c == nil {
		return nil
	}
	var gaps []int
	for i := 1; i < len(c.years); i++ {
		for y := c.years[i-1] + 1; y < c.years[i]; y++ {
			gaps = append(gaps, y)
		}
	}
	return gaps
}

// FirstUncovered returns 1 January of the first year from from's to to's
// that the calendar does not cover; ok is false when it covers them all.
func (c *Calendar) FirstUncovered(from, to time.Time) (time.Time, bool) {
	for y := from.Year(); y <= to.Year(); y++ {
		if !c.Covers(time.Date(y, time.January, 1, 0, 0, 0, 0, time.UTC)) {
			return time.Date(y, time.January, 1, 0, 0, 0, 0, time.UTC), true
		}
	}
	return time.Time{}, false
}

// CalendarHealth is what a HolidayCalendar's status says about its
// coverage at an instant.
type CalendarHealth struct {
	// From and To are the first and last covered dates; zero when it
	// covers no year.
	From, To time.Time
	// Ending is true when the coverage ends within CoverageWarningDays of
	// the instant, has ended, or the calendar covers no year.
	Ending bool
	// Message says so, or what the calendar covers; it does not change
	// from day to day.
	Message string
	// Next is the instant Ending turns true; zero when it is or never will.
	Next time.Time
}

// Health answers whether the calendar's coverage ends within
// CoverageWarningDays of now: whether the first date after it comes no more
// than CoverageWarningDays after now's date (UTC), or has come.
func (c *Calendar) Health(now time.Time) CalendarHealth {
	from, to, ok := c.Coverage()
	if !ok {
		return CalendarHealth{Ending: true, Message: "it covers no year: it holds no holiday and has no spec.covers"}
	}
	h := CalendarHealth{From: from, To: to}
	covered := fmt.Sprintf("covers %s to %s", from.Format(time.DateOnly), to.Format(time.DateOnly))
	if gaps := c.Gaps(); len(gaps) > 0 {
		names := make([]string, len(gaps))
		for i, y := range gaps {
			names[i] = strconv.Itoa(y)
		}
		covered += fmt.Sprintf(" except %s, which hold no holiday (add them to spec.covers if they have none)", strings.Join(names, ", "))
	}
	after := to.AddDate(0, 0, 1) // the first date it does not cover
	warnFrom := after.AddDate(0, 0, -CoverageWarningDays)
	if !civil(now.UTC()).Before(warnFrom) {
		h.Ending = true
		h.Message = fmt.Sprintf("its coverage ends on %s: apply the public holidays and adjusted working days of %d, in a new HolidayCalendar or in this one; %s",
			to.Format(time.DateOnly), after.Year(), covered)
		return h
	}
	h.Next = warnFrom
	h.Message = covered
	return h
}

// CoverageAnswer is whether an office's calendar covers every deadline of
// a petition received on a day.
type CoverageAnswer struct {
	// Calendar is the office's calendarRef.
	Calendar string
	// Beyond is true when a deadline falls in a year the calendar does not
	// cover.
	Beyond bool
	// FirstUncovered is 1 January of the first such year, when Beyond.
	FirstUncovered time.Time
	// CoveredUntil is the last day of receipt whose deadlines all lie
	// within the calendar's coverage, when not Beyond.
	CoveredUntil time.Time
	// Message says which, naming the calendar and a date; it does not
	// change from day to day.
	Message string
	// Next is the instant, in the office's time zone, at which the answer
	// may change: the day after CoveredUntil, or the next 1 January.
	Next time.Time
}

// CalendarCoverage answers whether the office's calendar covers every date
// of the escalation chain of a petition received at now (in the office's
// time zone): the due dates with extension, as Deadlines projects them.
// ok is false when the office names no calendar: nothing is then warned.
func (c *OfficeConfig) CalendarCoverage(now time.Time) (ans CoverageAnswer, ok bool, err error) {
	if c.Calendar == nil {
		return CoverageAnswer{}, false, nil
	}
	cal, err := c.calendar()
	if err != nil {
		return CoverageAnswer{}, true, fmt.Errorf("calendar %s: %w", c.CalendarRef, err)
	}
	loc, err := loadLocation(zoneOr(c.TimeZone))
	if err != nil {
		return CoverageAnswer{}, true, fmt.Errorf("timeZone: unknown time zone %q", c.TimeZone)
	}
	lt := now.In(loc)
	today := civil(lt)
	last := func(received time.Time) time.Time {
		end := received
		if c.Escalation == nil {
			return end
		}
		ans, err := c.deadlines(cal, DeadlineQuery{Received: received})
		if err != nil {
			return end
		}
		for _, d := range ans.Stages {
			for _, s := range []string{d.Due, d.DueWithExtension} {
				if t, err := time.Parse(time.DateOnly, s); err == nil && t.After(end) {
					end = t
				}
			}
		}
		return end
	}
	ans = CoverageAnswer{Calendar: c.CalendarRef}
	localMidnight := func(d time.Time) time.Time { return time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, loc) }
	if first, beyond := cal.FirstUncovered(today, last(today)); beyond {
		ans.Beyond, ans.FirstUncovered = true, first
		ans.Message = fmt.Sprintf("HolidayCalendar %s does not cover %d, where deadlines of a petition received now fall; the first date it does not cover is %s: deadlines there are counted without holidays",
			c.CalendarRef, first.Year(), first.Format(time.DateOnly))
		// Only the turn of the year can change which year is named.
		ans.Next = localMidnight(time.Date(today.Year()+1, time.January, 1, 0, 0, 0, 0, time.UTC))
		return ans, true, nil
	}
	// The deadlines of later receipts come no earlier: search the last day
	// of receipt whose deadlines stay in the run of covered years that
	// holds today.
	runEnd := today.Year()
	for cal.Covers(time.Date(runEnd+1, time.January, 1, 0, 0, 0, 0, time.UTC)) {
		runEnd++
	}
	limit := time.Date(runEnd, time.December, 31, 0, 0, 0, 0, time.UTC)
	lo, hi := 0, int((limit.Unix()-today.Unix())/day) // lo covered; hi unknown
	if !last(limit).After(limit) {
		lo = hi
	}
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if last(today.AddDate(0, 0, mid)).After(limit) {
			hi = mid - 1
		} else {
			lo = mid
		}
	}
	ans.CoveredUntil = today.AddDate(0, 0, lo)
	ans.Message = fmt.Sprintf("HolidayCalendar %s covers every deadline of a petition received up to %s",
		c.CalendarRef, ans.CoveredUntil.Format(time.DateOnly))
	ans.Next = localMidnight(ans.CoveredUntil.AddDate(0, 0, 1))
	return ans, true, nil
}

// CoverageProblem returns, when the office's calendar does not cover every
// deadline of a petition received at now, a message naming the calendar and
// the first date it does not cover, and true. An office without a calendar
// has no problem.
func (c *OfficeConfig) CoverageProblem(now time.Time) (string, bool) {
	ans, ok, err := c.CalendarCoverage(now)
	switch {
	case err != nil:
		return err.Error(), true
	case !ok:
		return "", false
	}
	return ans.Message, ans.Beyond
}

// zoneOr returns tz, or the default time zone when it is empty.
func zoneOr(tz string) string {
	if tz == "" {
		return v1alpha1.DefaultTimeZone
	}
	return tz
}
