package xinfang

import (
	"strings"
	"testing"
	"time"

	"github.com/xinfang/petition-operator/api/v1alpha1"
)

// winSet builds a WindowSet or fails the test.
func winSet(t *testing.T, tz string, cal *Calendar, windows ...CompiledWindow) *WindowSet {
	t.Helper()
	ws, err := NewWindowSet(tz, windows, cal)
	if err != nil {
		t.Fatalf("NewWindowSet: %v", err)
	}
	return ws
}

// winCal builds a calendar or fails the test.
func winCal(t *testing.T, holidays []v1alpha1.Holiday, workdays ...v1alpha1.Date) *Calendar {
	t.Helper()
	c, err := NewCalendar(&v1alpha1.HolidayCalendarSpec{Holidays: holidays, Workdays: workdays})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// nationalDay2026 is the National Day holiday of 2026 with its adjusted
// working days, Sunday 20 September and Saturday 10 October.
func nationalDay2026(t *testing.T) *Calendar {
	return winCal(t, []v1alpha1.Holiday{{Name: "国庆节", From: "2026-10-01", To: "2026-10-07"}}, "2026-09-20", "2026-10-10")
}

// winAt parses "2006-01-02 15:04:05" (seconds optional) in the zone.
func winAt(t *testing.T, tz, s string) time.Time {
	t.Helper()
	loc, err := time.LoadLocation(tz)
	if err != nil {
		t.Fatal(err)
	}
	layout := time.DateTime
	if len(s) == len("2006-01-02 15:04") {
		layout = "2006-01-02 15:04"
	}
	at, err := time.ParseInLocation(layout, s, loc)
	if err != nil {
		t.Fatal(err)
	}
	return at
}

func hhmm(start, end string) v1alpha1.TimeRange { return v1alpha1.TimeRange{Start: start, End: end} }

// reception is the usual visiting window: weekdays, 08:30-12:00 and
// 14:30-17:30.
var reception = CompiledWindow{
	Name: "reception", Kind: v1alpha1.WindowRegular, Channels: []v1alpha1.Channel{v1alpha1.ChannelVisit},
	Weekdays: []string{"monday:friday"}, Times: []v1alpha1.TimeRange{hhmm("08:30", "12:00"), hhmm("14:30", "17:30")},
	ClosedOnHolidays: true,
}

// visit is a Visit window with the given recurrence, closed on holidays.
func visit(weekdays []string, times []v1alpha1.TimeRange, days []string, dates []v1alpha1.DateRange) CompiledWindow {
	return CompiledWindow{
		Name: "w", Kind: v1alpha1.WindowRegular, Channels: []v1alpha1.Channel{v1alpha1.ChannelVisit},
		Weekdays: weekdays, Times: times, DaysOfMonth: days, DateRanges: dates, ClosedOnHolidays: true,
	}
}

type openCase struct {
	at   string // wall clock in the zone checkOpen is given
	want bool
}

// checkOpen checks wall-clock instants in Asia/Shanghai.
func checkOpen(t *testing.T, ws *WindowSet, cases []openCase) {
	t.Helper()
	for _, c := range cases {
		at := winAt(t, shanghai, c.at)
		open, name := ws.OpenAt(v1alpha1.ChannelVisit, at)
		if open != c.want {
			t.Errorf("OpenAt(Visit, %s %s) = %v, want %v", c.at, at.Weekday(), open, c.want)
		}
		if open != (name != "") {
			t.Errorf("OpenAt(Visit, %s) = %v with window %q", c.at, open, name)
		}
	}
}

const shanghai = "Asia/Shanghai"

func TestOpenAtWeekdays(t *testing.T) {
	noon := []v1alpha1.TimeRange{hhmm("12:00", "13:00")}
	tests := []struct {
		weekdays []string
		cases    []openCase
	}{
		{[]string{"monday:friday"}, []openCase{
			{"2026-03-09 12:30", true},  // Monday
			{"2026-03-06 12:30", true},  // Friday
			{"2026-03-11 12:30", true},  // Wednesday
			{"2026-03-07 12:30", false}, // Saturday
			{"2026-03-08 12:30", false}, // Sunday
		}},
		{[]string{"sunday"}, []openCase{
			{"2026-03-08 12:30", true},  // Sunday
			{"2026-03-07 12:30", false}, // Saturday
			{"2026-03-09 12:30", false}, // Monday
		}},
		{[]string{"saturday"}, []openCase{
			{"2026-03-07 12:30", true},
			{"2026-03-08 12:30", false},
			{"2026-03-06 12:30", false},
		}},
		{[]string{"sunday:tuesday"}, []openCase{
			{"2026-03-08 12:30", true},  // Sunday, the first day of the week
			{"2026-03-09 12:30", true},  // Monday
			{"2026-03-10 12:30", true},  // Tuesday
			{"2026-03-11 12:30", false}, // Wednesday
			{"2026-03-07 12:30", false}, // Saturday: ranges do not wrap
		}},
		{[]string{"monday", "wednesday:thursday"}, []openCase{
			{"2026-03-09 12:30", true},  // Monday
			{"2026-03-10 12:30", false}, // Tuesday
			{"2026-03-11 12:30", true},  // Wednesday
			{"2026-03-12 12:30", true},  // Thursday
			{"2026-03-13 12:30", false}, // Friday
		}},
		{[]string{"friday:saturday", "saturday:saturday"}, []openCase{
			{"2026-03-06 12:30", true},
			{"2026-03-07 12:30", true},
			{"2026-03-08 12:30", false},
		}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.weekdays, ","), func(t *testing.T) {
			ws := winSet(t, shanghai, nil, visit(tt.weekdays, noon, nil, nil))
			checkOpen(t, ws, tt.cases)
		})
	}
}

func TestOpenAtTimes(t *testing.T) {
	tests := []struct {
		name  string
		times []v1alpha1.TimeRange
		cases []openCase
	}{
		{"end exclusive", []v1alpha1.TimeRange{hhmm("08:30", "12:00"), hhmm("14:30", "17:30")}, []openCase{
			{"2026-03-09 08:29:59", false},
			{"2026-03-09 08:30:00", true},
			{"2026-03-09 11:59:59", true},
			{"2026-03-09 12:00:00", false},
			{"2026-03-09 13:00:00", false},
			{"2026-03-09 14:30:00", true},
			{"2026-03-09 17:29:00", true},
			{"2026-03-09 17:30:00", false},
		}},
		{"until midnight", []v1alpha1.TimeRange{hhmm("20:00", "24:00")}, []openCase{
			{"2026-03-09 19:59:59", false},
			{"2026-03-09 20:00:00", true},
			{"2026-03-09 23:59:59", true},
			{"2026-03-10 00:00:00", false},
		}},
		{"whole day", []v1alpha1.TimeRange{hhmm("00:00", "24:00")}, []openCase{
			{"2026-03-09 00:00:00", true},
			{"2026-03-09 23:59:59", true},
		}},
		{"one minute", []v1alpha1.TimeRange{hhmm("23:59", "24:00")}, []openCase{
			{"2026-03-09 23:58:59", false},
			{"2026-03-09 23:59:00", true},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkOpen(t, winSet(t, shanghai, nil, visit(nil, tt.times, nil, nil)), tt.cases)
		})
	}
}

