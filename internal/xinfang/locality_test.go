package xinfang

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xinfang/petition-operator/api/v1alpha1"
)

// localityNetwork is routingNetwork as a Snapshot with two policies:
// land-acquisition goes to the NaturalResources department nearest the
// receiving Township or County (no scope), pollution to an Environment
// department that exists nowhere (fallback), and wages to the City's
// HumanResources department. The City runs no policy.
func localityNetwork() *Snapshot {
	idx := routingNetwork()
	var offices []v1alpha1.Office
	for _, o := range idx.All() {
		offices = append(offices, *o)
	}
	counties := v1alpha1.OfficeSelector{Levels: []v1alpha1.Level{v1alpha1.LevelTownship, v1alpha1.LevelCounty}}
	return &Snapshot{
		Offices: offices,
		RoutingPolicies: []v1alpha1.RoutingPolicy{
			policy("land", 100, counties,
				rule("land-to-nr", v1alpha1.RouteTarget{Department: "NaturalResources"}, "land-acquisition"),
				rule("pollution-to-env", v1alpha1.RouteTarget{Department: "Environment"}, "pollution"),
				rule("wages-to-hr", v1alpha1.RouteTarget{Department: "HumanResources", Scope: "City"}, "wage-arrears")),
		},
	}
}

func TestCompiledRulesCarryTheTargetsPlace(t *testing.T) {
	src := localityNetwork().Network()
	cfg, err := src.OfficeConfig("shifosi")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Place{
		"land-to-nr":       {Path: []string{"nanyang", "zhenping", "zhenping-nr"}, Level: v1alpha1.LevelDepartment},
		"pollution-to-env": {Path: []string{"nanyang", "zhenping", "shifosi"}, Level: v1alpha1.LevelTownship}, // unresolved: itself
		"wages-to-hr":      {Path: []string{"nanyang", "nanyang-hr"}, Level: v1alpha1.LevelDepartment},
	}
	for _, r := range cfg.Routing.Rules {
		got := Place{Path: r.TargetPath, Level: r.TargetLevel}
		if !reflect.DeepEqual(got, want[r.Name]) {
			t.Errorf("rule %s: target place %+v, want %+v", r.Name, got, want[r.Name])
		}
	}
}

func TestSkipLevel(t *testing.T) {
	city := Place{Path: []string{"nanyang"}, Level: v1alpha1.LevelCity}
	cityDept := Place{Path: []string{"nanyang", "nanyang-hr"}, Level: v1alpha1.LevelDepartment}
	county := Place{Path: []string{"nanyang", "zhenping"}, Level: v1alpha1.LevelCounty}
	countyDept := Place{Path: []string{"nanyang", "zhenping", "zhenping-nr"}, Level: v1alpha1.LevelDepartment}
	town := Place{Path: []string{"nanyang", "zhenping", "shifosi"}, Level: v1alpha1.LevelTownship}
	otherCounty := Place{Path: []string{"nanyang", "neixiang"}, Level: v1alpha1.LevelCounty}
	otherTown := Place{Path: []string{"nanyang", "neixiang", "tuandong"}, Level: v1alpha1.LevelTownship}
	cases := []struct {
		name              string
		receiver, handler Place
		channel           v1alpha1.Channel
		skip              bool
		redirect          string
	}{
		{"the handler receives it", town, town, "Visit", false, ""},
		{"at the parent of the handler's level office", county, town, "Visit", false, ""},
		{"one level above that parent", city, town, "Visit", true, "shifosi"},
		{"a City department stands at the City's level", cityDept, town, "Visit", true, "shifosi"},
		{"a County department stands at the County's level", countyDept, town, "Visit", false, ""},
		{"a letter never skips", city, town, "Letter", false, ""},
		{"a call never skips", city, town, "Phone", false, ""},
		{"online never skips", city, town, "Online", false, ""},
		{"without a channel no visit", city, town, "", false, ""},
		{"a County department handler: its level office is the County, whose parent is the City", city, countyDept, "Visit", false, ""},
		{"the County handles it, visited at the City", city, county, "Visit", false, ""},
		{"a City department handler", city, cityDept, "Visit", false, ""},
		{"the City handles it, visited at a township", town, city, "Visit", false, ""},
		{"a sibling county is not above", otherCounty, town, "Visit", false, ""},
		{"a township of another county is not above", otherTown, town, "Visit", false, ""},
		{"a handler nowhere known", city, Place{}, "Visit", false, ""},
		{"a receiver nowhere known", Place{}, town, "Visit", false, ""},
	}
	for _, tc := range cases {
		skip, redirect := SkipLevel(tc.receiver, tc.channel, tc.handler)
		if skip != tc.skip || redirect != tc.redirect {
			t.Errorf("%s: SkipLevel = %v %q, want %v %q", tc.name, skip, redirect, tc.skip, tc.redirect)
		}
	}
}

