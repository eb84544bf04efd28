package webhook_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	admissionv1 "k8s.io/api/admissionregistration/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/cmd/manager/app/apptest"
	"github.com/xinfang/petition-operator/controllers"
	"github.com/xinfang/petition-operator/internal/testenv"
	"github.com/xinfang/petition-operator/internal/webhook"
)

var (
	env      *testenv.Env
	k8s      client.Client
	warnings = &testenv.WarningRecorder{}
)

// TestMain starts a real control plane and the operator with its reconcilers
// and webhooks, the webhooks served over TLS with the operator's own
// certificate and registered by the operator, as `make run` does.
func TestMain(m *testing.M) {
	os.Exit(apptest.Run(m, apptest.OperatorOptions{Reconcilers: true, TenantImage: "ghcr.io/xinfang/petition-desk:test", RollOutDeployments: true,
		// Rollouts move on within a second of their offices, not 10 s.
		StatusPacing: controllers.StatusPacing{Delay: 200 * time.Millisecond, Interval: time.Second}},
		func(e *testenv.Env, _ *apptest.Operator) error {
			env = e
			var err error
			k8s, err = e.ClientWithWarnings(warnings)
			return err
		}))
}

func office(name string, level v1alpha1.Level, parent string) *v1alpha1.Office {
	o := &v1alpha1.Office{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: v1alpha1.OfficeSpec{Level: level, Parent: v1alpha1.OfficeName(parent)}}
	if level == v1alpha1.LevelDepartment {
		o.Spec.Department = "HumanResources"
	}
	return o
}

// create creates objs, failing the test on an error, and deletes them at
// the end of the test, children first.
func create(t *testing.T, objs ...client.Object) {
	t.Helper()
	for _, o := range objs {
		if err := k8s.Create(context.Background(), o); err != nil {
			t.Fatalf("creating %s: %v", o.GetName(), err)
		}
	}
	t.Cleanup(func() {
		for i := len(objs) - 1; i >= 0; i-- {
			deleteAndWait(t, objs[i])
		}
	})
}

func deleteAndWait(t *testing.T, o client.Object) {
	t.Helper()
	if err := k8s.Delete(context.Background(), o); err != nil && !apierrors.IsNotFound(err) {
		t.Errorf("deleting %s: %v", o.GetName(), err)
		return
	}
	NewWithT(t).Eventually(func() bool {
		return apierrors.IsNotFound(k8s.Get(context.Background(), client.ObjectKeyFromObject(o), o.DeepCopyObject().(client.Object)))
	}).WithTimeout(30 * time.Second).Should(BeTrue())
}

// expectRefused checks that err is the API server's refusal with every one
// of wants in its message.
func expectRefused(t *testing.T, err error, reason metav1.StatusReason, wants ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("admitted; want a refusal saying %q", wants)
	}
	if got := apierrors.ReasonForError(err); got != reason {
		t.Errorf("reason = %s, want %s (%v)", got, reason, err)
	}
	for _, w := range wants {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not say %q", err, w)
		}
	}
}

func TestWebhookConfigurationsInstalledWithTLS(t *testing.T) {
	ctx := context.Background()
	var v admissionv1.ValidatingWebhookConfiguration
	if err := k8s.Get(ctx, client.ObjectKey{Name: webhook.LocalConfigurationName}, &v); err != nil {
		t.Fatal(err)
	}
	var m admissionv1.MutatingWebhookConfiguration
	if err := k8s.Get(ctx, client.ObjectKey{Name: webhook.LocalConfigurationName}, &m); err != nil {
		t.Fatal(err)
	}
	kinds := map[string]bool{}
	for _, w := range v.Webhooks {
		if w.ClientConfig.URL == nil || !strings.HasPrefix(*w.ClientConfig.URL, "https://127.0.0.1:") || len(w.ClientConfig.CABundle) == 0 {
			t.Errorf("webhook %s: clientConfig = %+v, want an https URL and a CA bundle", w.Name, w.ClientConfig)
		}
		if w.FailurePolicy == nil || *w.FailurePolicy != admissionv1.Fail {
			t.Errorf("webhook %s: failurePolicy = %v, want Fail", w.Name, w.FailurePolicy)
		}
		for _, r := range w.Rules {
			for _, res := range r.Resources {
				kinds[res] = true
			}
		}
	}
	for _, res := range []string{"offices", "routingpolicies", "dutyperiods", "escalationpolicies", "holidaycalendars"} {
		if !kinds[res] {
			t.Errorf("no validating webhook for %s", res)
		}
	}
	if len(m.Webhooks) != 1 || m.Webhooks[0].Rules[0].Resources[0] != "offices" {
		t.Errorf("mutating webhooks = %+v, want the office defaulter", m.Webhooks)
	}
}

