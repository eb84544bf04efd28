package v1alpha1_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/discovery"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	. "github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/objfiles"
	"github.com/xinfang/petition-operator/internal/testenv"
)

var (
	env *testenv.Env
	k8s client.Client
)

func TestMain(m *testing.M) {
	var err error
	env, err = testenv.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	k8s, err = client.New(env.Config, client.Options{Scheme: testenv.Scheme})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	if err := env.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "stopping the control plane:", err)
	}
	os.Exit(code)
}

// TestCRDsInstall checks that every kind is served, cluster-scoped, with its
// short name, the petition category and a status subresource.
func TestCRDsInstall(t *testing.T) {
	dc, err := discovery.NewDiscoveryClientForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	list, err := dc.ServerResourcesForGroupVersion(GroupVersion.String())
	if err != nil {
		t.Fatal(err)
	}
	// "ep" is also the short name of Endpoints, which kubectl prefers:
	// "escp" is unambiguous.
	want := map[string][]string{"offices": {"ofc"}, "routingpolicies": {"rp"}, "escalationpolicies": {"escp"}, "holidaycalendars": {"hcal"}, "tenantdefaults": {"td"}, "dutyperiods": {"duty"}}
	found := map[string]bool{}
	for _, r := range list.APIResources {
		if strings.HasSuffix(r.Name, "/status") {
			found[r.Name] = true
			continue
		}
		short, ok := want[r.Name]
		if !ok {
			t.Errorf("unexpected resource %s", r.Name)
			continue
		}
		found[r.Name] = true
		if r.Namespaced {
			t.Errorf("%s is namespaced; every kind must be cluster-scoped", r.Name)
		}
		if !slices.Equal(r.ShortNames, short) {
			t.Errorf("%s short names = %v, want %v", r.Name, r.ShortNames, short)
		}
		if len(r.Categories) != 1 || r.Categories[0] != "petition" {
			t.Errorf("%s categories = %v, want [petition]", r.Name, r.Categories)
		}
	}
	for name := range want {
		if !found[name] || !found[name+"/status"] {
			t.Errorf("%s or its status subresource is not served", name)
		}
	}
}

// TestSamplesAccepted creates every object of config/samples.
func TestSamplesAccepted(t *testing.T) {
	set, err := objfiles.Load(filepath.Join(env.Root, "config", "samples"))
	if err != nil {
		t.Fatal(err)
	}
	objs := set.Objects()
	if len(set.Offices) < 10 || len(set.RoutingPolicies) == 0 || len(set.EscalationPolicies) == 0 || len(set.HolidayCalendars) == 0 || len(set.DutyPeriods) == 0 {
		t.Fatalf("the samples must hold a network with every kind; got %d offices, %d routing policies, %d escalation policies, %d calendars, %d duty periods",
			len(set.Offices), len(set.RoutingPolicies), len(set.EscalationPolicies), len(set.HolidayCalendars), len(set.DutyPeriods))
	}
	ctx := context.Background()
	for _, o := range objs {
		if err := k8s.Create(ctx, o, client.FieldValidation(metav1.FieldValidationStrict)); err != nil {
			t.Errorf("creating sample %T %s: %v", o, o.GetName(), err)
		}
	}
	// Defaults the API promises are applied.
	var city Office
	if err := k8s.Get(ctx, client.ObjectKey{Name: "nanyang-city"}, &city); err != nil {
		t.Fatal(err)
	}
	if city.Spec.TimeZone != DefaultTimeZone {
		t.Errorf("timeZone default = %q, want %q", city.Spec.TimeZone, DefaultTimeZone)
	}
	if city.Spec.ReceptionWindows[0].Kind != WindowRegular {
		t.Errorf("window kind default = %q, want Regular", city.Spec.ReceptionWindows[0].Kind)
	}
	var wage RoutingPolicy
	if err := k8s.Get(ctx, client.ObjectKey{Name: "land-disputes"}, &wage); err != nil {
		t.Fatal(err)
	}
	if wage.Spec.Rollout.Strategy != RolloutImmediate {
		t.Errorf("rollout strategy default = %q, want Immediate", wage.Spec.Rollout.Strategy)
	}
	var duty DutyPeriod
	if err := k8s.Get(ctx, client.ObjectKey{Name: "lianghui-2027"}, &duty); err != nil {
		t.Fatal(err)
	}
	if duty.Spec.Rollout.Strategy != RolloutImmediate || duty.Spec.Staffing.MinOnDuty != 2 {
		t.Errorf("duty period read back as %+v", duty.Spec)
	}
}

