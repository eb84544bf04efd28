package tenant

import (
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"

	"github.com/xinfang/petition-operator/api/v1alpha1"
)

func input(mutate func(*v1alpha1.Office)) Input {
	o := &v1alpha1.Office{
		ObjectMeta: metav1.ObjectMeta{Name: "zhenping-county"},
		Spec:       v1alpha1.OfficeSpec{Level: v1alpha1.LevelCounty, Parent: "nanyang-city"},
	}
	if mutate != nil {
		mutate(o)
	}
	return Input{Office: o, Config: []byte(`{"office":"zhenping-county"}`), ConfigHash: "0123456789abcdef",
		DefaultImage: "ghcr.io/xinfang/petition-desk:v1", IngressNamespace: "ingress-nginx", City: "nanyang-city"}
}

// withRegistry is input with the City's case registry.
func withRegistry(mutate func(*v1alpha1.Office)) Input {
	in := input(mutate)
	in.Registry = &RegistryRef{URL: "http://cases-nanyang-city.petition-system.svc:8080", Namespace: "petition-system"}
	return in
}

func byID(t *testing.T, objs []*unstructured.Unstructured) map[string]*unstructured.Unstructured {
	t.Helper()
	m := map[string]*unstructured.Unstructured{}
	for _, o := range objs {
		name := o.GetName()
		if o.GetKind() == "ConfigMap" {
			name = "desk-config"
		}
		m[o.GetKind()+"/"+name] = o
	}
	return m
}

func str(t *testing.T, o *unstructured.Unstructured, path ...string) string {
	t.Helper()
	v, _, err := unstructured.NestedFieldNoCopy(o.Object, path...)
	if err != nil {
		t.Fatalf("%s: %v", strings.Join(path, "."), err)
	}
	s, _ := v.(string)
	return s
}

func container(t *testing.T, deploy *unstructured.Unstructured) map[string]any {
	t.Helper()
	cs, _, _ := unstructured.NestedSlice(deploy.Object, "spec", "template", "spec", "containers")
	if len(cs) != 1 {
		t.Fatalf("want one container, got %d", len(cs))
	}
	return cs[0].(map[string]any)
}

func TestRenderDefaultStack(t *testing.T) {
	objs, err := RenderContext(t.Context(), input(nil))
	if err != nil {
		t.Fatal(err)
	}
	m := byID(t, objs)
	want := []string{"Namespace/office-zhenping-county", "ServiceAccount/desk", "ResourceQuota/tenant", "LimitRange/tenant",
		"ConfigMap/desk-config", "Deployment/desk", "Service/desk", "NetworkPolicy/default-deny", "NetworkPolicy/desk"}
	if len(objs) != len(want) {
		t.Errorf("rendered %d objects, want %d: %v", len(objs), len(want), keys(m))
	}
	for _, id := range want {
		o, ok := m[id]
		if !ok {
			t.Errorf("missing %s; have %v", id, keys(m))
			continue
		}
		if o.GetLabels()[LabelManagedBy] != ManagedBy || o.GetLabels()[LabelOffice] != "zhenping-county" {
			t.Errorf("%s labels = %v", id, o.GetLabels())
		}
		if o.GetKind() != "Namespace" && o.GetNamespace() != "office-zhenping-county" {
			t.Errorf("%s namespace = %q", id, o.GetNamespace())
		}
	}
	if _, ok := m["PodDisruptionBudget/desk"]; ok {
		t.Error("a PodDisruptionBudget was rendered for one replica")
	}
	ns := m["Namespace/office-zhenping-county"]
	if ns.GetLabels()["pod-security.kubernetes.io/enforce"] != "restricted" {
		t.Errorf("namespace labels = %v", ns.GetLabels())
	}

	cm := m["ConfigMap/desk-config"]
	if !strings.HasPrefix(cm.GetName(), "desk-config-") || len(cm.GetName()) <= len("desk-config-") {
		t.Errorf("ConfigMap name %q has no hash suffix", cm.GetName())
	}
	if got := str(t, cm, "data", "office.json"); got != `{"office":"zhenping-county"}` {
		t.Errorf("office.json = %q", got)
	}
	// Immutable: the operator caches ConfigMaps as metadata only.
	if immutable, _, _ := unstructured.NestedBool(cm.Object, "immutable"); !immutable {
		t.Error("the ConfigMap is not immutable")
	}
	deploy := m["Deployment/desk"]
	vols, _, _ := unstructured.NestedSlice(deploy.Object, "spec", "template", "spec", "volumes")
	if got := vols[0].(map[string]any)["configMap"].(map[string]any)["name"]; got != cm.GetName() {
		t.Errorf("Deployment mounts ConfigMap %v, want %s", got, cm.GetName())
	}
	if got := deploy.GetLabels(); got[LabelOffice] != "zhenping-county" {
		t.Errorf("deployment labels = %v", got)
	}
	if got := str(t, deploy, "spec", "template", "metadata", "labels", LabelConfigHash); got != "0123456789abcdef" {
		t.Errorf("pod template config hash = %q", got)
	}
	c := container(t, deploy)
	if c["image"] != "ghcr.io/xinfang/petition-desk:v1" {
		t.Errorf("image = %v", c["image"])
	}
	sc := c["securityContext"].(map[string]any)
	if sc["allowPrivilegeEscalation"] != false || sc["readOnlyRootFilesystem"] != true ||
		len(sc["capabilities"].(map[string]any)["drop"].([]any)) != 1 {
		t.Errorf("container securityContext = %v", sc)
	}
	psc, _, _ := unstructured.NestedMap(deploy.Object, "spec", "template", "spec", "securityContext")
	if psc["runAsNonRoot"] != true || psc["seccompProfile"].(map[string]any)["type"] != "RuntimeDefault" {
		t.Errorf("pod securityContext = %v", psc)
	}
	checkDeskPorts(t, c, m["Service/desk"], m["NetworkPolicy/desk"])
}

