package controllers_test

import (
	"encoding/json"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/xinfang"
)

func chain(g Gomega, o *v1alpha1.Office) []string {
	g.Expect(k8s.Get(ctx, key("", o.Name), o)).To(Succeed())
	var out []string
	for _, s := range o.Status.Escalation {
		unit := "d"
		if s.WorkingDays {
			unit = "wd"
		}
		body := s.Office
		if s.External != "" {
			body = "[" + s.External + "]"
		}
		out = append(out, s.Stage+"@"+body+"/"+itoa(s.LimitDays)+unit)
	}
	return out
}

func itoa(n int32) string { b, _ := json.Marshal(n); return string(b) }

// compiledConfig reads the office's compiled configuration from its ConfigMap.
func compiledConfig(g Gomega, office string) xinfang.OfficeConfig {
	cms := configMaps(g, office)
	g.Expect(cms).To(HaveLen(1))
	var cfg xinfang.OfficeConfig
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
		// The City never reviews itself: it names nothing above it.
		g.Expect(chain(g, city)).To(Equal([]string{
			"Acceptance@esc-city/15d", "Handling@esc-city/60d", "Review@[above esc-city]/30d", "ReReview@[2 levels above esc-city]/30d"}))
	}).WithTimeout(20 * time.Second).Should(Succeed())

	// The compiled configuration carries the same chain, and projects the
	// statutory dates.
	cfg := compiledConfig(g, "esc-town")
	g.Expect(cfg.Escalation.Supervisor).To(Equal("esc-county"))
	ans, err := cfg.Deadlines(xinfang.DeadlineQuery{Received: time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)})
	g.Expect(err).NotTo(HaveOccurred())
	got := ans.Stages
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
	ans, err := cfg.Deadlines(xinfang.DeadlineQuery{Received: time.Date(2026, 9, 29, 0, 0, 0, 0, time.UTC)})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(ans.Stages[0].Due).To(Equal("2026-10-12"))

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