func validOffice(name string) *Office {
	return &Office{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: OfficeSpec{
			Level:  LevelCounty,
			Parent: "nanyang-city",
			ReceptionWindows: []ReceptionWindow{{
				Name:     "weekday-visits",
				Channels: []Channel{ChannelVisit},
				Weekdays: []string{"monday:friday"},
				Times:    []TimeRange{{Start: "08:30", End: "12:00"}},
			}},
		},
	}
}

func validRoutingPolicy(name string) *RoutingPolicy {
	return &RoutingPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: RoutingPolicySpec{Rules: []RoutingRule{{
			Name:    "land",
			Match:   RouteMatch{Categories: []string{"land-acquisition"}},
			RouteTo: RouteTarget{Department: "NaturalResources"},
		}}},
	}
}

func validEscalationPolicy(name string) *EscalationPolicy {
	return &EscalationPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: EscalationPolicySpec{Stages: []EscalationStage{
			{Name: StageAcceptance, Limit: "15d"},
			{Name: StageHandling, Limit: "60d", Extension: "30d"},
		}},
	}
}

func validCalendar(name string) *HolidayCalendar {
	return &HolidayCalendar{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: HolidayCalendarSpec{
			Holidays: []Holiday{{Name: "National Day", From: "2026-10-01", To: "2026-10-07"}},
			// A Sunday and a Saturday of January and February (the CEL rule
			// counts them as months 13 and 14 of the year before) and the
			// Saturday after National Day.
			Workdays: []Date{"2026-01-04", "2026-02-14", "2026-10-10"},
			Covers:   &CoverageRange{From: "2026-01-01", To: "2035-12-31"},
		},
	}
}

// TestValidObjectsAccepted guards the rejection table: each base object must
// be valid, so that every rejection below is caused by its mutation alone.
func TestValidObjectsAccepted(t *testing.T) {
	for _, o := range []client.Object{validOffice("base-county"), validRoutingPolicy("base"), validEscalationPolicy("base"), validCalendar("base")} {
		if err := k8s.Create(context.Background(), o, client.DryRunAll, client.FieldValidation(metav1.FieldValidationStrict)); err != nil {
			t.Errorf("%T %s: %v", o, o.GetName(), err)
		}
	}
}

