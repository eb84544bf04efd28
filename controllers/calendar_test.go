package controllers_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/xinfang/petition-operator/api/v1alpha1"
)

// yearRange is spec.covers for the years from to to.
func yearRange(from, to int) *v1alpha1.CoverageRange {
	return &v1alpha1.CoverageRange{From: v1alpha1.Date(fmt.Sprintf("%d-01-01", from)), To: v1alpha1.Date(fmt.Sprintf("%d-12-31", to))}
}

// eventTypes returns the types of the events with that reason about the
// named object.
func eventTypes(g Gomega, name, reason string) []string {
	var list eventsv1.EventList
	g.Expect(k8s.List(context.Background(), &list, client.InNamespace(metav1.NamespaceDefault))).To(Succeed())
	var types []string
	for _, e := range list.Items {
		if e.Regarding.Name == name && e.Reason == reason {
			types = append(types, e.Type)
		}
	}
	return types
}

// gauge returns the value of the metric with the label calendar=name, and
// whether there is one.
func gauge(g Gomega, metric, name string) (float64, bool) {
	return metricValue(g, metric, map[string]string{"calendar": name})
}

// metricValue returns the value of the gauge metric whose labels include
// labels, and whether there is one.
func metricValue(g Gomega, metric string, labels map[string]string) (float64, bool) {
	families, err := metrics.Registry.Gather()
	g.Expect(err).NotTo(HaveOccurred())
	for _, f := range families {
		if f.GetName() != metric {
			continue
		}
		for _, m := range f.GetMetric() {
			matched := 0
			for _, l := range m.GetLabel() {
				if v, ok := labels[l.GetName()]; ok && v == l.GetValue() {
					matched++
				}
			}
			if matched == len(labels) {
				return m.GetGauge().GetValue(), true
			}
		}
	}
	return 0, false
}

const coverageEndMetric = "petition_holiday_calendar_coverage_end_timestamp_seconds"

// TestCalendarCoverageEnding: a calendar reports the years it covers and a
// gauge of when its coverage ends; 60 days before that it turns Ready with
// reason CoverageEnding and a Warning event, at the instant its requeue
// comes, without anything else happening.
func TestCalendarCoverageEnding(t *testing.T) {
	g := NewWithT(t)
	defer clock.reset()
	next := clock.Now().Year() + 1
	cal := &v1alpha1.HolidayCalendar{
		ObjectMeta: metav1.ObjectMeta{Name: "cov-next-year"},
		Spec:       v1alpha1.HolidayCalendarSpec{Covers: yearRange(next, next)},
	}
	create(t, cal)
	expectReady(t, cal)
	g.Expect(condition(g, cal, v1alpha1.ConditionReady).Reason).To(Equal(v1alpha1.ReasonReconciled))
	g.Expect(cal.Status.Coverage).To(Equal(&v1alpha1.DateRange{
		From: v1alpha1.Date(fmt.Sprintf("%d-01-01", next)), To: v1alpha1.Date(fmt.Sprintf("%d-12-31", next))}))
	end := time.Date(next+1, time.January, 1, 0, 0, 0, 0, time.UTC)
	g.Eventually(func(g Gomega) {
		v, ok := gauge(g, coverageEndMetric, cal.Name)
		g.Expect(ok).To(BeTrue())
		g.Expect(v).To(Equal(float64(end.Unix())))
	}).WithTimeout(10 * time.Second).Should(Succeed())

	// Four seconds before the warning begins (60 days before the end), a
	// reconcile finds nothing to write and looks again when it begins.
	warnFrom := end.AddDate(0, 0, -60)
	clock.setTo(warnFrom.Add(-4 * time.Second))
	update(t, cal, func(c *v1alpha1.HolidayCalendar) { c.Annotations = map[string]string{"touched": "yes"} })
	g.Consistently(func(g Gomega) {
		g.Expect(condition(g, cal, v1alpha1.ConditionReady).Reason).To(Equal(v1alpha1.ReasonReconciled))
	}).WithTimeout(2 * time.Second).Should(Succeed())
	g.Eventually(func(g Gomega) {
		ready := condition(g, cal, v1alpha1.ConditionReady)
		g.Expect(ready.Status).To(Equal(metav1.ConditionTrue))
		g.Expect(ready.Reason).To(Equal(v1alpha1.ReasonCoverageEnding))
		g.Expect(ready.Message).To(ContainSubstring(fmt.Sprintf("its coverage ends on %d-12-31: apply the public holidays and adjusted working days of %d", next, next+1)))
		g.Expect(eventTypes(g, cal.Name, v1alpha1.ReasonCoverageEnding)).To(Equal([]string{corev1.EventTypeWarning}))
	}).WithTimeout(20 * time.Second).Should(Succeed())
	expectReady(t, cal) // still Ready: neither Reconciling nor Stalled

	// Covering one more year ends the warning.
	clock.reset()
	update(t, cal, func(c *v1alpha1.HolidayCalendar) { c.Spec.Covers = yearRange(next, next+1) })
	g.Eventually(func(g Gomega) {
		g.Expect(condition(g, cal, v1alpha1.ConditionReady).Reason).To(Equal(v1alpha1.ReasonReconciled))
		g.Expect(cal.Status.Coverage.To).To(BeEquivalentTo(fmt.Sprintf("%d-12-31", next+1)))
		v, _ := gauge(g, coverageEndMetric, cal.Name)
		g.Expect(v).To(Equal(float64(end.AddDate(1, 0, 0).Unix())))
	}).WithTimeout(20 * time.Second).Should(Succeed())
	g.Expect(k8s.Delete(context.Background(), cal)).To(Succeed())
}

