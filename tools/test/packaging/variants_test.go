package packaging_test

import (
	"encoding/json"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	helmrelease "helm.sh/helm/v4/pkg/release/v1"
	admissionv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
)

// The chart with every optional part on, as a production install with
// cert-manager and the Prometheus Operator would have it.
var allOptions = []string{
	"--set", "webhook.certs=certManager", "--set", "replicaCount=2",
	"--set", "serviceMonitor.enabled=true", "--set", "networkPolicy.enabled=true",
	"--set", "grafanaDashboard.enabled=true", "--set", "watchLabelSelector=petition.xinfang.io/shard=east",
	"--set", "prometheusRule.enabled=true",
}

// webhookKinds are the kinds only the webhooks need.
var webhookKinds = []string{"ValidatingWebhookConfiguration", "MutatingWebhookConfiguration", "Issuer", "Certificate"}

func TestChartCertManager(t *testing.T) {
	r := renderChart(t, "--set", "webhook.certs=certManager", "--set", "replicaCount=2")
	dep := manager(t, r)
	pod := dep.Spec.Template.Spec
	f := flags(t, pod.Containers[0].Args)
	if f["--webhook-self-signed-hosts"] != "" {
		t.Error("with cert-manager the manager still makes its own certificate")
	}
	if len(r.find("ClusterRole", release+"-webhook-ca")) != 0 {
		t.Error("with cert-manager the manager may still patch the webhook configurations")
	}
	if len(r.find("Role", release+"-webhook-cert")) != 0 || f["--webhook-cert-secret"] != "" {
		t.Error("with cert-manager the manager still keeps a certificate Secret")
	}
	if dep.Spec.Strategy.Type == appsv1.RecreateDeploymentStrategyType {
		t.Error("with cert-manager the Deployment need not be recreated")
	}
	if *dep.Spec.Replicas != 2 {
		t.Errorf("replicas %d, want 2", *dep.Spec.Replicas)
	}

	var issuer, cert *unstructured.Unstructured
	if is := r.find("Issuer", ""); len(is) == 1 {
		issuer = is[0]
	}
	if cs := r.find("Certificate", ""); len(cs) == 1 {
		cert = cs[0]
	}
	if issuer == nil || cert == nil {
		t.Fatalf("want one Issuer and one Certificate, got %d and %d", len(r.find("Issuer", "")), len(r.find("Certificate", "")))
	}
	if selfSigned, _, _ := unstructured.NestedMap(issuer.Object, "spec", "selfSigned"); selfSigned == nil {
		t.Errorf("Issuer %s is not selfSigned", issuer.GetName())
	}
	issuerRef, _, _ := unstructured.NestedString(cert.Object, "spec", "issuerRef", "name")
	if issuerRef != issuer.GetName() || issuer.GetNamespace() != namespace || cert.GetNamespace() != namespace {
		t.Errorf("Certificate %s/%s is issued by %q, want Issuer %s/%s", cert.GetNamespace(), cert.GetName(), issuerRef, issuer.GetNamespace(), issuer.GetName())
	}
	dnsNames, _, _ := unstructured.NestedStringSlice(cert.Object, "spec", "dnsNames")
	if !slices.Contains(dnsNames, helmWebhookSvc+"."+namespace+".svc") {
		t.Errorf("Certificate dnsNames %v lack the webhook Service", dnsNames)
	}
	secret, _, _ := unstructured.NestedString(cert.Object, "spec", "secretName")
	if got := mounts(pod); !slices.Contains(got, f["--webhook-cert-dir"]+"=secret "+secret) {
		t.Errorf("Secret %q is not mounted at --webhook-cert-dir %q: %v", secret, f["--webhook-cert-dir"], got)
	}
	for _, kind := range []string{"ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"} {
		for _, o := range r.find(kind, "") {
			if got := o.GetAnnotations()["cert-manager.io/inject-ca-from"]; got != namespace+"/"+cert.GetName() {
				t.Errorf("%s %s: inject-ca-from %q, want %s/%s", kind, o.GetName(), got, namespace, cert.GetName())
			}
		}
	}
}

