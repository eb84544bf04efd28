package xinfang

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/xinfang/petition-operator/api/v1alpha1"
)

// referenceNextOpening is NextOpening as it was before NextOpeningWithin:
// every window start of every date, each checked with OpenAt against the
// instant just before it.
func referenceNextOpening(w *WindowSet, channel v1alpha1.Channel, t time.Time) (time.Time, bool) {
	listed := false
	for i := range w.windows {
		listed = listed || w.windows[i].hasChannel(channel)
	}
	if !listed {
		return time.Time{}, false
	}
	opensAt := func(c time.Time) bool {
		open, _ := w.OpenAt(channel, c)
		before, _ := w.OpenAt(channel, c.Add(-time.Nanosecond))
		return open && !before
	}
	lt := t.In(w.loc)
	y, m, d := lt.Date()
	var (
		best     time.Time
		found    bool
		foundDay int
	)
	for i := -1; i <= NextOpeningDays; i++ {
		if found && i > foundDay+1 {
			break
		}
		day := w.day(y, m, d+i)
		dy, dm, dd := day.date.Date()
		for j := range w.windows {
			r := &w.windows[j]
			if !r.hasChannel(channel) || !r.coversDay(&day) {
				continue
			}
			starts := []minuteSpan{{0, 0}}
			if len(r.times) > 0 {
				starts = r.times
			}
			for _, s := range starts {
				for _, c := range wallInstants(w.loc, dy, dm, dd, s.start) {
					if !c.After(t) || (found && !c.Before(best)) {
						continue
					}
					if opensAt(c) {
						best, found, foundDay = c, true, i
					}
				}
			}
		}
	}
	return best, found
}

// randomWindows returns one to four random windows for Visit.
func randomWindows(rng *rand.Rand) []CompiledWindow {
	days := []string{"sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"}
	clock := func(minute int) string { return fmt.Sprintf("%02d:%02d", minute/60, minute%60) }
	var out []CompiledWindow
	for i := range 1 + rng.IntN(4) {
		w := CompiledWindow{Name: fmt.Sprintf("w%d", i), Kind: v1alpha1.WindowRegular,
			Channels: []v1alpha1.Channel{v1alpha1.ChannelVisit}, ClosedOnHolidays: rng.IntN(2) == 0}
		if rng.IntN(8) == 0 {
			w.Always = true
			out = append(out, w)
			continue
		}
		if rng.IntN(2) == 0 {
			a, b := rng.IntN(7), rng.IntN(7)
			w.Weekdays = []string{days[min(a, b)] + ":" + days[max(a, b)]}
		}
		for range rng.IntN(4) {
			// Starts and ends near midnight and the usual zone changes
			// (00:00 to 03:00) as often as elsewhere.
			start := rng.IntN(24*60 - 1)
			if rng.IntN(2) == 0 {
				start = rng.IntN(4 * 60)
			}
			end := start + 1 + rng.IntN(24*60-start)
			w.Times = append(w.Times, v1alpha1.TimeRange{Start: clock(start), End: clock(end)})
		}
		if rng.IntN(3) == 0 {
			w.DaysOfMonth = []string{fmt.Sprint(1 + rng.IntN(31)), fmt.Sprint(-1 - rng.IntN(7))}
		}
		if rng.IntN(3) == 0 {
			from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, rng.IntN(730))
			w.DateRanges = []v1alpha1.DateRange{{From: v1alpha1.Date(from.Format(time.DateOnly)),
				To: v1alpha1.Date(from.AddDate(0, 0, rng.IntN(20)).Format(time.DateOnly))}}
		}
		if len(w.Weekdays)+len(w.Times)+len(w.DaysOfMonth)+len(w.DateRanges) == 0 {
			w.Times = []v1alpha1.TimeRange{{Start: "00:00", End: "01:00"}}
		}
		out = append(out, w)
	}
	return out
}

