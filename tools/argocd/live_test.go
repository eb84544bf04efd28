package argocd

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/cmd/manager/app/apptest"
	"github.com/xinfang/petition-operator/internal/testenv"
)

// The tests of this file prove that Argo CD reads the status the operator
// writes as docs/gitops.md says: the health check of docs/argocd/health.lua
// runs on each object read back from the API server as unstructured, the
// way Argo CD sees it. controllers/kstatus_test.go proves the same states
// for Flux (kstatus).

var k8s client.Client

// TestMain starts a real control plane and the manager with every
// reconciler, without the admission webhooks (a stalled office is one they
// would refuse), as controllers' tests do.
func TestMain(m *testing.M) {
	os.Exit(apptest.Run(m, apptest.OperatorOptions{Reconcilers: true, TenantImage: "ghcr.io/xinfang/petition-desk:test", NoWebhooks: true, RollOutDeployments: true},
		func(env *testenv.Env, _ *apptest.Operator) error {
			// Read through a direct client: what the API server stores.
			var err error
			k8s, err = client.New(env.Config, client.Options{Scheme: testenv.Scheme})
			return err
		}))
}

func newOffice(name string, level v1alpha1.Level, parent string) *v1alpha1.Office {
	return &v1alpha1.Office{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: v1alpha1.OfficeSpec{Level: level, Parent: v1alpha1.OfficeName(parent)}}
}

func create(t *testing.T, objs ...client.Object) {
	t.Helper()
	for _, o := range objs {
		if err := k8s.Create(context.Background(), o); err != nil {
			t.Fatalf("creating %s: %v", o.GetName(), err)
		}
	}
}

// condition fetches obj and returns its condition of type typ, or nil.
func condition(g Gomega, obj client.Object, typ string) *metav1.Condition {
	return testenv.Condition(g, k8s, obj, typ)
}

// expectReady waits until obj is Ready (testenv.ExpectReady).
func expectReady(t *testing.T, obj client.Object) {
	t.Helper()
	testenv.ExpectReady(t, k8s, obj)
}

// expectNotReady waits until obj is not Ready for reason
// (testenv.ExpectNotReady).
func expectNotReady(t *testing.T, obj client.Object, reason, companion string) {
	t.Helper()
	testenv.ExpectNotReady(t, k8s, obj, reason, companion)
}

// readBack reads obj from the API server as unstructured.
func readBack(t *testing.T, obj client.Object) *unstructured.Unstructured {
	t.Helper()
	gvk, err := apiutil.GVKForObject(obj, testenv.Scheme)
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(gvk)
	if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(obj), u); err != nil {
		t.Fatalf("reading %s %s: %v", gvk.Kind, obj.GetName(), err)
	}
	return u
}

// conditionOf returns the condition of type typ of u, or nil.
func conditionOf(t *testing.T, u *unstructured.Unstructured, typ string) *metav1.Condition {
	t.Helper()
	var st v1alpha1.StatusCommon
	if s, ok := u.Object["status"].(map[string]any); ok {
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(s, &st); err != nil {
			t.Fatal(err)
		}
	}
	return apimeta.FindStatusCondition(st.Conditions, typ)
}

// expectHealth runs docs/argocd/health.lua on u as Argo CD runs it and
// compares its answer with want.
func expectHealth(t *testing.T, u *unstructured.Unstructured, want health) {
	t.Helper()
	if got := runHealth(t, script(t), u.Object); got != want {
		t.Errorf("Argo CD health of %s %s = %+v, want %+v", u.GetKind(), u.GetName(), got, want)
	}
}

// staleMessage is the message of a generation not observed yet, kstatus's
// words, which the script uses too.
func staleMessage(u *unstructured.Unstructured, observed int64) string {
	return fmt.Sprintf("%s generation is %d, but latest observed generation is %d", u.GetKind(), u.GetGeneration(), observed)
}

