package packaging_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/xinfang/petition-operator/internal/version"
)

// The names of the same objects in the chart (release petition-operator)
// and in config/default.
const (
	helmDeployment = release
	kusDeployment  = prefix + "controller-manager"
	helmWebhookSvc = release + "-webhook-service"
	kusWebhookSvc  = prefix + "webhook-service"
	validatingName = prefix + "validating-webhook-configuration"
	mutatingName   = prefix + "mutating-webhook-configuration"
)

// roles names each ClusterRole or Role by what it is for, in the chart and
// in config/default.
var roles = []struct {
	what, kind, helm, kustomize string
}{
	{"manager", "ClusterRole", release + "-manager", prefix + "manager-role"},
	{"leader election", "Role", release + "-leader-election", prefix + "leader-election-role"},
	{"metrics auth", "ClusterRole", release + "-metrics-auth", prefix + "metrics-auth-role"},
	{"metrics reader", "ClusterRole", release + "-metrics-reader", prefix + "metrics-reader"},
	{"webhook CA", "ClusterRole", release + "-webhook-ca", prefix + "webhook-ca-role"},
	{"webhook certificate", "Role", release + "-webhook-cert", prefix + "webhook-cert-role"},
	{"case stores", "Role", release + "-cases", prefix + "cases-role"},
	{"registry", "ClusterRole", release + "-registry", prefix + "registry-role"},
}

// webhookCertSecret is the Secret of the webhook certificate in both
// renders.
const webhookCertSecret = prefix + "webhook-cert"

// manager returns the manager's Deployment of a rendering, its only one.
func manager(t *testing.T, r rendering) appsv1.Deployment {
	t.Helper()
	var dep appsv1.Deployment
	r.one(t, "Deployment", "", &dep)
	if n := len(dep.Spec.Template.Spec.Containers); n != 1 {
		t.Fatalf("%s: %d containers, want 1", r.name, n)
	}
	return dep
}

// managerFlags are the manager flags that decide how it runs in a cluster,
// with the defaults of cmd/manager for a flag not passed.
var managerFlags = map[string]string{
	"--leader-elect":                     "false",
	"--leader-election-id":               "petition-operator.petition.xinfang.io",
	"--leader-elect-lease-duration":      "8s",
	"--leader-elect-renew-deadline":      "5s",
	"--leader-elect-retry-period":        "1s",
	"--metrics-bind-address":             ":8080",
	"--metrics-secure":                   "false",
	"--health-probe-bind-address":        ":8081",
	"--enable-webhooks":                  "true",
	"--webhook-port":                     "9443",
	"--webhook-cert-dir":                 "",
	"--webhook-self-signed-hosts":        "",
	"--webhook-cert-secret":              "",
	"--webhook-cert-secret-namespace":    "",
	"--validating-webhook-configuration": validatingName,
	"--mutating-webhook-configuration":   mutatingName,
	"--graceful-shutdown-timeout":        "30s",
	"--ingress-namespace":                "ingress-nginx",
	"--watch-label-selector":             "",
	"--registry-image":                   "ghcr.io/xinfang/petition-registry:" + version.ImageTag(),
}

// flags returns the value of each flag of managerFlags as the manager sees
// it: passed (a bare boolean flag is "true") or its default.
func flags(t *testing.T, args []string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, a := range args {
		name, value, ok := strings.Cut(a, "=")
		if !ok {
			value = "true"
		}
		if _, dup := out[name]; dup {
			t.Errorf("flag %s passed twice in %v", name, args)
		}
		out[name] = value
	}
	for name, def := range managerFlags {
		if _, ok := out[name]; !ok {
			out[name] = def
		}
	}
	return out
}

