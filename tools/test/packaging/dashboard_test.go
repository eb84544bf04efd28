package packaging_test

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// dashboard is the part of a Grafana dashboard the test reads.
type dashboard struct {
	Panels []struct {
		ID      int    `json:"id"`
		Type    string `json:"type"`
		Title   string `json:"title"`
		GridPos struct {
			H, W, X, Y int
		} `json:"gridPos"`
		Targets []struct {
			Expr string `json:"expr"`
		} `json:"targets"`
	} `json:"panels"`
	Templating struct {
		List []struct {
			Name       string `json:"name"`
			Definition string `json:"definition"`
		} `json:"list"`
	} `json:"templating"`
}

// grafanaVariables stand for Grafana's variables in a panel's expression,
// so that it parses as PromQL.
var grafanaVariables = strings.NewReplacer("$__rate_interval", "5m", "$__interval", "1m", "$__range", "1h", "$namespace", ".*", "$job", ".*")

// TestDashboard reads the chart's Grafana dashboard as Grafana would: its
// panels do not overlap, each panel's expressions parse as PromQL and use
// only metrics docs/observability.md names (which test/e2e finds on the
// manager's endpoint), and the rollouts of RoutingPolicies and of the
// default tenant image have their panels.
func TestDashboard(t *testing.T) {
	var d dashboard
	if err := json.Unmarshal(chartFile(t, "files/dashboards/petition-operator.json"), &d); err != nil {
		t.Fatalf("the dashboard is not JSON: %v", err)
	}
	documented := documentedMetrics(t)
	ids := map[int]string{}
	cells := map[[2]int]string{}
	plotted := map[string]bool{}
	for _, p := range d.Panels {
		what := fmt.Sprintf("panel %d %q", p.ID, p.Title)
		if other, ok := ids[p.ID]; ok {
			t.Errorf("%s: id of panel %q too", what, other)
		}
		ids[p.ID] = p.Title
		g := p.GridPos
		if g.W <= 0 || g.H <= 0 || g.X < 0 || g.X+g.W > 24 {
			t.Errorf("%s: gridPos %+v outside the 24 columns", what, g)
		}
	overlap:
		for x := g.X; x < g.X+g.W; x++ {
			for y := g.Y; y < g.Y+g.H; y++ {
				if other, ok := cells[[2]int{x, y}]; ok {
					t.Errorf("%s overlaps %s at column %d, row %d", what, other, x, y)
					break overlap
				}
				cells[[2]int{x, y}] = what
			}
		}
		if p.Type != "row" && len(p.Targets) == 0 {
			t.Errorf("%s: no query", what)
		}
		for _, target := range p.Targets {
			expr := grafanaVariables.Replace(target.Expr)
			checkDocumented(t, what, expr, documented)
			names, _ := metricNames(expr)
			for _, n := range names {
				plotted[n] = true
			}
		}
	}
	for _, v := range d.Templating.List {
		for _, m := range regexp.MustCompile(`label_values\(([a-z_]+)`).FindAllStringSubmatch(v.Definition, -1) {
			if !documented[m[1]] {
				t.Errorf("variable %s: %s is not a metric docs/observability.md names", v.Name, m[1])
			}
		}
	}
	for _, m := range []string{
		"petition_routingpolicy_offices", "petition_routingpolicy_rollout_stage",
		"petition_tenantdefaults_rollout_stage", "petition_tenantdefaults_rollout_phase", "petition_tenantdefaults_rollout_offices",
	} {
		if !plotted[m] {
			t.Errorf("no panel plots %s", m)
		}
	}
}