// checkDeskPorts checks the desk's three ports: the public one (8080) for
// the platform ingress behind the Service's port 80, the peer one (8081)
// for other offices' desks behind the Service's port 8081, the probes'
// (8082) in the probes and no Service or NetworkPolicy rule.
func checkDeskPorts(t *testing.T, c map[string]any, svc, np *unstructured.Unstructured) {
	t.Helper()
	ports := map[string]int64{}
	for _, p := range c["ports"].([]any) {
		p := p.(map[string]any)
		ports[p["name"].(string)] = p["containerPort"].(int64)
	}
	if want := map[string]int64{"http": 8080, "peer": 8081, "probes": 8082}; !equality.Semantic.DeepEqual(ports, want) {
		t.Errorf("container ports = %v, want %v", ports, want)
	}
	args := strings.Join(anyStrings(c["args"]), " ")
	for _, a := range []string{"--addr=:8080", "--peer-addr=:8081", "--probe-addr=:8082"} {
		if !strings.Contains(args, a) {
			t.Errorf("args %q lack %s", args, a)
		}
	}
	for name, path := range map[string]string{"readinessProbe": "/readyz", "livenessProbe": "/healthz"} {
		get, _ := c[name].(map[string]any)["httpGet"].(map[string]any)
		if get["path"] != path || get["port"] != "probes" {
			t.Errorf("%s = %v, want %s on port probes", name, c[name], path)
		}
	}
	svcPorts, _, _ := unstructured.NestedSlice(svc.Object, "spec", "ports")
	var got []string
	for _, p := range svcPorts {
		p := p.(map[string]any)
		got = append(got, fmt.Sprintf("%s %d→%s", p["name"], p["port"], p["targetPort"]))
	}
	if want := []string{"http 80→http", "peer 8081→peer"}; !equality.Semantic.DeepEqual(got, want) {
		t.Errorf("Service ports = %q, want %q", got, want)
	}

	// Ingress: the platform ingress to 8080, other offices' desks to 8081,
	// nothing else; egress to other desks' 8081 and DNS.
	ingress, _, _ := unstructured.NestedSlice(np.Object, "spec", "ingress")
	egress, _, _ := unstructured.NestedSlice(np.Object, "spec", "egress")
	rule := func(r any) string {
		r0 := r.(map[string]any)
		var peers, ports []string
		for _, key := range []string{"from", "to"} {
			for _, p := range anySlice(r0[key]) {
				p := p.(map[string]any)
				ns, _, _ := unstructured.NestedStringMap(p, "namespaceSelector", "matchLabels")
				pods, _, _ := unstructured.NestedStringMap(p, "podSelector", "matchLabels")
				peers = append(peers, fmt.Sprintf("ns %v pods %v", ns, pods))
			}
		}
		for _, p := range anySlice(r0["ports"]) {
			p := p.(map[string]any)
			ports = append(ports, fmt.Sprintf("%v/%v", p["port"], p["protocol"]))
		}
		return strings.Join(peers, ", ") + " → " + strings.Join(ports, " ")
	}
	var rules []string
	for _, r := range ingress {
		rules = append(rules, "in "+rule(r))
	}
	for _, r := range egress {
		rules = append(rules, "out "+rule(r))
	}
	desks := "ns map[app.kubernetes.io/managed-by:petition-operator] pods map[app.kubernetes.io/name:desk]"
	want := []string{
		"in ns map[kubernetes.io/metadata.name:ingress-nginx] pods map[] → 8080/TCP",
		"in " + desks + " → 8081/TCP",
		"out " + desks + " → 8081/TCP",
		"out ns map[kubernetes.io/metadata.name:kube-system] pods map[] → 53/UDP 53/TCP",
	}
	if !equality.Semantic.DeepEqual(rules, want) {
		t.Errorf("NetworkPolicy desk rules:\n%s\nwant:\n%s", strings.Join(rules, "\n"), strings.Join(want, "\n"))
	}
}