// TestChartAgreesWithKustomize renders the chart with its default values as
// `make deploy` installs it and config/default as `kubectl apply -k` does,
// and checks that they install the same operator.
func TestChartAgreesWithKustomize(t *testing.T) {
	h := renderChart(t)
	k := renderKustomize(t, "config/default")

	t.Run("CRDs", func(t *testing.T) {
		hc, kc := crds(t, h), crds(t, k)
		names := func(m map[string]apiextensionsv1.CustomResourceDefinition) []string {
			var out []string
			for n := range m {
				out = append(out, n)
			}
			slices.Sort(out)
			return out
		}
		want := []string{
			"dutyperiods.petition.xinfang.io",
			"escalationpolicies.petition.xinfang.io", "holidaycalendars.petition.xinfang.io",
			"offices.petition.xinfang.io", "routingpolicies.petition.xinfang.io",
			"tenantdefaults.petition.xinfang.io",
		}
		if !slices.Equal(names(hc), want) || !slices.Equal(names(kc), want) {
			t.Fatalf("CRDs: chart %v, kustomize %v, want %v", names(hc), names(kc), want)
		}
		for _, n := range want {
			if !equality.Semantic.DeepEqual(hc[n].Spec, kc[n].Spec) {
				t.Errorf("CRD %s: the chart's spec differs from config/crd's (run make manifests)", n)
			}
		}
	})

	t.Run("RBAC", func(t *testing.T) {
		generated := readManagerRole(t)
		for _, role := range roles {
			hr, kr := rules(t, h, role.kind, role.helm), rules(t, k, role.kind, role.kustomize)
			if !equality.Semantic.DeepEqual(hr, kr) {
				t.Errorf("%s %s: chart rules\n%s\nkustomize rules\n%s", role.what, role.kind, toYAML(hr), toYAML(kr))
			}
			if role.what == "manager" && !equality.Semantic.DeepEqual(hr, generated) {
				t.Errorf("the chart's manager rules are not config/rbac/role.yaml's (run make manifests)")
			}
		}
		for _, r := range []rendering{h, k} {
			checkBindings(t, r)
		}
		// Leader election and events, in the release namespace only.
		var lr rbacv1.Role
		h.one(t, "Role", release+"-leader-election", &lr)
		if lr.Namespace != namespace {
			t.Errorf("leader election Role in %q, want %q", lr.Namespace, namespace)
		}
		if !hasRule(lr.Rules, "coordination.k8s.io", "leases", "get", "list", "watch", "create", "update", "patch", "delete") {
			t.Errorf("leader election Role lacks leases: %s", toYAML(lr.Rules))
		}
		if !hasRule(lr.Rules, "events.k8s.io", "events", "create", "patch") {
			t.Errorf("leader election Role lacks events: %s", toYAML(lr.Rules))
		}
		var auth rbacv1.ClusterRole
		h.one(t, "ClusterRole", release+"-metrics-auth", &auth)
		if !hasRule(auth.Rules, "authentication.k8s.io", "tokenreviews", "create") ||
			!hasRule(auth.Rules, "authorization.k8s.io", "subjectaccessreviews", "create") || len(auth.Rules) != 2 {
			t.Errorf("metrics auth ClusterRole: %s", toYAML(auth.Rules))
		}
	})

	t.Run("manager", func(t *testing.T) {
		hd, kd := manager(t, h), manager(t, k)
		hp, kp := hd.Spec.Template.Spec, kd.Spec.Template.Spec
		hf, kf := flags(t, hp.Containers[0].Args), flags(t, kp.Containers[0].Args)
		for name := range managerFlags {
			if hf[name] != kf[name] {
				t.Errorf("%s: chart %q, kustomize %q", name, hf[name], kf[name])
			}
		}
		for name, want := range map[string]string{
			"--leader-elect":                     "true",
			"--metrics-secure":                   "true",
			"--metrics-bind-address":             ":8443",
			"--webhook-cert-dir":                 "/tmp/k8s-webhook-server/serving-certs",
			"--webhook-self-signed-hosts":        helmWebhookSvc + "." + namespace + ".svc",
			"--webhook-cert-secret":              webhookCertSecret,
			"--webhook-cert-secret-namespace":    namespace,
			"--validating-webhook-configuration": validatingName,
			"--mutating-webhook-configuration":   mutatingName,
			"--enable-webhooks":                  "true",
		} {
			if hf[name] != want {
				t.Errorf("%s = %q, want %q", name, hf[name], want)
			}
		}
		for _, d := range []appsv1.Deployment{hd, kd} {
			checkRolling(t, d)
		}
		if !equality.Semantic.DeepEqual(hd.Spec.Strategy, kd.Spec.Strategy) || *hd.Spec.Replicas != *kd.Spec.Replicas {
			t.Errorf("replicas and strategy: chart %d %s, kustomize %d %s", *hd.Spec.Replicas, toYAML(hd.Spec.Strategy), *kd.Spec.Replicas, toYAML(kd.Spec.Strategy))
		}
		hc, kc := hp.Containers[0], kp.Containers[0]
		for what, pair := range map[string][2]any{
			"pod securityContext":           {hp.SecurityContext, kp.SecurityContext},
			"container securityContext":     {hc.SecurityContext, kc.SecurityContext},
			"resources":                     {hc.Resources, kc.Resources},
			"env":                           {hc.Env, kc.Env},
			"ports":                         {hc.Ports, kc.Ports},
			"probes":                        {[]*corev1.Probe{hc.LivenessProbe, hc.ReadinessProbe}, []*corev1.Probe{kc.LivenessProbe, kc.ReadinessProbe}},
			"terminationGracePeriodSeconds": {hp.TerminationGracePeriodSeconds, kp.TerminationGracePeriodSeconds},
			"automountServiceAccountToken":  {hp.AutomountServiceAccountToken, kp.AutomountServiceAccountToken},
		} {
			if !equality.Semantic.DeepEqual(pair[0], pair[1]) {
				t.Errorf("%s: chart\n%s\nkustomize\n%s", what, toYAML(pair[0]), toYAML(pair[1]))
			}
		}
		if !equality.Semantic.DeepEqual(mounts(hp), mounts(kp)) {
			t.Errorf("volumes: chart %v, kustomize %v", mounts(hp), mounts(kp))
		}
		checkManagerPod(t, h.name, hp)
		checkManagerPod(t, k.name, kp)
	})

	t.Run("webhooks", func(t *testing.T) {
		var hv, kv, gv admissionv1.ValidatingWebhookConfiguration
		var hm, km, gm admissionv1.MutatingWebhookConfiguration
		h.one(t, "ValidatingWebhookConfiguration", validatingName, &hv)
		k.one(t, "ValidatingWebhookConfiguration", validatingName, &kv)
		h.one(t, "MutatingWebhookConfiguration", mutatingName, &hm)
		k.one(t, "MutatingWebhookConfiguration", mutatingName, &km)
		generated := renderKustomize(t, "config/webhook")
		generated.one(t, "ValidatingWebhookConfiguration", "validating-webhook-configuration", &gv)
		generated.one(t, "MutatingWebhookConfiguration", "mutating-webhook-configuration", &gm)
		// The generated configurations call Service webhook-service in
		// namespace system; the renders, the release's.
		for i := range gv.Webhooks {
			gv.Webhooks[i].ClientConfig.Service.Name, gv.Webhooks[i].ClientConfig.Service.Namespace = helmWebhookSvc, namespace
		}
		for i := range gm.Webhooks {
			gm.Webhooks[i].ClientConfig.Service.Name, gm.Webhooks[i].ClientConfig.Service.Namespace = helmWebhookSvc, namespace
		}
		if helmWebhookSvc != kusWebhookSvc {
			t.Fatalf("the chart's webhook Service %s is not config/default's %s", helmWebhookSvc, kusWebhookSvc)
		}
		for what, pair := range map[string][3]any{
			"validating": {hv.Webhooks, kv.Webhooks, gv.Webhooks},
			"mutating":   {hm.Webhooks, km.Webhooks, gm.Webhooks},
		} {
			if !equality.Semantic.DeepEqual(pair[0], pair[2]) {
				t.Errorf("%s webhooks: chart\n%s\ngenerated\n%s", what, toYAML(pair[0]), toYAML(pair[2]))
			}
			if !equality.Semantic.DeepEqual(pair[1], pair[2]) {
				t.Errorf("%s webhooks: kustomize\n%s\ngenerated\n%s", what, toYAML(pair[1]), toYAML(pair[2]))
			}
		}
		for _, w := range hv.Webhooks {
			if w.FailurePolicy == nil || *w.FailurePolicy != admissionv1.Fail {
				t.Errorf("webhook %s: failurePolicy %v, want Fail as generated", w.Name, ptr.Deref(w.FailurePolicy, ""))
			}
		}
		var hs, ks corev1.Service
		h.one(t, "Service", helmWebhookSvc, &hs)
		k.one(t, "Service", kusWebhookSvc, &ks)
		for _, s := range []corev1.Service{hs, ks} {
			if s.Namespace != namespace || len(s.Spec.Ports) != 1 || s.Spec.Ports[0].Port != 443 || s.Spec.Ports[0].TargetPort.StrVal != "webhook" {
				t.Errorf("webhook Service %s/%s: %+v, want 443 to port webhook", s.Namespace, s.Name, s.Spec.Ports)
			}
		}
		checkSelects(t, h, hs.Spec.Selector)
		checkSelects(t, k, ks.Spec.Selector)
		var ca rbacv1.ClusterRole
		h.one(t, "ClusterRole", release+"-webhook-ca", &ca)
		want := map[string]string{"validatingwebhookconfigurations": validatingName, "mutatingwebhookconfigurations": mutatingName}
		for _, rule := range ca.Rules {
			if len(rule.Resources) != 1 || !slices.Equal(rule.ResourceNames, []string{want[rule.Resources[0]]}) || !slices.Equal(rule.Verbs, []string{"get", "patch"}) {
				t.Errorf("webhook CA rule %+v: want get and patch of %v only", rule, want)
			}
		}
	})

	t.Run("webhook certificate", func(t *testing.T) {
		for _, r := range []rendering{h, k} {
			checkCertRole(t, r)
		}
	})

	t.Run("disruption budget", func(t *testing.T) {
		for _, r := range []rendering{h, k} {
			checkPDB(t, r)
		}
	})

	t.Run("admission policy", func(t *testing.T) {
		checkAdmissionPolicies(t, h, k)
	})

	t.Run("metrics", func(t *testing.T) {
		var hs, ks corev1.Service
		h.one(t, "Service", release+"-metrics", &hs)
		k.one(t, "Service", prefix+"controller-manager-metrics-service", &ks)
		for _, s := range []corev1.Service{hs, ks} {
			if len(s.Spec.Ports) != 1 || s.Spec.Ports[0].Name != "https" || s.Spec.Ports[0].Port != 8443 {
				t.Errorf("metrics Service %s: %+v, want https 8443", s.Name, s.Spec.Ports)
			}
		}
		checkSelects(t, h, hs.Spec.Selector)
		checkSelects(t, k, ks.Spec.Selector)
	})
}

