package xinfang

import (
	"bytes"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/xinfang/petition-operator/api/v1alpha1"
)

// lianghui is the sample 两会 period: County offices on duty around the
// clock for Visit and Phone from 3 to 12 March 2027, two on duty with a
// leader, a zero report by 16:00.
func lianghui() v1alpha1.DutyPeriod {
	return v1alpha1.DutyPeriod{ObjectMeta: metav1.ObjectMeta{Name: "lianghui-2027", Generation: 1},
		Spec: v1alpha1.DutyPeriodSpec{DutyArrangement: v1alpha1.DutyArrangement{
			DisplayName:    "全国两会期间信访值班",
			OfficeSelector: v1alpha1.OfficeSelector{Levels: []v1alpha1.Level{v1alpha1.LevelCounty}},
			DateRanges:     []v1alpha1.DateRange{{From: "2027-03-03", To: "2027-03-12"}},
			Channels:       []v1alpha1.Channel{v1alpha1.ChannelVisit, v1alpha1.ChannelPhone},
			Times:          []v1alpha1.TimeRange{{Start: "00:00", End: "24:00"}},
			Staffing:       &v1alpha1.DutyStaffing{MinOnDuty: 2, LeaderOnDuty: true},
			DailyReport:    &v1alpha1.DailyReport{By: "16:00"},
		}}}
}

// dutyNetwork is compileNetwork with weekday visits at the county and the
// township, and a calendar with a (made-up) holiday inside the period.
func dutyNetwork(periods ...v1alpha1.DutyPeriod) *Snapshot {
	s := compileNetwork()
	s.HolidayCalendars[0].Spec.Holidays = append(s.HolidayCalendars[0].Spec.Holidays,
		v1alpha1.Holiday{Name: "test holiday", From: "2027-03-05", To: "2027-03-05"})
	for i := 1; i < 3; i++ {
		s.Offices[i].Spec.CalendarRef = "cal"
		s.Offices[i].Spec.ReceptionWindows = []v1alpha1.ReceptionWindow{{Name: "weekday-visits",
			Channels: []v1alpha1.Channel{v1alpha1.ChannelVisit}, Weekdays: []string{"monday:friday"},
			Times: []v1alpha1.TimeRange{{Start: "08:30", End: "12:00"}}}}
	}
	s.DutyPeriods = periods
	return s
}

