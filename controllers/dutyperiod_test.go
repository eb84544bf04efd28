package controllers_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/xinfang"
)

// shanghaiDate returns the date days after today in Asia/Shanghai.
func shanghaiDate(days int) time.Time {
	loc, _ := time.LoadLocation("Asia/Shanghai")
	y, m, d := clock.Now().In(loc).Date()
	return time.Date(y, m, d+days, 0, 0, 0, 0, loc)
}

func date(t time.Time) v1alpha1.Date { return v1alpha1.Date(t.Format(time.DateOnly)) }

// dutyPeriod is a period of the counties under city from..to, Visit and
// Phone around the clock, two on duty with a leader, a zero report by
// 16:00. (Every test's offices share the API server: a period selects those
// of its own test only.)
func dutyPeriod(name, city string, from, to time.Time) *v1alpha1.DutyPeriod {
	return &v1alpha1.DutyPeriod{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1alpha1.DutyPeriodSpec{DutyArrangement: v1alpha1.DutyArrangement{
			DisplayName:    "两会期间信访值班",
			OfficeSelector: v1alpha1.OfficeSelector{Levels: []v1alpha1.Level{v1alpha1.LevelCounty}, SubtreeOf: v1alpha1.OfficeName(city)},
			DateRanges:     []v1alpha1.DateRange{{From: date(from), To: date(to)}},
			Channels:       []v1alpha1.Channel{v1alpha1.ChannelVisit, v1alpha1.ChannelPhone},
			Times:          []v1alpha1.TimeRange{{Start: "00:00", End: "24:00"}},
			Staffing:       &v1alpha1.DutyStaffing{MinOnDuty: 2, LeaderOnDuty: true},
			DailyReport:    &v1alpha1.DailyReport{By: "16:00"},
		}}}
}

// table reads the named object as kubectl get prints it: the columns and
// the cells of its row.
func table(t *testing.T, resource, name string) map[string]any {
	t.Helper()
	hc, err := rest.HTTPClientFor(restConfig)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, strings.TrimSuffix(restConfig.Host, "/")+"/apis/petition.xinfang.io/v1alpha1/"+resource+"/"+name, nil)
	req.Header.Set("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(resp.Body)
	var tab metav1.Table
	if err := json.Unmarshal(body, &tab); err != nil || len(tab.Rows) != 1 {
		t.Fatalf("table of %s/%s (%s): %v\n%s", resource, name, req.URL, err, body)
	}
	out := map[string]any{}
	for i, c := range tab.ColumnDefinitions {
		out[c.Name] = tab.Rows[0].Cells[i]
	}
	return out
}