// checkRolling checks that a Deployment has two replicas and rolls one new
// pod in before it takes an old one out: the webhooks always have a server.
func checkRolling(t *testing.T, d appsv1.Deployment) {
	t.Helper()
	s := d.Spec.Strategy
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 2 {
		t.Errorf("Deployment %s: replicas %v, want 2", d.Name, d.Spec.Replicas)
	}
	if s.Type != appsv1.RollingUpdateDeploymentStrategyType || s.RollingUpdate == nil ||
		s.RollingUpdate.MaxUnavailable == nil || s.RollingUpdate.MaxUnavailable.IntValue() != 0 ||
		s.RollingUpdate.MaxSurge == nil || s.RollingUpdate.MaxSurge.IntValue() != 1 {
		t.Errorf("Deployment %s: strategy %s, want RollingUpdate with maxUnavailable 0 and maxSurge 1", d.Name, toYAML(s))
	}
}

// checkCertRole checks the Role of the webhook certificate's Secret in a
// rendering: get and update of the Secret the manager is told to use, by
// name, create of Secrets (RBAC cannot name what does not exist yet), in
// the manager's namespace, and nothing else.
func checkCertRole(t *testing.T, r rendering) {
	t.Helper()
	dep := manager(t, r)
	f := flags(t, dep.Spec.Template.Spec.Containers[0].Args)
	var roles []rbacv1.Role
	for _, o := range r.find("Role", "") {
		var role rbacv1.Role
		convert(t, o, &role)
		// The case stores' Role has Secrets too (config's TestDefaultCasesRBAC).
		if strings.HasSuffix(role.Name, "-cases") || strings.HasSuffix(role.Name, "-cases-role") {
			continue
		}
		if slices.ContainsFunc(role.Rules, func(rule rbacv1.PolicyRule) bool { return slices.Contains(rule.Resources, "secrets") }) {
			roles = append(roles, role)
		}
	}
	if len(roles) != 1 {
		t.Fatalf("%s: %d Roles on secrets, want 1", r.name, len(roles))
	}
	role := roles[0]
	if role.Namespace != dep.Namespace || f["--webhook-cert-secret-namespace"] != dep.Namespace {
		t.Errorf("%s: Role %s in %q, the Secret in %q, want both in the manager's namespace %q", r.name, role.Name, role.Namespace, f["--webhook-cert-secret-namespace"], dep.Namespace)
	}
	want := []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"secrets"}, ResourceNames: []string{f["--webhook-cert-secret"]}, Verbs: []string{"get", "update"}},
		{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"create"}},
	}
	if f["--webhook-cert-secret"] == "" || !equality.Semantic.DeepEqual(role.Rules, want) {
		t.Errorf("%s: Role %s rules\n%s\nwant\n%s", r.name, role.Name, toYAML(role.Rules), toYAML(want))
	}
	var cluster int
	for _, o := range r.find("ClusterRole", "") {
		var cr rbacv1.ClusterRole
		convert(t, o, &cr)
		for _, rule := range cr.Rules {
			if slices.Contains(rule.Resources, "secrets") {
				cluster++
			}
		}
	}
	if cluster != 0 {
		t.Errorf("%s: %d ClusterRole rules on secrets, want none", r.name, cluster)
	}
}

