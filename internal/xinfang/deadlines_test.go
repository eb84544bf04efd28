package xinfang

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/xinfang/petition-operator/api/v1alpha1"
)

// handlerNetwork is a City that names the two bodies above it, a County
// with a Township and two departments, a City department under its own
// policy, and a second City that names none. The township routes land
// cases to the county's natural resources department, labour cases to the
// City's human resources department, and water cases to a department whose
// policy is missing. Every office observes the 2026 calendar.
func handlerNetwork() *Snapshot {
	office := func(name string, level v1alpha1.Level, parent string, dept v1alpha1.DepartmentCode) v1alpha1.Office {
		return v1alpha1.Office{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: v1alpha1.OfficeSpec{Level: level, Parent: v1alpha1.OfficeName(parent), Department: dept, CalendarRef: "cn-2026"}}
	}
	city := office("t-city", v1alpha1.LevelCity, "", "")
	city.Spec.Escalation.Above = []v1alpha1.ExternalBody{{DisplayName: "江苏省人民政府信访局"}, {DisplayName: "国家信访局"}}
	town := office("t-town", v1alpha1.LevelTownship, "t-county", "")
	rule := func(name, category string, to v1alpha1.RouteTarget) v1alpha1.RoutingRule {
		return v1alpha1.RoutingRule{Name: name, Match: v1alpha1.RouteMatch{Categories: []string{category}}, RouteTo: to}
	}
	town.Spec.Routing.Rules = []v1alpha1.RoutingRule{
		rule("land", "land-acquisition", v1alpha1.RouteTarget{Department: "NaturalResources"}),
		rule("labour", "wage-arrears", v1alpha1.RouteTarget{Office: "t-hr"}),
		rule("water", "water-supply", v1alpha1.RouteTarget{Office: "t-water"}),
	}
	hr := office("t-hr", v1alpha1.LevelDepartment, "t-city", "HumanResources")
	hr.Spec.Escalation.PolicyRef = "grand"
	water := office("t-water", v1alpha1.LevelDepartment, "t-county", "WaterResources")
	water.Spec.Escalation.PolicyRef = "gone"
	// grand: the Review goes two levels up; the ReReview names no handler.
	grand := StatutoryPolicy()
	grand.Name = "grand"
	grand.Spec.Stages[2].Handler = v1alpha1.HandlerGrandparent
	grand.Spec.Stages[3].Handler = ""
	return &Snapshot{
		Offices: []v1alpha1.Office{city, office("t-county", v1alpha1.LevelCounty, "t-city", ""), town,
			office("t-nr", v1alpha1.LevelDepartment, "t-county", "NaturalResources"), hr, water,
			office("u-city", v1alpha1.LevelCity, "", "")},
		EscalationPolicies: []v1alpha1.EscalationPolicy{*grand},
		HolidayCalendars: []v1alpha1.HolidayCalendar{{ObjectMeta: metav1.ObjectMeta{Name: "cn-2026"}, Spec: v1alpha1.HolidayCalendarSpec{
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
		}}},
	}
}

// brief writes a stage as name@office or name@[external], then its dates.
func brief(s StageDeadline) string {
	out := string(s.Name) + "@" + s.Office + bracket(s.External)
	if s.RequestBy != "" {
		out += " requestBy=" + s.RequestBy
	}
	out += " due=" + s.Due
	if s.DueWithExtension != "" {
		out += " ext=" + s.DueWithExtension
	}
	return out
}

func petition(category string, t v1alpha1.PetitionType) *Petition {
	return &Petition{Category: category, Type: t}
}

