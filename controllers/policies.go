package controllers

import (
	"context"
	"fmt"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/network"
)

// routingPolicyObserver reports which offices a routing policy selects and
// which of its routes do not resolve for them. Unresolved routes do not make
// the policy unready: their petitions stay with the receiving office
// (首问负责), and the list says what to fix.
//
// It builds its view of the network from the cache, which is current when the
// office events that enqueue it are delivered (the office controller's index
// may be a moment behind for another controller).
type routingPolicyObserver struct {
	client client.Reader
	// now is the clock of progress deadlines.
	now func() time.Time
}

func (o *routingPolicyObserver) observe(ctx context.Context, p *v1alpha1.RoutingPolicy) (Outcome, error) {
	// Read-only: the cache's objects themselves, not copies of them.
	var offices v1alpha1.OfficeList
	if err := o.client.List(ctx, &offices, client.UnsafeDisableDeepCopy); err != nil {
		return Outcome{}, fmt.Errorf("listing offices: %w", err)
	}
	idx := network.IndexOf(offices.Items)
	rep := network.ReportPolicy(p, idx)
	p.Status.SelectedOffices = int32(rep.Selected)
	p.Status.UpdatedOffices = int32(rep.Updated)
	p.Status.UnresolvedRoutes = int32(rep.UnresolvedTotal)
	p.Status.Unresolved = rep.Unresolved
	step := network.StepRollout(p, idx, o.now())
	p.Status.Stage, p.Status.Rollout = step.Stage, step.Status
	if step.Completed {
		stable := network.Revision(&p.Spec)
		p.Status.Stable = stable.DeepCopy()
	}
	out := rolloutOutcome(&p.Spec.Rollout, step)
	if out.Ready == metav1.ConditionTrue {
		out = ready(fmt.Sprintf("%d rules for %d offices", len(p.Spec.Rules), rep.Selected))
		if rep.UnresolvedTotal > 0 {
			out.Message += fmt.Sprintf("; %d routes unresolved fall back to the receiving office", rep.UnresolvedTotal)
		}
	}
	out.Events = rolloutEvents(step)
	return out, nil
}

// rolloutEvents are the events of a rollout step's transitions.
func rolloutEvents(step network.RolloutStep) []Event {
	out := make([]Event, len(step.Events))
	for i, e := range step.Events {
		out[i] = Event{Warning: e.Warning, Reason: e.Reason, Message: e.Message}
	}
	return out
}

// rolloutOutcome is the Ready condition of an object whose rollout stands
// as step says: Ready once complete, Reconciling while progressing, Stalled
// when halted, neither while paused.
func rolloutOutcome(r *v1alpha1.Rollout, step network.RolloutStep) Outcome {
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
			Message: "spec.rollout.paused: " + where}
	case v1alpha1.RolloutHalted:
		return Outcome{Ready: metav1.ConditionFalse, Reason: v1alpha1.ReasonProgressDeadlineExceeded, Stalled: true,
			Message: fmt.Sprintf("halted: %s, not healthy within spec.rollout.progressDeadline (%s); edit the spec (a new revision supersedes it; any other edit, such as a longer progressDeadline, tries the stage again)",
				where, network.ProgressDeadline(r))}
	}
	return ready("")
}

// users counts the offices that name an object in an indexed field; value
// is the field's index function.
type users struct {
	client client.Reader
	field  string
	value  func(*v1alpha1.Office) string
}

func (u users) count(ctx context.Context, name string) (int32, error) {
	var list v1alpha1.OfficeList
	if err := u.client.List(ctx, &list, client.MatchingFields{u.field: name}, client.UnsafeDisableDeepCopy); err != nil {
		return 0, fmt.Errorf("listing offices by %s: %w", u.field, err)
	}
	return int32(len(list.Items)), nil
}

// enqueue maps an office to the object it names in the field.
func (u users) enqueue() handler.MapFunc {
	return func(_ context.Context, obj client.Object) []reconcile.Request {
		if v := u.value(obj.(*v1alpha1.Office)); v != "" {
			return []reconcile.Request{{NamespacedName: types.NamespacedName{Name: v}}}
		}
		return nil
	}
}

// observeEscalationPolicy counts the offices that use a policy and checks
// what the schema cannot see: stage order and limits.
func (u users) observeEscalationPolicy(ctx context.Context, p *v1alpha1.EscalationPolicy) (Outcome, error) {
	n, err := u.count(ctx, p.Name)
	if err != nil {
		return Outcome{}, err
	}
	p.Status.Offices = n
	if err := network.ValidatePolicy(&p.Spec); err != nil {
		return Outcome{Ready: metav1.ConditionFalse, Reason: v1alpha1.ReasonInvalidPolicy, Message: err.Error(), Stalled: true}, nil
	}
	return ready(fmt.Sprintf("%d stages accepted", len(p.Spec.Stages))), nil
}

// observeHolidayCalendar counts the calendar's holiday dates and rejects
// what the schema admits but a calendar cannot hold: dates such as 2026-02-30,
// holidays longer than a year.
func (u users) observeHolidayCalendar(ctx context.Context, c *v1alpha1.HolidayCalendar) (Outcome, error) {
	n, err := u.count(ctx, c.Name)
	if err != nil {
		return Outcome{}, err
	}
	c.Status.Offices = n
	cal, err := network.NewCalendar(&c.Spec)
	if err != nil {
		c.Status.HolidayDays = 0
		return Outcome{Ready: metav1.ConditionFalse, Reason: v1alpha1.ReasonInvalidDate, Message: err.Error(), Stalled: true}, nil
	}
	days := cal.HolidayDays()
	c.Status.HolidayDays = int32(days)
	return ready(fmt.Sprintf("%d holidays over %d days", len(c.Spec.Holidays), days)), nil
}
