package controllers

import (
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/xinfang"
)

// The staged rollouts of RoutingPolicies and of the default tenant image
// (TenantDefaults) share these.

// rolloutOutcome is the Ready condition of an object whose rollout stands
// as step says: Ready once complete, Reconciling while progressing, Stalled
// when halted, neither while paused.
func rolloutOutcome(r *v1alpha1.Rollout, step xinfang.RolloutStep) Outcome {
	st := step.Status
	where := fmt.Sprintf("stage %d of %d: %d of %d offices run revision %s", step.Stage+1, st.Stages, st.Updated, st.Offices, st.Revision)
	if len(st.WaitingFor) > 0 {
		where += "; waiting for " + strings.Join(st.WaitingFor, ", ")
	}
	switch st.Phase {
	case v1alpha1.RolloutProgressing:
		return Outcome{Ready: metav1.ConditionFalse, Reason: v1alpha1.ReasonRolloutProgressing, Message: "rolling out: " + where,
			RequeueAfter: step.Requeue}
	case v1alpha1.RolloutPaused:
		return Outcome{Ready: metav1.ConditionFalse, Reason: v1alpha1.ReasonRolloutPaused, Idle: true,
			Message: "paused (" + step.PausedBy + "): " + where}
	case v1alpha1.RolloutHalted:
		return Outcome{Ready: metav1.ConditionFalse, Reason: v1alpha1.ReasonProgressDeadlineExceeded, Stalled: true,
			Message: fmt.Sprintf("halted: %s, not healthy within spec.rollout.progressDeadline (%s); `petitionctl rollout retry` tries the stage again, and so does any edit of the spec (a new revision supersedes it)",
				where, xinfang.ProgressDeadline(r))}
	}
	return ready("")
}

// rolloutEvents are the events of a rollout step's transitions.
func rolloutEvents(step xinfang.RolloutStep) []Event {
	out := make([]Event, len(step.Events))
	for i, e := range step.Events {
		out[i] = Event{Warning: e.Warning, Reason: e.Reason, Message: e.Message}
	}
	return out
}

// rolloutPosition is what xinfang.Entitled and xinfang.EntitledImage read
// of a rollout's status: the revision and whether it is complete, the stage
// reached and the stable revision. Two statuses with the same position
// give every office the same revision.
func rolloutPosition(st *v1alpha1.RolloutStatus, stage int32, stable string) string {
	if st == nil {
		return stable
	}
	return fmt.Sprintf("%s/%t/%d/%s", st.Revision, st.Phase == v1alpha1.RolloutComplete, stage, stable)
}
