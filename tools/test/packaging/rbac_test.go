package packaging_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"
)

// renderings returns every rendering the RBAC and the API server are
// checked on: the chart with its defaults, with every option and without
// webhooks, and config/default as is and with every option.
func renderings(t *testing.T) []rendering {
	t.Helper()
	named := func(name string, r rendering) rendering {
		r.name = name
		return r
	}
	return []rendering{
		named("chart", renderChart(t)),
		named("chart with every option", renderChart(t, allOptions...)),
		named("chart without webhooks", renderChart(t, "--set", "webhook.enabled=false")),
		named("config/default", renderKustomize(t, "config/default")),
		named("config/default with every option", renderKustomizeAll(t)),
	}
}

// TestRBACLeastPrivilege checks every ClusterRole and Role of every
// rendering, and the generated config/rbac/role.yaml itself: no wildcard,
// no verb that grants more than the role holds.
func TestRBACLeastPrivilege(t *testing.T) {
	for _, r := range renderings(t) {
		var n int
		for _, kind := range []string{"ClusterRole", "Role"} {
			for _, o := range r.find(kind, "") {
				var role rbacv1.ClusterRole // a Role has the same fields but aggregationRule
				convert(t, o, &role)
				if role.AggregationRule != nil {
					t.Errorf("%s: %s %s aggregates other roles", r.name, kind, role.Name)
				}
				checkRules(t, r.name+": "+kind+" "+role.Name, role.Rules)
				n++
			}
		}
		if n == 0 {
			t.Errorf("%s: no roles", r.name)
		}
	}
	data, err := os.ReadFile(filepath.Join(repoRoot(t), "config", "rbac", "role.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var role rbacv1.ClusterRole
	if err := yaml.UnmarshalStrict(data, &role); err != nil {
		t.Fatal(err)
	}
	checkRules(t, "config/rbac/role.yaml", role.Rules)
}

func checkRules(t *testing.T, id string, rules []rbacv1.PolicyRule) {
	t.Helper()
	if len(rules) == 0 {
		t.Errorf("%s: no rules", id)
	}
	for i, rule := range rules {
		for field, values := range map[string][]string{
			"apiGroups":       rule.APIGroups,
			"resources":       rule.Resources,
			"verbs":           rule.Verbs,
			"resourceNames":   rule.ResourceNames,
			"nonResourceURLs": rule.NonResourceURLs,
		} {
			if slices.ContainsFunc(values, func(v string) bool { return strings.Contains(v, "*") }) {
				t.Errorf("%s rule %d: wildcard in %s %v", id, i, field, values)
			}
		}
		for _, v := range []string{"escalate", "bind", "impersonate"} {
			if slices.Contains(rule.Verbs, v) {
				t.Errorf("%s rule %d: verb %s", id, i, v)
			}
		}
	}
}
