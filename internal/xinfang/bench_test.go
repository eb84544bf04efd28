package xinfang_test

import (
	"slices"
	"testing"
	"time"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/netgen"
	"github.com/xinfang/petition-operator/internal/xinfang"
)

// The benchmarks of this file measure the domain logic the operator and
// petitionctl run, at the scale of a city: netgen's network of 5,000
// offices (1 City, 50 Counties, 1,000 Townships, 3,949 Departments). The
// operator recompiles an office's configuration on every change to it, and a
// change to a RoutingPolicy, an EscalationPolicy or a HolidayCalendar
// recompiles every office it selects, up to the whole city; so a regression
// here is paid 5,000 times over.
//
//	go test ./internal/xinfang/ -run '^$' -bench . -benchmem

// cityOffices is the size of the benchmark network.
const cityOffices = 5000

// Names in netgen's network: town-0000 sits under county-000, the first
// County, and departments are named <parent>-dept-<k>, where k is 0 for
// HumanResources, 1 NaturalResources, 2 Environment and 3 Organization.
const (
	benchCity     = "city"
	benchCounty   = "county-000"
	benchCounty2  = "county-001"
	benchTownship = "town-0000"
)

// generateCity returns netgen's network of cityOffices offices.
func generateCity(b *testing.B) *xinfang.Snapshot {
	b.Helper()
	s, err := netgen.Generate(netgen.Options{Offices: cityOffices, Seed: 1})
	if err != nil {
		b.Fatalf("netgen.Generate: %v", err)
	}
	if len(s.Offices) != cityOffices {
		b.Fatalf("netgen.Generate returned %d offices, want %d", len(s.Offices), cityOffices)
	}
	return s
}

// township returns benchTownship, the Township the benchmarks of one office
// use, in s.
func township(b *testing.B, s *xinfang.Snapshot) *v1alpha1.Office {
	b.Helper()
	for i := range s.Offices {
		if o := &s.Offices[i]; o.Name == benchTownship {
			if o.Spec.Level != v1alpha1.LevelTownship || o.Spec.Parent != benchCounty {
				b.Fatalf("%s is a %s under %q, want a Township under %s", o.Name, o.Spec.Level, o.Spec.Parent, benchCounty)
			}
			return o
		}
	}
	b.Fatalf("office %s is not in the generated network", benchTownship)
	return nil
}

// officePaths returns the path of every office of s, in s's order.
func officePaths(b *testing.B, idx *xinfang.Network, s *xinfang.Snapshot) [][]string {
	b.Helper()
	paths := make([][]string, len(s.Offices))
	for i := range s.Offices {
		path, problem := idx.Path(&s.Offices[i])
		if problem != nil {
			b.Fatalf("office %s does not fit into the network: %s (%s)", s.Offices[i].Name, problem.Message, problem.Reason)
		}
		paths[i] = path
	}
	return paths
}

// reportPerOffice adds the time per office to a benchmark whose operation
// handles offices offices.
func reportPerOffice(b *testing.B, offices int) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(offices), "ns/office")
}

// BenchmarkIndex5000 measures building the network index of the whole city
// from a list of offices: what petitionctl does on every run and the
// RoutingPolicy controller (ReportPolicy) does on every reconcile of a
// policy.
func BenchmarkIndex5000(b *testing.B) {
	s := generateCity(b)
	b.ReportAllocs()
	b.ResetTimer()
	var idx *xinfang.Network
	for b.Loop() {
		idx = xinfang.NetworkOf(s.Offices)
	}
	if idx.Len() != cityOffices {
		b.Fatalf("Len = %d, want %d", idx.Len(), cityOffices)
	}
	if got := len(idx.Descendants(benchCity)); got != cityOffices-1 {
		b.Fatalf("the City has %d descendants, want %d", got, cityOffices-1)
	}
}

