package controllers_test

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/xinfang"
)

func department(name, parent string, code v1alpha1.DepartmentCode) *v1alpha1.Office {
	o := office(name, v1alpha1.LevelDepartment, parent)
	o.Spec.Department = code
	return o
}

// configMapVersion returns the resourceVersion of the office's desk-config
// ConfigMap.
func configMapVersion(g Gomega, office string) string {
	cms := configMaps(g, office)
	g.Expect(cms).To(HaveLen(1))
	return cms[0].ResourceVersion
}

func TestRoutingReachesExactlyTheSelectedTenants(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	city := office("rt-city", v1alpha1.LevelCity, "")
	cityHR := department("rt-city-hr", "rt-city", "HumanResources")
	county := office("rt-county", v1alpha1.LevelCounty, "rt-city")
	countyNR := department("rt-county-nr", "rt-county", "NaturalResources")
	town := office("rt-town", v1alpha1.LevelTownship, "rt-county")
	otherCounty := office("rt-other", v1alpha1.LevelCounty, "rt-city")
	otherTown := office("rt-other-town", v1alpha1.LevelTownship, "rt-other")
	all := []*v1alpha1.Office{city, cityHR, county, countyNR, town, otherCounty, otherTown}
	create(t, city, cityHR, county, countyNR, town, otherCounty, otherTown)
	for _, o := range all {
		expectReady(t, o)
	}

	land := &v1alpha1.RoutingPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "rt-land"},
		Spec: v1alpha1.RoutingPolicySpec{
			Priority:       100,
			OfficeSelector: v1alpha1.OfficeSelector{Levels: []v1alpha1.Level{"Township"}, SubtreeOf: "rt-county"},
			Rules: []v1alpha1.RoutingRule{{
				Name: "land", Match: v1alpha1.RouteMatch{Categories: []string{"land-acquisition"}},
				RouteTo: v1alpha1.RouteTarget{Department: "NaturalResources", Scope: "County"},
			}},
		},
	}
	before := map[string]string{}
	for _, o := range all {
		rv := configMapVersion(g, o.Name)
		before[o.Name] = rv
	}
	create(t, land)

	// The selected township's tenant gets the resolved rule.
	g.Eventually(func(g Gomega) {
		cfg := compiledConfig(g, "rt-town")
		g.Expect(cfg.Routing).NotTo(BeNil())
		g.Expect(cfg.Routing.Rules).To(HaveLen(1), "only rt-land selects rt-town")
		g.Expect(cfg.Routing.Rules[0].Office).To(Equal("rt-county-nr"))
		g.Expect(cfg.Routing.Rules[0].Address).To(Equal("http://desk.office-rt-county-nr.svc"))
		route := cfg.Routing.Route("rt-town", xinfang.Petition{Category: "land-acquisition", Type: "Appeal"})
		g.Expect(route.Office).To(Equal("rt-county-nr"))
		g.Expect(route.Policy).To(Equal("rt-land"))
	}).WithTimeout(20 * time.Second).Should(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(k8s.Get(ctx, key("", "rt-town"), town)).To(Succeed())
		g.Expect(town.Status.Routing).NotTo(BeNil())
		g.Expect(town.Status.Routing.Rules).To(BeEquivalentTo(1))
		g.Expect(town.Status.Routing.Unresolved).To(BeEquivalentTo(0))
	}).WithTimeout(20 * time.Second).Should(Succeed())
	expectReady(t, land)
	g.Eventually(func(g Gomega) {
		g.Expect(k8s.Get(ctx, key("", "rt-land"), land)).To(Succeed())
		g.Expect(land.Status.SelectedOffices).To(BeEquivalentTo(1))
		// The township runs the policy's generation: the rollout is done.
		g.Expect(land.Status.UpdatedOffices).To(BeEquivalentTo(1))
		g.Expect(k8s.Get(ctx, key("", "rt-town"), town)).To(Succeed())
		g.Expect(town.Status.Routing.Policies).To(Equal([]v1alpha1.PolicyRevision{{Name: "rt-land", Revision: xinfang.Revision(&land.Spec).Revision}}))
	}).WithTimeout(20 * time.Second).Should(Succeed())

	// Nothing else was written: every other tenant's ConfigMap is as it was.
	for _, o := range all {
		if o.Name == "rt-town" {
			continue
		}
		rv := configMapVersion(g, o.Name)
		g.Expect(rv).To(Equal(before[o.Name]), o.Name)
	}

	// Widening the selector to the city's townships reaches the other
	// county's township, whose county has no NaturalResources: unresolved,
	// listed, and the petition stays with the township.
	update(t, land, func(p *v1alpha1.RoutingPolicy) { p.Spec.OfficeSelector.SubtreeOf = "rt-city" })
	g.Eventually(func(g Gomega) {
		g.Expect(k8s.Get(ctx, key("", "rt-land"), land)).To(Succeed())
		g.Expect(land.Status.SelectedOffices).To(BeEquivalentTo(2))
		g.Expect(land.Status.UpdatedOffices).To(BeEquivalentTo(2), "both townships run generation %d", land.Generation)
		g.Expect(land.Status.UnresolvedRoutes).To(BeEquivalentTo(1))
		g.Expect(land.Status.Unresolved).To(ConsistOf(v1alpha1.UnresolvedRoute{
			Office: "rt-other-town", Rule: "land", Reason: "no NaturalResources department office under rt-other"}))
		g.Expect(k8s.Get(ctx, key("", "rt-other-town"), otherTown)).To(Succeed())
		g.Expect(otherTown.Status.Routing.Unresolved).To(BeEquivalentTo(1))
		cfg := compiledConfig(g, "rt-other-town")
		route := cfg.Routing.Route("rt-other-town", xinfang.Petition{Category: "land-acquisition", Type: "Report"})
		g.Expect(route.Office).To(Equal("rt-other-town"))
		g.Expect(route.Fallback).To(BeTrue())
	}).WithTimeout(20 * time.Second).Should(Succeed())

	// The department appears: the route resolves without touching the policy.
	create(t, department("rt-other-nr", "rt-other", "NaturalResources"))
	g.Eventually(func(g Gomega) {
		cfg := compiledConfig(g, "rt-other-town")
		g.Expect(cfg.Routing.Rules[0].Office).To(Equal("rt-other-nr"))
		g.Expect(k8s.Get(ctx, key("", "rt-land"), land)).To(Succeed())
		g.Expect(land.Status.Unresolved).To(BeEmpty())
	}).WithTimeout(20 * time.Second).Should(Succeed())
}

