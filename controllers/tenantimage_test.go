package controllers_test

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/testenv"
)

// deskImage returns the image of the office's desk Deployment.
func deskImage(g Gomega, office string) string {
	d := &appsv1.Deployment{}
	g.Expect(k8s.Get(ctx, key("office-"+office, "desk"), d)).To(Succeed())
	return d.Spec.Template.Spec.Containers[0].Image
}

// expectRolloutGauges waits until the TenantDefaults rollout gauges read
// what td's status says once its rollout is in phase: its stage, 1 for the
// phase and 0 for the others, and the offices reached and updated.
func expectRolloutGauges(g Gomega, td *v1alpha1.TenantDefaults, phase v1alpha1.RolloutPhase, stage int32) {
	name := map[string]string{"tenantdefaults": td.Name}
	with := func(k, v string) map[string]string { return map[string]string{"tenantdefaults": td.Name, k: v} }
	g.Eventually(func(g Gomega) {
		g.Expect(k8s.Get(ctx, key("", td.Name), td)).To(Succeed())
		g.Expect(td.Status.Rollout).NotTo(BeNil())
		g.Expect(td.Status.Rollout.Phase).To(Equal(phase))
		g.Expect(td.Status.Stage).To(Equal(stage))
		v, ok := metricValue(g, "petition_tenantdefaults_rollout_stage", name)
		g.Expect(ok).To(BeTrue(), "no petition_tenantdefaults_rollout_stage{tenantdefaults=%q}", td.Name)
		g.Expect(v).To(Equal(float64(stage)))
		for _, p := range []v1alpha1.RolloutPhase{v1alpha1.RolloutProgressing, v1alpha1.RolloutPaused, v1alpha1.RolloutHalted, v1alpha1.RolloutComplete} {
			want := 0.0
			if p == phase {
				want = 1
			}
			v, ok := metricValue(g, "petition_tenantdefaults_rollout_phase", with("phase", string(p)))
			g.Expect(ok).To(BeTrue(), "no petition_tenantdefaults_rollout_phase{phase=%q}", p)
			g.Expect(v).To(Equal(want), "petition_tenantdefaults_rollout_phase{phase=%q}", p)
		}
		for state, want := range map[string]int32{"reached": td.Status.Rollout.Offices, "updated": td.Status.Rollout.Updated} {
			v, ok := metricValue(g, "petition_tenantdefaults_rollout_offices", with("state", state))
			g.Expect(ok).To(BeTrue(), "no petition_tenantdefaults_rollout_offices{state=%q}", state)
			g.Expect(v).To(Equal(float64(want)), "petition_tenantdefaults_rollout_offices{state=%q}", state)
		}
	}).WithTimeout(20 * time.Second).Should(Succeed())
}