// TestSchemaRejects proves that each schema and CEL rule rejects what it
// should, with its message, and that the rejected object is not stored.
func TestSchemaRejects(t *testing.T) {
	office := func(name string, mutate func(*Office)) client.Object {
		o := validOffice(name)
		mutate(o)
		return o
	}
	window := func(o *Office) *ReceptionWindow { return &o.Spec.ReceptionWindows[0] }
	rp := func(mutate func(*RoutingPolicy)) client.Object {
		p := validRoutingPolicy("rejected-rp")
		mutate(p)
		return p
	}
	ep := func(mutate func(*EscalationPolicy)) client.Object {
		p := validEscalationPolicy("rejected-ep")
		mutate(p)
		return p
	}
	cal := func(mutate func(*HolidayCalendar)) client.Object {
		c := validCalendar("rejected-cal")
		mutate(c)
		return c
	}
	cases := []struct {
		name string
		obj  client.Object
		want string
	}{
		{"city with parent", office("city-a", func(o *Office) { o.Spec.Level = LevelCity }),
			"a City has no parent; every other level needs one"},
		{"county without parent", office("county-a", func(o *Office) { o.Spec.Parent = "" }),
			"a City has no parent; every other level needs one"},
		{"department code on a county", office("county-b", func(o *Office) { o.Spec.Department = "HumanResources" }),
			"department is required for level Department and not allowed for other levels"},
		{"department without code", office("dept-a", func(o *Office) { o.Spec.Level = LevelDepartment }),
			"department is required for level Department"},
		{"department code not PascalCase", office("dept-b", func(o *Office) {
			o.Spec.Level, o.Spec.Department = LevelDepartment, "human-resources"
		}), "spec.department: Invalid value"},
		{"unknown level", office("county-c", func(o *Office) { o.Spec.Level = "Province" }),
			`spec.level: Unsupported value: "Province"`},
		{"name too long for its namespace", office(strings.Repeat("a", 57), func(*Office) {}),
			"metadata.name must be a DNS-1123 label of at most 56 characters"},
		{"name with a dot", office("zhenping.county", func(*Office) {}),
			"metadata.name must be a DNS-1123 label"},
		{"own parent", office("county-d", func(o *Office) { o.Spec.Parent = "county-d" }),
			"spec.parent must not name the office itself"},
		{"parent not a DNS label", office("county-e", func(o *Office) { o.Spec.Parent = "Nanyang_City" }),
			"spec.parent: Invalid value"},
		{"empty time zone", office("county-f", func(o *Office) { o.Spec.TimeZone = " " }),
			"spec.timeZone: Invalid value"},
		{"time zone with spaces", office("county-g", func(o *Office) { o.Spec.TimeZone = "Asia/Shang hai" }),
			"spec.timeZone: Invalid value"},
		{"division code of 5 digits", office("county-h", func(o *Office) { o.Spec.DivisionCode = "41132" }),
			"spec.divisionCode: Invalid value"},
		{"display name too long", office("county-i", func(o *Office) { o.Spec.DisplayName = strings.Repeat("镇", 129) }),
			"spec.displayName: Too long"},
		{"window start after end", office("county-j", func(o *Office) { window(o).Times[0] = TimeRange{Start: "14:00", End: "12:00"} }),
			"start must be before end"},
		{"window start equals end", office("county-k", func(o *Office) { window(o).Times[0] = TimeRange{Start: "12:00", End: "12:00"} }),
			"start must be before end"},
		{"hour 25", office("county-l", func(o *Office) { window(o).Times[0] = TimeRange{Start: "08:00", End: "25:00"} }),
			"spec.receptionWindows[0].times[0].end: Invalid value"},
		{"time without leading zero", office("county-m", func(o *Office) { window(o).Times[0] = TimeRange{Start: "8:30", End: "12:00"} }),
			"spec.receptionWindows[0].times[0].start: Invalid value"},
		{"weekday range backwards", office("county-n", func(o *Office) { window(o).Weekdays = []string{"friday:monday"} }),
			"a weekday range must run forwards within one week"},
		{"unknown weekday", office("county-o", func(o *Office) { window(o).Weekdays = []string{"funday"} }),
			"spec.receptionWindows[0].weekdays[0]: Invalid value"},
		{"day of month 32", office("county-p", func(o *Office) { window(o).DaysOfMonth = []string{"32"} }),
			"spec.receptionWindows[0].daysOfMonth[0]: Invalid value"},
		{"always with times", office("county-q", func(o *Office) { window(o).Always = true }),
			"a window with always: true takes no weekdays, times, daysOfMonth or dateRanges"},
		{"window that never opens", office("county-r", func(o *Office) {
			w := window(o)
			w.Weekdays, w.Times = nil, nil
		}), "a window needs always: true or at least one of weekdays, times, daysOfMonth, dateRanges"},
		{"window without channels", office("county-s", func(o *Office) { window(o).Channels = nil }),
			"spec.receptionWindows[0].channels: Required value"},
		{"unknown channel", office("county-t", func(o *Office) { window(o).Channels = []Channel{"Fax"} }),
			`Unsupported value: "Fax"`},
		{"date range backwards", office("county-u", func(o *Office) {
			window(o).DateRanges = []DateRange{{From: "2026-10-07", To: "2026-10-01"}}
		}), "to must not be before from"},
		{"duplicate window names", office("county-v", func(o *Office) {
			o.Spec.ReceptionWindows = append(o.Spec.ReceptionWindows, o.Spec.ReceptionWindows[0])
		}), `spec.receptionWindows[1]: Duplicate value: {"name":"weekday-visits"}`},
		{"too many windows", office("county-w", func(o *Office) {
			for i := 1; i <= 32; i++ {
				w := o.Spec.ReceptionWindows[0]
				w.Name = fmt.Sprintf("w%d", i)
				o.Spec.ReceptionWindows = append(o.Spec.ReceptionWindows, w)
			}
		}), "spec.receptionWindows: Too many: 33: must have at most 32 items"},
		{"negative replicas", office("county-x", func(o *Office) { o.Spec.Tenant.Replicas = ptr.To[int32](-1) }),
			"spec.tenant.replicas: Invalid value: -1"},
		{"image with whitespace", office("county-y", func(o *Office) { o.Spec.Tenant.Image = "desk:1 ; rm -rf /" }),
			"spec.tenant.image: Invalid value"},
		{"inline rule with two targets", office("county-z", func(o *Office) {
			o.Spec.Routing.Rules = []RoutingRule{{Name: "r", RouteTo: RouteTarget{Office: "a", Department: "B"}}}
		}), "exactly one of office and department must be set"},

		{"route to office and department", rp(func(p *RoutingPolicy) { p.Spec.Rules[0].RouteTo.Office = "nanyang-city" }),
			"exactly one of office and department must be set"},
		{"route to nothing", rp(func(p *RoutingPolicy) { p.Spec.Rules[0].RouteTo = RouteTarget{} }),
			"exactly one of office and department must be set"},
		{"scope with an explicit office", rp(func(p *RoutingPolicy) {
			p.Spec.Rules[0].RouteTo = RouteTarget{Office: "nanyang-city", Scope: ScopeCity}
		}), "scope applies only to a department target"},
		{"no rules", rp(func(p *RoutingPolicy) { p.Spec.Rules = nil }),
			"spec.rules: Required value"},
		{"category not a DNS label", rp(func(p *RoutingPolicy) { p.Spec.Rules[0].Match.Categories = []string{"Land Acquisition"} }),
			"spec.rules[0].match.categories[0]: Invalid value"},
		{"unknown petition type", rp(func(p *RoutingPolicy) { p.Spec.Rules[0].Match.Types = []PetitionType{"Complaint"} }),
			`Unsupported value: "Complaint"`},
		{"staged without stages", rp(func(p *RoutingPolicy) { p.Spec.Rollout.Strategy = RolloutStaged }),
			"stages are required for strategy Staged and not allowed for Immediate"},
		{"immediate with stages", rp(func(p *RoutingPolicy) {
			p.Spec.Rollout.Stages = []RolloutStage{{Levels: []Level{LevelCity}}}
		}), "stages are required for strategy Staged and not allowed for Immediate"},
		{"empty stage", rp(func(p *RoutingPolicy) {
			p.Spec.Rollout = Rollout{Strategy: RolloutStaged, Stages: []RolloutStage{{}}}
		}), "a stage needs at least one of levels, subtreeOf, percent"},
		{"percent over 100", rp(func(p *RoutingPolicy) {
			p.Spec.Rollout = Rollout{Strategy: RolloutStaged, Stages: []RolloutStage{{Percent: ptr.To[int32](101)}}}
		}), "spec.rollout.stages[0].percent: Invalid value: 101"},

		{"no handling stage", ep(func(p *EscalationPolicy) {
			p.Spec.Stages = []EscalationStage{{Name: StageAcceptance, Limit: "15d"}, {Name: StageReview, Limit: "30d"}}
		}), "stages must include Acceptance and Handling"},
		{"zero-day limit", ep(func(p *EscalationPolicy) { p.Spec.Stages[0].Limit = "0d" }),
			"spec.stages[0].limit: Invalid value"},
		{"limit in hours", ep(func(p *EscalationPolicy) { p.Spec.Stages[0].Limit = "36h" }),
			"spec.stages[0].limit: Invalid value"},
		{"duplicate stage", ep(func(p *EscalationPolicy) { p.Spec.Stages[1].Name = StageAcceptance }),
			"spec.stages[1]: Duplicate value"},
		{"unknown handler", ep(func(p *EscalationPolicy) { p.Spec.Stages[1].Handler = "Mayor" }),
			`Unsupported value: "Mayor"`},

		{"holiday ends before it starts", cal(func(c *HolidayCalendar) { c.Spec.Holidays[0].To = "2026-09-30" }),
			"to must not be before from"},
		{"month 13", cal(func(c *HolidayCalendar) { c.Spec.Holidays[0].From = "2026-13-01" }),
			"spec.holidays[0].from: Invalid value"},
		{"a Tuesday as an adjusted working day", cal(func(c *HolidayCalendar) { c.Spec.Workdays = []Date{"2026-10-10", "2026-10-13"} }),
			"spec.workdays: Invalid value: workdays: 2026-10-13 is not a Saturday or Sunday"},
		{"a February Friday as an adjusted working day", cal(func(c *HolidayCalendar) { c.Spec.Workdays = []Date{"2028-02-04"} }),
			"workdays: 2028-02-04 is not a Saturday or Sunday"},
		{"an adjusted working day inside a holiday", cal(func(c *HolidayCalendar) { c.Spec.Workdays = []Date{"2026-10-03"} }),
			"workdays: 2026-10-03 falls within a holiday"},
		{"duplicate workday", cal(func(c *HolidayCalendar) { c.Spec.Workdays = []Date{"2026-10-10", "2026-10-10"} }),
			"spec.workdays[1]: Duplicate value"},
		{"covers backwards", cal(func(c *HolidayCalendar) { c.Spec.Covers = &CoverageRange{From: "2027-01-01", To: "2026-12-31"} }),
			"spec.covers: Invalid value: to must not be before from"},
		{"covers eleven years", cal(func(c *HolidayCalendar) { c.Spec.Covers = &CoverageRange{From: "2026-01-01", To: "2036-12-31"} }),
			"spec.covers: Invalid value: covers spans at most 10 years"},
		{"covers month 13", cal(func(c *HolidayCalendar) { c.Spec.Covers = &CoverageRange{From: "2026-13-01", To: "2026-12-31"} }),
			"spec.covers.from: Invalid value"},
		{"covers without to", cal(func(c *HolidayCalendar) { c.Spec.Covers = &CoverageRange{From: "2026-01-01"} }),
			"spec.covers.to"},
	}
	ctx := context.Background()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := k8s.Create(ctx, tc.obj, client.FieldValidation(metav1.FieldValidationStrict))
			if err == nil {
				t.Fatalf("%T %s was accepted; want rejection with %q", tc.obj, tc.obj.GetName(), tc.want)
			}
			if !apierrors.IsInvalid(err) {
				t.Fatalf("want an Invalid error, got %v", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error does not say %q:\n%v", tc.want, err)
			}
			// Nothing was stored.
			got := tc.obj.DeepCopyObject().(client.Object)
			if err := k8s.Get(ctx, client.ObjectKeyFromObject(tc.obj), got); !apierrors.IsNotFound(err) {
				t.Fatalf("rejected object exists afterwards (get: %v)", err)
			}
		})
	}
}

// TestUnknownFieldsRejected proves that strict field validation refuses a
// misspelt field instead of silently dropping it.
func TestUnknownFieldsRejected(t *testing.T) {
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": GroupVersion.String(),
		"kind":       "Office",
		"metadata":   map[string]any{"name": "typo-county"},
		"spec":       map[string]any{"level": "County", "parent": "nanyang-city", "recepionWindows": []any{}},
	}}
	err := k8s.Create(context.Background(), u, client.FieldValidation(metav1.FieldValidationStrict))
	if err == nil || !strings.Contains(err.Error(), `unknown field "spec.recepionWindows"`) {
		t.Fatalf("want an unknown field error, got %v", err)
	}
}
