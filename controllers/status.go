// Package controllers holds the reconcilers of petition-operator. They are
// thin: read the object and what it depends on, ask internal/xinfang what that
// means, write the result, and report it in status.
package controllers

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/xinfang/petition-operator/api/v1alpha1"
)

// statusObject is a kind of this API: a client.Object with the common status.
type statusObject interface {
	client.Object
	CommonStatus() *v1alpha1.StatusCommon
}

// Outcome is what observing an object found: the Ready condition to report
// and whether the problem, if any, needs a change to fix (Stalled) or will
// resolve by itself once something else appears (Reconciling).
type Outcome struct {
	// Ready is the status of the Ready condition.
	Ready metav1.ConditionStatus
	// Reason and Message of the Ready condition.
	Reason, Message string
	// Stalled is true when retrying cannot fix the problem: only a change to
	// this object or another one can.
	Stalled bool
	// Idle is true when the object is not Ready on purpose (suspended): it
	// is neither Reconciling nor Stalled.
	Idle bool
	// Events are transitions besides Ready's to record once the status is
	// written.
	Events []Event
	// RequeueAfter, if not zero, is when to look again if nothing else
	// changes (a deadline).
	RequeueAfter time.Duration
}

// Event is an event to record on the object.
type Event struct {
	Warning         bool
	Reason, Message string
}

// ready is the outcome of an object that is fully reconciled.
func ready(message string) Outcome {
	return Outcome{Ready: metav1.ConditionTrue, Reason: v1alpha1.ReasonReconciled, Message: message}
}

// observeFunc fills the kind-specific status of obj from the world and says
// what it found. It must not write anything but obj's status fields.
type observeFunc[T statusObject] func(ctx context.Context, obj T) (Outcome, error)

// statusReconciler is the reconcile loop shared by every kind: get the object,
// rebuild its status from the world, and patch the status only when it
// changed. Events are recorded on transitions of the Ready condition only.
type statusReconciler[T statusObject] struct {
	// name is the controller's, for metrics.
	name     string
	client   client.Client
	recorder events.EventRecorder
	newObj   func() T
	observe  observeFunc[T]
	// missing, if set, is called when the object does not exist.
	missing func(ctx context.Context, name string) error
	// synced, if set, reports whether the network observe reads has
	// synced: nothing is observed until it has.
	synced func() bool
}

// modelLoadWait is how soon a reconcile that found the network not yet
// synced looks again.
const modelLoadWait = time.Second

func (r *statusReconciler[T]) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	obj := r.newObj()
	if err := r.client.Get(ctx, req.NamespacedName, obj); err != nil {
		if apierrors.IsNotFound(err) && r.missing != nil {
			return ctrl.Result{}, r.missing(ctx, req.Name)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !obj.GetDeletionTimestamp().IsZero() {
		return ctrl.Result{}, nil
	}
	if r.synced != nil && !r.synced() {
		return ctrl.Result{RequeueAfter: modelLoadWait}, nil
	}
	before := obj.DeepCopyObject().(T)
	outcome, err := r.observe(ctx, obj)
	countReconcile(r.name, outcome, err)
	if err != nil {
		// A transient failure reading the world: retry with back-off and
		// leave the status as it was.
		return ctrl.Result{}, err
	}
	return commitStatus(ctx, r.client, r.recorder, before, obj, outcome)
}

// conflictRequeue is how soon a status patch that lost to a newer object is
// tried again, once the cache has caught up.
const conflictRequeue = 250 * time.Millisecond

// commitStatus sets the conditions from outcome and patches obj's status when
// it differs from before, recording an event when Ready changed.
func commitStatus[T statusObject](ctx context.Context, c client.Client, rec events.EventRecorder, before, obj T, outcome Outcome) (ctrl.Result, error) {
	setConditions(obj, outcome)
	result := ctrl.Result{RequeueAfter: outcome.RequeueAfter}
	if equality.Semantic.DeepEqual(before, obj) {
		return result, nil
	}
	// The optimistic lock makes a patch computed from a stale cache fail
	// instead of recording the same transition twice.
	if err := c.Status().Patch(ctx, obj, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{})); err != nil {
		if apierrors.IsNotFound(err) {
			return ctrl.Result{}, nil
		}
		if apierrors.IsConflict(err) {
			// The newer object may be our own status write, whose event
			// enqueues nothing: try again once the cache has it.
			log.FromContext(ctx).V(1).Info("status patch lost to a newer object; requeued")
			return ctrl.Result{RequeueAfter: conflictRequeue}, nil
		}
		return ctrl.Result{}, fmt.Errorf("patching status of %s: %w", obj.GetName(), err)
	}
	recordTransition(ctx, rec, before, obj)
	for _, e := range outcome.Events {
		eventType := corev1.EventTypeNormal
		if e.Warning {
			eventType = corev1.EventTypeWarning
		}
		rec.Eventf(obj, nil, eventType, e.Reason, "Reconcile", "%s", e.Message)
	}
	return result, nil
}