// checkPDB checks that a rendering has one PodDisruptionBudget, keeping one
// manager pod.
func checkPDB(t *testing.T, r rendering) {
	t.Helper()
	var pdb policyv1.PodDisruptionBudget
	r.one(t, "PodDisruptionBudget", "", &pdb)
	if pdb.Spec.MinAvailable == nil || pdb.Spec.MinAvailable.IntValue() != 1 || pdb.Spec.MaxUnavailable != nil {
		t.Errorf("%s: PodDisruptionBudget %s: %s, want minAvailable 1", r.name, pdb.Name, toYAML(pdb.Spec))
	}
	if pdb.Namespace != manager(t, r).Namespace || pdb.Spec.Selector == nil {
		t.Fatalf("%s: PodDisruptionBudget %s/%s: not in the manager's namespace, or no selector", r.name, pdb.Namespace, pdb.Name)
	}
	checkSelects(t, r, pdb.Spec.Selector.MatchLabels)
}

// crds returns the CRDs of a rendering by name.
func crds(t *testing.T, r rendering) map[string]apiextensionsv1.CustomResourceDefinition {
	t.Helper()
	out := map[string]apiextensionsv1.CustomResourceDefinition{}
	for _, o := range r.find("CustomResourceDefinition", "") {
		var crd apiextensionsv1.CustomResourceDefinition
		convert(t, o, &crd)
		out[crd.Name] = crd
	}
	return out
}

