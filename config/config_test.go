package config_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/api/resource"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/kustomize/kyaml/resid"

	"github.com/xinfang/petition-operator/internal/version"
)

const (
	namespace  = "petition-operator-system"
	prefix     = "petition-operator-"
	deployment = prefix + "controller-manager"
	sa         = prefix + "controller-manager"
	registrySA = prefix + "petition-registry"
)

// repoRoot walks up from the working directory to the directory of go.mod.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the working directory")
		}
		dir = parent
	}
}

// build renders the kustomization in dir (relative to the repository root).
func build(t *testing.T, dir string) resmap.ResMap {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	m, err := k.Run(filesys.MakeFsOnDisk(), filepath.Join(repoRoot(t), dir))
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	return m
}

// decode converts a rendered resource into a typed object.
func decode(t *testing.T, r *resource.Resource, into any) {
	t.Helper()
	m, err := r.Map()
	if err != nil {
		t.Fatalf("%s: %v", r.CurId(), err)
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(m, into, true); err != nil {
		t.Fatalf("%s: %v", r.CurId(), err)
	}
}

func ofKind(m resmap.ResMap, kind string) []*resource.Resource {
	var out []*resource.Resource
	for _, r := range m.Resources() {
		if r.GetKind() == kind {
			out = append(out, r)
		}
	}
	return out
}

func TestDefaultCRDs(t *testing.T) {
	m := build(t, "config/default")
	var names []string
	for _, r := range ofKind(m, "CustomResourceDefinition") {
		names = append(names, r.GetName())
	}
	want := []string{
		"dutyperiods.petition.xinfang.io",
		"escalationpolicies.petition.xinfang.io",
		"holidaycalendars.petition.xinfang.io",
		"offices.petition.xinfang.io",
		"routingpolicies.petition.xinfang.io",
		"tenantdefaults.petition.xinfang.io",
	}
	slices.Sort(names)
	if !slices.Equal(names, want) {
		t.Errorf("CRDs = %v, want %v", names, want)
	}
}

func TestDefaultNamespace(t *testing.T) {
	m := build(t, "config/default")
	nss := ofKind(m, "Namespace")
	if len(nss) != 1 {
		t.Fatalf("%d Namespaces, want 1", len(nss))
	}
	var ns corev1.Namespace
	decode(t, nss[0], &ns)
	if ns.Name != namespace {
		t.Errorf("Namespace %q, want %q", ns.Name, namespace)
	}
	if got := ns.Labels["pod-security.kubernetes.io/enforce"]; got != "restricted" {
		t.Errorf("Namespace pod-security enforce = %q, want restricted", got)
	}
	// Every namespaced object lands in it.
	for _, r := range m.Resources() {
		switch r.GetKind() {
		case "Deployment", "Service", "ServiceAccount", "Role", "RoleBinding":
			if r.GetNamespace() != namespace {
				t.Errorf("%s in namespace %q, want %q", r.CurId(), r.GetNamespace(), namespace)
			}
		}
	}
}

func TestDefaultDeployment(t *testing.T) {
	m := build(t, "config/default")
	var dep *appsv1.Deployment
	for _, r := range ofKind(m, "Deployment") {
		if r.GetName() == deployment && r.GetNamespace() == namespace {
			dep = &appsv1.Deployment{}
			decode(t, r, dep)
		}
	}
	if dep == nil {
		t.Fatalf("no Deployment %s/%s", namespace, deployment)
	}
	pod := dep.Spec.Template.Spec
	if pod.ServiceAccountName != sa {
		t.Errorf("serviceAccountName = %q, want %q", pod.ServiceAccountName, sa)
	}
	psc := pod.SecurityContext
	if psc == nil {
		t.Fatal("no pod securityContext")
	}
	if psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot {
		t.Error("pod securityContext.runAsNonRoot is not true")
	}
	if psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Error("pod securityContext.seccompProfile is not RuntimeDefault")
	}
	if len(pod.Containers) == 0 {
		t.Fatal("no containers")
	}
	for _, c := range pod.Containers {
		sc := c.SecurityContext
		if sc == nil {
			t.Errorf("container %s: no securityContext", c.Name)
			continue
		}
		if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			t.Errorf("container %s: allowPrivilegeEscalation is not false", c.Name)
		}
		if sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) {
			t.Errorf("container %s: capabilities do not drop ALL", c.Name)
		}
		if sc.Capabilities != nil && len(sc.Capabilities.Add) > 0 {
			t.Errorf("container %s: capabilities add %v", c.Name, sc.Capabilities.Add)
		}
		if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
			t.Errorf("container %s: readOnlyRootFilesystem is not true", c.Name)
		}
		if sc.Privileged != nil && *sc.Privileged {
			t.Errorf("container %s: privileged", c.Name)
		}
		// A container-level setting overrides the pod's: it may only tighten.
		if sc.RunAsNonRoot != nil && !*sc.RunAsNonRoot {
			t.Errorf("container %s: runAsNonRoot false", c.Name)
		}
		if sc.SeccompProfile != nil && sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
			t.Errorf("container %s: seccompProfile %q", c.Name, sc.SeccompProfile.Type)
		}
	}

	c := pod.Containers[0]
	if want := "ghcr.io/xinfang/petition-operator:" + version.Release; c.Image != want {
		t.Errorf("image = %q, want %s", c.Image, want)
	}
	if want := "--tenant-image=ghcr.io/xinfang/petition-desk:" + version.Release; !slices.Contains(c.Args, want) {
		t.Errorf("args %v lack %s", c.Args, want)
	}
	for _, arg := range []string{"--leader-elect", "--metrics-bind-address=:8443", "--metrics-secure", "--health-probe-bind-address=:8081"} {
		if !slices.Contains(c.Args, arg) {
			t.Errorf("args %v lack %s", c.Args, arg)
		}
	}
	for name, p := range map[string]*corev1.Probe{"/healthz": c.LivenessProbe, "/readyz": c.ReadinessProbe} {
		if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != name || p.HTTPGet.Port.IntValue() != 8081 {
			t.Errorf("probe %s on :8081 missing or wrong: %+v", name, p)
		}
	}
}

