package xinfang

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/xinfang/petition-operator/api/v1alpha1"
)

// ladderNetwork is handlerNetwork with the county's natural resources
// department under "ladder": the statutory limits and a three-rung overdue
// ladder — a reminder by the department itself a day after the due date,
// supervision by its supervisor five working days after, a flag by the
// City fifteen days after.
func ladderNetwork() *Snapshot {
	n := handlerNetwork()
	ladder := StatutoryPolicy()
	ladder.Name = "ladder"
	ladder.Spec.Overdue = []v1alpha1.OverdueRung{
		{After: "1d", Action: v1alpha1.OverdueRemind, By: v1alpha1.OverdueBySelf},
		{After: "5wd", Action: v1alpha1.OverdueSupervise, By: v1alpha1.OverdueBySupervisor},
		{After: "15d", Action: v1alpha1.OverdueFlag, By: v1alpha1.OverdueByRoot},
	}
	n.EscalationPolicies = append(n.EscalationPolicies, *ladder)
	for i := range n.Offices {
		if n.Offices[i].Name == "t-nr" {
			n.Offices[i].Spec.Escalation.PolicyRef = "ladder"
		}
	}
	return n
}

// rungs writes a stage's ladder as action:office@at[/atWithExtension].
func rungs(s StageDeadline) string {
	var out []string
	for _, o := range s.Overdue {
		r := fmt.Sprintf("%s:%s%s@%s", o.Action, o.Office, bracket(o.External), o.At)
		if o.AtWithExtension != "" {
			r += "/" + o.AtWithExtension
		}
		out = append(out, r)
	}
	return strings.Join(out, " ")
}

// TestOverdueLadder: each rung counted by hand from the stage's due date on
// the 2026 calendar, across 国庆 (10-01..10-07, 10-10 a make-up Saturday).
func TestOverdueLadder(t *testing.T) {
	src := ladderNetwork().Network()
	nr, err := src.OfficeConfig("t-nr")
	if err != nil {
		t.Fatal(err)
	}
	ans, err := nr.Deadlines(DeadlineQuery{Received: date(t, "2026-09-15")})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		// Acceptance 09-15 + 15d = 09-30. Remind + 1d = 10-01, 国庆 →
		// 10-08; Supervise + 5 working days: 10-08, 10-09, 10-10 (make-up
		// Saturday), 10-12, 10-13; Flag + 15d = 10-15.
		"Remind:t-nr@2026-10-08 Supervise:t-county@2026-10-13 Flag:t-city@2026-10-15",
		// Handling 09-30 + 60d = 11-29 (Sunday) → 11-30, + 90d = 12-29.
		// Remind 12-01 / 12-30; Supervise 12-01..12-07 (five working
		// days) / 12-30, 12-31 and three in 2027 (uncovered: weekdays
		// count) → 2027-01-05; Flag 12-15 / 2027-01-13.
		"Remind:t-nr@2026-12-01/2026-12-30 Supervise:t-county@2026-12-07/2027-01-05 Flag:t-city@2026-12-15/2027-01-13",
	}
	for i, w := range want {
		if got := rungs(ans.Stages[i]); got != w {
			t.Errorf("%s rungs = %s, want %s", ans.Stages[i].Name, got, w)
		}
	}
	// Higher stages: Self is the stage's body, Supervisor and Parent the
	// body above it — past the City, the body it names.
	for i, w := range map[int]string{2: "Remind:t-county Supervise:t-city Flag:t-city", 3: "Remind:t-city Supervise:[江苏省人民政府信访局] Flag:t-city"} {
		var got []string
		for _, o := range ans.Stages[i].Overdue {
			got = append(got, fmt.Sprintf("%s:%s%s", o.Action, o.Office, bracket(o.External)))
		}
		if strings.Join(got, " ") != w {
			t.Errorf("%s rungs = %s, want %s", ans.Stages[i].Name, strings.Join(got, " "), w)
		}
	}
	for _, w := range []string{"Handling.overdue[1].atWithExtension 2027-01-05", "Handling.overdue[2].atWithExtension 2027-01-13"} {
		if !hasPrefix(ans.Warnings, w) {
			t.Errorf("warnings %q lack %q", ans.Warnings, w)
		}
	}

	// A petition transferred to the department: the Transfer runs under
	// the township's policy (no ladder), the department's Acceptance under
	// its own.
	town, err := src.OfficeConfig("t-town")
	if err != nil {
		t.Fatal(err)
	}
	ans, err = town.Deadlines(DeadlineQuery{Received: date(t, "2026-09-16"), Petition: petition("land-acquisition", v1alpha1.PetitionReport)})
	if err != nil {
		t.Fatal(err)
	}
	// Transfer due 10-08, Acceptance 10-23 (Friday): Remind 10-24 (a
	// Saturday) → 10-26; Supervise 10-26..10-30; Flag 11-07 (Saturday) →
	// 11-09.
	if got := rungs(ans.Stages[0]) + " | " + rungs(ans.Stages[1]); got != " | Remind:t-nr@2026-10-26 Supervise:t-county@2026-10-30 Flag:t-city@2026-11-09" {
		t.Errorf("Transfer | Acceptance rungs = %s", got)
	}
}