func TestOpenAtDaysOfMonth(t *testing.T) {
	tests := []struct {
		days  []string
		cases []openCase
	}{
		{[]string{"-1"}, []openCase{
			{"2026-02-28 10:00", true},  // last day of February 2026
			{"2026-02-27 10:00", false}, //
			{"2028-02-28 10:00", false}, // 2028 is a leap year
			{"2028-02-29 10:00", true},  //
			{"2026-01-31 10:00", true},  //
			{"2026-01-30 10:00", false}, //
			{"2026-04-30 10:00", true},  //
			{"2026-04-29 10:00", false}, //
			{"2026-12-31 10:00", true},  //
		}},
		{[]string{"31"}, []openCase{
			{"2026-01-31 10:00", true},
			{"2026-04-30 10:00", false}, // April has no 31st; it does not spill over
			{"2026-05-01 10:00", false},
		}},
		{[]string{"15"}, []openCase{
			{"2026-03-15 10:00", true},
			{"2026-03-14 10:00", false},
			{"2026-03-16 10:00", false},
		}},
		{[]string{"1:7"}, []openCase{
			{"2026-03-01 10:00", true},
			{"2026-03-07 10:00", true},
			{"2026-03-08 10:00", false},
			{"2026-02-28 10:00", false},
		}},
		{[]string{"-7:-1"}, []openCase{
			{"2026-04-24 10:00", true},  // 30 days: the last 7 are 24..30
			{"2026-04-23 10:00", false}, //
			{"2026-04-30 10:00", true},  //
			{"2026-02-22 10:00", true},  // 28 days: 22..28
			{"2026-02-21 10:00", false}, //
			{"2026-01-25 10:00", true},  // 31 days: 25..31
			{"2026-01-24 10:00", false}, //
			{"2026-05-01 10:00", false}, //
		}},
		{[]string{"29:-1"}, []openCase{
			{"2026-02-28 10:00", false}, // February 2026 has no 29th
			{"2028-02-29 10:00", true},  //
			{"2026-03-29 10:00", true},  //
			{"2026-03-31 10:00", true},  //
			{"2026-03-28 10:00", false}, //
		}},
		{[]string{"1", "-1"}, []openCase{
			{"2026-06-01 10:00", true},
			{"2026-06-30 10:00", true},
			{"2026-06-15 10:00", false},
		}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.days, ","), func(t *testing.T) {
			checkOpen(t, winSet(t, shanghai, nil, visit(nil, nil, tt.days, nil)), tt.cases)
		})
	}
}

func TestOpenAtDateRanges(t *testing.T) {
	w := visit(nil, nil, nil, []v1alpha1.DateRange{
		{From: "2026-10-01", To: "2026-10-07"},
		{From: "2027-01-01", To: "2027-01-01"},
	})
	checkOpen(t, winSet(t, shanghai, nil, w), []openCase{
		{"2026-09-30 23:59:59", false},
		{"2026-10-01 00:00:00", true}, // from is inclusive
		{"2026-10-04 12:00:00", true},
		{"2026-10-07 23:59:59", true}, // to is inclusive
		{"2026-10-08 00:00:00", false},
		{"2027-01-01 08:00:00", true},
		{"2027-01-02 08:00:00", false},
	})

	// Every field given must match.
	all := visit([]string{"monday:friday"}, []v1alpha1.TimeRange{hhmm("09:00", "10:00")}, []string{"1:7"},
		[]v1alpha1.DateRange{{From: "2026-03-01", To: "2026-04-30"}})
	checkOpen(t, winSet(t, shanghai, nil, all), []openCase{
		{"2026-03-02 09:30", true},  // Monday 2 March
		{"2026-03-02 10:00", false}, // times
		{"2026-03-07 09:30", false}, // Saturday: weekdays
		{"2026-03-09 09:30", false}, // the 9th: daysOfMonth
		{"2026-04-01 09:30", true},  // Wednesday 1 April
		{"2026-05-01 09:30", false}, // Friday 1 May: dateRanges
	})
}

func TestOpenAtAlwaysAndChannels(t *testing.T) {
	online := CompiledWindow{
		Name: "online", Kind: v1alpha1.WindowRegular, Always: true, ClosedOnHolidays: false,
		Channels: []v1alpha1.Channel{v1alpha1.ChannelOnline, v1alpha1.ChannelLetter},
	}
	leader := CompiledWindow{
		Name: "leader-day", Kind: v1alpha1.WindowLeaderReception, Channels: []v1alpha1.Channel{v1alpha1.ChannelVisit},
		DaysOfMonth: []string{"15"}, Times: []v1alpha1.TimeRange{hhmm("09:00", "11:00")}, ClosedOnHolidays: true,
	}
	ws := winSet(t, "", nil, reception, online, leader)
	if got := ws.Location().String(); got != v1alpha1.DefaultTimeZone {
		t.Errorf("Location() = %s, want %s", got, v1alpha1.DefaultTimeZone)
	}
	tests := []struct {
		channel v1alpha1.Channel
		at      string
		want    string // covering window, "" when closed
	}{
		{v1alpha1.ChannelOnline, "2026-03-08 03:00", "online"}, // Sunday night
		{v1alpha1.ChannelLetter, "2026-03-07 23:59", "online"},
		{v1alpha1.ChannelOnline, "2026-10-01 12:00", "online"}, // no calendar here anyway
		{v1alpha1.ChannelVisit, "2026-03-08 03:00", ""},
		{v1alpha1.ChannelPhone, "2026-03-09 09:00", ""}, // no window lists Phone
		{v1alpha1.ChannelVisit, "2026-03-09 09:00", "reception"},
		{v1alpha1.ChannelVisit, "2026-06-15 10:00", "reception"}, // Monday the 15th: the first window wins
		{v1alpha1.ChannelVisit, "2026-06-15 13:00", ""},
		{v1alpha1.ChannelVisit, "2026-03-15 10:00", "leader-day"}, // Sunday the 15th
		{v1alpha1.ChannelVisit, "2026-03-15 11:00", ""},
	}
	for _, tt := range tests {
		open, name := ws.OpenAt(tt.channel, winAt(t, shanghai, tt.at))
		if open != (tt.want != "") || name != tt.want {
			t.Errorf("OpenAt(%s, %s) = %v, %q, want %q", tt.channel, tt.at, open, name, tt.want)
		}
	}
}

