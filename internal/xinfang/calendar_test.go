package xinfang

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/xinfang/petition-operator/api/v1alpha1"
)

func TestParseDate(t *testing.T) {
	tests := []struct {
		in      v1alpha1.Date
		want    time.Time
		wantErr bool
	}{
		{in: "2024-02-29", want: time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC)},
		{in: "2026-10-01", want: time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)},
		{in: "2000-02-29", want: time.Date(2000, 2, 29, 0, 0, 0, 0, time.UTC)}, // divisible by 400
		{in: "0001-01-01", want: time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)},
		{in: "9999-12-31", want: time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)},
		{in: "2026-02-29", wantErr: true}, // not a leap year
		{in: "1900-02-29", wantErr: true}, // divisible by 100, not by 400
		{in: "2026-02-30", wantErr: true},
		{in: "2026-04-31", wantErr: true},
		{in: "2026-13-01", wantErr: true},
		{in: "2026-00-10", wantErr: true},
		{in: "2026-01-00", wantErr: true},
		{in: "2026-1-01", wantErr: true},
		{in: "2026-01-01T00:00:00Z", wantErr: true},
		{in: "01/02/2026", wantErr: true},
		{in: "", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(string(tt.in), func(t *testing.T) {
			got, err := ParseDate(tt.in)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("ParseDate(%q) = %v, want an error", tt.in, got)
				}
				want := `"` + string(tt.in) + `" is not a valid date (YYYY-MM-DD)`
				if err.Error() != want {
					t.Errorf("ParseDate(%q) error = %q, want %q", tt.in, err, want)
				}
				if !got.IsZero() {
					t.Errorf("ParseDate(%q) = %v with an error, want the zero time", tt.in, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseDate(%q) error = %v", tt.in, err)
			}
			if !got.Equal(tt.want) || got.Location() != time.UTC {
				t.Errorf("ParseDate(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func hol(name string, from, to v1alpha1.Date) v1alpha1.Holiday {
	return v1alpha1.Holiday{Name: name, From: from, To: to}
}

// daysBetween is the number of dates from from to to inclusive, computed
// with time arithmetic on Unix seconds (a time.Duration cannot hold more
// than about 292 years).
func daysBetween(t *testing.T, from, to string) int {
	t.Helper()
	f, err := time.Parse(time.DateOnly, from)
	if err != nil {
		t.Fatal(err)
	}
	l, err := time.Parse(time.DateOnly, to)
	if err != nil {
		t.Fatal(err)
	}
	return int((l.Unix()-f.Unix())/(24*60*60)) + 1
}

func TestHolidayDays(t *testing.T) {
	tests := []struct {
		name     string
		holidays []v1alpha1.Holiday
		want     int
	}{
		{name: "nil", holidays: nil, want: 0},
		{name: "empty", holidays: []v1alpha1.Holiday{}, want: 0},
		{name: "one day", holidays: []v1alpha1.Holiday{hol("a", "2026-01-01", "2026-01-01")}, want: 1},
		{name: "one holiday of 7 days", holidays: []v1alpha1.Holiday{hol("National Day", "2026-10-01", "2026-10-07")}, want: 7},
		{
			name: "disjoint",
			holidays: []v1alpha1.Holiday{
				hol("New Year", "2026-01-01", "2026-01-03"),
				hol("National Day", "2026-10-01", "2026-10-07"),
			},
			want: 10,
		},
		{
			name: "overlapping counted once",
			holidays: []v1alpha1.Holiday{
				hol("a", "2026-10-01", "2026-10-05"),
				hol("b", "2026-10-03", "2026-10-08"),
			},
			want: 8,
		},
		{
			name: "overlapping on one day",
			holidays: []v1alpha1.Holiday{
				hol("a", "2026-10-01", "2026-10-03"),
				hol("b", "2026-10-03", "2026-10-05"),
			},
			want: 5,
		},
		{
			name: "identical",
			holidays: []v1alpha1.Holiday{
				hol("a", "2026-10-01", "2026-10-07"),
				hol("b", "2026-10-01", "2026-10-07"),
			},
			want: 7,
		},
		{
			name: "same start, different ends",
			holidays: []v1alpha1.Holiday{
				hol("a", "2026-10-01", "2026-10-07"),
				hol("b", "2026-10-01", "2026-10-02"),
			},
			want: 7,
		},
		{
			name: "contained in another",
			holidays: []v1alpha1.Holiday{
				hol("outer", "2026-10-01", "2026-10-10"),
				hol("inner", "2026-10-03", "2026-10-04"),
			},
			want: 10,
		},
		{
			// The contained holiday must not shorten the end of the outer one
			// for a third holiday that overlaps the outer one's tail.
			name: "contained, then overlapping the outer tail",
			holidays: []v1alpha1.Holiday{
				hol("outer", "2026-10-01", "2026-10-10"),
				hol("inner", "2026-10-02", "2026-10-03"),
				hol("tail", "2026-10-09", "2026-10-12"),
			},
			want: 12,
		},
		{
			name: "adjacent",
			holidays: []v1alpha1.Holiday{
				hol("a", "2026-10-01", "2026-10-03"),
				hol("b", "2026-10-04", "2026-10-07"),
			},
			want: 7,
		},
		{
			name: "unsorted",
			holidays: []v1alpha1.Holiday{
				hol("National Day", "2026-10-01", "2026-10-07"),
				hol("Labour Day", "2026-05-01", "2026-05-05"),
				hol("Mid-Autumn", "2026-09-25", "2026-10-02"),
				hol("New Year", "2026-01-01", "2026-01-03"),
			},
			want: 3 + 5 + 13, // Sep 25 to Oct 7 is 13 days
		},
		{
			name:     "across a year end",
			holidays: []v1alpha1.Holiday{hol("New Year", "2026-12-31", "2027-01-02")},
			want:     3,
		},
		{
			name:     "across a leap day",
			holidays: []v1alpha1.Holiday{hol("a", "2024-02-28", "2024-03-01")},
			want:     3,
		},
		{
			name:     "across a non-leap February end",
			holidays: []v1alpha1.Holiday{hol("a", "2026-02-28", "2026-03-01")},
			want:     2,
		},
		{
			name: "cn-2026 sample",
			holidays: []v1alpha1.Holiday{
				hol("元旦 New Year", "2026-01-01", "2026-01-03"),
				hol("春节 Spring Festival", "2026-02-15", "2026-02-23"),
				hol("清明节 Qingming", "2026-04-04", "2026-04-06"),
				hol("劳动节 Labour Day", "2026-05-01", "2026-05-05"),
				hol("端午节 Dragon Boat", "2026-06-19", "2026-06-21"),
				hol("中秋节 Mid-Autumn", "2026-09-25", "2026-09-27"),
				hol("国庆节 National Day", "2026-10-01", "2026-10-07"),
			},
			want: 3 + 9 + 3 + 5 + 3 + 3 + 7,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := HolidayDays(tt.holidays)
			if err != nil {
				t.Fatalf("HolidayDays error = %v", err)
			}
			if got != tt.want {
				t.Errorf("HolidayDays = %d, want %d", got, tt.want)
			}
		})
	}
}

// TestHolidayDaysLongSpans shows that HolidayDays computes the count
// arithmetically: spans of thousands of years, far beyond what a
// time.Duration can hold, are counted exactly and at once.
func TestHolidayDaysLongSpans(t *testing.T) {
	tests := []struct {
		name     string
		holidays []v1alpha1.Holiday
		want     int
	}{
		{
			name:     "all representable dates",
			holidays: []v1alpha1.Holiday{hol("forever", "0001-01-01", "9999-12-31")},
			want:     daysBetween(t, "0001-01-01", "9999-12-31"),
		},
		{
			name: "all dates, with a contained holiday",
			holidays: []v1alpha1.Holiday{
				hol("forever", "0001-01-01", "9999-12-31"),
				hol("National Day", "2026-10-01", "2026-10-07"),
			},
			want: daysBetween(t, "0001-01-01", "9999-12-31"),
		},
		{
			name: "two long overlapping spans",
			holidays: []v1alpha1.Holiday{
				hol("second", "5000-01-01", "9999-12-31"),
				hol("first", "0001-01-01", "6000-06-30"),
			},
			want: daysBetween(t, "0001-01-01", "9999-12-31"),
		},
		{
			name: "two long disjoint spans",
			holidays: []v1alpha1.Holiday{
				hol("first", "0001-01-01", "2999-12-31"),
				hol("second", "7000-01-01", "9999-12-31"),
			},
			want: daysBetween(t, "0001-01-01", "2999-12-31") + daysBetween(t, "7000-01-01", "9999-12-31"),
		},
		{
			name:     "just over the range of a time.Duration",
			holidays: []v1alpha1.Holiday{hol("long", "1700-01-01", "2000-12-31")},
			want:     daysBetween(t, "1700-01-01", "2000-12-31"),
		},
	}
	// The proleptic Gregorian calendar has 146097 days every 400 years, so
	// years 1 to 10000 have 25*146097 days; less the 366 of the leap year
	// 10000, years 1 to 9999 have 3652059.
	if got := daysBetween(t, "0001-01-01", "9999-12-31"); got != 25*146097-366 {
		t.Fatalf("daysBetween helper = %d, want 3652059", got)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := HolidayDays(tt.holidays)
			if err != nil {
				t.Fatalf("HolidayDays error = %v", err)
			}
			if got != tt.want {
				t.Errorf("HolidayDays = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestHolidayDaysErrors(t *testing.T) {
	tests := []struct {
		name     string
		holidays []v1alpha1.Holiday
		want     string
	}{
		{
			name:     "invalid from",
			holidays: []v1alpha1.Holiday{hol("good", "2026-01-01", "2026-01-02"), hol("Bad From", "2026-02-30", "2026-03-02")},
			want:     `holiday "Bad From": from: "2026-02-30" is not a valid date (YYYY-MM-DD)`,
		},
		{
			name:     "invalid to",
			holidays: []v1alpha1.Holiday{hol("Bad To", "2026-02-01", "2026-02-29")},
			want:     `holiday "Bad To": to: "2026-02-29" is not a valid date (YYYY-MM-DD)`,
		},
		{
			name:     "empty date",
			holidays: []v1alpha1.Holiday{hol("Empty", "", "2026-01-01")},
			want:     `holiday "Empty": from: "" is not a valid date (YYYY-MM-DD)`,
		},
		{
			name:     "to before from",
			holidays: []v1alpha1.Holiday{hol("Backwards", "2026-10-07", "2026-10-01")},
			want:     `holiday "Backwards": to 2026-10-01 is before from 2026-10-07`,
		},
		{
			name:     "to before from across a year",
			holidays: []v1alpha1.Holiday{hol("Backwards", "2027-01-01", "2026-12-31")},
			want:     `holiday "Backwards": to 2026-12-31 is before from 2027-01-01`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := HolidayDays(tt.holidays)
			if err == nil {
				t.Fatalf("HolidayDays = %d, want an error", got)
			}
			if err.Error() != tt.want {
				t.Errorf("HolidayDays error = %q, want %q", err, tt.want)
			}
			if got != 0 {
				t.Errorf("HolidayDays = %d with an error, want 0", got)
			}
			if !strings.Contains(err.Error(), tt.holidays[len(tt.holidays)-1].Name) {
				t.Errorf("error %q does not name the holiday", err)
			}
		})
	}
}

// referenceAdd and referenceBefore are Add and Before as they were: a day
// at a time.
func referenceAdd(c *Calendar, t time.Time, l Limit) time.Time {
	d := civil(t)
	if l.Working {
		for n := 0; n < l.Days; {
			d = d.AddDate(0, 0, 1)
			if c.IsWorkingDay(d) {
				n++
			}
		}
		return d
	}
	d = d.AddDate(0, 0, l.Days)
	for !c.IsWorkingDay(d) {
		d = d.AddDate(0, 0, 1)
	}
	return d
}

func referenceBefore(c *Calendar, due time.Time, l Limit) time.Time {
	d := civil(due)
	if !l.Working {
		d = d.AddDate(0, 0, -l.Days)
		for !c.IsWorkingDay(d) {
			d = d.AddDate(0, 0, -1)
		}
		return d
	}
	for n := 0; n < l.Days; {
		d = d.AddDate(0, 0, -1)
		if c.IsWorkingDay(d) {
			n++
		}
	}
	return d
}

// TestAddAndBeforeMatchCountingDays compares Add and Before, which skip
// plain weeks and holidays, with counting a day at a time, on random
// calendars: overlapping and touching holidays, adjusted working days inside
// holidays and on weekends, and none.
func TestAddAndBeforeMatchCountingDays(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 9))
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	date := func(d time.Time) v1alpha1.Date { return v1alpha1.Date(d.Format(time.DateOnly)) }
	for range 300 {
		var spec v1alpha1.HolidayCalendarSpec
		for i := range rng.IntN(12) {
			from := base.AddDate(0, 0, rng.IntN(1500))
			spec.Holidays = append(spec.Holidays, v1alpha1.Holiday{Name: fmt.Sprint(i), From: date(from), To: date(from.AddDate(0, 0, rng.IntN(60)))})
		}
		for range rng.IntN(12) {
			// A Saturday or Sunday outside every holiday: the only adjusted
			// working day a calendar takes.
			d := base.AddDate(0, 0, rng.IntN(1500))
			for d.Weekday() != time.Saturday && d.Weekday() != time.Sunday {
				d = d.AddDate(0, 0, 1)
			}
			if checkWorkday(d, spec.Holidays) == nil {
				spec.Workdays = append(spec.Workdays, date(d))
			}
		}
		cal, err := NewCalendar(&spec)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []*Calendar{cal, nil} {
			for range 20 {
				from := base.AddDate(0, 0, rng.IntN(1600)-50)
				l := Limit{Days: 1 + rng.IntN(400), Working: rng.IntN(3) > 0}
				if got, want := c.Add(from, l), referenceAdd(c, from, l); !got.Equal(want) {
					t.Fatalf("%+v: Add(%s, %s) = %s, counting says %s", spec, from.Format(time.DateOnly), l, got.Format(time.DateOnly), want.Format(time.DateOnly))
				}
				if got, want := c.Before(from, l), referenceBefore(c, from, l); !got.Equal(want) {
					t.Fatalf("%+v: Before(%s, %s) = %s, counting says %s", spec, from.Format(time.DateOnly), l, got.Format(time.DateOnly), want.Format(time.DateOnly))
				}
			}
		}
	}
}

// TestContradictoryWorkdays: an adjusted working day must be a Saturday or
// Sunday outside every holiday; the error names the field, the date and
// why, as the webhook and petitionctl validate give it.
func TestContradictoryWorkdays(t *testing.T) {
	nationalDay := []v1alpha1.Holiday{{Name: "国庆节", From: "2026-10-01", To: "2026-10-08"}}
	for _, tt := range []struct {
		workdays []v1alpha1.Date
		want     string
	}{
		{[]v1alpha1.Date{"2026-09-20", "2026-10-13"}, "spec.workdays[1]: 2026-10-13 is a Tuesday; an adjusted working day (调休) is a Saturday or Sunday made a working day"},
		{[]v1alpha1.Date{"2026-10-04"}, `spec.workdays[0]: 2026-10-04 falls within the holiday "国庆节" (2026-10-01 to 2026-10-08); a date is a holiday or an adjusted working day, not both`},
		{[]v1alpha1.Date{"2026-10-08"}, "spec.workdays[0]: 2026-10-08 is a Thursday"},
	} {
		_, err := NewCalendar(&v1alpha1.HolidayCalendarSpec{Holidays: nationalDay, Workdays: tt.workdays})
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("workdays %v: err = %v, want %q", tt.workdays, err, tt.want)
		}
	}
	// The weekends around the holiday are what a real calendar makes up.
	if _, err := NewCalendar(&v1alpha1.HolidayCalendarSpec{Holidays: nationalDay, Workdays: []v1alpha1.Date{"2026-09-20", "2026-10-10"}}); err != nil {
		t.Errorf("make-up weekends refused: %v", err)
	}
}