// TestNextOpeningWithinMatchesReference compares NextOpening with the
// reference on random windows in zones with daylight saving (at 02:00, at
// midnight, by half an hour) and without, from random instants and from
// instants near their zone changes.
func TestNextOpeningWithinMatchesReference(t *testing.T) {
	zones := []string{shanghai, "America/New_York", "America/Santiago", "America/Havana",
		"Australia/Lord_Howe", "Europe/London", "Asia/Tehran", "UTC"}
	rng := rand.New(rand.NewPCG(1, 2))
	cal := winCal(t, []v1alpha1.Holiday{{Name: "a", From: "2026-10-01", To: "2026-10-07"},
		{Name: "b", From: "2026-10-05", To: "2026-10-09"}, {Name: "c", From: "2027-02-10", To: "2027-02-16"}},
		"2026-09-20", "2026-10-10")
	cases := 0
	for _, tz := range zones {
		loc, err := time.LoadLocation(tz)
		if err != nil {
			t.Fatal(err)
		}
		// Instants near the zone's changes of 2026 and 2027.
		var near []time.Time
		for x := time.Date(2026, 1, 1, 0, 0, 0, 0, loc); x.Year() < 2028; {
			_, end := x.ZoneBounds()
			if end.IsZero() {
				break
			}
			near = append(near, end)
			x = end
		}
		for range 100 {
			var cal0 *Calendar
			if rng.IntN(2) == 0 {
				cal0 = cal
			}
			ws, err := NewWindowSet(tz, randomWindows(rng), cal0)
			if err != nil {
				t.Fatal(err)
			}
			from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(rng.Int64N(int64(730 * 24 * time.Hour))))
			if len(near) > 0 && rng.IntN(2) == 0 {
				from = near[rng.IntN(len(near))].Add(time.Duration(rng.IntN(6*60)-3*60) * time.Minute)
			}
			from = from.Truncate(time.Duration(1+rng.IntN(30)) * time.Minute)
			want, wantOK := referenceNextOpening(ws, v1alpha1.ChannelVisit, from)
			got, ok := ws.NextOpening(v1alpha1.ChannelVisit, from)
			if ok != wantOK || !got.Equal(want) {
				t.Errorf("%s %+v from %s: NextOpening = %s, %v; the reference says %s, %v", tz, ws.windows,
					from.In(loc).Format(time.RFC3339), got.In(loc).Format(time.RFC3339), ok, want.In(loc).Format(time.RFC3339), wantOK)
			}
			cases++
		}
	}
	t.Logf("%d cases", cases)
}

// costlyWindows are schema-valid windows that make a search look at every
// date: 31 windows of 8 one-minute spans each, every start distinct, with 31
// daysOfMonth and 32 dateRanges, and a last window open around the clock, so
// that the channel, always open, never opens anew.
func costlyWindows() []CompiledWindow {
	var windows []CompiledWindow
	minute := 0
	clock := func(minute int) string { return fmt.Sprintf("%02d:%02d", minute/60, minute%60) }
	for i := range 31 {
		w := CompiledWindow{Name: fmt.Sprintf("w%02d", i), Kind: v1alpha1.WindowRegular,
			Channels: []v1alpha1.Channel{v1alpha1.ChannelVisit}, Weekdays: []string{"sunday:saturday"}, ClosedOnHolidays: true}
		for range 8 {
			w.Times = append(w.Times, v1alpha1.TimeRange{Start: clock(minute), End: clock(minute + 1)})
			minute += 2
		}
		for d := 31; d >= 1; d-- {
			w.DaysOfMonth = append(w.DaysOfMonth, fmt.Sprint(d))
		}
		for d := 1; d <= 31; d++ {
			day := v1alpha1.Date(fmt.Sprintf("1990-01-%02d", d))
			w.DateRanges = append(w.DateRanges, v1alpha1.DateRange{From: day, To: day})
		}
		w.DateRanges = append(w.DateRanges, v1alpha1.DateRange{From: "1991-01-01", To: "9999-12-31"})
		windows = append(windows, w)
	}
	return append(windows, CompiledWindow{Name: "always", Kind: v1alpha1.WindowRegular,
		Channels: []v1alpha1.Channel{v1alpha1.ChannelVisit}, Always: true})
}

