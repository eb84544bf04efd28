package xinfang

import (
	"errors"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/xinfang/petition-operator/api/v1alpha1"
)

// compileNetwork is a City, a County and a Township under it, with a policy,
// a calendar and a TenantDefaults that edits may break.
func compileNetwork() *Snapshot {
	office := func(name string, level v1alpha1.Level, parent string) v1alpha1.Office {
		return v1alpha1.Office{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: v1alpha1.OfficeSpec{Level: level, Parent: v1alpha1.OfficeName(parent)}}
	}
	fast := StatutoryPolicy()
	fast.Name = "fast"
	return &Snapshot{
		Offices: []v1alpha1.Office{office("c-city", v1alpha1.LevelCity, ""), office("c-county", v1alpha1.LevelCounty, "c-city"),
			office("c-town", v1alpha1.LevelTownship, "c-county")},
		EscalationPolicies: []v1alpha1.EscalationPolicy{*fast},
		HolidayCalendars: []v1alpha1.HolidayCalendar{{ObjectMeta: metav1.ObjectMeta{Name: "cal"},
			Spec: v1alpha1.HolidayCalendarSpec{Holidays: []v1alpha1.Holiday{{Name: "国庆节", From: "2026-10-01", To: "2026-10-07"}}}}},
	}
}

func TestCompileProblems(t *testing.T) {
	for _, tt := range []struct {
		name    string
		edit    func(s *Snapshot, town *v1alpha1.Office)
		reason  string
		field   string
		stalled bool
		// condition is the Ready message the operator reports; cli the
		// error petitionctl prints.
		condition, cli string
	}{
		{name: "parent missing", edit: func(_ *Snapshot, o *v1alpha1.Office) { o.Spec.Parent = "ghost" },
			reason: v1alpha1.ReasonParentMissing, field: FieldParent,
			condition: `parent office "ghost" does not exist`,
			cli:       `Office/c-town: spec.parent: parent office "ghost" does not exist (ParentMissing)`},
		{name: "wrong level", edit: func(_ *Snapshot, o *v1alpha1.Office) { o.Spec.Parent = "c-city" },
			reason: v1alpha1.ReasonInvalidLevel, field: FieldParent, stalled: true,
			condition: `office "c-town": the parent of a Township must be a County, not a City ("c-city" is a City)`},
		{name: "policy missing", edit: func(_ *Snapshot, o *v1alpha1.Office) { o.Spec.Escalation.PolicyRef = "nowhere" },
			reason: v1alpha1.ReasonPolicyMissing, field: FieldPolicyRef,
			condition: `spec.escalation.policyRef: EscalationPolicy "nowhere" does not exist`,
			cli:       `Office/c-town: spec.escalation.policyRef: EscalationPolicy "nowhere" does not exist (PolicyMissing)`},
		{name: "policy unusable", edit: func(s *Snapshot, o *v1alpha1.Office) {
			o.Spec.Escalation.PolicyRef = "fast"
			s.EscalationPolicies[0].Spec.Stages = s.EscalationPolicies[0].Spec.Stages[2:]
		}, reason: v1alpha1.ReasonInvalidPolicy, field: FieldPolicyRef, stalled: true,
			condition: "spec.escalation.policyRef: EscalationPolicy fast: spec.stages: must include Acceptance and Handling"},
		{name: "calendar missing", edit: func(_ *Snapshot, o *v1alpha1.Office) { o.Spec.CalendarRef = "cn-2099" },
			reason: v1alpha1.ReasonCalendarMissing, field: FieldCalendar,
			condition: `spec.calendarRef: HolidayCalendar "cn-2099" does not exist`},
		{name: "calendar unusable", edit: func(s *Snapshot, o *v1alpha1.Office) {
			o.Spec.CalendarRef = "cal"
			s.HolidayCalendars[0].Spec.Holidays[0].To = "2026-02-30"
		}, reason: v1alpha1.ReasonInvalidDate, field: FieldCalendar, stalled: true,
			condition: `spec.calendarRef: HolidayCalendar cal: spec.holidays[0].to: "2026-02-30" is not a valid date (YYYY-MM-DD)`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := compileNetwork()
			town := &s.Offices[2]
			tt.edit(s, town)
			c, err := Compile(s.Network(), town, CompileOptions{})
			if err != nil {
				t.Fatal(err)
			}
			p := c.Problem
			if p == nil {
				t.Fatalf("compiled with no problem: %+v", c.Config)
			}
			if p.Office != "c-town" || p.Reason != tt.reason || p.Field != tt.field || p.Stalled != tt.stalled || p.Condition() != tt.condition {
				t.Errorf("problem %+v (condition %q), want reason %s, field %s, stalled %t, condition %q", p, p.Condition(), tt.reason, tt.field, tt.stalled, tt.condition)
			}
			if tt.cli != "" && p.Error() != tt.cli {
				t.Errorf("CLI error %q, want %q", p.Error(), tt.cli)
			}
			if c.Data != nil || c.Hash != "" || c.Image != "" {
				t.Errorf("a problem left a configuration: hash %q, image %q", c.Hash, c.Image)
			}
			if _, err := s.OfficeConfig("c-town"); err == nil || err.Error() != p.Error() {
				t.Errorf("Snapshot.OfficeConfig error %v, want %q", err, p.Error())
			}
		})
	}
}