// BenchmarkIndexUpsert5000 measures applying one office's change to the index
// of the whole city, as the operator does on each Office event of its
// informer: a change that leaves the office in place (Spec) and a Township
// moving to another County (Reparent). Each iteration alternates between two
// specs, so every Upsert really changes the office.
func BenchmarkIndexUpsert5000(b *testing.B) {
	s := generateCity(b)
	town := township(b, s)
	for _, tt := range []struct {
		name   string
		change func(*v1alpha1.Office)
		// affected is the number of offices Upsert returns either way:
		// the office alone, or it and its old and new parent.
		affected int
	}{
		{"Spec", func(o *v1alpha1.Office) { o.Spec.DisplayName += " (renamed)" }, 1},
		{"Reparent", func(o *v1alpha1.Office) { o.Spec.Parent = benchCounty2 }, 3},
	} {
		b.Run(tt.name, func(b *testing.B) {
			idx := xinfang.NetworkOf(s.Offices)
			changed := town.DeepCopy()
			tt.change(changed)
			specs := [2]*v1alpha1.Office{changed, town.DeepCopy()}
			b.ReportAllocs()
			b.ResetTimer()
			i := 0
			for b.Loop() {
				if affected := idx.Upsert(specs[i&1]); len(affected) != tt.affected {
					b.Fatalf("Upsert #%d affected %v, want %d offices", i, affected, tt.affected)
				}
				i++
			}
			// The index holds the spec of the last upsert.
			if got, _ := idx.Get(benchTownship); got != specs[(i-1)&1] {
				b.Fatalf("after %d upserts the index does not hold %s's last spec", i, benchTownship)
			}
			if idx.Len() != cityOffices {
				b.Fatalf("Len = %d after the upserts, want %d", idx.Len(), cityOffices)
			}
		})
	}
}

// BenchmarkCompileRouting5000 measures compiling the routing table of every
// office of the city, given the shared index and each office's path: the
// routing work of a full resync, and of a change to a RoutingPolicy that
// selects every office (netgen's city-wide one does). One measures a single
// Township, which collects the most rules: what each Office change costs.
func BenchmarkCompileRouting5000(b *testing.B) {
	s := generateCity(b)
	idx := xinfang.NetworkOf(s.Offices)
	paths := officePaths(b, idx, s)
	// Every target of netgen's policies resolves for every office, and the
	// city-wide policy selects them all.
	for i := range s.Offices {
		table := xinfang.CompileRouting(&s.Offices[i], paths[i], s.RoutingPolicies, idx)
		if len(table.Rules) < 3 {
			b.Fatalf("%s has %d rules, want at least the city-wide 3", s.Offices[i].Name, len(table.Rules))
		}
		if u := table.Unresolved(); len(u) > 0 {
			b.Fatalf("%s: rule %s does not resolve: %s", s.Offices[i].Name, u[0].Name, u[0].Unresolved)
		}
	}

	b.Run("AllOffices", func(b *testing.B) {
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			for i := range s.Offices {
				xinfang.CompileRouting(&s.Offices[i], paths[i], s.RoutingPolicies, idx)
			}
		}
		reportPerOffice(b, len(s.Offices))
	})

	b.Run("One", func(b *testing.B) {
		town := township(b, s)
		path, problem := idx.Path(town)
		if problem != nil {
			b.Fatalf("Path(%s): %s", benchTownship, problem.Message)
		}
		b.ReportAllocs()
		b.ResetTimer()
		var table xinfang.RoutingTable
		for b.Loop() {
			table = xinfang.CompileRouting(town, path, s.RoutingPolicies, idx)
		}
		// land, roads, then the city-wide wages, pollution and officials.
		if len(table.Rules) != 5 {
			b.Fatalf("%s has %d rules, want 5", benchTownship, len(table.Rules))
		}
	})
}

