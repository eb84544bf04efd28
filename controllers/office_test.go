package controllers_test

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/xinfang/petition-operator/api/v1alpha1"
)

func TestOfficesInANetworkBecomeReady(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	city := office("ready-city", v1alpha1.LevelCity, "")
	county := office("ready-county", v1alpha1.LevelCounty, "ready-city")
	town := office("ready-town", v1alpha1.LevelTownship, "ready-county")
	dept := office("ready-dept", v1alpha1.LevelDepartment, "ready-county")
	create(t, city, county, town, dept)
	for _, o := range []*v1alpha1.Office{city, county, town, dept} {
		expectReady(t, o)
	}
	g.Expect(town.Status.Path).To(Equal([]string{"ready-city", "ready-county", "ready-town"}))
	g.Expect(dept.Status.Path).To(Equal([]string{"ready-city", "ready-county", "ready-dept"}))
	g.Eventually(func(g Gomega) {
		g.Expect(k8s.Get(context.Background(), client.ObjectKeyFromObject(county), county)).To(Succeed())
		g.Expect(county.Status.Children).To(BeEquivalentTo(2))
		g.Expect(k8s.Get(context.Background(), client.ObjectKeyFromObject(city), city)).To(Succeed())
		g.Expect(city.Status.Children).To(BeEquivalentTo(1))
	}).WithTimeout(10 * time.Second).Should(Succeed())

	// A spec change moves observedGeneration along.
	gen := county.Generation
	update(t, county, func(o *v1alpha1.Office) { o.Spec.DisplayName = "镇平县信访局" })
	g.Expect(county.Generation).To(BeNumerically(">", gen))
	expectReady(t, county)
	g.Eventually(func(g Gomega) { g.Expect(events(g, "ready-county")).To(ContainElement(v1alpha1.ReasonReconciled)) }).
		WithTimeout(10 * time.Second).Should(Succeed())
}

func TestChildWaitsForItsParent(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	town := office("waiting-town", v1alpha1.LevelTownship, "waiting-county")
	create(t, town)
	expectNotReady(t, town, v1alpha1.ReasonParentMissing, v1alpha1.ConditionReconciling)
	g.Expect(condition(g, town, v1alpha1.ConditionReady).Message).To(ContainSubstring(`parent office "waiting-county" does not exist`))
	g.Expect(town.Status.Path).To(BeNil())

	// The grandparent is still missing once the parent appears.
	create(t, office("waiting-county", v1alpha1.LevelCounty, "waiting-city"))
	NewWithT(t).Eventually(func(g Gomega) {
		g.Expect(condition(g, town, v1alpha1.ConditionReady).Message).To(ContainSubstring(`ancestor office "waiting-city"`))
	}).WithTimeout(20 * time.Second).Should(Succeed())

	// With the whole chain present the child becomes Ready by itself.
	create(t, office("waiting-city", v1alpha1.LevelCity, ""))
	expectReady(t, town)
	g.Expect(town.Status.Path).To(Equal([]string{"waiting-city", "waiting-county", "waiting-town"}))
	g.Eventually(func(g Gomega) {
		g.Expect(events(g, "waiting-town")).To(ContainElements(v1alpha1.ReasonParentMissing, v1alpha1.ReasonReconciled))
	}).WithTimeout(10 * time.Second).Should(Succeed())
}

func TestWrongParentLevelStalls(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	city := office("level-city", v1alpha1.LevelCity, "")
	town := office("level-town", v1alpha1.LevelTownship, "level-city")
	create(t, city, town)
	expectNotReady(t, town, v1alpha1.ReasonInvalidLevel, v1alpha1.ConditionStalled)
	g.Expect(condition(g, town, v1alpha1.ConditionReady).Message).To(ContainSubstring("the parent of a Township must be a County, not a City"))
	g.Expect(condition(g, town, v1alpha1.ConditionReconciling)).To(BeNil())

	// Fixing the spec clears Stalled.
	create(t, office("level-county", v1alpha1.LevelCounty, "level-city"))
	update(t, town, func(o *v1alpha1.Office) { o.Spec.Parent = "level-county" })
	expectReady(t, town)
}

