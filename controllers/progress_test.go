package controllers_test

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/testenv"
)

// TestImagePullFailed plays the kubelet and the Deployment controller's
// Progressing condition (no pods run under envtest; the suite's Deployment
// driver keeps the replica counts, and never makes an image ending in
// testenv.BrokenImageSuffix available): a tenant whose pod cannot pull its
// image makes the office not Ready with reason ImagePullFailed and the pod's
// words; a Deployment whose progress deadline ran out for another reason
// says ProgressDeadlineExceeded; an image that runs makes the office Ready.
func TestImagePullFailed(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	image := "registry.example.org/petition-desk" + testenv.BrokenImageSuffix
	o := office("pull-city", v1alpha1.LevelCity, "")
	o.Spec.Tenant.Image = image
	create(t, o)
	// Applied, and no Deployment controller has reported progress or its
	// absence: Ready, as before.
	expectReady(t, o)
	d := deployment(t, o.Name)

	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: d.Namespace, Name: "desk-5d8f7c9b4-x2x7k", Labels: d.Spec.Selector.MatchLabels},
		Spec:       *d.Spec.Template.Spec.DeepCopy(),
	}
	create(t, pod)
	setPodStatus(t, pod, corev1.PodStatus{Phase: corev1.PodPending, ContainerStatuses: []corev1.ContainerStatus{{
		Name: "desk", Image: image,
		State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff",
			Message: `Back-off pulling image "` + image + `"`}},
	}}})
	// No progress for two minutes. The kubelet's report does not wake the
	// office (pods are not watched); the Deployment's does.
	stale := metav1.NewTime(clock.Now().Add(-2 * time.Minute))
	setProgressing(t, d, appsv1.DeploymentCondition{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionTrue,
		Reason: "ReplicaSetUpdated", LastUpdateTime: stale, LastTransitionTime: stale})
	expectNotReady(t, o, v1alpha1.ReasonImagePullFailed, v1alpha1.ConditionReconciling)
	g.Expect(condition(g, o, v1alpha1.ConditionReady).Message).To(Equal(`tenant Deployment office-pull-city/desk: pod desk-5d8f7c9b4-x2x7k: ` +
		`container desk cannot pull image "registry.example.org/petition-desk:broken" (ImagePullBackOff): Back-off pulling image "registry.example.org/petition-desk:broken"`))

	// The image pulls but the pod never becomes ready, until the deadline.
	setPodStatus(t, pod, corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{{
		Name: "desk", Image: image, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.Now()}},
	}}})
	now := metav1.Now()
	setProgressing(t, d, appsv1.DeploymentCondition{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionFalse,
		Reason: "ProgressDeadlineExceeded", LastUpdateTime: now, LastTransitionTime: now})
	expectNotReady(t, o, v1alpha1.ReasonProgressDeadlineExceeded, v1alpha1.ConditionReconciling)
	g.Expect(condition(g, o, v1alpha1.ConditionReady).Message).To(ContainSubstring(
		"tenant Deployment office-pull-city/desk made no progress within its progressDeadlineSeconds"))

	// An image that runs: every replica is available, the office is Ready.
	update(t, o, func(o *v1alpha1.Office) { o.Spec.Tenant.Image = "registry.example.org/petition-desk:v0.1.0" })
	expectReady(t, o)
	g.Expect(o.Status.Tenant.ReadyReplicas).To(BeNumerically(">", 0))
}

// setPodStatus writes the pod's status as the kubelet would.
func setPodStatus(t *testing.T, pod *corev1.Pod, st corev1.PodStatus) {
	t.Helper()
	NewWithT(t).Eventually(func() error {
		if err := k8s.Get(ctx, key(pod.Namespace, pod.Name), pod); err != nil {
			return err
		}
		pod.Status = st
		return k8s.Status().Update(ctx, pod)
	}).WithTimeout(20 * time.Second).Should(Succeed())
}

// setProgressing writes the Deployment's Progressing condition as the
// Deployment controller would.
func setProgressing(t *testing.T, d *appsv1.Deployment, c appsv1.DeploymentCondition) {
	t.Helper()
	NewWithT(t).Eventually(func() error {
		if err := k8s.Get(ctx, key(d.Namespace, d.Name), d); err != nil {
			return err
		}
		d.Status.Conditions = []appsv1.DeploymentCondition{c}
		return k8s.Status().Update(ctx, d)
	}).WithTimeout(20 * time.Second).Should(Succeed())
}
