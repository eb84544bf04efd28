package packaging_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// The operator's alerts, as files/prometheus-rules.yaml has them.
var alertNames = []string{
	"PetitionApplyFailing", "PetitionDesksUnavailable", "PetitionHolidayCalendarCoverageEnding", "PetitionNoLeader",
	"PetitionOfficesStalled", "PetitionOperatorAbsent", "PetitionRegistryAbsent", "PetitionRegistryOutboxAge",
	"PetitionRegistryOverdueRising", "PetitionRegistrySweeperLag", "PetitionRolloutHalted",
	"PetitionTenantDefaultsRolloutHalted", "PetitionUnresolvedRoutes", "PetitionWebhookCertificateExpiring",
	"PetitionWebhookErrors",
}

// runbooks is where every alert's runbook_url points.
const runbooks = "https://github.com/xinfang/petition-operator/blob/main/docs/operations.md#"

// readDoc reads a file of the repository.
func readDoc(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), path))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// anchors returns the anchors GitHub gives the headings of a Markdown
// page: the heading in lower case, spaces as hyphens, other punctuation
// left out, and -1, -2 … after a repeated one.
func anchors(markdown string) map[string]bool {
	out := map[string]bool{}
	seen := map[string]int{}
	fenced := false
	for line := range strings.Lines(markdown) {
		if strings.HasPrefix(line, "```") {
			fenced = !fenced
			continue
		}
		if fenced || !strings.HasPrefix(line, "#") {
			continue
		}
		title := strings.TrimSpace(strings.TrimLeft(line, "#"))
		var b strings.Builder
		for _, r := range strings.ToLower(title) {
			switch {
			case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_':
				b.WriteRune(r)
			case r == ' ':
				b.WriteRune('-')
			}
		}
		a := b.String()
		if n := seen[a]; n > 0 {
			out[fmt.Sprintf("%s-%d", a, n)] = true
		} else {
			out[a] = true
		}
		seen[a]++
	}
	return out
}

func TestAnchors(t *testing.T) {
	got := anchors("# Operations: replicas, shutdown\n## The Lease timings\n```yaml\n# not a heading\n```\n### `webhook.certs`\n## Alerts\n## Alerts\n")
	for _, want := range []string{"operations-replicas-shutdown", "the-lease-timings", "webhookcerts", "alerts", "alerts-1"} {
		if !got[want] {
			t.Errorf("no anchor %s in %v", want, got)
		}
	}
	if got["not-a-heading"] {
		t.Error("a comment in a code block made an anchor")
	}
}

// documentedMetrics returns the metric names docs/observability.md names
// in code spans: the operator's own and controller-runtime's (test/e2e
// checks that the petition_* ones are on the manager's endpoint).
func documentedMetrics(t *testing.T) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	for _, m := range regexp.MustCompile("`([a-z][a-z0-9_]*_[a-z0-9_]+)`").FindAllStringSubmatch(readDoc(t, "docs/observability.md"), -1) {
		names[m[1]] = true
	}
	for _, want := range []string{"petition_offices", "leader_election_master_status", "controller_runtime_reconcile_total"} {
		if !names[want] {
			t.Fatalf("docs/observability.md does not name %s: reading it wrong", want)
		}
	}
	// Prometheus's own series of each target.
	names["up"] = true
	return names
}

// metricNames returns the names of the series a PromQL expression selects,
// and its parse error.
func metricNames(expr string) ([]string, error) {
	e, err := parser.ParseExpr(expr)
	if err != nil {
		return nil, err
	}
	var names []string
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			names = append(names, vs.Name)
		}
		return nil
	})
	return names, nil
}

// checkDocumented fails for a metric an expression of what uses that
// docs/observability.md does not name (a histogram's series by their
// family).
func checkDocumented(t *testing.T, what, expr string, documented map[string]bool) {
	t.Helper()
	names, err := metricNames(expr)
	if err != nil {
		t.Errorf("%s: %q is not PromQL: %v", what, expr, err)
		return
	}
	if len(names) == 0 {
		t.Errorf("%s: %q selects no metric", what, expr)
	}
	for _, n := range names {
		family := n
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if documented[strings.TrimSuffix(n, suffix)] {
				family = strings.TrimSuffix(n, suffix)
			}
		}
		if !documented[family] {
			t.Errorf("%s: %s is not a metric docs/observability.md names (the operator's or controller-runtime's)", what, n)
		}
	}
}

