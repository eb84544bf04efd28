package xinfang

import (
	"reflect"
	"slices"
	"testing"

	"github.com/xinfang/petition-operator/api/v1alpha1"
)

// villageNetwork is localityNetwork with two villages under shifosi and one
// under tuandong.
func villageNetwork() *Snapshot {
	s := localityNetwork()
	for _, v := range [][2]string{{"xiaozhuang", "shifosi"}, {"dazhuang", "shifosi"}, {"liuzhuang", "tuandong"}} {
		s.Offices = append(s.Offices, *ofc(v[0], v1alpha1.LevelVillage, v[1]))
	}
	return s
}

func TestVillageCompilesToItsPlaceAlone(t *testing.T) {
	src := villageNetwork().Network()
	c, err := src.Compile("xiaozhuang", CompileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"nanyang", "zhenping", "shifosi", "xiaozhuang"}; !slices.Equal(c.Path, want) {
		t.Errorf("path %v, want %v", c.Path, want)
	}
	if c.Problem != nil || c.Data != nil || c.Escalation != nil || c.Image != "" {
		t.Errorf("a Village compiled to more than its place: problem %v, data %d bytes, escalation %v, image %q", c.Problem, len(c.Data), c.Escalation, c.Image)
	}
	// What petitionctl asks of a village is its township's configuration.
	cfg, err := src.OfficeConfig("xiaozhuang")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Office != "shifosi" {
		t.Errorf("the configuration of village xiaozhuang is office %s's, want shifosi's", cfg.Office)
	}
}