// TestDutyPeriodReachesTheSelectedOffices: a staged period reaches both
// counties, stage by stage, and no other office; their status, their desks'
// configuration and petitionctl's view of the cluster agree on it; deleting
// it gives the counties back their configuration of before.
func TestDutyPeriodReachesTheSelectedOffices(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	city := office("dp-city", v1alpha1.LevelCity, "")
	countyA := office("dp-county-a", v1alpha1.LevelCounty, "dp-city")
	countyB := office("dp-county-b", v1alpha1.LevelCounty, "dp-city")
	town := office("dp-town", v1alpha1.LevelTownship, "dp-county-a")
	all := []*v1alpha1.Office{city, countyA, countyB, town}
	for _, o := range all {
		o.Spec.ReceptionWindows = []v1alpha1.ReceptionWindow{{Name: "weekday-visits", Channels: []v1alpha1.Channel{"Visit"},
			Weekdays: []string{"monday:friday"}, Times: []v1alpha1.TimeRange{{Start: "08:30", End: "12:00"}}}}
	}
	create(t, city, countyA, countyB, town)
	for _, o := range all {
		expectReady(t, o)
	}
	versions, hashes := map[string]string{}, map[string]string{}
	for _, o := range all {
		versions[o.Name] = configMapVersion(g, o.Name)
		g.Expect(k8s.Get(ctx, key("", o.Name), o)).To(Succeed())
		hashes[o.Name] = o.Status.Tenant.ConfigHash
	}

	from, to := shanghaiDate(30), shanghaiDate(39)
	p := dutyPeriod("dp-lianghui", "dp-city", from, to)
	p.Spec.Rollout = v1alpha1.Rollout{Strategy: v1alpha1.RolloutStaged,
		Stages: []v1alpha1.RolloutStage{{SubtreeOf: "dp-county-a"}, {Percent: ptr.To[int32](100)}}}
	create(t, p)
	revision := xinfang.DutyRevision(&p.Spec.DutyArrangement).Revision

	expectReady(t, p)
	g.Eventually(func(g Gomega) {
		g.Expect(k8s.Get(ctx, key("", p.Name), p)).To(Succeed())
		g.Expect(p.Status.SelectedOffices).To(BeEquivalentTo(2))
		g.Expect(p.Status.UpdatedOffices).To(BeEquivalentTo(2))
		g.Expect(p.Status.Active).To(Equal(ptr.To(false)))
		g.Expect(p.Status.Rollout).NotTo(BeNil())
		g.Expect(p.Status.Rollout.Phase).To(Equal(v1alpha1.RolloutComplete))
		g.Expect(p.Status.Stage).To(BeEquivalentTo(2))
		g.Expect(p.Status.StageProgress).To(Equal("2/2"))
		g.Expect(p.Status.Stable).NotTo(BeNil())
		g.Expect(p.Status.Stable.Revision).To(Equal(revision))
	}).WithTimeout(30 * time.Second).Should(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(events(g, p.Name)).To(ContainElements("RolloutStarted", "StageStarted", "StageCompleted", "RolloutComplete"))
	}).WithTimeout(10 * time.Second).Should(Succeed())

	for _, o := range []*v1alpha1.Office{countyA, countyB} {
		g.Expect(k8s.Get(ctx, key("", o.Name), o)).To(Succeed())
		g.Expect(o.Status.DutyPeriods).To(Equal([]v1alpha1.PolicyRevision{{Name: "dp-lianghui", Revision: revision}}))
		cfg := compiledConfig(g, o.Name)
		g.Expect(cfg.Duty).NotTo(BeNil())
		g.Expect(cfg.Duty.Periods).To(HaveLen(1))
		d := cfg.Duty.Periods[0]
		g.Expect(d.Name).To(Equal("dp-lianghui"))
		g.Expect(d.DisplayName).To(Equal("两会期间信访值班"))
		g.Expect(d.Window.Kind).To(Equal(v1alpha1.WindowExtendedDuty))
		g.Expect(d.Window.ClosedOnHolidays).To(BeFalse())
		g.Expect(d.Staffing).To(Equal(&v1alpha1.DutyStaffing{MinOnDuty: 2, LeaderOnDuty: true}))
		g.Expect(d.DailyReport).To(Equal(&v1alpha1.DailyReport{By: "16:00"}))
		g.Expect(o.Status.Tenant.ConfigHash).NotTo(Equal(hashes[o.Name]))
	}
	// The City and the township were not touched.
	for _, o := range []*v1alpha1.Office{city, town} {
		g.Expect(configMapVersion(g, o.Name)).To(Equal(versions[o.Name]), o.Name)
		g.Expect(compiledConfig(g, o.Name).Duty).To(BeNil())
	}

	// The desk's answers, from its ConfigMap, are petitionctl's from the
	// cluster; at 03:00 on the period's first date the counties are open
	// for visits, in the period.
	snapshot := clusterSnapshot(g)
	first := from.Add(3 * time.Hour)
	instants := []time.Time{from.Add(-time.Minute), from, first, to.Add(24*time.Hour - time.Second), to.Add(24 * time.Hour)}
	for _, o := range all {
		desk := compiledConfig(g, o.Name)
		cli, err := snapshot.OfficeConfig(o.Name)
		g.Expect(err).NotTo(HaveOccurred())
		for _, at := range instants {
			for _, ch := range []v1alpha1.Channel{"Visit", "Phone"} {
				fromDesk, err := desk.Windows(ch, at)
				g.Expect(err).NotTo(HaveOccurred())
				fromCLI, err := cli.Windows(ch, at)
				g.Expect(err).NotTo(HaveOccurred())
				g.Expect(fromCLI).To(Equal(fromDesk), o.Name+" "+string(ch)+" "+at.String())
			}
		}
	}
	county := compiledConfig(g, "dp-county-b")
	ans, err := county.Windows("Visit", first)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(ans.Open).To(BeTrue())
	g.Expect(ans.Window).To(Equal("dp-lianghui"))
	ans, _ = county.Windows("Phone", from.Add(-time.Minute))
	g.Expect(ans).To(Equal(xinfang.WindowAnswer{Open: false, NextOpening: from.Format(time.RFC3339)}))
	townConfig := compiledConfig(g, "dp-town")
	townAns, _ := townConfig.Windows("Phone", first)
	g.Expect(townAns.Open).To(BeFalse())

	// kubectl get duty.
	row := table(t, "dutyperiods", p.Name)
	g.Expect(row).To(HaveKeyWithValue("Display Name", "两会期间信访值班"))
	g.Expect(row).To(HaveKeyWithValue("From", string(date(from))))
	g.Expect(row).To(HaveKeyWithValue("To", string(date(to))))
	g.Expect(row).To(HaveKeyWithValue("Offices", BeEquivalentTo(2)))
	g.Expect(row).To(HaveKeyWithValue("Active", false))
	g.Expect(row).To(HaveKeyWithValue("Ready", "True"))

	// Deleted, the period leaves the counties with the configuration they
	// had before it.
	g.Expect(k8s.Delete(ctx, p)).To(Succeed())
	g.Eventually(func(g Gomega) {
		for _, o := range []*v1alpha1.Office{countyA, countyB} {
			g.Expect(k8s.Get(ctx, key("", o.Name), o)).To(Succeed())
			g.Expect(o.Status.DutyPeriods).To(BeEmpty())
			g.Expect(o.Status.Tenant.ConfigHash).To(Equal(hashes[o.Name]))
			g.Expect(compiledConfig(g, o.Name).Duty).To(BeNil())
		}
	}).WithTimeout(20 * time.Second).Should(Succeed())
}

