package testenv

import (
	"context"
	"testing"
	"time"

	"github.com/onsi/gomega"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/xinfang/petition-operator/api/v1alpha1"
)

// Condition reads obj through c and returns its condition of type typ, or
// nil.
func Condition(g gomega.Gomega, c client.Reader, obj client.Object, typ string) *metav1.Condition {
	g.Expect(c.Get(context.Background(), client.ObjectKeyFromObject(obj), obj)).To(gomega.Succeed())
	st := obj.(interface{ CommonStatus() *v1alpha1.StatusCommon }).CommonStatus()
	return apimeta.FindStatusCondition(st.Conditions, typ)
}

// ExpectReady waits until obj, read through c, is Ready with a current
// observedGeneration and neither Reconciling nor Stalled.
func ExpectReady(t *testing.T, c client.Reader, obj client.Object) {
	t.Helper()
	gomega.NewWithT(t).Eventually(func(g gomega.Gomega) {
		ready := Condition(g, c, obj, v1alpha1.ConditionReady)
		g.Expect(ready).NotTo(gomega.BeNil())
		g.Expect(ready.Status).To(gomega.Equal(metav1.ConditionTrue), ready.Message)
		g.Expect(ready.ObservedGeneration).To(gomega.Equal(obj.GetGeneration()))
		st := obj.(interface{ CommonStatus() *v1alpha1.StatusCommon }).CommonStatus()
		g.Expect(st.ObservedGeneration).To(gomega.Equal(obj.GetGeneration()))
		g.Expect(apimeta.FindStatusCondition(st.Conditions, v1alpha1.ConditionReconciling)).To(gomega.BeNil())
		g.Expect(apimeta.FindStatusCondition(st.Conditions, v1alpha1.ConditionStalled)).To(gomega.BeNil())
	}).WithTimeout(60 * time.Second).Should(gomega.Succeed())
}

// ExpectNotReady waits until obj, read through c, is not Ready for reason,
// with the Reconciling or Stalled condition (companion) that says whether
// it will resolve itself.
func ExpectNotReady(t *testing.T, c client.Reader, obj client.Object, reason, companion string) {
	t.Helper()
	gomega.NewWithT(t).Eventually(func(g gomega.Gomega) {
		ready := Condition(g, c, obj, v1alpha1.ConditionReady)
		g.Expect(ready).NotTo(gomega.BeNil())
		g.Expect(ready.Status).To(gomega.Equal(metav1.ConditionFalse))
		g.Expect(ready.Reason).To(gomega.Equal(reason))
		g.Expect(ready.ObservedGeneration).To(gomega.Equal(obj.GetGeneration()))
		cond := Condition(g, c, obj, companion)
		g.Expect(cond).NotTo(gomega.BeNil())
		g.Expect(cond.Status).To(gomega.Equal(metav1.ConditionTrue))
		g.Expect(cond.Reason).To(gomega.Equal(reason))
	}).WithTimeout(60 * time.Second).Should(gomega.Succeed())
}