// TestChartReplicas: two replicas by default, rolled one at a time and
// kept one by a PodDisruptionBudget, with either certificate mode; one
// replica has no budget (it would block every drain); values that cannot
// work are refused, naming the value.
func TestChartReplicas(t *testing.T) {
	for _, certs := range []string{"selfSigned", "certManager"} {
		r := renderChart(t, "--set", "webhook.certs="+certs)
		checkRolling(t, manager(t, r))
		checkPDB(t, r)
	}
	one := renderChart(t, "--set", "replicaCount=1")
	if n := len(one.find("PodDisruptionBudget", "")); n != 0 {
		t.Errorf("%s: %d PodDisruptionBudgets, want none for one replica", one.name, n)
	}
	if s := manager(t, one).Spec.Strategy; s.RollingUpdate == nil || s.RollingUpdate.MaxUnavailable.IntValue() != 0 {
		t.Errorf("%s: strategy %s, want a new pod before the old one goes", one.name, toYAML(s))
	}
	off := renderChart(t, "--set", "podDisruptionBudget.enabled=false")
	if n := len(off.find("PodDisruptionBudget", "")); n != 0 {
		t.Errorf("%s: %d PodDisruptionBudgets, want none", off.name, n)
	}
	timings := flags(t, manager(t, renderChart(t, "--set", "leaderElectionTimings.leaseDuration=12s")).Spec.Template.Spec.Containers[0].Args)
	if timings["--leader-elect-lease-duration"] != "12s" || timings["--leader-elect-renew-deadline"] != "5s" || timings["--leader-elect-retry-period"] != "1s" {
		t.Errorf("lease timings %s, %s, %s; want 12s, 5s, 1s", timings["--leader-elect-lease-duration"], timings["--leader-elect-renew-deadline"], timings["--leader-elect-retry-period"])
	}
	for _, bad := range []struct {
		args []string
		want string
	}{
		{[]string{"--set", "leaderElection=false"}, "replicaCount 2 needs leaderElection: true"},
		// values.schema.json refuses these; without it (helm
		// --skip-schema-validation) the templates do.
		{[]string{"--set", "replicaCount=0"}, "at '/replicaCount': minimum"},
		{[]string{"--skip-schema-validation", "--set", "replicaCount=0"}, "replicaCount 0: want at least 1"},
		{[]string{"--set", "leaderElectionTimings.renewDeadline=soon"}, "at '/leaderElectionTimings/renewDeadline'"},
		{[]string{"--skip-schema-validation", "--set", "leaderElectionTimings.renewDeadline=soon"}, `leaderElectionTimings.renewDeadline "soon": want a duration`},
		{[]string{"--set", "webhook.certs=vault"}, "at '/webhook/certs'"},
		{[]string{"--skip-schema-validation", "--set", "webhook.certs=vault"}, `webhook.certs "vault": want selfSigned or certManager`},
		{[]string{"--set", "gracefulShutdownTimeout=1h30m"}, "gracefulShutdownTimeout"},
		{[]string{"--skip-schema-validation", "--set", "gracefulShutdownTimeout=1h30m"}, `gracefulShutdownTimeout "1h30m": want whole seconds or minutes`},
	} {
		r, stderr, err := helmTemplate(t, release, namespace, bad.args...)
		if err == nil {
			t.Errorf("%s renders %d objects, want a failure", r.name, len(r.objs))
		} else if !strings.Contains(stderr, bad.want) {
			t.Errorf("%s: helm says\n%s\nwant it to say %q", r.name, stderr, bad.want)
		}
	}
	// One replica without leader election is fine.
	renderChart(t, "--set", "replicaCount=1", "--set", "leaderElection=false")
}

func TestChartWebhooksDisabled(t *testing.T) {
	for _, certs := range []string{"selfSigned", "certManager"} {
		r := renderChart(t, "--set", "webhook.enabled=false", "--set", "webhook.certs="+certs)
		c := manager(t, r).Spec.Template.Spec.Containers[0]
		if f := flags(t, c.Args); f["--enable-webhooks"] != "false" || f["--webhook-cert-dir"] != "" || f["--webhook-self-signed-hosts"] != "" {
			t.Errorf("%s: args %v: want --enable-webhooks=false and no webhook certificate", r.name, c.Args)
		}
		for _, kind := range webhookKinds {
			if n := len(r.find(kind, "")); n != 0 {
				t.Errorf("%s: %d %s rendered without webhooks", r.name, n, kind)
			}
		}
		if len(r.find("Service", helmWebhookSvc)) != 0 {
			t.Errorf("%s: Service %s rendered without webhooks", r.name, helmWebhookSvc)
		}
		if len(r.find("ClusterRole", release+"-webhook-ca")) != 0 || len(r.find("Role", release+"-webhook-cert")) != 0 {
			t.Errorf("%s: webhook CA or certificate role rendered without webhooks", r.name)
		}
		if f := flags(t, c.Args); f["--webhook-cert-secret"] != "" {
			t.Errorf("%s: --webhook-cert-secret without webhooks", r.name)
		}
		for _, p := range c.Ports {
			if p.Name == "webhook" {
				t.Errorf("%s: webhook port %d without webhooks", r.name, p.ContainerPort)
			}
		}
		if got, want := mounts(manager(t, r).Spec.Template.Spec), []string{"/tmp=emptyDir", "/var/run/secrets/petition-registry=token for petition-registry"}; !slices.Equal(got, want) {
			t.Errorf("%s: volumes %v, want %v: /tmp and the registries' token only", r.name, got, want)
		}
		// The CRDs come all the same.
		if n := len(r.find("CustomResourceDefinition", "")); n != 6 {
			t.Errorf("%s: %d CRDs, want 6", r.name, n)
		}
	}
}

