package controllers_test

import (
	"encoding/json"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/network"
)

func chain(g Gomega, o *v1alpha1.Office) []string {
	g.Expect(k8s.Get(ctx, key("", o.Name), o)).To(Succeed())
	var out []string
	for _, s := range o.Status.Escalation {
		unit := "d"
		if s.WorkingDays {
			unit = "wd"
		}
		out = append(out, s.Stage+"@"+s.Office+"/"+itoa(s.LimitDays)+unit)
	}
	return out
}

func itoa(n int32) string { b, _ := json.Marshal(n); return string(b) }

// compiledConfig reads the office's compiled configuration from its ConfigMap.
func compiledConfig(g Gomega, office string) network.OfficeConfig {
	cms := configMaps(g, office)
	g.Expect(cms).To(HaveLen(1))
	var cfg network.OfficeConfig
	g.Expect(json.Unmarshal([]byte(cms[0].Data["office.json"]), &cfg)).To(Succeed())
	return cfg
}

func TestDefaultPolicyIsCreatedAndNeverOverwritten(t *testing.T) {
	g := NewWithT(t)
	policy := &v1alpha1.EscalationPolicy{ObjectMeta: metav1.ObjectMeta{Name: v1alpha1.DefaultEscalationPolicy}}
	g.Eventually(func() error { return k8s.Get(ctx, key("", policy.Name), policy) }).WithTimeout(20 * time.Second).Should(Succeed())
	g.Expect(policy.Spec.Stages).To(HaveLen(4))
	g.Expect(policy.Spec.Stages[1].Limit).To(BeEquivalentTo("60d"))
	g.Expect(policy.Spec.Stages[1].Extension).To(BeEquivalentTo("30d"))
	expectReady(t, policy)

	// A user's edit stays.
	update(t, policy, func(p *v1alpha1.EscalationPolicy) { p.Spec.Stages[0].Limit = "10d" })
	g.Consistently(func(g Gomega) {
		g.Expect(k8s.Get(ctx, key("", policy.Name), policy)).To(Succeed())
		g.Expect(policy.Spec.Stages[0].Limit).To(BeEquivalentTo("10d"))
	}).WithTimeout(2 * time.Second).Should(Succeed())

	// Deleted, it comes back with the statutory limits.
	g.Expect(k8s.Delete(ctx, policy)).To(Succeed())
	g.Eventually(func(g Gomega) {
		fresh := &v1alpha1.EscalationPolicy{}
		g.Expect(k8s.Get(ctx, key("", v1alpha1.DefaultEscalationPolicy), fresh)).To(Succeed())
		g.Expect(fresh.UID).NotTo(Equal(policy.UID))
		g.Expect(fresh.Spec.Stages[0].Limit).To(BeEquivalentTo("15d"))
	}).WithTimeout(20 * time.Second).Should(Succeed())
}

func TestChainFollowsTheHierarchy(t *testing.T) {
	g := NewWithT(t)
	city := office("esc-city", v1alpha1.LevelCity, "")
	county := office("esc-county", v1alpha1.LevelCounty, "esc-city")
	other := office("esc-other", v1alpha1.LevelCounty, "esc-city")
	town := office("esc-town", v1alpha1.LevelTownship, "esc-county")
	create(t, city, county, other, town)
	expectReady(t, town)
	g.Eventually(func(g Gomega) {
		g.Expect(chain(g, town)).To(Equal([]string{
			"Acceptance@esc-town/15d", "Handling@esc-town/60d", "Review@esc-county/30d", "ReReview@esc-city/30d"}))
		g.Expect(chain(g, city)).To(Equal([]string{
			"Acceptance@esc-city/15d", "Handling@esc-city/60d", "Review@esc-city/30d", "ReReview@esc-city/30d"}))
	}).WithTimeout(20 * time.Second).Should(Succeed())

	// The compiled configuration carries the same chain, and projects the
	// statutory dates.
	cfg := compiledConfig(g, "esc-town")
	g.Expect(cfg.Escalation.Supervisor).To(Equal("esc-county"))
	got, err := cfg.Deadlines(time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC))
	g.Expect(err).NotTo(HaveOccurred())
	// 03-02 + 15d = 03-17 (Tuesday); + 60d = 05-16 (Saturday) → 05-18.
	g.Expect(got[0].Due).To(Equal("2026-03-17"))
	g.Expect(got[1].Due).To(Equal("2026-05-18"))
	g.Expect(got[2].Office).To(Equal("esc-county"))

	// Moving the township moves its Review.
	update(t, town, func(o *v1alpha1.Office) { o.Spec.Parent = "esc-other" })
	g.Eventually(func(g Gomega) {
		g.Expect(chain(g, town)).To(ContainElement("Review@esc-other/30d"))
	}).WithTimeout(20 * time.Second).Should(Succeed())
}

