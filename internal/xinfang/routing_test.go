package xinfang

import (
	"slices"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/xinfang/petition-operator/api/v1alpha1"
)

func dept(name, parent string, code v1alpha1.DepartmentCode) *v1alpha1.Office {
	o := ofc(name, v1alpha1.LevelDepartment, parent)
	o.Spec.Department = code
	return o
}

// routingNetwork: a city with HumanResources and NaturalResources; county
// zhenping with its own NaturalResources; county neixiang with none.
func routingNetwork() *Network {
	return NewNetwork(
		ofc("nanyang", v1alpha1.LevelCity, ""),
		dept("nanyang-hr", "nanyang", "HumanResources"),
		dept("nanyang-nr", "nanyang", "NaturalResources"),
		ofc("zhenping", v1alpha1.LevelCounty, "nanyang"),
		dept("zhenping-nr", "zhenping", "NaturalResources"),
		ofc("shifosi", v1alpha1.LevelTownship, "zhenping"),
		ofc("neixiang", v1alpha1.LevelCounty, "nanyang"),
		ofc("tuandong", v1alpha1.LevelTownship, "neixiang"),
	)
}

func rule(name string, to v1alpha1.RouteTarget, categories ...string) v1alpha1.RoutingRule {
	return v1alpha1.RoutingRule{Name: name, Match: v1alpha1.RouteMatch{Categories: categories}, RouteTo: to}
}

func policy(name string, priority int32, sel v1alpha1.OfficeSelector, rules ...v1alpha1.RoutingRule) v1alpha1.RoutingPolicy {
	return v1alpha1.RoutingPolicy{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1alpha1.RoutingPolicySpec{Priority: priority, OfficeSelector: sel, Rules: rules}}
}

func compile(t *testing.T, idx *Network, name string, policies ...v1alpha1.RoutingPolicy) RoutingTable {
	t.Helper()
	o, ok := idx.Get(name)
	if !ok {
		t.Fatalf("no office %s", name)
	}
	path, problem := idx.Path(o)
	if problem != nil {
		t.Fatal(problem.Message)
	}
	return CompileRouting(o, path, policies, idx)
}

func TestRelativeTargets(t *testing.T) {
	idx := routingNetwork()
	cases := []struct {
		office string
		to     v1alpha1.RouteTarget
		want   string
		reason string
	}{
		{"shifosi", v1alpha1.RouteTarget{Department: "NaturalResources"}, "zhenping-nr", ""},
		{"shifosi", v1alpha1.RouteTarget{Department: "NaturalResources", Scope: "County"}, "zhenping-nr", ""},
		{"shifosi", v1alpha1.RouteTarget{Department: "NaturalResources", Scope: "City"}, "nanyang-nr", ""},
		{"shifosi", v1alpha1.RouteTarget{Department: "HumanResources"}, "nanyang-hr", ""},
		{"tuandong", v1alpha1.RouteTarget{Department: "NaturalResources"}, "nanyang-nr", ""},
		{"tuandong", v1alpha1.RouteTarget{Department: "NaturalResources", Scope: "County"}, "tuandong",
			"no NaturalResources department office under neixiang"},
		{"nanyang", v1alpha1.RouteTarget{Department: "NaturalResources", Scope: "County"}, "nanyang",
			"no County above office nanyang to find department NaturalResources under"},
		{"shifosi", v1alpha1.RouteTarget{Department: "Environment"}, "shifosi",
			"no Environment department office under shifosi or zhenping or nanyang"},
		{"zhenping-nr", v1alpha1.RouteTarget{Department: "NaturalResources"}, "zhenping-nr", ""},
		{"shifosi", v1alpha1.RouteTarget{Office: "nanyang-hr"}, "nanyang-hr", ""},
		{"shifosi", v1alpha1.RouteTarget{Office: "gone"}, "shifosi", `office "gone" does not exist`},
	}
	for _, tc := range cases {
		table := compile(t, idx, tc.office, policy("p", 0, v1alpha1.OfficeSelector{}, rule("r", tc.to)))
		got := table.Rules[0]
		if got.Office != tc.want || got.Unresolved != tc.reason {
			t.Errorf("%s → %+v: got %s (%q), want %s (%q)", tc.office, tc.to, got.Office, got.Unresolved, tc.want, tc.reason)
		}
		if got.Address != "http://desk.office-"+tc.want+".svc" {
			t.Errorf("address = %s", got.Address)
		}
	}
}

