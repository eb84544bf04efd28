package controllers

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/controller"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/fields"
	"github.com/xinfang/petition-operator/internal/network"
)

// setupHolidayCalendarController registers the controller of
// HolidayCalendar status: the offices that use a calendar and its holidays.
func setupHolidayCalendarController(mgr ctrl.Manager, copts controller.Options) error {
	users := newReferrers(mgr.GetClient(), fields.OfficeCalendar)
	return register(mgr, "holidaycalendar", copts, users.observeHolidayCalendar, nil,
		watch{obj: &v1alpha1.Office{}, handler: coalesced(users.referred())})
}

// observeHolidayCalendar counts the calendar's holiday dates and rejects
// what the schema admits but a calendar cannot hold: dates such as 2026-02-30,
// holidays longer than a year.
func (u referrers) observeHolidayCalendar(ctx context.Context, c *v1alpha1.HolidayCalendar) (Outcome, error) {
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
