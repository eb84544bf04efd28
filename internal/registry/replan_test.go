package registry_test

import (
	"context"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/xinfang/petition-operator/internal/cases"
	"github.com/xinfang/petition-operator/internal/objfiles"
	"github.com/xinfang/petition-operator/internal/registry"
)

// switchable is a Network a test changes.
type switchable struct{ cur atomic.Pointer[registry.Net] }

func (s *switchable) Current() *registry.Net { return s.cur.Load() }

// corrected is the sample network with 国庆 extended to 10-09 in its
// calendar and, when ladder, the county's supervision ladder changed too.
func corrected(t *testing.T, ladder bool) *registry.Net {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	set, err := objfiles.Load(filepath.Join(filepath.Dir(file), "..", "..", "config", "samples"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range set.HolidayCalendars {
		for j, h := range set.HolidayCalendars[i].Spec.Holidays {
			if h.From == "2026-10-01" {
				set.HolidayCalendars[i].Spec.Holidays[j].To = "2026-10-09"
			}
		}
	}
	if ladder {
		for i := range set.EscalationPolicies {
			if set.EscalationPolicies[i].Name == "zhenping-supervision" {
				set.EscalationPolicies[i].Spec.Overdue[2].After = "20d"
			}
		}
	}
	return registry.NewNet(set)
}

// TestCalendarCorrectionReplans: when the calendar is corrected (国庆
// extended to 10-09), a running Transfer due 10-08 moves to 10-10 (the
// make-up Saturday) with its alarms and an event; a stage whose chain was
// changed as well keeps its dates (a policy never moves a stored deadline);
// a second pass moves nothing.
func TestCalendarCorrectionReplans(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	nets := &switchable{}
	nets.cur.Store(f.net)
	store := registry.New(f.pool, nets, f.keys, registry.Options{Now: f.clock.now})
	town, _, err := store.Take(ctx, registry.Submission{Intake: intake(t, landAppeal), Key: "town", Scope: "public"})
	if err != nil {
		t.Fatal(err)
	}
	dept, _, err := store.Take(ctx, registry.Submission{Intake: intake(t, landAppeal), Key: "dept", Scope: "public"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Transition(ctx, registry.Actor{Name: "c", Office: "shifosi-town"}, dept.CaseNo, 1, cases.Request{Action: cases.Forward, Office: "zhenping-natural-resources"}); err != nil {
		t.Fatal(err)
	}
	due := func(caseNo string) string {
		t.Helper()
		var d string
		if err := f.pool.QueryRow(ctx, `SELECT due::text FROM cases WHERE case_no = $1`, caseNo).Scan(&d); err != nil {
			t.Fatal(err)
		}
		return d
	}
	if due(town.CaseNo) != "2026-10-08" || due(dept.CaseNo) != "2026-10-08" {
		t.Fatalf("before: %s, %s; want both 2026-10-08", due(town.CaseNo), due(dept.CaseNo))
	}
	nets.cur.Store(corrected(t, true))
	moved, err := store.Replan(ctx, nets.Current())
	if err != nil || moved != 1 {
		t.Errorf("re-planned %d (%v); want the township's Transfer only", moved, err)
	}
	if due(town.CaseNo) != "2026-10-10" || due(dept.CaseNo) != "2026-10-08" {
		t.Errorf("after: township %s (want 2026-10-10), department %s (want 2026-10-08: its chain changed too)", due(town.CaseNo), due(dept.CaseNo))
	}
	var events int
	if err := f.pool.QueryRow(ctx, `SELECT count(*) FROM events WHERE type = 'petition.deadline.replanned' AND case_no = $1
		AND data->>'from' = '2026-10-08' AND data->>'to' = '2026-10-10'`, town.CaseNo).Scan(&events); err != nil || events != 1 {
		t.Errorf("%d re-plan events (%v); want 1", events, err)
	}
	var reminder string
	if err := f.pool.QueryRow(ctx, `SELECT (a.fire_at AT TIME ZONE 'Asia/Shanghai')::date::text FROM alarms a JOIN cases c ON c.id = a.case_id
		WHERE c.case_no = $1 AND a.kind = 'overdue' AND a.rung = 0`, town.CaseNo).Scan(&reminder); err != nil || reminder <= "2026-10-10" {
		t.Errorf("the township's first rung fires on %s (%v); want after the new due date", reminder, err)
	}
	if moved, err := store.Replan(ctx, nets.Current()); err != nil || moved != 0 {
		t.Errorf("a second pass moved %d (%v)", moved, err)
	}
}