// fromSpec resolves a window's defaults as Compile does.
func fromSpec(w v1alpha1.ReceptionWindow) CompiledWindow {
	kind := w.Kind
	if kind == "" {
		kind = v1alpha1.WindowRegular
	}
	return CompiledWindow{
		Name: w.Name, Kind: kind, Channels: w.Channels, Always: w.Always, Weekdays: w.Weekdays, Times: w.Times,
		DaysOfMonth: w.DaysOfMonth, DateRanges: w.DateRanges, ClosedOnHolidays: w.IsClosedOnHolidays(),
	}
}

func TestOpenAtHolidays(t *testing.T) {
	no := false
	office := []v1alpha1.ReceptionWindow{
		{Name: "reception", Channels: []v1alpha1.Channel{v1alpha1.ChannelVisit},
			Weekdays: []string{"monday:friday"}, Times: []v1alpha1.TimeRange{hhmm("08:30", "12:00")}},
		{Name: "weekend", Channels: []v1alpha1.Channel{v1alpha1.ChannelVisit},
			Weekdays: []string{"sunday", "saturday"}, Times: []v1alpha1.TimeRange{hhmm("13:00", "15:00")}},
		{Name: "duty", Kind: v1alpha1.WindowExtendedDuty, Channels: []v1alpha1.Channel{v1alpha1.ChannelPhone},
			Times: []v1alpha1.TimeRange{hhmm("09:00", "17:00")}},
		{Name: "letters", Channels: []v1alpha1.Channel{v1alpha1.ChannelLetter},
			Weekdays: []string{"monday:friday"}, ClosedOnHolidays: &no},
		{Name: "online", Channels: []v1alpha1.Channel{v1alpha1.ChannelOnline}, Always: true},
		{Name: "monday-only", Channels: []v1alpha1.Channel{v1alpha1.ChannelVisit},
			Weekdays: []string{"monday"}, Times: []v1alpha1.TimeRange{hhmm("18:00", "19:00")}},
		{Name: "sunday-only", Channels: []v1alpha1.Channel{v1alpha1.ChannelVisit},
			Weekdays: []string{"sunday"}, Times: []v1alpha1.TimeRange{hhmm("20:00", "21:00")}},
	}
	windows := make([]CompiledWindow, len(office))
	for i := range office {
		windows[i] = fromSpec(office[i])
	}
	if windows[0].ClosedOnHolidays != true || windows[2].ClosedOnHolidays != false || windows[3].ClosedOnHolidays != false ||
		windows[4].ClosedOnHolidays != false {
		t.Fatalf("closedOnHolidays defaults: %+v", windows)
	}
	ws := winSet(t, shanghai, nationalDay2026(t), windows...)
	plain := winSet(t, shanghai, nil, windows...)
	tests := []struct {
		name     string
		channel  v1alpha1.Channel
		at       string
		want     string // with the calendar
		withoutC string // with a nil calendar
	}{
		{"working day before the holiday", v1alpha1.ChannelVisit, "2026-09-30 09:00", "reception", "reception"},
		{"holiday closes a Regular window", v1alpha1.ChannelVisit, "2026-10-02 09:00", "", "reception"},
		{"ExtendedDuty stays open on a holiday", v1alpha1.ChannelPhone, "2026-10-02 09:00", "duty", "duty"},
		{"explicit closedOnHolidays false", v1alpha1.ChannelLetter, "2026-10-02 09:00", "letters", "letters"},
		{"always stays open on holidays by default", v1alpha1.ChannelOnline, "2026-10-02 09:00", "online", "online"},
		{"always opens again after the holiday", v1alpha1.ChannelOnline, "2026-10-08 00:00", "online", "online"},
		{"holiday Saturday closes a weekend window", v1alpha1.ChannelVisit, "2026-10-03 14:00", "", "weekend"},
		{"holiday Sunday closes a weekend window", v1alpha1.ChannelVisit, "2026-10-04 14:00", "", "weekend"},
		{"ExtendedDuty on a holiday Sunday", v1alpha1.ChannelPhone, "2026-10-04 16:59", "duty", "duty"},
		{"ordinary weekend", v1alpha1.ChannelVisit, "2026-10-17 14:00", "weekend", "weekend"},
		{"day after the holiday", v1alpha1.ChannelVisit, "2026-10-08 08:30", "reception", "reception"},
		{"adjusted Saturday opens monday:friday", v1alpha1.ChannelVisit, "2026-10-10 08:30", "reception", ""},
		{"adjusted Saturday does not open a monday window", v1alpha1.ChannelVisit, "2026-10-10 18:30", "", ""},
		{"adjusted Saturday keeps its weekend window", v1alpha1.ChannelVisit, "2026-10-10 14:00", "weekend", "weekend"},
		{"adjusted Saturday opens letters", v1alpha1.ChannelLetter, "2026-10-10 12:00", "letters", ""},
		{"adjusted Sunday opens monday:friday", v1alpha1.ChannelVisit, "2026-09-20 11:59", "reception", ""},
		{"adjusted Sunday keeps its sunday window", v1alpha1.ChannelVisit, "2026-09-20 20:30", "sunday-only", "sunday-only"},
		{"Sunday after the adjusted Saturday", v1alpha1.ChannelVisit, "2026-10-11 08:30", "", ""},
		{"sunday window on an ordinary Saturday", v1alpha1.ChannelVisit, "2026-10-17 20:30", "", ""},
		{"adjusted Saturday does not open a sunday window", v1alpha1.ChannelVisit, "2026-10-10 20:30", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			at := winAt(t, shanghai, tt.at)
			if open, name := ws.OpenAt(tt.channel, at); open != (tt.want != "") || name != tt.want {
				t.Errorf("OpenAt(%s, %s) = %v, %q, want %q", tt.channel, tt.at, open, name, tt.want)
			}
			if open, name := plain.OpenAt(tt.channel, at); open != (tt.withoutC != "") || name != tt.withoutC {
				t.Errorf("without a calendar: OpenAt(%s, %s) = %v, %q, want %q", tt.channel, tt.at, open, name, tt.withoutC)
			}
		})
	}
}

