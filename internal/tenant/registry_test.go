package tenant

import (
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/xinfang/petition-operator/internal/casestore"
)

// TestRenderRegistry: with its City's registry, the desk gets a projected
// token for the registry's audience, mounted read-only, the flags naming
// the registry and the token's file, and a way through its NetworkPolicy
// to the City's registry pods alone; its ServiceAccount token stays
// unmounted. Without one it gets none of these. Every namespace carries its
// City.
func TestRenderRegistry(t *testing.T) {
	objs, err := RenderContext(t.Context(), withRegistry(nil))
	if err != nil {
		t.Fatal(err)
	}
	m := byID(t, objs)
	if got := m["Namespace/office-zhenping-county"].GetLabels()[casestore.LabelCity]; got != "nanyang-city" {
		t.Errorf("namespace label %s = %q, want nanyang-city", casestore.LabelCity, got)
	}
	deploy := m["Deployment/desk"]
	pod, _, _ := unstructured.NestedMap(deploy.Object, "spec", "template", "spec")
	if pod["automountServiceAccountToken"] != false || pod["serviceAccountName"] != "desk" {
		t.Errorf("pod automountServiceAccountToken = %v, serviceAccountName = %v; want false and desk", pod["automountServiceAccountToken"], pod["serviceAccountName"])
	}
	var token map[string]any
	for _, v := range anySlice(pod["volumes"]) {
		if v := v.(map[string]any); v["name"] == RegistryTokenVolume {
			token = v
		}
	}
	want := map[string]any{"name": "registry-token", "projected": map[string]any{"sources": []any{map[string]any{
		"serviceAccountToken": map[string]any{"audience": "petition-registry", "expirationSeconds": int64(3600), "path": "token"}}}}}
	if !equality.Semantic.DeepEqual(token, want) {
		t.Errorf("token volume = %v, want %v", token, want)
	}
	c := container(t, deploy)
	mounts := anySlice(c["volumeMounts"])
	wantMount := map[string]any{"name": "registry-token", "mountPath": "/var/run/secrets/petition-registry", "readOnly": true}
	if !slices.ContainsFunc(mounts, func(v any) bool { return equality.Semantic.DeepEqual(v, wantMount) }) {
		t.Errorf("volumeMounts = %v, want %v among them", mounts, wantMount)
	}
	args := anyStrings(c["args"])
	if tail := args[len(args)-2:]; !slices.Equal(tail, []string{"--registry-url=http://cases-nanyang-city.petition-system.svc:8080",
		"--registry-token-file=/var/run/secrets/petition-registry/token"}) {
		t.Errorf("args = %q, want the registry flags last", args)
	}
	egress, _, _ := unstructured.NestedSlice(m["NetworkPolicy/desk"].Object, "spec", "egress")
	wantRule := map[string]any{
		"to": []any{map[string]any{
			"namespaceSelector": map[string]any{"matchLabels": map[string]any{"kubernetes.io/metadata.name": "petition-system"}},
			"podSelector": map[string]any{"matchLabels": map[string]any{"app.kubernetes.io/name": "petition-registry",
				"petition.xinfang.io/city": "nanyang-city"}},
		}},
		"ports": []any{map[string]any{"port": int64(8080), "protocol": "TCP"}},
	}
	if len(egress) != 3 || !equality.Semantic.DeepEqual(egress[2], wantRule) {
		t.Errorf("egress = %v, want the desks' and DNS rules and then %v", egress, wantRule)
	}

	// Without a registry: no token, no flags, no rule; the City still.
	plain, err := RenderContext(t.Context(), input(nil))
	if err != nil {
		t.Fatal(err)
	}
	p := byID(t, plain)
	if got := p["Namespace/office-zhenping-county"].GetLabels()[casestore.LabelCity]; got != "nanyang-city" {
		t.Errorf("namespace label %s = %q without a registry, want nanyang-city", casestore.LabelCity, got)
	}
	vols, _, _ := unstructured.NestedSlice(p["Deployment/desk"].Object, "spec", "template", "spec", "volumes")
	pc := container(t, p["Deployment/desk"])
	if len(vols) != 1 || len(anySlice(pc["volumeMounts"])) != 1 || slices.ContainsFunc(anyStrings(pc["args"]), isRegistryArg) {
		t.Errorf("without a registry: volumes %v, mounts %v, args %v", vols, pc["volumeMounts"], pc["args"])
	}
	if egress, _, _ := unstructured.NestedSlice(p["NetworkPolicy/desk"].Object, "spec", "egress"); len(egress) != 2 {
		t.Errorf("without a registry: %d egress rules, want 2", len(egress))
	}
}

// TestRegistryInputChecked: a City or registry the stack cannot carry is
// refused, with what is wrong.
func TestRegistryInputChecked(t *testing.T) {
	cases := map[string]struct {
		city, url, namespace string
		want                 string
	}{
		"a City that is no label":     {"Nanyang City", "http://r.ns.svc:8080", "ns", `the office's City "Nanyang City" is not a DNS label`},
		"a registry without its City": {"", "http://r.ns.svc:8080", "ns", "a registry needs the office's City"},
		"a file URL":                  {"nanyang-city", "file:///etc/passwd", "ns", `the registry URL "file:///etc/passwd" is not an http or https address`},
		"a URL with a user":           {"nanyang-city", "http://u:p@r.ns.svc:8080", "ns", "is not an http or https address without user"},
		"a URL with a query":          {"nanyang-city", "http://r.ns.svc:8080/?office=x", "ns", "without user, query or fragment"},
		"a long URL":                  {"nanyang-city", "http://r.ns.svc/" + strings.Repeat("x", 600), "ns", "is longer than 512 bytes"},
		"no namespace":                {"nanyang-city", "http://r.ns.svc:8080", "", `the registry's namespace "" is not a namespace name`},
		"a namespace that is no name": {"nanyang-city", "http://r.ns.svc:8080", "kube_system", `the registry's namespace "kube_system" is not a namespace name`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			in := input(nil)
			in.City = tc.city
			in.Registry = &RegistryRef{URL: tc.url, Namespace: tc.namespace}
			if _, err := RenderContext(t.Context(), in); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want an error containing %q, got %v", tc.want, err)
			}
		})
	}
}
