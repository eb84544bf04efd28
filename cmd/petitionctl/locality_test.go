package main

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/xinfang"
)

// TestRouteWithLocality routes petitions on the samples by hand: the
// locality's table, relative targets from the locality upward, the
// locality handling what matches nothing, and each skip-level boundary.
func TestRouteWithLocality(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want xinfang.Route
	}{
		{"the locality's table: its county's department",
			[]string{"--office", "nanyang-city", "--locality", "shifosi-town", "--category", "land-acquisition", "--type", "Appeal", "--channel", "Visit"},
			xinfang.Route{Office: "zhenping-natural-resources", Rule: "land-to-natural-resources", Policy: "land-disputes"}},
		{"without a locality the City keeps a land case (no policy selects it)",
			[]string{"--office", "nanyang-city", "--category", "land-acquisition", "--type", "Appeal", "--channel", "Visit"},
			xinfang.Route{Office: "nanyang-city"}},
		{"relative target from the locality upward: the county's department",
			[]string{"--office", "nanyang-city", "--locality", "mashankou-town", "--category", "wage-arrears", "--type", "Appeal", "--channel", "Visit"},
			xinfang.Route{Office: "neixiang-human-resources", Rule: "wages-to-human-resources", Policy: "wage-arrears"}},
		{"the same received at the City without a locality: the City's department",
			[]string{"--office", "nanyang-city", "--category", "wage-arrears", "--type", "Appeal", "--channel", "Visit"},
			xinfang.Route{Office: "nanyang-human-resources", Rule: "wages-to-human-resources", Policy: "wage-arrears"}},
		{"a county without a procuratorate: the City's",
			[]string{"--office", "nanyang-city", "--locality", "tuandong-town", "--category", "court-judgment", "--type", "Appeal", "--channel", "Visit"},
			xinfang.Route{Office: "nanyang-procuratorate", Rule: "law-related-to-procuratorate", Policy: "law-related"}},
		{"no match: the locality handles it; a visit at the City skips the county",
			[]string{"--office", "nanyang-city", "--locality", "jiasong-town", "--category", "road-repair", "--type", "Appeal", "--channel", "Visit"},
			xinfang.Route{Office: "jiasong-town", SkipLevel: true, RedirectTo: "jiasong-town"}},
		{"a letter never skips",
			[]string{"--office", "nanyang-city", "--locality", "jiasong-town", "--category", "road-repair", "--type", "Appeal", "--channel", "Letter"},
			xinfang.Route{Office: "jiasong-town"}},
		{"a visit at the county above the township does not skip",
			[]string{"--office", "zhenping-county", "--locality", "jiasong-town", "--category", "road-repair", "--type", "Appeal", "--channel", "Visit"},
			xinfang.Route{Office: "jiasong-town"}},
		{"a county department handles it: its level office is the county, so the City is its parent",
			[]string{"--office", "nanyang-city", "--locality", "chaopi-town", "--category", "court-judgment", "--type", "Report", "--channel", "Visit"},
			xinfang.Route{Office: "zhenping-procuratorate", Rule: "law-related-to-procuratorate", Policy: "law-related"}},
		{"a City department stands at the City's level",
			[]string{"--office", "nanyang-human-resources", "--locality", "jiasong-town", "--category", "road-repair", "--type", "Inquiry", "--channel", "Visit"},
			xinfang.Route{Office: "jiasong-town", SkipLevel: true, RedirectTo: "jiasong-town"}},
		{"locality = receiver",
			[]string{"--office", "jiasong-town", "--locality", "jiasong-town", "--category", "road-repair", "--type", "Appeal", "--channel", "Visit"},
			xinfang.Route{Office: "jiasong-town"}},
	}
	for _, tc := range cases {
		out, err := runCLI(t, append([]string{"route", "-f", "../../config/samples", "-o", "json"}, tc.args...)...)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		var got xinfang.Route
		decodeOutput(t, out, "Route", &got)
		tc.want.Copies = []string{}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %+v, want %+v", tc.name, got, tc.want)
		}
	}
	table, err := runCLI(t, "route", "-f", "../../config/samples", "--office", "nanyang-city", "--locality", "jiasong-town",
		"--category", "road-repair", "--type", "Appeal", "--channel", "Visit")
	if err != nil || !strings.Contains(table, "jiasong-town  -     -       false     -       true        jiasong-town") {
		t.Errorf("skip-level table = %q, %v", table, err)
	}
}

