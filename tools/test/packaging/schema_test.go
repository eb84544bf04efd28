package packaging_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	chartutil "helm.sh/helm/v4/pkg/chart/common/util"
	"sigs.k8s.io/yaml"

	"github.com/xinfang/petition-operator/tools/internal/chartdoc"
)

// chartFile reads a file of the chart.
func chartFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), chart, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestValuesSchemaDescribesValues holds values.yaml and values.schema.json
// to each other: every key of values.yaml is described in the schema (and
// every key of the schema is in values.yaml), and every object of known keys
// refuses others, so that neither can drift from the other and a misspelt
// key is refused.
func TestValuesSchemaDescribesValues(t *testing.T) {
	schema, err := chartdoc.ParseSchema(chartFile(t, "values.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	values, err := chartdoc.Walk(chartFile(t, "values.yaml"), schema)
	if err != nil {
		t.Fatal(err)
	}
	leaves := 0
	for _, v := range values {
		if v.Leaf {
			leaves++
		}
	}
	if leaves < 40 {
		t.Errorf("only %d keys of values.yaml walked: the walk is looking in the wrong place", leaves)
	}
	// Helm's own check, as helm install runs it: the defaults validate.
	var defaults map[string]any
	if err := yaml.Unmarshal(chartFile(t, "values.yaml"), &defaults); err != nil {
		t.Fatal(err)
	}
	if err := chartutil.ValidateAgainstSingleSchema(defaults, chartFile(t, "values.schema.json")); err != nil {
		t.Errorf("the default values do not validate: %v", err)
	}
}

// TestValuesSchemaRefuses renders the chart with values the schema or the
// templates refuse: Helm fails before rendering anything, naming the key.
func TestValuesSchemaRefuses(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string
	}{
		// Misspelt keys, at the top and below.
		{[]string{"--set", "replicaCont=3"}, []string{"additional properties 'replicaCont' not allowed"}},
		{[]string{"--set", "webhook.failurPolicy=Ignore"}, []string{"at '/webhook'", "additional properties 'failurPolicy' not allowed"}},
		{[]string{"--set", "serviceMonitor.intervall=1m"}, []string{"at '/serviceMonitor'", "'intervall'"}},
		{[]string{"--set-json", `imagePullSecrets=[{"secret":"regcred"}]`}, []string{"at '/imagePullSecrets/0'", "'secret'"}},
		// Wrong types.
		{[]string{"--set", "replicaCount=three"}, []string{"at '/replicaCount'", "got string, want integer"}},
		{[]string{"--set", "webhook.enabled=yes"}, []string{"at '/webhook/enabled'", "got string, want boolean"}},
		{[]string{"--set-json", `podAnnotations={"a":1}`}, []string{"at '/podAnnotations/a'", "got number, want string"}},
		{[]string{"--set-json", `extraArgs="--zap-log-level=debug"`}, []string{"at '/extraArgs'", "want array"}},
		// Out of bounds, or not one of the choices.
		{[]string{"--set", "replicaCount=0"}, []string{"at '/replicaCount'", "minimum"}},
		{[]string{"--set", "webhook.certs=vault"}, []string{"at '/webhook/certs'", "'selfSigned'"}},
		{[]string{"--set", "image.pullPolicy=Sometimes"}, []string{"at '/image/pullPolicy'"}},
		{[]string{"--set", "metrics.port=80"}, []string{"at '/metrics/port'", "minimum"}},
		{[]string{"--set", "leaderElectionTimings.leaseDuration=8 seconds"}, []string{"at '/leaderElectionTimings/leaseDuration'"}},
		{[]string{"--set", "gracefulShutdownTimeout=1h"}, []string{"at '/gracefulShutdownTimeout'"}},
		{[]string{"--set", "extraArgs[0]=zap-log-level=debug"}, []string{"at '/extraArgs/0'"}},
		{[]string{"--set", "tenant.ingressNamespace=Ingress_NGINX"}, []string{"at '/tenant/ingressNamespace'"}},
		{[]string{"--set", "serviceMonitor.interval=30 s"}, []string{"at '/serviceMonitor/interval'"}},
	} {
		_, msg, err := helmTemplate(t, release, namespace, tc.args...)
		if err == nil {
			t.Errorf("helm %v: rendered, want a refusal", tc.args)
			continue
		}
		if !strings.Contains(msg, "values don't meet the specifications of the schema") {
			t.Errorf("helm %v: %s\nwant the schema's refusal", tc.args, msg)
		}
		for _, w := range tc.want {
			if !strings.Contains(msg, w) {
				t.Errorf("helm %v: %s\nwant %q in it", tc.args, msg, w)
			}
		}
	}
}

// TestValuesSchemaAccepts renders the chart with values the schema must let
// through: free-form maps and Kubernetes objects take any key, and each
// allowed form of a value passes.
func TestValuesSchemaAccepts(t *testing.T) {
	for _, args := range [][]string{
		{"--set", "podAnnotations.example\\.org/any=thing", "--set", "podLabels.team=petition", "--set", "nodeSelector.kubernetes\\.io/os=linux"},
		{"--set", "resources.limits.cpu=2", "--set", "resources.requests.ephemeral-storage=1Gi"},
		{"--set-json", `tolerations=[{"key":"dedicated","operator":"Equal","value":"petition","effect":"NoSchedule"}]`},
		{"--set-json", `affinity={"podAntiAffinity":{"preferredDuringSchedulingIgnoredDuringExecution":[]}}`},
		{"--set-json", `extraEnv=[{"name":"GOMEMLIMIT","value":"500MiB"},{"name":"POD","valueFrom":{"fieldRef":{"fieldPath":"metadata.name"}}}]`},
		{"--set", "serviceMonitor.enabled=true", "--set-json", `serviceMonitor.tlsConfig={"ca":{"secret":{"name":"ca","key":"ca.crt"}},"serverName":"m"}`},
		{"--set", "gracefulShutdownTimeout=45", "--set", "kubeAPIQPS=7.5", "--set", "leaderElectionTimings.retryPeriod=500ms"},
		{"--set", "gracefulShutdownTimeout=2m", "--set", "image.tag=v0.2.0-rc.1", "--set", "image.repository=registry.example.org:5000/petition-operator"},
		{"--set-json", `global={"imageRegistry":"registry.example.org"}`},
		{"--set-json", `networkPolicy.metricsNamespaceSelector={"matchExpressions":[{"key":"team","operator":"In","values":["sre"]}]}`, "--set", "networkPolicy.enabled=true"},
	} {
		if _, msg, err := helmTemplate(t, release, namespace, args...); err != nil {
			t.Errorf("helm %v: %s", args, msg)
		}
	}
}

// TestChartRefusesNonsense: what the schema cannot say, the templates
// refuse with what to change.
func TestChartRefusesNonsense(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--set", "leaderElectionTimings.leaseDuration=5s"}, "leaseDuration 5s must exceed renewDeadline 5s + retryPeriod 1s"},
		{[]string{"--set", "leaderElectionTimings.leaseDuration=1m", "--set", "leaderElectionTimings.renewDeadline=1m"}, "leaseDuration 1m must exceed renewDeadline 1m + retryPeriod 1s"},
		{[]string{"--set", "webhook.port=8443"}, "webhook.port 8443 is already the port of metrics.port"},
		{[]string{"--set", "webhook.port=8081"}, "webhook.port 8081 is already the port of the health probes"},
		{[]string{"--set", "metrics.port=8081"}, "metrics.port 8081 is the port of the health probes"},
		{[]string{"--set", "leaderElection=false"}, "needs leaderElection: true"},
		{[]string{"--set-string", "kubeAPIQPS=0.0"}, "kubeAPIQPS 0.0: want more than 0"},
	} {
		_, msg, err := helmTemplate(t, release, namespace, tc.args...)
		if err == nil || !strings.Contains(msg, tc.want) {
			t.Errorf("helm %v: %v\nwant a refusal saying %q", tc.args, msg, tc.want)
		}
	}
	// The same timings pass without leader election, and fine ones with it.
	for _, args := range [][]string{
		{"--set", "leaderElection=false", "--set", "replicaCount=1", "--set", "leaderElectionTimings.leaseDuration=5s"},
		{"--set", "leaderElectionTimings.leaseDuration=6100ms", "--set", "leaderElectionTimings.renewDeadline=5s", "--set", "leaderElectionTimings.retryPeriod=1s"},
		{"--set", "webhook.enabled=false", "--set", "webhook.port=8443"},
	} {
		if _, msg, err := helmTemplate(t, release, namespace, args...); err != nil {
			t.Errorf("helm %v: %s", args, msg)
		}
	}
}
