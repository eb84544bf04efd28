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
			sel, _, _ := unstructured.NestedMap(o.Object, "spec", "podSelector")
			types, _, _ := unstructured.NestedStringSlice(o.Object, "spec", "policyTypes")
			_, hasIngress := o.Object["spec"].(map[string]any)["ingress"]
			_, hasEgress := o.Object["spec"].(map[string]any)["egress"]
			if len(sel) != 0 || len(types) != 2 || hasIngress || hasEgress {
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