// TestRouteWithLocality routes petitions received at an office that arose
// at another (its locality), by hand.
func TestRouteWithLocality(t *testing.T) {
	src := localityNetwork().Network()
	cases := []struct {
		name               string
		receiver, locality string
		category           string
		channel            v1alpha1.Channel
		want               Route
	}{
		{"without a locality the City keeps it (it runs no policy)", "nanyang", "", "land-acquisition", "Visit",
			Route{Office: "nanyang"}},
		{"the locality's table: its county's department, from the locality upward", "nanyang", "shifosi", "land-acquisition", "Visit",
			Route{Office: "zhenping-nr", Rule: "land-to-nr", Policy: "land"}},
		{"a county without the department: the City's", "nanyang", "tuandong", "land-acquisition", "Letter",
			Route{Office: "nanyang-nr", Rule: "land-to-nr", Policy: "land"}},
		{"no match: the locality handles it; a visit to the City skips the county", "nanyang", "shifosi", "road-repair", "Visit",
			Route{Office: "shifosi", SkipLevel: true, RedirectTo: "shifosi"}},
		{"the same by letter", "nanyang", "shifosi", "road-repair", "Letter",
			Route{Office: "shifosi"}},
		{"the same by phone", "nanyang", "shifosi", "road-repair", "Phone",
			Route{Office: "shifosi"}},
		{"the same online", "nanyang", "shifosi", "road-repair", "Online",
			Route{Office: "shifosi"}},
		{"a visit to the county above the locality is not skip-level", "zhenping", "shifosi", "road-repair", "Visit",
			Route{Office: "shifosi"}},
		{"a visit to a City department skips levels too", "nanyang-hr", "shifosi", "road-repair", "Visit",
			Route{Office: "shifosi", SkipLevel: true, RedirectTo: "shifosi"}},
		{"a visit to another county is not above it", "neixiang", "shifosi", "road-repair", "Visit",
			Route{Office: "shifosi"}},
		{"a target that does not resolve: the locality, fallback", "nanyang", "shifosi", "pollution", "Visit",
			Route{Office: "shifosi", Rule: "pollution-to-env", Policy: "land", Fallback: true, SkipLevel: true, RedirectTo: "shifosi"}},
		{"a City department handles it: never skip-level at the City", "nanyang", "tuandong", "wage-arrears", "Visit",
			Route{Office: "nanyang-hr", Rule: "wages-to-hr", Policy: "land"}},
		{"locality = receiver", "shifosi", "shifosi", "road-repair", "Visit",
			Route{Office: "shifosi"}},
		{"a township receiving for itself", "shifosi", "", "land-acquisition", "Visit",
			Route{Office: "zhenping-nr", Rule: "land-to-nr", Policy: "land"}},
	}
	for _, tc := range cases {
		recv, err := src.OfficeConfig(tc.receiver)
		if err != nil {
			t.Fatal(err)
		}
		p := Petition{Category: tc.category, Type: v1alpha1.PetitionAppeal, Channel: tc.channel}
		var loc *Handling
		if tc.locality != "" {
			lc, err := src.OfficeConfig(tc.locality)
			if err != nil {
				t.Fatal(err)
			}
			h, err := lc.Handling(p)
			if err != nil {
				t.Fatal(err)
			}
			loc = &h
		}
		got, err := recv.RouteWith(p, loc)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		tc.want.Copies = []string{}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

// TestLocalitySameAsReceiver: naming the receiving office as the locality
// answers exactly as naming none.
func TestLocalitySameAsReceiver(t *testing.T) {
	src := localityNetwork().Network()
	for _, office := range []string{"nanyang", "zhenping", "shifosi", "tuandong", "nanyang-hr"} {
		cfg, err := src.OfficeConfig(office)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []string{"land-acquisition", "pollution", "wage-arrears", "road-repair"} {
			for _, ch := range []v1alpha1.Channel{"", "Visit", "Letter"} {
				p := Petition{Category: c, Type: v1alpha1.PetitionReport, Channel: ch}
				own, err := cfg.Route(p)
				if err != nil {
					t.Fatal(err)
				}
				h, _ := cfg.Handling(p)
				via, _ := cfg.RouteWith(p, &h)
				if !reflect.DeepEqual(own, via) {
					t.Errorf("%s %s %s: %+v with itself as locality, %+v without", office, c, ch, via, own)
				}
				if own.SkipLevel {
					t.Errorf("%s %s %s: the locality itself is never skip-level: %+v", office, c, ch, own)
				}
			}
		}
	}
}

// TestDeadlinesWithLocality: Acceptance stays with the receiving office;
// the later stages follow the handler the locality finds, and are the
// same dates as when the locality receives it itself (one policy, no
// calendar).
func TestDeadlinesWithLocality(t *testing.T) {
	src := localityNetwork().Network()
	recv, _ := src.OfficeConfig("nanyang")
	shifosi, _ := src.OfficeConfig("shifosi")
	received := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		category string
		handler  string
		stages   []string
		skip     bool
	}{
		// The City transfers the land case to the county's department,
		// which accepts it: received Monday 03-02, + 15 days is Tuesday
		// 03-17, + 15 days 04-01, + 60 days Sunday 05-31, moved to Monday
		// 06-01.
		{"land-acquisition", "zhenping-nr", []string{"Transfer@nanyang due=2026-03-17", "Acceptance@zhenping-nr due=2026-04-01",
			"Handling@zhenping-nr due=2026-06-01", "Review@zhenping due=2026-07-31", "ReReview@nanyang due=2026-09-30"}, false},
		// The road case stays with the township: a visit to the City about
		// it skips the county, and runs as it would at the township: + 15
		// days is 03-17, + 60 days Saturday 05-16, moved to Monday 05-18.
		{"road-repair", "shifosi", []string{"Acceptance@shifosi due=2026-03-17", "Handling@shifosi due=2026-05-18",
			"Review@zhenping due=2026-07-17", "ReReview@nanyang due=2026-09-16"}, true},
	}
	for _, tc := range cases {
		p := Petition{Category: tc.category, Type: v1alpha1.PetitionAppeal, Channel: v1alpha1.ChannelVisit}
		h, err := shifosi.Handling(p)
		if err != nil {
			t.Fatal(err)
		}
		got, err := recv.Deadlines(DeadlineQuery{Received: received, Petition: &p, Locality: &h})
		if err != nil {
			t.Fatal(err)
		}
		local, err := shifosi.Deadlines(DeadlineQuery{Received: received, Petition: &p})
		if err != nil {
			t.Fatal(err)
		}
		var stages []string
		for _, s := range got.Stages {
			stages = append(stages, string(s.Name)+"@"+s.Office+" due="+s.Due)
		}
		if got.Handler != tc.handler || got.SkipLevel != tc.skip || !slices.Equal(stages, tc.stages) {
			t.Errorf("%s: handler %s, skipLevel %v, stages %q; want %s, %v, %q", tc.category, got.Handler, got.SkipLevel, stages, tc.handler, tc.skip, tc.stages)
		}
		// From the handler's Acceptance on, the dates are those of the
		// locality receiving it itself, which transfers it too when it is
		// not the handler.
		if n := len(local.Stages); !reflect.DeepEqual(got.Stages[len(got.Stages)-n+1:], local.Stages[1:]) {
			t.Errorf("%s: dates %+v, want those of the locality receiving it %+v", tc.category, got.Stages, local.Stages)
		}
	}
	// A report has Acceptance and Handling only.
	p := Petition{Category: "land-acquisition", Type: v1alpha1.PetitionReport}
	h, _ := shifosi.Handling(p)
	got, err := recv.Deadlines(DeadlineQuery{Received: received, Petition: &p, Locality: &h})
	if err != nil || len(got.Stages) != 3 || got.Stages[2].Name != v1alpha1.StageHandling || got.Stages[2].Office != "zhenping-nr" {
		t.Errorf("a report: %+v, %v", got, err)
	}
	if _, err := recv.Deadlines(DeadlineQuery{Received: received, Locality: &h}); err == nil || !strings.HasPrefix(err.Error(), "locality: ") {
		t.Errorf("a locality without a petition: %v", err)
	}
}

func TestCheckOfficeName(t *testing.T) {
	for name, ok := range map[string]bool{
		"shifosi-town": true, "a": true, strings.Repeat("a", 56): true,
		"": false, strings.Repeat("a", 57): false, "Shifosi": false, "-a": false, "a-": false, "a.b": false, "镇": false,
	} {
		err := CheckOfficeName("locality", name)
		if (err == nil) != ok || (err != nil && !strings.HasPrefix(err.Error(), "locality: ")) {
			t.Errorf("CheckOfficeName(%q) = %v", name, err)
		}
	}
}

func TestHandlingCheck(t *testing.T) {
	good := func() Handling {
		return Handling{Route: Route{Office: "shifosi", Copies: []string{}},
			Handler: Place{Path: []string{"nanyang", "zhenping", "shifosi"}, Level: v1alpha1.LevelTownship}}
	}
	h := good()
	if err := h.Check(); err != nil {
		t.Fatal(err)
	}
	for want, edit := range map[string]func(*Handling){
		"route.office: ":     func(h *Handling) { h.Route.Office = "Bad" },
		"route.copies[0]: ":  func(h *Handling) { h.Route.Copies = []string{""} },
		"route.copies: ":     func(h *Handling) { h.Route.Copies = make([]string, 257) },
		"handler.path: ends": func(h *Handling) { h.Handler.Path = []string{"nanyang", "zhenping"} },
		"handler.path: 9":    func(h *Handling) { h.Handler.Path = slices.Repeat([]string{"shifosi"}, 9) },
		"handler.path[0]: ":  func(h *Handling) { h.Handler.Path = []string{"x y", "shifosi"} },
		"handler.level: ":    func(h *Handling) { h.Handler.Level = "Province" },
		"route.rule, ":       func(h *Handling) { h.Route.Rule = strings.Repeat("r", 300) },
	} {
		h := good()
		edit(&h)
		if err := h.Check(); err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("want %q: %v", want, err)
		}
	}
}
