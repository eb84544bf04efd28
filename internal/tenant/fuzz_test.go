package tenant

import (
	"errors"
	"reflect"
	"slices"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/casestore"
)

// FuzzCheckTenant feeds arbitrary patches (with or without a target) to the
// judge. Whatever it admits must render, stay in the office's namespace,
// keep the isolation the operator renders (both NetworkPolicies, the
// Service, the Pod Security labels, the quota) exactly as without patches,
// keep the desk container's image and security context, and keep where the
// desk forwards petitions and the identity it presents there (the
// registry's token, flags and NetworkPolicy rule, the namespace's City).
func FuzzCheckTenant(f *testing.F) {
	f.Add("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: desk\n  annotations:\n    team: land\n", "", "")
	f.Add(`[{"op": "add", "path": "/spec/template/spec/containers/0/env", "value": [{"name": "A", "value": "b"}]}]`, "Deployment", "desk")
	f.Add(`[{"op": "replace", "path": "/spec/podSelector", "value": {}}]`, "NetworkPolicy", "desk")
	f.Add("apiVersion: v1\nkind: Service\nmetadata: {name: desk}\nspec: {type: LoadBalancer}\n", "", "")
	f.Add("a: &a [1]\nb: *a\n", "", "")
	f.Add(`[{"op": "copy", "from": "/spec", "path": "/spec/x"}]`, "Deployment", "")
	f.Add("$patch: delete\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: default-deny}\n", "", "")
	f.Fuzz(func(t *testing.T, patch, kind, name string) {
		p := v1alpha1.TenantPatch{Patch: patch}
		if kind != "" || name != "" {
			p.Target = &v1alpha1.PatchTarget{Kind: kind, Name: name}
		}
		in := withRegistry(func(o *v1alpha1.Office) { o.Spec.Tenant.Patches = []v1alpha1.TenantPatch{p} })
		if errs := CheckTenant(t.Context(), in.Office, DefaultLimits()); len(errs) > 0 {
			return
		}
		objs, err := RenderContext(t.Context(), in)
		if err != nil {
			// Admitted with placeholders, refused with the real input:
			// possible (a test operation on the configuration), and then
			// the office stalls; it must not be a bound of the judge.
			var pe *PatchError
			if !errors.As(err, &pe) {
				t.Fatalf("admitted, then the render failed outside the patches: %v", err)
			}
			return
		}
		base, err := RenderContext(t.Context(), withRegistry(nil))
		if err != nil {
			t.Fatal(err)
		}
		baseByID := map[string]*unstructured.Unstructured{}
		for _, o := range base {
			baseByID[objectID(o)] = o
		}
		for _, o := range objs {
			if o.GetKind() != "Namespace" && o.GetNamespace() != "office-zhenping-county" {
				t.Fatalf("admitted %s outside the office's namespace", objectID(o))
			}
			b := baseByID[objectID(o)]
			if b == nil {
				t.Fatalf("admitted a new object %s", objectID(o))
			}
			switch o.GetKind() {
			case "NetworkPolicy", "Service", "ResourceQuota", "LimitRange", "ServiceAccount":
				if !reflect.DeepEqual(o.Object["spec"], b.Object["spec"]) {
					t.Fatalf("admitted a change of the spec of %s", objectID(o))
				}
			case "Namespace":
				for k, v := range b.GetLabels() {
					if o.GetLabels()[k] != v && (PodSecurityLabels[k] != "" || k == casestore.LabelCity) {
						t.Fatalf("admitted a change of %s", k)
					}
				}
			case "Deployment":
				c, cb := container(t, o), container(t, b)
				for _, k := range []string{"image", "securityContext", "volumeMounts", "name", "ports"} {
					if !reflect.DeepEqual(c[k], cb[k]) {
						t.Fatalf("admitted a change of the desk container's %s", k)
					}
				}
				args, want := anyStrings(c["args"]), anyStrings(cb["args"])
				if got := slices.DeleteFunc(args, func(a string) bool { return !isRegistryArg(a) }); !slices.Equal(got, want[len(want)-2:]) {
					t.Fatalf("admitted registry arguments %q, want %q", got, want[len(want)-2:])
				}
				for _, k := range []string{"volumes", "securityContext", "serviceAccountName", "hostNetwork", "nodeName", "nodeSelector", "tolerations", "automountServiceAccountToken"} {
					got, _, _ := unstructured.NestedFieldNoCopy(o.Object, "spec", "template", "spec", k)
					want, _, _ := unstructured.NestedFieldNoCopy(b.Object, "spec", "template", "spec", k)
					if !reflect.DeepEqual(got, want) {
						t.Fatalf("admitted a change of the pod's %s", k)
					}
				}
			}
		}
	})
}