func hasPrefix(list []string, prefix string) bool {
	for _, s := range list {
		if strings.HasPrefix(s, prefix) {
			return true
		}
	}
	return false
}

func TestValidateOverdue(t *testing.T) {
	rung := func(after v1alpha1.Duration, a v1alpha1.OverdueAction, by v1alpha1.OverdueBy) v1alpha1.OverdueRung {
		return v1alpha1.OverdueRung{After: after, Action: a, By: by}
	}
	for name, tt := range map[string]struct {
		rungs []v1alpha1.OverdueRung
		want  string
	}{
		"a ladder":        {[]v1alpha1.OverdueRung{rung("1d", "Remind", ""), rung("3wd", "Remind", "Self"), rung("5wd", "Supervise", "Supervisor"), rung("30d", "Flag", "Root")}, ""},
		"no after":        {[]v1alpha1.OverdueRung{rung("", "Remind", "")}, "spec.overdue[0].after: required"},
		"bad after":       {[]v1alpha1.OverdueRung{rung("0d", "Remind", "")}, `spec.overdue[0].after: "0d" is not a limit`},
		"unknown action":  {[]v1alpha1.OverdueRung{rung("1d", "Escalate", "")}, `spec.overdue[0].action: "Escalate" is not one of Remind, Supervise, Flag`},
		"unknown by":      {[]v1alpha1.OverdueRung{rung("1d", "Remind", "Province")}, `spec.overdue[0].by: "Province" is not one of Self, Supervisor, Parent, Root`},
		"steps back down": {[]v1alpha1.OverdueRung{rung("1d", "Supervise", ""), rung("5d", "Remind", "")}, "spec.overdue[1].action: Remind comes after a rung that already supervises"},
		"not later":       {[]v1alpha1.OverdueRung{rung("5d", "Remind", ""), rung("3d", "Supervise", "")}, "spec.overdue[1].after: 3d is not later than the rung above it"},
		"too many":        {[]v1alpha1.OverdueRung{rung("1d", "Remind", ""), rung("2d", "Remind", ""), rung("3d", "Remind", ""), rung("4d", "Remind", ""), rung("5d", "Remind", ""), rung("6d", "Remind", ""), rung("7d", "Remind", "")}, "spec.overdue: 7 rungs, at most 6"},
	} {
		spec := StatutoryPolicy().Spec
		spec.Overdue = tt.rungs
		err := ValidatePolicy(&spec)
		if tt.want == "" {
			if err != nil {
				t.Errorf("%s: %v", name, err)
			}
			continue
		}
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("%s: got %v, want %q", name, err, tt.want)
		}
	}
}

// TestSkipLevelDeadlines: a visit to the City about a matter of a township
// (its locality, which routes it nowhere else) is a skip-level visit: the
// answer says so and is the chain as it runs at the township, nothing at
// the City. A letter about the same matter is transferred.
func TestSkipLevelDeadlines(t *testing.T) {
	src := handlerNetwork().Network()
	cfgs := configs(t, src, "t-city", "t-town")
	city, town := cfgs[0], cfgs[1]
	for _, tt := range []struct {
		channel    v1alpha1.Channel
		skip       bool
		redirectTo string
		stages     []string
	}{{
		// 03-02 + 15d = 03-17; + 60d = 05-16 (Saturday) → 05-18.
		channel: v1alpha1.ChannelVisit, skip: true, redirectTo: "t-town",
		stages: []string{"Acceptance@t-town due=2026-03-17", "Handling@t-town due=2026-05-18 ext=2026-06-15"},
	}, {
		// Transfer 03-17; Acceptance + 15d = 04-01; Handling + 60d =
		// 05-31 (Sunday) → 06-01, + 90d = 06-30.
		channel: v1alpha1.ChannelLetter,
		stages:  []string{"Transfer@t-city due=2026-03-17", "Acceptance@t-town due=2026-04-01", "Handling@t-town due=2026-06-01 ext=2026-06-30"},
	}} {
		p := &Petition{Category: "pensions", Type: v1alpha1.PetitionReport, Channel: tt.channel}
		h, err := town.Handling(*p)
		if err != nil {
			t.Fatal(err)
		}
		ans, err := city.Deadlines(DeadlineQuery{Received: date(t, "2026-03-02"), Petition: p, Locality: &h})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, s := range ans.Stages {
			got = append(got, brief(s))
		}
		if ans.SkipLevel != tt.skip || ans.RedirectTo != tt.redirectTo || ans.Handler != "t-town" || !reflect.DeepEqual(got, tt.stages) {
			t.Errorf("%s: skipLevel %v redirectTo %q handler %s stages %q; want %v %q t-town %q", tt.channel, ans.SkipLevel, ans.RedirectTo, ans.Handler, got, tt.skip, tt.redirectTo, tt.stages)
		}
		// route says the same of the same question.
		route, err := city.RouteWith(*p, &h)
		if err != nil || route.SkipLevel != ans.SkipLevel || route.RedirectTo != ans.RedirectTo {
			t.Errorf("%s: route %+v, %v; deadlines skipLevel %v redirectTo %q", tt.channel, route, err, ans.SkipLevel, ans.RedirectTo)
		}
	}
}

