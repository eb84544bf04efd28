package controllers

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/network"
)

// observeRoutingPolicy reports a routing policy. Its schema has already been
// validated by the API server; compiling it into office routing tables is the
// routing compiler's job.
func observeRoutingPolicy(_ context.Context, p *v1alpha1.RoutingPolicy) (Outcome, error) {
	return ready(fmt.Sprintf("%d rules accepted", len(p.Spec.Rules))), nil
}

// observeEscalationPolicy reports an escalation policy.
func observeEscalationPolicy(_ context.Context, p *v1alpha1.EscalationPolicy) (Outcome, error) {
	return ready(fmt.Sprintf("%d stages accepted", len(p.Spec.Stages))), nil
}

// observeHolidayCalendar counts the calendar's holiday dates and rejects
// dates that the schema's pattern admits but the calendar does not have.
func observeHolidayCalendar(_ context.Context, c *v1alpha1.HolidayCalendar) (Outcome, error) {
	days, err := network.HolidayDays(c.Spec.Holidays)
	if err != nil {
		c.Status.HolidayDays = 0
		return Outcome{Ready: metav1.ConditionFalse, Reason: v1alpha1.ReasonInvalidDate, Message: "spec.holidays: " + err.Error(), Stalled: true}, nil
	}
	for i, d := range c.Spec.Workdays {
		if _, err := network.ParseDate(d); err != nil {
			return Outcome{Ready: metav1.ConditionFalse, Reason: v1alpha1.ReasonInvalidDate, Message: fmt.Sprintf("spec.workdays[%d]: %v", i, err), Stalled: true}, nil
		}
	}
	c.Status.HolidayDays = int32(days)
	return ready(fmt.Sprintf("%d holidays over %d days", len(c.Spec.Holidays), days)), nil
}
