package xinfang

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/xinfang/petition-operator/api/v1alpha1"
)

// Reception windows follow Alertmanager's time_intervals: a window covers an
// instant when every recurrence field it gives matches the instant's wall
// clock in the office's time zone (weekdays, times, daysOfMonth,
// dateRanges), or always when it says always: true. A channel is open when
// any window listing it covers the instant and, unless the window's
// closedOnHolidays is false, the local date is not a public holiday.
//
// Adjusted working days (调休) count as Monday to Friday for windows that
// are open on every day from Monday to Friday: on a date the calendar makes
// a working day, a weekdays field matches when it names all of monday to
// friday (in days or ranges). A window limited to some weekdays does not
// open on it: a leader reception on the first Wednesday of the month
// (weekdays [wednesday], daysOfMonth ["1:7"]) stays closed on a make-up
// Sunday, since the Sunday stands in for no particular weekday. A weekdays
// field still matches the date's own weekday, so a saturday window stays
// open on an adjusted Saturday; a window without weekdays matches every
// date as before.
//
// daysOfMonth follows Alertmanager: a negative day counts from the month's
// end (-1 is the last day); a range whose start lies beyond the month's end
// matches nothing that month, and one whose end does is cut at the month's
// end ("29:31" is 29 February in a leap year and nothing otherwise).

// NextOpeningDays bounds the search of NextOpening, in local dates after t's.
const NextOpeningDays = 400

// WindowSet is an office's reception windows in its zone with its calendar.
type WindowSet struct {
	loc     *time.Location
	cal     *Calendar
	windows []windowRule
}

// windowRule is a validated reception window.
type windowRule struct {
	name             string
	channels         []v1alpha1.Channel
	closedOnHolidays bool
	always           bool
	weekdays         uint8 // bit d set for time.Weekday d; 0 when not given
	times            []minuteSpan
	daysOfMonth      []dayOfMonthSpan
	dateRanges       []civilSpan
	// dayMask has bit d set when daysOfMonth matches day d of a month of
	// 28 + i days, in dayMask[i].
	dayMask [4]uint32
	// dates is dateRanges sorted, those that overlap or touch merged.
	dates []civilSpan
}

// minuteSpan is a span of minutes of the day, start inclusive, end exclusive.
type minuteSpan struct{ start, end int }

// dayOfMonthSpan is an inclusive range of days of the month; negative days
// count from the month's end.
type dayOfMonthSpan struct{ begin, end int }

// civilSpan is an inclusive range of dates, each midnight UTC.
type civilSpan struct{ from, to time.Time }

// mondayToFriday is the weekday mask of monday to friday.
const mondayToFriday uint8 = 1<<time.Monday | 1<<time.Tuesday | 1<<time.Wednesday | 1<<time.Thursday | 1<<time.Friday

var weekdayNames = map[string]time.Weekday{
	"sunday": time.Sunday, "monday": time.Monday, "tuesday": time.Tuesday, "wednesday": time.Wednesday,
	"thursday": time.Thursday, "friday": time.Friday, "saturday": time.Saturday,
}

var knownChannels = map[v1alpha1.Channel]bool{
	v1alpha1.ChannelVisit: true, v1alpha1.ChannelLetter: true, v1alpha1.ChannelPhone: true, v1alpha1.ChannelOnline: true,
}

// NewWindowSet validates and prepares windows. tz is an IANA name ("" means
// v1alpha1.DefaultTimeZone). cal may be nil. Errors name the field, e.g.
// `receptionWindows[1].times[0]: start "25:00" is not HH:MM`.
func NewWindowSet(tz string, windows []CompiledWindow, cal *Calendar) (*WindowSet, error) {
	if tz == "" {
		tz = v1alpha1.DefaultTimeZone
	}
	// "Local" would make the answer depend on the machine that computes it.
	if tz == "Local" {
		return nil, fmt.Errorf("timeZone: %q is not an IANA time zone", tz)
	}
	loc, err := loadLocation(tz)
	if err != nil {
		return nil, fmt.Errorf("timeZone: unknown time zone %q", tz)
	}
	ws := &WindowSet{loc: loc, cal: cal, windows: make([]windowRule, 0, len(windows))}
	names := map[string]bool{}
	for i := range windows {
		r, err := compileWindowRule(&windows[i])
		if err != nil {
			return nil, fmt.Errorf("receptionWindows[%d]%w", i, err)
		}
		if names[r.name] {
			return nil, fmt.Errorf("receptionWindows[%d].name: duplicate window name %q", i, r.name)
		}
		names[r.name] = true
		ws.windows = append(ws.windows, r)
	}
	return ws, nil
}