// TestCLIStatusAndDeskAgree: for offices, petitions and dates, the chain in
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
	city.Spec.Escalation.Above = []v1alpha1.ExternalBody{{DisplayName: "江苏省人民政府信访局"}, {DisplayName: "国家信访局"}}
	county := office("agree-county", v1alpha1.LevelCounty, "agree-city")
	dept := office("agree-dept", v1alpha1.LevelDepartment, "agree-county")
	cityDept := office("agree-city-dept", v1alpha1.LevelDepartment, "agree-city")
	cityDept.Spec.Department = "NaturalResources"
	// The City's department is chased by an overdue ladder.
	ladder := &v1alpha1.EscalationPolicy{ObjectMeta: metav1.ObjectMeta{Name: "agree-ladder"}, Spec: xinfang.StatutoryPolicy().Spec}
	ladder.Spec.Overdue = []v1alpha1.OverdueRung{{After: "1wd", Action: v1alpha1.OverdueRemind, By: v1alpha1.OverdueByParent},
		{After: "5wd", Action: v1alpha1.OverdueSupervise, By: v1alpha1.OverdueByParent}, {After: "15d", Action: v1alpha1.OverdueFlag, By: v1alpha1.OverdueByRoot}}
	cityDept.Spec.Escalation.PolicyRef = "agree-ladder"
	// The county sends wage cases to its department, land cases to the
	// City's.
	county.Spec.Routing.Rules = []v1alpha1.RoutingRule{
		{Name: "wages", Match: v1alpha1.RouteMatch{Categories: []string{"wage-arrears"}}, RouteTo: v1alpha1.RouteTarget{Department: "HumanResources"}},
		{Name: "land", Match: v1alpha1.RouteMatch{Categories: []string{"land-acquisition"}}, RouteTo: v1alpha1.RouteTarget{Office: "agree-city-dept"}},
	}
	offices := []*v1alpha1.Office{city, county, dept, cityDept}
	for _, o := range offices {
		o.Spec.CalendarRef = "agree-2026"
	}
	create(t, calendar, ladder, city, county, dept, cityDept)
	for _, o := range offices {
		expectReady(t, o)
	}

	snapshot := clusterSnapshot(g)
	petitions := []*xinfang.Petition{nil,
		{Category: "wage-arrears", Type: v1alpha1.PetitionAppeal}, {Category: "land-acquisition", Type: v1alpha1.PetitionAppeal},
		{Category: "land-acquisition", Type: v1alpha1.PetitionReport}, {Category: "pensions", Type: v1alpha1.PetitionInquiry, Channel: v1alpha1.ChannelVisit}}
	replied := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	for _, o := range offices {
		desk := compiledConfig(g, o.Name)
		cli, err := snapshot.OfficeConfig(o.Name)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(k8s.Get(ctx, key("", o.Name), o)).To(Succeed())
		g.Expect(o.Status.Escalation).To(HaveLen(len(desk.Escalation.Steps)), o.Name)
		for i, step := range desk.Escalation.Steps {
			g.Expect(o.Status.Escalation[i].Office).To(Equal(step.Office), o.Name)
			g.Expect(o.Status.Escalation[i].External).To(Equal(step.External), o.Name)
			g.Expect(o.Status.Escalation[i].LimitDays).To(BeEquivalentTo(step.Limit.Days), o.Name)
		}
		for _, day := range []string{"2026-02-02", "2026-02-10", "2026-08-03", "2026-09-16", "2026-09-30", "2026-12-31"} {
			received, _ := time.Parse(time.DateOnly, day)
			for _, p := range petitions {
				for _, r := range []*time.Time{nil, &replied} {
					if r != nil && received.After(*r) {
						continue
					}
					q := xinfang.DeadlineQuery{Received: received, Petition: p, Replied: r}
					fromDesk, err := desk.Deadlines(q)
					g.Expect(err).NotTo(HaveOccurred())
					fromCLI, err := cli.Deadlines(q)
					g.Expect(err).NotTo(HaveOccurred())
					g.Expect(fromCLI).To(Equal(fromDesk), "%s %s %+v", o.Name, day, p)
					if p == nil {
						// status.escalation is the chain of the petitions
						// the office handles itself.
						g.Expect(fromDesk.Handler).To(Equal(o.Name))
						for i, s := range fromDesk.Stages {
							g.Expect(s.Office).To(Equal(o.Status.Escalation[i].Office))
							g.Expect(s.External).To(Equal(o.Status.Escalation[i].External))
						}
					}
				}
			}
		}
	}
	// The department's Review is at the county, its ReReview at the city;
	// the county's ReReview and the City's Review are above the City.
	g.Expect(chain(g, dept)).To(Equal([]string{"Acceptance@agree-dept/15d", "Handling@agree-dept/60d", "Review@agree-county/30d", "ReReview@agree-city/30d"}))
	g.Expect(chain(g, county)).To(ContainElement("ReReview@[江苏省人民政府信访局]/30d"))
	g.Expect(chain(g, city)).To(Equal([]string{"Acceptance@agree-city/15d", "Handling@agree-city/60d",
		"Review@[江苏省人民政府信访局]/30d", "ReReview@[国家信访局]/30d"}))

	// A land Appeal the county receives: Transfer at the county, the rest
	// at the City's department and above. 08-03 + 15d = 08-18; Acceptance
	// + 15d = 09-02; Handling + 60d = 11-01 (Sunday) → 11-02. Replied
	// 09-01: request by + 30d = 10-01,
	// National Day → 10-08; due + 30d = 11-07 (Saturday) → 11-09. ReReview:
	// request by 12-09, due 2027-01-08 — beyond the calendar, warned.
	countyConfig := compiledConfig(g, "agree-county")
	ans, err := countyConfig.Deadlines(xinfang.DeadlineQuery{Received: time.Date(2026, 8, 3, 0, 0, 0, 0, time.UTC),
		Petition: &xinfang.Petition{Category: "land-acquisition", Type: v1alpha1.PetitionAppeal}, Replied: &replied})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(ans.Handler).To(Equal("agree-city-dept"))
	var lines []string
	for _, s := range ans.Stages {
		lines = append(lines, string(s.Name)+" "+s.Office+" "+s.External+" "+s.RequestBy+" "+s.Due)
	}
	g.Expect(lines).To(Equal([]string{"Transfer agree-county   2026-08-18", "Acceptance agree-city-dept   2026-09-02", "Handling agree-city-dept   2026-11-02",
		"Review agree-city  2026-10-08 2026-11-09", "ReReview  江苏省人民政府信访局 2026-12-09 2027-01-08"}))
	// The department's ladder: Acceptance due Wednesday 09-02 is chased by
	// the City on 09-03 (1wd) and 09-09 (5wd) and flagged on 09-17 (15d);
	// Handling due Monday 11-02 on 11-03, 11-09 and 11-17.
	var rungs []string
	for _, s := range ans.Stages[1:3] {
		for _, r := range s.Overdue {
			rungs = append(rungs, string(s.Name)+" "+string(r.Action)+"@"+r.Office+" "+r.At)
		}
	}
	g.Expect(rungs).To(Equal([]string{"Acceptance Remind@agree-city 2026-09-03", "Acceptance Supervise@agree-city 2026-09-09", "Acceptance Flag@agree-city 2026-09-17",
		"Handling Remind@agree-city 2026-11-03", "Handling Supervise@agree-city 2026-11-09", "Handling Flag@agree-city 2026-11-17"}))
	g.Expect(ans.Stages[0].Overdue).To(BeEmpty(), "the county's statutory policy declares no ladder")
	g.Expect(ans.Warnings).NotTo(BeEmpty())
	g.Expect(ans.Warnings[0]).To(HavePrefix("ReReview.due 2027-01-08: HolidayCalendar agree-2026 does not cover 2027"))
}

