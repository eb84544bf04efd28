package controllers_test

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/testenv"
	"github.com/xinfang/petition-operator/internal/xinfang"
)

// landPetition is the petition whose route the rollout tests follow.
var landPetition = xinfang.Petition{Category: "land-acquisition", Type: "Appeal"}

// routeTarget returns where the office's desk, from the configuration its
// tenant was given, sends landPetition, after checking that petitionctl's
// answer from the cluster agrees.
func routeTarget(g Gomega, office string) string {
	desk := compiledConfig(g, office)
	fromDesk, err := desk.Route(landPetition)
	g.Expect(err).NotTo(HaveOccurred())
	cli, err := clusterSnapshot(g).OfficeConfig(office)
	g.Expect(err).NotTo(HaveOccurred())
	fromCLI, err := cli.Route(landPetition)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(fromCLI.Office).To(Equal(fromDesk.Office), "petitionctl route and the desk of %s disagree", office)
	return fromDesk.Office
}

// landRules routes land petitions to the office.
func landRules(rule, to string) []v1alpha1.RoutingRule {
	return []v1alpha1.RoutingRule{{Name: rule, Match: v1alpha1.RouteMatch{Categories: []string{"land-acquisition"}},
		RouteTo: v1alpha1.RouteTarget{Office: v1alpha1.OfficeName(to)}}}
}

// rolloutOf returns the policy's rollout status and stage.
func rolloutOf(g Gomega, p *v1alpha1.RoutingPolicy) (*v1alpha1.RolloutStatus, int32) {
	g.Expect(k8s.Get(ctx, key("", p.Name), p)).To(Succeed())
	g.Expect(p.Status.Rollout).NotTo(BeNil())
	return p.Status.Rollout, p.Status.Stage
}