func TestExplicitTargetAppliedLater(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	city := office("late-city", v1alpha1.LevelCity, "")
	create(t, city, &v1alpha1.RoutingPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "late-labour"},
		Spec: v1alpha1.RoutingPolicySpec{
			OfficeSelector: v1alpha1.OfficeSelector{SubtreeOf: "late-city"},
			Rules:          []v1alpha1.RoutingRule{{Name: "labour", RouteTo: v1alpha1.RouteTarget{Office: "late-arbitration"}}},
		},
	})
	g.Eventually(func(g Gomega) {
		routing := compiledConfig(g, "late-city").Routing
		g.Expect(routing).NotTo(BeNil())
		g.Expect(routing.Rules).To(HaveLen(1))
		g.Expect(routing.Rules[0].Unresolved).To(Equal(`office "late-arbitration" does not exist`))
	}).WithTimeout(20 * time.Second).Should(Succeed())
	create(t, department("late-arbitration", "late-city", "LabourArbitration"))
	g.Eventually(func(g Gomega) {
		rule := compiledConfig(g, "late-city").Routing.Rules[0]
		g.Expect(rule.Unresolved).To(BeEmpty())
		g.Expect(rule.Office).To(Equal("late-arbitration"))
	}).WithTimeout(20 * time.Second).Should(Succeed())
	g.Eventually(func() error { return k8s.Get(ctx, key("", "office-late-arbitration"), &corev1.Namespace{}) }).
		WithTimeout(20 * time.Second).Should(Succeed())
}