// fieldError is an error whose message continues a field path: it starts
// with "." or ":".
type fieldError string

func (e fieldError) Error() string { return string(e) }

func fieldErrorf(format string, args ...any) error { return fieldError(fmt.Sprintf(format, args...)) }

func compileWindowRule(w *CompiledWindow) (windowRule, error) {
	r := windowRule{name: w.Name, closedOnHolidays: w.ClosedOnHolidays, always: w.Always}
	if w.Name == "" {
		return r, fieldErrorf(".name: must not be empty")
	}
	if len(w.Channels) == 0 {
		return r, fieldErrorf(".channels: must name at least one channel")
	}
	for j, c := range w.Channels {
		if !knownChannels[c] {
			return r, fieldErrorf(".channels[%d]: unknown channel %q (Visit, Letter, Phone or Online)", j, c)
		}
	}
	r.channels = w.Channels
	hasFields := len(w.Weekdays) > 0 || len(w.Times) > 0 || len(w.DaysOfMonth) > 0 || len(w.DateRanges) > 0
	if w.Always && hasFields {
		return r, fieldErrorf(": a window with always: true takes no weekdays, times, daysOfMonth or dateRanges")
	}
	if !w.Always && !hasFields {
		return r, fieldErrorf(": a window needs always: true or at least one of weekdays, times, daysOfMonth, dateRanges")
	}
	for j, s := range w.Weekdays {
		mask, err := parseWeekdays(s)
		if err != nil {
			return r, fieldErrorf(".weekdays[%d]: %s", j, err)
		}
		r.weekdays |= mask
	}
	for j, tr := range w.Times {
		start, ok := parseClock(tr.Start, false)
		if !ok {
			return r, fieldErrorf(".times[%d]: start %q is not HH:MM", j, tr.Start)
		}
		end, ok := parseClock(tr.End, true)
		if !ok {
			return r, fieldErrorf(".times[%d]: end %q is not HH:MM", j, tr.End)
		}
		if start >= end {
			return r, fieldErrorf(".times[%d]: start %q is not before end %q", j, tr.Start, tr.End)
		}
		r.times = append(r.times, minuteSpan{start, end})
	}
	for j, s := range w.DaysOfMonth {
		span, err := parseDaysOfMonth(s)
		if err != nil {
			return r, fieldErrorf(".daysOfMonth[%d]: %s", j, err)
		}
		r.daysOfMonth = append(r.daysOfMonth, span)
	}
	for j, dr := range w.DateRanges {
		from, err := ParseDate(dr.From)
		if err != nil {
			return r, fieldErrorf(".dateRanges[%d].from: %s", j, err)
		}
		to, err := ParseDate(dr.To)
		if err != nil {
			return r, fieldErrorf(".dateRanges[%d].to: %s", j, err)
		}
		if to.Before(from) {
			return r, fieldErrorf(".dateRanges[%d]: to %s is before from %s", j, dr.To, dr.From)
		}
		r.dateRanges = append(r.dateRanges, civilSpan{from, to})
	}
	for i := range r.dayMask {
		for day := 1; day <= 28+i; day++ {
			for _, s := range r.daysOfMonth {
				if s.matches(day, 28+i) {
					r.dayMask[i] |= 1 << day
					break
				}
			}
		}
	}
	spans := make([]dateSpan, len(r.dateRanges))
	for i, c := range r.dateRanges {
		spans[i] = dateSpan(c)
	}
	for _, m := range mergeSpans(spans) {
		r.dates = append(r.dates, civilSpan(m))
	}
	return r, nil
}

// parseWeekdays parses "monday" or "monday:friday" into a weekday mask.
func parseWeekdays(s string) (uint8, error) {
	parts := strings.Split(s, ":")
	if len(parts) > 2 {
		return 0, fmt.Errorf("%q is not a weekday or a range of weekdays", s)
	}
	var days []time.Weekday
	for _, p := range parts {
		d, ok := weekdayNames[p]
		if !ok {
			return 0, fmt.Errorf("%q is not a weekday (sunday, monday, ..., saturday)", p)
		}
		days = append(days, d)
	}
	begin, end := days[0], days[len(days)-1]
	if end < begin {
		return 0, fmt.Errorf("%q runs backwards; a range stays within one week, sunday first", s)
	}
	var mask uint8
	for d := begin; d <= end; d++ {
		mask |= 1 << d
	}
	return mask, nil
}

