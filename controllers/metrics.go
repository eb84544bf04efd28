package controllers

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/xinfang"
)

// The operator's metrics, beside controller-runtime's (reconciles, work
// queues, REST client, leader election). docs/observability.md lists them;
// the chart's Grafana dashboard plots them.
var (
	officesDesc = prometheus.NewDesc("petition_offices",
		"Offices by level and by the status and reason of their Ready condition (ready is unknown before the first reconcile).",
		[]string{"level", "ready", "reason"}, nil)
	officeRulesDesc = prometheus.NewDesc("petition_office_routing_rules",
		"Compiled routing rules, summed over the offices of a level.",
		[]string{"level"}, nil)
	officeUnresolvedDesc = prometheus.NewDesc("petition_office_unresolved_routes",
		"Route targets that resolve to no office, summed over the offices of a level.",
		[]string{"level"}, nil)
	tenantsDesc = prometheus.NewDesc("petition_tenants",
		"Offices whose tenant stack is applied, by level and by whether the tenant Deployment has a ready replica.",
		[]string{"level", "available"}, nil)
	policyRulesDesc = prometheus.NewDesc("petition_routingpolicy_rules",
		"Rules in a RoutingPolicy's spec.",
		[]string{"policy"}, nil)
	policyOfficesDesc = prometheus.NewDesc("petition_routingpolicy_offices",
		"Offices a RoutingPolicy selects (state=selected) and those already running its current revision (state=updated).",
		[]string{"policy", "state"}, nil)
	policyStageDesc = prometheus.NewDesc("petition_routingpolicy_rollout_stage",
		"The stage of a RoutingPolicy's staged rollout in progress, from 0; the number of stages once complete, 0 for an Immediate policy.",
		[]string{"policy"}, nil)
	policyPhaseDesc = prometheus.NewDesc("petition_routingpolicy_rollout_phase",
		"1 for the phase a RoutingPolicy's rollout is in (Progressing, Paused, Halted, Complete), 0 for the others.",
		[]string{"policy", "phase"}, nil)
	policyUnresolvedDesc = prometheus.NewDesc("petition_routingpolicy_unresolved_routes",
		"Routes of a RoutingPolicy whose targets resolve to no office, over every office it selects.",
		[]string{"policy"}, nil)
	tenantStageDesc = prometheus.NewDesc("petition_tenantdefaults_rollout_stage",
		"The stage of the default tenant image's staged rollout in progress, from 0; the number of stages once complete, 0 for an Immediate rollout.",
		[]string{"tenantdefaults"}, nil)
	tenantPhaseDesc = prometheus.NewDesc("petition_tenantdefaults_rollout_phase",
		"1 for the phase the default tenant image's rollout is in (Progressing, Paused, Halted, Complete), 0 for the others.",
		[]string{"tenantdefaults", "phase"}, nil)
	tenantOfficesDesc = prometheus.NewDesc("petition_tenantdefaults_rollout_offices",
		"Offices of the stages the default tenant image's rollout has reached that run the default image (state=reached), and those of them already running its image (state=updated).",
		[]string{"tenantdefaults", "state"}, nil)
	calendarCoverageEndDesc = prometheus.NewDesc("petition_holiday_calendar_coverage_end_timestamp_seconds",
		"When a HolidayCalendar's coverage ends: midnight UTC of the first date after the last year it covers; 0 when it covers no year.",
		[]string{"calendar"}, nil)
	scrapeErrorDesc = prometheus.NewDesc("petition_metrics_scrape_error",
		"1 when the operator's cache could not be read for the petition_* gauges of this scrape.",
		nil, nil)

	// reconcileErrors counts reconciles that ended in a problem that needs
	// attention: a Stalled reason, a failed apply, or an error retried with
	// back-off (reason Error).
	reconcileErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "petition_reconcile_errors_total",
		Help: "Reconciles that ended Stalled, with a failed apply, or with an error (reason Error), by controller and reason.",
	}, []string{"controller", "reason"})
)

func init() {
	ctrlmetrics.Registry.MustRegister(reconcileErrors)
}