func TestParentLevelRefused(t *testing.T) {
	ctx := context.Background()
	create(t, office("lv-city", v1alpha1.LevelCity, ""), office("lv-county", v1alpha1.LevelCounty, "lv-city"))
	for _, tc := range []struct {
		office *v1alpha1.Office
		want   string
	}{
		{office("lv-county-2", v1alpha1.LevelCounty, "lv-county"), `spec.parent: Invalid value: "lv-county": the parent of a County must be a City, not a County`},
		{office("lv-town", v1alpha1.LevelTownship, "lv-city"), "the parent of a Township must be a County, not a City"},
	} {
		err := k8s.Create(ctx, tc.office)
		expectRefused(t, err, metav1.StatusReasonInvalid, tc.want, fmt.Sprintf("Office.petition.xinfang.io %q is invalid", tc.office.Name))
		if !apierrors.IsNotFound(k8s.Get(ctx, client.ObjectKeyFromObject(tc.office), &v1alpha1.Office{})) {
			t.Errorf("%s exists after its refusal", tc.office.Name)
		}
	}
}

func TestDuplicateDepartmentRefused(t *testing.T) {
	create(t, office("dup-city", v1alpha1.LevelCity, ""), office("dup-hr", v1alpha1.LevelDepartment, "dup-city"))
	err := k8s.Create(context.Background(), office("dup-hr-2", v1alpha1.LevelDepartment, "dup-city"))
	expectRefused(t, err, metav1.StatusReasonInvalid, `spec.department: Duplicate value: "HumanResources": office "dup-hr" already is that department under "dup-city"`)
	// The same department under another parent is another office.
	create(t, office("dup-county", v1alpha1.LevelCounty, "dup-city"), office("dup-county-hr", v1alpha1.LevelDepartment, "dup-county"))
}

// Departments applied before their parent are admitted on their own; two of
// them with one code keep the parent out until one is changed.
func TestDuplicateWaitingDepartmentsRefuseTheParent(t *testing.T) {
	// Cleanups run last first: the city goes after its departments.
	t.Cleanup(func() { deleteAndWait(t, office("late-city", v1alpha1.LevelCity, "")) })
	create(t, office("late-hr", v1alpha1.LevelDepartment, "late-city"), office("late-hr-2", v1alpha1.LevelDepartment, "late-city"))
	err := k8s.Create(context.Background(), office("late-city", v1alpha1.LevelCity, ""))
	expectRefused(t, err, metav1.StatusReasonInvalid,
		`offices "late-hr" and "late-hr-2" wait for this office as their parent and both are department "HumanResources"`)
	// The reconciler writes the child's status meanwhile: retry on conflict.
	if err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		var hr2 v1alpha1.Office
		if err := k8s.Get(context.Background(), client.ObjectKey{Name: "late-hr-2"}, &hr2); err != nil {
			return err
		}
		hr2.Spec.Department = "NaturalResources"
		return k8s.Update(context.Background(), &hr2)
	}); err != nil {
		t.Fatalf("changing the department of a waiting child: %v", err)
	}
	if err := k8s.Create(context.Background(), office("late-city", v1alpha1.LevelCity, "")); err != nil {
		t.Fatalf("creating the parent once its departments differ: %v", err)
	}
}

func TestLevelChangeThatOrphansChildrenRefused(t *testing.T) {
	ctx := context.Background()
	county := office("orph-county", v1alpha1.LevelCounty, "orph-city")
	create(t, office("orph-city", v1alpha1.LevelCity, ""), county, office("orph-town", v1alpha1.LevelTownship, "orph-county"))
	before := county.Generation
	county.Spec.Level = v1alpha1.LevelDepartment
	county.Spec.Department = "Organization"
	err := k8s.Update(ctx, county)
	expectRefused(t, err, metav1.StatusReasonInvalid, `spec.level: Invalid value: "Department": office "orph-town" names this office as its parent and would not fit: the parent of a Township must be a County, not a Department`)
	var got v1alpha1.Office
	if err := k8s.Get(ctx, client.ObjectKeyFromObject(county), &got); err != nil {
		t.Fatal(err)
	}
	if got.Spec.Level != v1alpha1.LevelCounty || got.Generation != before {
		t.Errorf("office changed after the refusal: level %s, generation %d (was %d)", got.Spec.Level, got.Generation, before)
	}
}