// TestDefaultRBAC checks that every binding binds the manager's
// ServiceAccount to a role that is rendered. The roles' rules themselves
// (least privilege: no wildcard, no escalate, bind or impersonate) are
// checked for this and the chart's renderings by tools/test/packaging.
func TestDefaultRBAC(t *testing.T) {
	m := build(t, "config/default")
	if len(ofKind(m, "ClusterRole")) == 0 {
		t.Fatal("no ClusterRoles")
	}

	want := rbacv1.Subject{Kind: "ServiceAccount", Name: sa, Namespace: namespace}
	// The registries' ClusterRole is bound to their ServiceAccount, and
	// only that one.
	registry := rbacv1.Subject{Kind: "ServiceAccount", Name: registrySA, Namespace: namespace}
	var sawManager, sawRegistry bool
	for _, r := range ofKind(m, "ClusterRoleBinding") {
		var b rbacv1.ClusterRoleBinding
		decode(t, r, &b)
		// The generated ClusterRole manager-role gets the prefix like
		// every other object, and the roleRef follows it.
		subject := want
		switch b.RoleRef.Name {
		case prefix + "manager-role":
			sawManager = true
		case prefix + "registry-role":
			sawRegistry, subject = true, registry
		}
		if len(m.GetMatchingResourcesByAnyId(func(id resid.ResId) bool {
			return id.Kind == b.RoleRef.Kind && id.Name == b.RoleRef.Name
		})) != 1 {
			t.Errorf("ClusterRoleBinding %s: roleRef %s %s not rendered", b.Name, b.RoleRef.Kind, b.RoleRef.Name)
		}
		if !slices.Equal(b.Subjects, []rbacv1.Subject{subject}) {
			t.Errorf("ClusterRoleBinding %s: subjects %+v, want [%+v]", b.Name, b.Subjects, subject)
		}
	}
	if !sawManager || !sawRegistry {
		t.Errorf("ClusterRoleBindings to the manager ClusterRole: %v, to the registry's: %v; want both", sawManager, sawRegistry)
	}
	for _, r := range ofKind(m, "RoleBinding") {
		var b rbacv1.RoleBinding
		decode(t, r, &b)
		if !slices.Equal(b.Subjects, []rbacv1.Subject{want}) {
			t.Errorf("RoleBinding %s: subjects %+v, want [%+v]", b.Name, b.Subjects, want)
		}
	}
	var names []string
	for _, r := range ofKind(m, "ServiceAccount") {
		if r.GetNamespace() != namespace {
			t.Errorf("ServiceAccount %s in namespace %s, want %s", r.GetName(), r.GetNamespace(), namespace)
		}
		names = append(names, r.GetName())
	}
	slices.Sort(names)
	if want := []string{sa, registrySA}; !slices.Equal(names, want) {
		t.Errorf("ServiceAccounts %v, want %v", names, want)
	}
}