// reasonError is the reason of reconcile errors that said nothing in status.
const reasonError = "Error"

// countReconcile counts a reconcile of controller that ended with outcome and
// err in petition_reconcile_errors_total when it needs attention.
func countReconcile(controller string, outcome Outcome, err error) {
	switch {
	case err != nil && outcome.Reason != "":
		reconcileErrors.WithLabelValues(controller, outcome.Reason).Inc()
	case err != nil:
		reconcileErrors.WithLabelValues(controller, reasonError).Inc()
	case outcome.Stalled || outcome.Reason == v1alpha1.ReasonApplyFailed:
		reconcileErrors.WithLabelValues(controller, outcome.Reason).Inc()
	}
}

// scrapeTimeout bounds how long a scrape waits for the cache, which blocks
// until it has synced.
const scrapeTimeout = 5 * time.Second

// networkCollector computes the petition_* gauges at scrape time from the
// manager's cache, so they can never drift from what the operator sees. With
// a shard selector it counts only the shard's offices; the RoutingPolicy,
// TenantDefaults and HolidayCalendar gauges are the same in every shard.
type networkCollector struct {
	reader client.Reader
	opts   Options
}

var _ prometheus.Collector = &networkCollector{}

func (c *networkCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{officesDesc, officeRulesDesc, officeUnresolvedDesc, tenantsDesc,
		policyRulesDesc, policyOfficesDesc, policyStageDesc, policyPhaseDesc, policyUnresolvedDesc,
		tenantStageDesc, tenantPhaseDesc, tenantOfficesDesc, calendarCoverageEndDesc, scrapeErrorDesc} {
		ch <- d
	}
}

