package controllers

import (
	"context"
	"fmt"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/controller"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/cluster"
	"github.com/xinfang/petition-operator/internal/xinfang"
)

// +kubebuilder:rbac:groups=petition.xinfang.io,resources=dutyperiods,verbs=get;list;watch
// +kubebuilder:rbac:groups=petition.xinfang.io,resources=dutyperiods/status,verbs=get;update;patch

// setupDutyPeriodController registers the controller of DutyPeriod status
// and rollouts. Like a RoutingPolicy's, a period's status depends on every
// office it may select: any office event of the model enqueues every
// period, gathered over the status pacing's Delay. The office controller watches
// DutyPeriods itself (selectionEvents).
func setupDutyPeriodController(mgr ctrl.Manager, feed *cluster.Feed, opts Options, copts controller.Options) error {
	periods := &dutyPeriodObserver{index: feed.Network(), now: opts.now()}
	return register(mgr, "dutyperiod", copts, periods.observe, nil,
		watchModel(feed, coalesced(opts, allOf(mgr.GetClient(), &v1alpha1.DutyPeriodList{}))))
}

// dutyPeriodObserver reports which offices a DutyPeriod selects, whether it
// is in force, and moves its rollout on.
type dutyPeriodObserver struct {
	index *xinfang.Network
	// now is the clock of the period's dates and of progress deadlines.
	now func() time.Time
}

// dutyBoundaryMargin is how long after a range starts or ends, at local
// midnight, the period is looked at again: past the boundary whatever the
// clocks' skew.
const dutyBoundaryMargin = time.Second

func (o *dutyPeriodObserver) observe(_ context.Context, p *v1alpha1.DutyPeriod) (Outcome, error) {
	rep := xinfang.ReportDutyPeriod(p, o.index)
	p.Status.SelectedOffices, p.Status.UpdatedOffices = int32(rep.Selected), int32(rep.Updated)
	now := o.now()

	// A period admitted without the webhook may be one no office can
	// compile: the offices leave it out, and only a change fixes it.
	if f := xinfang.CheckDutyPeriod(p, o.index); len(f.Errors) > 0 {
		p.Status.Active = ptr.To(false)
		msgs := make([]string, len(f.Errors))
		for i, e := range f.Errors {
			msgs[i] = e.Error()
		}
		return notReady(v1alpha1.ReasonInvalidDutyPeriod, "offices leave the period out: "+strings.Join(msgs, "; "), true), nil
	}
	act, err := xinfang.DutyActive(p.Spec.DateRanges, rep.Zones, now)
	if err != nil {
		return Outcome{}, err // CheckDutyPeriod has parsed every date
	}
	p.Status.Active = ptr.To(act.Active)

	step := xinfang.StepDutyRollout(p, o.index, now)
	p.Status.Stage, p.Status.Rollout = step.Stage, step.Status
	p.Status.StageProgress = xinfang.StageProgress(step.Stage, &p.Spec.Rollout)
	if step.Completed {
		stable := xinfang.DutyRevision(&p.Spec.DutyArrangement)
		p.Status.Stable = stable.DeepCopy()
	}
	out := rolloutOutcome(&p.Spec.Rollout, step)
	if out.Ready == metav1.ConditionTrue {
		state := "not in force"
		if act.Active {
			state = "in force"
		}
		out = ready(fmt.Sprintf("%d offices on duty from %s to %s; %s", rep.Selected,
			p.Spec.DateRanges[0].From, p.Spec.DateRanges[len(p.Spec.DateRanges)-1].To, state))
	}
	out.Events = rolloutEvents(step)
	// Looked at again when the period starts or ends in one of its
	// offices' zones, so that status.active follows the calendar.
	if !act.Next.IsZero() {
		if next := act.Next.Sub(now) + dutyBoundaryMargin; out.RequeueAfter == 0 || next < out.RequeueAfter {
			out.RequeueAfter = next
		}
	}
	return out, nil
}

// dutyEntitlement is what the revision each office compiles of a period
// depends on besides its spec: where its rollout stands.
func dutyEntitlement(p *v1alpha1.DutyPeriod) string {
	stable := ""
	if p.Status.Stable != nil {
		stable = p.Status.Stable.Revision
	}
	return rolloutPosition(p.Status.Rollout, p.Status.Stage, stable)
}