func anySlice(v any) []any {
	s, _ := v.([]any)
	return s
}

func anyStrings(v any) []string {
	var out []string
	for _, s := range anySlice(v) {
		out = append(out, fmt.Sprint(s))
	}
	return out
}

func keys(m map[string]*unstructured.Unstructured) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

func TestRenderFromSpec(t *testing.T) {
	objs, err := RenderContext(t.Context(), input(func(o *v1alpha1.Office) {
		o.Spec.Tenant.Replicas = ptr.To[int32](3)
		o.Spec.Tenant.Image = "registry.example/desk@sha256:0000000000000000000000000000000000000000000000000000000000000000"
		o.Spec.Tenant.Resources = corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("128Mi")}}
	}))
	if err != nil {
		t.Fatal(err)
	}
	m := byID(t, objs)
	if _, ok := m["PodDisruptionBudget/desk"]; !ok {
		t.Error("no PodDisruptionBudget for 3 replicas")
	}
	deploy := m["Deployment/desk"]
	if r, _, _ := unstructured.NestedInt64(deploy.Object, "spec", "replicas"); r != 3 {
		t.Errorf("replicas = %d", r)
	}
	c := container(t, deploy)
	if !strings.HasPrefix(c["image"].(string), "registry.example/desk@sha256:") {
		t.Errorf("image = %v", c["image"])
	}
	res := c["resources"].(map[string]any)
	if res["limits"].(map[string]any)["memory"] != "128Mi" || res["requests"].(map[string]any)["cpu"] != "10m" {
		t.Errorf("resources = %v; want the office's limit over the base's requests", res)
	}
}

func TestConfigChangeRenamesConfigMap(t *testing.T) {
	a, err := RenderContext(t.Context(), input(nil))
	if err != nil {
		t.Fatal(err)
	}
	in := input(nil)
	in.Config = []byte(`{"office":"zhenping-county","displayName":"镇平县信访局"}`)
	b, err := RenderContext(t.Context(), in)
	if err != nil {
		t.Fatal(err)
	}
	if byID(t, a)["ConfigMap/desk-config"].GetName() == byID(t, b)["ConfigMap/desk-config"].GetName() {
		t.Error("a new configuration kept the ConfigMap's name: the Deployment would not roll")
	}
}

func TestPatchesApply(t *testing.T) {
	objs, err := RenderContext(t.Context(), input(func(o *v1alpha1.Office) {
		o.Spec.Tenant.Patches = []v1alpha1.TenantPatch{
			{Patch: "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: desk\n  annotations:\n    team: land\n"},
			{Patch: `[{"op": "add", "path": "/spec/template/spec/containers/0/env", "value": [{"name": "LOG_LEVEL", "value": "debug"}]}]`,
				Target: &v1alpha1.PatchTarget{Kind: "Deployment", Name: "desk"}},
		}
	}))
	if err != nil {
		t.Fatal(err)
	}
	m := byID(t, objs)
	if got := m["Deployment/desk"].GetAnnotations()["team"]; got != "land" {
		t.Errorf("strategic merge patch not applied: annotations %v", m["Deployment/desk"].GetAnnotations())
	}
	env, _, _ := unstructured.NestedSlice(container(t, m["Deployment/desk"]), "env")
	if len(env) != 1 || env[0].(map[string]any)["value"] != "debug" {
		t.Errorf("JSON 6902 patch not applied: env %v", env)
	}
}