// ruleGroups returns the groups of a rendered PrometheusRule, and their
// YAML as a Prometheus rule file.
func ruleGroups(t *testing.T, r rendering) ([]any, []byte) {
	t.Helper()
	rules := r.find("PrometheusRule", "")
	if len(rules) != 1 {
		t.Fatalf("%s: %d PrometheusRules, want 1", r.name, len(rules))
	}
	if got := rules[0].GetAPIVersion(); got != "monitoring.coreos.com/v1" {
		t.Errorf("%s: PrometheusRule of %s", r.name, got)
	}
	groups, _, err := unstructured.NestedSlice(rules[0].Object, "spec", "groups")
	if err != nil || len(groups) == 0 {
		t.Fatalf("%s: spec.groups %v: %v", r.name, groups, err)
	}
	data, err := yaml.Marshal(map[string]any{"groups": groups})
	if err != nil {
		t.Fatal(err)
	}
	return groups, data
}

// parseRules parses a rule file as promtool check rules does: every
// expression as PromQL, every label and annotation template as a
// Prometheus template, durations and names.
func parseRules(t *testing.T, name string, data []byte) *rulefmt.RuleGroups {
	t.Helper()
	groups, errs := rulefmt.Parse(data, false, model.LegacyValidation)
	for _, err := range errs {
		t.Errorf("%s: %v", name, err)
	}
	if groups == nil {
		t.FailNow()
	}
	return groups
}

// TestChartPrometheusRule renders the alerts with prometheusRule.enabled:
// a monitoring.coreos.com/v1 PrometheusRule that Prometheus would load,
// each alert with a severity and a runbook that exists, on metrics the
// operator exports; none by default; the same rules as config/prometheus.
func TestChartPrometheusRule(t *testing.T) {
	if n := len(renderChart(t).find("PrometheusRule", "")); n != 0 {
		t.Errorf("%d PrometheusRules by default, want none", n)
	}

	r := renderChart(t, "--set", "prometheusRule.enabled=true", "--set", "prometheusRule.labels.release=kube-prometheus-stack")
	obj := r.find("PrometheusRule", "")
	if len(obj) == 1 && (obj[0].GetNamespace() != namespace || obj[0].GetLabels()["release"] != "kube-prometheus-stack" ||
		obj[0].GetLabels()["app.kubernetes.io/instance"] != release) {
		t.Errorf("PrometheusRule %s/%s labels %v: want it in %s with the release's labels and release=kube-prometheus-stack",
			obj[0].GetNamespace(), obj[0].GetName(), obj[0].GetLabels(), namespace)
	}
	groups, data := ruleGroups(t, r)
	parsed := parseRules(t, r.name, data)

	operations := anchors(readDoc(t, "docs/operations.md"))
	documented := documentedMetrics(t)
	severities := map[string][]string{}
	for _, g := range parsed.Groups {
		for _, rule := range g.Rules {
			if rule.Alert == "" {
				t.Errorf("group %s: a rule %q that is no alert", g.Name, rule.Record)
				continue
			}
			what := "alert " + rule.Alert
			sev := rule.Labels["severity"]
			if !slices.Contains([]string{"critical", "warning", "info"}, sev) {
				t.Errorf("%s: severity %q, want critical, warning or info", what, sev)
			}
			severities[rule.Alert] = append(severities[rule.Alert], sev)
			url := rule.Annotations["runbook_url"]
			if anchor, ok := strings.CutPrefix(url, runbooks); !ok || !operations[anchor] {
				t.Errorf("%s: runbook_url %q: want %s<anchor of a heading of docs/operations.md>", what, url, runbooks)
			} else if anchor != strings.ToLower(rule.Alert) {
				t.Errorf("%s: runbook_url %q: want the runbook of this alert, #%s", what, url, strings.ToLower(rule.Alert))
			}
			if rule.Annotations["summary"] == "" || rule.Annotations["description"] == "" {
				t.Errorf("%s: want a summary and a description", what)
			}
			checkDocumented(t, what, rule.Expr, documented)
		}
	}
	names := make([]string, 0, len(severities))
	for n := range severities {
		names = append(names, n)
	}
	slices.Sort(names)
	if !slices.Equal(names, alertNames) {
		t.Errorf("alerts %v, want %v", names, alertNames)
	}

	// docs/observability.md lists every alert with its severities.
	listed := map[string]string{}
	for _, m := range regexp.MustCompile("(?m)^\\| \\[`(Petition[A-Za-z]+)`\\]\\(operations\\.md#([a-z]+)\\) \\| ([a-z, ]+) \\|").
		FindAllStringSubmatch(readDoc(t, "docs/observability.md"), -1) {
		listed[m[1]] = m[3]
		if !operations[m[2]] {
			t.Errorf("docs/observability.md links %s to operations.md#%s, which is no heading", m[1], m[2])
		}
	}
	for n, sevs := range severities {
		if want := strings.Join(sevs, ", "); listed[n] != want {
			t.Errorf("docs/observability.md lists %s with severity %q, want %q", n, listed[n], want)
		}
	}

	// The chart's file renders as it is, and config/prometheus holds the
	// same rules.
	var file map[string]any
	if err := yaml.Unmarshal(chartFile(t, "files/prometheus-rules.yaml"), &file); err != nil {
		t.Fatal(err)
	}
	if toYAML(groups) != toYAML(file["groups"]) {
		t.Errorf("the rendered groups are not those of files/prometheus-rules.yaml:\n%s", toYAML(groups))
	}
	k, _ := ruleGroups(t, renderKustomize(t, "config/prometheus"))
	if toYAML(k) != toYAML(file["groups"]) {
		t.Error("config/prometheus/alerts.yaml does not hold the rules of the chart's files/prometheus-rules.yaml: run make manifests")
	}
}