// TestDeadlinesFollowTheHandler: each rule of the second pass, with dates
// counted by hand on the 2026 calendar (holidays and make-up working days
// as the State Council published them).
func TestDeadlinesFollowTheHandler(t *testing.T) {
	src := handlerNetwork().Network()
	day := func(s string) *time.Time { d := date(t, s); return &d }
	for _, tt := range []struct {
		name, office, received string
		petition               *Petition
		replied                *time.Time
		handler                string
		stages                 []string
		warnings               []string
	}{{
		// The township registers and transfers (Transfer); the land case
		// goes to the county's natural resources department, which
		// accepts, reviewed by the county, re-reviewed by the City.
		// 02-27 + 15d = 03-14 (Saturday) → 03-16; Acceptance + 15d = 03-31
		// (Tuesday); Handling + 60d = 05-30 (Saturday) → 06-01, + 90d =
		// 06-29 (Monday). Review: request by 06-01 + 30d = 07-01, due +
		// 30d = 07-31 (Friday). ReReview: request by 07-31 + 30d = 08-30
		// (Sunday) → 08-31, due + 30d = 09-30.
		name: "handler's chain, request window across a weekend", office: "t-town", received: "2026-02-27",
		petition: petition("land-acquisition", v1alpha1.PetitionAppeal), handler: "t-nr",
		stages: []string{"Transfer@t-town due=2026-03-16", "Acceptance@t-nr due=2026-03-31", "Handling@t-nr due=2026-06-01 ext=2026-06-29",
			"Review@t-county requestBy=2026-07-01 due=2026-07-31", "ReReview@t-city requestBy=2026-08-31 due=2026-09-30"},
	}, {
		// The City's human resources department, under "grand": Review two
		// levels up (past the City: the province), ReReview above that.
		name: "Grandparent, past the City to the bodies it names", office: "t-town", received: "2026-02-27",
		petition: petition("wage-arrears", v1alpha1.PetitionAppeal), handler: "t-hr",
		stages: []string{"Transfer@t-town due=2026-03-16", "Acceptance@t-hr due=2026-03-31", "Handling@t-hr due=2026-06-01 ext=2026-06-29",
			"Review@[江苏省人民政府信访局] requestBy=2026-07-01 due=2026-07-31", "ReReview@[国家信访局] requestBy=2026-08-31 due=2026-09-30"},
	}, {
		name: "the City never reviews itself", office: "t-city", received: "2026-02-27", handler: "t-city",
		stages: []string{"Acceptance@t-city due=2026-03-16", "Handling@t-city due=2026-05-15 ext=2026-06-15",
			"Review@[江苏省人民政府信访局] requestBy=2026-06-15 due=2026-07-15", "ReReview@[国家信访局] requestBy=2026-08-14 due=2026-09-14"},
	}, {
		// The same dates as t-city's: the same limits and calendar.
		name: "a City that names nothing above it", office: "u-city", received: "2026-02-27", handler: "u-city",
		stages: []string{"Acceptance@u-city due=2026-03-16", "Handling@u-city due=2026-05-15 ext=2026-06-15",
			"Review@[above u-city] requestBy=2026-06-15 due=2026-07-15", "ReReview@[2 levels above u-city] requestBy=2026-08-14 due=2026-09-14"},
	}, {
		name: "a Report has no Review", office: "t-town", received: "2026-02-27",
		petition: petition("land-acquisition", v1alpha1.PetitionReport), handler: "t-nr",
		stages: []string{"Transfer@t-town due=2026-03-16", "Acceptance@t-nr due=2026-03-31", "Handling@t-nr due=2026-06-01 ext=2026-06-29"},
	}, {
		name: "an Inquiry has no Review", office: "t-town", received: "2026-02-27",
		petition: petition("wage-arrears", v1alpha1.PetitionInquiry), handler: "t-hr",
		stages: []string{"Transfer@t-town due=2026-03-16", "Acceptance@t-hr due=2026-03-31", "Handling@t-hr due=2026-06-01 ext=2026-06-29"},
	}, {
		// Transfer across 春节 (02-15..02-23): 02-02 + 15d = 02-17, a
		// holiday → 02-24; the department has the matter by then and
		// accepts within 15 days: 03-11. Handling + 60d = 05-10 (Sunday) →
		// 05-11, + 90d = 06-09; Review: request by 06-10, due 07-10;
		// ReReview: request by 08-09 (Sunday) → 08-10, due 09-09.
		name: "Transfer across the Spring Festival", office: "t-town", received: "2026-02-02",
		petition: petition("land-acquisition", v1alpha1.PetitionAppeal), handler: "t-nr",
		stages: []string{"Transfer@t-town due=2026-02-24", "Acceptance@t-nr due=2026-03-11", "Handling@t-nr due=2026-05-11 ext=2026-06-09",
			"Review@t-county requestBy=2026-06-10 due=2026-07-10", "ReReview@t-city requestBy=2026-08-10 due=2026-09-09"},
	}, {
		// Transfer across 国庆 (10-01..10-07): 09-16 + 15d = 10-01 → 10-08;
		// Acceptance + 15d = 10-23; Handling + 60d = 12-22, + 90d =
		// 2027-01-21, past the calendar. One step of 15 days gave Handling
		// due 12-07: 15 days early.
		name: "Transfer across National Day", office: "t-town", received: "2026-09-16",
		petition: petition("land-acquisition", v1alpha1.PetitionReport), handler: "t-nr",
		stages:   []string{"Transfer@t-town due=2026-10-08", "Acceptance@t-nr due=2026-10-23", "Handling@t-nr due=2026-12-22 ext=2027-01-21"},
		warnings: []string{"Handling.dueWithExtension 2027-01-21"},
	}, {
		name: "an unrouted Appeal stays, with every stage", office: "t-town", received: "2026-02-27",
		petition: petition("pensions", v1alpha1.PetitionAppeal), handler: "t-town",
		stages: []string{"Acceptance@t-town due=2026-03-16", "Handling@t-town due=2026-05-15 ext=2026-06-15",
			"Review@t-county requestBy=2026-06-15 due=2026-07-15", "ReReview@t-city requestBy=2026-08-14 due=2026-09-14"},
	}, {
		// 08-03 + 15d = 08-18; + 60d = 10-17 (Saturday) → 10-19, + 90d =
		// 11-16. The reply came on 09-01: request by + 30d = 10-01, 国庆
		// → 10-08; due + 30d = 11-07 (Saturday) → 11-09. ReReview from
		// there: request by 12-09, due 2027-01-08, past the calendar.
		name: "replied, request window across National Day", office: "t-county", received: "2026-08-03", replied: day("2026-09-01"),
		handler: "t-county",
		stages: []string{"Acceptance@t-county due=2026-08-18", "Handling@t-county due=2026-10-19 ext=2026-11-16",
			"Review@t-city requestBy=2026-10-08 due=2026-11-09", "ReReview@[江苏省人民政府信访局] requestBy=2026-12-09 due=2027-01-08"},
		warnings: []string{"ReReview.due 2027-01-08", "ReReview.reminders[0] 2027-01-01"},
	}, {
		// Replied 09-10: + 30d = 10-10, a Saturday made a working day: the
		// request is due that day.
		name: "replied, request window ending on a make-up working day", office: "t-county", received: "2026-08-03", replied: day("2026-09-10"),
		handler: "t-county",
		stages: []string{"Acceptance@t-county due=2026-08-18", "Handling@t-county due=2026-10-19 ext=2026-11-16",
			"Review@t-city requestBy=2026-10-10 due=2026-11-09", "ReReview@[江苏省人民政府信访局] requestBy=2026-12-09 due=2027-01-08"},
		warnings: []string{"ReReview.due 2027-01-08", "ReReview.reminders[0] 2027-01-01"},
	}, {
		// 09-16 + 15d = 10-01 → 10-08; + 60d = 12-07, + 90d = 2027-01-06.
		// Review: request by 2027-01-06, due 02-05; ReReview: request by
		// 03-07 (Sunday) → 03-08, due 04-07. Every 2027 date is warned
		// about.
		name: "dates beyond the calendar's coverage", office: "t-town", received: "2026-09-16", handler: "t-town",
		stages: []string{"Acceptance@t-town due=2026-10-08", "Handling@t-town due=2026-12-07 ext=2027-01-06",
			"Review@t-county requestBy=2027-01-06 due=2027-02-05", "ReReview@t-city requestBy=2027-03-08 due=2027-04-07"},
		warnings: []string{"Handling.dueWithExtension 2027-01-06", "Review.requestBy 2027-01-06", "Review.due 2027-02-05",
			"Review.reminders[0] 2027-01-29", "ReReview.requestBy 2027-03-08", "ReReview.due 2027-04-07", "ReReview.reminders[0] 2027-04-02"},
	}, {
		// t-water names a policy that does not exist: the statutory
		// limits, and a warning.
		name: "a handler whose policy is missing", office: "t-town", received: "2026-02-27",
		petition: petition("water-supply", v1alpha1.PetitionAppeal), handler: "t-water",
		stages: []string{"Transfer@t-town due=2026-03-16", "Acceptance@t-water due=2026-03-31", "Handling@t-water due=2026-06-01 ext=2026-06-29",
			"Review@t-county requestBy=2026-07-01 due=2026-07-31", "ReReview@t-city requestBy=2026-08-31 due=2026-09-30"},
		warnings: []string{`office t-water names EscalationPolicy "gone", which does not exist: the statutory policy statutory-2022 applies to its petitions`},
	}} {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := src.OfficeConfig(tt.office)
			if err != nil {
				t.Fatal(err)
			}
			q := DeadlineQuery{Received: date(t, tt.received), Petition: tt.petition, Replied: tt.replied}
			ans, err := cfg.Deadlines(q)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, s := range ans.Stages {
				got = append(got, brief(s))
			}
			if ans.Handler != tt.handler || !reflect.DeepEqual(got, tt.stages) {
				t.Errorf("handler %s, stages\n  %s\nwant %s\n  %s", ans.Handler, strings.Join(got, "\n  "), tt.handler, strings.Join(tt.stages, "\n  "))
			}
			if len(ans.Warnings) != len(tt.warnings) {
				t.Fatalf("warnings %q, want %d starting %q", ans.Warnings, len(tt.warnings), tt.warnings)
			}
			for i, w := range tt.warnings {
				if !strings.HasPrefix(ans.Warnings[i], w) {
					t.Errorf("warning %d = %q, want it to start %q", i, ans.Warnings[i], w)
				}
			}
			// The answers a desk prepares once say the same.
			answers, err := cfg.Prepare()
			if err != nil {
				t.Fatal(err)
			}
			if again, err := answers.Deadlines(q); err != nil || !reflect.DeepEqual(again, ans) {
				t.Errorf("Answers.Deadlines = %+v, %v; want %+v", again, err, ans)
			}
		})
	}
}