// TestDutyPeriodActive: status.active says whether today, in the offices'
// zone, lies in the period, and follows an edit of its dates.
func TestDutyPeriodActive(t *testing.T) {
	g := NewWithT(t)
	city := office("da-city", v1alpha1.LevelCity, "")
	county := office("da-county", v1alpha1.LevelCounty, "da-city")
	create(t, city, county)
	expectReady(t, county)

	p := dutyPeriod("da-now", "da-city", shanghaiDate(-1), shanghaiDate(1))
	create(t, p)
	active := func(want bool) {
		t.Helper()
		g.Eventually(func(g Gomega) {
			g.Expect(k8s.Get(ctx, key("", p.Name), p)).To(Succeed())
			g.Expect(p.Status.ObservedGeneration).To(Equal(p.Generation))
			g.Expect(p.Status.SelectedOffices).To(BeEquivalentTo(1))
			g.Expect(p.Status.Active).To(Equal(&want))
		}).WithTimeout(20 * time.Second).Should(Succeed())
	}
	active(true)
	expectReady(t, p)
	g.Expect(condition(g, p, v1alpha1.ConditionReady).Message).To(HaveSuffix("; in force"))
	g.Expect(table(t, "dutyperiods", p.Name)).To(HaveKeyWithValue("Active", true))

	// Moved into the future: not in force any more.
	update(t, p, func(p *v1alpha1.DutyPeriod) {
		p.Spec.DateRanges = []v1alpha1.DateRange{{From: date(shanghaiDate(2)), To: date(shanghaiDate(3))}}
	})
	active(false)
	expectReady(t, p)
	g.Expect(condition(g, p, v1alpha1.ConditionReady).Message).To(HaveSuffix("; not in force"))

	// And back.
	update(t, p, func(p *v1alpha1.DutyPeriod) {
		p.Spec.DateRanges = []v1alpha1.DateRange{{From: date(shanghaiDate(0)), To: date(shanghaiDate(0))}}
	})
	active(true)
}

// TestInvalidDutyPeriodStallsAndChangesNothing: a period the webhook would
// refuse (here admitted without it) is Stalled with the field at fault, and
// no office compiles it.
func TestInvalidDutyPeriodStallsAndChangesNothing(t *testing.T) {
	g := NewWithT(t)
	city := office("di-city", v1alpha1.LevelCity, "")
	county := office("di-county", v1alpha1.LevelCounty, "di-city")
	create(t, city, county)
	expectReady(t, county)
	before := configMapVersion(g, "di-county")

	p := dutyPeriod("di-bad", "di-city", shanghaiDate(10), shanghaiDate(20))
	p.Spec.DateRanges[0].To = "2027-02-30"
	create(t, p)
	expectNotReady(t, p, v1alpha1.ReasonInvalidDutyPeriod, v1alpha1.ConditionStalled)
	g.Expect(condition(g, p, v1alpha1.ConditionReady).Message).To(ContainSubstring(`spec.dateRanges[0].to: Invalid value: "2027-02-30" is not a valid date`))
	g.Consistently(func(g Gomega) {
		g.Expect(configMapVersion(g, "di-county")).To(Equal(before))
		g.Expect(k8s.Get(ctx, key("", "di-county"), county)).To(Succeed())
		g.Expect(county.Status.DutyPeriods).To(BeEmpty())
	}).WithTimeout(3 * time.Second).Should(Succeed())

	// Fixed, it reaches the county.
	update(t, p, func(p *v1alpha1.DutyPeriod) { p.Spec.DateRanges[0].To = date(shanghaiDate(20)) })
	expectReady(t, p)
	g.Eventually(func(g Gomega) {
		g.Expect(compiledConfig(g, "di-county").Duty).NotTo(BeNil())
	}).WithTimeout(20 * time.Second).Should(Succeed())
	g.Expect(k8s.Delete(ctx, p)).To(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(apierrors.IsNotFound(k8s.Get(ctx, key("", p.Name), p))).To(BeTrue())
	}).Should(Succeed())
}