func TestNextOpeningWithinBoundsItsWork(t *testing.T) {
	var holidays []v1alpha1.Holiday
	for i := range 64 {
		d := v1alpha1.Date(fmt.Sprintf("%d-06-01", 1910+i))
		holidays = append(holidays, v1alpha1.Holiday{Name: fmt.Sprint(i), From: d, To: d})
	}
	windows := costlyWindows()
	ws := winSet(t, shanghai, winCal(t, holidays), windows...)
	from := winAt(t, shanghai, "2026-10-13 09:00")
	// What one date costs: the holiday lookup and every field of every
	// window.
	dayCost := 1
	for _, w := range windows {
		dayCost += 1 + len(w.Times) + len(w.DaysOfMonth) + len(w.DateRanges)
	}
	next, ok, st := ws.NextOpeningWithin(v1alpha1.ChannelVisit, from, SearchLimit{Days: NextOpeningDays})
	if ok || st.Exhausted {
		t.Fatalf("NextOpeningWithin = %s, %v, %+v; want none, not exhausted", next, ok, st)
	}
	// The dates from the one before t's to 400 after, and the one before
	// those, each worked out once.
	if st.Days != NextOpeningDays+2 || st.Steps > (NextOpeningDays+3)*dayCost {
		t.Errorf("stats %+v, want %d days and at most %d steps", st, NextOpeningDays+2, (NextOpeningDays+3)*dayCost)
	}

	// A bound on the steps stops the search before it passes it.
	limit := SearchLimit{Days: NextOpeningDays, Steps: 50 * dayCost}
	next, ok, st = ws.NextOpeningWithin(v1alpha1.ChannelVisit, from, limit)
	if ok || !st.Exhausted || st.Steps > limit.Steps || st.Days > 50 {
		t.Errorf("NextOpeningWithin(%+v) = %s, %v, %+v; want exhausted within the steps", limit, next, ok, st)
	}

	// Far more windows than the schema allows: the bound holds all the same.
	many := windows
	for i := range 2000 {
		w := windows[i%31]
		w.Name = fmt.Sprintf("x%d", i)
		many = append(many, w)
	}
	big := winSet(t, shanghai, nil, many...)
	limit = SearchLimit{Days: NextOpeningDays, Steps: 1_000_000}
	_, ok, st = big.NextOpeningWithin(v1alpha1.ChannelVisit, from, limit)
	if ok || !st.Exhausted || st.Steps > limit.Steps {
		t.Errorf("NextOpeningWithin over %d windows = %v, %+v; want exhausted within %d steps", len(many), ok, st, limit.Steps)
	}
}

// TestNextOpeningMidnightFallBack: Santiago sets its clocks back from
// midnight to 23:00, so 23:00 to 24:00 of the date before happens twice. A
// window start in that hour opens the channel again when the first pass of
// the hour ended closed.
func TestNextOpeningMidnightFallBack(t *testing.T) {
	const santiago = "America/Santiago"
	w := visit([]string{"friday:saturday"}, []v1alpha1.TimeRange{hhmm("12:21", "23:00"), hhmm("23:00", "23:46")}, nil, nil)
	ws := winSet(t, santiago, nil, w)
	from := time.Date(2026, 4, 5, 1, 36, 0, 0, time.UTC) // 22:36 -03, the first pass
	for _, next := range []func() (time.Time, bool){
		func() (time.Time, bool) { return ws.NextOpening(v1alpha1.ChannelVisit, from) },
		func() (time.Time, bool) { return referenceNextOpening(ws, v1alpha1.ChannelVisit, from) },
	} {
		got, ok := next()
		if want := "2026-04-04T23:00:00-04:00"; !ok || got.Format(time.RFC3339) != want {
			t.Errorf("next opening after %s = %s, %v, want %s", from.In(ws.Location()).Format(time.RFC3339), got.Format(time.RFC3339), ok, want)
		}
	}
}