func TestDeadlinesWithLocality(t *testing.T) {
	got := deadlinesJSON(t, "--office", "nanyang-city", "--locality", "shifosi-town", "--received", "2026-09-16",
		"--category", "land-acquisition", "--type", "Appeal", "--channel", "Visit")
	var offices, due []string
	for _, s := range got.Stages {
		offices, due = append(offices, s.Office), append(due, s.Due)
	}
	// The county department the township's table names is stationed at
	// the City's joint reception centre: the visit is accepted there on the
	// spot, no Transfer (2026-09-16 + 15 days is National Day: 10-08);
	// Handling follows, its Review one level up (the county) and ReReview
	// two (the City).
	if got.Handler != "zhenping-natural-resources" ||
		!reflect.DeepEqual(offices, []string{"zhenping-natural-resources", "zhenping-natural-resources", "zhenping-county", "nanyang-city"}) ||
		!reflect.DeepEqual(due, []string{"2026-10-08", "2026-12-07", "2027-02-05", "2027-04-07"}) {
		t.Errorf("deadlines = %+v", got)
	}
	// A letter is no visit: the City registers and transfers it first.
	got = deadlinesJSON(t, "--office", "nanyang-city", "--locality", "shifosi-town", "--received", "2026-09-16",
		"--category", "land-acquisition", "--type", "Report", "--channel", "Letter")
	if len(got.Stages) != 3 || got.Stages[0].Name != v1alpha1.StageTransfer || got.Stages[0].Office != "nanyang-city" || got.Stages[1].Office != "zhenping-natural-resources" {
		t.Errorf("deadlines of a letter = %+v", got)
	}
	// No match: the locality handles it; a report has Transfer, Acceptance
	// and Handling.
	got = deadlinesJSON(t, "--office", "nanyang-city", "--locality", "jiasong-town", "--received", "2026-09-16",
		"--category", "road-repair", "--type", "Report")
	if got.Handler != "jiasong-town" || len(got.Stages) != 3 || got.Stages[0].Name != v1alpha1.StageTransfer || got.Stages[2].Office != "jiasong-town" {
		t.Errorf("deadlines = %+v", got)
	}
	// A village's matter runs as its township's.
	village := deadlinesJSON(t, "--office", "nanyang-city", "--locality", "hezhuang-village", "--received", "2026-09-16",
		"--category", "land-acquisition", "--type", "Appeal", "--channel", "Visit")
	town := deadlinesJSON(t, "--office", "nanyang-city", "--locality", "shifosi-town", "--received", "2026-09-16",
		"--category", "land-acquisition", "--type", "Appeal", "--channel", "Visit")
	if !reflect.DeepEqual(village, town) {
		t.Errorf("from village hezhuang-village %+v\nfrom its township %+v", village, town)
	}
}

// TestVillageRoutesAsItsTownship: a Village as the locality or as the
// office asked about answers as its township.
func TestVillageRoutesAsItsTownship(t *testing.T) {
	route := func(args ...string) xinfang.Route {
		t.Helper()
		out, err := runCLI(t, append([]string{"route", "-f", "../../config/samples", "-o", "json"}, args...)...)
		if err != nil {
			t.Fatal(err)
		}
		var r xinfang.Route
		decodeOutput(t, out, "Route", &r)
		return r
	}
	for _, p := range [][]string{
		{"--category", "land-acquisition", "--type", "Appeal", "--channel", "Visit"},
		{"--category", "road-repair", "--type", "Appeal", "--channel", "Visit"},
		{"--category", "wage-arrears", "--type", "Report", "--channel", "Letter"},
	} {
		for _, office := range []string{"nanyang-city", "zhenping-county", "shifosi-town"} {
			v := route(append([]string{"--office", office, "--locality", "shifosi-village"}, p...)...)
			tw := route(append([]string{"--office", office, "--locality", "shifosi-town"}, p...)...)
			if !reflect.DeepEqual(v, tw) {
				t.Errorf("%v at %s: from the village %+v, from its township %+v", p, office, v, tw)
			}
		}
		if v, tw := route(append([]string{"shifosi-village"}, p...)...), route(append([]string{"shifosi-town"}, p...)...); !reflect.DeepEqual(v, tw) {
			t.Errorf("%v received at the village %+v, at its township %+v", p, v, tw)
		}
	}
	// Unrouted, a visit at the City is sent back to the township: the
	// village is never a handler.
	if r := route("--office", "nanyang-city", "--locality", "hezhuang-village", "--category", "road-repair", "--type", "Appeal", "--channel", "Visit"); r.Office != "shifosi-town" || r.RedirectTo != "shifosi-town" {
		t.Errorf("unrouted from a village at the City: %+v", r)
	}
}

func TestLocalityErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"route", "--office", "nanyang-city", "--locality", "nowhere-town", "--category", "x", "--type", "Appeal"},
			`--locality: office "nowhere-town" does not exist`},
		{[]string{"route", "--office", "nanyang-city", "--locality", "Shifosi", "--category", "x", "--type", "Appeal"},
			`--locality: "Shifosi" is not an office name`},
		{[]string{"route", "--office", "nanyang-city", "--locality", strings.Repeat("a", 57), "--category", "x", "--type", "Appeal"},
			`--locality: "aaaa`},
		{[]string{"deadlines", "--office", "nanyang-city", "--locality", "shifosi-town", "--received", "2026-09-16"},
			`--locality: needs the petition`},
		{[]string{"deadlines", "--office", "nanyang-city", "--locality", "nowhere-town", "--received", "2026-09-16", "--category", "x", "--type", "Appeal"},
			`--locality: office "nowhere-town" does not exist`},
		{[]string{"route", "--office", "nanyang-city", "--locality", "nanyang-natural-resources", "--category", "x", "--type", "Appeal"},
			`--locality: locality "nanyang-natural-resources" is a Department; a locality is the place the matter arose: a City, County, Township or Village`},
		{[]string{"deadlines", "--office", "shifosi-town", "--locality", "zhenping-procuratorate", "--received", "2026-09-16", "--category", "x", "--type", "Appeal"},
			`--locality: locality "zhenping-procuratorate" is a Department; a locality is the place the matter arose: a City, County, Township or Village`},
		// The receiving office itself, when it is a Department.
		{[]string{"route", "--office", "nanyang-natural-resources", "--locality", "nanyang-natural-resources", "--category", "x", "--type", "Appeal"},
			`--locality: locality "nanyang-natural-resources" is a Department`},
	} {
		_, err := runCLI(t, append([]string{tc.args[0], "-f", "../../config/samples"}, tc.args[1:]...)...)
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%v: got %v, want %q", tc.args, err, tc.want)
		}
	}
}

// TestWindowsAtAJointReceptionCentre: the City's centre lists the windows
// of the departments stationed there, as its desk does. Friday 2026-10-09
// at 09:00 each is open; the county department (09:00-12:00 on working
// days) next opens on the adjusted Saturday 10-10, the City's own
// weekday window after its lunch break.
func TestWindowsAtAJointReceptionCentre(t *testing.T) {
	out, err := runCLI(t, "windows", "nanyang-city", "-f", "../../config/samples", "--channel", "Visit", "--at", "2026-10-09T09:00:00+08:00", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Office, Channel, At string
		xinfang.WindowAnswer
		Stationed []xinfang.StationedWindow `json:"stationed"`
	}
	decodeOutput(t, out, "Windows", &got)
	var lines []string
	for _, s := range got.Stationed {
		lines = append(lines, fmt.Sprintf("%s %s %v %s", s.Office, s.Department, s.Open, s.NextOpening))
	}
	want := []string{"nanyang-human-resources HumanResources true 2026-10-09T14:30:00+08:00",
		"nanyang-natural-resources NaturalResources true 2026-10-10T09:00:00+08:00",
		"zhenping-natural-resources NaturalResources true 2026-10-10T09:00:00+08:00"}
	if !got.Open || got.NextOpening != "2026-10-09T14:30:00+08:00" || !reflect.DeepEqual(lines, want) {
		t.Errorf("windows = %+v, stationed %q; want %q", got.WindowAnswer, lines, want)
	}
	table, err := runCLI(t, "windows", "nanyang-city", "-f", "../../config/samples", "--channel", "Visit", "--at", "2026-10-09T09:00:00+08:00")
	if err != nil || !strings.Contains(table, "zhenping-natural-resources  true  weekday-visits  2026-10-10T09:00:00+08:00") {
		t.Errorf("table = %q, %v", table, err)
	}
	// An office that is no centre answers as before, one row.
	table, err = runCLI(t, "windows", "zhenping-county", "-f", "../../config/samples", "--channel", "Visit", "--at", "2026-10-09T09:00:00+08:00")
	if err != nil || strings.Count(strings.TrimSpace(table), "\n") != 1 || strings.Contains(table, "OFFICE") {
		t.Errorf("a plain office's table = %q, %v", table, err)
	}
}