func TestParentCycleStalls(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	// Two counties naming each other. The level rules make every cycle
	// contain a wrong parent level, which the walk meets first: neither
	// office is Ready, and both need a spec change.
	a := office("cycle-a", v1alpha1.LevelCounty, "cycle-b")
	b := office("cycle-b", v1alpha1.LevelCounty, "cycle-a")
	create(t, a, b)
	for _, o := range []*v1alpha1.Office{a, b} {
		NewWithT(t).Eventually(func(g Gomega) {
			ready := condition(g, o, v1alpha1.ConditionReady)
			g.Expect(ready).NotTo(BeNil())
			g.Expect(ready.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(ready.Reason).To(Equal(v1alpha1.ReasonInvalidLevel))
			g.Expect(condition(g, o, v1alpha1.ConditionStalled)).NotTo(BeNil())
		}).WithTimeout(20 * time.Second).Should(Succeed())
	}
	g.Expect(a.Status.Path).To(BeNil())
}

// TestNoWriteWithoutChange proves that a reconcile that finds nothing new
// writes nothing: an annotation change triggers a reconcile of the office but
// must not cause a single API write by the process (counted by client-go's
// request metrics, which the manager and this test share).
func TestNoWriteWithoutChange(t *testing.T) {
	g := NewWithT(t)
	city := office("quiet-city", v1alpha1.LevelCity, "")
	create(t, city)
	expectReady(t, city)
	// Creating the tenant stack settles in a few rounds while the caches
	// catch up with the writes, events are written asynchronously, and the
	// policies recount their offices up to the pacing's Interval after an
	// office event: wait until nothing is written for a while before
	// counting.
	settle(t)
	update(t, city, func(o *v1alpha1.Office) { o.Annotations = map[string]string{"touched": "yes"} })
	before := writes(g)
	rv := city.ResourceVersion
	g.Consistently(func(g Gomega) {
		g.Expect(k8s.Get(context.Background(), client.ObjectKeyFromObject(city), city)).To(Succeed())
		g.Expect(city.ResourceVersion).To(Equal(rv))
		g.Expect(writes(g)).To(Equal(before))
	}).WithTimeout(4 * time.Second).WithPolling(200 * time.Millisecond).Should(Succeed())
}

// settle waits until this process has sent no mutating API request for
// quiet. A test that counts writes does not run in parallel with others.
func settle(t *testing.T) {
	t.Helper()
	NewWithT(t).Eventually(func(g Gomega) {
		before := writes(g)
		g.Consistently(func(g Gomega) { g.Expect(writes(g)).To(Equal(before)) }).
			WithTimeout(quiet).WithPolling(100 * time.Millisecond).Should(Succeed())
	}).WithTimeout(time.Minute).Should(Succeed())
}

// writes is the number of mutating API requests this process has sent.
func writes(g Gomega) float64 {
	families, err := metrics.Registry.Gather()
	g.Expect(err).NotTo(HaveOccurred())
	total := 0.0
	for _, f := range families {
		if f.GetName() != "rest_client_requests_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "method" && l.GetValue() != "GET" {
					total += m.GetCounter().GetValue()
				}
			}
		}
	}
	g.Expect(families).NotTo(BeEmpty())
	return total
}

// TestMoveUpdatesTheSubtree moves a county to another city: every office
// below it gets its new path, and both cities their children count.
func TestMoveUpdatesTheSubtree(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	east := office("move-east", v1alpha1.LevelCity, "")
	west := office("move-west", v1alpha1.LevelCity, "")
	county := office("move-county", v1alpha1.LevelCounty, "move-east")
	town := office("move-town", v1alpha1.LevelTownship, "move-county")
	create(t, east, west, county, town)
	expectReady(t, town)
	g.Expect(town.Status.Path).To(Equal([]string{"move-east", "move-county", "move-town"}))

	update(t, county, func(o *v1alpha1.Office) { o.Spec.Parent = "move-west" })
	g.Eventually(func(g Gomega) {
		g.Expect(k8s.Get(context.Background(), client.ObjectKeyFromObject(town), town)).To(Succeed())
		g.Expect(town.Status.Path).To(Equal([]string{"move-west", "move-county", "move-town"}))
		g.Expect(k8s.Get(context.Background(), client.ObjectKeyFromObject(east), east)).To(Succeed())
		g.Expect(east.Status.Children).To(BeEquivalentTo(0))
		g.Expect(k8s.Get(context.Background(), client.ObjectKeyFromObject(west), west)).To(Succeed())
		g.Expect(west.Status.Children).To(BeEquivalentTo(1))
	}).WithTimeout(20 * time.Second).Should(Succeed())
}