func TestEffectiveRuleOrderAndSelection(t *testing.T) {
	idx := routingNetwork()
	town, _ := idx.Get("shifosi")
	town.Spec.Routing.Rules = []v1alpha1.RoutingRule{rule("own", v1alpha1.RouteTarget{Office: "zhenping"}, "local")}
	town.Labels = map[string]string{"pilot": "yes"}
	policies := []v1alpha1.RoutingPolicy{
		policy("b-low", 10, v1alpha1.OfficeSelector{}, rule("b", v1alpha1.RouteTarget{Office: "nanyang"})),
		policy("a-low", 10, v1alpha1.OfficeSelector{}, rule("a", v1alpha1.RouteTarget{Office: "nanyang"})),
		policy("high", 100, v1alpha1.OfficeSelector{Levels: []v1alpha1.Level{"Township"}}, rule("h", v1alpha1.RouteTarget{Office: "nanyang"})),
		policy("counties", 500, v1alpha1.OfficeSelector{Levels: []v1alpha1.Level{"County"}}, rule("c", v1alpha1.RouteTarget{Office: "nanyang"})),
		policy("other-subtree", 500, v1alpha1.OfficeSelector{SubtreeOf: "neixiang"}, rule("o", v1alpha1.RouteTarget{Office: "nanyang"})),
		policy("my-subtree", 200, v1alpha1.OfficeSelector{SubtreeOf: "zhenping"}, rule("s", v1alpha1.RouteTarget{Office: "nanyang"})),
		policy("labelled", 300, v1alpha1.OfficeSelector{MatchLabels: map[string]string{"pilot": "yes"}}, rule("l", v1alpha1.RouteTarget{Office: "nanyang"})),
		policy("unlabelled", 300, v1alpha1.OfficeSelector{MatchLabels: map[string]string{"pilot": "no"}}, rule("u", v1alpha1.RouteTarget{Office: "nanyang"})),
	}
	table := compile(t, idx, "shifosi", policies...)
	var got []string
	for _, r := range table.Rules {
		got = append(got, r.Policy+"/"+r.Name)
	}
	want := []string{"shifosi/own", "labelled/l", "my-subtree/s", "high/h", "a-low/a", "b-low/b"}
	if !slices.Equal(got, want) {
		t.Errorf("effective rules = %v, want %v", got, want)
	}
}

func TestRoute(t *testing.T) {
	idx := routingNetwork()
	cont := rule("land-copy", v1alpha1.RouteTarget{Office: "nanyang-nr"}, "land-acquisition")
	cont.Continue = true
	appealsOnly := rule("appeals", v1alpha1.RouteTarget{Department: "NaturalResources"}, "land-acquisition")
	appealsOnly.Match.Types = []v1alpha1.PetitionType{"Appeal"}
	visits := rule("visits", v1alpha1.RouteTarget{Office: "zhenping"}, "land-acquisition")
	visits.Match.Channels = []v1alpha1.Channel{"Visit"}
	broken := rule("env", v1alpha1.RouteTarget{Department: "Environment"}, "pollution")
	table := compile(t, idx, "shifosi", policy("land", 100, v1alpha1.OfficeSelector{}, cont, appealsOnly, visits, broken))

	cases := []struct {
		name string
		p    Petition
		want Route
	}{
		{"first match wins, continue copies to the next match", Petition{Category: "land-acquisition", Type: "Appeal", Channel: "Visit"},
			Route{Office: "nanyang-nr", Rule: "land-copy", Policy: "land", Copies: []string{"zhenping-nr"}}},
		{"types filter: the report skips the appeals rule", Petition{Category: "land-acquisition", Type: "Report", Channel: "Visit"},
			Route{Office: "nanyang-nr", Rule: "land-copy", Policy: "land", Copies: []string{"zhenping"}}},
		{"channels filter: a letter matches neither later rule", Petition{Category: "land-acquisition", Type: "Report", Channel: "Letter"},
			Route{Office: "nanyang-nr", Rule: "land-copy", Policy: "land", Copies: []string{}}},
		{"no match stays with the receiving office", Petition{Category: "wage-arrears", Type: "Appeal"},
			Route{Office: "shifosi", Copies: []string{}}},
		{"an unresolved target falls back to the receiving office", Petition{Category: "pollution", Type: "Report"},
			Route{Office: "shifosi", Rule: "env", Policy: "land", Fallback: true, Copies: []string{}}},
	}
	for _, tc := range cases {
		got := table.Route("shifosi", tc.p)
		if got.Office != tc.want.Office || got.Rule != tc.want.Rule || got.Policy != tc.want.Policy ||
			got.Fallback != tc.want.Fallback || !slices.Equal(got.Copies, tc.want.Copies) {
			t.Errorf("%s: got %+v, want %+v", tc.name, got, tc.want)
		}
	}
	if n := len(table.Unresolved()); n != 1 {
		t.Errorf("unresolved rules = %d, want 1", n)
	}
}

func TestPetitionValidate(t *testing.T) {
	for p, want := range map[Petition]string{
		{Type: "Appeal"}:                                   "category: required",
		{Category: "land", Type: "Complaint"}:              `type: "Complaint" is not one of Report, Appeal, Inquiry`,
		{Category: "land", Type: "Appeal", Channel: "Fax"}: `channel: "Fax" is not one of Visit, Letter, Phone, Online`,
	} {
		if err := p.Validate(); err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%+v: got %v, want %q", p, err, want)
		}
	}
	if err := (Petition{Category: "land", Type: "Inquiry"}).Validate(); err != nil {
		t.Error(err)
	}
}

func TestQuote(t *testing.T) {
	long := strings.Repeat("a", 8<<10)
	for in, want := range map[string]string{
		"":                      `""`,
		"Fax":                   `"Fax"`,
		strings.Repeat("a", 64): `"` + strings.Repeat("a", 64) + `"`,
		long:                    `"` + strings.Repeat("a", 64) + `…"`,
		strings.Repeat("信", 30): `"` + strings.Repeat("信", 21) + `…"`, // 63 bytes: the 22nd character would cut
		"a\x00b":                `"a\x00b"`,
	} {
		if got := Quote(in); got != want {
			t.Errorf("Quote(%.20q) = %s, want %s", in, got, want)
		}
	}
	err := Petition{Category: "c", Type: v1alpha1.PetitionType(long)}.Validate()
	if err == nil || len(err.Error()) > 200 || !strings.Contains(err.Error(), `aaa…"`) {
		t.Errorf("Validate of a long type = %v", err)
	}
}
