package controllers_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/fluxcd/cli-utils/pkg/kstatus/status"
	. "github.com/onsi/gomega"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/testenv"
)

// These tests prove that Flux reads the status the operator writes as
// docs/gitops.md says, through kstatus (status.Compute, as its health checks
// do). Every object is read back from the API server as unstructured, the
// way Flux sees it. The tools module proves the same states for Argo CD's
// health check of docs/argocd/health.lua (tools/argocd), which runs Lua.

// readBack reads obj from the API server as unstructured.
func readBack(t *testing.T, obj client.Object) *unstructured.Unstructured {
	t.Helper()
	gvk, err := apiutil.GVKForObject(obj, testenv.Scheme)
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(gvk)
	if err := k8s.Get(ctx, client.ObjectKeyFromObject(obj), u); err != nil {
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

// expectGitOps computes kstatus of u and compares it with what is wanted.
func expectGitOps(t *testing.T, u *unstructured.Unstructured, wantStatus status.Status, wantMessage string) {
	t.Helper()
	res, err := status.Compute(u)
	if err != nil {
		t.Fatalf("kstatus: %v", err)
	}
	if res.Status != wantStatus || res.Message != wantMessage {
		t.Errorf("kstatus of %s %s = %s %q, want %s %q", u.GetKind(), u.GetName(), res.Status, res.Message, wantStatus, wantMessage)
	}
}

// staleMessage is kstatus's message for a generation not observed yet.
func staleMessage(u *unstructured.Unstructured, observed int64) string {
	return fmt.Sprintf("%s generation is %d, but latest observed generation is %d", u.GetKind(), u.GetGeneration(), observed)
}

func TestGitOpsToolsReadOffices(t *testing.T) {
	t.Run("Ready office is Current", func(t *testing.T) {
		city := office("gitops-city", v1alpha1.LevelCity, "")
		create(t, city)
		expectReady(t, city)
		u := readBack(t, city)
		ready := conditionOf(t, u, v1alpha1.ConditionReady)
		if ready == nil || ready.Status != metav1.ConditionTrue {
			t.Fatalf("read back a different state: Ready = %+v", ready)
		}
		expectGitOps(t, u, status.CurrentStatus, "Resource is Ready")

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
			return k8s.Update(ctx, u)
		})
		if err != nil {
			t.Fatal(err)
		}
		if u.GetGeneration() != observed+1 {
			t.Fatalf("generation %d after an update of generation %d", u.GetGeneration(), observed)
		}
		expectGitOps(t, u, status.InProgressStatus, staleMessage(u, observed))

		// Once the operator has observed it, Current again.
		expectReady(t, city)
		u = readBack(t, city)
		expectGitOps(t, u, status.CurrentStatus, "Resource is Ready")
	})

	t.Run("office waiting for its parent is InProgress", func(t *testing.T) {
		town := office("gitops-town", v1alpha1.LevelTownship, "gitops-nowhere")
		create(t, town)
		expectNotReady(t, town, v1alpha1.ReasonParentMissing, v1alpha1.ConditionReconciling)
		u := readBack(t, town)
		reconciling := conditionOf(t, u, v1alpha1.ConditionReconciling)
		if reconciling == nil || reconciling.Reason != v1alpha1.ReasonParentMissing {
			t.Fatalf("read back a different state: Reconciling = %+v", reconciling)
		}
		msg := `parent office "gitops-nowhere" does not exist`
		if reconciling.Message != msg {
			t.Fatalf("Reconciling message %q, want %q", reconciling.Message, msg)
		}
		expectGitOps(t, u, status.InProgressStatus, msg)
	})

	t.Run("stalled office is Failed", func(t *testing.T) {
		city := office("gitops-patched", v1alpha1.LevelCity, "")
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
		expectGitOps(t, u, status.FailedStatus, stalled.Message)
	})

	// A suspended office is not Ready on purpose and neither Reconciling
	// nor Stalled: kstatus falls back to the Ready condition, which says
	// InProgress. A Flux Kustomization that waits for it times out.
	t.Run("suspended office is InProgress", func(t *testing.T) {
		city := office("gitops-suspended", v1alpha1.LevelCity, "")
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
		expectGitOps(t, u, status.InProgressStatus, msg)
	})

	// Before the operator's first status write an object has no status at
	// all. kstatus cannot tell that from a kind without status and says
	// Current (the Argo CD check says Progressing). docs/gitops.md says so.
	t.Run("office without status yet is Current", func(t *testing.T) {
		obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(office("gitops-new", v1alpha1.LevelCity, ""))
		if err != nil {
			t.Fatal(err)
		}
		u := &unstructured.Unstructured{Object: obj}
		u.SetGroupVersionKind(v1alpha1.GroupVersion.WithKind("Office"))
		// The API server's answer to the create, before the operator can
		// have seen the office.
		if err := k8s.Create(ctx, u); err != nil {
			t.Fatal(err)
		}
		if _, found := u.Object["status"]; found {
			t.Fatalf("the created office has a status: %v", u.Object["status"])
		}
		expectGitOps(t, u, status.CurrentStatus, "Resource is current")

		// From the first status write on, both agree.
		created := &v1alpha1.Office{ObjectMeta: metav1.ObjectMeta{Name: "gitops-new"}}
		expectReady(t, created)
		expectGitOps(t, readBack(t, created), status.CurrentStatus, "Resource is Ready")
	})
}

func TestGitOpsToolsReadPoliciesAndCalendars(t *testing.T) {
	rp := &v1alpha1.RoutingPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "gitops-routing"},
		// Selects nothing: the offices of other tests keep their routing.
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
		}, Covers: yearRange(year, year+1)},
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
		expectGitOps(t, u, status.CurrentStatus, "Resource is Ready")
	}

	expectNotReady(t, bad, v1alpha1.ReasonInvalidDate, v1alpha1.ConditionStalled)
	u := readBack(t, bad)
	msg := `spec.holidays[0].to: "2026-02-30" is not a valid date (YYYY-MM-DD)`
	if s := conditionOf(t, u, v1alpha1.ConditionStalled); s == nil || s.Message != msg {
		t.Fatalf("read back a different state: Stalled = %+v", s)
	}
	expectGitOps(t, u, status.FailedStatus, msg)
}