func TestChartServiceMonitor(t *testing.T) {
	r := renderChart(t, "--set", "serviceMonitor.enabled=true", "--set", "serviceMonitor.labels.release=prometheus")
	sms := r.find("ServiceMonitor", "")
	if len(sms) != 2 {
		t.Fatalf("%d ServiceMonitors, want the manager's and the registries'", len(sms))
	}
	// The registries': job petition-registry (the Services' name label),
	// a city label, the Services the operator makes for Cities.
	var registry *unstructured.Unstructured
	if found := r.find("ServiceMonitor", release+"-registry"); len(found) == 1 {
		registry = found[0]
	} else {
		t.Fatalf("%d ServiceMonitors %s-registry, want 1", len(found), release)
	}
	endpoints, _, _ := unstructured.NestedSlice(registry.Object, "spec", "endpoints")
	jobLabel, _, _ := unstructured.NestedString(registry.Object, "spec", "jobLabel")
	selector, _, _ := unstructured.NestedStringMap(registry.Object, "spec", "selector", "matchLabels")
	if len(endpoints) != 1 || endpoints[0].(map[string]any)["port"] != "http" || jobLabel != "app.kubernetes.io/name" ||
		selector["app.kubernetes.io/name"] != "petition-registry" || selector["app.kubernetes.io/managed-by"] != "petition-operator" ||
		registry.GetLabels()["release"] != "prometheus" {
		t.Errorf("registries' ServiceMonitor %v", registry.Object)
	}
	sm := r.find("ServiceMonitor", release)[0]
	if sm.GetLabels()["release"] != "prometheus" {
		t.Errorf("labels %v lack serviceMonitor.labels", sm.GetLabels())
	}
	endpoints, _, _ = unstructured.NestedSlice(sm.Object, "spec", "endpoints")
	if len(endpoints) != 1 {
		t.Fatalf("%d endpoints, want 1", len(endpoints))
	}
	ep := endpoints[0].(map[string]any)
	tls, _ := ep["tlsConfig"].(map[string]any)
	if ep["scheme"] != "https" || ep["port"] != "https" || ep["path"] != "/metrics" ||
		ep["bearerTokenFile"] != "/var/run/secrets/kubernetes.io/serviceaccount/token" || tls["insecureSkipVerify"] != true {
		t.Errorf("endpoint %v: want https on port https with the ServiceAccount token and insecureSkipVerify", ep)
	}
	// It selects the metrics Service, and no other.
	matchLabels, _, _ := unstructured.NestedStringMap(sm.Object, "spec", "selector", "matchLabels")
	var selected []string
	for _, svc := range r.find("Service", "") {
		if labels.SelectorFromSet(matchLabels).Matches(labels.Set(svc.GetLabels())) {
			selected = append(selected, svc.GetName())
		}
	}
	if !slices.Equal(selected, []string{release + "-metrics"}) {
		t.Errorf("the ServiceMonitor selects Services %v, want [%s-metrics]", selected, release)
	}

	// A CA instead of insecureSkipVerify.
	r = renderChart(t, "--set", "serviceMonitor.enabled=true", "--set-json",
		`serviceMonitor.tlsConfig={"serverName":"`+release+`-metrics.`+namespace+`.svc","ca":{"secret":{"name":"metrics-ca","key":"ca.crt"}}}`)
	eps, _, _ := unstructured.NestedSlice(r.find("ServiceMonitor", release)[0].Object, "spec", "endpoints")
	tlsConfig := eps[0].(map[string]any)["tlsConfig"].(map[string]any)
	if _, ok := tlsConfig["insecureSkipVerify"]; ok || tlsConfig["ca"] == nil {
		t.Errorf("tlsConfig %v: want the CA instead of insecureSkipVerify", tlsConfig)
	}

	// Without metrics, no ServiceMonitor.
	if r := renderChart(t, "--set", "serviceMonitor.enabled=true", "--set", "metrics.enabled=false"); len(r.find("ServiceMonitor", "")) != 0 {
		t.Error("ServiceMonitor without metrics")
	}
}