// TestDefaultCasesRBAC: the registries may only list and watch the kinds of
// a network and create TokenReviews; the manager reads and creates Secrets
// and writes CloudNativePG's objects in its own namespace only, never
// deleting a Cluster, and names the registries' ServiceAccount as rendered.
func TestDefaultCasesRBAC(t *testing.T) {
	m := build(t, "config/default")
	var registry rbacv1.ClusterRole
	var cases rbacv1.Role
	for _, r := range ofKind(m, "ClusterRole") {
		if r.GetName() == prefix+"registry-role" {
			decode(t, r, &registry)
		}
	}
	for _, r := range ofKind(m, "Role") {
		if r.GetName() == prefix+"cases-role" {
			decode(t, r, &cases)
		}
	}
	network := []string{"dutyperiods", "escalationpolicies", "holidaycalendars", "offices", "routingpolicies", "tenantdefaults"}
	wantRegistry := []rbacv1.PolicyRule{
		{APIGroups: []string{"petition.xinfang.io"}, Resources: network, Verbs: []string{"list", "watch"}},
		{APIGroups: []string{"authentication.k8s.io"}, Resources: []string{"tokenreviews"}, Verbs: []string{"create"}},
	}
	if !rulesEqual(registry.Rules, wantRegistry) {
		t.Errorf("registry ClusterRole rules %+v, want %+v", registry.Rules, wantRegistry)
	}
	wantCases := []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get", "create"}},
		{APIGroups: []string{"postgresql.cnpg.io"}, Resources: []string{"clusters"}, Verbs: []string{"get", "create", "patch"}},
		{APIGroups: []string{"postgresql.cnpg.io"}, Resources: []string{"scheduledbackups"}, Verbs: []string{"get", "create", "patch", "delete"}},
	}
	if cases.Namespace != namespace || !rulesEqual(cases.Rules, wantCases) {
		t.Errorf("cases Role in %q with rules %+v, want %s and %+v", cases.Namespace, cases.Rules, namespace, wantCases)
	}
	// Secrets and CloudNativePG are nowhere in a ClusterRole.
	for _, r := range ofKind(m, "ClusterRole") {
		var role rbacv1.ClusterRole
		decode(t, r, &role)
		for _, rule := range role.Rules {
			if slices.Contains(rule.Resources, "secrets") || slices.Contains(rule.APIGroups, "postgresql.cnpg.io") {
				t.Errorf("ClusterRole %s grants %v on %v", role.Name, rule.Verbs, rule.Resources)
			}
		}
	}
	for _, r := range ofKind(m, "Deployment") {
		var d appsv1.Deployment
		decode(t, r, &d)
		args := d.Spec.Template.Spec.Containers[0].Args
		if want := "--registry-service-account=" + registrySA; !slices.Contains(args, want) {
			t.Errorf("manager args %v lack %s", args, want)
		}
		if want := "--registry-image=ghcr.io/xinfang/petition-registry:" + version.Release; !slices.Contains(args, want) {
			t.Errorf("manager args %v lack %s", args, want)
		}
		var env []string
		for _, e := range d.Spec.Template.Spec.Containers[0].Env {
			if e.ValueFrom != nil && e.ValueFrom.FieldRef != nil {
				env = append(env, e.Name+"="+e.ValueFrom.FieldRef.FieldPath)
			}
		}
		if !slices.Contains(env, "POD_NAMESPACE=metadata.namespace") {
			t.Errorf("manager env %v lacks POD_NAMESPACE from metadata.namespace", env)
		}
	}
}