// rules returns the rules of a ClusterRole or Role of a rendering.
func rules(t *testing.T, r rendering, kind, name string) []rbacv1.PolicyRule {
	t.Helper()
	if kind == "Role" {
		var role rbacv1.Role
		r.one(t, kind, name, &role)
		return role.Rules
	}
	var role rbacv1.ClusterRole
	r.one(t, kind, name, &role)
	return role.Rules
}

// readManagerRole reads the rules controller-gen generates from the RBAC
// markers.
func readManagerRole(t *testing.T) []rbacv1.PolicyRule {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot(t), "config", "rbac", "role.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var role rbacv1.ClusterRole
	if err := yaml.UnmarshalStrict(data, &role); err != nil {
		t.Fatal(err)
	}
	return role.Rules
}

func hasRule(rules []rbacv1.PolicyRule, group, resource string, verbs ...string) bool {
	for _, r := range rules {
		if slices.Contains(r.APIGroups, group) && slices.Contains(r.Resources, resource) {
			var missing bool
			for _, v := range verbs {
				missing = missing || !slices.Contains(r.Verbs, v)
			}
			if !missing {
				return true
			}
		}
	}
	return false
}

// checkBindings checks that every binding of a rendering binds a role of
// the rendering to the manager's ServiceAccount, and nothing else.
func checkBindings(t *testing.T, r rendering) {
	t.Helper()
	dep := manager(t, r)
	manager := []rbacv1.Subject{{Kind: "ServiceAccount", Name: dep.Spec.Template.Spec.ServiceAccountName, Namespace: dep.Namespace}}
	// The registry's ClusterRole is bound to the registries' ServiceAccount,
	// which the manager names.
	registry := []rbacv1.Subject{{Kind: "ServiceAccount", Name: flags(t, dep.Spec.Template.Spec.Containers[0].Args)["--registry-service-account"], Namespace: dep.Namespace}}
	for _, want := range [][]rbacv1.Subject{manager, registry} {
		if len(r.find("ServiceAccount", want[0].Name)) != 1 {
			t.Errorf("%s: no ServiceAccount %s", r.name, want[0].Name)
		}
	}
	var n int
	for _, kind := range []string{"ClusterRoleBinding", "RoleBinding"} {
		for _, o := range r.find(kind, "") {
			var b rbacv1.RoleBinding // the fields a ClusterRoleBinding has too
			convert(t, o, &b)
			if len(r.find(b.RoleRef.Kind, b.RoleRef.Name)) != 1 {
				t.Errorf("%s: %s %s binds %s %s, which it does not render", r.name, kind, b.Name, b.RoleRef.Kind, b.RoleRef.Name)
			}
			want := manager
			if strings.HasSuffix(b.RoleRef.Name, "registry-role") || b.RoleRef.Name == release+"-registry" {
				want = registry
			}
			if !equality.Semantic.DeepEqual(b.Subjects, want) {
				t.Errorf("%s: %s %s binds %+v, want %+v", r.name, kind, b.Name, b.Subjects, want)
			}
			n++
		}
	}
	if n == 0 {
		t.Errorf("%s: no bindings", r.name)
	}
}