func TestPolicyAndCalendarChangesReachTheirOffices(t *testing.T) {
	g := NewWithT(t)
	city := office("pol-city", v1alpha1.LevelCity, "")
	city.Spec.Escalation.PolicyRef = "fast-track"
	city.Spec.CalendarRef = "pol-calendar"
	bystander := office("pol-bystander", v1alpha1.LevelCity, "")
	create(t, city, bystander)
	expectNotReady(t, city, v1alpha1.ReasonPolicyMissing, v1alpha1.ConditionReconciling)
	g.Expect(condition(g, city, v1alpha1.ConditionReady).Message).To(ContainSubstring(`EscalationPolicy "fast-track" does not exist`))
	expectReady(t, bystander)

	fast := &v1alpha1.EscalationPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "fast-track"},
		Spec: v1alpha1.EscalationPolicySpec{Stages: []v1alpha1.EscalationStage{
			{Name: v1alpha1.StageAcceptance, Limit: "5wd"}, {Name: v1alpha1.StageHandling, Limit: "20wd"},
		}},
	}
	create(t, fast)
	expectNotReady(t, city, v1alpha1.ReasonCalendarMissing, v1alpha1.ConditionReconciling)
	create(t, &v1alpha1.HolidayCalendar{
		ObjectMeta: metav1.ObjectMeta{Name: "pol-calendar"},
		Spec: v1alpha1.HolidayCalendarSpec{
			Holidays: []v1alpha1.Holiday{{Name: "国庆节", From: "2026-10-01", To: "2026-10-07"}},
			Workdays: []v1alpha1.Date{"2026-10-10"},
		},
	})
	expectReady(t, city)
	g.Expect(chain(g, city)).To(Equal([]string{"Acceptance@pol-city/5wd", "Handling@pol-city/20wd"}))
	cfg := compiledConfig(g, "pol-city")
	g.Expect(cfg.Calendar.Workdays).To(ConsistOf(v1alpha1.Date("2026-10-10")))
	// 09-29 + 5wd: 09-30, 10-08, 10-09, 10-10 (adjusted), 10-12.
	got, err := cfg.Deadlines(time.Date(2026, 9, 29, 0, 0, 0, 0, time.UTC))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(got[0].Due).To(Equal("2026-10-12"))

	// A policy edit reaches the office that uses it, and not the bystander.
	g.Expect(k8s.Get(ctx, key("", bystander.Name), bystander)).To(Succeed())
	bystanderRV := bystander.ResourceVersion
	update(t, fast, func(p *v1alpha1.EscalationPolicy) { p.Spec.Stages[0].Limit = "3wd" })
	g.Eventually(func(g Gomega) {
		g.Expect(chain(g, city)).To(ContainElement("Acceptance@pol-city/3wd"))
	}).WithTimeout(20 * time.Second).Should(Succeed())
	g.Expect(k8s.Get(ctx, key("", bystander.Name), bystander)).To(Succeed())
	g.Expect(bystander.ResourceVersion).To(Equal(bystanderRV))

	// An invalid policy stalls the office and leaves its tenant as it was.
	update(t, fast, func(p *v1alpha1.EscalationPolicy) {
		p.Spec.Stages[0], p.Spec.Stages[1] = p.Spec.Stages[1], p.Spec.Stages[0]
	})
	expectNotReady(t, city, v1alpha1.ReasonInvalidPolicy, v1alpha1.ConditionStalled)
	expectNotReady(t, fast, v1alpha1.ReasonInvalidPolicy, v1alpha1.ConditionStalled)
	g.Expect(compiledConfig(g, "pol-city").Escalation.Steps[0].Limit.Days).To(Equal(3))
	g.Expect(apierrors.IsNotFound(k8s.Get(ctx, key("", "nothing"), &v1alpha1.Office{}))).To(BeTrue())
}

