package controllers_test

import (
	"testing"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/xinfang/petition-operator/api/v1alpha1"
)

func TestPoliciesAndCalendarsBecomeReady(t *testing.T) {
	g := NewWithT(t)
	rp := &v1alpha1.RoutingPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "land"},
		// Selects nothing: the offices of other tests keep their routing.
		Spec: v1alpha1.RoutingPolicySpec{OfficeSelector: v1alpha1.OfficeSelector{SubtreeOf: "pol-nowhere"}, Rules: []v1alpha1.RoutingRule{{
			Name: "land", RouteTo: v1alpha1.RouteTarget{Department: "NaturalResources"},
		}}},
	}
	ep := &v1alpha1.EscalationPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "statutory"},
		Spec: v1alpha1.EscalationPolicySpec{Stages: []v1alpha1.EscalationStage{
			{Name: v1alpha1.StageAcceptance, Limit: "15d"}, {Name: v1alpha1.StageHandling, Limit: "60d"},
		}},
	}
	cal := &v1alpha1.HolidayCalendar{
		ObjectMeta: metav1.ObjectMeta{Name: "cn-2026"},
		Spec: v1alpha1.HolidayCalendarSpec{Holidays: []v1alpha1.Holiday{
			{Name: "Spring Festival", From: "2026-02-15", To: "2026-02-23"},
			{Name: "National Day", From: "2026-10-01", To: "2026-10-07"},
			{Name: "overlapping duty", From: "2026-10-05", To: "2026-10-08"},
		}},
	}
	create(t, rp, ep, cal)
	expectReady(t, rp)
	expectReady(t, ep)
	expectReady(t, cal)
	g.Expect(cal.Status.HolidayDays).To(BeEquivalentTo(9 + 8))

	// An edit moves observedGeneration and the status with it.
	update(t, cal, func(c *v1alpha1.HolidayCalendar) { c.Spec.Holidays = c.Spec.Holidays[:1] })
	expectReady(t, cal)
	g.Expect(cal.Status.HolidayDays).To(BeEquivalentTo(9))
}

func TestCalendarWithImpossibleDateStalls(t *testing.T) {
	g := NewWithT(t)
	cal := &v1alpha1.HolidayCalendar{
		ObjectMeta: metav1.ObjectMeta{Name: "feb-30"},
		Spec:       v1alpha1.HolidayCalendarSpec{Holidays: []v1alpha1.Holiday{{Name: "typo", From: "2026-02-28", To: "2026-02-30"}}},
	}
	create(t, cal)
	expectNotReady(t, cal, v1alpha1.ReasonInvalidDate, v1alpha1.ConditionStalled)
	g.Expect(condition(g, cal, v1alpha1.ConditionReady).Message).To(ContainSubstring(`spec.holidays[0].to: "2026-02-30" is not a valid date (YYYY-MM-DD)`))
}
