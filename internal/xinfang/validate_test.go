package xinfang

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/xinfang/petition-operator/api/v1alpha1"
)

// worldOf returns the SnapshotWorld of offices (copied) and of the other
// objects of extra.
func worldOf(extra *Snapshot, offices ...*v1alpha1.Office) *Network {
	s := &Snapshot{}
	if extra != nil {
		*s = *extra
	}
	for _, o := range offices {
		s.Offices = append(s.Offices, *o.DeepCopy())
	}
	return s.Network()
}

// errorStrings returns the messages of errs, in order.
func errorStrings(errs field.ErrorList) []string {
	out := []string{}
	for _, e := range errs {
		out = append(out, e.Error())
	}
	return out
}

// checkFindings compares the messages of f's errors and pending references
// with want (nil for none).
func checkFindings(t *testing.T, f Findings, wantErrors, wantPending []string) {
	t.Helper()
	if wantErrors == nil {
		wantErrors = []string{}
	}
	if wantPending == nil {
		wantPending = []string{}
	}
	if got := errorStrings(f.Errors); !reflect.DeepEqual(got, wantErrors) {
		t.Errorf("Errors:\n got %q\nwant %q", got, wantErrors)
	}
	if got := errorStrings(f.Pending); !reflect.DeepEqual(got, wantPending) {
		t.Errorf("Pending:\n got %q\nwant %q", got, wantPending)
	}
}

// window returns a reception window open on weekday mornings.
func window(name string) v1alpha1.ReceptionWindow {
	return v1alpha1.ReceptionWindow{
		Name: name, Channels: []v1alpha1.Channel{v1alpha1.ChannelVisit},
		Weekdays: []string{"monday:friday"}, Times: []v1alpha1.TimeRange{{Start: "08:30", End: "12:00"}},
	}
}