// TestCalendarWithEndedCoverage: a calendar of last year is Ready with
// reason CoverageEnding from the start, and says so in a Warning event.
func TestCalendarWithEndedCoverage(t *testing.T) {
	g := NewWithT(t)
	last := clock.Now().Year() - 1
	cal := &v1alpha1.HolidayCalendar{
		ObjectMeta: metav1.ObjectMeta{Name: "cov-last-year"},
		Spec: v1alpha1.HolidayCalendarSpec{Holidays: []v1alpha1.Holiday{
			{Name: "国庆节", From: v1alpha1.Date(fmt.Sprintf("%d-10-01", last)), To: v1alpha1.Date(fmt.Sprintf("%d-10-07", last))}}},
	}
	create(t, cal)
	expectReady(t, cal)
	g.Eventually(func(g Gomega) {
		ready := condition(g, cal, v1alpha1.ConditionReady)
		g.Expect(ready.Reason).To(Equal(v1alpha1.ReasonCoverageEnding))
		g.Expect(ready.Message).To(ContainSubstring(fmt.Sprintf("7 days; its coverage ends on %d-12-31", last)))
		g.Expect(eventTypes(g, cal.Name, v1alpha1.ReasonCoverageEnding)).To(Equal([]string{corev1.EventTypeWarning}))
	}).WithTimeout(20 * time.Second).Should(Succeed())
	g.Expect(cal.Status.HolidayDays).To(BeEquivalentTo(7))
	g.Expect(k8s.Delete(context.Background(), cal)).To(Succeed())
}

