package registry_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/cases"
	"github.com/xinfang/petition-operator/internal/registry"
	"github.com/xinfang/petition-operator/internal/xinfang"
)

func day(t *testing.T, s string) time.Time {
	t.Helper()
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// stageFrom is the office's stage started on start, as network computes it.
func stageFrom(t *testing.T, n *registry.Net, office string, st xinfang.StageStart) xinfang.StageDeadline {
	t.Helper()
	cfg, err := n.Config(office)
	if err != nil {
		t.Fatal(err)
	}
	d, _, err := cfg.StageFrom(st)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestAppealFromIntakeToClose walks a land appeal through the staff state
// machine: forwarded by the township, accepted by the county's natural
// resources department, extended, replied, reviewed and closed. Each
// stage's deadline is computed on the day it starts (not the intake's
// projection); a stale version, another county's office and an action the
// state does not allow change nothing.
func TestAppealFromIntakeToClose(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ans, _, err := f.store.Take(ctx, registry.Submission{Intake: intake(t, landAppeal), Key: "walk", Scope: "public"})
	if err != nil {
		t.Fatal(err)
	}
	town := registry.Actor{Name: "clerk", Office: "shifosi-town"}
	dept := registry.Actor{Name: "officer", Office: "zhenping-natural-resources"}
	version := 1
	step := func(at string, actor registry.Actor, req cases.Request) registry.Moved {
		t.Helper()
		f.clock.set(at)
		m, err := f.store.Transition(ctx, actor, ans.CaseNo, version, req)
		if err != nil {
			t.Fatalf("%s by %s: %v", req.Action, actor.Office, err)
		}
		if m.Version != version+1 {
			t.Errorf("%s: version %d; want %d", req.Action, m.Version, version+1)
		}
		version = m.Version
		return m
	}

	m := step("2026-09-18T10:00:00+08:00", town, cases.Request{Action: cases.Forward, Office: "zhenping-natural-resources"})
	want := stageFrom(t, f.net, "zhenping-natural-resources", xinfang.StageStart{Stage: v1alpha1.StageAcceptance, Start: day(t, "2026-09-18")})
	if m.State != cases.Transferred || m.Office != "zhenping-natural-resources" || m.Due != want.Due || want.Due != "2026-10-08" {
		t.Errorf("forwarded: %s at %s due %s; want Transferred at zhenping-natural-resources due %s (09-18 + 15d in 国庆 → 10-08)", m.State, m.Office, m.Due, want.Due)
	}

	var stale *registry.StaleError
	if _, err := f.store.Transition(ctx, dept, ans.CaseNo, version-1, cases.Request{Action: cases.Accept}); !errors.As(err, &stale) {
		t.Errorf("a stale version: %v; want StaleError", err)
	}
	var forbidden *registry.ForbiddenError
	if _, err := f.store.Transition(ctx, registry.Actor{Name: "x", Office: "neixiang-county"}, ans.CaseNo, version, cases.Request{Action: cases.Accept}); !errors.As(err, &forbidden) {
		t.Errorf("another county: %v; want ForbiddenError", err)
	}
	var conflict *cases.ConflictError
	if _, err := f.store.Transition(ctx, dept, ans.CaseNo, version, cases.Request{Action: cases.Reply, Result: cases.ResultSupport}); !errors.As(err, &conflict) {
		t.Errorf("reply before acceptance: %v; want a ConflictError", err)
	}

	m = step("2026-09-21T10:00:00+08:00", dept, cases.Request{Action: cases.Accept})
	handling := stageFrom(t, f.net, "zhenping-natural-resources", xinfang.StageStart{Stage: v1alpha1.StageHandling, Start: day(t, "2026-09-21")})
	if m.State != cases.Accepted || m.Stage != v1alpha1.StageHandling || m.Due != handling.Due {
		t.Errorf("accepted: %s %s due %s; want Accepted Handling due %s", m.State, m.Stage, m.Due, handling.Due)
	}
	m = step("2026-11-10T10:00:00+08:00", dept, cases.Request{Action: cases.Extend, Days: 10, Note: "现场勘测"})
	extended := stageFrom(t, f.net, "zhenping-natural-resources", xinfang.StageStart{Stage: v1alpha1.StageHandling, Start: day(t, "2026-09-21"), ExtendDays: 10})
	if m.Due != extended.Due || extended.Due == handling.Due {
		t.Errorf("extended: due %s; want %s (was %s)", m.Due, extended.Due, handling.Due)
	}
	m = step("2026-11-25T10:00:00+08:00", dept, cases.Request{Action: cases.Reply, Result: cases.ResultSupport})
	if m.State != cases.Replied || m.Stage != "" || m.Due != "" {
		t.Errorf("replied: %s stage %q due %q", m.State, m.Stage, m.Due)
	}
	m = step("2026-12-01T10:00:00+08:00", dept, cases.Request{Action: cases.RequestReview})
	if m.State != cases.ReviewRequested || m.Stage != v1alpha1.StageReview {
		t.Errorf("review requested: %s %s", m.State, m.Stage)
	}
	reviewer := m.Office
	step("2026-12-20T10:00:00+08:00", registry.Actor{Name: "reviewer", Office: reviewer}, cases.Request{Action: cases.DecideReview, Result: cases.ResultUpheld})
	m = step("2027-01-25T10:00:00+08:00", registry.Actor{Name: "reviewer", Office: reviewer}, cases.Request{Action: cases.Close})
	// Transfer, Acceptance, Handling and Review; registered and seven
	// actions.
	if m.State != cases.Closed || len(m.Deadlines) != 4 || len(m.Timeline) != 8 {
		t.Errorf("closed: %s with %d deadlines and %d timeline steps; want Closed, 4 and 8", m.State, len(m.Deadlines), len(m.Timeline))
	}
	if _, err := f.store.Transition(ctx, registry.Actor{Name: "reviewer", Office: reviewer}, ans.CaseNo, version, cases.Request{Action: cases.Accept}); !errors.As(err, &conflict) {
		t.Errorf("an action on a closed case: %v; want a ConflictError", err)
	}

	// The petitioner rates the answer once: 基本满意 counts as satisfied.
	if err := f.store.Rate(ctx, ans.CaseNo, ans.QueryCode, cases.Rating{Satisfaction: cases.BasicallySatisfied}); err != nil {
		t.Fatal(err)
	}
	var rated *registry.RatingError
	if err := f.store.Rate(ctx, ans.CaseNo, ans.QueryCode, cases.Rating{Satisfaction: cases.Unsatisfied}); !errors.As(err, &rated) {
		t.Errorf("a second rating: %v; want a RatingError", err)
	}

	// The figures: the township's transfer and the department's
	// acceptance were decided in time, its reply on time.
	period := func(office string) registry.Stats {
		st, err := f.store.Stats(ctx, office, "self", []string{office}, day(t, "2026-01-01"), day(t, "2027-12-31"), day(t, "2027-01-25"))
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	if st := period("shifosi-town"); st.Received != 1 || st.AcceptanceDue != 1 || st.AcceptedTimely != 1 {
		t.Errorf("shifosi-town: %+v; want received 1, acceptance due 1 and timely 1", st)
	}
	if st := period("zhenping-natural-resources"); st.Accepted != 1 || st.Replied != 1 || st.ClosedOnTime != 1 || st.HandlingDue != 1 || st.HandlingDueOnTime != 1 || st.Closed != 1 || st.Open != 0 ||
		st.Rated != 1 || st.Satisfied != 1 {
		t.Errorf("zhenping-natural-resources: %+v", st)
	}
}

// TestSweepFiresEachAlarmOnce: three sweepers at once past every date
// fire each reminder and rung of the running stage exactly once, a fourth
// fires nothing, and a stage that ended before its dates fires none of its
// own.
func TestSweepFiresEachAlarmOnce(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	var caseNos []string
	for i := range 5 {
		ans, _, err := f.store.Take(ctx, registry.Submission{Intake: intake(t, landAppeal), Key: fmt.Sprint("s", i), Scope: "public"})
		if err != nil {
			t.Fatal(err)
		}
		caseNos = append(caseNos, ans.CaseNo)
	}
	// The first case is forwarded at once: its Transfer's alarms go, the
	// department's Acceptance alarms come.
	if _, err := f.store.Transition(ctx, registry.Actor{Name: "c", Office: "shifosi-town"}, caseNos[0], 1, cases.Request{Action: cases.Forward, Office: "zhenping-natural-resources"}); err != nil {
		t.Fatal(err)
	}
	var alarms int
	if err := f.pool.QueryRow(ctx, `SELECT count(*) FROM alarms`).Scan(&alarms); err != nil || alarms == 0 {
		t.Fatalf("%d alarms (%v)", alarms, err)
	}
	f.clock.set("2027-06-01T00:00:00+08:00")
	var wg sync.WaitGroup
	fired := make([]int, 3)
	for i := range fired {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := f.store.Sweep(ctx)
			if err != nil {
				t.Error(err)
			}
			fired[i] = n
		}()
	}
	wg.Wait()
	if total := fired[0] + fired[1] + fired[2]; total != alarms {
		t.Errorf("the sweepers fired %v = %d; want each of the %d alarms once", fired, total, alarms)
	}
	if n, err := f.store.Sweep(ctx); err != nil || n != 0 {
		t.Errorf("a fourth sweep fired %d (%v)", n, err)
	}
	var events, transferAlarms int
	if err := f.pool.QueryRow(ctx, `SELECT count(*) FROM events WHERE type IN ('petition.deadline.reminder', 'petition.deadline.overdue')`).Scan(&events); err != nil || events != alarms {
		t.Errorf("%d deadline events (%v); want %d", events, err, alarms)
	}
	if err := f.pool.QueryRow(ctx, `SELECT count(*) FROM events e WHERE case_no = $1 AND type LIKE 'petition.deadline.%' AND data->>'stage' = 'Transfer'`, caseNos[0]).Scan(&transferAlarms); err != nil || transferAlarms != 0 {
		t.Errorf("the ended Transfer of %s fired %d alarms (%v)", caseNos[0], transferAlarms, err)
	}
	var dupes int
	if err := f.pool.QueryRow(ctx, `SELECT count(*) FROM (SELECT case_no, data->>'kind', data->>'rung', data->>'stage' FROM events
		WHERE type LIKE 'petition.deadline.%' GROUP BY 1, 2, 3, 4 HAVING count(*) > 1) d`).Scan(&dupes); err != nil || dupes != 0 {
		t.Errorf("%d alarms fired twice (%v)", dupes, err)
	}
}

// TestFeedServesEveryEventOnce: intakes committing in any order, read in
// small pages while they come, give every event once, in a stable order.
func TestFeedServesEveryEventOnce(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	const intakes = 24
	var wg sync.WaitGroup
	for i := range intakes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, _, err := f.store.Take(ctx, registry.Submission{Intake: intake(t, landAppeal), Key: fmt.Sprint("f", i), Scope: "public"}); err != nil {
				t.Error(err)
			}
		}()
	}
	seen := map[string]bool{}
	var cur registry.Cursor
	read := func() {
		events, next, err := f.store.Events(ctx, cur, 5, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range events {
			if seen[e.ID] {
				t.Errorf("event %s served twice", e.ID)
			}
			seen[e.ID] = true
		}
		cur = next
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for running := true; running; {
		select {
		case <-done:
			running = false
		default:
			read()
		}
	}
	for range intakes {
		read()
	}
	if len(seen) != intakes {
		t.Errorf("the feed served %d events; want %d", len(seen), intakes)
	}
	again, _, err := f.store.Events(ctx, registry.Cursor{}, registry.MaxEventsPage, []string{"neixiang-county"})
	if err != nil || len(again) != 0 {
		t.Errorf("another county's feed has %d events (%v); want none", len(again), err)
	}
}

// TestStatsAddUpTheTree: a county's subtree is the sum of its offices', the
// City's the sum of all.
func TestStatsAddUpTheTree(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for i, office := range []string{"shifosi-town", "shifosi-town", "jiasong-town", "mashankou-town", "nanyang-city"} {
		in := intake(t, landAppeal)
		in.Office = office
		if _, _, err := f.store.Take(ctx, registry.Submission{Intake: in, Key: fmt.Sprint("t", i), Scope: "public"}); err != nil {
			t.Fatal(err)
		}
	}
	d := day(t, "2026-09-16")
	stats := func(office string, subtree bool) registry.Stats {
		offices, scope := []string{office}, "self"
		if subtree {
			offices, scope = f.net.Subtree(office), "subtree"
		}
		st, err := f.store.Stats(ctx, office, scope, offices, d, d, d)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	for _, tc := range []struct {
		office  string
		subtree bool
		want    int
	}{{"shifosi-town", false, 2}, {"zhenping-county", false, 0}, {"zhenping-county", true, 3}, {"neixiang-county", true, 1}, {"nanyang-city", false, 1}, {"nanyang-city", true, 5}} {
		if got := stats(tc.office, tc.subtree); got.Received != tc.want {
			t.Errorf("%s (subtree %v): received %d; want %d", tc.office, tc.subtree, got.Received, tc.want)
		}
	}
	if city := stats("nanyang-city", true); city.Open != 5 || city.Overdue != 0 {
		t.Errorf("the City's subtree: open %d, overdue %d; want 5, 0", city.Open, city.Overdue)
	}
	later := day(t, "2026-12-31")
	st, err := f.store.Stats(ctx, "nanyang-city", "subtree", f.net.Subtree("nanyang-city"), d, later, later)
	if err != nil || st.Overdue != 5 {
		t.Errorf("on 12-31 the City's subtree has %d overdue (%v); want all 5", st.Overdue, err)
	}
}
