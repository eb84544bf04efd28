package registry_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/xinfang/petition-operator/internal/cases"
	"github.com/xinfang/petition-operator/internal/objfiles"
	"github.com/xinfang/petition-operator/internal/registry"
)

// statements counts the statements a pool sends, alone or in batches.
type statements struct{ n atomic.Int64 }

func (s *statements) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	s.n.Add(1)
	return ctx
}

func (s *statements) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (s *statements) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	return ctx
}

func (s *statements) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) { s.n.Add(1) }

func (s *statements) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

// tracedStore is a store on f's database and network whose statements are
// counted.
func tracedStore(t *testing.T, f *fixture, net registry.Network) (*registry.Store, *statements) {
	t.Helper()
	cfg := f.pool.Config().Copy()
	trace := &statements{}
	cfg.ConnConfig.Tracer = trace
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return registry.New(pool, net, f.keys, registry.Options{Now: f.clock.now}), trace
}

// TestFiguresAreEachOfficesOwn: the figures of the whole network are, for
// each office, its own /stats over the period (open, overdue, replies,
// timely acceptance, skip-level visits attributed to it, repeats,
// ratings), counted in two statements whatever the number of offices; an
// office without any count is left out; DueWithin7d counts the open cases
// due from today to six days on, and a case leaves it for Overdue the day
// after its due date.
func TestFiguresAreEachOfficesOwn(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	take := func(key string, in cases.Intake, staff string) registry.Answer {
		t.Helper()
		sub := registry.Submission{Intake: in, Key: key, Scope: "public"}
		if staff != "" {
			sub.Scope, sub.Staff = "staff:"+staff, staff
		}
		ans, _, err := f.store.Take(ctx, sub)
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		return ans
	}
	// Two petitions of one person at the township (the second a repeat),
	// one at each of three other offices, and a skip-level visit at the
	// City about a township's road, attributed to the township.
	first := take("a", intake(t, landAppeal), "")
	take("b", intake(t, landAppeal), "")
	for i, office := range []string{"jiasong-town", "mashankou-town", "zhenping-county"} {
		in := intake(t, strings.Replace(landAppeal, "138 0013 8000", fmt.Sprintf("139 0013 800%d", i), 1))
		in.Office, in.Petitioner.IDNumber = office, ""
		take("o"+office, in, "")
	}
	take("visit", staffIntake(t, `{"office":"nanyang-city","type":"Report","category":"road-repair","channel":"Visit","locality":"jiasong-town",
		"description":"村道塌陷","petitioner":{"name":"李四","phone":"13900139000"}}`), "nanyang-city")
	// The first is forwarded, accepted, replied and rated.
	version := 1
	for _, step := range []struct {
		at     string
		office string
		req    cases.Request
	}{
		{"2026-09-18T10:00:00+08:00", "shifosi-town", cases.Request{Action: cases.Forward, Office: "zhenping-natural-resources"}},
		{"2026-09-21T10:00:00+08:00", "zhenping-natural-resources", cases.Request{Action: cases.Accept}},
		{"2026-10-20T10:00:00+08:00", "zhenping-natural-resources", cases.Request{Action: cases.Reply, Result: cases.ResultSupport}},
	} {
		f.clock.set(step.at)
		m, err := f.store.Transition(ctx, registry.Actor{Name: "clerk", Office: step.office, Role: registry.RoleStaff}, first.CaseNo, version, step.req)
		if err != nil {
			t.Fatalf("%s: %v", step.req.Action, err)
		}
		version = m.Version
	}
	if err := f.store.Rate(ctx, first.CaseNo, first.QueryCode, cases.Rating{Satisfaction: cases.Satisfied}); err != nil {
		t.Fatal(err)
	}

	store, trace := tracedStore(t, f, registry.Static{Net: f.net})
	since, asOf := day(t, "2026-01-01"), day(t, "2026-10-20")
	before := trace.n.Load()
	got, err := store.Figures(ctx, since, asOf)
	if err != nil {
		t.Fatal(err)
	}
	if n := trace.n.Load() - before; n != 2 {
		t.Errorf("%d statements for the figures of %d offices; want 2", n, len(f.net.Offices()))
	}
	// The City received the visit, and counts none of it as its own.
	if len(got) != 5 {
		t.Errorf("figures of %d offices %v; want the five whose own figures count", len(got), got)
	}
	for _, office := range f.net.Offices() {
		st, err := f.store.Stats(ctx, office, "self", []string{office}, since, asOf, asOf)
		if err != nil {
			t.Fatal(err)
		}
		want := cases.Counts{Open: int64(st.Open), Overdue: int64(st.Overdue), Replied: int64(st.Replied), ClosedOnTime: int64(st.ClosedOnTime),
			AcceptanceDue: int64(st.AcceptanceDue), AcceptedTimely: int64(st.AcceptedTimely), SkipLevel: int64(st.SkipLevelAttributed),
			Repeat: int64(st.Repeat), Rated: int64(st.Rated), Satisfied: int64(st.Satisfied)}
		c, ok := got[office]
		want.DueWithin7d = c.DueWithin7d
		if want == (cases.Counts{}) {
			if ok {
				t.Errorf("%s has no count and is in the figures: %+v", office, c)
			}
			continue
		}
		if c != want {
			t.Errorf("%s: figures %+v; want its stats' %+v", office, c, want)
		}
	}
	if c := got["zhenping-natural-resources"]; c.Replied != 1 || c.ClosedOnTime != 1 || c.Rated != 1 || c.Satisfied != 1 || c.AcceptedTimely != 1 {
		t.Errorf("zhenping-natural-resources: %+v; want a reply on time, rated satisfied, accepted in time", c)
	}
	if c := got["shifosi-town"]; c.Open != 1 || c.Repeat != 1 {
		t.Errorf("shifosi-town: %+v; want 1 open case, 1 repeat", c)
	}
	if c := got["jiasong-town"]; c.SkipLevel != 1 || c.Open != 2 {
		t.Errorf("jiasong-town: %+v; want the skip-level visit attributed and 2 open cases", c)
	}
	if c := got["nanyang-city"]; c.SkipLevel != 0 {
		t.Errorf("nanyang-city: %+v; want no skip-level visit attributed to the City that received it", c)
	}
	// Before the period, no counter: only the open cases.
	early, err := store.Figures(ctx, day(t, "2026-10-21"), day(t, "2026-10-21"))
	if err != nil {
		t.Fatal(err)
	}
	if c := early["zhenping-natural-resources"]; c.Replied != 0 {
		t.Errorf("a period after the reply counts %d replies", c.Replied)
	}

	// The township's open case is due on its Transfer due date: six days
	// before it, it is due within 7 days; the day after, overdue.
	var due string
	if err := f.pool.QueryRow(ctx, `SELECT due::text FROM cases WHERE office = 'shifosi-town' AND closed_at IS NULL`).Scan(&due); err != nil {
		t.Fatal(err)
	}
	dueDay := day(t, due)
	for _, tc := range []struct {
		now                  time.Time
		within, overdue, all int64
	}{
		{dueDay.AddDate(0, 0, -7), 0, 0, 1},
		{dueDay.AddDate(0, 0, -6), 1, 0, 1},
		{dueDay, 1, 0, 1},
		{dueDay.AddDate(0, 0, 1), 0, 1, 1},
	} {
		f.clock.set(tc.now.Add(10 * time.Hour).Format(time.RFC3339))
		got, err := store.Figures(ctx, since, tc.now)
		if err != nil {
			t.Fatal(err)
		}
		if c := got["shifosi-town"]; c.DueWithin7d != tc.within || c.Overdue != tc.overdue || c.Open != tc.all {
			t.Errorf("on %s (due %s): shifosi-town %+v; want open %d, due within 7 days %d, overdue %d", tc.now.Format(time.DateOnly), due, c, tc.all, tc.within, tc.overdue)
		}
	}
}

