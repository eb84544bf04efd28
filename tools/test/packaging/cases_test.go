package packaging_test

import (
	"context"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/xinfang/petition-operator/api/v1alpha1"
)

// installCasesRole installs the chart's Role of the case stores and its
// binding, as rendered in r.
func installCasesRole(t *testing.T, admin client.Client, r rendering) {
	t.Helper()
	var role rbacv1.Role
	var binding rbacv1.RoleBinding
	r.one(t, "Role", release+"-cases", &role)
	r.one(t, "RoleBinding", release+"-cases", &binding)
	if role.Namespace != namespace || binding.Namespace != namespace {
		t.Fatalf("the cases Role in %q, its binding in %q; want %s", role.Namespace, binding.Namespace, namespace)
	}
	create(t, admin, &role)
	create(t, admin, &binding)
}

// checkCasesUnderChart checks, with the reconcilers running as the
// manager's ServiceAccount under the chart's permissions (RBAC and the
// admission policy) and the case stores in the release namespace, that a
// City with an external database gets its key Secret and its registry
// there, and loses the registry with spec.cases: what the chart grants is
// what the operator needs.
func checkCasesUnderChart(t *testing.T, admin client.Client) {
	ctx := context.Background()
	create(t, admin, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "vap-cases-db"},
		StringData: map[string]string{"uri": "postgres://registry@db.example:5432/cases"}})
	city := &v1alpha1.Office{ObjectMeta: metav1.ObjectMeta{Name: "vap-cases"}, Spec: v1alpha1.OfficeSpec{Level: v1alpha1.LevelCity,
		Cases: &v1alpha1.OfficeCases{External: &v1alpha1.ExternalCases{SecretRef: v1alpha1.SecretKeyRef{Name: "vap-cases-db", Key: "uri"}}}}}
	if err := admin.Create(ctx, city); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = admin.Delete(context.Background(), city) })
	var cases *metav1.Condition
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		if err := admin.Get(ctx, client.ObjectKeyFromObject(city), city); err != nil {
			return false, err
		}
		cases = apimeta.FindStatusCondition(city.Status.Conditions, v1alpha1.ConditionCasesReady)
		return cases != nil && cases.Status == metav1.ConditionTrue && cases.ObservedGeneration == city.Generation, nil
	})
	if err != nil {
		t.Fatalf("City %s: CasesReady %+v after 60 s, want True", city.Name, cases)
	}
	var key corev1.Secret
	if err := admin.Get(ctx, client.ObjectKey{Namespace: namespace, Name: "cases-vap-cases-key"}, &key); err != nil {
		t.Errorf("the key Secret: %v", err)
	}
	t.Cleanup(func() { _ = admin.Delete(context.Background(), &key) })
	deployment := client.ObjectKey{Namespace: namespace, Name: "cases-vap-cases"}
	if err := admin.Get(ctx, deployment, &appsv1.Deployment{}); err != nil {
		t.Errorf("the registry's Deployment: %v", err)
	}

	// Without spec.cases, the registry goes: the policy lets the manager
	// delete what it labelled.
	city.Spec.Cases = nil
	if err := admin.Update(ctx, city); err != nil {
		t.Fatal(err)
	}
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		return apierrors.IsNotFound(admin.Get(ctx, deployment, &appsv1.Deployment{})), nil
	})
	if err != nil {
		t.Errorf("the registry's Deployment is still there 60 s after spec.cases went")
	}
}