// checkSelects checks that a Service's selector selects the manager's pods.
func checkSelects(t *testing.T, r rendering, selector map[string]string) {
	t.Helper()
	labels := manager(t, r).Spec.Template.Labels
	if len(selector) == 0 {
		t.Errorf("%s: empty selector", r.name)
	}
	for k, v := range selector {
		if labels[k] != v {
			t.Errorf("%s: selector %v does not select the manager's pods %v", r.name, selector, labels)
		}
	}
}

// mounts lists each volume mount of the manager as "path=volume source".
func mounts(pod corev1.PodSpec) []string {
	var out []string
	for _, m := range pod.Containers[0].VolumeMounts {
		for _, v := range pod.Volumes {
			if v.Name == m.Name {
				source := "?"
				switch {
				case v.EmptyDir != nil:
					source = "emptyDir"
				case v.Secret != nil:
					source = "secret " + v.Secret.SecretName
				case v.Projected != nil && len(v.Projected.Sources) == 1 && v.Projected.Sources[0].ServiceAccountToken != nil:
					source = "token for " + v.Projected.Sources[0].ServiceAccountToken.Audience
				}
				out = append(out, fmt.Sprintf("%s=%s", m.MountPath, source))
			}
		}
	}
	slices.Sort(out)
	return out
}

