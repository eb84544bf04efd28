package controllers

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/xinfang/petition-operator/api/v1alpha1"
)

// A Village (村/社区信访代理点) has no tenant stack: its township's desk
// serves it. A real city has thousands, so its reconcile is one read of the
// network index and at most one status write — Ready and observedGeneration
// — and nothing else: no finalizer, no namespace, nothing adopted or
// deleted, no event unless something is wrong.

// reconcileVillage reports where the village stands: Ready, reason
// ServedByTownship, naming its township, once it has a place in the
// network; else why not, as for any office. A village being deleted is let
// go at once (a finalizer put on it by hand is removed; nothing else is
// deleted).
func (r *officeReconciler) reconcileVillage(ctx context.Context, o *v1alpha1.Office) (ctrl.Result, error) {
	if !o.DeletionTimestamp.IsZero() {
		if !controllerutil.ContainsFinalizer(o, v1alpha1.OfficeFinalizer) {
			return ctrl.Result{}, nil
		}
		patch := client.MergeFrom(o.DeepCopy())
		controllerutil.RemoveFinalizer(o, v1alpha1.OfficeFinalizer)
		return ctrl.Result{}, client.IgnoreNotFound(r.client.Patch(ctx, o, patch))
	}
	before := o.DeepCopy()
	var outcome Outcome
	if path, problem := r.network.Path(o); problem != nil {
		outcome = notReady(problem.Reason, problem.Message, problem.Reason != v1alpha1.ReasonParentMissing)
	} else {
		outcome = Outcome{Ready: metav1.ConditionTrue, Reason: v1alpha1.ReasonServedByTownship,
			Message: fmt.Sprintf("served by the desk of township %s; office at %s", o.Spec.Parent, strings.Join(path, "/"))}
	}
	countReconcile("office", outcome, nil)
	return commitStatus(ctx, r.client, warningsOnly{r.recorder}, before, o, outcome)
}

// warningsOnly records only Warning events: a village that becomes Ready
// writes no event.
type warningsOnly struct{ events.EventRecorder }

func (w warningsOnly) Eventf(regarding, related runtime.Object, eventtype, reason, action, note string, args ...any) {
	if eventtype == corev1.EventTypeWarning {
		w.EventRecorder.Eventf(regarding, related, eventtype, reason, action, note, args...)
	}
}
