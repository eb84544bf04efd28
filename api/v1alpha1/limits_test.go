package v1alpha1_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"

	. "github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/config/crd"
)

// schemaAt returns the schema of the generated CRD of plural at path: field
// names from the version's root joined by dots, "[]" stepping into a list's
// items (spec.receptionWindows[].channels).
func schemaAt(t *testing.T, plural, path string) *apiextensionsv1.JSONSchemaProps {
	t.Helper()
	data, err := crd.Bases.ReadFile(fmt.Sprintf("bases/%s_%s.yaml", GroupVersion.Group, plural))
	if err != nil {
		t.Fatal(err)
	}
	var def apiextensionsv1.CustomResourceDefinition
	if err := yaml.UnmarshalStrict(data, &def); err != nil {
		t.Fatalf("%s: %v", plural, err)
	}
	var s *apiextensionsv1.JSONSchemaProps
	for _, v := range def.Spec.Versions {
		if v.Name == GroupVersion.Version {
			s = v.Schema.OpenAPIV3Schema
		}
	}
	if s == nil {
		t.Fatalf("%s: no schema of version %s", plural, GroupVersion.Version)
	}
	for _, step := range strings.Split(strings.ReplaceAll(path, "[]", ".[]"), ".") {
		if step == "[]" {
			if s.Items == nil || s.Items.Schema == nil {
				t.Fatalf("%s %s: %s is not a list", plural, path, step)
			}
			s = s.Items.Schema
			continue
		}
		p, ok := s.Properties[step]
		if !ok {
			t.Fatalf("%s %s: no field %s", plural, path, step)
		}
		s = &p
	}
	return s
}

// TestLimitsMatchSchema holds each exported bound of this package equal to
// the generated schema's: the markers state the numbers again, so changing
// one without the other fails here, and the desk, which refuses what the
// API would not admit with these constants, cannot drift from the API.
func TestLimitsMatchSchema(t *testing.T) {
	type bound struct {
		plural, path string
		want         int
	}
	items := []bound{
		{"offices", "spec.receptionWindows", MaxReceptionWindows},
		{"offices", "spec.receptionWindows[].channels", MaxWindowChannels},
		{"offices", "spec.receptionWindows[].weekdays", MaxWindowWeekdays},
		{"offices", "spec.receptionWindows[].times", MaxWindowTimes},
		{"offices", "spec.receptionWindows[].daysOfMonth", MaxWindowDaysOfMonth},
		{"offices", "spec.receptionWindows[].dateRanges", MaxWindowDateRanges},
		// The desk bounds a DutyPeriod's window as a reception window.
		{"dutyperiods", "spec.channels", MaxWindowChannels},
		{"dutyperiods", "spec.times", MaxWindowTimes},
		{"dutyperiods", "spec.dateRanges", MaxWindowDateRanges},
		{"holidaycalendars", "spec.holidays", MaxHolidays},
		{"holidaycalendars", "spec.workdays", MaxWorkdays},
		{"escalationpolicies", "spec.stages", MaxStages},
		{"escalationpolicies", "spec.reminders", MaxReminders},
		{"escalationpolicies", "spec.overdue", MaxOverdueRungs},
	}
	for _, b := range items {
		if s := schemaAt(t, b.plural, b.path); s.MaxItems == nil || *s.MaxItems != int64(b.want) {
			t.Errorf("%s %s: maxItems %v, want %d (the constant)", b.plural, b.path, deref(s.MaxItems), b.want)
		}
	}
	lengths := []bound{
		{"offices", "spec.escalation.above[].displayName", MaxExternalBodyName},
		{"offices", "spec.routing.rules[].match.categories[]", MaxCategoryLength},
		{"routingpolicies", "spec.rules[].match.categories[]", MaxCategoryLength},
		{"offices", "spec.cases.cloudNativePG.backup.schedule", MaxBackupSchedule},
	}
	for _, b := range lengths {
		if s := schemaAt(t, b.plural, b.path); s.MaxLength == nil || *s.MaxLength != int64(b.want) {
			t.Errorf("%s %s: maxLength %v, want %d (the constant)", b.plural, b.path, deref(s.MaxLength), b.want)
		}
	}
	if s := schemaAt(t, "offices", "spec.cases.cloudNativePG.instances"); s.Maximum == nil || *s.Maximum != MaxCasesInstances {
		t.Errorf("offices spec.cases.cloudNativePG.instances: maximum %v, want %d (the constant)", deref(s.Maximum), MaxCasesInstances)
	}
}

// TestDurationPatternAdmitsMaxDays holds MaxDurationDays to the pattern of a
// Duration: it admits MaxDurationDays days and no more, of either kind.
func TestDurationPatternAdmitsMaxDays(t *testing.T) {
	for _, path := range []string{"spec.stages[].limit", "spec.stages[].extension", "spec.reminders[].before", "spec.overdue[].after"} {
		s := schemaAt(t, "escalationpolicies", path)
		re, err := regexp.Compile(s.Pattern)
		if err != nil {
			t.Fatalf("%s: pattern %q: %v", path, s.Pattern, err)
		}
		for _, unit := range []string{"d", "wd"} {
			for n, want := range map[int]bool{1: true, MaxDurationDays: true, MaxDurationDays + 1: false} {
				if v := fmt.Sprint(n, unit); re.MatchString(v) != want {
					t.Errorf("%s: pattern %q matches %s = %v, want %v", path, s.Pattern, v, !want, want)
				}
			}
		}
	}
}

func deref[T any](p *T) any {
	if p == nil {
		return "unset"
	}
	return *p
}