func TestNextOpeningWithinDays(t *testing.T) {
	w := visit(nil, []v1alpha1.TimeRange{hhmm("09:00", "10:00")}, nil, []v1alpha1.DateRange{{From: "2026-11-01", To: "2026-11-01"}})
	ws := winSet(t, shanghai, nil, w)
	from := winAt(t, shanghai, "2026-10-01 12:00")
	for _, tt := range []struct {
		days int
		want string
	}{
		{30, ""}, {31, "2026-11-01T09:00:00+08:00"}, {NextOpeningDays, "2026-11-01T09:00:00+08:00"},
	} {
		next, ok, st := ws.NextOpeningWithin(v1alpha1.ChannelVisit, from, SearchLimit{Days: tt.days})
		got := ""
		if ok {
			got = next.Format(time.RFC3339)
		}
		if got != tt.want || st.Exhausted || st.Days > tt.days+2 {
			t.Errorf("NextOpeningWithin(%d days) = %q, %+v; want %q", tt.days, got, st, tt.want)
		}
	}
}

func TestIsHolidayOverlappingAndTouching(t *testing.T) {
	cal := winCal(t, []v1alpha1.Holiday{
		{Name: "b", From: "2026-10-05", To: "2026-10-09"}, {Name: "a", From: "2026-10-01", To: "2026-10-07"},
		{Name: "c", From: "2026-10-10", To: "2026-10-10"}, {Name: "d", From: "2026-10-12", To: "2026-10-12"},
		{Name: "e", From: "2026-10-12", To: "2026-10-12"},
	})
	for d := time.Date(2026, 9, 28, 0, 0, 0, 0, time.UTC); d.Month() < 11; d = d.AddDate(0, 0, 1) {
		want := d.Day() <= 12 && d.Day() != 11 && d.Month() == 10
		if got := cal.IsHoliday(d); got != want {
			t.Errorf("IsHoliday(%s) = %v, want %v", d.Format(time.DateOnly), got, want)
		}
	}
	if n := cal.HolidayDays(); n != 11 {
		t.Errorf("HolidayDays = %d, want 11", n)
	}
}

func TestAnswers(t *testing.T) {
	cfg := &OfficeConfig{Office: "o", TimeZone: shanghai, ReceptionWindows: []CompiledWindow{reception},
		Calendar: &CompiledCalendar{Holidays: []v1alpha1.Holiday{{Name: "国庆节", From: "2026-10-01", To: "2026-10-07"}}}}
	answers, err := cfg.Prepare()
	if err != nil {
		t.Fatal(err)
	}
	at := winAt(t, shanghai, "2026-10-01 09:00")
	want, err := cfg.Windows(v1alpha1.ChannelVisit, at)
	if err != nil {
		t.Fatal(err)
	}
	got, st, err := answers.Windows(v1alpha1.ChannelVisit, at, SearchLimit{Days: NextOpeningDays})
	if err != nil || got != want || want.NextOpening != "2026-10-08T08:30:00+08:00" || st.Days < 8 {
		t.Errorf("Windows = %+v, %+v, %v; OfficeConfig.Windows says %+v", got, st, err, want)
	}
	got, st, err = answers.Windows(v1alpha1.ChannelVisit, at, SearchLimit{Days: NextOpeningDays, Steps: 10})
	if !errors.Is(err, ErrSearchExhausted) || got.Open || got.NextOpening != "" || st.Steps > 10 {
		t.Errorf("Windows within 10 steps = %+v, %+v, %v; want exhausted", got, st, err)
	}
	if _, _, err := answers.Windows("Fax", at, SearchLimit{}); err == nil || !strings.Contains(err.Error(), `channel: "Fax"`) {
		t.Errorf("Windows(Fax) = %v", err)
	}
	if _, err := answers.Deadlines(DeadlineQuery{Received: at}); err == nil {
		t.Error("Deadlines without a chain: no error")
	}
	bad := &OfficeConfig{TimeZone: "Mars/Olympus"}
	if _, err := bad.Prepare(); err == nil || !strings.Contains(err.Error(), "timeZone") {
		t.Errorf("Prepare of an unknown zone = %v", err)
	}
}