// TestCLIStatusAndDeskAgree: for offices and receipt dates, the chain in
// status, the dates the desk computes from its ConfigMap, and the dates
// petitionctl computes from the cluster's objects are the same.
func TestCLIStatusAndDeskAgree(t *testing.T) {
	g := NewWithT(t)
	calendar := &v1alpha1.HolidayCalendar{
		ObjectMeta: metav1.ObjectMeta{Name: "agree-2026"},
		Spec: v1alpha1.HolidayCalendarSpec{
			Holidays: []v1alpha1.Holiday{{Name: "春节", From: "2026-02-15", To: "2026-02-23"}, {Name: "国庆节", From: "2026-10-01", To: "2026-10-07"}},
			Workdays: []v1alpha1.Date{"2026-02-14", "2026-02-28", "2026-09-20", "2026-10-10"},
		},
	}
	city := office("agree-city", v1alpha1.LevelCity, "")
	county := office("agree-county", v1alpha1.LevelCounty, "agree-city")
	dept := office("agree-dept", v1alpha1.LevelDepartment, "agree-county")
	for _, o := range []*v1alpha1.Office{city, county, dept} {
		o.Spec.CalendarRef = "agree-2026"
	}
	create(t, calendar, city, county, dept)
	for _, o := range []*v1alpha1.Office{city, county, dept} {
		expectReady(t, o)
	}

	snapshot := clusterSnapshot(g)

	for _, o := range []*v1alpha1.Office{city, county, dept} {
		desk := compiledConfig(g, o.Name)
		cli, err := snapshot.OfficeConfig(o.Name)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(k8s.Get(ctx, key("", o.Name), o)).To(Succeed())
		for i, step := range desk.Escalation.Steps {
			g.Expect(o.Status.Escalation[i].Office).To(Equal(step.Office), o.Name)
			g.Expect(o.Status.Escalation[i].LimitDays).To(BeEquivalentTo(step.Limit.Days), o.Name)
		}
		for _, day := range []string{"2026-02-10", "2026-09-16", "2026-09-30", "2026-12-31"} {
			received, _ := time.Parse(time.DateOnly, day)
			fromDesk, err := desk.Deadlines(received)
			g.Expect(err).NotTo(HaveOccurred())
			fromCLI, err := cli.Deadlines(received)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(fromCLI).To(Equal(fromDesk), o.Name+" "+day)
		}
	}
	// The department's Review is at the county, its ReReview at the city.
	g.Expect(dept.Status.Escalation[2].Office).To(Equal("agree-county"))
	g.Expect(dept.Status.Escalation[3].Office).To(Equal("agree-city"))
}

func TestPoliciesAndCalendarsCountTheirOffices(t *testing.T) {
	g := NewWithT(t)
	cal := &v1alpha1.HolidayCalendar{ObjectMeta: metav1.ObjectMeta{Name: "count-cal"}}
	ep := &v1alpha1.EscalationPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "count-policy"},
		Spec: v1alpha1.EscalationPolicySpec{Stages: []v1alpha1.EscalationStage{
			{Name: v1alpha1.StageAcceptance, Limit: "15d"}, {Name: v1alpha1.StageHandling, Limit: "60d"},
		}},
	}
	create(t, cal, ep)
	a := office("count-a", v1alpha1.LevelCity, "")
	b := office("count-b", v1alpha1.LevelCity, "")
	for _, o := range []*v1alpha1.Office{a, b} {
		o.Spec.CalendarRef = "count-cal"
		o.Spec.Escalation.PolicyRef = "count-policy"
	}
	create(t, a, b)
	g.Eventually(func(g Gomega) {
		g.Expect(k8s.Get(ctx, key("", cal.Name), cal)).To(Succeed())
		g.Expect(cal.Status.Offices).To(BeEquivalentTo(2))
		g.Expect(k8s.Get(ctx, key("", ep.Name), ep)).To(Succeed())
		g.Expect(ep.Status.Offices).To(BeEquivalentTo(2))
	}).WithTimeout(20 * time.Second).Should(Succeed())
	update(t, b, func(o *v1alpha1.Office) { o.Spec.CalendarRef = ""; o.Spec.Escalation.PolicyRef = "" })
	g.Eventually(func(g Gomega) {
		g.Expect(k8s.Get(ctx, key("", cal.Name), cal)).To(Succeed())
		g.Expect(cal.Status.Offices).To(BeEquivalentTo(1))
		g.Expect(k8s.Get(ctx, key("", ep.Name), ep)).To(Succeed())
		g.Expect(ep.Status.Offices).To(BeEquivalentTo(1))
	}).WithTimeout(20 * time.Second).Should(Succeed())
}