func TestTownshipListsItsVillagesByNameOnly(t *testing.T) {
	s := villageNetwork()
	cfg, err := s.Network().OfficeConfig("shifosi")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"dazhuang", "xiaozhuang"}; !slices.Equal(cfg.Villages, want) {
		t.Errorf("villages %v, want %v", cfg.Villages, want)
	}
	county, err := s.Network().OfficeConfig("zhenping")
	if err != nil {
		t.Fatal(err)
	}
	if county.Villages != nil {
		t.Errorf("a County lists villages %v", county.Villages)
	}
	// A village's display name, labels or division code change nothing the
	// township's desk runs.
	before, err := s.Network().Compile("shifosi", CompileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range s.Offices {
		if s.Offices[i].Name == "xiaozhuang" {
			s.Offices[i].Spec.DisplayName = "小庄村"
			s.Offices[i].Spec.DivisionCode = "411324101"
			s.Offices[i].Labels = map[string]string{"area": "north"}
		}
	}
	after, err := s.Network().Compile("shifosi", CompileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if before.Hash != after.Hash {
		t.Errorf("a village's display name changed its township's configuration: %s → %s", before.Hash, after.Hash)
	}
}

func TestVillageRoutesAsItsTownship(t *testing.T) {
	src := villageNetwork().Network()
	county, err := src.OfficeConfig("zhenping")
	if err != nil {
		t.Fatal(err)
	}
	city, err := src.OfficeConfig("nanyang")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []Petition{
		{Category: "land-acquisition", Type: v1alpha1.PetitionAppeal, Channel: v1alpha1.ChannelVisit},
		{Category: "pollution", Type: v1alpha1.PetitionReport, Channel: v1alpha1.ChannelVisit},
		{Category: "pensions", Type: v1alpha1.PetitionInquiry, Channel: v1alpha1.ChannelVisit},
	} {
		for _, recv := range []*OfficeConfig{county, city} {
			routeAt := func(locality string) Route {
				t.Helper()
				local, err := src.OfficeConfig(locality)
				if err != nil {
					t.Fatal(err)
				}
				h, err := local.Handling(p)
				if err != nil {
					t.Fatal(err)
				}
				r, err := recv.RouteWith(p, &h)
				if err != nil {
					t.Fatal(err)
				}
				return r
			}
			village, town := routeAt("xiaozhuang"), routeAt("shifosi")
			if !reflect.DeepEqual(village, town) {
				t.Errorf("%s at %s: from village xiaozhuang %+v, from its township %+v", p.Category, recv.Office, village, town)
			}
		}
	}
	// An unrouted matter stays with the township: at the City a visit
	// skips the county, and is sent back to the township, never the
	// village.
	local, _ := src.OfficeConfig("xiaozhuang")
	h, _ := local.Handling(Petition{Category: "pensions", Type: v1alpha1.PetitionInquiry, Channel: v1alpha1.ChannelVisit})
	r, _ := city.RouteWith(Petition{Category: "pensions", Type: v1alpha1.PetitionInquiry, Channel: v1alpha1.ChannelVisit}, &h)
	if r.Office != "shifosi" || !r.SkipLevel || r.RedirectTo != "shifosi" {
		t.Errorf("unrouted from a village, visited at the City: %+v; want office shifosi, skipLevel to shifosi", r)
	}
}

func TestVillagePlaceStandsAtItsTownship(t *testing.T) {
	city := Place{Path: []string{"nanyang"}, Level: v1alpha1.LevelCity}
	county := Place{Path: []string{"nanyang", "zhenping"}, Level: v1alpha1.LevelCounty}
	village := Place{Path: []string{"nanyang", "zhenping", "shifosi", "xiaozhuang"}, Level: v1alpha1.LevelVillage}
	if skip, to := SkipLevel(city, v1alpha1.ChannelVisit, village); !skip || to != "shifosi" {
		t.Errorf("a village handler visited at the City: skip %v to %q, want the township shifosi", skip, to)
	}
	if skip, _ := SkipLevel(county, v1alpha1.ChannelVisit, village); skip {
		t.Error("a village handler visited at its county skips a level")
	}
}

func TestVillageIsNeverAHandler(t *testing.T) {
	s := villageNetwork()
	idx := NetworkOf(s.Offices)
	table := compile(t, idx, "zhenping", policy("to-village", 1, v1alpha1.OfficeSelector{Levels: []v1alpha1.Level{v1alpha1.LevelCounty}},
		rule("roads", v1alpha1.RouteTarget{Office: "xiaozhuang"}, "road-repair")))
	r := table.Rules[0]
	if r.Office != "shifosi" || r.Unresolved != "" || r.TargetLevel != v1alpha1.LevelTownship {
		t.Errorf("a route to village xiaozhuang resolves to %s (%s, %q), want its township shifosi", r.Office, r.TargetLevel, r.Unresolved)
	}
}

func TestNoSelectorSelectsAVillage(t *testing.T) {
	s := villageNetwork()
	idx := NetworkOf(s.Offices)
	every := policy("every", 1, v1alpha1.OfficeSelector{}, rule("r", v1alpha1.RouteTarget{Department: "HumanResources"}, "x"))
	villages := policy("villages", 1, v1alpha1.OfficeSelector{Levels: []v1alpha1.Level{v1alpha1.LevelVillage}}, rule("r", v1alpha1.RouteTarget{Department: "HumanResources"}, "x"))
	if rep := ReportPolicy(&every, idx); rep.Selected != idx.Len()-3 {
		t.Errorf("a policy that selects every office selects %d of %d, want all but the 3 villages", rep.Selected, idx.Len())
	}
	if rep := ReportPolicy(&villages, idx); rep.Selected != 0 {
		t.Errorf("a policy of level Village selects %d offices, want none", rep.Selected)
	}
	if got := SelectedBy(idx, &every.Spec.OfficeSelector, nil); slices.Contains(got, "xiaozhuang") {
		t.Errorf("SelectedBy lists village xiaozhuang: %v", got)
	}
}

func TestCheckLocality(t *testing.T) {
	for _, l := range []v1alpha1.Level{v1alpha1.LevelCity, v1alpha1.LevelCounty, v1alpha1.LevelTownship, v1alpha1.LevelVillage, ""} {
		if err := CheckLocality("x", l); err != nil {
			t.Errorf("CheckLocality(%s) = %v", l, err)
		}
	}
	err := CheckLocality("city-land-bureau", v1alpha1.LevelDepartment)
	want := `locality "city-land-bureau" is a Department; a locality is the place the matter arose: a City, County, Township or Village`
	if err == nil || err.Error() != want {
		t.Errorf("CheckLocality(Department) = %v, want %q", err, want)
	}
}

func TestHandlingSaysWhereTheLocalityStands(t *testing.T) {
	src := villageNetwork().Network()
	cfg, err := src.OfficeConfig("zhenping-nr")
	if err != nil {
		t.Fatal(err)
	}
	h, err := cfg.Handling(Petition{Category: "x", Type: v1alpha1.PetitionAppeal})
	if err != nil {
		t.Fatal(err)
	}
	if h.Locality.Level != v1alpha1.LevelDepartment || !slices.Equal(h.Locality.Path, []string{"nanyang", "zhenping", "zhenping-nr"}) {
		t.Errorf("locality %+v", h.Locality)
	}
	if err := h.Check(); err != nil {
		t.Errorf("Check: %v", err)
	}
	h.Locality.Level = "Province"
	if err := h.Check(); err == nil || err.Error() != `locality.level: "Province" is not one of City, County, Township, Village, Department` {
		t.Errorf("Check of an unknown locality level: %v", err)
	}
}

func TestTreeShowsVillagesUnderTheirTownship(t *testing.T) {
	rows := Tree(villageNetwork().Offices)
	var order []string
	for _, r := range rows {
		order = append(order, r.Prefix+r.Office.Name)
		if r.Problem != nil {
			t.Errorf("%s: %v", r.Office.Name, r.Problem.Message)
		}
	}
	i := slices.Index(order, "│  └─ shifosi")
	if i < 0 || order[i+1] != "│     ├─ dazhuang" || order[i+2] != "│     └─ xiaozhuang" {
		t.Errorf("tree:\n%v", order)
	}
}
