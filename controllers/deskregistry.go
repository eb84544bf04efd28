package controllers

import (
	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/tenant"
	"github.com/xinfang/petition-operator/internal/xinfang"
)

// deskRegistry is the case registry an office's desk forwards petitions
// to: its City's (the first office of its path), when the City declares
// spec.cases and the operator knows the namespace registries run in
// (Options.CasesNamespace); nil otherwise, and the desk then takes no
// petitions. Its address is Options.registryURL's.
func (r *officeReconciler) deskRegistry(c *xinfang.Compiled) *tenant.RegistryRef {
	if len(c.Path) == 0 || r.opts.CasesNamespace == "" {
		return nil
	}
	city, ok := r.network.Get(c.Path[0])
	if !ok || city.Spec.Cases == nil {
		return nil
	}
	return &tenant.RegistryRef{URL: r.opts.registryURL(city.Name), Namespace: r.opts.CasesNamespace}
}

// casesDeclared reports whether an update declared or withdrew a City's
// spec.cases: what every desk of its network is rendered from
// (deskRegistry), so its whole subtree renders again. A change within
// spec.cases (its database, the registry's replicas) changes no desk.
func casesDeclared(old, cur *v1alpha1.Office) bool {
	return (old.Spec.Cases == nil) != (cur.Spec.Cases == nil)
}