// A cycle needs a parent that does not exist yet, admitted with a warning;
// the office that would close the cycle is refused.
func TestCycleRefused(t *testing.T) {
	warnings.Reset()
	create(t, office("cyc-a", v1alpha1.LevelDepartment, "cyc-b"))
	if w := strings.Join(warnings.Messages(), "\n"); !strings.Contains(w, `spec.parent: Not found: Office "cyc-b" does not exist yet`) {
		t.Errorf("warnings = %q, want one for the missing parent", w)
	}
	err := k8s.Create(context.Background(), office("cyc-b", v1alpha1.LevelDepartment, "cyc-a"))
	expectRefused(t, err, metav1.StatusReasonInvalid, "the parent chain cyc-b → cyc-a → cyc-b is a cycle")
	// And an office waiting for its parent is checked when the parent comes.
	err = k8s.Create(context.Background(), office("cyc-b", v1alpha1.LevelTownship, "cyc-county"))
	expectRefused(t, err, metav1.StatusReasonInvalid, `office "cyc-a" names this office as its parent and would not fit: the parent of a Department must be a City or County, not a Township`)
}

func TestDeleteWithChildrenRefused(t *testing.T) {
	ctx := context.Background()
	county := office("del-county", v1alpha1.LevelCounty, "del-city")
	create(t, office("del-city", v1alpha1.LevelCity, ""), county,
		office("del-town-b", v1alpha1.LevelTownship, "del-county"), office("del-town-a", v1alpha1.LevelTownship, "del-county"))
	err := k8s.Delete(ctx, county)
	expectRefused(t, err, metav1.StatusReasonForbidden, `office "del-county" still has 2 child office(s): del-town-a, del-town-b; delete or re-parent them first`)
	var got v1alpha1.Office
	if err := k8s.Get(ctx, client.ObjectKeyFromObject(county), &got); err != nil || !got.DeletionTimestamp.IsZero() {
		t.Fatalf("office after the refused delete: %v, deletionTimestamp %v", err, got.DeletionTimestamp)
	}
	// A leaf deletes, and so does the parent once its children are gone.
	deleteAndWait(t, office("del-town-a", v1alpha1.LevelTownship, ""))
	deleteAndWait(t, office("del-town-b", v1alpha1.LevelTownship, ""))
	deleteAndWait(t, county)
}

func TestPendingReferencesAdmittedWithWarnings(t *testing.T) {
	warnings.Reset()
	o := office("pend-city", v1alpha1.LevelCity, "")
	o.Spec.CalendarRef = "pend-calendar"
	o.Spec.Escalation.PolicyRef = "pend-policy"
	create(t, o)
	got := strings.Join(warnings.Messages(), "\n")
	for _, want := range []string{
		`spec.calendarRef: Not found: HolidayCalendar "pend-calendar" does not exist yet; the object waits, not Ready, until it is applied`,
		`spec.escalation.policyRef: Not found: EscalationPolicy "pend-policy" does not exist yet`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("warnings = %q, want %q", got, want)
		}
	}
	// Deleting a calendar in use is allowed, with a warning.
	cal := &v1alpha1.HolidayCalendar{ObjectMeta: metav1.ObjectMeta{Name: "pend-calendar"}}
	create(t, cal)
	NewWithT(t).Eventually(func() error {
		warnings.Reset()
		if err := k8s.Delete(context.Background(), cal, client.DryRunAll); err != nil {
			return err
		}
		if w := strings.Join(warnings.Messages(), "\n"); !strings.Contains(w, `HolidayCalendar "pend-calendar" is used by 1 office(s) (pend-city)`) {
			return fmt.Errorf("warnings = %q", w)
		}
		return nil
	}).WithTimeout(10 * time.Second).Should(Succeed())
}