// twoCities is config/samples with a second City (xinyang-city) and a
// township under it.
func twoCities(t *testing.T) *registry.Net {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	extra := filepath.Join(t.TempDir(), "xinyang.yaml")
	if err := os.WriteFile(extra, []byte(xinyang), 0o600); err != nil {
		t.Fatal(err)
	}
	set, err := objfiles.Load(filepath.Join(filepath.Dir(file), "..", "..", "config", "samples"), extra)
	if err != nil {
		t.Fatal(err)
	}
	return registry.NewNet(set)
}

const xinyang = `apiVersion: petition.xinfang.io/v1alpha1
kind: Office
metadata:
  name: xinyang-city
spec:
  level: City
  calendarRef: cn-2026
---
apiVersion: petition.xinfang.io/v1alpha1
kind: Office
metadata:
  name: shihe-county
spec:
  level: County
  parent: xinyang-city
  calendarRef: cn-2026
`

// TestCityView: a registry of one City knows the offices of its subtree
// alone: another City's county is unknown to every lookup (an intake
// for it is refused naming the registry's City, it has no configuration,
// no subtree, no figures), while the base network still knows it; a view
// of a City the network lacks, or of an office that is no City, says so;
// the view of one Net is built once.
func TestCityView(t *testing.T) {
	base := twoCities(t)
	if _, ok := base.Office("shihe-county"); !ok {
		t.Fatal("the network of two Cities does not know shihe-county")
	}
	view := registry.NewCityView(registry.Static{Net: base}, "nanyang-city")
	if err := view.Ready(); err != nil {
		t.Fatal(err)
	}
	n := view.Current()
	if n != view.Current() {
		t.Error("two views of one Net")
	}
	if _, ok := n.Office("shihe-county"); ok {
		t.Error("the view of nanyang-city knows shihe-county")
	}
	if _, ok := n.Office("shifosi-town"); !ok {
		t.Error("the view of nanyang-city does not know shifosi-town")
	}
	if _, err := n.Config("shihe-county"); err == nil || !strings.Contains(err.Error(), "not in this registry's City") {
		t.Errorf("the configuration of shihe-county: %v; want an error naming the registry's City", err)
	}
	if got := n.Subtree("xinyang-city"); len(got) != 0 {
		t.Errorf("the subtree of xinyang-city in nanyang-city's view: %v; want none", got)
	}
	if n.City() != "nanyang-city" || len(n.Offices()) != len(base.Offices())-2 {
		t.Errorf("the view: City %s, %d offices; want nanyang-city and the base's %d but two", n.City(), len(n.Offices()), len(base.Offices()))
	}

	f := newFixture(t)
	ctx := context.Background()
	wide := registry.New(f.pool, registry.Static{Net: base}, f.keys, registry.Options{Now: f.clock.now})
	in := intake(t, landAppeal)
	in.Office = "shihe-county"
	if _, _, err := wide.Take(ctx, registry.Submission{Intake: in, Key: "p", Scope: "public"}); err != nil {
		t.Fatal(err)
	}
	city, _ := tracedStore(t, f, view)
	var field *cases.FieldError
	if _, _, err := city.Take(ctx, registry.Submission{Intake: in, Key: "q", Scope: "public"}); !errors.As(err, &field) || field.Field != "office" ||
		!strings.Contains(err.Error(), "not in this registry's City") || !strings.Contains(err.Error(), "nanyang-city") {
		t.Errorf("an intake for another City's county: %v; want a FieldError on office naming nanyang-city", err)
	}
	d := day(t, "2026-09-16")
	if got, err := wide.Figures(ctx, d, d); err != nil || got["shihe-county"].Open != 1 {
		t.Errorf("the whole network's figures: %v, %v; want shihe-county's open case", got, err)
	}
	if got, err := city.Figures(ctx, d, d); err != nil || len(got) != 0 {
		t.Errorf("nanyang-city's figures: %v, %v; want none (its offices have no case)", got, err)
	}

	for city, want := range map[string]string{"nowhere-city": "no City", "zhenping-county": "is a County, not a City"} {
		v := registry.NewCityView(registry.Static{Net: base}, city)
		if err := v.Ready(); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("a view of %s: %v; want an error saying %q", city, err, want)
		}
		if _, ok := v.Current().Office("shifosi-town"); ok {
			t.Errorf("a view of %s knows shifosi-town", city)
		}
	}
}