func TestArgoCDReadsOffices(t *testing.T) {
	t.Run("Ready office is Healthy", func(t *testing.T) {
		city := newOffice("gitops-city", v1alpha1.LevelCity, "")
		create(t, city)
		expectReady(t, city)
		u := readBack(t, city)
		if ready := conditionOf(t, u, v1alpha1.ConditionReady); ready == nil || ready.Status != metav1.ConditionTrue {
			t.Fatalf("read back a different state: Ready = %+v", ready)
		}
		expectHealth(t, u, health{"Healthy", "tenant stack applied in office-gitops-city; office at gitops-city"})

		// A spec change: the API server's answer to the update carries
		// the new generation and the status of the old one, before the
		// operator can have seen it.
		var observed int64
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			u = readBack(t, city)
			observed, _, _ = unstructured.NestedInt64(u.Object, "status", "observedGeneration")
			if err := unstructured.SetNestedField(u.Object, "南阳市信访局", "spec", "displayName"); err != nil {
				return err
			}
			return k8s.Update(context.Background(), u)
		})
		if err != nil {
			t.Fatal(err)
		}
		if u.GetGeneration() != observed+1 {
			t.Fatalf("generation %d after an update of generation %d", u.GetGeneration(), observed)
		}
		expectHealth(t, u, health{"Progressing", staleMessage(u, observed)})

		// Once the operator has observed it, Healthy again.
		expectReady(t, city)
		expectHealth(t, readBack(t, city), health{"Healthy", "tenant stack applied in office-gitops-city; office at gitops-city"})
	})

	t.Run("office waiting for its parent is Progressing", func(t *testing.T) {
		town := newOffice("gitops-town", v1alpha1.LevelTownship, "gitops-nowhere")
		create(t, town)
		expectNotReady(t, town, v1alpha1.ReasonParentMissing, v1alpha1.ConditionReconciling)
		u := readBack(t, town)
		msg := `parent office "gitops-nowhere" does not exist`
		if r := conditionOf(t, u, v1alpha1.ConditionReconciling); r == nil || r.Reason != v1alpha1.ReasonParentMissing || r.Message != msg {
			t.Fatalf("read back a different state: Reconciling = %+v", r)
		}
		expectHealth(t, u, health{"Progressing", msg})
	})

	t.Run("stalled office is Degraded", func(t *testing.T) {
		city := newOffice("gitops-patched", v1alpha1.LevelCity, "")
		city.Spec.Tenant.Patches = []v1alpha1.TenantPatch{{
			Patch: "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: office-gitops-patched\n  labels:\n    pod-security.kubernetes.io/enforce: privileged\n",
		}}
		create(t, city)
		expectNotReady(t, city, v1alpha1.ReasonRenderFailed, v1alpha1.ConditionStalled)
		u := readBack(t, city)
		stalled := conditionOf(t, u, v1alpha1.ConditionStalled)
		if stalled == nil || stalled.Reason != v1alpha1.ReasonRenderFailed {
			t.Fatalf("read back a different state: Stalled = %+v", stalled)
		}
		NewWithT(t).Expect(stalled.Message).To(ContainSubstring("pod-security.kubernetes.io/enforce must stay restricted"))
		expectHealth(t, u, health{"Degraded", stalled.Message})
	})

	t.Run("suspended office is Suspended", func(t *testing.T) {
		city := newOffice("gitops-suspended", v1alpha1.LevelCity, "")
		city.Spec.Suspend = true
		create(t, city)
		NewWithT(t).Eventually(func(g Gomega) {
			ready := condition(g, city, v1alpha1.ConditionReady)
			g.Expect(ready).NotTo(BeNil())
			g.Expect(ready.Reason).To(Equal(v1alpha1.ReasonSuspended))
			g.Expect(ready.ObservedGeneration).To(Equal(city.Generation))
		}).WithTimeout(20 * time.Second).Should(Succeed())
		u := readBack(t, city)
		msg := "spec.suspend is true: the tenant stack is left as it is"
		if r := conditionOf(t, u, v1alpha1.ConditionReady); r == nil || r.Message != msg {
			t.Fatalf("read back a different state: Ready = %+v", r)
		}
		expectHealth(t, u, health{"Suspended", msg})
	})

	// Before the operator's first status write an object has no status at
	// all: Progressing (kstatus says Current; docs/gitops.md says so).
	t.Run("office without status yet is Progressing", func(t *testing.T) {
		obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(newOffice("gitops-new", v1alpha1.LevelCity, ""))
		if err != nil {
			t.Fatal(err)
		}
		u := &unstructured.Unstructured{Object: obj}
		u.SetGroupVersionKind(v1alpha1.GroupVersion.WithKind("Office"))
		// The API server's answer to the create, before the operator can
		// have seen the office.
		if err := k8s.Create(context.Background(), u); err != nil {
			t.Fatal(err)
		}
		if _, found := u.Object["status"]; found {
			t.Fatalf("the created office has a status: %v", u.Object["status"])
		}
		expectHealth(t, u, health{"Progressing", "Waiting for the operator to observe generation 1"})

		// From the first status write on, Healthy.
		created := &v1alpha1.Office{ObjectMeta: metav1.ObjectMeta{Name: "gitops-new"}}
		expectReady(t, created)
		expectHealth(t, readBack(t, created), health{"Healthy", "tenant stack applied in office-gitops-new; office at gitops-new"})
	})
}