// BenchmarkCompileAll5000 measures compiling every office's configuration
// (xinfang.Compile) to the JSON of its tenant ConfigMap, as the operator does
// on a full resync or a change to the EscalationPolicy or HolidayCalendar
// every office names (Operator: one index of the network, read for each
// office, as the operator's network model is). OfficeConfig measures
// petitionctl's way to the same configuration for one office,
// Snapshot.OfficeConfig, which builds an index of the whole network on each
// call.
func BenchmarkCompileAll5000(b *testing.B) {
	s := generateCity(b)
	if len(s.EscalationPolicies) != 1 || len(s.HolidayCalendars) != 1 {
		b.Fatalf("netgen gave %d escalation policies and %d calendars, want 1 and 1", len(s.EscalationPolicies), len(s.HolidayCalendars))
	}
	policy := &s.EscalationPolicies[0]
	for i := range s.Offices {
		o := &s.Offices[i]
		if string(o.Spec.Escalation.PolicyRef) != policy.Name || string(o.Spec.CalendarRef) != s.HolidayCalendars[0].Name {
			b.Fatalf("%s names policy %q and calendar %q, not netgen's", o.Name, o.Spec.Escalation.PolicyRef, o.Spec.CalendarRef)
		}
	}

	b.Run("Operator", func(b *testing.B) {
		src := s.Network()
		c, err := xinfang.Compile(src, township(b, s), xinfang.CompileOptions{})
		if err != nil || c.Problem != nil {
			b.Fatalf("compiling %s: %v, %v", benchTownship, err, c.Problem)
		}
		cfg := c.Config
		if !slices.Equal(cfg.Path, []string{benchCity, benchCounty, benchTownship}) || cfg.Escalation == nil ||
			len(cfg.Escalation.Steps) != 3 || cfg.Escalation.Steps[2].Office != benchCounty ||
			cfg.Calendar == nil || len(cfg.Routing.Rules) != 5 || c.Hash == "" {
			b.Fatalf("%s compiled to path %v, escalation %+v, calendar %v, %d rules, hash %q",
				benchTownship, cfg.Path, cfg.Escalation, cfg.Calendar, len(cfg.Routing.Rules), c.Hash)
		}
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			for i := range s.Offices {
				c, err := xinfang.Compile(src, &s.Offices[i], xinfang.CompileOptions{})
				if err != nil || c.Problem != nil {
					b.Fatalf("compiling %s: %v, %v", s.Offices[i].Name, err, c.Problem)
				}
			}
		}
		reportPerOffice(b, len(s.Offices))
	})

	b.Run("OfficeConfig", func(b *testing.B) {
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			cfg, err := s.OfficeConfig(benchTownship)
			if err != nil {
				b.Fatalf("OfficeConfig(%s): %v", benchTownship, err)
			}
			if _, _, err := cfg.Marshal(); err != nil {
				b.Fatalf("Marshal(%s): %v", benchTownship, err)
			}
		}
	})
}

// BenchmarkRoute measures routing one petition through a Township's compiled
// table, as the desk service does for every petition it receives: the
// petitions go to departments of its County and of the City, or stay with
// the Township.
func BenchmarkRoute(b *testing.B) {
	s := generateCity(b)
	idx := xinfang.NetworkOf(s.Offices)
	town := township(b, s)
	path, problem := idx.Path(town)
	if problem != nil {
		b.Fatalf("Path(%s): %s", benchTownship, problem.Message)
	}
	table := xinfang.CompileRouting(town, path, s.RoutingPolicies, idx)
	cases := []struct {
		category string
		want     string
	}{
		{"wage-arrears", benchCounty + "-dept-0000"},      // HumanResources, nearest: the County's
		{"land-acquisition", benchCounty + "-dept-0001"},  // NaturalResources, at County scope
		{"pollution", benchCounty + "-dept-0002"},         // Environment, nearest: the County's
		{"official-misconduct", benchCity + "-dept-0003"}, // Organization, at City scope
		{"roads", benchCounty},                            // first-county's explicit office
		{"street-lighting", benchTownship},                // no rule: stays (首问负责)
	}
	petitions := make([]xinfang.Petition, len(cases))
	for i, c := range cases {
		petitions[i] = xinfang.Petition{Category: c.category, Type: v1alpha1.PetitionReport, Channel: v1alpha1.ChannelVisit}
		if err := petitions[i].Validate(); err != nil {
			b.Fatalf("petition %s: %v", c.category, err)
		}
		if got := table.Route(benchTownship, petitions[i]); got.Office != c.want || got.Fallback {
			b.Fatalf("%s routes %s to %+v, want office %s", benchTownship, c.category, got, c.want)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		table.Route(benchTownship, petitions[i%len(petitions)])
		i++
	}
}

// windowBench returns the window set of an office with weekday visiting
// hours in Shanghai with netgen's holiday calendar, and instants spread over
// 2026 at an odd step, so they fall at every time of day and on every kind
// of day.
func windowBench(b *testing.B) (*xinfang.WindowSet, []time.Time) {
	b.Helper()
	s := generateCity(b)
	var office *v1alpha1.Office
	for i := range s.Offices {
		o := &s.Offices[i]
		if len(o.Spec.ReceptionWindows) > 0 && o.Spec.ReceptionWindows[0].Name == "weekday-visits" && o.Spec.TimeZone == "Asia/Shanghai" {
			office = o
			break
		}
	}
	if office == nil {
		b.Fatal("no office with weekday visits in Asia/Shanghai in the generated network")
	}
	cal, err := xinfang.NewCalendar(&s.HolidayCalendars[0].Spec)
	if err != nil {
		b.Fatalf("NewCalendar: %v", err)
	}
	ws, err := xinfang.NewWindowSet(office.Spec.TimeZone, xinfang.CompileWindows(office), cal)
	if err != nil {
		b.Fatalf("NewWindowSet(%s): %v", office.Name, err)
	}
	loc := ws.Location()
	for _, tt := range []struct {
		at   time.Time
		open bool
	}{
		{time.Date(2026, 6, 17, 10, 0, 0, 0, loc), true},   // a Wednesday morning
		{time.Date(2026, 6, 17, 13, 0, 0, 0, loc), false},  // its lunch break
		{time.Date(2026, 6, 20, 10, 0, 0, 0, loc), false},  // a Saturday
		{time.Date(2026, 10, 2, 10, 0, 0, 0, loc), false},  // National Day, a Friday
		{time.Date(2026, 10, 10, 10, 0, 0, 0, loc), true},  // an adjusted working Saturday
		{time.Date(2026, 2, 18, 10, 0, 0, 0, loc), false},  // Spring Festival, a Wednesday
		{time.Date(2026, 2, 14, 10, 0, 0, 0, loc), true},   // an adjusted working Saturday
		{time.Date(2026, 12, 31, 17, 29, 0, 0, loc), true}, // a Thursday's last minute
	} {
		if open, _ := ws.OpenAt(v1alpha1.ChannelVisit, tt.at); open != tt.open {
			b.Fatalf("%s: Visit open at %s = %v, want %v", office.Name, tt.at, open, tt.open)
		}
	}
	const n = 4096 // a power of two: the benchmarks index it by iteration
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, loc)
	step := 365 * 24 * time.Hour / n // 2h08m18.75s
	times := make([]time.Time, n)
	for i := range times {
		times[i] = start.Add(time.Duration(i) * step)
	}
	return ws, times
}

