// Package netgen generates a synthetic petition network of any size: one
// City, its Counties, their Townships and Departments under the City and the
// Counties, with routing policies, an escalation policy and a holiday
// calendar. The same options and seed always give the same network. The
// benchmarks (make bench and the go test benchmarks) use it to measure the
// operator and the routing compiler at the scale of a city.
package netgen

import (
	"fmt"
	"math/rand/v2"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/xinfang"
)

// Options size the network.
type Options struct {
	// Offices is the total number of offices, at least 1.
	Offices int
	// Counties and Townships are their numbers; zero picks one County per
	// 100 offices and one Township per 5, so 2,000 offices are 1 City, 20
	// Counties, 400 Townships and 1,579 Departments. The Departments are
	// the rest.
	Counties, Townships int
	// Seed chooses the reception windows and time zones; the structure does
	// not depend on it.
	Seed uint64
	// Prefix starts every object name, so that two networks can share a
	// cluster.
	Prefix string
}

// Departments every parent has, so that the routing policies resolve.
var wellKnownDepartments = []v1alpha1.DepartmentCode{"HumanResources", "NaturalResources", "Environment", "Organization"}

// Generate returns the network of o, its offices in an order in which they
// can be applied parents first.
func Generate(o Options) (*xinfang.Snapshot, error) {
	if o.Offices < 1 {
		return nil, fmt.Errorf("offices: %d: at least 1 (the City) is needed", o.Offices)
	}
	if o.Counties == 0 {
		o.Counties = max(o.Offices/100, min(o.Offices-1, 1))
	}
	if o.Townships == 0 {
		o.Townships = o.Offices / 5
	}
	if o.Counties < 0 || o.Townships < 0 || 1+o.Counties+o.Townships > o.Offices {
		return nil, fmt.Errorf("offices: %d cannot hold 1 City, %d Counties and %d Townships", o.Offices, o.Counties, o.Townships)
	}
	if o.Townships > 0 && o.Counties == 0 {
		return nil, fmt.Errorf("townships: %d need at least one County", o.Townships)
	}
	rng := rand.New(rand.NewPCG(o.Seed, o.Seed^0x9e3779b97f4a7c15))
	name := func(format string, args ...any) string { return o.Prefix + fmt.Sprintf(format, args...) }

	n := &xinfang.Snapshot{}
	calendar := name("calendar-2026")
	escalation := name("escalation")
	office := func(officeName string, level v1alpha1.Level, parent string) v1alpha1.Office {
		return v1alpha1.Office{
			TypeMeta:   metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion.String(), Kind: "Office"},
			ObjectMeta: metav1.ObjectMeta{Name: officeName},
			Spec: v1alpha1.OfficeSpec{
				Level:            level,
				Parent:           v1alpha1.OfficeName(parent),
				DisplayName:      officeName,
				TimeZone:         timeZones[rng.IntN(len(timeZones))],
				CalendarRef:      v1alpha1.ObjectName(calendar),
				ReceptionWindows: windows(rng),
				Escalation:       v1alpha1.OfficeEscalation{PolicyRef: v1alpha1.ObjectName(escalation)},
			},
		}
	}
	city := name("city")
	n.Offices = append(n.Offices, office(city, v1alpha1.LevelCity, ""))
	parents := []string{city}
	for c := range o.Counties {
		county := name("county-%03d", c)
		n.Offices = append(n.Offices, office(county, v1alpha1.LevelCounty, city))
		parents = append(parents, county)
	}
	for t := range o.Townships {
		n.Offices = append(n.Offices, office(name("town-%04d", t), v1alpha1.LevelTownship, parents[1+t%o.Counties]))
	}
	departments := o.Offices - len(n.Offices)
	for d := range departments {
		parent := parents[d%len(parents)]
		k := d / len(parents)
		code := v1alpha1.DepartmentCode(fmt.Sprintf("Bureau%04d", k))
		if k < len(wellKnownDepartments) {
			code = wellKnownDepartments[k]
		}
		dept := office(fmt.Sprintf("%s-dept-%04d", parent, k), v1alpha1.LevelDepartment, parent)
		dept.Spec.Department = code
		n.Offices = append(n.Offices, dept)
	}

	n.HolidayCalendars = []v1alpha1.HolidayCalendar{{
		TypeMeta:   metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion.String(), Kind: "HolidayCalendar"},
		ObjectMeta: metav1.ObjectMeta{Name: calendar},
		Spec: v1alpha1.HolidayCalendarSpec{
			Holidays: []v1alpha1.Holiday{
				{Name: "New Year", From: "2026-01-01", To: "2026-01-03"},
				{Name: "Spring Festival", From: "2026-02-15", To: "2026-02-23"},
				{Name: "National Day", From: "2026-10-01", To: "2026-10-07"},
			},
			Workdays: []v1alpha1.Date{"2026-01-04", "2026-02-14", "2026-10-10"},
		},
	}}
	n.EscalationPolicies = []v1alpha1.EscalationPolicy{{
		TypeMeta:   metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion.String(), Kind: "EscalationPolicy"},
		ObjectMeta: metav1.ObjectMeta{Name: escalation},
		Spec: v1alpha1.EscalationPolicySpec{
			Stages: []v1alpha1.EscalationStage{
				{Name: v1alpha1.StageAcceptance, Limit: "15d"},
				{Name: v1alpha1.StageHandling, Limit: "60d", Extension: "30d"},
				{Name: v1alpha1.StageReview, RequestWindow: "30d", Limit: "30d", Handler: v1alpha1.HandlerParent},
			},
		},
	}}
	policy := func(policyName string, priority int32, sel v1alpha1.OfficeSelector, rules ...v1alpha1.RoutingRule) v1alpha1.RoutingPolicy {
		return v1alpha1.RoutingPolicy{
			TypeMeta:   metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion.String(), Kind: "RoutingPolicy"},
			ObjectMeta: metav1.ObjectMeta{Name: policyName},
			Spec:       v1alpha1.RoutingPolicySpec{Priority: priority, OfficeSelector: sel, Rules: rules},
		}
	}
	rule := func(ruleName string, to v1alpha1.RouteTarget, categories ...string) v1alpha1.RoutingRule {
		return v1alpha1.RoutingRule{Name: ruleName, Match: v1alpha1.RouteMatch{Categories: categories}, RouteTo: to}
	}
	n.RoutingPolicies = []v1alpha1.RoutingPolicy{
		policy(name("city-wide"), 50, v1alpha1.OfficeSelector{},
			rule("wages", v1alpha1.RouteTarget{Department: "HumanResources"}, "wage-arrears", "social-insurance"),
			rule("pollution", v1alpha1.RouteTarget{Department: "Environment"}, "pollution", "noise"),
			rule("officials", v1alpha1.RouteTarget{Department: "Organization", Scope: v1alpha1.ScopeCity}, "official-misconduct"),
		),
		policy(name("land"), 100, v1alpha1.OfficeSelector{Levels: []v1alpha1.Level{v1alpha1.LevelTownship, v1alpha1.LevelCounty}},
			rule("land", v1alpha1.RouteTarget{Department: "NaturalResources", Scope: v1alpha1.ScopeCounty}, "land-acquisition", "housing-demolition"),
		),
	}
	if o.Counties > 0 {
		n.RoutingPolicies = append(n.RoutingPolicies, policy(name("first-county"), 80,
			v1alpha1.OfficeSelector{SubtreeOf: v1alpha1.OfficeName(parents[1])},
			rule("roads", v1alpha1.RouteTarget{Office: v1alpha1.OfficeName(parents[1])}, "roads"),
		))
	}
	return n, nil
}

