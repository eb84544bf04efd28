package xinfang

import (
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/xinfang/petition-operator/api/v1alpha1"
)

// jointNetwork is handlerNetwork with the City a joint reception centre
// where its human resources department and the county's natural resources
// department are stationed, and receptions windows on both.
func jointNetwork(stationed ...v1alpha1.OfficeName) *Snapshot {
	s := handlerNetwork()
	for i := range s.Offices {
		o := &s.Offices[i]
		switch o.Name {
		case "t-city":
			if stationed != nil {
				o.Spec.JointReception = &v1alpha1.JointReception{Stationed: stationed}
			}
		case "t-hr", "t-nr":
			o.Spec.ReceptionWindows = []v1alpha1.ReceptionWindow{{Name: "hall", Channels: []v1alpha1.Channel{v1alpha1.ChannelVisit},
				Weekdays: []string{"monday:friday"}, Times: []v1alpha1.TimeRange{{Start: "09:00", End: "12:00"}}}}
		}
	}
	return s
}

func TestJointReceptionCompiles(t *testing.T) {
	cfg, err := jointNetwork("t-nr", "t-hr").Network().OfficeConfig("t-city")
	if err != nil {
		t.Fatal(err)
	}
	jr := cfg.JointReception
	if jr == nil || len(jr.Stationed) != 2 {
		t.Fatalf("joint reception %+v, want t-nr and t-hr", jr)
	}
	if s := jr.Stationed[0]; s.Office != "t-nr" || s.Parent != "t-county" || s.Department != "NaturalResources" ||
		len(s.ReceptionWindows) != 1 || s.ReceptionWindows[0].Name != "hall" {
		t.Errorf("stationed[0] = %+v", s)
	}
	if !cfg.Stationed("t-hr") || !cfg.Stationed("t-nr") || cfg.Stationed("t-water") || cfg.Stationed("") {
		t.Errorf("Stationed: t-hr %v, t-nr %v, t-water %v", cfg.Stationed("t-hr"), cfg.Stationed("t-nr"), cfg.Stationed("t-water"))
	}
	plain, err := jointNetwork().Network().OfficeConfig("t-city")
	if err != nil {
		t.Fatal(err)
	}
	if plain.JointReception != nil || plain.Stationed("t-hr") {
		t.Errorf("an office without spec.jointReception has %+v", plain.JointReception)
	}
}