// TestHandlerChainsFollowTheirOffices: the chains an office's configuration
// holds for the offices it routes to follow those offices' policies, places
// and the bodies their City names.
func TestHandlerChainsFollowTheirOffices(t *testing.T) {
	g := NewWithT(t)
	grand := &v1alpha1.EscalationPolicy{ObjectMeta: metav1.ObjectMeta{Name: "hc-grand"}, Spec: xinfang.StatutoryPolicy().Spec}
	grand.Spec.Stages[2].Handler = v1alpha1.HandlerGrandparent
	city := office("hc-city", v1alpha1.LevelCity, "")
	city.Spec.Escalation.Above = []v1alpha1.ExternalBody{{DisplayName: "省信访局"}}
	county := office("hc-county", v1alpha1.LevelCounty, "hc-city")
	town := office("hc-town", v1alpha1.LevelTownship, "hc-county")
	town.Spec.Routing.Rules = []v1alpha1.RoutingRule{{Name: "wages", Match: v1alpha1.RouteMatch{Categories: []string{"wage-arrears"}},
		RouteTo: v1alpha1.RouteTarget{Office: "hc-dept"}}}
	dept := office("hc-dept", v1alpha1.LevelDepartment, "hc-county")
	dept.Spec.Escalation.PolicyRef = "hc-grand"
	create(t, grand, city, county, town, dept)
	expectReady(t, town)
	expectReady(t, dept)
	handler := func(g Gomega) string {
		h, ok := compiledConfig(g, "hc-town").Handlers["hc-dept"]
		g.Expect(ok).To(BeTrue())
		out := h.Policy + ":"
		for _, s := range h.Steps {
			out += " " + string(s.Stage) + "@" + s.Office + s.External
		}
		if h.Warning != "" {
			out += " (" + h.Warning + ")"
		}
		return out
	}
	// Review two levels up (the City), ReReview above it.
	g.Eventually(handler).WithTimeout(20 * time.Second).Should(Equal("hc-grand: Acceptance@hc-dept Handling@hc-dept Review@hc-city ReReview@省信访局"))
	// The town's own chain stays in the network; the county's ReReview is
	// above the City.
	g.Expect(chain(g, town)).To(Equal([]string{"Acceptance@hc-town/15d", "Handling@hc-town/60d", "Review@hc-county/30d", "ReReview@hc-city/30d"}))
	g.Expect(chain(g, county)).To(ContainElement("ReReview@[省信访局]/30d"))

	// The handler's policy changes: the town's configuration follows.
	update(t, grand, func(p *v1alpha1.EscalationPolicy) { p.Spec.Stages[2].Handler = v1alpha1.HandlerParent })
	g.Eventually(handler).WithTimeout(20 * time.Second).Should(Equal("hc-grand: Acceptance@hc-dept Handling@hc-dept Review@hc-county ReReview@hc-city"))

	// The handler names a policy that does not exist: it stops, and the
	// town counts its petitions with the statutory policy, warned.
	update(t, dept, func(o *v1alpha1.Office) { o.Spec.Escalation.PolicyRef = "hc-nowhere" })
	expectNotReady(t, dept, v1alpha1.ReasonPolicyMissing, v1alpha1.ConditionReconciling)
	g.Eventually(handler).WithTimeout(20 * time.Second).Should(Equal(`statutory-2022: Acceptance@hc-dept Handling@hc-dept Review@hc-county ReReview@hc-city (office hc-dept names EscalationPolicy "hc-nowhere", which does not exist: the statutory policy statutory-2022 applies to its petitions)`))
	expectReady(t, town)

	// The handler moves under the City: its ReReview leaves the network.
	update(t, dept, func(o *v1alpha1.Office) { o.Spec.Escalation.PolicyRef = ""; o.Spec.Parent = "hc-city" })
	g.Eventually(handler).WithTimeout(20 * time.Second).Should(Equal("statutory-2022: Acceptance@hc-dept Handling@hc-dept Review@hc-city ReReview@省信访局"))

	// The City renames the body above it: the county's status and the
	// town's configuration follow.
	update(t, city, func(o *v1alpha1.Office) { o.Spec.Escalation.Above[0].DisplayName = "河南省信访局" })
	g.Eventually(handler).WithTimeout(20 * time.Second).Should(Equal("statutory-2022: Acceptance@hc-dept Handling@hc-dept Review@hc-city ReReview@河南省信访局"))
	g.Eventually(func(g Gomega) []string { return chain(g, county) }).WithTimeout(20 * time.Second).Should(ContainElement("ReReview@[河南省信访局]/30d"))

	// Only a City names the bodies above the network.
	bad := office("hc-bad-county", v1alpha1.LevelCounty, "hc-city")
	bad.Spec.Escalation.Above = []v1alpha1.ExternalBody{{DisplayName: "省信访局"}}
	err := k8s.Create(ctx, bad)
	g.Expect(apierrors.IsInvalid(err)).To(BeTrue(), "%v", err)
	g.Expect(err.Error()).To(ContainSubstring("escalation.above names the bodies above the network and is allowed only on a City"))
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