// TestRoutesAndWindowsAgree: the desk's configuration (from the ConfigMap)
// and petitionctl's view of the cluster give the same routes and windows.
func TestRoutesAndWindowsAgree(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	city := office("ag-city", v1alpha1.LevelCity, "")
	city.Spec.ReceptionWindows = []v1alpha1.ReceptionWindow{
		{Name: "weekday", Channels: []v1alpha1.Channel{"Visit"}, Weekdays: []string{"monday:friday"},
			Times: []v1alpha1.TimeRange{{Start: "08:30", End: "12:00"}}},
		{Name: "duty", Kind: v1alpha1.WindowExtendedDuty, Channels: []v1alpha1.Channel{"Visit"},
			DateRanges: []v1alpha1.DateRange{{From: "2026-10-01", To: "2026-10-07"}}, Times: []v1alpha1.TimeRange{{Start: "09:00", End: "17:00"}}},
	}
	hr := department("ag-hr", "ag-city", "HumanResources")
	town := office("ag-county", v1alpha1.LevelCounty, "ag-city")
	create(t, city, hr, town, &v1alpha1.RoutingPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "ag-wages"},
		Spec: v1alpha1.RoutingPolicySpec{
			OfficeSelector: v1alpha1.OfficeSelector{SubtreeOf: "ag-city"},
			Rules: []v1alpha1.RoutingRule{
				{Name: "wages", Match: v1alpha1.RouteMatch{Categories: []string{"wage-arrears"}}, RouteTo: v1alpha1.RouteTarget{Department: "HumanResources"}},
				{Name: "env", Match: v1alpha1.RouteMatch{Categories: []string{"pollution"}}, RouteTo: v1alpha1.RouteTarget{Department: "Environment"}},
			},
		},
	})
	for _, o := range []*v1alpha1.Office{city, hr, town} {
		expectReady(t, o)
	}
	g.Eventually(func(g Gomega) {
		g.Expect(compiledConfig(g, "ag-county").Routing.Rules).To(ContainElement(HaveField("Policy", "ag-wages")))
	}).WithTimeout(20 * time.Second).Should(Succeed())

	snapshot := clusterSnapshot(g)

	petitions := []xinfang.Petition{
		{Category: "wage-arrears", Type: "Appeal"}, {Category: "pollution", Type: "Report"}, {Category: "roads", Type: "Inquiry"},
	}
	instants := []string{"2026-10-02T10:00:00+08:00", "2026-10-12T08:29:00+08:00", "2026-10-12T11:59:00+08:00", "2026-10-12T12:00:00+08:00"}
	for _, name := range []string{"ag-city", "ag-county", "ag-hr"} {
		desk := compiledConfig(g, name)
		cli, err := snapshot.OfficeConfig(name)
		g.Expect(err).NotTo(HaveOccurred())
		for _, p := range petitions {
			fromDesk, err := desk.Route(p)
			g.Expect(err).NotTo(HaveOccurred())
			fromCLI, err := cli.Route(p)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(fromCLI).To(Equal(fromDesk), name+" "+p.Category)
		}
		for _, at := range instants {
			instant, _ := time.Parse(time.RFC3339, at)
			fromDesk, err := desk.Windows("Visit", instant)
			g.Expect(err).NotTo(HaveOccurred())
			fromCLI, err := cli.Windows("Visit", instant)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(fromCLI).To(Equal(fromDesk), name+" "+at)
		}
	}
	county := compiledConfig(g, "ag-county")
	wage, _ := county.Route(petitions[0])
	g.Expect(wage.Office).To(Equal("ag-hr"))
	env, _ := county.Route(petitions[1])
	g.Expect(env.Office).To(Equal("ag-county"))
	g.Expect(env.Fallback).To(BeTrue())
	cityConfig := compiledConfig(g, "ag-city")
	// Saturday 2026-10-03 10:00 in Shanghai: only the duty window is open.
	duty, _ := cityConfig.Windows("Visit", time.Date(2026, 10, 3, 2, 0, 0, 0, time.UTC))
	g.Expect(duty).To(Equal(xinfang.WindowAnswer{Open: true, Window: "duty", NextOpening: "2026-10-04T09:00:00+08:00"}))
}
