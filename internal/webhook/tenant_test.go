package webhook_test

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/xinfang/petition-operator/api/v1alpha1"
)

// setTenantMetadata sets TenantDefaults spec.tenantMetadata, creating the
// TenantDefaults when the operator has not yet, and puts it back at the end
// of the test.
func setTenantMetadata(t *testing.T, m *v1alpha1.TenantMetadata) {
	t.Helper()
	ctx := context.Background()
	key := client.ObjectKey{Name: v1alpha1.DefaultTenantDefaults}
	var before *v1alpha1.TenantMetadata
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		td := &v1alpha1.TenantDefaults{}
		if err := k8s.Get(ctx, key, td); apierrors.IsNotFound(err) {
			td.Name = key.Name
			td.Spec.TenantMetadata = m
			return k8s.Create(ctx, td)
		} else if err != nil {
			return err
		}
		before = td.Spec.TenantMetadata
		td.Spec.TenantMetadata = m
		return k8s.Update(ctx, td)
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			td := &v1alpha1.TenantDefaults{}
			if err := k8s.Get(ctx, key, td); err != nil {
				return err
			}
			td.Spec.TenantMetadata = before
			return k8s.Update(ctx, td)
		}); err != nil {
			t.Error(err)
		}
	})
}

// An annotation other software acts on is refused at admission, naming the
// patch and the field, until the platform team allows it in TenantDefaults
// spec.tenantMetadata.
func TestTenantMetadataAllowList(t *testing.T) {
	ctx := context.Background()
	create(t, office("meta-city", v1alpha1.LevelCity, ""))
	o := office("meta-county", v1alpha1.LevelCounty, "meta-city")
	o.Spec.Tenant.Patches = []v1alpha1.TenantPatch{{Patch: "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: desk\nspec:\n  template:\n    metadata:\n      annotations:\n        prometheus.io/scrape: \"true\"\n"}}
	expectRefused(t, k8s.Create(ctx, o.DeepCopy()), metav1.StatusReasonInvalid,
		`spec.tenant.patches[0]: Forbidden: Deployment desk: spec.template.metadata.annotations.prometheus.io/scrape: the annotation key "prometheus.io/scrape" is not allowed`)

	setTenantMetadata(t, &v1alpha1.TenantMetadata{AllowedAnnotations: &v1alpha1.MetadataKeys{Keys: []string{"prometheus.io/scrape"}}})
	// The webhook reads TenantDefaults from the operator's cache.
	NewWithT(t).Eventually(func() error { return k8s.Create(ctx, o.DeepCopy()) }).WithTimeout(30 * time.Second).Should(Succeed())
	t.Cleanup(func() { deleteAndWait(t, o) })
}

// The lists of TenantDefaults spec.tenantMetadata are held to their
// schema: a prefix ends with a slash.
func TestTenantMetadataSchema(t *testing.T) {
	setTenantMetadata(t, nil) // so that it exists
	td := &v1alpha1.TenantDefaults{}
	if err := k8s.Get(context.Background(), client.ObjectKey{Name: v1alpha1.DefaultTenantDefaults}, td); err != nil {
		t.Fatal(err)
	}
	td.Spec.TenantMetadata = &v1alpha1.TenantMetadata{AllowedLabels: &v1alpha1.MetadataKeys{Prefixes: []string{"team.example.com"}}}
	err := k8s.Update(context.Background(), td)
	expectRefused(t, err, metav1.StatusReasonInvalid, "spec.tenantMetadata.allowedLabels.prefixes[0]")
}