// TestChartPrometheusRuleValues adapts the alerts with the values of
// prometheusRule, and refuses what would not work.
func TestChartPrometheusRuleValues(t *testing.T) {
	alerts := func(r rendering) map[string][]map[string]string {
		t.Helper()
		_, data := ruleGroups(t, r)
		out := map[string][]map[string]string{}
		for _, g := range parseRules(t, r.name, data).Groups {
			for _, rule := range g.Rules {
				out[rule.Alert+rule.Record] = append(out[rule.Alert+rule.Record], rule.Labels)
			}
		}
		return out
	}
	on := []string{"--set", "prometheusRule.enabled=true"}

	got := alerts(renderChart(t, append(on, "--set", "prometheusRule.namespace=monitoring",
		"--set", "prometheusRule.alertLabels.team=platform", "--set-json", `prometheusRule.disabledAlerts=["PetitionUnresolvedRoutes"]`,
		"--set-json", `prometheusRule.additionalRules=[{"alert":"PetitionManyOffices","expr":"sum(petition_offices) > 5000","for":"1h","labels":{"severity":"info"}},{"record":"petition:offices:sum","expr":"sum(petition_offices)"}]`)...))
	if _, ok := got["PetitionUnresolvedRoutes"]; ok {
		t.Error("disabledAlerts: PetitionUnresolvedRoutes is still there")
	}
	for name, labels := range got {
		for _, l := range labels {
			if slices.Contains(alertNames, name) && (l["team"] != "platform" || l["severity"] == "") {
				t.Errorf("%s: labels %v, want team=platform beside its severity", name, l)
			}
		}
	}
	if len(got["PetitionManyOffices"]) != 1 || len(got["petition:offices:sum"]) != 1 || len(got["PetitionNoLeader"]) != 1 {
		t.Errorf("additionalRules: alerts and records %v", got)
	}
	if r := renderChart(t, append(on, "--set", "prometheusRule.namespace=monitoring")...); r.find("PrometheusRule", "")[0].GetNamespace() != "monitoring" {
		t.Error("prometheusRule.namespace is not the PrometheusRule's")
	}

	// Without leader election there is no leader to miss.
	if _, ok := alerts(renderChart(t, append(on, "--set", "leaderElection=false", "--set", "replicaCount=1")...))["PetitionNoLeader"]; ok {
		t.Error("PetitionNoLeader with leaderElection=false")
	}

	for _, bad := range []struct {
		args []string
		want string
	}{
		{[]string{"--set-json", `prometheusRule.disabledAlerts=["PetitionOfficeStalled"]`}, `the chart has no alert "PetitionOfficeStalled"`},
		{[]string{"--set", "prometheusRule.alertLabels.severity=page"}, "severity is each alert's own"},
		{[]string{"--set-json", `prometheusRule.additionalRules=[{"alert":"X","expr":"up","fro":"5m"}]`}, "additional properties 'fro' not allowed"},
		{[]string{"--set-json", `prometheusRule.additionalRules=[{"alert":"X"}]`}, "missing property 'expr'"},
		{[]string{"--set-json", `prometheusRule.additionalRules=[{"expr":"up"}]`}, "at '/prometheusRule/additionalRules/0'"},
		{[]string{"--set", "prometheusRule.lables.release=x"}, "additional properties 'lables' not allowed"},
	} {
		_, msg, err := helmTemplate(t, release, namespace, append(on, bad.args...)...)
		if err == nil || !strings.Contains(msg, bad.want) {
			t.Errorf("helm %v: %v\nwant a refusal saying %q", bad.args, msg, bad.want)
		}
	}
}
