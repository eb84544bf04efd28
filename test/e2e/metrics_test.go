package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/testenv"
)

// TestMetricsEventsAndLogs runs the manager with its webhooks over a small
// network with one broken office, and reads what an SRE would: the petition_*
// metrics on its endpoint agree with the offices' status, the reconcile
// error is counted by reason, every transition is an event, the log names
// the office, and the tenants pass the restricted Pod Security Standard.
// Its manager reconciles every office of the shared control plane, which
// its metrics count: it runs first, alone, before the parallel tests (the
// others' offices would be counted too).
func TestMetricsEventsAndLogs(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	m := startManager(t, "metrics", testenv.ManagerOptions{LogLevel: "info"})

	create(t,
		office("m-city", v1alpha1.LevelCity, "", nil),
		office("m-county", v1alpha1.LevelCounty, "m-city", nil),
		office("m-town", v1alpha1.LevelTownship, "m-county", nil),
		office("m-land", v1alpha1.LevelDepartment, "m-county", nil),
		&v1alpha1.RoutingPolicy{
			ObjectMeta: metav1.ObjectMeta{Name: "m-townships"},
			Spec: v1alpha1.RoutingPolicySpec{
				OfficeSelector: v1alpha1.OfficeSelector{Levels: []v1alpha1.Level{v1alpha1.LevelTownship}, SubtreeOf: "m-county"},
				Rules: []v1alpha1.RoutingRule{
					{Name: "land", Match: v1alpha1.RouteMatch{Categories: []string{"land"}}, RouteTo: v1alpha1.RouteTarget{Department: "Land"}},
					// No water department anywhere: unresolved.
					{Name: "water", Match: v1alpha1.RouteMatch{Categories: []string{"water"}}, RouteTo: v1alpha1.RouteTarget{Department: "Water"}},
				},
			},
		},
		&v1alpha1.HolidayCalendar{
			ObjectMeta: metav1.ObjectMeta{Name: "m-cn-2026"},
			Spec:       v1alpha1.HolidayCalendarSpec{Holidays: []v1alpha1.Holiday{{Name: "国庆节", From: "2026-10-01", To: "2026-10-07"}}},
		},
	)
	// Broken: its namespace was made by someone else, so the office is
	// Stalled with NamespaceConflict (a bad patch no longer gets past
	// admission).
	create(t, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "office-m-broken"}})
	broken := office("m-broken", v1alpha1.LevelTownship, "m-county", nil)
	create(t, broken)
	// The create came back with the operator's finalizer: the mutating
	// webhook of the process that reconciles it gave it, before any
	// reconcile could.
	g.Expect(broken.Finalizers).To(Equal([]string{v1alpha1.OfficeFinalizer}))

	for _, name := range []string{"m-city", "m-county", "m-town", "m-land"} {
		readyOffice(g, name)
	}
	g.Eventually(func(g Gomega) {
		o := &v1alpha1.Office{}
		g.Expect(k8s.Get(ctx, client.ObjectKey{Name: "m-broken"}, o)).To(Succeed())
		g.Expect(o.Status.Conditions).To(ContainElement(And(
			HaveField("Type", v1alpha1.ConditionStalled), HaveField("Reason", v1alpha1.ReasonNamespaceConflict))))
	}).WithTimeout(30 * time.Second).Should(Succeed())
	policy := &v1alpha1.RoutingPolicy{}
	g.Eventually(func(g Gomega) {
		g.Expect(k8s.Get(ctx, client.ObjectKey{Name: "m-townships"}, policy)).To(Succeed())
		g.Expect(policy.Status.SelectedOffices).To(BeEquivalentTo(2))
		// Both townships route water to no office.
		g.Expect(policy.Status.Unresolved).To(HaveLen(2))
	}).WithTimeout(30 * time.Second).Should(Succeed())

	// The gauges agree with status, office by office.
	var offices v1alpha1.OfficeList
	g.Expect(k8s.List(ctx, &offices)).To(Succeed())
	type officeKey struct{ level, ready, reason string }
	want := map[officeKey]float64{}
	wantRules, wantUnresolved := map[string]float64{}, map[string]float64{}
	for _, o := range offices.Items {
		if !strings.HasPrefix(o.Name, "m-") {
			continue
		}
		for _, c := range o.Status.Conditions {
			if c.Type == v1alpha1.ConditionReady {
				want[officeKey{string(o.Spec.Level), strings.ToLower(string(c.Status)), c.Reason}]++
			}
		}
		if r := o.Status.Routing; r != nil {
			wantRules[string(o.Spec.Level)] += float64(r.Rules)
			wantUnresolved[string(o.Spec.Level)] += float64(r.Unresolved)
		}
	}
	g.Expect(want).To(HaveKeyWithValue(officeKey{"Township", "false", v1alpha1.ReasonNamespaceConflict}, 1.0))
	g.Expect(wantUnresolved).To(HaveKeyWithValue("Township", 2.0), "the townships route water to no office")
	// Other tests' offices may be there too (not of this prefix): the
	// gauges are at least this network's.
	g.Eventually(func(g Gomega) {
		families, err := m.Scrape()
		g.Expect(err).NotTo(HaveOccurred())
		for k, n := range want {
			g.Expect(testenv.Sum(families, "petition_offices", map[string]string{"level": k.level, "ready": k.ready, "reason": k.reason})).
				To(BeNumerically(">=", n), "petition_offices%v", k)
		}
		for level, n := range wantRules {
			g.Expect(testenv.Sum(families, "petition_office_routing_rules", map[string]string{"level": level})).
				To(BeNumerically(">=", n), "petition_office_routing_rules{level=%q}", level)
		}
		g.Expect(testenv.Sum(families, "petition_routingpolicy_rules", map[string]string{"policy": "m-townships"})).To(Equal(2.0))
		g.Expect(testenv.Sum(families, "petition_routingpolicy_offices", map[string]string{"policy": "m-townships", "state": "selected"})).
			To(Equal(float64(policy.Status.SelectedOffices)))
		g.Expect(testenv.Sum(families, "petition_routingpolicy_unresolved_routes", map[string]string{"policy": "m-townships"})).To(Equal(2.0))
		g.Expect(testenv.Sum(families, "petition_tenants", map[string]string{"level": "City", "available": "false"})).
			To(BeNumerically(">=", 1), "no kubelet here: no tenant has a ready replica")
		g.Expect(testenv.Sum(families, "petition_reconcile_errors_total", map[string]string{"controller": "office", "reason": v1alpha1.ReasonNamespaceConflict})).
			To(BeNumerically(">=", 1))
		g.Expect(testenv.Sum(families, "petition_metrics_scrape_error", nil)).To(Equal(0.0))
		// 2027-01-01T00:00:00Z: the first date after the calendar's year.
		g.Expect(testenv.Sum(families, "petition_holiday_calendar_coverage_end_timestamp_seconds", map[string]string{"calendar": "m-cn-2026"})).
			To(Equal(1798761600.0))
		g.Expect(testenv.Sum(families, "controller_runtime_reconcile_total", map[string]string{"controller": "office"})).To(BeNumerically(">", 0))
		// The self-signed certificate of a local run is good for a year.
		g.Expect(testenv.Sum(families, "petition_webhook_certificate_expiry_timestamp_seconds", nil)).
			To(BeNumerically(">", float64(time.Now().Add(300*24*time.Hour).Unix())))
		// What the docs, the chart's dashboard and its alerts name is on the endpoint.
		for _, name := range documentedMetrics(t) {
			g.Expect(families).To(HaveKey(name), "docs/observability.md, the Grafana dashboard or the alerts name %s", name)
		}
	}).WithTimeout(30 * time.Second).WithPolling(time.Second).Should(Succeed())

	// Each transition of Ready is an event on the office.
	var events eventsv1.EventList
	g.Eventually(func(g Gomega) {
		g.Expect(k8s.List(ctx, &events)).To(Succeed())
		reasons := map[string][]string{}
		for _, e := range events.Items {
			reasons[e.Regarding.Name] = append(reasons[e.Regarding.Name], e.Reason)
		}
		g.Expect(reasons["m-city"]).To(ContainElement(v1alpha1.ReasonReconciled))
		g.Expect(reasons["m-broken"]).To(ContainElement(v1alpha1.ReasonNamespaceConflict))
	}).WithTimeout(30 * time.Second).Should(Succeed())

	// The log is JSON, with the office's name as a key.
	log, err := os.ReadFile(filepath.Join(workDir, "metrics", "manager.log"))
	g.Expect(err).NotTo(HaveOccurred())
	var sawOffice bool
	for line := range strings.Lines(string(log)) {
		var entry map[string]any
		if json.Unmarshal([]byte(line), &entry) != nil {
			continue
		}
		if entry["office"] == "m-broken" && entry["reason"] == v1alpha1.ReasonNamespaceConflict {
			sawOffice = true
		}
	}
	g.Expect(sawOffice).To(BeTrue(), "no JSON log line with office=m-broken and reason=NamespaceConflict")

	// The tenants' pods pass the restricted Pod Security Standard, which
	// their namespaces enforce: a pod of the tenant Deployment's template is
	// admitted, one that adds a capability is not.
	for _, name := range []string{"m-city", "m-town", "m-land"} {
		ns := "office-" + name
		g.Expect(namespace(g, ns).Labels).To(HaveKeyWithValue("pod-security.kubernetes.io/enforce", "restricted"))
		var deploy appsv1.Deployment
		g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "desk"}, &deploy)).To(Succeed())
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "desk-admission-probe", Labels: deploy.Spec.Template.Labels},
			Spec:       deploy.Spec.Template.Spec,
		}
		g.Expect(k8s.Create(ctx, pod.DeepCopy(), client.DryRunAll)).To(Succeed(), "the desk pod of %s", name)
		loose := pod.DeepCopy()
		loose.Spec.Containers[0].SecurityContext.Capabilities.Add = []corev1.Capability{"NET_ADMIN"}
		err := k8s.Create(ctx, loose, client.DryRunAll)
		g.Expect(err).To(MatchError(ContainSubstring("violates PodSecurity \"restricted")), "a pod adding NET_ADMIN in %s", ns)
	}
}

// documentedMetrics returns the petition_* metric names that
// docs/observability.md, the chart's Grafana dashboard and its alerts use,
// but for the case registries' (petition_registry_*).
func documentedMetrics(t *testing.T) []string {
	t.Helper()
	name := regexp.MustCompile(`\bpetition_[a-z_]+\b`)
	var out []string
	for _, path := range []string{"docs/observability.md", "charts/petition-operator/files/dashboards/petition-operator.json",
		"charts/petition-operator/files/prometheus-rules.yaml"} {
		data, err := os.ReadFile(filepath.Join(env.Root, path))
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range name.FindAllString(string(data), -1) {
			// The case registries' own, on their endpoints (cmd/registry).
			if strings.HasPrefix(n, "petition_registry_") {
				continue
			}
			if !slices.Contains(out, n) {
				out = append(out, n)
			}
		}
	}
	if len(out) < 9 {
		t.Fatalf("only %d petition_* metrics named in the docs and the dashboard: %v", len(out), out)
	}
	return out
}