// parseClock parses HH:MM into minutes of the day; "24:00" only for an end.
func parseClock(s string, end bool) (int, bool) {
	if end && s == "24:00" {
		return 24 * 60, true
	}
	if len(s) != 5 || s[2] != ':' || !isDigits(s[:2]) || !isDigits(s[3:]) {
		return 0, false
	}
	h, _ := strconv.Atoi(s[:2])
	m, _ := strconv.Atoi(s[3:])
	if h > 23 || m > 59 {
		return 0, false
	}
	return h*60 + m, true
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// parseDaysOfMonth parses "15", "-1", "1:7" or "-7:-1". Like Alertmanager it
// refuses a range from a negative to a positive day; it refuses a range that
// is empty in every month, i.e. even in a 31-day month ("5:1", "-1:-7",
// "2:-31"), and admits "29:-1", which is empty only in shorter months.
func parseDaysOfMonth(s string) (dayOfMonthSpan, error) {
	parts := strings.Split(s, ":")
	if len(parts) > 2 {
		return dayOfMonthSpan{}, fmt.Errorf("%q is not a day of the month or a range of them", s)
	}
	var days []int
	for _, p := range parts {
		d, err := strconv.Atoi(p)
		if err != nil || d == 0 || d < -31 || d > 31 || strings.HasPrefix(p, "+") {
			return dayOfMonthSpan{}, fmt.Errorf("%q is not a day of the month (1 to 31, or -31 to -1 from the month's end)", p)
		}
		days = append(days, d)
	}
	span := dayOfMonthSpan{days[0], days[len(days)-1]}
	if span.begin < 0 && span.end > 0 {
		return span, fmt.Errorf("%q runs from a day counted from the month's end to one counted from its start", s)
	}
	b, e := span.begin, span.end
	if b < 0 {
		b += 32
	}
	if e < 0 {
		e += 32
	}
	if b > e {
		return span, fmt.Errorf("%q runs backwards", s)
	}
	return span, nil
}

// Location returns the office's time zone.
func (w *WindowSet) Location() *time.Location { return w.loc }

// localDay is what the day-level fields of a window look at.
type localDay struct {
	date        time.Time // midnight UTC
	weekday     time.Weekday
	daysInMonth int
	holiday     bool
	adjusted    bool
}

// day returns the date y-m-d; d may lie outside the month (time.Date
// normalises it).
func (w *WindowSet) day(y int, m time.Month, d int) localDay {
	date := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	y, m, _ = date.Date()
	return localDay{
		date:        date,
		weekday:     date.Weekday(),
		daysInMonth: time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day(),
		holiday:     w.cal.IsHoliday(date),
		adjusted:    w.cal.IsAdjustedWorkday(date),
	}
}

func (r *windowRule) hasChannel(c v1alpha1.Channel) bool {
	for _, x := range r.channels {
		if x == c {
			return true
		}
	}
	return false
}

// coversDay reports whether the window is open at some time of the day.
func (r *windowRule) coversDay(d *localDay) bool {
	if r.closedOnHolidays && d.holiday {
		return false
	}
	if r.always {
		return true
	}
	if r.weekdays != 0 && r.weekdays&(1<<d.weekday) == 0 && (!d.adjusted || r.weekdays&mondayToFriday != mondayToFriday) {
		return false
	}
	if len(r.daysOfMonth) > 0 && r.dayMask[d.daysInMonth-28]&(1<<d.date.Day()) == 0 {
		return false
	}
	if len(r.dates) > 0 {
		i := sort.Search(len(r.dates), func(i int) bool { return !r.dates[i].to.Before(d.date) })
		if i == len(r.dates) || d.date.Before(r.dates[i].from) {
			return false
		}
	}
	return true
}

func (s dayOfMonthSpan) matches(day, daysInMonth int) bool {
	begin, end := s.begin, s.end
	if begin < 0 {
		begin += daysInMonth + 1
	}
	if end < 0 {
		end += daysInMonth + 1
	}
	// A begin beyond the month's end matches nothing, and an end beyond it
	// stops at the month's end: day never exceeds daysInMonth.
	return day >= begin && day <= end
}

// coversMinute reports whether the window's times cover the minute of the day.
func (r *windowRule) coversMinute(minute int) bool {
	if len(r.times) == 0 {
		return true
	}
	for _, s := range r.times {
		if minute >= s.start && minute < s.end {
			return true
		}
	}
	return false
}

// OpenAt reports whether channel is open at t and the name of the first
// window (in declaration order) that covers it ("" when closed).
func (w *WindowSet) OpenAt(channel v1alpha1.Channel, t time.Time) (open bool, window string) {
	lt := t.In(w.loc)
	y, m, d := lt.Date()
	minute := lt.Hour()*60 + lt.Minute()
	var day *localDay
	for i := range w.windows {
		r := &w.windows[i]
		if !r.hasChannel(channel) {
			continue
		}
		if day == nil {
			ld := w.day(y, m, d)
			day = &ld
		}
		if r.coversDay(day) && r.coversMinute(minute) {
			return true, r.name
		}
	}
	return false, ""
}

// NextOpening returns the first instant after t at which channel goes from
// closed to open, in the office's zone: when t is inside an open period, the
// start of the next period after it closes. It looks at local dates up to
// 400 days after t's and returns false when channel opens on none of them.
//
// Only window starts (each times[].start, or midnight for windows without
// times) on dates the window covers can open a channel, so it visits those
// and checks each against the instant just before. A start inside a
// daylight-saving gap opens at the first instant after the gap; a start in a
// fall-back overlap occurs twice.
func (w *WindowSet) NextOpening(channel v1alpha1.Channel, t time.Time) (time.Time, bool) {
	next, ok, _ := w.NextOpeningWithin(channel, t, SearchLimit{Days: NextOpeningDays})
	return next, ok
}

// SearchLimit bounds a search for the next opening.
type SearchLimit struct {
	// Days is how many local dates after t's the search looks at.
	Days int
	// Steps bounds the work of the search; 0 means no bound. A step is one
	// field of a window looked at for one date (each of its times,
	// daysOfMonth and dateRanges, and the window itself), one holiday
	// lookup, or one candidate instant checked on a date with a zone
	// change.
	Steps int
}

// SearchStats is what a search for the next opening did.
type SearchStats struct {
	// Days is the number of local dates whose windows it looked at.
	Days int
	// Steps is the work it did, counted as SearchLimit.Steps counts.
	Steps int
	// Exhausted says it stopped at SearchLimit.Steps before it had an
	// answer: whether channel opens within the days is then unknown.
	Exhausted bool
}

// NextOpeningWithin is NextOpening with the search bounded by limit: it looks
// at local dates up to limit.Days after t's and stops, exhausted, before a
// date that would take it past limit.Steps. It reports what it did.
//
// On a date without a zone change it finds the openings from the union of
// the times of the windows that cover the date (a channel opens where the
// union begins), so its work grows with the number of windows, not with the
// number of their starts; on a date with a zone change it checks every
// window start against the instant just before, as NextOpening describes.
func (w *WindowSet) NextOpeningWithin(channel v1alpha1.Channel, t time.Time, limit SearchLimit) (time.Time, bool, SearchStats) {
	s := &openingSearch{ws: w}
	dayCost := 1
	for i := range w.windows {
		if r := &w.windows[i]; r.hasChannel(channel) {
			s.rules = append(s.rules, r)
			dayCost += 1 + len(r.times) + len(r.daysOfMonth) + len(r.dateRanges)
		}
	}
	if len(s.rules) == 0 {
		return time.Time{}, false, SearchStats{}
	}
	lt := t.In(w.loc)
	y, m, d := lt.Date()
	var (
		best     time.Time
		found    bool
		foundDay int
	)
	// From the day before t's, in case a zone sets its clock back across
	// midnight and repeats some of the previous date after t.
	for i := -1; i <= limit.Days; i++ {
		// Having found an opening, look one date further: under a zone
		// change near midnight an opening on one date could follow one on
		// the next.
		if found && i > foundDay+1 {
			break
		}
		// This date and the one before it, whose last minute decides
		// whether a period beginning at midnight opens.
		need := 0
		for _, k := range []int{i - 1, i} {
			if !s.cached(time.Date(y, m, d+k, 0, 0, 0, 0, time.UTC)) {
				need += dayCost
			}
		}
		if limit.Steps > 0 && s.stats.Steps+need > limit.Steps {
			s.stats.Exhausted = true
			return time.Time{}, false, s.stats
		}
		s.stats.Days++
		day := w.day(y, m, d+i)
		cov := s.coverage(&day)
		if len(cov) == 0 {
			continue
		}
		dy, dm, dd := day.date.Date()
		midnight := time.Date(dy, dm, dd, 0, 0, 0, 0, w.loc)
		if steadyDay(midnight) {
			// Every wall minute of the date is one instant, and the
			// instant before midnight is the last minute of the date
			// before: the channel opens where a span of the union
			// begins, at midnight only if the date before ends closed.
			for _, span := range cov {
				c := midnight.Add(time.Duration(span.start) * time.Minute)
				if !c.After(t) {
					continue
				}
				if found && !c.Before(best) {
					break
				}
				if span.start == 0 {
					before := w.day(y, m, d+i-1)
					if coversMinute(s.coverage(&before), 24*60-1) {
						continue
					}
				}
				best, found, foundDay = c, true, i
				break
			}
			continue
		}
		// A zone change near this date: check each window start against
		// the instant just before it.
		if limit.Steps > 0 && s.stats.Steps+dayCost > limit.Steps {
			s.stats.Exhausted = true
			return time.Time{}, false, s.stats
		}
		s.stats.Steps += dayCost
		for _, r := range s.rules {
			if !r.coversDay(&day) {
				continue
			}
			starts := []minuteSpan{{0, 0}}
			if len(r.times) > 0 {
				starts = r.times
			}
			for _, st := range starts {
				for _, c := range wallInstants(w.loc, dy, dm, dd, st.start) {
					if !c.After(t) || (found && !c.Before(best)) {
						continue
					}
					// The check may work out the open spans of two more
					// dates.
					if limit.Steps > 0 && s.stats.Steps+1+2*dayCost > limit.Steps {
						s.stats.Exhausted = true
						return time.Time{}, false, s.stats
					}
					s.stats.Steps++
					if s.opensAt(c) {
						best, found, foundDay = c, true, i
					}
				}
			}
		}
	}
	if !found {
		return time.Time{}, false, s.stats
	}
	return best, true, s.stats
}

// openingSearch is the state of one NextOpeningWithin: the windows that list
// the channel and the open spans of the last dates it looked at.
type openingSearch struct {
	ws    *WindowSet
	rules []*windowRule
	stats SearchStats
	// recent holds the open spans of the last dates worked out; four are
	// enough: the date before, the date, and the dates a zone change can
	// move an instant to. next is the entry to replace next.
	recent [4]dateCoverage
	next   int
}

// dateCoverage is when a channel is open on one local date: sorted minute
// spans, those that overlap or touch merged.
type dateCoverage struct {
	date  time.Time
	spans []minuteSpan
}

func (s *openingSearch) cached(date time.Time) bool {
	for i := range s.recent {
		if s.recent[i].spans != nil && s.recent[i].date.Equal(date) {
			return true
		}
	}
	return false
}

// coverage returns the channel's open spans on the date, counting the steps
// when it has to work them out. The spans stay valid until four more dates
// are worked out.
func (s *openingSearch) coverage(day *localDay) []minuteSpan {
	for i := range s.recent {
		if s.recent[i].spans != nil && s.recent[i].date.Equal(day.date) {
			return s.recent[i].spans
		}
	}
	e := &s.recent[s.next]
	s.next = (s.next + 1) % len(s.recent)
	// Reuse the replaced entry's array; a non-nil empty slice marks the
	// entry as worked out.
	spans := e.spans[:0]
	if spans == nil {
		spans = make([]minuteSpan, 0, 8)
	}
	s.stats.Steps++ // the holiday lookup of w.day
	for _, r := range s.rules {
		s.stats.Steps += 1 + len(r.times) + len(r.daysOfMonth) + len(r.dateRanges)
		if !r.coversDay(day) {
			continue
		}
		if len(r.times) == 0 {
			spans = append(spans[:0], minuteSpan{0, 24 * 60})
			break
		}
		spans = append(spans, r.times...)
	}
	e.date, e.spans = day.date, mergeMinuteSpans(spans)
	return e.spans
}

// open reports whether the channel is open at c, as OpenAt does.
func (s *openingSearch) open(c time.Time) bool {
	lc := c.In(s.ws.loc)
	y, m, d := lc.Date()
	day := s.ws.day(y, m, d)
	return coversMinute(s.coverage(&day), lc.Hour()*60+lc.Minute())
}

// opensAt reports whether the channel goes from closed to open at c.
func (s *openingSearch) opensAt(c time.Time) bool {
	return s.open(c) && !s.open(c.Add(-time.Nanosecond))
}

// steadyDay reports whether the zone keeps one offset for two days either
// side of the date that begins at midnight: then the date's wall minutes are
// the 24 hours from midnight, one instant each, and the instant before
// midnight is the last minute of the date before. Two days, because near a
// zone change the wall clock repeats or skips up to a day (offsets lie
// within a day of each other), so instants on either side of the change can
// read the date.
func steadyDay(midnight time.Time) bool {
	start, end := midnight.ZoneBounds()
	return (start.IsZero() || start.Before(midnight.Add(-48*time.Hour))) &&
		(end.IsZero() || end.After(midnight.Add(72*time.Hour)))
}

// mergeMinuteSpans sorts the spans and merges those that overlap or touch.
func mergeMinuteSpans(spans []minuteSpan) []minuteSpan {
	if len(spans) < 2 {
		return spans
	}
	slices.SortFunc(spans, func(a, b minuteSpan) int { return a.start - b.start })
	out := spans[:1]
	for _, sp := range spans[1:] {
		if last := &out[len(out)-1]; sp.start <= last.end {
			last.end = max(last.end, sp.end)
			continue
		}
		out = append(out, sp)
	}
	return out
}

// coversMinute reports whether sorted, merged spans cover the minute.
func coversMinute(spans []minuteSpan, minute int) bool {
	i := sort.Search(len(spans), func(i int) bool { return spans[i].end > minute })
	return i < len(spans) && spans[i].start <= minute
}

// wallInstants returns the instants at which the wall clock in loc first
// reads the minute of the date, in order: usually one, two in a fall-back
// overlap, and for a minute inside a spring-forward gap the first instant
// after the gap.
func wallInstants(loc *time.Location, y int, m time.Month, d, minute int) []time.Time {
	want := time.Date(y, m, d, minute/60, minute%60, 0, 0, time.UTC).Unix()
	t := time.Date(y, m, d, minute/60, minute%60, 0, 0, loc)
	// The wall clock can read want only with the offset of t's zone or of a
	// zone next to it.
	_, off := t.Zone()
	offsets := []int{off}
	start, end := t.ZoneBounds()
	if !start.IsZero() {
		_, o := start.Add(-time.Second).Zone()
		offsets = append(offsets, o)
	}
	if !end.IsZero() {
		_, o := end.Zone()
		offsets = append(offsets, o)
	}
	var out []time.Time
	for _, o := range offsets {
		c := time.Unix(want-int64(o), 0).In(loc)
		if wallSeconds(c) != want {
			continue
		}
		dup := false
		for _, x := range out {
			dup = dup || x.Equal(c)
		}
		if !dup {
			out = append(out, c)
		}
	}
	if len(out) > 0 {
		sort.Slice(out, func(i, j int) bool { return out[i].Before(out[j]) })
		return out
	}
	// A gap: the answer is the start of the first zone whose wall clock
	// begins at or after want.
	x := t
	if wallSeconds(x) < want {
		for i := 0; i < 4 && wallSeconds(x) < want; i++ {
			_, e := x.ZoneBounds()
			if e.IsZero() {
				break
			}
			x = e
		}
		return []time.Time{x}
	}
	for i := 0; i < 4; i++ {
		s, _ := x.ZoneBounds()
		if s.IsZero() {
			break
		}
		if wallSeconds(s.Add(-time.Second)) < want {
			return []time.Time{s}
		}
		x = s.Add(-time.Second)
	}
	return []time.Time{t}
}

// wallSeconds returns t's wall clock as seconds since the epoch, as if the
// wall clock were UTC.
func wallSeconds(t time.Time) int64 {
	y, m, d := t.Date()
	h, mi, s := t.Clock()
	return time.Date(y, m, d, h, mi, s, 0, time.UTC).Unix()
}

// locations caches the time zones loaded: time.LoadLocation reads and parses
// the zone's file on every call, and every office's windows name one.
var locations sync.Map // name → *time.Location

func loadLocation(name string) (*time.Location, error) {
	if loc, ok := locations.Load(name); ok {
		return loc.(*time.Location), nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, err
	}
	locations.Store(name, loc)
	return loc, nil
}