func TestCoverageWarningSaysWhy(t *testing.T) {
	cfg, err := handlerNetwork().Network().OfficeConfig("t-town")
	if err != nil {
		t.Fatal(err)
	}
	ans, err := cfg.Deadlines(DeadlineQuery{Received: date(t, "2026-09-16")})
	if err != nil {
		t.Fatal(err)
	}
	want := "Review.due 2027-02-05: HolidayCalendar cn-2026 does not cover 2027; counted as if it had no holidays"
	if ans.Warnings[2] != want {
		t.Errorf("warning = %q, want %q", ans.Warnings[2], want)
	}
	// An office that names no calendar counts weekends alone, by choice:
	// nothing to warn about.
	cfg.Calendar, cfg.CalendarRef = nil, ""
	if ans, err := cfg.Deadlines(DeadlineQuery{Received: date(t, "2026-09-16")}); err != nil || len(ans.Warnings) != 0 {
		t.Errorf("without a calendar: warnings %q, %v", ans.Warnings, err)
	}
}

func TestCovers(t *testing.T) {
	c := cn2026(t)
	for day, want := range map[string]bool{"2025-12-31": false, "2026-01-01": true, "2026-12-31": true, "2027-01-01": false} {
		if got := c.Covers(date(t, day)); got != want {
			t.Errorf("Covers(%s) = %v, want %v", day, got, want)
		}
	}
	// A holiday across the new year covers both years; an adjusted working
	// day alone covers nothing.
	c, err := NewCalendar(&v1alpha1.HolidayCalendarSpec{
		Holidays: []v1alpha1.Holiday{{Name: "元旦", From: "2027-12-31", To: "2028-01-02"}},
		Workdays: []v1alpha1.Date{"2030-10-12"},
	})
	if err != nil {
		t.Fatal(err)
	}
	for day, want := range map[string]bool{"2027-06-01": true, "2028-06-01": true, "2029-06-01": false, "2030-06-01": false} {
		if got := c.Covers(date(t, day)); got != want {
			t.Errorf("Covers(%s) = %v, want %v", day, got, want)
		}
	}
	var none *Calendar
	if !none.Covers(date(t, "2099-01-01")) {
		t.Error("a nil calendar must cover every date")
	}
}

