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

// observeEscalationPolicy checks what the schema cannot see: stage order and
// limits.
func observeEscalationPolicy(_ context.Context, p *v1alpha1.EscalationPolicy) (Outcome, error) {
	if err := network.ValidatePolicy(&p.Spec); err != nil {
		return Outcome{Ready: metav1.ConditionFalse, Reason: v1alpha1.ReasonInvalidPolicy, Message: err.Error(), Stalled: true}, nil
	}
	return ready(fmt.Sprintf("%d stages accepted", len(p.Spec.Stages))), nil
}

// observeHolidayCalendar counts the calendar's holiday dates and rejects
// what the schema admits but a calendar cannot hold: dates such as 2026-02-30,
// holidays longer than a year.
func observeHolidayCalendar(_ context.Context, c *v1alpha1.HolidayCalendar) (Outcome, error) {
	if _, err := network.NewCalendar(&c.Spec); err != nil {
		c.Status.HolidayDays = 0
		return Outcome{Ready: metav1.ConditionFalse, Reason: v1alpha1.ReasonInvalidDate, Message: err.Error(), Stalled: true}, nil
	}
	days, err := network.HolidayDays(c.Spec.Holidays)
	if err != nil {
		return Outcome{}, err
	}
	c.Status.HolidayDays = int32(days)
	return ready(fmt.Sprintf("%d holidays over %d days", len(c.Spec.Holidays), days)), nil
}
