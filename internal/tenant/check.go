package tenant

import (
	"fmt"
	"maps"
	"slices"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Kinds are the kinds a tenant stack may hold; the operator watches and
// prunes exactly these.
var Kinds = []schema.GroupVersionKind{
	{Version: "v1", Kind: "Namespace"},
	{Version: "v1", Kind: "ServiceAccount"},
	{Version: "v1", Kind: "ResourceQuota"},
	{Version: "v1", Kind: "LimitRange"},
	{Version: "v1", Kind: "ConfigMap"},
	{Version: "v1", Kind: "Service"},
	{Group: "apps", Version: "v1", Kind: "Deployment"},
	{Group: "networking.k8s.io", Version: "v1", Kind: "NetworkPolicy"},
	{Group: "policy", Version: "v1", Kind: "PodDisruptionBudget"},
}

func kindOrder(gvk schema.GroupVersionKind) int {
	return slices.Index(Kinds, gvk)
}

// check refuses a rendered stack that patches took out of bounds.
func check(objs []*unstructured.Unstructured, ns string) error {
	allowed := map[schema.GroupVersionKind]bool{}
	for _, k := range Kinds {
		allowed[k] = true
	}
	var sawDeny bool
	for _, o := range objs {
		gvk := o.GroupVersionKind()
		id := fmt.Sprintf("%s %s", gvk.Kind, o.GetName())
		if !allowed[gvk] {
			return fmt.Errorf("%s: kind %s is not part of a tenant stack (allowed: Namespace, ServiceAccount, ResourceQuota, LimitRange, ConfigMap, Service, apps/v1 Deployment, networking.k8s.io/v1 NetworkPolicy, policy/v1 PodDisruptionBudget)", id, gvk)
		}
		if gvk.Kind == "Namespace" {
			if o.GetName() != ns {
				return fmt.Errorf("%s: the only namespace of the stack is %s", id, ns)
			}
			for _, k := range slices.Sorted(maps.Keys(PodSecurityLabels)) {
				if v := PodSecurityLabels[k]; o.GetLabels()[k] != v {
					return fmt.Errorf("%s: the label %s must stay %s", id, k, v)
				}
			}
			continue
		}
		if o.GetNamespace() != ns {
			return fmt.Errorf("%s: namespace %q is outside the office's namespace %s", id, o.GetNamespace(), ns)
		}
		if gvk.Kind == "NetworkPolicy" && o.GetName() == "default-deny" {
			if !isDefaultDeny(o.Object) {
				return fmt.Errorf("%s: the default-deny NetworkPolicy must select every pod and deny all ingress and egress", id)
			}
			sawDeny = true
		}
	}
	if !sawDeny {
		return fmt.Errorf("NetworkPolicy default-deny: must not be removed")
	}
	return nil
}

// isDefaultDeny reports whether obj, of any shape, is a NetworkPolicy
// that selects every pod and denies all ingress and egress: an empty
// podSelector, policyTypes Ingress and Egress, and no rules.
func isDefaultDeny(obj map[string]any) bool {
	spec, ok := obj["spec"].(map[string]any)
	if !ok {
		return false
	}
	if sel, ok := spec["podSelector"].(map[string]any); !ok || len(sel) != 0 {
		return false
	}
	types, ok := spec["policyTypes"].([]any)
	if !ok || len(types) != 2 {
		return false
	}
	seen := map[string]bool{}
	for _, t := range types {
		if s, ok := t.(string); ok {
			seen[s] = true
		}
	}
	if !seen["Ingress"] || !seen["Egress"] {
		return false
	}
	_, hasIngress := spec["ingress"]
	_, hasEgress := spec["egress"]
	return !hasIngress && !hasEgress
}