func TestJointReceptionRefusesWhatDoesNotFit(t *testing.T) {
	s := jointNetwork()
	s.Offices = append(s.Offices, *dept("u-land", "u-city", "NaturalResources"), *ofc("u-county", v1alpha1.LevelCounty, "u-city"),
		*dept("u-county-nr", "u-county", "NaturalResources"), *dept("v-orphan-nr", "v-county", "NaturalResources"))
	for _, tt := range []struct {
		name      string
		office    string
		stationed v1alpha1.OfficeName
		reason    string
		stalled   bool
		message   string
	}{
		{"missing", "t-city", "t-nowhere", v1alpha1.ReasonStationedMissing, false, `office "t-nowhere" does not exist; a stationed office is a Department of "t-city" or of a County under it`},
		{"not a department", "t-city", "t-town", v1alpha1.ReasonInvalidStationed, true, `office "t-town" is a Township; a stationed office is a Department of "t-city" or of a County under it`},
		{"a county", "t-city", "t-county", v1alpha1.ReasonInvalidStationed, true, `office "t-county" is a County; a stationed office is a Department of "t-city" or of a County under it`},
		{"another city's department", "t-city", "u-land", v1alpha1.ReasonInvalidStationed, true, `office "u-land" is a Department of "u-city"; a stationed office is a Department of "t-city" or of a County under it`},
		{"a department of an unrelated county", "t-city", "u-county-nr", v1alpha1.ReasonInvalidStationed, true, `office "u-county-nr" is a Department of "u-county"; a stationed office is a Department of "t-city" or of a County under it`},
		{"a county's centre hosts no city department", "t-county", "t-hr", v1alpha1.ReasonInvalidStationed, true, `office "t-hr" is a Department of "t-city"; a stationed office is a Department of "t-county" or of a County under it`},
		{"a department whose county is not applied yet", "t-city", "v-orphan-nr", v1alpha1.ReasonStationedMissing, false, `office "v-orphan-nr" is a Department of "v-county", which does not exist; a stationed office is a Department of "t-city" or of a County under it`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for i := range s.Offices {
				if s.Offices[i].Name == tt.office {
					s.Offices[i].Spec.JointReception = &v1alpha1.JointReception{Stationed: []v1alpha1.OfficeName{"t-hr", tt.stationed}}
					if tt.office == "t-county" {
						s.Offices[i].Spec.JointReception.Stationed = []v1alpha1.OfficeName{"t-nr", tt.stationed}
					}
					defer func() { s.Offices[i].Spec.JointReception = nil }()
				}
			}
			src := s.Network()
			o, _ := src.Get(tt.office)
			c, err := Compile(src, o, CompileOptions{})
			if err != nil {
				t.Fatal(err)
			}
			p := c.Problem
			if p == nil {
				t.Fatal("compiled")
			}
			if p.Field != "spec.jointReception.stationed[1]" || p.Reason != tt.reason || p.Stalled != tt.stalled || p.Message != tt.message {
				t.Errorf("problem %+v\nwant field spec.jointReception.stationed[1], reason %s, stalled %v, message %q", p, tt.reason, tt.stalled, tt.message)
			}
			// petitionctl validate and the webhooks say the same, a missing
			// office as pending (admitted with a warning).
			f := CheckOffice(o, s.Network())
			list, message := f.Errors, tt.message
			if !tt.stalled {
				list, message = f.Pending, `does not exist`
			}
			if len(list) != 1 || list[0].Field != "spec.jointReception.stationed[1]" || !strings.Contains(list[0].Error(), message) {
				t.Errorf("CheckOffice: errors %v, pending %v", f.Errors, f.Pending)
			}
		})
	}
}

func TestJointReceptionOnlyOnACityOrCounty(t *testing.T) {
	s := jointNetwork()
	for i := range s.Offices {
		if s.Offices[i].Name == "t-town" {
			s.Offices[i].Spec.JointReception = &v1alpha1.JointReception{Stationed: []v1alpha1.OfficeName{"t-nr"}}
		}
	}
	o, _ := s.Network().Get("t-town")
	f := CheckOffice(o, s.Network())
	if len(f.Errors) != 1 || f.Errors[0].Type != field.ErrorTypeForbidden || f.Errors[0].Field != "spec.jointReception" {
		t.Errorf("errors %v", f.Errors)
	}
}

func TestIndexFindsTheStations(t *testing.T) {
	s := jointNetwork("t-nr", "t-hr")
	idx := NetworkOf(s.Offices)
	if got := idx.Stations("t-nr"); !slices.Equal(got, []string{"t-city"}) {
		t.Errorf("Stations(t-nr) = %v", got)
	}
	city, _ := idx.Get("t-city")
	moved := city.DeepCopy()
	moved.Spec.JointReception.Stationed = []v1alpha1.OfficeName{"t-hr"}
	idx.Upsert(moved)
	if got := idx.Stations("t-nr"); got != nil {
		t.Errorf("after t-nr left the centre, Stations(t-nr) = %v", got)
	}
	idx.Delete("t-city")
	if got := idx.Stations("t-hr"); got != nil {
		t.Errorf("after the centre went, Stations(t-hr) = %v", got)
	}
}

