package tenant

import (
	"fmt"
	"slices"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// StuckAfter is how long a Deployment may go without progress, short of
// its progress deadline, before its pods are looked at for why.
const StuckAfter = 30 * time.Second

// Progress is what the Deployment controller says of a tenant's rollout.
type Progress int

const (
	// Unobserved: no Deployment controller has reported on it (yet), or it
	// is available; there is nothing to look into.
	Unobserved Progress = iota
	// Progressing: replicas are not all available, and the Deployment
	// controller made progress within StuckAfter.
	Progressing
	// Stuck: replicas are not all available, and there has been no
	// progress for StuckAfter: the pods may say why.
	Stuck
	// DeadlineExceeded: the Deployment's progressDeadlineSeconds ran out
	// (its Progressing condition is False, ProgressDeadlineExceeded).
	DeadlineExceeded
)

// ProgressOf reads a Deployment's progress at now. Only the Deployment
// controller sets the Progressing condition, so without it (a cluster
// where none runs, or before it looked) the answer is Unobserved.
func ProgressOf(d *appsv1.Deployment, now time.Time) Progress {
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	if d.Status.ObservedGeneration >= d.Generation && d.Status.UpdatedReplicas == want && d.Status.AvailableReplicas >= want {
		return Unobserved
	}
	for _, c := range d.Status.Conditions {
		if c.Type != appsv1.DeploymentProgressing {
			continue
		}
		if c.Status == corev1.ConditionFalse && c.Reason == "ProgressDeadlineExceeded" {
			return DeadlineExceeded
		}
		if now.Sub(c.LastUpdateTime.Time) >= StuckAfter {
			return Stuck
		}
		return Progressing
	}
	return Unobserved
}

// pullFailures are the reasons the kubelet gives a container waiting for an
// image it cannot have.
var pullFailures = []string{"ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull", "RegistryUnavailable"}

// PullFailure returns why the pods cannot pull their images: the first
// container (init containers included) of the first pod, by name, that waits
// for a reason of pullFailures, worded for an office's status; "" when none
// does. The kubelet's message is cut to 256 bytes: it is the registry's
// answer, not ours.
func PullFailure(pods []corev1.Pod) string {
	pods = slices.Clone(pods)
	slices.SortFunc(pods, func(a, b corev1.Pod) int { return strings.Compare(a.Name, b.Name) })
	for _, p := range pods {
		statuses := append(slices.Clone(p.Status.InitContainerStatuses), p.Status.ContainerStatuses...)
		for _, s := range statuses {
			w := s.State.Waiting
			if w == nil || !slices.Contains(pullFailures, w.Reason) {
				continue
			}
			msg := fmt.Sprintf("pod %s: container %s cannot pull image %q (%s)", p.Name, s.Name, s.Image, w.Reason)
			if m := strings.TrimSpace(w.Message); m != "" {
				if len(m) > 256 {
					m = strings.ToValidUTF8(m[:256], "") + "…"
				}
				msg += ": " + m
			}
			return msg
		}
	}
	return ""
}