func TestChartNetworkPolicy(t *testing.T) {
	if n := len(renderChart(t).find("NetworkPolicy", "")); n != 0 {
		t.Errorf("%d NetworkPolicies by default, want none", n)
	}
	for _, r := range []rendering{renderChart(t, "--set", "networkPolicy.enabled=true"), renderKustomizeAll(t)} {
		checkNetworkPolicies(t, r)
	}
}

// checkNetworkPolicies checks that the NetworkPolicies of a rendering select
// the manager and let in metrics from namespaces labelled metrics: enabled,
// webhooks from anywhere, and nothing else.
func checkNetworkPolicies(t *testing.T, r rendering) {
	t.Helper()
	dep := manager(t, r)
	pod := labels.Set(dep.Spec.Template.Labels)
	f := flags(t, dep.Spec.Template.Spec.Containers[0].Args)
	metricsPort, webhookPort := strings.TrimPrefix(f["--metrics-bind-address"], ":"), f["--webhook-port"]
	ingress := map[string]string{}
	nps := r.find("NetworkPolicy", "")
	if len(nps) != 2 {
		t.Fatalf("%s: %d NetworkPolicies, want 2", r.name, len(nps))
	}
	for _, o := range nps {
		var np networkingv1.NetworkPolicy
		convert(t, o, &np)
		sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
		if err != nil || sel.Empty() || !sel.Matches(pod) || np.Namespace != dep.Namespace {
			t.Errorf("%s: NetworkPolicy %s/%s does not select the manager's pods", r.name, np.Namespace, np.Name)
		}
		if !slices.Equal(np.Spec.PolicyTypes, []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}) {
			t.Errorf("%s: NetworkPolicy %s: policyTypes %v, want Ingress", r.name, np.Name, np.Spec.PolicyTypes)
		}
		for _, rule := range np.Spec.Ingress {
			from := "anywhere"
			if len(rule.From) > 0 {
				from = toYAML(rule.From)
			}
			for _, p := range rule.Ports {
				ingress[p.Port.String()] = from
			}
		}
	}
	wantMetrics := toYAML([]networkingv1.NetworkPolicyPeer{{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"metrics": "enabled"}}}})
	if len(ingress) != 2 || ingress[metricsPort] != wantMetrics || ingress[webhookPort] != "anywhere" {
		t.Errorf("%s: ingress by port %v, want %s from namespaces labelled metrics: enabled and %s from anywhere", r.name, ingress, metricsPort, webhookPort)
	}
}