var timeZones = []string{"Asia/Shanghai", "Asia/Shanghai", "Asia/Shanghai", "Asia/Urumqi"}

// windows returns one of a few shapes of reception windows.
func windows(rng *rand.Rand) []v1alpha1.ReceptionWindow {
	online := v1alpha1.ReceptionWindow{Name: "online", Channels: []v1alpha1.Channel{v1alpha1.ChannelOnline, v1alpha1.ChannelLetter}, Always: true}
	switch rng.IntN(3) {
	case 0:
		return []v1alpha1.ReceptionWindow{{
			Name: "weekday-visits", Channels: []v1alpha1.Channel{v1alpha1.ChannelVisit, v1alpha1.ChannelPhone},
			Weekdays: []string{"monday:friday"},
			Times:    []v1alpha1.TimeRange{{Start: "08:30", End: "12:00"}, {Start: "14:30", End: "17:30"}},
		}, online}
	case 1:
		return []v1alpha1.ReceptionWindow{{
			Name: "market-days", Channels: []v1alpha1.Channel{v1alpha1.ChannelVisit},
			DaysOfMonth: []string{"1", "11", "21"},
			Times:       []v1alpha1.TimeRange{{Start: "08:00", End: "12:00"}},
		}, online}
	default:
		return []v1alpha1.ReceptionWindow{{
			Name: "weekday-mornings", Channels: []v1alpha1.Channel{v1alpha1.ChannelVisit, v1alpha1.ChannelLetter},
			Weekdays: []string{"monday:friday"},
			Times:    []v1alpha1.TimeRange{{Start: "09:00", End: "12:00"}},
		}}
	}
}