// TestJointReceptionHandlesOnTheSpot: a visit received at the City's joint
// reception centre whose handler is stationed there is accepted on the
// spot — no Transfer stage, never skip-level; the same visit at an office
// that is no joint centre, or a letter, is transferred (Arts. 21–22).
func TestJointReceptionHandlesOnTheSpot(t *testing.T) {
	visit := func(category string) *Petition {
		return &Petition{Category: category, Type: v1alpha1.PetitionAppeal, Channel: v1alpha1.ChannelVisit}
	}
	for _, tt := range []struct {
		name      string
		stationed []v1alpha1.OfficeName
		petition  *Petition
		stages    []string
	}{{
		// 02-27 + 15d = 03-14 (Saturday) → 03-16.
		name: "stationed city department", stationed: []v1alpha1.OfficeName{"t-hr"}, petition: visit("wage-arrears"),
		stages: []string{"Acceptance@t-hr due=2026-03-16"},
	}, {
		name: "stationed county department", stationed: []v1alpha1.OfficeName{"t-nr"}, petition: visit("land-acquisition"),
		stages: []string{"Acceptance@t-nr due=2026-03-16"},
	}, {
		name: "not a joint centre", petition: visit("wage-arrears"),
		stages: []string{"Transfer@t-city due=2026-03-16", "Acceptance@t-hr due=2026-03-31"},
	}, {
		name: "a handler not stationed there", stationed: []v1alpha1.OfficeName{"t-nr"}, petition: visit("wage-arrears"),
		stages: []string{"Transfer@t-city due=2026-03-16", "Acceptance@t-hr due=2026-03-31"},
	}, {
		name: "a letter is transferred", stationed: []v1alpha1.OfficeName{"t-hr"},
		petition: &Petition{Category: "wage-arrears", Type: v1alpha1.PetitionAppeal, Channel: v1alpha1.ChannelLetter},
		stages:   []string{"Transfer@t-city due=2026-03-16", "Acceptance@t-hr due=2026-03-31"},
	}} {
		t.Run(tt.name, func(t *testing.T) {
			src := jointNetwork(tt.stationed...).Network()
			cfgs := configs(t, src, "t-city", "t-town")
			city, town := cfgs[0], cfgs[1]
			h, err := town.Handling(*tt.petition)
			if err != nil {
				t.Fatal(err)
			}
			route, err := city.RouteWith(*tt.petition, &h)
			if err != nil {
				t.Fatal(err)
			}
			if route.SkipLevel {
				t.Errorf("route %+v is skip-level", route)
			}
			ans, err := city.Deadlines(DeadlineQuery{Received: date(t, "2026-02-27"), Petition: tt.petition, Locality: &h})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, s := range ans.Stages[:len(tt.stages)] {
				got = append(got, brief(s))
			}
			if !slices.Equal(got, tt.stages) || ans.SkipLevel {
				t.Errorf("stages %v (skipLevel %v), want them to start %v", got, ans.SkipLevel, tt.stages)
			}
			if n := ans.Stages[len(tt.stages)]; n.Name != v1alpha1.StageHandling || n.Office != route.Office {
				t.Errorf("after %v: %s, want Handling at %s", tt.stages, brief(n), route.Office)
			}
		})
	}
}

// TestStationedHandlerIsNeverSkipLevel: RouteWith decides no skip-level
// visit for a handler stationed at the receiving office, whatever the
// places say (a configuration given by hand: compiling refuses a stationed
// office that could be skipped to).
func TestStationedHandlerIsNeverSkipLevel(t *testing.T) {
	city := &OfficeConfig{Office: "nanyang", Level: v1alpha1.LevelCity, Path: []string{"nanyang"}}
	h := &Handling{Route: Route{Office: "shifosi", Copies: []string{}},
		Handler: Place{Path: []string{"nanyang", "zhenping", "shifosi"}, Level: v1alpha1.LevelTownship}}
	p := Petition{Category: "x", Type: v1alpha1.PetitionAppeal, Channel: v1alpha1.ChannelVisit}
	if r, _ := city.RouteWith(p, h); !r.SkipLevel || r.RedirectTo != "shifosi" {
		t.Fatalf("without a joint centre: %+v, want skip-level to shifosi", r)
	}
	city.JointReception = &JointReception{Stationed: []StationedDepartment{{Office: "shifosi"}}}
	if r, _ := city.RouteWith(p, h); r.SkipLevel || r.RedirectTo != "" {
		t.Errorf("at a joint centre hosting the handler: %+v, want no skip-level", r)
	}
}