func TestHostilePatchesRejected(t *testing.T) {
	cases := map[string]struct {
		patch v1alpha1.TenantPatch
		want  string
	}{
		"lift pod security": {v1alpha1.TenantPatch{Patch: "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: office-zhenping-county\n  labels:\n    pod-security.kubernetes.io/enforce: privileged\n"},
			"pod-security.kubernetes.io/enforce must stay restricted"},
		"drop the default deny": {v1alpha1.TenantPatch{Patch: "$patch: delete\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: default-deny\n"},
			"NetworkPolicy default-deny: must not be removed"},
		"open the default deny": {v1alpha1.TenantPatch{Patch: `[{"op": "add", "path": "/spec/ingress", "value": [{}]}]`,
			Target: &v1alpha1.PatchTarget{Kind: "NetworkPolicy", Name: "default-deny"}}, "must select every pod and deny all ingress and egress"},
		"change a kind": {v1alpha1.TenantPatch{Patch: `[{"op": "replace", "path": "/kind", "value": "ClusterRole"}, {"op": "replace", "path": "/apiVersion", "value": "rbac.authorization.k8s.io/v1"}]`,
			Target: &v1alpha1.PatchTarget{Kind: "ServiceAccount"}}, "is not part of a tenant stack"},
		"not a patch": {v1alpha1.TenantPatch{Patch: "{{{"}, "spec.tenant.patches[0]: the patch is not YAML or JSON"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := RenderContext(t.Context(), input(func(o *v1alpha1.Office) { o.Spec.Tenant.Patches = []v1alpha1.TenantPatch{tc.patch} }))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want an error containing %q, got %v", tc.want, err)
			}
		})
	}
}

// TestPatchCannotLeaveTheNamespace: the overlay's namespace is set after the
// patches, so a patch that moves an object is overridden.
func TestPatchCannotLeaveTheNamespace(t *testing.T) {
	objs, err := RenderContext(t.Context(), input(func(o *v1alpha1.Office) {
		o.Spec.Tenant.Patches = []v1alpha1.TenantPatch{{
			Patch:  `[{"op": "replace", "path": "/metadata/namespace", "value": "kube-system"}]`,
			Target: &v1alpha1.PatchTarget{Kind: "Service"},
		}}
	}))
	if err != nil {
		t.Fatal(err)
	}
	if ns := byID(t, objs)["Service/desk"].GetNamespace(); ns != "office-zhenping-county" {
		t.Fatalf("Service moved to %q", ns)
	}
}

// The shard labels go on every object's metadata, but not on the pod
// template or any selector: moving an office between shards restarts
// nothing. They cannot override the operator's own labels.
func TestRenderShardLabels(t *testing.T) {
	in := input(nil)
	plain, err := RenderContext(t.Context(), in)
	if err != nil {
		t.Fatal(err)
	}
	in.Labels = map[string]string{"petition.xinfang.io/shard": "east", LabelManagedBy: "someone-else"}
	objs, err := RenderContext(t.Context(), in)
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != len(plain) {
		t.Fatalf("%d objects with labels, %d without", len(objs), len(plain))
	}
	for i, o := range objs {
		if got := o.GetLabels()["petition.xinfang.io/shard"]; got != "east" {
			t.Errorf("%s/%s: shard label %q, want east", o.GetKind(), o.GetName(), got)
		}
		if got := o.GetLabels()[LabelManagedBy]; got != ManagedBy {
			t.Errorf("%s/%s: %s = %q, want %q", o.GetKind(), o.GetName(), LabelManagedBy, got, ManagedBy)
		}
		// Everything but metadata.labels is as without them.
		a, b := o.DeepCopy(), plain[i].DeepCopy()
		a.SetLabels(nil)
		b.SetLabels(nil)
		if !equality.Semantic.DeepEqual(a.Object, b.Object) {
			t.Errorf("%s/%s: the shard labels changed more than metadata.labels", o.GetKind(), o.GetName())
		}
	}
}