func compileOffice(t *testing.T, s *Snapshot, name string) *Compiled {
	t.Helper()
	c, err := s.Network().Compile(name, CompileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCompileDutySelectsAndCompiles(t *testing.T) {
	s := dutyNetwork(lianghui())
	county := compileOffice(t, s, "c-county")
	d := county.Config.Duty
	if d == nil || len(d.Periods) != 1 {
		t.Fatalf("county duty = %+v, want the one period", d)
	}
	p := d.Periods[0]
	want := CompiledDutyPeriod{Name: "lianghui-2027", DisplayName: "全国两会期间信访值班",
		Window: CompiledWindow{Name: "lianghui-2027", Kind: v1alpha1.WindowExtendedDuty,
			Channels:   []v1alpha1.Channel{v1alpha1.ChannelVisit, v1alpha1.ChannelPhone},
			Times:      []v1alpha1.TimeRange{{Start: "00:00", End: "24:00"}},
			DateRanges: []v1alpha1.DateRange{{From: "2027-03-03", To: "2027-03-12"}}},
		Staffing: &v1alpha1.DutyStaffing{MinOnDuty: 2, LeaderOnDuty: true}, DailyReport: &v1alpha1.DailyReport{By: "16:00"}}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("period\n got %+v\nwant %+v", p, want)
	}
	rev := DutyRevision(&s.DutyPeriods[0].Spec.DutyArrangement).Revision
	if !slices.Equal(county.DutyPeriods, []v1alpha1.PolicyRevision{{Name: "lianghui-2027", Revision: rev}}) {
		t.Errorf("revisions %v, want lianghui-2027 at %s", county.DutyPeriods, rev)
	}
	for _, want := range []string{`"duty": {`, `"closedOnHolidays": false`, `"minOnDuty": 2`, `"leaderOnDuty": true`, `"by": "16:00"`} {
		if !bytes.Contains(county.Data, []byte(want)) {
			t.Errorf("county config lacks %s:\n%s", want, county.Data)
		}
	}

	// The township and the City are not selected: no duty section, and
	// their configuration is byte for byte what it is without periods.
	without := dutyNetwork()
	for _, name := range []string{"c-town", "c-city"} {
		got, base := compileOffice(t, s, name), compileOffice(t, without, name)
		if got.Config.Duty != nil || got.DutyPeriods != nil || bytes.Contains(got.Data, []byte(`"duty"`)) {
			t.Errorf("%s compiled a duty section: %s", name, got.Data)
		}
		if !bytes.Equal(got.Data, base.Data) || got.Hash != base.Hash {
			t.Errorf("%s: hash %s with a period elsewhere, %s without", name, got.Hash, base.Hash)
		}
	}
	if c := compileOffice(t, without, "c-county"); c.Hash == county.Hash {
		t.Errorf("the county's hash %s did not change with its period", county.Hash)
	}
}

// The encoding of a configuration without duty periods is what it was before
// they existed: its hash, computed then, is unchanged.
func TestConfigHashWithoutDutyUnchanged(t *testing.T) {
	c := OfficeConfig{Format: ConfigFormat, Office: "o", Level: v1alpha1.LevelCounty, Path: []string{"c", "o"}, Parent: "c", TimeZone: "Asia/Shanghai",
		ReceptionWindows: []CompiledWindow{{Name: "visits", Kind: v1alpha1.WindowRegular, Channels: []v1alpha1.Channel{v1alpha1.ChannelVisit},
			Weekdays: []string{"monday:friday"}, Times: []v1alpha1.TimeRange{{Start: "08:30", End: "12:00"}}, ClosedOnHolidays: true}}}
	_, hash, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if hash != "3f6ec8b0ecd57968" {
		t.Errorf("hash %s, want 3f6ec8b0ecd57968 as before duty periods", hash)
	}
}

func TestDutyWindows(t *testing.T) {
	nightShift := lianghui()
	nightShift.Name = "night-shift"
	nightShift.Spec.Times = []v1alpha1.TimeRange{{Start: "20:00", End: "24:00"}}
	nightShift.Spec.OfficeSelector = v1alpha1.OfficeSelector{Levels: []v1alpha1.Level{v1alpha1.LevelTownship}}
	always := lianghui()
	always.Name = "always-on"
	always.Spec.Times, always.Spec.Always = nil, true
	always.Spec.OfficeSelector = v1alpha1.OfficeSelector{Levels: []v1alpha1.Level{v1alpha1.LevelCity}}
	always.Spec.Channels = []v1alpha1.Channel{v1alpha1.ChannelLetter}
	s := dutyNetwork(lianghui(), nightShift, always)
	s.Offices[0].Spec.CalendarRef = "cal"

	const lh, next = "lianghui-2027", "2027-03-15T08:30:00+08:00"
	for _, tt := range []struct {
		office  string
		channel v1alpha1.Channel
		at      string
		want    WindowAnswer
	}{
		// The evening before, the weekday window has closed; the period
		// opens at midnight and stays open to the end of 12 March.
		{"c-county", v1alpha1.ChannelVisit, "2027-03-02T23:59:00+08:00", WindowAnswer{false, "", "2027-03-03T00:00:00+08:00"}},
		{"c-county", v1alpha1.ChannelVisit, "2027-03-03T00:00:00+08:00", WindowAnswer{true, lh, next}},
		// A public holiday closes the weekday window, not the period.
		{"c-county", v1alpha1.ChannelVisit, "2027-03-05T10:00:00+08:00", WindowAnswer{true, lh, next}},
		{"c-county", v1alpha1.ChannelVisit, "2027-03-07T03:00:00+08:00", WindowAnswer{true, lh, next}},
		// Both cover a Monday morning: the answer names the period.
		{"c-county", v1alpha1.ChannelVisit, "2027-03-08T09:00:00+08:00", WindowAnswer{true, lh, next}},
		{"c-county", v1alpha1.ChannelVisit, "2027-03-12T23:59:59+08:00", WindowAnswer{true, lh, next}},
		{"c-county", v1alpha1.ChannelVisit, "2027-03-13T00:00:00+08:00", WindowAnswer{false, "", next}},
		{"c-county", v1alpha1.ChannelPhone, "2027-03-07T03:00:00+08:00", WindowAnswer{true, lh, ""}},
		{"c-county", v1alpha1.ChannelPhone, "2027-03-13T00:00:00+08:00", WindowAnswer{false, "", ""}},
		// Not a channel of the period.
		{"c-county", v1alpha1.ChannelOnline, "2027-03-07T03:00:00+08:00", WindowAnswer{false, "", ""}},
		// The same instant in another offset.
		{"c-county", v1alpha1.ChannelVisit, "2027-03-02T16:00:00Z", WindowAnswer{true, lh, next}},
		// The township's night shift, 20:00 to midnight.
		{"c-town", v1alpha1.ChannelVisit, "2027-03-07T19:59:00+08:00", WindowAnswer{false, "", "2027-03-07T20:00:00+08:00"}},
		{"c-town", v1alpha1.ChannelVisit, "2027-03-07T20:00:00+08:00", WindowAnswer{true, "night-shift", "2027-03-08T08:30:00+08:00"}},
		{"c-town", v1alpha1.ChannelVisit, "2027-03-08T10:00:00+08:00", WindowAnswer{true, "weekday-visits", "2027-03-08T20:00:00+08:00"}},
		{"c-town", v1alpha1.ChannelVisit, "2027-03-12T23:00:00+08:00", WindowAnswer{true, "night-shift", "2027-03-15T08:30:00+08:00"}},
		// always: true, on the period's dates only, holidays included.
		{"c-city", v1alpha1.ChannelLetter, "2027-03-02T12:00:00+08:00", WindowAnswer{false, "", "2027-03-03T00:00:00+08:00"}},
		{"c-city", v1alpha1.ChannelLetter, "2027-03-05T12:00:00+08:00", WindowAnswer{true, "always-on", ""}},
	} {
		t.Run(tt.office+"/"+string(tt.channel)+"/"+tt.at, func(t *testing.T) {
			cfg, err := s.OfficeConfig(tt.office)
			if err != nil {
				t.Fatal(err)
			}
			at, _ := time.Parse(time.RFC3339, tt.at)
			got, err := cfg.Windows(tt.channel, at)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// A period may share its name with one of the office's own windows: the two
// live apart, and the answer names the period while it covers the instant.
func TestDutyWindowNameMayRepeatAnOfficeWindow(t *testing.T) {
	p := lianghui()
	p.Name = "weekday-visits"
	s := dutyNetwork(p)
	cfg, err := s.OfficeConfig("c-county")
	if err != nil {
		t.Fatal(err)
	}
	got, err := cfg.Windows(v1alpha1.ChannelVisit, time.Date(2027, 3, 7, 3, 0, 0, 0, time.UTC))
	if err != nil || !got.Open || got.Window != "weekday-visits" {
		t.Errorf("Windows = %+v, %v; want open in the period", got, err)
	}
}

// TestOverlappingPeriodsNameTheFirstByName: two periods that cover the
// same instant for the same office and channel both keep it open; the
// answer names the one whose name sorts first, whatever order they were
// applied in, so every replica and the desk name the same one.
func TestOverlappingPeriodsNameTheFirstByName(t *testing.T) {
	second := lianghui()
	second.Name = "a-flood-season"
	for _, order := range [][]v1alpha1.DutyPeriod{{lianghui(), second}, {second, lianghui()}} {
		cfg, err := dutyNetwork(order...).OfficeConfig("c-county")
		if err != nil {
			t.Fatal(err)
		}
		got, err := cfg.Windows(v1alpha1.ChannelVisit, time.Date(2027, 3, 7, 3, 0, 0, 0, time.UTC))
		if err != nil || !got.Open || got.Window != "a-flood-season" {
			t.Errorf("applied %s then %s: Windows = %+v, %v; want open in a-flood-season", order[0].Name, order[1].Name, got, err)
		}
	}
}

func TestCompileDutyLeavesOutInvalidAndBoundsTheCount(t *testing.T) {
	bad := lianghui()
	bad.Name = "bad-date"
	bad.Spec.DateRanges[0].To = "2027-02-30"
	c := compileOffice(t, dutyNetwork(lianghui(), bad), "c-county")
	if d := c.Config.Duty; d == nil || len(d.Periods) != 1 || d.Periods[0].Name != "lianghui-2027" {
		t.Errorf("duty %+v, want only lianghui-2027", d)
	}

	var many []v1alpha1.DutyPeriod
	for i := range MaxDutyPeriods + 1 {
		p := lianghui()
		p.Name = fmt.Sprintf("p%02d", i)
		many = append(many, p)
	}
	s := dutyNetwork(many[:MaxDutyPeriods]...)
	if c := compileOffice(t, s, "c-county"); len(c.Config.Duty.Periods) != MaxDutyPeriods {
		t.Errorf("%d periods compiled, want %d", len(c.Config.Duty.Periods), MaxDutyPeriods)
	}
	s = dutyNetwork(many...)
	county, _ := s.Network().Get("c-county")
	c, err := Compile(s.Network(), county, CompileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p := c.Problem; p == nil || p.Reason != v1alpha1.ReasonTooManyDutyPeriods || !p.Stalled || p.Field != FieldDutyPeriods ||
		!strings.Contains(p.Error(), "Office/c-county: dutyPeriods: 33 DutyPeriods select the office, at most 32 may") {
		t.Errorf("problem %+v, want TooManyDutyPeriods", p)
	}
}

// stagedDuty is the period rolled out to the County first, then the rest.
func stagedDuty() v1alpha1.DutyPeriod {
	p := lianghui()
	p.Spec.OfficeSelector = v1alpha1.OfficeSelector{Levels: []v1alpha1.Level{v1alpha1.LevelCounty, v1alpha1.LevelTownship}}
	p.Spec.Rollout = v1alpha1.Rollout{Strategy: v1alpha1.RolloutStaged, Stages: []v1alpha1.RolloutStage{
		{Levels: []v1alpha1.Level{v1alpha1.LevelCounty}}, {Percent: ptr.To[int32](100)},
	}, ProgressDeadline: &metav1.Duration{Duration: time.Minute}}
	return p
}

func TestEntitledDuty(t *testing.T) {
	s := dutyNetwork()
	idx := NetworkOf(s.Offices)
	county, _ := idx.Get("c-county")
	town, _ := idx.Get("c-town")
	countyPath, _ := idx.Path(county)
	townPath, _ := idx.Path(town)

	p := stagedDuty()
	cur := DutyRevision(&p.Spec.DutyArrangement)
	// A new period, its rollout at the first stage: the County has it, the
	// township nothing yet.
	p.Status.Rollout = &v1alpha1.RolloutStatus{Revision: cur.Revision, Phase: v1alpha1.RolloutProgressing, Stages: 2}
	if got := EntitledDuty(&p, county, countyPath); got == nil || got.Revision != cur.Revision {
		t.Errorf("county entitled to %v, want %s", got, cur.Revision)
	}
	if got := EntitledDuty(&p, town, townPath); got != nil {
		t.Errorf("township entitled to %v before its stage, want none", got)
	}
	// A change of dates under way: the township keeps the stable dates.
	stable := p.DeepCopy()
	stable.Spec.DateRanges = []v1alpha1.DateRange{{From: "2027-03-04", To: "2027-03-11"}}
	old := DutyRevision(&stable.Spec.DutyArrangement)
	p.Status.Stable = &old
	if got := EntitledDuty(&p, town, townPath); got == nil || got.Revision != old.Revision || got.DateRanges[0].From != "2027-03-04" {
		t.Errorf("township entitled to %v, want the stable revision", got)
	}
	s.DutyPeriods = []v1alpha1.DutyPeriod{p}
	s.Live = true
	c := compileOffice(t, s, "c-town")
	if c.Config.Duty == nil || c.Config.Duty.Periods[0].Window.DateRanges[0].From != "2027-03-04" || c.DutyPeriods[0].Revision != old.Revision {
		t.Errorf("township compiled %+v, want the stable dates", c.Config.Duty)
	}
	// The second stage reached: the current revision everywhere.
	p.Status.Stage = 1
	if got := EntitledDuty(&p, town, townPath); got == nil || got.Revision != cur.Revision {
		t.Errorf("township entitled to %v at its stage, want %s", got, cur.Revision)
	}
	// Files hold no status: every office compiles the period as written.
	s.DutyPeriods[0].Status = v1alpha1.DutyPeriodStatus{}
	s.Live = false
	if c := compileOffice(t, s, "c-town"); c.Config.Duty == nil || c.DutyPeriods[0].Revision != cur.Revision {
		t.Errorf("from files the township compiled %v, want %s", c.DutyPeriods, cur.Revision)
	}
}

func TestStepDutyRollout(t *testing.T) {
	s := dutyNetwork()
	for i := range s.Offices {
		s.Offices[i].Status.Conditions = []metav1.Condition{{Type: v1alpha1.ConditionReady, Status: metav1.ConditionTrue}}
	}
	p := stagedDuty()
	rev := DutyRevision(&p.Spec.DutyArrangement).Revision
	now := time.Date(2027, 2, 1, 0, 0, 0, 0, time.UTC)
	apply := func() RolloutStep {
		st := StepDutyRollout(&p, NetworkOf(s.Offices), now)
		p.Status.Stage, p.Status.Rollout = st.Stage, st.Status
		if st.Completed {
			r := DutyRevision(&p.Spec.DutyArrangement)
			p.Status.Stable = &r
		}
		return st
	}
	run := func(name string) {
		for i := range s.Offices {
			if s.Offices[i].Name == name {
				s.Offices[i].Status.DutyPeriods = []v1alpha1.PolicyRevision{{Name: p.Name, Revision: rev}}
				s.Offices[i].Status.Tenant = &v1alpha1.OfficeTenantStatus{RolledOut: true}
			}
		}
	}
	st := apply()
	if st.Stage != 0 || st.Status.Phase != v1alpha1.RolloutProgressing || !slices.Equal(st.Status.WaitingFor, []string{"c-county"}) {
		t.Fatalf("step %+v %+v, want stage 0 waiting for c-county", st, st.Status)
	}
	run("c-county")
	if st = apply(); st.Stage != 1 || !slices.Equal(st.Status.WaitingFor, []string{"c-town"}) {
		t.Fatalf("step %+v %+v, want stage 1 waiting for c-town", st, st.Status)
	}
	run("c-town")
	if st = apply(); !st.Completed || st.Status.Phase != v1alpha1.RolloutComplete || p.Status.Stable.Revision != rev {
		t.Fatalf("step %+v %+v, want complete", st, st.Status)
	}
	rep := ReportDutyPeriod(&p, NetworkOf(s.Offices))
	if rep.Selected != 2 || rep.Updated != 2 || !slices.Equal(rep.Zones, []string{"Asia/Shanghai"}) {
		t.Errorf("report %+v, want 2 selected and updated in Asia/Shanghai", rep)
	}
	if got := SelectedByDuty(NetworkOf(s.Offices), &p); !slices.Equal(slices.Sorted(slices.Values(got)), []string{"c-county", "c-town"}) {
		t.Errorf("selected %v", got)
	}
}

func TestDutyActive(t *testing.T) {
	ranges := []v1alpha1.DateRange{{From: "2027-03-03", To: "2027-03-12"}, {From: "2027-10-01", To: "2027-10-07"}}
	shanghai, _ := time.LoadLocation("Asia/Shanghai")
	for _, tt := range []struct {
		name   string
		zones  []string
		now    time.Time
		active bool
		next   time.Time
	}{
		{"the last minute before", nil, time.Date(2027, 3, 2, 23, 59, 0, 0, shanghai), false, time.Date(2027, 3, 3, 0, 0, 0, 0, shanghai)},
		{"the first minute", nil, time.Date(2027, 3, 3, 0, 0, 0, 0, shanghai), true, time.Date(2027, 3, 13, 0, 0, 0, 0, shanghai)},
		{"in it", []string{"Asia/Shanghai"}, time.Date(2027, 3, 7, 3, 0, 0, 0, shanghai), true, time.Date(2027, 3, 13, 0, 0, 0, 0, shanghai)},
		{"between ranges", nil, time.Date(2027, 3, 13, 0, 0, 0, 0, shanghai), false, time.Date(2027, 10, 1, 0, 0, 0, 0, shanghai)},
		// Past midnight in Shanghai, still 12 March in London: active for
		// the London office until its midnight.
		{"two zones", []string{"Asia/Shanghai", "Europe/London"}, time.Date(2027, 3, 12, 17, 0, 0, 0, time.UTC), true, time.Date(2027, 3, 13, 0, 0, 0, 0, time.UTC)},
		{"after", nil, time.Date(2027, 10, 8, 0, 0, 0, 0, shanghai), false, time.Time{}},
		{"unknown zone skipped", []string{"Mars/Olympus"}, time.Date(2027, 3, 7, 0, 0, 0, 0, shanghai), false, time.Time{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DutyActive(ranges, tt.zones, tt.now)
			if err != nil {
				t.Fatal(err)
			}
			if got.Active != tt.active || !got.Next.Equal(tt.next) {
				t.Errorf("got active %t next %s, want %t %s", got.Active, got.Next, tt.active, tt.next)
			}
		})
	}
	if _, err := DutyActive([]v1alpha1.DateRange{{From: "2027-02-30", To: "2027-03-01"}}, nil, time.Now()); err == nil ||
		!strings.Contains(err.Error(), "dateRanges[0].from") {
		t.Errorf("an impossible date: %v", err)
	}
}

func TestCheckDutyPeriod(t *testing.T) {
	county := &v1alpha1.Office{ObjectMeta: metav1.ObjectMeta{Name: "zhenping-county"}, Spec: v1alpha1.OfficeSpec{Level: v1alpha1.LevelCounty, Parent: "nanyang"}}
	w := worldOf(nil, county)
	for _, tt := range []struct {
		name          string
		edit          func(a *v1alpha1.DutyPeriodSpec)
		errs, pending []string
	}{
		{name: "valid", edit: func(*v1alpha1.DutyPeriodSpec) {}},
		{name: "always", edit: func(a *v1alpha1.DutyPeriodSpec) { a.Times, a.Always = nil, true }},
		{name: "a year, leap day included", edit: func(a *v1alpha1.DutyPeriodSpec) {
			a.DateRanges = []v1alpha1.DateRange{{From: "2028-01-01", To: "2028-03-31"}, {From: "2028-12-01", To: "2028-12-31"}}
		}},
		{name: "overlapping another period is fine", edit: func(a *v1alpha1.DutyPeriodSpec) { a.OfficeSelector.SubtreeOf = "zhenping-county" }},
		{name: "367 days", edit: func(a *v1alpha1.DutyPeriodSpec) {
			a.DateRanges = []v1alpha1.DateRange{{From: "2027-01-01", To: "2028-01-02"}}
		},
			errs: []string{"spec.dateRanges: Invalid value: the period runs 367 days, from 2027-01-01 to 2028-01-02; at most 366 are allowed: declare a longer duty as a window of the office, or one DutyPeriod per year"}},
		{name: "two ranges a year apart", edit: func(a *v1alpha1.DutyPeriodSpec) {
			a.DateRanges = append(a.DateRanges, v1alpha1.DateRange{From: "2028-03-03", To: "2028-03-12"})
		}, errs: []string{"spec.dateRanges: Invalid value: the period runs 376 days, from 2027-03-03 to 2028-03-12; at most 366 are allowed: declare a longer duty as a window of the office, or one DutyPeriod per year"}},
		{name: "out of order", edit: func(a *v1alpha1.DutyPeriodSpec) {
			a.DateRanges = []v1alpha1.DateRange{{From: "2027-10-01", To: "2027-10-07"}, {From: "2027-03-03", To: "2027-03-12"}}
		}, errs: []string{`spec.dateRanges[1].from: Invalid value: "2027-03-03": must be after the previous range's last date 2027-10-07: list the ranges in date order without overlap`}},
		{name: "overlapping ranges", edit: func(a *v1alpha1.DutyPeriodSpec) {
			a.DateRanges = append(a.DateRanges, v1alpha1.DateRange{From: "2027-03-12", To: "2027-03-14"})
		}, errs: []string{`spec.dateRanges[1].from: Invalid value: "2027-03-12": must be after the previous range's last date 2027-03-12: list the ranges in date order without overlap`}},
		{name: "impossible date", edit: func(a *v1alpha1.DutyPeriodSpec) { a.DateRanges[0].To = "2027-02-30" },
			errs: []string{`spec.dateRanges[0].to: Invalid value: "2027-02-30" is not a valid date (YYYY-MM-DD)`}},
		{name: "backwards times", edit: func(a *v1alpha1.DutyPeriodSpec) { a.Times[0] = v1alpha1.TimeRange{Start: "20:00", End: "08:00"} },
			errs: []string{`spec.times[0]: Invalid value: start "20:00" is not before end "08:00"`}},
		{name: "times and always", edit: func(a *v1alpha1.DutyPeriodSpec) { a.Always = true },
			errs: []string{"spec.times: Invalid value: exactly one of times and always: true must be given"}},
		{name: "neither times nor always", edit: func(a *v1alpha1.DutyPeriodSpec) { a.Times = nil },
			errs: []string{"spec.times: Invalid value: exactly one of times and always: true must be given"}},
		{name: "report at 24:00", edit: func(a *v1alpha1.DutyPeriodSpec) { a.DailyReport.By = "24:00" },
			errs: []string{`spec.dailyReport.by: Invalid value: "24:00": must be a time of day HH:MM, 00:00 to 23:59`}},
		{name: "subtree missing", edit: func(a *v1alpha1.DutyPeriodSpec) {
			a.OfficeSelector.SubtreeOf = "ghost"
			a.Rollout = v1alpha1.Rollout{Strategy: v1alpha1.RolloutStaged, Stages: []v1alpha1.RolloutStage{{SubtreeOf: "phantom"}}}
		}, pending: []string{`spec.officeSelector.subtreeOf: Not found: Office "ghost" does not exist`,
			`spec.rollout.stages[0].subtreeOf: Not found: Office "phantom" does not exist`}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := lianghui()
			tt.edit(&p.Spec)
			checkFindings(t, CheckDutyPeriod(&p, w), tt.errs, tt.pending)
		})
	}
}

func TestCheckDutyLoad(t *testing.T) {
	s := dutyNetwork()
	idx := NetworkOf(s.Offices)
	var others []v1alpha1.DutyPeriod
	for i := range MaxDutyPeriods - 1 {
		p := lianghui()
		p.Name = fmt.Sprintf("p%02d", i)
		others = append(others, p)
	}
	p := lianghui()
	if errs := CheckDutyLoad(&p, idx, others); len(errs) != 0 {
		t.Errorf("the 32nd period: %v", errs)
	}
	// Replacing one of them is no new period.
	if errs := CheckDutyLoad(&others[0], idx, others); len(errs) != 0 {
		t.Errorf("replacing p00: %v", errs)
	}
	extra := lianghui()
	extra.Name = "extra"
	others = append(others, extra)
	p.Spec.OfficeSelector = v1alpha1.OfficeSelector{}
	errs := CheckDutyLoad(&p, idx, others)
	if len(errs) != 1 || errs[0].Error() != `spec.officeSelector: Forbidden: office "c-county" would be selected by 33 DutyPeriods; at most 32 may select one office (the bound of its desk's configuration)` {
		t.Errorf("errors %v", errs)
	}
	// Offline validation says the same of every period that selects it.
	s.DutyPeriods = append(others, p)
	var lines []string
	for _, pr := range ValidateSnapshot(s) {
		lines = append(lines, pr.String())
	}
	if len(lines) != 33 || !strings.Contains(lines[0], "DutyPeriod/extra: spec.officeSelector: Forbidden: office \"c-county\" would be selected by 33") {
		t.Errorf("ValidateSnapshot:\n%s", strings.Join(lines, "\n"))
	}
}