// configs compiles the configurations of the named offices of src, in
// order, failing the test on the first that does not compile.
func configs(t *testing.T, src *Network, names ...string) []*OfficeConfig {
	t.Helper()
	out := make([]*OfficeConfig, len(names))
	for i, name := range names {
		cfg, err := src.OfficeConfig(name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out[i] = cfg
	}
	return out
}

// TestStageFromAgreesWithTheProjection: a stage that starts on the day the
// projection counts it from has the projection's dates, rungs and
// reminders; one that starts later moves with its start; a partial
// extension counts only the days granted.
func TestStageFromAgreesWithTheProjection(t *testing.T) {
	src := ladderNetwork().Network()
	nr := configs(t, src, "t-nr")[0]
	ans, err := nr.Deadlines(DeadlineQuery{Received: date(t, "2026-09-15")})
	if err != nil {
		t.Fatal(err)
	}
	from := "2026-09-15"
	for _, want := range ans.Stages {
		if want.RequestBy != "" {
			from = want.RequestBy
		}
		got, warnings, err := nr.StageFrom(StageStart{Stage: want.Name, Start: date(t, from)})
		if err != nil {
			t.Fatalf("%s: %v", want.Name, err)
		}
		want.RequestBy = ""
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s from %s:\n got %+v\nwant %+v", want.Name, from, got, want)
		}
		for _, w := range warnings {
			if !slices.Contains(ans.Warnings, w) {
				t.Errorf("%s: warning %q is not the projection's (%q)", want.Name, w, ans.Warnings)
			}
		}
		from = want.Due
	}

	// Accepted on 10-12 (not 09-30): Handling 10-12 + 60d = 12-11; ten
	// days of the 30-day extension: 12-21.
	h, _, err := nr.StageFrom(StageStart{Stage: v1alpha1.StageHandling, Start: date(t, "2026-10-12")})
	if err != nil {
		t.Fatal(err)
	}
	ext, _, err := nr.StageFrom(StageStart{Stage: v1alpha1.StageHandling, Start: date(t, "2026-10-12"), ExtendDays: 10})
	if err != nil {
		t.Fatal(err)
	}
	if h.Due != "2026-12-11" || ext.Due != "2026-12-21" || ext.DueWithExtension != h.DueWithExtension {
		t.Errorf("handling from 10-12: due %s, extended by 10 days %s (with extension %s / %s); want 2026-12-11, 2026-12-21", h.Due, ext.Due, h.DueWithExtension, ext.DueWithExtension)
	}
	if _, _, err := nr.StageFrom(StageStart{Stage: v1alpha1.StageHandling, Start: date(t, "2026-10-12"), ExtendDays: 31}); err == nil {
		t.Error("an extension of 31 days beyond the chain's 30d was computed")
	}
	// A Transfer runs under the office's own Acceptance limit, at the office.
	tr, _, err := nr.StageFrom(StageStart{Stage: v1alpha1.StageTransfer, Start: date(t, "2026-09-15")})
	if err != nil {
		t.Fatal(err)
	}
	if tr.Name != v1alpha1.StageTransfer || tr.Office != "t-nr" || tr.Due != ans.Stages[0].Due {
		t.Errorf("transfer = %+v; want stage Transfer at t-nr due %s", tr, ans.Stages[0].Due)
	}
	own, county := nr.Revisions(), configs(t, src, "t-county")[0].Revisions()
	if own.Chain == "" || own.Chain == county.Chain || own.Calendar != county.Calendar {
		t.Errorf("revisions of t-nr (ladder) and t-county (statutory): %+v and %+v; want two chains and one calendar", own, county)
	}
}