func TestOpenAtHolidaySpanningAWeekend(t *testing.T) {
	// Dragon Boat 2026: Friday 19 June to Sunday 21 June.
	cal := winCal(t, []v1alpha1.Holiday{{Name: "端午节", From: "2026-06-19", To: "2026-06-21"}})
	every := visit(nil, []v1alpha1.TimeRange{hhmm("10:00", "11:00")}, nil, nil)
	ws := winSet(t, shanghai, cal, every)
	checkOpen(t, ws, []openCase{
		{"2026-06-18 10:00", true},  // Thursday
		{"2026-06-19 10:00", false}, // Friday
		{"2026-06-20 10:00", false}, // Saturday
		{"2026-06-21 10:00", false}, // Sunday
		{"2026-06-22 10:00", true},  // Monday
	})
	got, ok := ws.NextOpening(v1alpha1.ChannelVisit, winAt(t, shanghai, "2026-06-18 10:30"))
	if want := "2026-06-22T10:00:00+08:00"; !ok || got.Format(time.RFC3339) != want {
		t.Errorf("NextOpening across the holiday = %s, %v, want %s", got.Format(time.RFC3339), ok, want)
	}
}

func TestOpenAtConvertsToTheOfficeZone(t *testing.T) {
	w := visit([]string{"monday"}, []v1alpha1.TimeRange{hhmm("08:30", "12:00")}, nil, nil)
	sh := winSet(t, shanghai, nil, w)
	utc := winSet(t, "UTC", nil, w)
	tests := []struct {
		at         time.Time
		inShanghai bool
		inUTC      bool
	}{
		// Monday 08:30 in Shanghai is Monday 00:30 UTC.
		{time.Date(2026, 3, 9, 0, 30, 0, 0, time.UTC), true, false},
		// Sunday 23:00 UTC is Monday 07:00 in Shanghai.
		{time.Date(2026, 3, 8, 23, 0, 0, 0, time.UTC), false, false},
		// Monday 09:00 UTC is Monday 17:00 in Shanghai.
		{time.Date(2026, 3, 9, 9, 0, 0, 0, time.UTC), false, true},
		// The same instant written in another zone.
		{time.Date(2026, 3, 8, 19, 45, 0, 0, time.FixedZone("EST", -5*3600)), true, false},
	}
	for _, tt := range tests {
		if got, _ := sh.OpenAt(v1alpha1.ChannelVisit, tt.at); got != tt.inShanghai {
			t.Errorf("Asia/Shanghai: OpenAt(%s) = %v, want %v", tt.at, got, tt.inShanghai)
		}
		if got, _ := utc.OpenAt(v1alpha1.ChannelVisit, tt.at); got != tt.inUTC {
			t.Errorf("UTC: OpenAt(%s) = %v, want %v", tt.at, got, tt.inUTC)
		}
	}
	got, ok := sh.NextOpening(v1alpha1.ChannelVisit, time.Date(2026, 3, 8, 0, 0, 0, 0, time.UTC))
	if !ok || got.Location().String() != shanghai || got.Format(time.RFC3339) != "2026-03-09T08:30:00+08:00" {
		t.Errorf("NextOpening = %s in %s, %v, want 2026-03-09T08:30:00+08:00", got.Format(time.RFC3339), got.Location(), ok)
	}
}

func TestOpenAtDST(t *testing.T) {
	const ny = "America/New_York"
	// 2026-03-08: 02:00 EST becomes 03:00 EDT, so 02:30 never happens.
	gap := visit(nil, []v1alpha1.TimeRange{hhmm("02:30", "03:30")}, nil, []v1alpha1.DateRange{{From: "2026-03-08", To: "2026-03-08"}})
	ws := winSet(t, ny, nil, gap)
	for _, tt := range []struct {
		at   time.Time
		want bool
	}{
		{time.Date(2026, 3, 8, 6, 59, 59, 0, time.UTC), false}, // 01:59:59 EST
		{time.Date(2026, 3, 8, 7, 0, 0, 0, time.UTC), true},    // 03:00 EDT
		{time.Date(2026, 3, 8, 7, 29, 59, 0, time.UTC), true},  // 03:29:59 EDT
		{time.Date(2026, 3, 8, 7, 30, 0, 0, time.UTC), false},  // 03:30 EDT
	} {
		if got, _ := ws.OpenAt(v1alpha1.ChannelVisit, tt.at); got != tt.want {
			t.Errorf("OpenAt(%s) = %v, want %v", tt.at.In(ws.Location()), got, tt.want)
		}
	}
	// 2026-11-01: 02:00 EDT becomes 01:00 EST, so 01:00-01:30 happens twice.
	overlap := visit(nil, []v1alpha1.TimeRange{hhmm("01:00", "01:30")}, nil, []v1alpha1.DateRange{{From: "2026-11-01", To: "2026-11-01"}})
	ws = winSet(t, ny, nil, overlap)
	for _, tt := range []struct {
		at   time.Time
		want bool
	}{
		{time.Date(2026, 11, 1, 5, 0, 0, 0, time.UTC), true},   // 01:00 EDT
		{time.Date(2026, 11, 1, 5, 30, 0, 0, time.UTC), false}, // 01:30 EDT
		{time.Date(2026, 11, 1, 6, 0, 0, 0, time.UTC), true},   // 01:00 EST
		{time.Date(2026, 11, 1, 6, 30, 0, 0, time.UTC), false}, // 01:30 EST
	} {
		if got, _ := ws.OpenAt(v1alpha1.ChannelVisit, tt.at); got != tt.want {
			t.Errorf("OpenAt(%s) = %v, want %v", tt.at.In(ws.Location()), got, tt.want)
		}
	}
}