func TestCheckOfficeWindowsAndTimeZone(t *testing.T) {
	always := func(name string) v1alpha1.ReceptionWindow {
		return v1alpha1.ReceptionWindow{Name: name, Channels: []v1alpha1.Channel{v1alpha1.ChannelOnline}, Always: true}
	}
	tests := []struct {
		name    string
		tz      string
		windows []v1alpha1.ReceptionWindow
		want    []string
	}{
		{name: "no windows, default zone"},
		{name: "valid windows", tz: "Asia/Urumqi", windows: []v1alpha1.ReceptionWindow{window("a"), always("b")}},
		{
			name: "unknown time zone",
			tz:   "Mars/Olympus_Mons",
			want: []string{`spec.timeZone: Invalid value: unknown time zone "Mars/Olympus_Mons"`},
		},
		{
			name: "Local time zone",
			tz:   "Local",
			want: []string{`spec.timeZone: Invalid value: "Local" is not an IANA time zone`},
		},
		{
			name: "window without channels",
			windows: []v1alpha1.ReceptionWindow{
				window("a"),
				{Name: "b", Always: true},
			},
			want: []string{"spec.receptionWindows[1].channels: Invalid value: must name at least one channel"},
		},
		{
			name: "unknown channel",
			windows: []v1alpha1.ReceptionWindow{
				{Name: "a", Channels: []v1alpha1.Channel{"Visit", "Fax"}, Always: true},
			},
			want: []string{`spec.receptionWindows[0].channels[1]: Invalid value: unknown channel "Fax" (Visit, Letter, Phone or Online)`},
		},
		{
			name: "bad weekday",
			windows: []v1alpha1.ReceptionWindow{
				window("a"),
				{Name: "b", Channels: []v1alpha1.Channel{"Visit"}, Weekdays: []string{"monday", "funday"}},
			},
			want: []string{`spec.receptionWindows[1].weekdays[1]: Invalid value: "funday" is not a weekday (sunday, monday, ..., saturday)`},
		},
		{
			name: "always with weekdays",
			windows: []v1alpha1.ReceptionWindow{
				{Name: "a", Channels: []v1alpha1.Channel{"Visit"}, Always: true, Weekdays: []string{"monday"}},
			},
			want: []string{"spec.receptionWindows[0]: Invalid value: a window with always: true takes no weekdays, times, daysOfMonth or dateRanges"},
		},
		{
			name: "times backwards",
			windows: []v1alpha1.ReceptionWindow{
				{Name: "a", Channels: []v1alpha1.Channel{"Visit"}, Times: []v1alpha1.TimeRange{{Start: "12:00", End: "09:00"}}},
			},
			want: []string{`spec.receptionWindows[0].times[0]: Invalid value: start "12:00" is not before end "09:00"`},
		},
		{
			name:    "duplicate window name",
			windows: []v1alpha1.ReceptionWindow{window("a"), window("a")},
			want:    []string{`spec.receptionWindows[1].name: Invalid value: duplicate window name "a"`},
		},
		{
			name: "time zone checked before windows",
			tz:   "Nowhere/City",
			windows: []v1alpha1.ReceptionWindow{
				{Name: "a", Channels: []v1alpha1.Channel{"Visit"}, Always: true, Weekdays: []string{"monday"}},
			},
			want: []string{`spec.timeZone: Invalid value: unknown time zone "Nowhere/City"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := ofc("city", city, "")
			o.Spec.TimeZone = tt.tz
			o.Spec.ReceptionWindows = tt.windows
			f := CheckOffice(o, worldOf(nil, o))
			checkFindings(t, f, tt.want, nil)
			for _, e := range f.Errors {
				if e.Type != field.ErrorTypeInvalid {
					t.Errorf("%s: type %s, want %s", e.Field, e.Type, field.ErrorTypeInvalid)
				}
			}
		})
	}
}

func TestCheckOfficeParent(t *testing.T) {
	network := []*v1alpha1.Office{
		ofc("city", city, ""),
		ofc("county", county, "city"),
		ofc("town", township, "county"),
		dept("city-hr", "city", "HumanResources"),
	}
	tests := []struct {
		name        string
		office      *v1alpha1.Office
		wantErrors  []string
		wantPending []string
	}{
		{name: "city", office: ofc("city", city, "")},
		{name: "county under city", office: ofc("county-b", county, "city")},
		{name: "township under county", office: ofc("town-b", township, "county")},
		{name: "department under county", office: dept("county-hr", "county", "HumanResources")},
		{
			name:        "missing parent",
			office:      ofc("town-b", township, "x"),
			wantPending: []string{`spec.parent: Not found: Office "x" does not exist`},
		},
		{
			name:       "township under city",
			office:     ofc("town-b", township, "city"),
			wantErrors: []string{`spec.parent: Invalid value: "city": the parent of a Township must be a County, not a City ("city" is a City)`},
		},
		{
			name:       "county under county",
			office:     ofc("county-b", county, "county"),
			wantErrors: []string{`spec.parent: Invalid value: "county": the parent of a County must be a City, not a County ("county" is a County)`},
		},
		{
			name:       "department under township",
			office:     dept("town-hr", "town", "HumanResources"),
			wantErrors: []string{`spec.parent: Invalid value: "town": the parent of a Department must be a City or County, not a Township ("town" is a Township)`},
		},
		{
			name:       "city with a parent",
			office:     ofc("city-b", city, "county"),
			wantErrors: []string{`spec.parent: Invalid value: "county": a City has no parent ("county" is a County)`},
		},
		{
			// The schema refuses it; the rules across objects leave it alone.
			name:   "parent names the office itself",
			office: ofc("county", county, "county"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := CheckOffice(tt.office, worldOf(nil, network...))
			checkFindings(t, f, tt.wantErrors, tt.wantPending)
		})
	}
}

func TestCheckOfficeCycle(t *testing.T) {
	tests := []struct {
		name   string
		world  []*v1alpha1.Office
		office *v1alpha1.Office
		want   []string
	}{
		{
			// The office is checked as it would be stored: the world still
			// holds its old version, a City without a parent.
			name:   "length 2 through the office",
			world:  []*v1alpha1.Office{ofc("a", city, ""), ofc("b", county, "a")},
			office: ofc("a", township, "b"),
			want:   []string{`spec.parent: Invalid value: "b": the parent chain a → b → a is a cycle`},
		},
		{
			name: "length 4 through the office",
			world: []*v1alpha1.Office{
				ofc("a", township, "b"), ofc("b", county, "c"), ofc("c", city, "d"), ofc("d", county, "a"),
			},
			office: ofc("a", township, "b"),
			want:   []string{`spec.parent: Invalid value: "b": the parent chain a → b → c → d → a is a cycle`},
		},
		{
			name:   "length 2 with a level error too",
			world:  []*v1alpha1.Office{ofc("a", county, "b"), ofc("b", county, "a")},
			office: ofc("a", county, "b"),
			want: []string{
				`spec.parent: Invalid value: "b": the parent chain a → b → a is a cycle`,
				`spec.parent: Invalid value: "b": the parent of a County must be a City, not a County ("b" is a County)`,
			},
		},
		{
			name:   "chain leads to a cycle not through the office",
			world:  []*v1alpha1.Office{ofc("x", township, "a"), ofc("a", county, "b"), ofc("b", city, "a")},
			office: ofc("x", township, "a"),
		},
		{
			name:   "chain ends at a missing office",
			world:  []*v1alpha1.Office{ofc("x", township, "a"), ofc("a", county, "ghost")},
			office: ofc("x", township, "a"),
		},
		{
			name:   "office leaving a cycle",
			world:  []*v1alpha1.Office{ofc("a", county, "b"), ofc("b", city, "a"), ofc("c", city, "")},
			office: ofc("a", county, "c"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := CheckOffice(tt.office, worldOf(nil, tt.world...))
			checkFindings(t, f, tt.want, nil)
		})
	}
}

func TestCheckOfficeLongChainIsNoCycle(t *testing.T) {
	// A chain longer than the walk's bound that never comes back.
	var world []*v1alpha1.Office
	for i := range maxDepth + 10 {
		world = append(world, ofc(fmt.Sprintf("o%d", i), county, fmt.Sprintf("o%d", i+1)))
	}
	world = append(world, ofc(fmt.Sprintf("o%d", maxDepth+10), city, ""))
	o := ofc("x", township, "o0")
	checkFindings(t, CheckOffice(o, worldOf(nil, world...)), nil, nil)
}

func TestCheckOfficeDepartmentCodes(t *testing.T) {
	// A county carrying a code (the schema refuses it) is no department.
	countyAsHR := ofc("county-b", county, "city")
	countyAsHR.Spec.Department = "Finance"
	network := []*v1alpha1.Office{
		ofc("city", city, ""),
		ofc("county", county, "city"),
		countyAsHR,
		dept("city-hr", "city", "HumanResources"),
		dept("city-hr2", "city", "HumanResources"),
		dept("county-nr", "county", "NaturalResources"),
	}
	tests := []struct {
		name   string
		office *v1alpha1.Office
		want   []string
	}{
		{
			name:   "same code under the same parent",
			office: dept("new-hr", "city", "HumanResources"),
			want:   []string{`spec.department: Duplicate value: "HumanResources": office "city-hr" already is that department under "city"`},
		},
		{name: "same code under another parent", office: dept("county-hr", "county", "HumanResources")},
		{name: "another code under the same parent", office: dept("city-nr", "city", "NaturalResources")},
		{name: "the office itself is no duplicate", office: dept("county-nr", "county", "NaturalResources")},
		{name: "department without a code", office: dept("new", "city", "")},
		{name: "a county with the code is no department", office: dept("city-finance", "city", "Finance")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := CheckOffice(tt.office, worldOf(nil, network...))
			checkFindings(t, f, tt.want, nil)
			for _, e := range f.Errors {
				if e.Type != field.ErrorTypeDuplicate || e.Field != "spec.department" {
					t.Errorf("error %s at %q, want %s at spec.department", e.Type, e.Field, field.ErrorTypeDuplicate)
				}
			}
		})
	}
}

func TestCheckOfficeReferences(t *testing.T) {
	network := []*v1alpha1.Office{
		ofc("city", city, ""),
		ofc("county", county, "city"),
		dept("city-hr", "city", "HumanResources"),
	}
	others := &Snapshot{
		EscalationPolicies: []v1alpha1.EscalationPolicy{{ObjectMeta: metav1.ObjectMeta{Name: "fast"}}},
		HolidayCalendars:   []v1alpha1.HolidayCalendar{{ObjectMeta: metav1.ObjectMeta{Name: "cn-2026"}}},
	}
	route := func(name string, to v1alpha1.RouteTarget) v1alpha1.RoutingRule {
		return v1alpha1.RoutingRule{Name: name, RouteTo: to}
	}
	tests := []struct {
		name    string
		edit    func(o *v1alpha1.Office)
		pending []string
	}{
		{name: "no references", edit: func(*v1alpha1.Office) {}},
		{
			name: "every reference exists",
			edit: func(o *v1alpha1.Office) {
				o.Spec.CalendarRef = "cn-2026"
				o.Spec.Escalation = v1alpha1.OfficeEscalation{PolicyRef: "fast", Supervisor: "city"}
				o.Spec.Routing.Rules = []v1alpha1.RoutingRule{route("a", v1alpha1.RouteTarget{Office: "city-hr"})}
			},
		},
		{
			name:    "missing calendar",
			edit:    func(o *v1alpha1.Office) { o.Spec.CalendarRef = "cn-2027" },
			pending: []string{`spec.calendarRef: Not found: HolidayCalendar "cn-2027" does not exist`},
		},
		{
			name:    "missing escalation policy",
			edit:    func(o *v1alpha1.Office) { o.Spec.Escalation.PolicyRef = "slow" },
			pending: []string{`spec.escalation.policyRef: Not found: EscalationPolicy "slow" does not exist`},
		},
		{
			name: "built-in policy needs no object",
			edit: func(o *v1alpha1.Office) { o.Spec.Escalation.PolicyRef = v1alpha1.DefaultEscalationPolicy },
		},
		{
			name:    "missing supervisor",
			edit:    func(o *v1alpha1.Office) { o.Spec.Escalation.Supervisor = "province" },
			pending: []string{`spec.escalation.supervisor: Not found: Office "province" does not exist`},
		},
		{
			name: "supervisor is the office itself",
			edit: func(o *v1alpha1.Office) { o.Spec.Escalation.Supervisor = "new-county" },
		},
		{
			name: "missing route targets",
			edit: func(o *v1alpha1.Office) {
				o.Spec.Routing.Rules = []v1alpha1.RoutingRule{
					route("to-hr", v1alpha1.RouteTarget{Office: "city-hr"}),
					route("to-ghost", v1alpha1.RouteTarget{Office: "ghost"}),
					route("to-dept", v1alpha1.RouteTarget{Department: "NaturalResources"}),
					route("to-self", v1alpha1.RouteTarget{Office: "new-county"}),
					route("to-ghost2", v1alpha1.RouteTarget{Office: "ghost2"}),
				}
			},
			pending: []string{
				`spec.routing.rules[1].routeTo.office: Not found: Office "ghost" does not exist`,
				`spec.routing.rules[4].routeTo.office: Not found: Office "ghost2" does not exist`,
			},
		},
		{
			name: "all missing, in field order",
			edit: func(o *v1alpha1.Office) {
				o.Spec.Parent = "gone"
				o.Spec.CalendarRef = "cal"
				o.Spec.Escalation = v1alpha1.OfficeEscalation{PolicyRef: "pol", Supervisor: "sup"}
				o.Spec.Routing.Rules = []v1alpha1.RoutingRule{route("r", v1alpha1.RouteTarget{Office: "to"})}
			},
			pending: []string{
				`spec.parent: Not found: Office "gone" does not exist`,
				`spec.calendarRef: Not found: HolidayCalendar "cal" does not exist`,
				`spec.escalation.policyRef: Not found: EscalationPolicy "pol" does not exist`,
				`spec.escalation.supervisor: Not found: Office "sup" does not exist`,
				`spec.routing.rules[0].routeTo.office: Not found: Office "to" does not exist`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := ofc("new-county", county, "city")
			tt.edit(o)
			f := CheckOffice(o, worldOf(others, network...))
			checkFindings(t, f, nil, tt.pending)
			for _, e := range f.Pending {
				if e.Type != field.ErrorTypeNotFound {
					t.Errorf("%s: type %s, want %s", e.Field, e.Type, field.ErrorTypeNotFound)
				}
			}
		})
	}
}

func TestFindingsAll(t *testing.T) {
	errs := make(field.ErrorList, 1, 4)
	errs[0] = field.Invalid(field.NewPath("spec", "a"), "x", "bad")
	f := Findings{
		Errors:  errs,
		Pending: field.ErrorList{missing(field.NewPath("spec", "b"), KindOffice, "y")},
	}
	all := f.All()
	if got, want := errorStrings(all), []string{
		`spec.a: Invalid value: "x": bad`,
		`spec.b: Not found: Office "y" does not exist`,
	}; !reflect.DeepEqual(got, want) {
		t.Errorf("All() = %q, want %q", got, want)
	}
	// All must not write into the spare capacity of Errors.
	if extended := f.Errors[:2]; extended[1] != nil {
		t.Errorf("All() wrote into f.Errors' backing array: %v", extended[1])
	}
	if got := (Findings{}).All(); len(got) != 0 {
		t.Errorf("Findings{}.All() = %v, want none", got)
	}
}

func TestCheckOfficeChildren(t *testing.T) {
	network := []*v1alpha1.Office{
		ofc("city", city, ""),
		ofc("county", county, "city"),
		ofc("county-b", county, "city"),
		ofc("town", township, "county"),
		dept("city-hr", "city", "HumanResources"),
		dept("county-hr", "county", "HumanResources"),
		ofc("loop", county, "loop"),
	}
	tests := []struct {
		name   string
		office *v1alpha1.Office
		want   []string
	}{
		{name: "unchanged county", office: ofc("county", county, "city")},
		{name: "leaf", office: ofc("town", township, "county")},
		{name: "new office without children", office: ofc("other", city, "")},
		{
			name:   "county becomes a township",
			office: ofc("county", township, "city"),
			want: []string{
				`spec.level: Invalid value: "Township": office "county-hr" names this office as its parent and would not fit: the parent of a Department must be a City or County, not a Township`,
				`spec.level: Invalid value: "Township": office "town" names this office as its parent and would not fit: the parent of a Township must be a County, not a Township`,
			},
		},
		{
			name:   "city becomes a county",
			office: ofc("city", county, ""),
			want: []string{
				`spec.level: Invalid value: "County": office "county" names this office as its parent and would not fit: the parent of a County must be a City, not a County`,
				`spec.level: Invalid value: "County": office "county-b" names this office as its parent and would not fit: the parent of a County must be a City, not a County`,
			},
		},
		{
			// Its own parent is the schema's concern, not a child's.
			name:   "office naming itself",
			office: ofc("loop", township, "loop"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := errorStrings(CheckOfficeChildren(tt.office, worldOf(nil, network...)))
			want := tt.want
			if want == nil {
				want = []string{}
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("CheckOfficeChildren:\n got %q\nwant %q", got, want)
			}
		})
	}
}

func TestCheckWaitingDepartments(t *testing.T) {
	waiting := []*v1alpha1.Office{
		dept("hr-a", "city", "HumanResources"),
		dept("hr-b", "city", "HumanResources"),
		dept("hr-c", "city", "HumanResources"),
		dept("nr", "city", "NaturalResources"),
		ofc("county", county, "city"),
		dept("other-hr", "county", "HumanResources"),
	}
	got := errorStrings(CheckWaitingDepartments(ofc("city", city, ""), worldOf(nil, waiting...)))
	want := []string{
		`metadata.name: Forbidden: offices "hr-a" and "hr-b" wait for this office as their parent and both are department "HumanResources", which may appear once under a parent; change or delete one of them first`,
		`metadata.name: Forbidden: offices "hr-a" and "hr-c" wait for this office as their parent and both are department "HumanResources", which may appear once under a parent; change or delete one of them first`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("CheckWaitingDepartments:\n got %q\nwant %q", got, want)
	}
	// One of each department under each parent is fine.
	if errs := CheckWaitingDepartments(ofc("city", city, ""), worldOf(nil, waiting[2:]...)); len(errs) != 0 {
		t.Errorf("distinct departments refused: %v", errs)
	}
}

func TestCheckOfficeDelete(t *testing.T) {
	names := func(n int) []string {
		var out []string
		for i := n; i > 0; i-- {
			out = append(out, fmt.Sprintf("c%02d", i))
		}
		return out
	}
	first20 := make([]string, 20)
	for i := range first20 {
		first20[i] = fmt.Sprintf("c%02d", i+1)
	}
	tests := []struct {
		name     string
		children []string
		want     string
	}{
		{name: "nil", children: nil},
		{name: "empty", children: []string{}},
		{
			name:     "one",
			children: []string{"town"},
			want:     `office "county" still has 1 child office(s): town; delete or re-parent them first`,
		},
		{
			name:     "sorted",
			children: []string{"zhen", "an", "mid"},
			want:     `office "county" still has 3 child office(s): an, mid, zhen; delete or re-parent them first`,
		},
		{
			name:     "twenty, all shown",
			children: names(20),
			want:     `office "county" still has 20 child office(s): ` + strings.Join(first20, ", ") + `; delete or re-parent them first`,
		},
		{
			name:     "twenty-one",
			children: names(21),
			want:     `office "county" still has 21 child office(s): ` + strings.Join(first20, ", ") + ` and 1 more; delete or re-parent them first`,
		},
		{
			name:     "thirty",
			children: names(30),
			want:     `office "county" still has 30 child office(s): ` + strings.Join(first20, ", ") + ` and 10 more; delete or re-parent them first`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := slices.Clone(tt.children)
			err := CheckOfficeDelete("county", tt.children)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("CheckOfficeDelete = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("CheckOfficeDelete = nil, want %q", tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("CheckOfficeDelete =\n %q\nwant\n %q", err, tt.want)
			}
			if !slices.Equal(tt.children, before) {
				t.Errorf("CheckOfficeDelete reordered its argument: %v, was %v", tt.children, before)
			}
		})
	}
}

func TestCheckRoutingPolicy(t *testing.T) {
	network := []*v1alpha1.Office{
		ofc("city", city, ""),
		ofc("county", county, "city"),
		dept("city-hr", "city", "HumanResources"),
	}
	rules := func(targets ...v1alpha1.RouteTarget) []v1alpha1.RoutingRule {
		var out []v1alpha1.RoutingRule
		for i, to := range targets {
			out = append(out, v1alpha1.RoutingRule{Name: fmt.Sprintf("r%d", i), RouteTo: to})
		}
		return out
	}
	stages := func(subtrees ...string) []v1alpha1.RolloutStage {
		var out []v1alpha1.RolloutStage
		for _, s := range subtrees {
			out = append(out, v1alpha1.RolloutStage{SubtreeOf: v1alpha1.OfficeName(s), Levels: []v1alpha1.Level{county}})
		}
		return out
	}
	tests := []struct {
		name string
		spec v1alpha1.RoutingPolicySpec
		want []string
	}{
		{
			name: "every office exists",
			spec: v1alpha1.RoutingPolicySpec{
				OfficeSelector: v1alpha1.OfficeSelector{SubtreeOf: "city"},
				Rules:          rules(v1alpha1.RouteTarget{Office: "city-hr"}, v1alpha1.RouteTarget{Department: "HumanResources"}),
				Rollout:        v1alpha1.Rollout{Strategy: v1alpha1.RolloutStaged, Stages: stages("county", "", "city")},
			},
		},
		{
			name: "missing subtreeOf",
			spec: v1alpha1.RoutingPolicySpec{
				OfficeSelector: v1alpha1.OfficeSelector{SubtreeOf: "province"},
				Rules:          rules(v1alpha1.RouteTarget{Department: "HumanResources"}),
			},
			want: []string{`spec.officeSelector.subtreeOf: Not found: Office "province" does not exist`},
		},
		{
			name: "missing route target",
			spec: v1alpha1.RoutingPolicySpec{
				Rules: rules(v1alpha1.RouteTarget{Office: "city-hr"}, v1alpha1.RouteTarget{Office: "county-hr"}),
			},
			want: []string{`spec.rules[1].routeTo.office: Not found: Office "county-hr" does not exist`},
		},
		{
			name: "missing rollout stage subtree",
			spec: v1alpha1.RoutingPolicySpec{
				Rules:   rules(v1alpha1.RouteTarget{Office: "city"}),
				Rollout: v1alpha1.Rollout{Strategy: v1alpha1.RolloutStaged, Stages: stages("county", "", "town")},
			},
			want: []string{`spec.rollout.stages[2].subtreeOf: Not found: Office "town" does not exist`},
		},
		{
			name: "all missing, in field order",
			spec: v1alpha1.RoutingPolicySpec{
				OfficeSelector: v1alpha1.OfficeSelector{SubtreeOf: "a"},
				Rules:          rules(v1alpha1.RouteTarget{Office: "b"}),
				Rollout:        v1alpha1.Rollout{Strategy: v1alpha1.RolloutStaged, Stages: stages("c")},
			},
			want: []string{
				`spec.officeSelector.subtreeOf: Not found: Office "a" does not exist`,
				`spec.rules[0].routeTo.office: Not found: Office "b" does not exist`,
				`spec.rollout.stages[0].subtreeOf: Not found: Office "c" does not exist`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &v1alpha1.RoutingPolicy{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: tt.spec}
			checkFindings(t, CheckRoutingPolicy(p, worldOf(nil, network...)), nil, tt.want)
		})
	}
}

func TestCheckEscalationPolicy(t *testing.T) {
	stage := func(name v1alpha1.StageName, limit v1alpha1.Duration) v1alpha1.EscalationStage {
		return v1alpha1.EscalationStage{Name: name, Limit: limit}
	}
	acc, han := stage("Acceptance", "15d"), stage("Handling", "60d")
	tests := []struct {
		name      string
		spec      v1alpha1.EscalationPolicySpec
		wantField string
		wantIn    string
	}{
		{name: "valid", spec: v1alpha1.EscalationPolicySpec{Stages: []v1alpha1.EscalationStage{acc, han}}},
		{name: "statutory", spec: StatutoryPolicy().Spec},
		{
			name:      "unknown stage",
			spec:      v1alpha1.EscalationPolicySpec{Stages: []v1alpha1.EscalationStage{acc, stage("Appeal", "10d")}},
			wantField: "spec.stages[1].name",
			wantIn:    `"Appeal" is not one of Acceptance, Handling, Review, ReReview`,
		},
		{
			name:      "stage twice",
			spec:      v1alpha1.EscalationPolicySpec{Stages: []v1alpha1.EscalationStage{acc, acc, han}},
			wantField: "spec.stages[1].name",
			wantIn:    "Acceptance appears twice",
		},
		{
			name:      "stages out of order",
			spec:      v1alpha1.EscalationPolicySpec{Stages: []v1alpha1.EscalationStage{han, acc}},
			wantField: "spec.stages[1].name",
			wantIn:    "Acceptance must come before the stages listed above it",
		},
		{
			name:      "bad limit",
			spec:      v1alpha1.EscalationPolicySpec{Stages: []v1alpha1.EscalationStage{acc, stage("Handling", "0d")}},
			wantField: "spec.stages[1].limit",
			wantIn:    `"0d" is not a limit`,
		},
		{
			name:      "missing limit",
			spec:      v1alpha1.EscalationPolicySpec{Stages: []v1alpha1.EscalationStage{stage("Acceptance", ""), han}},
			wantField: "spec.stages[0].limit",
			wantIn:    "required",
		},
		{
			name:      "without handling",
			spec:      v1alpha1.EscalationPolicySpec{Stages: []v1alpha1.EscalationStage{acc, stage("Review", "30d")}},
			wantField: "spec.stages",
			wantIn:    "must include Acceptance and Handling",
		},
		{
			name: "bad reminder",
			spec: v1alpha1.EscalationPolicySpec{
				Stages:    []v1alpha1.EscalationStage{acc, han},
				Reminders: []v1alpha1.Reminder{{Before: "5d"}, {Before: "5h"}},
			},
			wantField: "spec.reminders[1].before",
			wantIn:    `"5h" is not a limit`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := CheckEscalationPolicy(&v1alpha1.EscalationPolicy{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: tt.spec})
			if len(f.Pending) != 0 {
				t.Errorf("Pending = %v, want none", f.Pending)
			}
			checkOneError(t, f.Errors, tt.wantField, tt.wantIn)
		})
	}
}

// checkOneError checks that errs is one Invalid error at wantField whose
// detail contains wantIn, or none when wantField is empty.
func checkOneError(t *testing.T, errs field.ErrorList, wantField, wantIn string) {
	t.Helper()
	if wantField == "" {
		if len(errs) != 0 {
			t.Errorf("errors = %v, want none", errs)
		}
		return
	}
	if len(errs) != 1 {
		t.Fatalf("errors = %v, want one at %s", errs, wantField)
	}
	e := errs[0]
	if e.Field != wantField || e.Type != field.ErrorTypeInvalid {
		t.Errorf("error %s at %q, want %s at %q (%v)", e.Type, e.Field, field.ErrorTypeInvalid, wantField, e)
	}
	if !strings.Contains(e.Detail, wantIn) {
		t.Errorf("detail %q, want it to contain %q", e.Detail, wantIn)
	}
	if strings.HasPrefix(e.Detail, wantField) || strings.HasPrefix(e.Detail, "spec.") {
		t.Errorf("detail %q repeats the field path", e.Detail)
	}
}

func TestCheckHolidayCalendar(t *testing.T) {
	day := func(name string, from, to v1alpha1.Date) v1alpha1.Holiday {
		return v1alpha1.Holiday{Name: name, From: from, To: to}
	}
	national := day("National Day", "2026-10-01", "2026-10-07")
	tests := []struct {
		name      string
		spec      v1alpha1.HolidayCalendarSpec
		wantField string
		wantIn    string
	}{
		{name: "empty"},
		{name: "valid", spec: v1alpha1.HolidayCalendarSpec{
			Holidays: []v1alpha1.Holiday{national}, Workdays: []v1alpha1.Date{"2026-10-10"},
		}},
		{
			name:      "bad from",
			spec:      v1alpha1.HolidayCalendarSpec{Holidays: []v1alpha1.Holiday{day("x", "2026-13-01", "2026-12-02")}},
			wantField: "spec.holidays[0].from",
			wantIn:    `"2026-13-01" is not a valid date (YYYY-MM-DD)`,
		},
		{
			name:      "bad to",
			spec:      v1alpha1.HolidayCalendarSpec{Holidays: []v1alpha1.Holiday{national, day("x", "2026-01-01", "Jan 3")}},
			wantField: "spec.holidays[1].to",
			wantIn:    `"Jan 3" is not a valid date (YYYY-MM-DD)`,
		},
		{
			name:      "ends before it starts",
			spec:      v1alpha1.HolidayCalendarSpec{Holidays: []v1alpha1.Holiday{day("New Year: 元旦", "2026-01-03", "2026-01-01")}},
			wantField: "spec.holidays[0]",
			wantIn:    `"New Year: 元旦" ends (2026-01-01) before it starts (2026-01-03)`,
		},
		{
			name:      "too long",
			spec:      v1alpha1.HolidayCalendarSpec{Holidays: []v1alpha1.Holiday{day("forever", "2026-01-01", "2027-06-01")}},
			wantField: "spec.holidays[0]",
			wantIn:    `"forever" lasts more than 366 days`,
		},
		{
			name:      "bad workday",
			spec:      v1alpha1.HolidayCalendarSpec{Workdays: []v1alpha1.Date{"2026-01-04", "2026-02-14", "2026-02-30"}},
			wantField: "spec.workdays[2]",
			wantIn:    `"2026-02-30" is not a valid date`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := CheckHolidayCalendar(&v1alpha1.HolidayCalendar{ObjectMeta: metav1.ObjectMeta{Name: "cal"}, Spec: tt.spec})
			if len(f.Pending) != 0 {
				t.Errorf("Pending = %v, want none", f.Pending)
			}
			checkOneError(t, f.Errors, tt.wantField, tt.wantIn)
		})
	}
}

func TestPathError(t *testing.T) {
	spec := field.NewPath("spec")
	tests := []struct {
		name       string
		base       *field.Path
		err        string
		wantField  string
		wantDetail string
	}{
		{
			name: "path under a base", base: spec,
			err:       `timeZone: unknown time zone "X"`,
			wantField: "spec.timeZone", wantDetail: `unknown time zone "X"`,
		},
		{
			name: "indexed path under a base", base: spec,
			err:       "receptionWindows[2].times[0]: start is not before end",
			wantField: "spec.receptionWindows[2].times[0]", wantDetail: "start is not before end",
		},
		{
			name: "full path without a base", base: nil,
			err:       "spec.stages[1].name: Review appears twice",
			wantField: "spec.stages[1].name", wantDetail: "Review appears twice",
		},
		{
			name: "only the first separator splits", base: nil,
			err:       `spec.holidays[0]: "a: b" ends: soon`,
			wantField: "spec.holidays[0]", wantDetail: `"a: b" ends: soon`,
		},
		{
			name: "no separator keeps the message", base: spec,
			err:       "something is wrong",
			wantField: "spec", wantDetail: "something is wrong",
		},
		{
			name: "no space after the colon keeps the message", base: spec,
			err:       "times:broken",
			wantField: "spec", wantDetail: "times:broken",
		},
		{
			name: "words before the separator keep the message", base: spec,
			err:       "window is broken: it has no channels",
			wantField: "spec", wantDetail: "window is broken: it has no channels",
		},
		{
			name: "a quote before the separator keeps the message", base: spec,
			err:       `"x": not a window`,
			wantField: "spec", wantDetail: `"x": not a window`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := pathError(tt.base, errors.New(tt.err))
			if e.Field != tt.wantField || e.Detail != tt.wantDetail {
				t.Errorf("pathError(%v, %q) = field %q detail %q, want field %q detail %q",
					tt.base, tt.err, e.Field, e.Detail, tt.wantField, tt.wantDetail)
			}
			if e.Type != field.ErrorTypeInvalid || e.BadValue != (field.OmitValueType{}) {
				t.Errorf("pathError(%v, %q) = %s with value %v, want %s without a value", tt.base, tt.err, e.Type, e.BadValue, field.ErrorTypeInvalid)
			}
		})
	}
	// Without a base, a message not in that form is still kept whole.
	if e := pathError(nil, errors.New("boom")); e.Detail != "boom" || e.Type != field.ErrorTypeInvalid {
		t.Errorf("pathError(nil, boom) = %s %q, want Invalid %q", e.Type, e.Detail, "boom")
	}
}

// The network of files answers the rules (World) from its offices and its
// other objects.
func TestNetworkWorld(t *testing.T) {
	w := (&Snapshot{
		Offices: []v1alpha1.Office{
			*ofc("city", city, ""), *ofc("b-county", county, "city"), *ofc("a-county", county, "city"),
		},
		RoutingPolicies:    []v1alpha1.RoutingPolicy{{ObjectMeta: metav1.ObjectMeta{Name: "rp"}}},
		EscalationPolicies: []v1alpha1.EscalationPolicy{{ObjectMeta: metav1.ObjectMeta{Name: "ep"}}},
		HolidayCalendars:   []v1alpha1.HolidayCalendar{{ObjectMeta: metav1.ObjectMeta{Name: "hc"}}},
	}).Network()
	if o, ok := w.Office("a-county"); !ok || o.Spec.Parent != "city" {
		t.Errorf("Office(a-county) = %v, %v; want the county under city", o, ok)
	}
	if _, ok := w.Office("ghost"); ok {
		t.Error("Office(ghost) found, want not")
	}
	if got, want := w.Children("city"), []string{"a-county", "b-county"}; !slices.Equal(got, want) {
		t.Errorf("Children(city) = %v, want %v", got, want)
	}
	for _, tt := range []struct {
		kind, name string
		want       bool
	}{
		{KindOffice, "city", true},
		{KindOffice, "rp", false},
		{KindRoutingPolicy, "rp", true},
		{KindEscalationPolicy, "ep", true},
		{KindHolidayCalendar, "hc", true},
		{KindHolidayCalendar, "ep", false},
		{KindEscalationPolicy, "rp", false},
		{KindRoutingPolicy, "city", false},
		{"Widget", "rp", false},
	} {
		if got := w.Exists(tt.kind, tt.name); got != tt.want {
			t.Errorf("Exists(%s, %s) = %v, want %v", tt.kind, tt.name, got, tt.want)
		}
	}
}

// validNetwork is a City with a county, a township and a department, a
// routing policy, an escalation policy and a calendar, all valid.
func validNetwork() *Snapshot {
	c := ofc("nanyang", city, "")
	c.Spec.CalendarRef = "cn-2026"
	c.Spec.ReceptionWindows = []v1alpha1.ReceptionWindow{window("weekday-visits")}
	cty := ofc("zhenping", county, "nanyang")
	cty.Spec.Escalation = v1alpha1.OfficeEscalation{PolicyRef: "fast", Supervisor: "nanyang"}
	cty.Spec.TimeZone = "Asia/Shanghai"
	town := ofc("shifosi", township, "zhenping")
	town.Spec.Routing.Rules = []v1alpha1.RoutingRule{{Name: "land", RouteTo: v1alpha1.RouteTarget{Office: "zhenping-nr"}}}
	town.Spec.Escalation.PolicyRef = v1alpha1.DefaultEscalationPolicy
	nr := dept("zhenping-nr", "zhenping", "NaturalResources")
	cityNR := dept("nanyang-nr", "nanyang", "NaturalResources")
	return &Snapshot{
		Offices: []v1alpha1.Office{*c, *cty, *town, *nr, *cityNR},
		RoutingPolicies: []v1alpha1.RoutingPolicy{{
			ObjectMeta: metav1.ObjectMeta{Name: "land"},
			Spec: v1alpha1.RoutingPolicySpec{
				OfficeSelector: v1alpha1.OfficeSelector{SubtreeOf: "zhenping"},
				Rules:          []v1alpha1.RoutingRule{{Name: "land", RouteTo: v1alpha1.RouteTarget{Department: "NaturalResources"}}},
				Rollout: v1alpha1.Rollout{Strategy: v1alpha1.RolloutStaged, Stages: []v1alpha1.RolloutStage{
					{SubtreeOf: "shifosi"}, {SubtreeOf: "zhenping"},
				}},
			},
		}},
		EscalationPolicies: []v1alpha1.EscalationPolicy{{
			ObjectMeta: metav1.ObjectMeta{Name: "fast"},
			Spec: v1alpha1.EscalationPolicySpec{Stages: []v1alpha1.EscalationStage{
				{Name: "Acceptance", Limit: "5wd"}, {Name: "Handling", Limit: "30d"},
			}},
		}},
		HolidayCalendars: []v1alpha1.HolidayCalendar{{
			ObjectMeta: metav1.ObjectMeta{Name: "cn-2026"},
			Spec: v1alpha1.HolidayCalendarSpec{
				Holidays: []v1alpha1.Holiday{{Name: "National Day", From: "2026-10-01", To: "2026-10-07"}},
				Workdays: []v1alpha1.Date{"2026-10-10"},
			},
		}},
	}
}

func problemStrings(problems []ObjectProblem) []string {
	out := []string{}
	for _, p := range problems {
		out = append(out, p.String())
	}
	return out
}

func TestValidateSnapshotValidNetwork(t *testing.T) {
	if got := ValidateSnapshot(validNetwork()); len(got) != 0 {
		t.Errorf("ValidateSnapshot(valid network) = %q, want no problems", problemStrings(got))
	}
	if got := ValidateSnapshot(&Snapshot{}); len(got) != 0 {
		t.Errorf("ValidateSnapshot(empty) = %q, want no problems", problemStrings(got))
	}
}

func TestValidateSnapshotDuplicates(t *testing.T) {
	s := validNetwork()
	// The second copy of an office is reported once, and its own rules are
	// not applied: its missing parent goes unreported.
	second := ofc("shifosi", township, "ghost")
	s.Offices = append(s.Offices, *second)
	s.RoutingPolicies = append(s.RoutingPolicies, s.RoutingPolicies[0])
	s.EscalationPolicies = append(s.EscalationPolicies, s.EscalationPolicies[0], s.EscalationPolicies[0])
	s.HolidayCalendars = append(s.HolidayCalendars, s.HolidayCalendars[0])
	// The same name in another kind is no duplicate.
	s.HolidayCalendars = append(s.HolidayCalendars, v1alpha1.HolidayCalendar{ObjectMeta: metav1.ObjectMeta{Name: "fast"}})
	got := ValidateSnapshot(s)
	want := []string{
		`EscalationPolicy/fast: metadata.name: Duplicate value: "fast"`,
		`EscalationPolicy/fast: metadata.name: Duplicate value: "fast"`,
		`HolidayCalendar/cn-2026: metadata.name: Duplicate value: "cn-2026"`,
		`Office/shifosi: metadata.name: Duplicate value: "shifosi"`,
		`RoutingPolicy/land: metadata.name: Duplicate value: "land"`,
	}
	if g := problemStrings(got); !reflect.DeepEqual(g, want) {
		t.Errorf("ValidateSnapshot:\n got %q\nwant %q", g, want)
	}
	for _, p := range got {
		if p.Err.Type != field.ErrorTypeDuplicate || p.Err.Field != "metadata.name" {
			t.Errorf("%s/%s: %s at %q, want Duplicate at metadata.name", p.Kind, p.Name, p.Err.Type, p.Err.Field)
		}
	}
}

func TestValidateSnapshotProblems(t *testing.T) {
	s := validNetwork()
	// Pending references are problems offline, as are errors, sorted by
	// kind, name and field whatever order the objects come in.
	zb := ofc("zb", township, "nanyang")
	zb.Spec.CalendarRef = "cn-2027"
	zb.Spec.TimeZone = "Mars/Base"
	za := ofc("za", county, "missing-city")
	za.Spec.Escalation.Supervisor = "nobody"
	dup := dept("nanyang-nr2", "nanyang", "NaturalResources")
	s.Offices = append([]v1alpha1.Office{*zb}, append(s.Offices, *za, *dup)...)
	s.RoutingPolicies = append(s.RoutingPolicies, v1alpha1.RoutingPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "broken"},
		Spec: v1alpha1.RoutingPolicySpec{
			OfficeSelector: v1alpha1.OfficeSelector{SubtreeOf: "gone"},
			Rules:          []v1alpha1.RoutingRule{{Name: "r", RouteTo: v1alpha1.RouteTarget{Office: "gone-too"}}},
		},
	})
	s.EscalationPolicies = append([]v1alpha1.EscalationPolicy{{
		ObjectMeta: metav1.ObjectMeta{Name: "bad"},
		Spec:       v1alpha1.EscalationPolicySpec{Stages: []v1alpha1.EscalationStage{{Name: "Acceptance", Limit: "5d"}, {Name: "Review", Limit: "5d"}}},
	}}, s.EscalationPolicies...)
	s.HolidayCalendars = append(s.HolidayCalendars, v1alpha1.HolidayCalendar{
		ObjectMeta: metav1.ObjectMeta{Name: "a-cal"},
		Spec:       v1alpha1.HolidayCalendarSpec{Workdays: []v1alpha1.Date{"someday"}},
	})
	got := problemStrings(ValidateSnapshot(s))
	want := []string{
		`EscalationPolicy/bad: spec.stages: Invalid value: must include Acceptance and Handling`,
		`HolidayCalendar/a-cal: spec.workdays[0]: Invalid value: "someday" is not a valid date (YYYY-MM-DD)`,
		`Office/nanyang-nr: spec.department: Duplicate value: "NaturalResources": office "nanyang-nr2" already is that department under "nanyang"`,
		`Office/nanyang-nr2: spec.department: Duplicate value: "NaturalResources": office "nanyang-nr" already is that department under "nanyang"`,
		`Office/za: spec.escalation.supervisor: Not found: Office "nobody" does not exist`,
		`Office/za: spec.parent: Not found: Office "missing-city" does not exist`,
		`Office/zb: spec.calendarRef: Not found: HolidayCalendar "cn-2027" does not exist`,
		`Office/zb: spec.parent: Invalid value: "nanyang": the parent of a Township must be a County, not a City ("nanyang" is a City)`,
		`Office/zb: spec.timeZone: Invalid value: unknown time zone "Mars/Base"`,
		`RoutingPolicy/broken: spec.officeSelector.subtreeOf: Not found: Office "gone" does not exist`,
		`RoutingPolicy/broken: spec.rules[0].routeTo.office: Not found: Office "gone-too" does not exist`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ValidateSnapshot:\n got %q\nwant %q", got, want)
	}
}

func TestValidateSnapshotCycle(t *testing.T) {
	// Each office of a cycle reports it from its own place in it.
	s := &Snapshot{Offices: []v1alpha1.Office{
		*ofc("a", township, "b"), *ofc("b", county, "a"),
	}}
	got := problemStrings(ValidateSnapshot(s))
	want := []string{
		`Office/a: spec.parent: Invalid value: "b": the parent chain a → b → a is a cycle`,
		`Office/b: spec.parent: Invalid value: "a": the parent chain b → a → b is a cycle`,
		`Office/b: spec.parent: Invalid value: "a": the parent of a County must be a City, not a Township ("a" is a Township)`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ValidateSnapshot:\n got %q\nwant %q", got, want)
	}
}

func TestObjectProblemString(t *testing.T) {
	p := ObjectProblem{Kind: KindOffice, Name: "x", Err: missing(field.NewPath("spec", "parent"), KindOffice, "y")}
	if got, want := p.String(), `Office/x: spec.parent: Not found: Office "y" does not exist`; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}