func (c *networkCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	var offices v1alpha1.OfficeList
	var policies v1alpha1.RoutingPolicyList
	readOnly := client.UnsafeDisableDeepCopy
	if err := c.reader.List(ctx, &offices, readOnly); err != nil {
		c.failed(ch, err)
		return
	}
	if err := c.reader.List(ctx, &policies, readOnly); err != nil {
		c.failed(ch, err)
		return
	}
	var calendars v1alpha1.HolidayCalendarList
	if err := c.reader.List(ctx, &calendars, readOnly); err != nil {
		c.failed(ch, err)
		return
	}
	var defaults v1alpha1.TenantDefaultsList
	if err := c.reader.List(ctx, &defaults, readOnly); err != nil {
		c.failed(ch, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(scrapeErrorDesc, prometheus.GaugeValue, 0)

	type officeKey struct{ level, ready, reason string }
	type tenantKey struct{ level, available string }
	counts := map[officeKey]int{}
	tenants := map[tenantKey]int{}
	rules, unresolved := map[string]int32{}, map[string]int32{}
	for _, level := range v1alpha1.Levels {
		rules[string(level)], unresolved[string(level)] = 0, 0
	}
	for i := range offices.Items {
		o := &offices.Items[i]
		if !c.opts.Owns(o) {
			continue
		}
		level := string(o.Spec.Level)
		key := officeKey{level: level, ready: "unknown"}
		if cond := apimeta.FindStatusCondition(o.Status.Conditions, v1alpha1.ConditionReady); cond != nil {
			key.ready, key.reason = strings.ToLower(string(cond.Status)), cond.Reason
		}
		counts[key]++
		if r := o.Status.Routing; r != nil {
			rules[level] += r.Rules
			unresolved[level] += r.Unresolved
		}
		if t := o.Status.Tenant; t != nil {
			tenants[tenantKey{level, strconv.FormatBool(t.ReadyReplicas > 0)}]++
		}
	}
	for k, n := range counts {
		ch <- prometheus.MustNewConstMetric(officesDesc, prometheus.GaugeValue, float64(n), k.level, k.ready, k.reason)
	}
	for level, n := range rules {
		ch <- prometheus.MustNewConstMetric(officeRulesDesc, prometheus.GaugeValue, float64(n), level)
		ch <- prometheus.MustNewConstMetric(officeUnresolvedDesc, prometheus.GaugeValue, float64(unresolved[level]), level)
	}
	for k, n := range tenants {
		ch <- prometheus.MustNewConstMetric(tenantsDesc, prometheus.GaugeValue, float64(n), k.level, k.available)
	}
	for i := range policies.Items {
		p := &policies.Items[i]
		ch <- prometheus.MustNewConstMetric(policyRulesDesc, prometheus.GaugeValue, float64(len(p.Spec.Rules)), p.Name)
		ch <- prometheus.MustNewConstMetric(policyOfficesDesc, prometheus.GaugeValue, float64(p.Status.SelectedOffices), p.Name, "selected")
		ch <- prometheus.MustNewConstMetric(policyOfficesDesc, prometheus.GaugeValue, float64(p.Status.UpdatedOffices), p.Name, "updated")
		ch <- prometheus.MustNewConstMetric(policyStageDesc, prometheus.GaugeValue, float64(p.Status.Stage), p.Name)
		collectPhases(ch, policyPhaseDesc, p.Status.Rollout, p.Name)
		ch <- prometheus.MustNewConstMetric(policyUnresolvedDesc, prometheus.GaugeValue, float64(p.Status.UnresolvedRoutes), p.Name)
	}
	for i := range defaults.Items {
		td := &defaults.Items[i]
		var reached, updated int32
		if r := td.Status.Rollout; r != nil {
			reached, updated = r.Offices, r.Updated
		}
		ch <- prometheus.MustNewConstMetric(tenantStageDesc, prometheus.GaugeValue, float64(td.Status.Stage), td.Name)
		collectPhases(ch, tenantPhaseDesc, td.Status.Rollout, td.Name)
		ch <- prometheus.MustNewConstMetric(tenantOfficesDesc, prometheus.GaugeValue, float64(reached), td.Name, "reached")
		ch <- prometheus.MustNewConstMetric(tenantOfficesDesc, prometheus.GaugeValue, float64(updated), td.Name, "updated")
	}
	for i := range calendars.Items {
		hc := &calendars.Items[i]
		// An invalid calendar covers nothing it can be trusted with: its
		// InvalidDate condition says so, and it has no gauge.
		cal, err := xinfang.NewCalendar(&hc.Spec)
		if err != nil {
			continue
		}
		end := 0.0
		if _, to, ok := cal.Coverage(); ok {
			end = float64(to.AddDate(0, 0, 1).Unix())
		}
		ch <- prometheus.MustNewConstMetric(calendarCoverageEndDesc, prometheus.GaugeValue, end, hc.Name)
	}
}

// rolloutPhases are the values of the phase label of the rollout gauges.
var rolloutPhases = []v1alpha1.RolloutPhase{v1alpha1.RolloutProgressing, v1alpha1.RolloutPaused, v1alpha1.RolloutHalted, v1alpha1.RolloutComplete}

// collectPhases sends desc for the object name with every phase: 1 for the
// phase of its rollout, 0 for the others (all 0 before its first rollout).
func collectPhases(ch chan<- prometheus.Metric, desc *prometheus.Desc, rollout *v1alpha1.RolloutStatus, name string) {
	for _, phase := range rolloutPhases {
		v := 0.0
		if rollout != nil && rollout.Phase == phase {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, v, name, string(phase))
	}
}

func (c *networkCollector) failed(ch chan<- prometheus.Metric, err error) {
	ctrl.Log.WithName("metrics").Error(err, "reading the cache for the petition_* gauges")
	ch <- prometheus.MustNewConstMetric(scrapeErrorDesc, prometheus.GaugeValue, 1)
}

// collector is the networkCollector registered with controller-runtime's
// registry. A process runs one manager, but tests start several in turn: the
// latest one's replaces the one before.
var collector struct {
	sync.Mutex
	current *networkCollector
}

// registerCollector registers the gauges of the manager whose cache reader
// reads.
func registerCollector(reader client.Reader, opts Options) error {
	collector.Lock()
	defer collector.Unlock()
	if collector.current != nil {
		ctrlmetrics.Registry.Unregister(collector.current)
	}
	collector.current = &networkCollector{reader: reader, opts: opts}
	return ctrlmetrics.Registry.Register(collector.current)
}