func TestEscalationPolicyAndCalendarRulesRefused(t *testing.T) {
	ctx := context.Background()
	p := &v1alpha1.EscalationPolicy{ObjectMeta: metav1.ObjectMeta{Name: "bad-order"}, Spec: v1alpha1.EscalationPolicySpec{
		Stages: []v1alpha1.EscalationStage{{Name: v1alpha1.StageHandling, Limit: "60d"}, {Name: v1alpha1.StageAcceptance, Limit: "15d"}},
	}}
	expectRefused(t, k8s.Create(ctx, p), metav1.StatusReasonInvalid, "spec.stages[1].name", "Acceptance must come before the stages listed above it")
	c := &v1alpha1.HolidayCalendar{ObjectMeta: metav1.ObjectMeta{Name: "bad-dates"}, Spec: v1alpha1.HolidayCalendarSpec{
		Holidays: []v1alpha1.Holiday{{Name: "national-day", From: "2026-10-01", To: "2026-10-08"}, {Name: "leap", From: "2026-02-29", To: "2026-03-01"}},
	}}
	expectRefused(t, k8s.Create(ctx, c), metav1.StatusReasonInvalid, `spec.holidays[1].from: Invalid value: `, "2026-02-29")
}

func TestWindowDefaultsByKind(t *testing.T) {
	o := office("dflt-city", v1alpha1.LevelCity, "")
	o.Spec.ReceptionWindows = []v1alpha1.ReceptionWindow{
		{Name: "weekdays", Channels: []v1alpha1.Channel{v1alpha1.ChannelVisit}, Weekdays: []string{"monday:friday"}},
		{Name: "duty", Kind: v1alpha1.WindowExtendedDuty, Channels: []v1alpha1.Channel{v1alpha1.ChannelPhone}, Always: true},
		{Name: "leader", Kind: v1alpha1.WindowLeaderReception, Channels: []v1alpha1.Channel{v1alpha1.ChannelVisit}, Weekdays: []string{"wednesday"}, ClosedOnHolidays: ptr.To(false)},
	}
	create(t, o)
	var got v1alpha1.Office
	if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(o), &got); err != nil {
		t.Fatal(err)
	}
	want := []bool{true, false, false}
	for i, w := range got.Spec.ReceptionWindows {
		if w.ClosedOnHolidays == nil || *w.ClosedOnHolidays != want[i] {
			t.Errorf("window %s: closedOnHolidays = %v, want %v", w.Name, w.ClosedOnHolidays, want[i])
		}
	}
	if got.Spec.ReceptionWindows[0].Kind != v1alpha1.WindowRegular {
		t.Errorf("window weekdays: kind = %q, want the schema default Regular", got.Spec.ReceptionWindows[0].Kind)
	}
}

// TestDefaultsLeaveOmittedFieldsOmitted: the mutating webhook's patch holds
// only what it defaulted, so a level left out is still missing for the
// schema (Required value), not written out empty (Unsupported value: "");
// and an office this process reconciles comes back from its create with the
// operator's finalizer. (test/corpus_test.go runs the webhooks without
// reconcilers: there offices get none.)
func TestDefaultsLeaveOmittedFieldsOmitted(t *testing.T) {
	ctx := context.Background()
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": v1alpha1.GroupVersion.String(), "kind": "Office",
		"metadata": map[string]any{"name": "nolevel-city"},
		"spec": map[string]any{"receptionWindows": []any{
			map[string]any{"name": "weekdays", "channels": []any{"Visit"}, "weekdays": []any{"monday:friday"}},
		}},
	}}
	err := k8s.Create(ctx, u)
	expectRefused(t, err, metav1.StatusReasonInvalid, "spec.level: Required value")
	if err != nil && strings.Contains(err.Error(), "Unsupported value") {
		t.Errorf("the defaults wrote out an omitted field: %v", err)
	}

	o := office("fin-city", v1alpha1.LevelCity, "")
	create(t, o)
	if !slices.Equal(o.Finalizers, []string{v1alpha1.OfficeFinalizer}) {
		t.Errorf("office created with finalizers %v, want %s from the webhook", o.Finalizers, v1alpha1.OfficeFinalizer)
	}
	// A Village gets none: the operator deletes nothing for it.
	county, town := office("fin-county", v1alpha1.LevelCounty, "fin-city"), office("fin-town", v1alpha1.LevelTownship, "fin-county")
	village := office("fin-village", v1alpha1.LevelVillage, "fin-town")
	create(t, county, town, village)
	if len(village.Finalizers) > 0 {
		t.Errorf("village created with finalizers %v, want none", village.Finalizers)
	}
}

// readyCondition returns the Ready condition of obj, read from the API server.
func readyCondition(g Gomega, obj client.Object) *metav1.Condition {
	g.Expect(k8s.Get(context.Background(), client.ObjectKeyFromObject(obj), obj)).To(Succeed())
	st := obj.(interface{ CommonStatus() *v1alpha1.StatusCommon }).CommonStatus()
	return apimeta.FindStatusCondition(st.Conditions, v1alpha1.ConditionReady)
}