func TestStagedRollout(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	labels := map[string]string{"rollout-test": "staged"}
	city := office("ro-city", v1alpha1.LevelCity, "")
	countyA := office("ro-county-a", v1alpha1.LevelCounty, "ro-city")
	townA := office("ro-town-a", v1alpha1.LevelTownship, "ro-county-a")
	countyB := office("ro-county-b", v1alpha1.LevelCounty, "ro-city")
	townB := office("ro-town-b", v1alpha1.LevelTownship, "ro-county-b")
	land := department("ro-land", "ro-city", "NaturalResources")
	offices := []*v1alpha1.Office{city, countyA, townA, countyB, townB, land}
	for _, o := range offices {
		o.Labels = labels
	}
	stages := []v1alpha1.RolloutStage{
		{Levels: []v1alpha1.Level{v1alpha1.LevelCity}},
		{SubtreeOf: "ro-county-a"},
		{Percent: ptr.To[int32](100)},
	}
	policy := &v1alpha1.RoutingPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "ro-land"},
		Spec: v1alpha1.RoutingPolicySpec{
			OfficeSelector: v1alpha1.OfficeSelector{MatchLabels: labels},
			Rules:          landRules("land", "ro-city"),
			Rollout:        v1alpha1.Rollout{Strategy: v1alpha1.RolloutStaged, Stages: stages},
		},
	}
	for _, o := range offices {
		create(t, o)
	}
	create(t, policy)
	for _, o := range offices {
		expectReady(t, o)
	}
	stageOf := func(o *v1alpha1.Office) int32 {
		path := []string{"ro-city"}
		switch o.Name {
		case "ro-county-a", "ro-county-b", "ro-land":
			path = append(path, o.Name)
		case "ro-town-a":
			path = append(path, "ro-county-a", o.Name)
		case "ro-town-b":
			path = append(path, "ro-county-b", o.Name)
		}
		return int32(xinfang.StageOf(stages, o, path))
	}

	// A new policy rolls out stage by stage to completion: its rules are
	// then the stable revision.
	expectReady(t, policy)
	st, stage := rolloutOf(g, policy)
	rev1 := xinfang.Revision(&policy.Spec).Revision
	g.Expect(st.Phase).To(Equal(v1alpha1.RolloutComplete))
	g.Expect(stage).To(BeEquivalentTo(3))
	g.Expect(policy.Status.Stable.Revision).To(Equal(rev1))
	g.Expect(st.Offices).To(BeEquivalentTo(6))
	g.Expect(st.Updated).To(BeEquivalentTo(6))
	for _, o := range offices {
		g.Expect(routeTarget(g, o.Name)).To(Equal("ro-city"), o.Name)
	}
	g.Eventually(func(g Gomega) {
		g.Expect(events(g, "ro-land")).To(ContainElements("RolloutStarted", "StageCompleted", "RolloutComplete"))
	}).WithTimeout(10 * time.Second).Should(Succeed())

	// A change made paused reaches the first stage only.
	update(t, policy, func(p *v1alpha1.RoutingPolicy) {
		p.Spec.Rules = landRules("land", "ro-land")
		p.Spec.Rollout.Paused = true
	})
	rev2 := xinfang.Revision(&policy.Spec).Revision
	expectPaused(t, policy)
	g.Eventually(func(g Gomega) { g.Expect(routeTarget(g, "ro-city")).To(Equal("ro-land")) }).WithTimeout(20 * time.Second).Should(Succeed())
	g.Consistently(func(g Gomega) {
		st, stage := rolloutOf(g, policy)
		g.Expect(st.Phase).To(Equal(v1alpha1.RolloutPaused))
		g.Expect(st.Revision).To(Equal(rev2))
		g.Expect(stage).To(BeEquivalentTo(0))
		for _, o := range []string{"ro-county-a", "ro-town-a", "ro-county-b", "ro-town-b", "ro-land"} {
			g.Expect(routeTarget(g, o)).To(Equal("ro-city"), o)
		}
	}).WithTimeout(4 * time.Second).WithPolling(500 * time.Millisecond).Should(Succeed())

	// Resumed, it moves stage by stage: no office gets the new rules
	// before its stage is reached.
	update(t, policy, func(p *v1alpha1.RoutingPolicy) { p.Spec.Rollout.Paused = false })
	switched := map[string]bool{"ro-city": true}
	g.Eventually(func(g Gomega) {
		for _, o := range offices {
			if switched[o.Name] || routeTarget(g, o.Name) != "ro-land" {
				continue
			}
			// Read after the configuration: an upper bound of the stage
			// when the office switched.
			_, stage := rolloutOf(g, policy)
			if stageOf(o) > stage {
				t.Errorf("%s (stage %d) runs the new rules at stage %d", o.Name, stageOf(o), stage)
			}
			switched[o.Name] = true
		}
		g.Expect(switched).To(HaveLen(len(offices)))
		st, stage := rolloutOf(g, policy)
		g.Expect(st.Phase).To(Equal(v1alpha1.RolloutComplete))
		g.Expect(stage).To(BeEquivalentTo(3))
		g.Expect(policy.Status.Stable.Revision).To(Equal(rev2))
	}).WithTimeout(60 * time.Second).WithPolling(100 * time.Millisecond).Should(Succeed())
	expectReady(t, policy)

	// A stage whose tenant never becomes available halts the rollout at its
	// deadline; offices of later stages keep the stable rules.
	update(t, townA, func(o *v1alpha1.Office) { o.Spec.Tenant.Image = "registry.example/desk" + testenv.BrokenImageSuffix })
	expectReady(t, townA)
	update(t, policy, func(p *v1alpha1.RoutingPolicy) {
		p.Spec.Rules = landRules("land", "ro-county-a")
		p.Spec.Rollout.ProgressDeadline = &metav1.Duration{Duration: 6 * time.Second}
	})
	rev3 := xinfang.Revision(&policy.Spec).Revision
	expectNotReady(t, policy, v1alpha1.ReasonProgressDeadlineExceeded, v1alpha1.ConditionStalled)
	st, stage = rolloutOf(g, policy)
	g.Expect(st.Phase).To(Equal(v1alpha1.RolloutHalted))
	g.Expect(st.Revision).To(Equal(rev3))
	g.Expect(stage).To(BeEquivalentTo(1))
	g.Expect(st.WaitingFor).To(Equal([]string{"ro-town-a"}))
	g.Expect(policy.Status.Stable.Revision).To(Equal(rev2))
	g.Expect(condition(g, policy, v1alpha1.ConditionReady).Message).To(ContainSubstring("waiting for ro-town-a"))
	g.Expect(events(g, "ro-land")).To(ContainElement("RolloutHalted"))
	for o, want := range map[string]string{"ro-city": "ro-county-a", "ro-county-a": "ro-county-a", "ro-town-a": "ro-county-a",
		"ro-county-b": "ro-land", "ro-town-b": "ro-land", "ro-land": "ro-land"} {
		g.Expect(routeTarget(g, o)).To(Equal(want), o)
	}

	// An edit supersedes the halted rollout: the new revision starts over
	// from the first stage against the stable one, and halts again at the
	// broken stage.
	update(t, policy, func(p *v1alpha1.RoutingPolicy) { p.Spec.Rules = landRules("land-to-city", "ro-city") })
	rev4 := xinfang.Revision(&policy.Spec).Revision
	g.Eventually(func(g Gomega) {
		g.Expect(events(g, "ro-land")).To(ContainElement("RolloutSuperseded"))
		st, stage := rolloutOf(g, policy)
		g.Expect(st.Revision).To(Equal(rev4))
		g.Expect(st.Phase).To(Equal(v1alpha1.RolloutHalted))
		g.Expect(stage).To(BeEquivalentTo(1))
		g.Expect(policy.Status.Stable.Revision).To(Equal(rev2))
	}).WithTimeout(30 * time.Second).Should(Succeed())
	g.Expect(routeTarget(g, "ro-town-a")).To(Equal("ro-city"))
	g.Expect(routeTarget(g, "ro-town-b")).To(Equal("ro-land"))

	// A halt holds even once the stage is healthy; pausing and resuming
	// tries again, and the rollout completes.
	update(t, townA, func(o *v1alpha1.Office) { o.Spec.Tenant.Image = "" })
	g.Consistently(func(g Gomega) {
		st, _ := rolloutOf(g, policy)
		g.Expect(st.Phase).To(Equal(v1alpha1.RolloutHalted))
	}).WithTimeout(3 * time.Second).Should(Succeed())
	update(t, policy, func(p *v1alpha1.RoutingPolicy) { p.Spec.Rollout.Paused = true })
	expectPaused(t, policy)
	update(t, policy, func(p *v1alpha1.RoutingPolicy) { p.Spec.Rollout.Paused = false })
	expectReady(t, policy)
	st, stage = rolloutOf(g, policy)
	g.Expect(st.Phase).To(Equal(v1alpha1.RolloutComplete))
	g.Expect(policy.Status.Stable.Revision).To(Equal(rev4))
	g.Expect(stage).To(BeEquivalentTo(3))
	for _, o := range offices {
		g.Expect(routeTarget(g, o.Name)).To(Equal("ro-city"), o.Name)
	}
	g.Expect(events(g, "ro-land")).To(ContainElements("RolloutPaused", "RolloutResumed"))
}

// expectPaused waits until the policy is not Ready because its rollout is
// paused, and neither Reconciling nor Stalled.
func expectPaused(t *testing.T, p *v1alpha1.RoutingPolicy) {
	t.Helper()
	NewWithT(t).Eventually(func(g Gomega) {
		ready := condition(g, p, v1alpha1.ConditionReady)
		g.Expect(ready).NotTo(BeNil())
		g.Expect(ready.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(ready.Reason).To(Equal(v1alpha1.ReasonRolloutPaused))
		g.Expect(ready.ObservedGeneration).To(Equal(p.Generation))
		g.Expect(condition(g, p, v1alpha1.ConditionReconciling)).To(BeNil())
		g.Expect(condition(g, p, v1alpha1.ConditionStalled)).To(BeNil())
	}).WithTimeout(20 * time.Second).Should(Succeed())
}