func TestDeadlineQueryErrors(t *testing.T) {
	cfg, err := handlerNetwork().Network().OfficeConfig("t-town")
	if err != nil {
		t.Fatal(err)
	}
	received := date(t, "2026-08-03")
	before := date(t, "2026-08-02")
	for _, tt := range []struct {
		q    DeadlineQuery
		want string
	}{
		{DeadlineQuery{Received: received, Replied: &before}, "replied: 2026-08-02 is before received 2026-08-03"},
		{DeadlineQuery{Received: received, Petition: &Petition{Type: v1alpha1.PetitionAppeal}}, "category: required (a lowercase DNS label such as land-acquisition)"},
		{DeadlineQuery{Received: received, Petition: &Petition{Category: "x", Type: "Complaint"}}, `type: "Complaint" is not one of Report, Appeal, Inquiry`},
	} {
		if _, err := cfg.Deadlines(tt.q); err == nil || err.Error() != tt.want {
			t.Errorf("%+v: got %v, want %q", tt.q, err, tt.want)
		}
	}
}

// TestHandlersCompiled: the configuration holds the chain of each office
// the routing table routes to, every stage, under that office's
// policy; an office that routes nowhere else holds none.
func TestHandlersCompiled(t *testing.T) {
	src := handlerNetwork().Network()
	town, err := src.OfficeConfig("t-town")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for name, h := range town.Handlers {
		var stages []string
		for _, s := range h.Steps {
			stages = append(stages, string(s.Stage)+"@"+s.Office+bracket(s.External))
		}
		got[name] = fmt.Sprintf("%s: %s", h.Policy, strings.Join(stages, " "))
	}
	want := map[string]string{
		"t-nr":    "statutory-2022: Acceptance@t-nr Handling@t-nr Review@t-county ReReview@t-city",
		"t-hr":    "grand: Acceptance@t-hr Handling@t-hr Review@[江苏省人民政府信访局] ReReview@[国家信访局]",
		"t-water": "statutory-2022: Acceptance@t-water Handling@t-water Review@t-county ReReview@t-city",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("handlers = %v, want %v", got, want)
	}
	if town.Handlers["t-water"].Warning == "" || town.Handlers["t-nr"].Warning != "" {
		t.Errorf("warnings: t-water %q, t-nr %q", town.Handlers["t-water"].Warning, town.Handlers["t-nr"].Warning)
	}
	county, err := src.OfficeConfig("t-county")
	if err != nil {
		t.Fatal(err)
	}
	data, _, err := county.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if county.Handlers != nil || strings.Contains(string(data), `"handlers"`) {
		t.Errorf("an office that routes nowhere else holds handlers: %s", data)
	}
	// The county's own chain: its ReReview is above the City.
	if s := county.Escalation.Steps[3]; s.Office != "" || s.External != "江苏省人民政府信访局" {
		t.Errorf("county ReReview = %+v", s)
	}
}