// setConditions writes Ready, Reconciling and Stalled from outcome, following
// kstatus: Reconciling and Stalled are present only while they are true.
func setConditions(obj statusObject, o Outcome) {
	st := obj.CommonStatus()
	gen := obj.GetGeneration()
	st.ObservedGeneration = gen
	apimeta.SetStatusCondition(&st.Conditions, metav1.Condition{
		Type: v1alpha1.ConditionReady, Status: o.Ready, Reason: o.Reason, Message: o.Message, ObservedGeneration: gen,
	})
	switch {
	case o.Ready == metav1.ConditionTrue:
		apimeta.RemoveStatusCondition(&st.Conditions, v1alpha1.ConditionReconciling)
		apimeta.RemoveStatusCondition(&st.Conditions, v1alpha1.ConditionStalled)
	case o.Idle:
		apimeta.RemoveStatusCondition(&st.Conditions, v1alpha1.ConditionReconciling)
		apimeta.RemoveStatusCondition(&st.Conditions, v1alpha1.ConditionStalled)
	case o.Stalled:
		apimeta.RemoveStatusCondition(&st.Conditions, v1alpha1.ConditionReconciling)
		apimeta.SetStatusCondition(&st.Conditions, metav1.Condition{
			Type: v1alpha1.ConditionStalled, Status: metav1.ConditionTrue, Reason: o.Reason, Message: o.Message, ObservedGeneration: gen,
		})
	default:
		apimeta.RemoveStatusCondition(&st.Conditions, v1alpha1.ConditionStalled)
		apimeta.SetStatusCondition(&st.Conditions, metav1.Condition{
			Type: v1alpha1.ConditionReconciling, Status: metav1.ConditionTrue, Reason: o.Reason, Message: o.Message, ObservedGeneration: gen,
		})
	}
}

// expectedNotReady are the reasons of a Ready=False that nothing is wrong
// with: a rollout under way or paused on purpose. Their events are Normal.
var expectedNotReady = map[string]bool{
	v1alpha1.ReasonRolloutProgressing: true,
	v1alpha1.ReasonRolloutPaused:      true,
}

// readyWithWarning are the reasons of a Ready=True that still needs someone's
// attention soon. Their events are Warning.
var readyWithWarning = map[string]bool{
	v1alpha1.ReasonCoverageEnding: true,
}

// recordTransition records an event when the Ready condition changed status
// or reason.
func recordTransition[T statusObject](ctx context.Context, rec events.EventRecorder, before, after T) {
	old := apimeta.FindStatusCondition(before.CommonStatus().Conditions, v1alpha1.ConditionReady)
	cur := apimeta.FindStatusCondition(after.CommonStatus().Conditions, v1alpha1.ConditionReady)
	if cur == nil || (old != nil && old.Status == cur.Status && old.Reason == cur.Reason) {
		return
	}
	eventType := corev1.EventTypeNormal
	if (cur.Status != metav1.ConditionTrue && !expectedNotReady[cur.Reason]) || (cur.Status == metav1.ConditionTrue && readyWithWarning[cur.Reason]) {
		eventType = corev1.EventTypeWarning
	}
	rec.Eventf(after, nil, eventType, cur.Reason, "Reconcile", "%s", cur.Message)
	log.FromContext(ctx).Info("ready condition changed", "ready", cur.Status, "reason", cur.Reason, "message", cur.Message)
}