func TestChartGrafanaDashboard(t *testing.T) {
	if n := len(renderChart(t).find("ConfigMap", "")); n != 0 {
		t.Errorf("%d ConfigMaps by default, want none", n)
	}
	dashboard, err := os.ReadFile(filepath.Join(repoRoot(t), chart, "files", "dashboards", "petition-operator.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args            []string
		ns              string
		labels, annotes map[string]string
	}{
		{[]string{"--set", "grafanaDashboard.enabled=true"}, namespace, map[string]string{"grafana_dashboard": "1"}, nil},
		{
			[]string{
				"--set", "grafanaDashboard.enabled=true", "--set", "grafanaDashboard.namespace=monitoring",
				"--set-json", `grafanaDashboard.labels={"dashboards":"petition"}`, "--set", "grafanaDashboard.annotations.grafana_folder=Petition",
			},
			"monitoring", map[string]string{"dashboards": "petition"}, map[string]string{"grafana_folder": "Petition"},
		},
	} {
		r := renderChart(t, tc.args...)
		var cm corev1.ConfigMap
		r.one(t, "ConfigMap", "", &cm)
		if cm.Namespace != tc.ns {
			t.Errorf("%s: ConfigMap in %q, want %q", r.name, cm.Namespace, tc.ns)
		}
		for k, v := range tc.labels {
			if cm.Labels[k] != v {
				t.Errorf("%s: labels %v, want %s=%s", r.name, cm.Labels, k, v)
			}
		}
		for k, v := range tc.annotes {
			if cm.Annotations[k] != v {
				t.Errorf("%s: annotations %v, want %s=%s", r.name, cm.Annotations, k, v)
			}
		}
		if len(cm.Data) != 1 {
			t.Fatalf("%s: data keys %d, want 1", r.name, len(cm.Data))
		}
		for key, data := range cm.Data {
			var got, want any
			if err := json.Unmarshal([]byte(data), &got); err != nil {
				t.Fatalf("%s: %s is not JSON: %v", r.name, key, err)
			}
			if err := json.Unmarshal(dashboard, &want); err != nil {
				t.Fatalf("the dashboard is not JSON: %v", err)
			}
			if toYAML(got) != toYAML(want) {
				t.Errorf("%s: %s is not files/dashboards/petition-operator.json", r.name, key)
			}
		}
	}
}

func TestChartWatchLabelSelector(t *testing.T) {
	if f := flags(t, manager(t, renderChart(t)).Spec.Template.Spec.Containers[0].Args); f["--watch-label-selector"] != "" {
		t.Errorf("--watch-label-selector %q by default, want none", f["--watch-label-selector"])
	}
	r := renderChart(t, "--set", "watchLabelSelector=petition.xinfang.io/shard in (east\\,north)")
	if f := flags(t, manager(t, r).Spec.Template.Spec.Containers[0].Args); f["--watch-label-selector"] != "petition.xinfang.io/shard in (east,north)" {
		t.Errorf("--watch-label-selector %q", f["--watch-label-selector"])
	}
}

// Two shards are two releases: they must not share a Lease or any
// cluster-wide object but the CRDs, and only one serves the webhooks.
func TestChartShards(t *testing.T) {
	main := renderChart(t)
	east, stderr, err := helmTemplate(t, "east", "petition-east", "--set", "webhook.enabled=false", "--set", "watchLabelSelector=petition.xinfang.io/shard=east")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	mf, ef := flags(t, manager(t, main).Spec.Template.Spec.Containers[0].Args), flags(t, manager(t, east).Spec.Template.Spec.Containers[0].Args)
	if mf["--leader-election-id"] == ef["--leader-election-id"] {
		t.Errorf("both releases elect their leader with Lease %s", mf["--leader-election-id"])
	}
	if ef["--leader-election-id"] != "east-petition-operator.petition.xinfang.io" {
		t.Errorf("east's Lease %q", ef["--leader-election-id"])
	}
	clusterWide := func(r rendering) map[string]bool {
		out := map[string]bool{}
		for _, o := range r.objs {
			if o.GetNamespace() == "" && o.GetKind() != "CustomResourceDefinition" {
				out[o.GetKind()+"/"+o.GetName()] = true
			}
		}
		return out
	}
	me := clusterWide(main)
	for id := range clusterWide(east) {
		if me[id] {
			t.Errorf("both releases render %s", id)
		}
	}
	// Each release's admission policy judges its own ServiceAccount.
	admissionPolicy(t, east)
	// The other release's ServiceAccount is bound to its own roles.
	for _, o := range east.find("ClusterRoleBinding", "") {
		var b rbacv1.ClusterRoleBinding
		convert(t, o, &b)
		if b.Subjects[0].Namespace != "petition-east" || !strings.HasPrefix(b.RoleRef.Name, "east-") {
			t.Errorf("east binds %+v to %s", b.Subjects, b.RoleRef.Name)
		}
	}
}

func TestChartShutdownAndNames(t *testing.T) {
	r := renderChart(t, "--set", "gracefulShutdownTimeout=2m")
	pod := manager(t, r).Spec.Template.Spec
	if f := flags(t, pod.Containers[0].Args); f["--graceful-shutdown-timeout"] != "120s" || *pod.TerminationGracePeriodSeconds != 130 {
		t.Errorf("--graceful-shutdown-timeout %s, grace %d; want 120s and 130", f["--graceful-shutdown-timeout"], *pod.TerminationGracePeriodSeconds)
	}
	// A long release name still makes valid Service names, and the
	// webhooks call the Service the chart renders.
	long := strings.Repeat("shard-", 8) + "east1" // 53, Helm's longest release name
	r, stderr, err := helmTemplate(t, long, namespace)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	for _, o := range r.find("Service", "") {
		if len(o.GetName()) > 63 {
			t.Errorf("Service name %q is longer than 63", o.GetName())
		}
	}
	var v admissionv1.ValidatingWebhookConfiguration
	r.one(t, "ValidatingWebhookConfiguration", "", &v)
	svc := v.Webhooks[0].ClientConfig.Service.Name
	if len(r.find("Service", svc)) != 1 {
		t.Errorf("the webhooks call Service %s, which is not rendered", svc)
	}
	if f := flags(t, manager(t, r).Spec.Template.Spec.Containers[0].Args); f["--webhook-self-signed-hosts"] != svc+"."+namespace+".svc" ||
		f["--validating-webhook-configuration"] != v.Name {
		t.Errorf("the manager's certificate is for %q and its CA goes to %q; want %s.%s.svc and %s",
			f["--webhook-self-signed-hosts"], f["--validating-webhook-configuration"], svc, namespace, v.Name)
	}
	// Only the manager's pod mounts the manager's ServiceAccount token. The
	// registries' ServiceAccount keeps the default: its pods read the
	// network from the API server.
	var sa, registry corev1.ServiceAccount
	r.one(t, "ServiceAccount", manager(t, r).Spec.Template.Spec.ServiceAccountName, &sa)
	if sa.AutomountServiceAccountToken == nil || *sa.AutomountServiceAccountToken {
		t.Error("the ServiceAccount mounts its token into every pod")
	}
	name := flags(t, manager(t, r).Spec.Template.Spec.Containers[0].Args)["--registry-service-account"]
	r.one(t, "ServiceAccount", name, &registry)
	if name == sa.Name || !strings.HasSuffix(name, "-registry") || registry.AutomountServiceAccountToken != nil {
		t.Errorf("the registries' ServiceAccount %q (automount %v), the manager's %q", name, registry.AutomountServiceAccountToken, sa.Name)
	}
}

// TestChartNotes checks what the chart tells after an install about the
// webhooks' certificate, the replicas and the alerts.
func TestChartNotes(t *testing.T) {
	for _, tc := range []struct {
		name      string
		vals      map[string]any
		want, not []string
	}{
		{"defaults", map[string]any{},
			[]string{"Secret\npetition-operator-webhook-cert", "delete secret petition-operator-webhook-cert", "2 replicas: one leads", "PodDisruptionBudget petition-operator"},
			[]string{"One replica"}},
		{"one replica", map[string]any{"replicaCount": 1},
			[]string{"One replica: while it restarts"},
			[]string{"PodDisruptionBudget"}},
		{"cert-manager", map[string]any{"webhook": map[string]any{"certs": "certManager"}},
			[]string{"cert-manager issues their certificate"},
			[]string{"petition-operator-webhook-cert"}},
		{"alerts", map[string]any{"prometheusRule": map[string]any{"enabled": true}},
			[]string{"PrometheusRule petition-operator-system/petition-operator holds the operator's alerts"},
			[]string{"WARNING"}},
		{"alerts without metrics", map[string]any{"prometheusRule": map[string]any{"enabled": true}, "metrics": map[string]any{"enabled": false}},
			[]string{"WARNING: prometheusRule.enabled: the alerts see no metric"},
			[]string{"holds the operator's alerts"}},
	} {
		notes := chartNotes(t, tc.vals)
		for _, w := range tc.want {
			if !strings.Contains(notes, w) {
				t.Errorf("%s: NOTES lack %q:\n%s", tc.name, w, notes)
			}
		}
		for _, n := range tc.not {
			if strings.Contains(notes, n) {
				t.Errorf("%s: NOTES say %q:\n%s", tc.name, n, notes)
			}
		}
	}
}

// chartNotes renders the chart's NOTES.txt for vals.
func chartNotes(t *testing.T, vals map[string]any) string {
	t.Helper()
	ch, err := loader.Load(filepath.Join(repoRoot(t), chart))
	if err != nil {
		t.Fatal(err)
	}
	install := action.NewInstall(action.NewConfiguration(action.ConfigurationSetLogger(slog.DiscardHandler)))
	install.DryRunStrategy = action.DryRunClient
	install.ReleaseName, install.Namespace = release, namespace
	install.Replace = true
	install.KubeVersion = kubeVersion(t)
	released, err := install.Run(ch, vals)
	if err != nil {
		t.Fatal(err)
	}
	r, ok := released.(*helmrelease.Release)
	if !ok {
		t.Fatalf("a release of type %T", released)
	}
	return r.Info.Notes
}

// TestChartIssuerRef: with webhook.certManager.issuerRef the certificate
// comes from the user's issuer, and the chart makes no Issuer of its own;
// an issuerRef of another kind, or a misspelt key, is refused by the schema.
func TestChartIssuerRef(t *testing.T) {
	r := renderChart(t, "--set", "webhook.certs=certManager",
		"--set", "webhook.certManager.issuerRef.name=corp-ca", "--set", "webhook.certManager.issuerRef.kind=ClusterIssuer")
	if n := len(r.find("Issuer", "")); n != 0 {
		t.Errorf("%d Issuers with an issuerRef of the user's, want none", n)
	}
	var cert *unstructured.Unstructured
	if cs := r.find("Certificate", ""); len(cs) == 1 {
		cert = cs[0]
	} else {
		t.Fatalf("%d Certificates, want 1", len(cs))
	}
	ref, _, _ := unstructured.NestedStringMap(cert.Object, "spec", "issuerRef")
	if want := map[string]string{"name": "corp-ca", "kind": "ClusterIssuer", "group": "cert-manager.io"}; !maps.Equal(ref, want) {
		t.Errorf("Certificate issuerRef %v, want %v", ref, want)
	}
	for _, args := range [][]string{
		{"--set", "webhook.certs=certManager", "--set", "webhook.certManager.issuerRef.name=corp-ca", "--set", "webhook.certManager.issuerRef.kind=Vault"},
		{"--set", "webhook.certs=certManager", "--set", "webhook.certManager.issuerRef.issuer=corp-ca"},
	} {
		if _, msg, err := helmTemplate(t, release, namespace, args...); err == nil || !strings.Contains(msg, "issuerRef") {
			t.Errorf("helm %v: %v\nwant a refusal naming issuerRef", args, msg)
		}
	}
}

// TestChartTopologySpread: more than one replica spreads softly over
// hostnames unless told otherwise; one replica has no spread; a constraint
// of the user's gets the chart's selector when it has none.
func TestChartTopologySpread(t *testing.T) {
	dep := manager(t, renderChart(t, "--set", "replicaCount=2"))
	spread := dep.Spec.Template.Spec.TopologySpreadConstraints
	if len(spread) != 1 || spread[0].TopologyKey != corev1.LabelHostname || spread[0].WhenUnsatisfiable != corev1.ScheduleAnyway ||
		spread[0].MaxSkew != 1 || spread[0].LabelSelector == nil || !maps.Equal(spread[0].LabelSelector.MatchLabels, dep.Spec.Selector.MatchLabels) {
		t.Errorf("two replicas: topologySpreadConstraints %+v, want a soft spread over %s of the pods %v", spread, corev1.LabelHostname, dep.Spec.Selector.MatchLabels)
	}
	if got := manager(t, renderChart(t, "--set", "replicaCount=1", "--set", "leaderElection=false")).Spec.Template.Spec.TopologySpreadConstraints; len(got) != 0 {
		t.Errorf("one replica: topologySpreadConstraints %+v, want none", got)
	}
	dep = manager(t, renderChart(t, "--set", "replicaCount=3",
		"--set", "topologySpreadConstraints[0].maxSkew=1", "--set", "topologySpreadConstraints[0].topologyKey=topology.kubernetes.io/zone",
		"--set", "topologySpreadConstraints[0].whenUnsatisfiable=DoNotSchedule"))
	spread = dep.Spec.Template.Spec.TopologySpreadConstraints
	if len(spread) != 1 || spread[0].TopologyKey != corev1.LabelTopologyZone || spread[0].WhenUnsatisfiable != corev1.DoNotSchedule ||
		spread[0].LabelSelector == nil || !maps.Equal(spread[0].LabelSelector.MatchLabels, dep.Spec.Selector.MatchLabels) {
		t.Errorf("a zone constraint: topologySpreadConstraints %+v, want it with the selector %v", spread, dep.Spec.Selector.MatchLabels)
	}
	if _, msg, err := helmTemplate(t, release, namespace, "--set", "topologySpreadConstraints[0].topologyKey=zone"); err == nil {
		t.Errorf("a constraint without maxSkew and whenUnsatisfiable: %s\nwant a refusal", msg)
	}
}
