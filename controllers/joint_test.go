package controllers_test

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"

	"github.com/xinfang/petition-operator/api/v1alpha1"
)

// TestJointReceptionFollowsItsStationedDepartments: a centre that stations
// a department not yet applied waits for it (StationedMissing), then lists
// it with its windows in its configuration; a change of the department's
// windows reaches the centre, and a village's townships list their villages
// by name.
func TestJointReceptionFollowsItsStationedDepartments(t *testing.T) {
	g := NewWithT(t)
	city := office("jr-city", v1alpha1.LevelCity, "")
	city.Spec.JointReception = &v1alpha1.JointReception{Stationed: []v1alpha1.OfficeName{"jr-county-land"}}
	county := office("jr-county", v1alpha1.LevelCounty, "jr-city")
	create(t, city, county)
	expectNotReady(t, city, v1alpha1.ReasonStationedMissing, v1alpha1.ConditionReconciling)
	g.Expect(condition(g, city, v1alpha1.ConditionReady).Message).To(ContainSubstring(`spec.jointReception.stationed[0]: office "jr-county-land" does not exist`))

	land := office("jr-county-land", v1alpha1.LevelDepartment, "jr-county")
	land.Spec.Department = "NaturalResources"
	land.Spec.ReceptionWindows = []v1alpha1.ReceptionWindow{{Name: "mornings", Channels: []v1alpha1.Channel{v1alpha1.ChannelVisit},
		Weekdays: []string{"monday:friday"}, Times: []v1alpha1.TimeRange{{Start: "09:00", End: "12:00"}}}}
	create(t, land)
	expectReady(t, city)
	g.Eventually(func(g Gomega) {
		cfg := compiledConfig(g, "jr-city")
		g.Expect(cfg.JointReception).NotTo(BeNil())
		g.Expect(cfg.JointReception.Stationed).To(HaveLen(1))
		g.Expect(cfg.JointReception.Stationed[0].Office).To(Equal("jr-county-land"))
		g.Expect(cfg.JointReception.Stationed[0].ReceptionWindows[0].Name).To(Equal("mornings"))
	}).WithTimeout(30 * time.Second).Should(Succeed())

	update(t, land, func(o *v1alpha1.Office) { o.Spec.ReceptionWindows[0].Name = "all-day" })
	g.Eventually(func(g Gomega) {
		cfg := compiledConfig(g, "jr-city")
		g.Expect(cfg.JointReception.Stationed[0].ReceptionWindows[0].Name).To(Equal("all-day"))
	}).WithTimeout(30 * time.Second).Should(Succeed())

	// A township lists its villages by name.
	town := office("jr-town", v1alpha1.LevelTownship, "jr-county")
	create(t, town, office("jr-village-b", v1alpha1.LevelVillage, "jr-town"), office("jr-village-a", v1alpha1.LevelVillage, "jr-town"))
	g.Eventually(func(g Gomega) {
		g.Expect(compiledConfig(g, "jr-town").Villages).To(Equal([]string{"jr-village-a", "jr-village-b"}))
	}).WithTimeout(30 * time.Second).Should(Succeed())

	// A village with a parent of the wrong level stalls, and says so.
	stray := office("jr-stray-village", v1alpha1.LevelVillage, "jr-county")
	create(t, stray)
	expectNotReady(t, stray, v1alpha1.ReasonInvalidLevel, v1alpha1.ConditionStalled)
	g.Expect(condition(g, stray, v1alpha1.ConditionReady).Message).To(ContainSubstring("the parent of a Village must be a Township, not a County"))
}