func TestNextOpening(t *testing.T) {
	const ny = "America/New_York"
	online := CompiledWindow{Name: "online", Kind: v1alpha1.WindowRegular, Always: true, ClosedOnHolidays: true,
		Channels: []v1alpha1.Channel{v1alpha1.ChannelOnline}}
	duty := CompiledWindow{Name: "duty", Kind: v1alpha1.WindowExtendedDuty, Always: true, ClosedOnHolidays: false,
		Channels: []v1alpha1.Channel{v1alpha1.ChannelPhone}}
	morning := visit([]string{"monday:friday"}, []v1alpha1.TimeRange{hhmm("08:30", "12:00")}, nil, nil)
	lunch := visit([]string{"monday:friday"}, []v1alpha1.TimeRange{hhmm("12:00", "13:00")}, nil, nil)
	lunch.Name = "lunch"
	allDay := visit([]string{"monday:friday"}, []v1alpha1.TimeRange{hhmm("00:00", "24:00")}, nil, nil)
	saturday := visit([]string{"saturday"}, nil, nil, nil)
	onDate := func(d v1alpha1.Date, times ...v1alpha1.TimeRange) CompiledWindow {
		return visit(nil, times, nil, []v1alpha1.DateRange{{From: d, To: d}})
	}
	nineToFive := visit([]string{"monday:friday"}, []v1alpha1.TimeRange{hhmm("09:00", "17:00")}, nil, nil)

	tests := []struct {
		name    string
		tz      string
		cal     bool // with nationalDay2026
		windows []CompiledWindow
		channel v1alpha1.Channel
		from    string // wall clock in tz
		want    string // RFC3339, "" for none
	}{
		{"Friday evening to Monday morning", shanghai, false, []CompiledWindow{reception}, v1alpha1.ChannelVisit,
			"2026-03-06 18:00", "2026-03-09T08:30:00+08:00"},
		{"across National Day", shanghai, true, []CompiledWindow{reception}, v1alpha1.ChannelVisit,
			"2026-09-30 18:00", "2026-10-08T08:30:00+08:00"},
		{"from inside a holiday", shanghai, true, []CompiledWindow{reception}, v1alpha1.ChannelVisit,
			"2026-10-03 10:00", "2026-10-08T08:30:00+08:00"},
		{"to an adjusted Saturday", shanghai, true, []CompiledWindow{reception}, v1alpha1.ChannelVisit,
			"2026-10-09 18:00", "2026-10-10T08:30:00+08:00"},
		{"inside an open period to the next", shanghai, false, []CompiledWindow{reception}, v1alpha1.ChannelVisit,
			"2026-03-09 10:00", "2026-03-09T14:30:00+08:00"},
		{"at an opening: strictly after", shanghai, false, []CompiledWindow{reception}, v1alpha1.ChannelVisit,
			"2026-03-09 08:30", "2026-03-09T14:30:00+08:00"},
		{"a second before an opening", shanghai, false, []CompiledWindow{reception}, v1alpha1.ChannelVisit,
			"2026-03-09 08:29:59", "2026-03-09T08:30:00+08:00"},
		{"at a closing", shanghai, false, []CompiledWindow{reception}, v1alpha1.ChannelVisit,
			"2026-03-09 12:00", "2026-03-09T14:30:00+08:00"},
		{"adjacent windows are one period", shanghai, false, []CompiledWindow{morning, lunch}, v1alpha1.ChannelVisit,
			"2026-03-09 10:00", "2026-03-10T08:30:00+08:00"},
		{"whole weekdays open at Monday midnight", shanghai, false, []CompiledWindow{allDay}, v1alpha1.ChannelVisit,
			"2026-03-10 10:00", "2026-03-16T00:00:00+08:00"},
		{"a window without times opens at midnight", shanghai, false, []CompiledWindow{saturday}, v1alpha1.ChannelVisit,
			"2026-03-11 10:00", "2026-03-14T00:00:00+08:00"},
		{"always reopens after a holiday", shanghai, true, []CompiledWindow{online}, v1alpha1.ChannelOnline,
			"2026-09-30 12:00", "2026-10-08T00:00:00+08:00"},
		{"always open never opens", shanghai, true, []CompiledWindow{duty}, v1alpha1.ChannelPhone,
			"2026-09-30 12:00", ""},
		{"no window lists the channel", shanghai, false, []CompiledWindow{reception, online}, v1alpha1.ChannelPhone,
			"2026-03-09 10:00", ""},
		{"a date range in the past", shanghai, false, []CompiledWindow{onDate("2025-12-31")}, v1alpha1.ChannelVisit,
			"2026-03-09 10:00", ""},
		{"a date range 357 days ahead", shanghai, false, []CompiledWindow{onDate("2027-03-01")}, v1alpha1.ChannelVisit,
			"2026-03-09 10:00", "2027-03-01T00:00:00+08:00"},
		{"a date range beyond 400 days", shanghai, false, []CompiledWindow{onDate("2027-05-01")}, v1alpha1.ChannelVisit,
			"2026-03-09 10:00", ""},
		{"the 29th skips February 2026", shanghai, false, []CompiledWindow{visit(nil, nil, []string{"29"}, []v1alpha1.DateRange{{From: "2026-02-01", To: "2028-02-29"}})},
			v1alpha1.ChannelVisit, "2026-02-28 10:00", "2026-03-29T00:00:00+08:00"},
		{"the last day of February 2028", shanghai, false, []CompiledWindow{visit(nil, []v1alpha1.TimeRange{hhmm("09:00", "10:00")}, []string{"-1"}, nil)},
			v1alpha1.ChannelVisit, "2028-02-28 10:00", "2028-02-29T09:00:00+08:00"},
		{"DST gap: 02:30 opens at 03:00 EDT", ny, false, []CompiledWindow{onDate("2026-03-08", hhmm("02:30", "03:30"))}, v1alpha1.ChannelVisit,
			"2026-03-07 12:00", "2026-03-08T03:00:00-04:00"},
		{"DST gap: a window inside the gap never opens", ny, false, []CompiledWindow{onDate("2026-03-08", hhmm("02:00", "02:30"))}, v1alpha1.ChannelVisit,
			"2026-03-07 12:00", ""},
		{"DST: Friday EST to Monday EDT", ny, false, []CompiledWindow{nineToFive}, v1alpha1.ChannelVisit,
			"2026-03-06 18:00", "2026-03-09T09:00:00-04:00"},
		{"DST overlap: first 01:00", ny, false, []CompiledWindow{onDate("2026-11-01", hhmm("01:00", "01:30"))}, v1alpha1.ChannelVisit,
			"2026-10-31 12:00", "2026-11-01T01:00:00-04:00"},
		{"DST-free zone", shanghai, false, []CompiledWindow{onDate("2026-03-08", hhmm("02:30", "03:30"))}, v1alpha1.ChannelVisit,
			"2026-03-07 12:00", "2026-03-08T02:30:00+08:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var cal *Calendar
			if tt.cal {
				cal = nationalDay2026(t)
			}
			ws := winSet(t, tt.tz, cal, tt.windows...)
			from := winAt(t, tt.tz, tt.from)
			got, ok := ws.NextOpening(tt.channel, from)
			if tt.want == "" {
				if ok || !got.IsZero() {
					t.Errorf("NextOpening(%s) = %s, %v, want none", tt.from, got.Format(time.RFC3339), ok)
				}
				return
			}
			if !ok || got.Format(time.RFC3339) != tt.want {
				t.Fatalf("NextOpening(%s) = %s, %v, want %s", tt.from, got.Format(time.RFC3339), ok, tt.want)
			}
			if got.Location().String() != tt.tz {
				t.Errorf("NextOpening returned a time in %s, want %s", got.Location(), tt.tz)
			}
			if open, _ := ws.OpenAt(tt.channel, got); !open {
				t.Errorf("closed at the opening %s", got.Format(time.RFC3339))
			}
			if open, _ := ws.OpenAt(tt.channel, got.Add(-time.Nanosecond)); open {
				t.Errorf("already open just before the opening %s", got.Format(time.RFC3339))
			}
		})
	}
}