// TestOfficeCalendarCoverage: an office whose calendar does not cover the
// deadlines of a petition received today has CalendarCoverage=False,
// BeyondCoverage, and stays Ready; covered, it is True, Covered, and turns
// False the day its coverage runs out; without a calendar it has none. A
// steady office writes nothing.
func TestOfficeCalendarCoverage(t *testing.T) {
	g := NewWithT(t)
	defer clock.reset()
	year := clock.Now().Year()
	cal := &v1alpha1.HolidayCalendar{
		ObjectMeta: metav1.ObjectMeta{Name: "covg-cal"},
		Spec:       v1alpha1.HolidayCalendarSpec{Covers: yearRange(year-1, year-1)},
	}
	city := office("covg-city", v1alpha1.LevelCity, "")
	city.Spec.CalendarRef = v1alpha1.ObjectName(cal.Name)
	create(t, cal, city)
	expectReady(t, city)
	g.Eventually(func(g Gomega) {
		c := condition(g, city, v1alpha1.ConditionCalendarCoverage)
		g.Expect(c).NotTo(BeNil())
		g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(c.Reason).To(Equal(v1alpha1.ReasonBeyondCoverage))
		g.Expect(c.ObservedGeneration).To(Equal(city.Generation))
		g.Expect(c.Message).To(Equal(fmt.Sprintf("HolidayCalendar covg-cal does not cover %d, where deadlines of a petition received now fall; "+
			"the first date it does not cover is %d-01-01: deadlines there are counted without holidays", year, year)))
	}).WithTimeout(20 * time.Second).Should(Succeed())
	// A warning, not a failure.
	ready := condition(g, city, v1alpha1.ConditionReady)
	g.Expect(ready.Status).To(Equal(metav1.ConditionTrue))
	g.Expect(ready.Reason).To(Equal(v1alpha1.ReasonReconciled))
	// The desk gets spec.covers with the dates.
	g.Eventually(func(g Gomega) {
		cfg := compiledConfig(g, city.Name)
		g.Expect(cfg.Calendar).NotTo(BeNil())
		g.Expect(cfg.Calendar.Covers).To(Equal(cal.Spec.Covers))
	}).WithTimeout(20 * time.Second).Should(Succeed())

	// Steady: a reconcile that finds the same writes nothing. The policies
	// and calendars recount up to the pacing's Interval after an office
	// event: nothing written for a while first.
	settle(t)
	update(t, city, func(o *v1alpha1.Office) { o.Annotations = map[string]string{"touched": "yes"} })
	before, rv := writes(g), city.ResourceVersion
	g.Consistently(func(g Gomega) {
		g.Expect(k8s.Get(context.Background(), client.ObjectKeyFromObject(city), city)).To(Succeed())
		g.Expect(city.ResourceVersion).To(Equal(rv))
		g.Expect(writes(g)).To(Equal(before))
	}).WithTimeout(3 * time.Second).WithPolling(200 * time.Millisecond).Should(Succeed())

	// Covering this year and the next covers a petition received today.
	update(t, cal, func(c *v1alpha1.HolidayCalendar) { c.Spec.Covers = yearRange(year-1, year+1) })
	g.Eventually(func(g Gomega) {
		c := condition(g, city, v1alpha1.ConditionCalendarCoverage)
		g.Expect(c.Status).To(Equal(metav1.ConditionTrue))
		g.Expect(c.Reason).To(Equal(v1alpha1.ReasonCovered))
		g.Expect(c.Message).To(HavePrefix("HolidayCalendar covg-cal covers every deadline of a petition received up to "))
	}).WithTimeout(20 * time.Second).Should(Succeed())

	// Four seconds before the first day of receipt whose deadlines run
	// beyond the coverage, a reconcile finds nothing new and looks again
	// then: the condition turns False by itself.
	var cfgNext time.Time
	g.Eventually(func(g Gomega) {
		cfg := compiledConfig(g, city.Name)
		g.Expect(cfg.Calendar.Covers).To(Equal(yearRange(year-1, year+1)))
		ans, ok, err := cfg.CalendarCoverage(clock.Now())
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(ok && !ans.Beyond).To(BeTrue())
		cfgNext = ans.Next
	}).WithTimeout(20 * time.Second).Should(Succeed())
	clock.setTo(cfgNext.Add(-4 * time.Second))
	update(t, city, func(o *v1alpha1.Office) { o.Annotations = map[string]string{"touched": "again"} })
	g.Consistently(func(g Gomega) {
		g.Expect(condition(g, city, v1alpha1.ConditionCalendarCoverage).Reason).To(Equal(v1alpha1.ReasonCovered))
	}).WithTimeout(2 * time.Second).Should(Succeed())
	g.Eventually(func(g Gomega) {
		c := condition(g, city, v1alpha1.ConditionCalendarCoverage)
		g.Expect(c.Reason).To(Equal(v1alpha1.ReasonBeyondCoverage))
		g.Expect(c.Message).To(ContainSubstring(fmt.Sprintf("the first date it does not cover is %d-01-01", year+2)))
	}).WithTimeout(20 * time.Second).Should(Succeed())
	expectReady(t, city)
	clock.reset()

	// Without a calendar there is nothing to cover.
	update(t, city, func(o *v1alpha1.Office) { o.Spec.CalendarRef = "" })
	g.Eventually(func(g Gomega) {
		g.Expect(condition(g, city, v1alpha1.ConditionCalendarCoverage)).To(BeNil())
	}).WithTimeout(20 * time.Second).Should(Succeed())
	expectReady(t, city)
}