func rulesEqual(a, b []rbacv1.PolicyRule) bool {
	return slices.EqualFunc(a, b, func(x, y rbacv1.PolicyRule) bool {
		return slices.Equal(x.APIGroups, y.APIGroups) && slices.Equal(x.Resources, y.Resources) && slices.Equal(x.Verbs, y.Verbs) &&
			len(x.ResourceNames) == 0 && len(x.NonResourceURLs) == 0 && len(y.ResourceNames) == 0
	})
}

func TestSamples(t *testing.T) {
	m := build(t, "config/samples")
	if n := len(ofKind(m, "Office")); n != 20 {
		t.Errorf("%d Offices, want 20", n)
	}
}

func TestDefaultMetricsService(t *testing.T) {
	m := build(t, "config/default")
	var found bool
	for _, r := range ofKind(m, "Service") {
		var svc corev1.Service
		decode(t, r, &svc)
		if svc.Name != prefix+"controller-manager-metrics-service" {
			continue
		}
		found = true
		if svc.Namespace != namespace {
			t.Errorf("metrics Service in namespace %q, want %q", svc.Namespace, namespace)
		}
		if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Name != "https" ||
			svc.Spec.Ports[0].Port != 8443 || svc.Spec.Ports[0].TargetPort.IntValue() != 8443 {
			t.Errorf("metrics Service ports = %+v, want https 8443 -> 8443", svc.Spec.Ports)
		}
		if svc.Spec.Selector["control-plane"] != "controller-manager" {
			t.Errorf("metrics Service selector = %v", svc.Spec.Selector)
		}
	}
	if !found {
		t.Error("no metrics Service")
	}
	if n := len(ofKind(m, "ServiceMonitor")); n != 0 {
		t.Errorf("config/default renders %d ServiceMonitors; ../prometheus is optional", n)
	}
}

func TestPrometheus(t *testing.T) {
	m := build(t, "config/prometheus")
	// The manager's and the Cities' case registries'.
	if n := len(ofKind(m, "ServiceMonitor")); n != 2 {
		t.Errorf("%d ServiceMonitors, want 2", n)
	}
	// The alerts: tools/test/packaging holds them to the chart's.
	if n := len(ofKind(m, "PrometheusRule")); n != 1 {
		t.Errorf("%d PrometheusRules, want 1", n)
	}
}

// The admission policy judges the writes of the manager's ServiceAccount
// as the replacements of config/default name it, and its binding denies.
func TestDefaultAdmissionPolicy(t *testing.T) {
	m := build(t, "config/default")
	policies, bindings := ofKind(m, "ValidatingAdmissionPolicy"), ofKind(m, "ValidatingAdmissionPolicyBinding")
	if len(policies) != 1 || len(bindings) != 1 {
		t.Fatalf("%d ValidatingAdmissionPolicies and %d bindings, want 1 and 1", len(policies), len(bindings))
	}
	var p admissionv1.ValidatingAdmissionPolicy
	var b admissionv1.ValidatingAdmissionPolicyBinding
	decode(t, policies[0], &p)
	decode(t, bindings[0], &b)
	if p.Name != prefix+"tenant-scope" || b.Spec.PolicyName != p.Name ||
		!slices.Equal(b.Spec.ValidationActions, []admissionv1.ValidationAction{admissionv1.Deny}) {
		t.Errorf("policy %s, binding of %s with %v; want %stenant-scope and Deny", p.Name, b.Spec.PolicyName, b.Spec.ValidationActions, prefix)
	}
	want := "request.userInfo.username == 'system:serviceaccount:' + '" + namespace + "' + ':' + '" + sa + "'"
	if len(p.Spec.MatchConditions) != 1 || p.Spec.MatchConditions[0].Expression != want {
		t.Errorf("matchConditions %+v, want %s", p.Spec.MatchConditions, want)
	}
	// The case registries are written in the manager's namespace only.
	var sawCases bool
	for _, v := range p.Spec.Variables {
		if v.Name == "isCaseStore" {
			sawCases = strings.HasPrefix(v.Expression, "request.namespace == '"+namespace+"' &&")
		}
	}
	if !sawCases {
		t.Errorf("variable isCaseStore does not start with request.namespace == '%s': %+v", namespace, p.Spec.Variables)
	}
}