// checkManagerPod checks what both renders must give the manager whatever
// the values: the memory limit in the environment, a grace period above the
// shutdown timeout, its own ServiceAccount token.
func checkManagerPod(t *testing.T, name string, pod corev1.PodSpec) {
	t.Helper()
	c := pod.Containers[0]
	var env *corev1.EnvVar
	for i := range c.Env {
		if c.Env[i].Name == "PETITION_MEMORY_LIMIT" {
			env = &c.Env[i]
		}
	}
	if env == nil || env.ValueFrom == nil || env.ValueFrom.ResourceFieldRef == nil ||
		env.ValueFrom.ResourceFieldRef.ContainerName != "manager" || env.ValueFrom.ResourceFieldRef.Resource != "limits.memory" {
		t.Errorf("%s: PETITION_MEMORY_LIMIT is not limits.memory of the manager: %+v", name, env)
	}
	if c.Name != "manager" {
		t.Errorf("%s: container %q, want manager", name, c.Name)
	}
	if _, ok := c.Resources.Limits[corev1.ResourceMemory]; !ok {
		t.Errorf("%s: no memory limit", name)
	}
	if pod.AutomountServiceAccountToken == nil || !*pod.AutomountServiceAccountToken {
		t.Errorf("%s: the manager's pod does not mount its ServiceAccount token", name)
	}
	timeout := flags(t, c.Args)["--graceful-shutdown-timeout"]
	if pod.TerminationGracePeriodSeconds == nil {
		t.Fatalf("%s: no terminationGracePeriodSeconds", name)
	}
	secs, err := durationSeconds(timeout)
	if err != nil {
		t.Fatalf("%s: --graceful-shutdown-timeout %q: %v", name, timeout, err)
	}
	if *pod.TerminationGracePeriodSeconds <= secs {
		t.Errorf("%s: terminationGracePeriodSeconds %d is not above --graceful-shutdown-timeout %s", name, *pod.TerminationGracePeriodSeconds, timeout)
	}
}

func durationSeconds(s string) (int64, error) {
	var n int64
	var unit string
	if _, err := fmt.Sscanf(s, "%d%s", &n, &unit); err != nil {
		return 0, err
	}
	switch unit {
	case "s":
		return n, nil
	case "m":
		return 60 * n, nil
	}
	return 0, fmt.Errorf("unit %q", unit)
}

// TestDefaultSizing checks the default resources against the benchmark's
// peak RSS at 2,000 offices (docs/performance.md): the request holds it.
func TestDefaultSizing(t *testing.T) {
	c := manager(t, renderChart(t)).Spec.Template.Spec.Containers[0]
	want := corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("320Mi")},
		Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("640Mi")},
	}
	if !equality.Semantic.DeepEqual(c.Resources, want) {
		t.Errorf("resources %s, want %s", toYAML(c.Resources), toYAML(want))
	}
	if peak := resource.MustParse("319Mi"); c.Resources.Requests.Memory().Cmp(peak) <= 0 {
		t.Errorf("memory request %s does not hold the peak RSS at 2,000 offices, %s", c.Resources.Requests.Memory(), &peak)
	}
}

func toYAML(v any) string {
	data, err := yaml.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(data)
}