// TestDefaultImageRollsOutInStages changes the default tenant image in the
// TenantDefaults, which the operator created: it moves stage by stage, can
// be paused, and leaves alone an office that names its own image.
func TestDefaultImageRollsOutInStages(t *testing.T) {
	g := NewWithT(t)
	td := &v1alpha1.TenantDefaults{}
	g.Eventually(func() error { return k8s.Get(ctx, key("", v1alpha1.DefaultTenantDefaults), td) }).WithTimeout(20 * time.Second).Should(Succeed())
	// Created empty, owning no field; the API server defaulted its rollout
	// level by level.
	g.Expect(td.Spec.Image).To(BeEmpty())
	g.Expect(td.Spec.Rollout).NotTo(BeNil())
	for _, m := range td.ManagedFields {
		if m.Subresource == "" { // status is the operator's
			g.Expect(m.FieldsV1.GetRawString()).NotTo(ContainSubstring("rollout"), "manager %s owns spec.rollout", m.Manager)
		}
	}
	g.Expect(td.Spec.Rollout.Strategy).To(Equal(v1alpha1.RolloutStaged))
	g.Expect(td.Spec.Rollout.Stages).To(HaveLen(4))
	expectReady(t, td)
	g.Expect(td.Status.Image).To(Equal(testImage))
	g.Expect(td.Status.StableImage).To(Equal(testImage))

	city := office("ti-city", v1alpha1.LevelCity, "")
	county := office("ti-county", v1alpha1.LevelCounty, "ti-city")
	town := office("ti-town", v1alpha1.LevelTownship, "ti-county")
	own := office("ti-own", v1alpha1.LevelTownship, "ti-county")
	own.Spec.Tenant.Image = "registry.example/own-desk:v7"
	create(t, city, county, town, own)
	for _, o := range []*v1alpha1.Office{city, county, town, own} {
		expectReady(t, o)
	}
	g.Expect(deskImage(g, "ti-town")).To(Equal(testImage))
	g.Expect(town.Status.Tenant.Image).To(Equal(testImage))

	// Other tests' offices are in no stage: they follow the last one.
	const v2 = "registry.example/desk:v2"
	update(t, td, func(td *v1alpha1.TenantDefaults) {
		td.Spec.Image = v2
		td.Spec.Rollout = &v1alpha1.Rollout{Strategy: v1alpha1.RolloutStaged, Paused: true, Stages: []v1alpha1.RolloutStage{
			{Levels: []v1alpha1.Level{v1alpha1.LevelCity}, SubtreeOf: "ti-city"},
			{Levels: []v1alpha1.Level{v1alpha1.LevelCounty}, SubtreeOf: "ti-city"},
			{SubtreeOf: "ti-city"},
		}}
	})
	g.Eventually(func(g Gomega) { g.Expect(deskImage(g, "ti-city")).To(Equal(v2)) }).WithTimeout(20 * time.Second).Should(Succeed())
	g.Consistently(func(g Gomega) {
		g.Expect(k8s.Get(ctx, key("", td.Name), td)).To(Succeed())
		g.Expect(td.Status.Rollout.Phase).To(Equal(v1alpha1.RolloutPaused))
		g.Expect(td.Status.Stage).To(BeEquivalentTo(0))
		g.Expect(td.Status.StageProgress).To(Equal("1/3"))
		g.Expect(deskImage(g, "ti-county")).To(Equal(testImage))
		g.Expect(deskImage(g, "ti-town")).To(Equal(testImage))
	}).WithTimeout(3 * time.Second).WithPolling(500 * time.Millisecond).Should(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(k8s.Get(ctx, key("", td.Name), td)).To(Succeed())
		g.Expect(td.Status.Rollout.Offices).To(BeEquivalentTo(1), "the first stage is ti-city")
		g.Expect(td.Status.Rollout.Updated).To(BeEquivalentTo(1))
	}).WithTimeout(20 * time.Second).Should(Succeed())
	expectRolloutGauges(g, td, v1alpha1.RolloutPaused, 0)

	update(t, td, func(td *v1alpha1.TenantDefaults) { td.Spec.Rollout.Paused = false })
	g.Eventually(func(g Gomega) {
		g.Expect(k8s.Get(ctx, key("", td.Name), td)).To(Succeed())
		g.Expect(td.Status.Rollout.Phase).To(Equal(v1alpha1.RolloutComplete), "%+v", td.Status.Rollout)
	}).WithTimeout(120 * time.Second).Should(Succeed())
	expectReady(t, td)
	expectRolloutGauges(g, td, v1alpha1.RolloutComplete, 3)
	g.Expect(td.Status.StableImage).To(Equal(v2))
	g.Expect(td.Status.Stage).To(BeEquivalentTo(3))
	g.Expect(td.Status.StageProgress).To(Equal("3/3"))
	g.Eventually(func(g Gomega) {
		g.Expect(deskImage(g, "ti-county")).To(Equal(v2))
		g.Expect(deskImage(g, "ti-town")).To(Equal(v2))
	}).WithTimeout(20 * time.Second).Should(Succeed())
	g.Expect(deskImage(g, "ti-own")).To(Equal("registry.example/own-desk:v7"))
	g.Expect(events(g, td.Name)).To(ContainElements("RolloutStarted", "RolloutPaused", "RolloutResumed", "StageCompleted", "RolloutComplete"))

	// An image whose tenants never become available halts the rollout at
	// its first stage's deadline, which the phase gauge says for the alert
	// PetitionTenantDefaultsRolloutHalted.
	update(t, td, func(td *v1alpha1.TenantDefaults) {
		td.Spec.Image = "registry.example/desk" + testenv.BrokenImageSuffix
		td.Spec.Rollout.ProgressDeadline = &metav1.Duration{Duration: 6 * time.Second}
	})
	expectNotReady(t, td, v1alpha1.ReasonProgressDeadlineExceeded, v1alpha1.ConditionStalled)
	expectRolloutGauges(g, td, v1alpha1.RolloutHalted, 0)
	g.Expect(td.Status.StableImage).To(Equal(v2))

	// Back to --tenant-image at once.
	update(t, td, func(td *v1alpha1.TenantDefaults) {
		td.Spec.Image = ""
		td.Spec.Rollout = &v1alpha1.Rollout{Strategy: v1alpha1.RolloutImmediate}
	})
	expectReady(t, td)
	g.Eventually(func(g Gomega) { g.Expect(deskImage(g, "ti-town")).To(Equal(testImage)) }).WithTimeout(20 * time.Second).Should(Succeed())
	g.Expect(td.Status.StableImage).To(Equal(testImage))
}