func TestNextOpeningDSTOverlapOpensTwice(t *testing.T) {
	w := visit(nil, []v1alpha1.TimeRange{hhmm("01:00", "01:30")}, nil, []v1alpha1.DateRange{{From: "2026-11-01", To: "2026-11-01"}})
	ws := winSet(t, "America/New_York", nil, w)
	from := time.Date(2026, 11, 1, 5, 10, 0, 0, time.UTC) // 01:10 EDT, inside the first 01:00-01:30
	got, ok := ws.NextOpening(v1alpha1.ChannelVisit, from)
	if want := "2026-11-01T01:00:00-05:00"; !ok || got.Format(time.RFC3339) != want {
		t.Errorf("NextOpening(%s) = %s, %v, want %s", from.In(ws.Location()), got.Format(time.RFC3339), ok, want)
	}
	if got, ok = ws.NextOpening(v1alpha1.ChannelVisit, got); ok {
		t.Errorf("NextOpening after the second 01:00 = %s, want none", got.Format(time.RFC3339))
	}
}

// TestNextOpeningMatchesMinuteScan compares NextOpening with a scan of every
// minute.
func TestNextOpeningMatchesMinuteScan(t *testing.T) {
	leader := CompiledWindow{Name: "leader", Kind: v1alpha1.WindowLeaderReception, Channels: []v1alpha1.Channel{v1alpha1.ChannelVisit},
		DaysOfMonth: []string{"-7:-1", "10"}, Times: []v1alpha1.TimeRange{hhmm("19:00", "24:00"), hhmm("00:00", "01:00")}, ClosedOnHolidays: true}
	night := CompiledWindow{Name: "night", Kind: v1alpha1.WindowExtendedDuty, Channels: []v1alpha1.Channel{v1alpha1.ChannelVisit},
		Weekdays: []string{"sunday", "saturday"}, Times: []v1alpha1.TimeRange{hhmm("01:30", "02:45")},
		DateRanges: []v1alpha1.DateRange{{From: "2026-03-01", To: "2026-03-31"}, {From: "2026-10-25", To: "2026-11-10"}}}
	sets := []struct {
		tz   string
		cal  bool
		from []string
	}{
		{shanghai, true, []string{"2026-09-24 07:00", "2026-09-30 12:00:30", "2026-10-08 09:00", "2026-10-09 23:59:59"}},
		{"America/New_York", false, []string{"2026-03-06 12:00", "2026-03-08 01:45", "2026-10-30 20:00", "2026-11-01 01:40"}},
	}
	for _, s := range sets {
		var cal *Calendar
		if s.cal {
			cal = nationalDay2026(t)
		}
		ws := winSet(t, s.tz, cal, reception, leader, night)
		for _, f := range s.from {
			from := winAt(t, s.tz, f)
			want, wantOK := scanNextOpening(ws, v1alpha1.ChannelVisit, from, 20*24*60)
			got, ok := ws.NextOpening(v1alpha1.ChannelVisit, from)
			if !wantOK {
				t.Fatalf("%s %s: the scan found no opening within 20 days", s.tz, f)
			}
			if !ok || !got.Equal(want) {
				t.Errorf("%s: NextOpening(%s) = %s, %v, the scan says %s", s.tz, f, got.Format(time.RFC3339), ok, want.In(ws.Location()).Format(time.RFC3339))
			}
		}
	}
}

// scanNextOpening looks at each minute after from for one at which channel is
// open and was closed just before.
func scanNextOpening(ws *WindowSet, channel v1alpha1.Channel, from time.Time, minutes int) (time.Time, bool) {
	m := from.Truncate(time.Minute)
	for i := 0; i < minutes; i++ {
		m = m.Add(time.Minute)
		open, _ := ws.OpenAt(channel, m)
		before, _ := ws.OpenAt(channel, m.Add(-time.Nanosecond))
		if open && !before {
			return m, true
		}
	}
	return time.Time{}, false
}

func TestNewWindowSetAccepts(t *testing.T) {
	w := visit([]string{"sunday:saturday", "saturday"}, []v1alpha1.TimeRange{hhmm("00:00", "00:01"), hhmm("23:59", "24:00")},
		[]string{"29:-1", "31:-1", "1:-31", "-31", "31", "-7:-1", "1:31"}, []v1alpha1.DateRange{{From: "2028-02-29", To: "2028-02-29"}})
	ws, err := NewWindowSet("America/New_York", []CompiledWindow{w}, nil)
	if err != nil {
		t.Fatalf("NewWindowSet: %v", err)
	}
	if ws.Location().String() != "America/New_York" {
		t.Errorf("Location() = %s", ws.Location())
	}
	if open, name := ws.OpenAt(v1alpha1.ChannelVisit, winAt(t, "America/New_York", "2028-02-29 23:59")); !open || name != "w" {
		t.Errorf("OpenAt = %v, %q, want open in w", open, name)
	}
}

