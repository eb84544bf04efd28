package controllers

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	toolscache "k8s.io/client-go/tools/cache"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/kinds"
)

// What enters the caches loses what nothing reads: managedFields and
// kubectl's copy of the whole office; the rest stays.
func TestCacheDropsWhatNothingReads(t *testing.T) {
	o := &v1alpha1.Office{ObjectMeta: metav1.ObjectMeta{
		Name:          "drop-city",
		ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl", Operation: metav1.ManagedFieldsOperationApply}},
		Annotations: map[string]string{
			corev1.LastAppliedConfigAnnotation: `{"apiVersion":"petition.xinfang.io/v1alpha1","kind":"Office"}`,
			"team":                             "land",
		},
	}}
	out, err := CacheOptions(nil).DefaultTransform(o)
	if err != nil {
		t.Fatal(err)
	}
	got := out.(*v1alpha1.Office)
	if got.ManagedFields != nil {
		t.Errorf("managedFields kept: %v", got.ManagedFields)
	}
	if _, ok := got.Annotations[corev1.LastAppliedConfigAnnotation]; ok {
		t.Error("the last-applied-configuration annotation kept")
	}
	if got.Annotations["team"] != "land" {
		t.Errorf("annotations %v, want team=land kept", got.Annotations)
	}
	// A tombstone is not an object: it goes through as it is.
	tomb := toolscache.DeletedFinalStateUnknown{Key: "drop-city", Obj: o}
	if out, err := kinds.DropUnread(tomb); err != nil || out != any(tomb) {
		t.Errorf("tombstone: %v, %v", out, err)
	}
}