func TestArgoCDReadsPoliciesAndCalendars(t *testing.T) {
	rp := &v1alpha1.RoutingPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "gitops-routing"},
		// Selects nothing.
		Spec: v1alpha1.RoutingPolicySpec{OfficeSelector: v1alpha1.OfficeSelector{SubtreeOf: "gitops-nowhere-city"}, Rules: []v1alpha1.RoutingRule{{
			Name: "land", RouteTo: v1alpha1.RouteTarget{Department: "NaturalResources"},
		}}},
	}
	ep := &v1alpha1.EscalationPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "gitops-policy"},
		Spec: v1alpha1.EscalationPolicySpec{Stages: []v1alpha1.EscalationStage{
			{Name: v1alpha1.StageAcceptance, Limit: "15d"}, {Name: v1alpha1.StageHandling, Limit: "60d"},
		}},
	}
	// This year and the next: its coverage does not end within 60 days.
	year := time.Now().Year()
	cal := &v1alpha1.HolidayCalendar{
		ObjectMeta: metav1.ObjectMeta{Name: "gitops-calendar"},
		Spec: v1alpha1.HolidayCalendarSpec{Holidays: []v1alpha1.Holiday{
			{Name: "National Day", From: v1alpha1.Date(fmt.Sprintf("%d-10-01", year)), To: v1alpha1.Date(fmt.Sprintf("%d-10-07", year))},
		}, Covers: &v1alpha1.CoverageRange{From: v1alpha1.Date(fmt.Sprintf("%d-01-01", year)), To: v1alpha1.Date(fmt.Sprintf("%d-12-31", year+1))}},
	}
	bad := &v1alpha1.HolidayCalendar{
		ObjectMeta: metav1.ObjectMeta{Name: "gitops-feb-30"},
		Spec:       v1alpha1.HolidayCalendarSpec{Holidays: []v1alpha1.Holiday{{Name: "typo", From: "2026-02-28", To: "2026-02-30"}}},
	}
	create(t, rp, ep, cal, bad)

	for _, tc := range []struct {
		obj     client.Object
		message string
	}{
		{rp, "1 rules for 0 offices"},
		{ep, "2 stages accepted"},
		{cal, fmt.Sprintf("1 holidays over 7 days; covers %d-01-01 to %d-12-31", year, year+1)},
	} {
		expectReady(t, tc.obj)
		u := readBack(t, tc.obj)
		if r := conditionOf(t, u, v1alpha1.ConditionReady); r == nil || r.Status != metav1.ConditionTrue || r.Message != tc.message {
			t.Fatalf("read back a different state of %s: Ready = %+v", u.GetKind(), r)
		}
		expectHealth(t, u, health{"Healthy", tc.message})
	}

	expectNotReady(t, bad, v1alpha1.ReasonInvalidDate, v1alpha1.ConditionStalled)
	u := readBack(t, bad)
	msg := `spec.holidays[0].to: "2026-02-30" is not a valid date (YYYY-MM-DD)`
	if s := conditionOf(t, u, v1alpha1.ConditionStalled); s == nil || s.Message != msg {
		t.Fatalf("read back a different state: Stalled = %+v", s)
	}
	expectHealth(t, u, health{"Degraded", msg})
}