func TestAnswersStopAtYear9999(t *testing.T) {
	mondays := visit([]string{"monday"}, []v1alpha1.TimeRange{hhmm("09:00", "10:00")}, nil, nil)
	fridays := visit([]string{"friday"}, []v1alpha1.TimeRange{hhmm("09:00", "10:00")}, nil, nil)
	fridays.Name = "fridays"
	for _, tt := range []struct {
		windows []CompiledWindow
		want    string
	}{
		// 9999-12-31 is a Friday; the next Monday is in year 10000.
		{[]CompiledWindow{mondays}, ""},
		{[]CompiledWindow{mondays, fridays}, "9999-12-31T09:00:00+08:00"},
	} {
		cfg := &OfficeConfig{TimeZone: shanghai, ReceptionWindows: tt.windows}
		answers, err := cfg.Prepare()
		if err != nil {
			t.Fatal(err)
		}
		ans, _, err := answers.Windows(v1alpha1.ChannelVisit, winAt(t, shanghai, "9999-12-28 12:00"), SearchLimit{Days: NextOpeningDays})
		if err != nil || ans.NextOpening != tt.want {
			t.Errorf("Windows = %+v, %v; want next opening %q", ans, err, tt.want)
		}
	}
}

// TestCoversDayMatchesFields compares coversDay, which looks days of the
// month up in a mask and dates in merged ranges, with the fields read one
// by one, on random daysOfMonth and dateRanges for every date of 2027 and
// 2028.
func TestCoversDayMatchesFields(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	day := func() string {
		if rng.IntN(2) == 0 {
			return fmt.Sprint(-1 - rng.IntN(31))
		}
		return fmt.Sprint(1 + rng.IntN(31))
	}
	ws := winSet(t, shanghai, nil)
	for range 300 {
		w := visit(nil, nil, nil, nil)
		for range rng.IntN(4) {
			d := day()
			if rng.IntN(2) == 0 {
				d += ":" + day()
			}
			if _, err := parseDaysOfMonth(d); err == nil {
				w.DaysOfMonth = append(w.DaysOfMonth, d)
			}
		}
		for range rng.IntN(4) {
			from := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, rng.IntN(730))
			w.DateRanges = append(w.DateRanges, v1alpha1.DateRange{From: v1alpha1.Date(from.Format(time.DateOnly)),
				To: v1alpha1.Date(from.AddDate(0, 0, rng.IntN(40)).Format(time.DateOnly))})
		}
		if len(w.DaysOfMonth)+len(w.DateRanges) == 0 {
			continue
		}
		r, err := compileWindowRule(&w)
		if err != nil {
			t.Fatal(err)
		}
		for d := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC); d.Year() < 2029; d = d.AddDate(0, 0, 1) {
			ld := ws.day(d.Year(), d.Month(), d.Day())
			want := true
			if len(r.daysOfMonth) > 0 {
				want = false
				for _, s := range r.daysOfMonth {
					want = want || s.matches(d.Day(), ld.daysInMonth)
				}
			}
			if len(r.dateRanges) > 0 {
				in := false
				for _, s := range r.dateRanges {
					in = in || (!d.Before(s.from) && !d.After(s.to))
				}
				want = want && in
			}
			if got := r.coversDay(&ld); got != want {
				t.Fatalf("%v %v on %s: coversDay = %v, the fields say %v", w.DaysOfMonth, w.DateRanges, d.Format(time.DateOnly), got, want)
			}
		}
	}
}

// BenchmarkNextOpeningCostly searches the costliest windows the API admits
// (costlyWindows, 64 holidays) for an opening they never have: all 400
// days.
func BenchmarkNextOpeningCostly(b *testing.B) {
	var holidays []v1alpha1.Holiday
	for i := range 64 {
		d := v1alpha1.Date(fmt.Sprintf("%d-06-01", 1910+i))
		holidays = append(holidays, v1alpha1.Holiday{Name: fmt.Sprint(i), From: d, To: d})
	}
	cal, err := NewCalendar(&v1alpha1.HolidayCalendarSpec{Holidays: holidays})
	if err != nil {
		b.Fatal(err)
	}
	ws, err := NewWindowSet(shanghai, costlyWindows(), cal)
	if err != nil {
		b.Fatal(err)
	}
	from := time.Date(2026, 10, 13, 1, 0, 0, 0, time.UTC)
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := ws.NextOpening(v1alpha1.ChannelVisit, from); ok {
			b.Fatal("an opening")
		}
	}
}