func TestCompile(t *testing.T) {
	s := compileNetwork()
	town := &s.Offices[2]
	town.Spec.CalendarRef = "cal"
	town.Spec.Routing.Rules = []v1alpha1.RoutingRule{{Name: "up", RouteTo: v1alpha1.RouteTarget{Office: "c-county"}}}
	s.TenantDefaults = []v1alpha1.TenantDefaults{{ObjectMeta: metav1.ObjectMeta{Name: v1alpha1.DefaultTenantDefaults},
		Spec: v1alpha1.TenantDefaultsSpec{Image: "desk:v2"}}}

	c, err := Compile(s.Network(), town, CompileOptions{TenantImage: "desk:flag"})
	if err != nil || c.Problem != nil {
		t.Fatalf("Compile: %v, %v", err, c.Problem)
	}
	if strings.Join(c.Path, "/") != "c-city/c-county/c-town" || c.Config.Calendar == nil || len(c.Routing.Rules) != 1 ||
		c.Routing.Rules[0].Office != "c-county" || c.Escalation.Steps[2].Office != "c-county" {
		t.Errorf("compiled path %v, calendar %v, rules %+v, chain %+v", c.Path, c.Config.Calendar, c.Routing.Rules, c.Escalation.Steps)
	}
	data, hash, err := c.Config.Marshal()
	if err != nil || string(data) != string(c.Data) || hash != c.Hash {
		t.Errorf("Data and Hash are not the configuration's: %v", err)
	}
	// The TenantDefaults' image, not the flag's; the office's own wins.
	if c.Image != "desk:v2" || c.TenantDefaults != &s.TenantDefaults[0] {
		t.Errorf("image %q, defaults %v; want desk:v2 from the TenantDefaults", c.Image, c.TenantDefaults)
	}
	town.Spec.Tenant.Image = "desk:own"
	if c, _ := Compile(s.Network(), town, CompileOptions{TenantImage: "desk:flag"}); c.Image != "desk:own" {
		t.Errorf("image %q, want the office's own", c.Image)
	}
	s.TenantDefaults = nil
	town.Spec.Tenant.Image = ""
	if c, _ := Compile(s.Network(), town, CompileOptions{TenantImage: "desk:flag"}); c.Image != "desk:flag" {
		t.Errorf("image %q without TenantDefaults, want the flag's", c.Image)
	}
	// No policy named and none stored: the built-in statutory policy.
	if len(s.EscalationPolicies) != 1 || c.Escalation == nil || len(c.Escalation.Steps) != len(StatutoryPolicy().Spec.Stages) {
		t.Errorf("chain %+v, want the statutory policy's stages", c.Escalation)
	}
}

// failingObjects fails every read, as a cache that is away.
type failingObjects struct{}

var errAway = errors.New("the API server is away")

func (failingObjects) RoutingPolicies() ([]v1alpha1.RoutingPolicy, error) {
	return nil, errAway
}
func (failingObjects) EscalationPolicy(string) (*v1alpha1.EscalationPolicy, error) {
	return nil, errAway
}
func (failingObjects) HolidayCalendar(string) (*v1alpha1.HolidayCalendar, error) {
	return nil, errAway
}
func (failingObjects) TenantDefaults() (*v1alpha1.TenantDefaults, error) { return nil, errAway }
func (failingObjects) DutyPeriods() ([]v1alpha1.DutyPeriod, error)       { return nil, errAway }
func (failingObjects) Exists(string, string) (bool, error)               { return false, errAway }

// A read that fails is an error to retry, not a Problem of the office.
func TestCompileReadError(t *testing.T) {
	s := compileNetwork()
	c, err := Compile(NetworkOf(s.Offices).WithObjects(failingObjects{}), &s.Offices[2], CompileOptions{})
	if !errors.Is(err, errAway) || c != nil {
		t.Errorf("Compile = %+v, %v; want the read error", c, err)
	}
	// An office outside the network needs no read beyond its offices.
	s.Offices[2].Spec.Parent = "ghost"
	c, err = Compile(NetworkOf(s.Offices).WithObjects(failingObjects{}), &s.Offices[2], CompileOptions{})
	if err != nil || c.Problem == nil || c.Problem.Reason != v1alpha1.ReasonParentMissing {
		t.Errorf("Compile = %+v, %v; want ParentMissing", c, err)
	}
}
