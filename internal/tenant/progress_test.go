package tenant

import (
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func TestProgressOf(t *testing.T) {
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	progressing := func(status corev1.ConditionStatus, reason string, ago time.Duration) []appsv1.DeploymentCondition {
		at := metav1.NewTime(now.Add(-ago))
		return []appsv1.DeploymentCondition{{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionFalse, LastUpdateTime: metav1.NewTime(now.Add(-time.Hour))},
			{Type: appsv1.DeploymentProgressing, Status: status, Reason: reason, LastUpdateTime: at}}
	}
	for _, tc := range []struct {
		name string
		d    appsv1.Deployment
		want Progress
	}{
		{name: "no controller has looked", d: appsv1.Deployment{Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](2)}}, want: Unobserved},
		{name: "available", d: appsv1.Deployment{Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](2)},
			Status: appsv1.DeploymentStatus{UpdatedReplicas: 2, AvailableReplicas: 2, Conditions: progressing(corev1.ConditionTrue, "NewReplicaSetAvailable", time.Hour)}},
			want: Unobserved},
		{name: "young rollout", d: appsv1.Deployment{Status: appsv1.DeploymentStatus{UpdatedReplicas: 1, UnavailableReplicas: 1,
			Conditions: progressing(corev1.ConditionTrue, "ReplicaSetUpdated", StuckAfter-time.Second)}}, want: Progressing},
		{name: "no progress for StuckAfter", d: appsv1.Deployment{Status: appsv1.DeploymentStatus{UpdatedReplicas: 1, UnavailableReplicas: 1,
			Conditions: progressing(corev1.ConditionTrue, "ReplicaSetUpdated", StuckAfter)}}, want: Stuck},
		{name: "deadline exceeded", d: appsv1.Deployment{Status: appsv1.DeploymentStatus{UpdatedReplicas: 1, UnavailableReplicas: 1,
			Conditions: progressing(corev1.ConditionFalse, "ProgressDeadlineExceeded", 0)}}, want: DeadlineExceeded},
		{name: "available but a new generation not observed", d: appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Generation: 3},
			Status: appsv1.DeploymentStatus{ObservedGeneration: 2, UpdatedReplicas: 1, AvailableReplicas: 1,
				Conditions: progressing(corev1.ConditionTrue, "ReplicaSetUpdated", time.Minute)}}, want: Stuck},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ProgressOf(&tc.d, now); got != tc.want {
				t.Errorf("ProgressOf = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestPullFailure(t *testing.T) {
	waiting := func(name, image, reason, message string) corev1.ContainerStatus {
		return corev1.ContainerStatus{Name: name, Image: image, State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: message}}}
	}
	pod := func(name string, init, containers []corev1.ContainerStatus) corev1.Pod {
		return corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: corev1.PodStatus{InitContainerStatuses: init, ContainerStatuses: containers}}
	}
	long := strings.Repeat("x", 300)
	for _, tc := range []struct {
		name string
		pods []corev1.Pod
		want string
	}{
		{name: "no pods"},
		{name: "creating", pods: []corev1.Pod{pod("desk-a", nil, []corev1.ContainerStatus{waiting("desk", "d:1", "ContainerCreating", "")})}},
		{name: "back-off", pods: []corev1.Pod{pod("desk-a", nil, []corev1.ContainerStatus{waiting("desk", "d:1", "ImagePullBackOff", `Back-off pulling image "d:1"`)})},
			want: `pod desk-a: container desk cannot pull image "d:1" (ImagePullBackOff): Back-off pulling image "d:1"`},
		{name: "first pod by name, init containers first", pods: []corev1.Pod{
			pod("desk-b", nil, []corev1.ContainerStatus{waiting("desk", "d:1", "ErrImagePull", "")}),
			pod("desk-a", []corev1.ContainerStatus{waiting("init", "i:1", "InvalidImageName", "")}, []corev1.ContainerStatus{waiting("desk", "d:1", "ErrImagePull", "")}),
		}, want: `pod desk-a: container init cannot pull image "i:1" (InvalidImageName)`},
		{name: "long message cut", pods: []corev1.Pod{pod("desk-a", nil, []corev1.ContainerStatus{waiting("desk", "d:1", "ErrImagePull", long)})},
			want: `pod desk-a: container desk cannot pull image "d:1" (ErrImagePull): ` + long[:256] + "…"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := PullFailure(tc.pods); got != tc.want {
				t.Errorf("PullFailure = %q, want %q", got, tc.want)
			}
		})
	}
}
