package controllers

import (
	"context"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/controller"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/fieldindex"
	"github.com/xinfang/petition-operator/internal/xinfang"
)

// setupHolidayCalendarController registers the controller of
// HolidayCalendar status: the offices that use a calendar, its holidays and
// the years it covers.
func setupHolidayCalendarController(mgr ctrl.Manager, opts Options, copts controller.Options) error {
	o := &calendarObserver{users: newReferrers(mgr.GetClient(), fieldindex.OfficeCalendar), now: opts.now()}
	return register(mgr, "holidaycalendar", copts, o.observeHolidayCalendar, nil,
		watch{obj: &v1alpha1.Office{}, handler: coalesced(opts, o.users.referred())})
}

// calendarObserver fills the status of HolidayCalendars.
type calendarObserver struct {
	users referrers
	// now is the clock the end of a calendar's coverage is judged by.
	now func() time.Time
}

// observeHolidayCalendar counts the calendar's holiday dates and the offices
// that use it, reports the dates it covers, and rejects what the schema
// admits but a calendar cannot hold: dates such as 2026-02-30, holidays
// longer than a year. A calendar whose coverage ends within
// xinfang.CoverageWarningDays is Ready with reason CoverageEnding (a Warning
// event on the transition); until then it is looked at again the day the
// warning begins.
func (o *calendarObserver) observeHolidayCalendar(ctx context.Context, c *v1alpha1.HolidayCalendar) (Outcome, error) {
	n, err := o.users.count(ctx, c.Name)
	if err != nil {
		return Outcome{}, err
	}
	c.Status.Offices = n
	cal, err := xinfang.NewCalendar(&c.Spec)
	if err != nil {
		c.Status.HolidayDays = 0
		c.Status.Coverage = nil
		return Outcome{Ready: metav1.ConditionFalse, Reason: v1alpha1.ReasonInvalidDate, Message: err.Error(), Stalled: true}, nil
	}
	days := cal.HolidayDays()
	c.Status.HolidayDays = int32(days)
	now := o.now()
	health := cal.Health(now)
	c.Status.Coverage = nil
	if !health.From.IsZero() {
		c.Status.Coverage = &v1alpha1.DateRange{
			From: v1alpha1.Date(health.From.Format(time.DateOnly)), To: v1alpha1.Date(health.To.Format(time.DateOnly)),
		}
	}
	summary := fmt.Sprintf("%d holidays over %d days", len(c.Spec.Holidays), days)
	if health.Ending {
		return Outcome{Ready: metav1.ConditionTrue, Reason: v1alpha1.ReasonCoverageEnding, Message: summary + "; " + health.Message}, nil
	}
	out := ready(summary + "; " + health.Message)
	out.RequeueAfter = untilInstant(now, health.Next)
	return out, nil
}

// untilInstant is how long from now until next, at least a second; zero
// when next is zero.
func untilInstant(now, next time.Time) time.Duration {
	if next.IsZero() {
		return 0
	}
	return max(next.Sub(now), time.Second)
}