// TestChainLevels: Parent and Grandparent from the handler, and a Review or
// ReReview always above the stage before it.
func TestChainLevels(t *testing.T) {
	_, _, town := network3()
	path := []string{"nanyang-city", "zhenping-county", "shifosi-town"}
	above := []v1alpha1.ExternalBody{{DisplayName: "河南省信访局"}}
	for _, tt := range []struct {
		handling, review, rereview v1alpha1.Handler
		want                       string
	}{
		{"", v1alpha1.HandlerParent, v1alpha1.HandlerGrandparent, "shifosi-town zhenping-county nanyang-city"},
		{"", "", "", "shifosi-town zhenping-county nanyang-city"},
		{"", v1alpha1.HandlerSelf, v1alpha1.HandlerSelf, "shifosi-town zhenping-county nanyang-city"},
		{"", v1alpha1.HandlerGrandparent, v1alpha1.HandlerGrandparent, "shifosi-town nanyang-city [河南省信访局]"},
		{"", v1alpha1.HandlerGrandparent, v1alpha1.HandlerParent, "shifosi-town nanyang-city [河南省信访局]"},
		{v1alpha1.HandlerParent, v1alpha1.HandlerParent, v1alpha1.HandlerParent, "zhenping-county nanyang-city [河南省信访局]"},
		{v1alpha1.HandlerGrandparent, "", "", "nanyang-city [河南省信访局] [2 levels above nanyang-city]"},
		// The supervisor (the parent by default) reviews; the ReReview is
		// above it.
		{"", v1alpha1.HandlerSupervisor, "", "shifosi-town zhenping-county nanyang-city"},
	} {
		p := StatutoryPolicy()
		p.Spec.Stages[1].Handler, p.Spec.Stages[2].Handler, p.Spec.Stages[3].Handler = tt.handling, tt.review, tt.rereview
		esc, err := ResolveChain(town, path, above, p)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, s := range esc.Steps[1:] {
			got = append(got, s.Office+bracket(s.External))
		}
		if strings.Join(got, " ") != tt.want {
			t.Errorf("%s/%s/%s: %s, want %s", tt.handling, tt.review, tt.rereview, strings.Join(got, " "), tt.want)
		}
	}
}