func TestNewWindowSetErrors(t *testing.T) {
	ok := visit([]string{"monday:friday"}, []v1alpha1.TimeRange{hhmm("08:30", "12:00")}, nil, nil)
	ok.Name = "ok"
	with := func(f func(w *CompiledWindow)) []CompiledWindow {
		w := visit(nil, []v1alpha1.TimeRange{hhmm("09:00", "10:00")}, nil, nil)
		f(&w)
		return []CompiledWindow{ok, w}
	}
	tests := []struct {
		name    string
		tz      string
		windows []CompiledWindow
		want    string
	}{
		{"unknown zone", "Mars/Olympus", nil, `timeZone: unknown time zone "Mars/Olympus"`},
		{"Local", "Local", nil, `timeZone: "Local" is not an IANA time zone`},
		{"start 25:00", "", with(func(w *CompiledWindow) { w.Times[0].Start = "25:00" }),
			`receptionWindows[1].times[0]: start "25:00" is not HH:MM`},
		{"start 24:00", "", with(func(w *CompiledWindow) { w.Times = []v1alpha1.TimeRange{hhmm("24:00", "24:00")} }),
			`receptionWindows[1].times[0]: start "24:00" is not HH:MM`},
		{"start without a leading zero", "", with(func(w *CompiledWindow) { w.Times[0].Start = "9:00" }),
			`receptionWindows[1].times[0]: start "9:00" is not HH:MM`},
		{"end 24:01", "", with(func(w *CompiledWindow) { w.Times = append(w.Times, hhmm("20:00", "24:01")) }),
			`receptionWindows[1].times[1]: end "24:01" is not HH:MM`},
		{"end 12:60", "", with(func(w *CompiledWindow) { w.Times[0].End = "12:60" }),
			`receptionWindows[1].times[0]: end "12:60" is not HH:MM`},
		{"empty end", "", with(func(w *CompiledWindow) { w.Times[0].End = "" }),
			`receptionWindows[1].times[0]: end "" is not HH:MM`},
		{"start equals end", "", with(func(w *CompiledWindow) { w.Times[0] = hhmm("12:00", "12:00") }),
			`receptionWindows[1].times[0]: start "12:00" is not before end "12:00"`},
		{"start after end", "", with(func(w *CompiledWindow) { w.Times[0] = hhmm("17:00", "08:00") }),
			`receptionWindows[1].times[0]: start "17:00" is not before end "08:00"`},
		{"unknown weekday", "", with(func(w *CompiledWindow) { w.Weekdays = []string{"monday", "funday"} }),
			`receptionWindows[1].weekdays[1]: "funday" is not a weekday (sunday, monday, ..., saturday)`},
		{"capitalised weekday", "", with(func(w *CompiledWindow) { w.Weekdays = []string{"Monday"} }),
			`receptionWindows[1].weekdays[0]: "Monday" is not a weekday (sunday, monday, ..., saturday)`},
		{"bad end of a weekday range", "", with(func(w *CompiledWindow) { w.Weekdays = []string{"monday:fri"} }),
			`receptionWindows[1].weekdays[0]: "fri" is not a weekday (sunday, monday, ..., saturday)`},
		{"backwards weekday range", "", with(func(w *CompiledWindow) { w.Weekdays = []string{"friday:monday"} }),
			`receptionWindows[1].weekdays[0]: "friday:monday" runs backwards; a range stays within one week, sunday first`},
		{"saturday:sunday runs backwards", "", with(func(w *CompiledWindow) { w.Weekdays = []string{"saturday:sunday"} }),
			`receptionWindows[1].weekdays[0]: "saturday:sunday" runs backwards; a range stays within one week, sunday first`},
		{"three weekdays", "", with(func(w *CompiledWindow) { w.Weekdays = []string{"monday:tuesday:friday"} }),
			`receptionWindows[1].weekdays[0]: "monday:tuesday:friday" is not a weekday or a range of weekdays`},
		{"day 0", "", with(func(w *CompiledWindow) { w.DaysOfMonth = []string{"0"} }),
			`receptionWindows[1].daysOfMonth[0]: "0" is not a day of the month (1 to 31, or -31 to -1 from the month's end)`},
		{"day 32", "", with(func(w *CompiledWindow) { w.DaysOfMonth = []string{"1", "32"} }),
			`receptionWindows[1].daysOfMonth[1]: "32" is not a day of the month (1 to 31, or -31 to -1 from the month's end)`},
		{"day -32", "", with(func(w *CompiledWindow) { w.DaysOfMonth = []string{"-32:-1"} }),
			`receptionWindows[1].daysOfMonth[0]: "-32" is not a day of the month (1 to 31, or -31 to -1 from the month's end)`},
		{"day +5", "", with(func(w *CompiledWindow) { w.DaysOfMonth = []string{"+5"} }),
			`receptionWindows[1].daysOfMonth[0]: "+5" is not a day of the month (1 to 31, or -31 to -1 from the month's end)`},
		{"not a day", "", with(func(w *CompiledWindow) { w.DaysOfMonth = []string{"first"} }),
			`receptionWindows[1].daysOfMonth[0]: "first" is not a day of the month (1 to 31, or -31 to -1 from the month's end)`},
		{"three days", "", with(func(w *CompiledWindow) { w.DaysOfMonth = []string{"1:2:3"} }),
			`receptionWindows[1].daysOfMonth[0]: "1:2:3" is not a day of the month or a range of them`},
		{"backwards days", "", with(func(w *CompiledWindow) { w.DaysOfMonth = []string{"7:1"} }),
			`receptionWindows[1].daysOfMonth[0]: "7:1" runs backwards`},
		{"backwards negative days", "", with(func(w *CompiledWindow) { w.DaysOfMonth = []string{"-1:-7"} }),
			`receptionWindows[1].daysOfMonth[0]: "-1:-7" runs backwards`},
		{"empty in every month", "", with(func(w *CompiledWindow) { w.DaysOfMonth = []string{"2:-31"} }),
			`receptionWindows[1].daysOfMonth[0]: "2:-31" runs backwards`},
		{"negative to positive", "", with(func(w *CompiledWindow) { w.DaysOfMonth = []string{"-1:5"} }),
			`receptionWindows[1].daysOfMonth[0]: "-1:5" runs from a day counted from the month's end to one counted from its start`},
		{"date that does not exist", "", with(func(w *CompiledWindow) {
			w.DateRanges = []v1alpha1.DateRange{{From: "2026-01-01", To: "2026-01-02"}, {From: "2026-02-30", To: "2026-03-01"}}
		}), `receptionWindows[1].dateRanges[1].from: "2026-02-30" is not a valid date (YYYY-MM-DD)`},
		{"bad to", "", with(func(w *CompiledWindow) { w.DateRanges = []v1alpha1.DateRange{{From: "2026-01-01", To: "2026/01/02"}} }),
			`receptionWindows[1].dateRanges[0].to: "2026/01/02" is not a valid date (YYYY-MM-DD)`},
		{"to before from", "", with(func(w *CompiledWindow) { w.DateRanges = []v1alpha1.DateRange{{From: "2026-10-07", To: "2026-10-01"}} }),
			`receptionWindows[1].dateRanges[0]: to 2026-10-01 is before from 2026-10-07`},
		{"always with times", "", with(func(w *CompiledWindow) { w.Always = true }),
			`receptionWindows[1]: a window with always: true takes no weekdays, times, daysOfMonth or dateRanges`},
		{"no recurrence", "", with(func(w *CompiledWindow) { w.Times = nil }),
			`receptionWindows[1]: a window needs always: true or at least one of weekdays, times, daysOfMonth, dateRanges`},
		{"no channels", "", with(func(w *CompiledWindow) { w.Channels = nil }),
			`receptionWindows[1].channels: must name at least one channel`},
		{"unknown channel", "", with(func(w *CompiledWindow) { w.Channels = []v1alpha1.Channel{v1alpha1.ChannelPhone, "Fax"} }),
			`receptionWindows[1].channels[1]: unknown channel "Fax" (Visit, Letter, Phone or Online)`},
		{"no name", "", with(func(w *CompiledWindow) { w.Name = "" }),
			`receptionWindows[1].name: must not be empty`},
		{"duplicate name", "", with(func(w *CompiledWindow) { w.Name = "ok" }),
			`receptionWindows[1].name: duplicate window name "ok"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ws, err := NewWindowSet(tt.tz, tt.windows, nil)
			if err == nil {
				t.Fatalf("NewWindowSet succeeded, want %s", tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("NewWindowSet error\n got %s\nwant %s", err, tt.want)
			}
			if ws != nil {
				t.Errorf("NewWindowSet returned a set with its error")
			}
		})
	}
}

// TestAdjustedWorkdayOpensOnlyFullWeekWindows: an adjusted working day (调休)
// opens the windows whose weekdays cover all of Monday to Friday, not those
// limited to some weekdays. 2026-01-04 is a Sunday worked for New Year
// (01-01 to 01-03); the first Wednesday of January 2026 is 01-07.
func TestAdjustedWorkdayOpensOnlyFullWeekWindows(t *testing.T) {
	cal := winCal(t, []v1alpha1.Holiday{{Name: "元旦", From: "2026-01-01", To: "2026-01-03"}}, "2026-01-04", "2026-10-10")
	nine := []v1alpha1.TimeRange{hhmm("09:00", "12:00")}
	named := func(name string, w CompiledWindow) CompiledWindow { w.Name = name; return w }
	leader := named("leader", visit([]string{"wednesday"}, nine, []string{"1:7"}, nil))
	leader.Kind = v1alpha1.WindowLeaderReception
	tests := []struct {
		name   string
		window CompiledWindow
		at     string
		open   bool
	}{
		{"first-Wednesday leader reception stays closed on the make-up Sunday", leader, "2026-01-04 09:30", false},
		{"first-Wednesday leader reception opens on the first Wednesday", leader, "2026-01-07 09:30", true},
		{"monday:friday opens on the make-up Sunday", named("reception", visit([]string{"monday:friday"}, nine, nil, nil)), "2026-01-04 09:30", true},
		{"monday to friday in pieces opens", named("split", visit([]string{"monday:wednesday", "thursday", "friday"}, nine, nil, nil)), "2026-01-04 09:30", true},
		{"the whole week opens", named("week", visit([]string{"sunday:saturday"}, nine, nil, nil)), "2026-01-04 09:30", true},
		{"monday:thursday stays closed", named("four", visit([]string{"monday:thursday"}, nine, nil, nil)), "2026-01-04 09:30", false},
		{"a monday window stays closed", named("monday", visit([]string{"monday"}, nine, nil, nil)), "2026-01-04 09:30", false},
		{"a sunday window opens on its own weekday", named("sunday", visit([]string{"sunday"}, nine, nil, nil)), "2026-01-04 09:30", true},
		{"a window without weekdays opens as every day", named("first-week", visit(nil, nine, []string{"1:7"}, nil)), "2026-01-04 09:30", true},
		{"a tuesday window stays closed on the adjusted Saturday", named("tuesday", visit([]string{"tuesday"}, nine, nil, nil)), "2026-10-10 09:30", false},
		{"monday:friday opens on the adjusted Saturday", named("reception", visit([]string{"monday:friday"}, nine, nil, nil)), "2026-10-10 09:30", true},
		{"an ordinary Sunday stays closed", named("reception", visit([]string{"monday:friday"}, nine, nil, nil)), "2026-01-11 09:30", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ws := winSet(t, shanghai, cal, tt.window)
			open, name := ws.OpenAt(v1alpha1.ChannelVisit, winAt(t, shanghai, tt.at))
			if open != tt.open || (open && name != tt.window.Name) {
				t.Errorf("OpenAt(%s) = %v, %q; want %v", tt.at, open, name, tt.open)
			}
		})
	}

	// The search agrees: from the holiday Saturday 01-03, the leader
	// reception next opens on Wednesday 01-07, the weekday reception on
	// the make-up Sunday 01-04.
	searches := []struct {
		name   string
		window CompiledWindow
		from   string
		want   string
	}{
		{"leader reception skips the make-up Sunday", leader, "2026-01-03 12:00", "2026-01-07T09:00:00+08:00"},
		{"weekday reception opens on the make-up Sunday", named("reception", visit([]string{"monday:friday"}, nine, nil, nil)), "2026-01-03 12:00", "2026-01-04T09:00:00+08:00"},
		{"a tuesday window skips the adjusted Saturday", named("tuesday", visit([]string{"tuesday"}, nine, nil, nil)), "2026-10-09 12:00", "2026-10-13T09:00:00+08:00"},
		// The leader reception of February is Wednesday 02-04.
		{"leader reception after the first Wednesday", leader, "2026-01-07 12:00", "2026-02-04T09:00:00+08:00"},
	}
	for _, tt := range searches {
		t.Run(tt.name, func(t *testing.T) {
			ws := winSet(t, shanghai, cal, tt.window)
			next, ok := ws.NextOpening(v1alpha1.ChannelVisit, winAt(t, shanghai, tt.from))
			if !ok || next.Format(time.RFC3339) != tt.want {
				t.Errorf("NextOpening(%s) = %s, %v; want %s", tt.from, next.Format(time.RFC3339), ok, tt.want)
			}
		})
	}
}

// TestAlwaysOpenOnHolidays: an always-open channel (网上信访, letters, a
// hotline) does not stop on a holiday unless it says closedOnHolidays: true.
func TestAlwaysOpenOnHolidays(t *testing.T) {
	yes := true
	windows := []CompiledWindow{
		fromSpec(v1alpha1.ReceptionWindow{Name: "online", Channels: []v1alpha1.Channel{v1alpha1.ChannelOnline}, Always: true}),
		fromSpec(v1alpha1.ReceptionWindow{Name: "letter-box", Channels: []v1alpha1.Channel{v1alpha1.ChannelLetter}, Always: true, ClosedOnHolidays: &yes}),
	}
	ws := winSet(t, shanghai, nationalDay2026(t), windows...)
	for _, tt := range []struct {
		channel v1alpha1.Channel
		at      string
		want    string
	}{
		{v1alpha1.ChannelOnline, "2026-10-02 03:00", "online"},
		{v1alpha1.ChannelLetter, "2026-10-02 03:00", ""},
		{v1alpha1.ChannelLetter, "2026-10-09 03:00", "letter-box"},
	} {
		if open, name := ws.OpenAt(tt.channel, winAt(t, shanghai, tt.at)); open != (tt.want != "") || name != tt.want {
			t.Errorf("OpenAt(%s, %s) = %v, %q, want %q", tt.channel, tt.at, open, name, tt.want)
		}
	}
}