// BenchmarkWindowOpenAt measures whether a channel is open at an instant, in
// the office's zone and calendar: what the desk service asks of every
// incoming visit or call.
func BenchmarkWindowOpenAt(b *testing.B) {
	ws, times := windowBench(b)
	open := 0
	for _, t := range times {
		if ok, _ := ws.OpenAt(v1alpha1.ChannelVisit, t); ok {
			open++
		}
	}
	// 5 × 6.5 of 168 hours a week, less holidays: under a fifth of the
	// instants.
	if open < len(times)/10 || open > len(times)/5 {
		b.Fatalf("Visit is open at %d of %d instants over 2026", open, len(times))
	}
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		ws.OpenAt(v1alpha1.ChannelVisit, times[i&(len(times)-1)])
		i++
	}
}

// BenchmarkWindowNextOpening measures when a channel next opens after an
// instant: what the desk service and petitionctl windows tell a petitioner
// who finds it closed. It walks dates, so a long holiday costs more.
func BenchmarkWindowNextOpening(b *testing.B) {
	ws, times := windowBench(b)
	for _, t := range times {
		next, ok := ws.NextOpening(v1alpha1.ChannelVisit, t)
		if !ok || !next.After(t) || next.Sub(t) > 15*24*time.Hour {
			b.Fatalf("Visit next opens after %s at %s, %v", t, next, ok)
		}
		if open, _ := ws.OpenAt(v1alpha1.ChannelVisit, next); !open {
			b.Fatalf("Visit next opens after %s at %s, when it is closed", t, next)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		ws.NextOpening(v1alpha1.ChannelVisit, times[i&(len(times)-1)])
		i++
	}
}

// BenchmarkValidateSnapshot5000 measures applying every rule across objects
// to the whole city, as petitionctl validate does before a change is
// applied. netgen's network is valid, so it must report nothing.
func BenchmarkValidateSnapshot5000(b *testing.B) {
	s := generateCity(b)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if problems := xinfang.ValidateSnapshot(s); len(problems) > 0 {
			b.Fatalf("the generated network has %d problems, the first %s", len(problems), problems[0])
		}
	}
}
