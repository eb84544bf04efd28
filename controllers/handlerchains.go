package controllers

import (
	"context"
	"slices"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/fieldindex"
	"github.com/xinfang/petition-operator/internal/xinfang"
)

// An office's compiled configuration holds the chains of the offices its
// routing table routes to (xinfang.OfficeConfig.Handlers): their policies,
// their places in the network, the bodies their City names above it. A
// change to any of them reaches the offices that route there.

// routersOf returns the offices whose routing tables may route to one of
// targets: those a RoutingPolicy naming them selects (routeTargetsOf), and
// those whose inline rules name them or their department code.
func routersOf(ctx context.Context, c client.Reader, idx *xinfang.Network, targets []*v1alpha1.Office) []string {
	if len(targets) == 0 {
		return nil
	}
	var names []string
	for _, t := range targets {
		names = append(names, routeTargetsOf(ctx, c, idx, t)...)
	}
	explicit := map[string]bool{}
	var codes []v1alpha1.DepartmentCode
	for _, t := range targets {
		explicit[t.Name] = true
		if t.Spec.Department != "" {
			codes = append(codes, t.Spec.Department)
		}
	}
	for _, o := range idx.All() {
		for _, r := range o.Spec.Routing.Rules {
			if explicit[string(r.RouteTo.Office)] || (r.RouteTo.Office == "" && slices.Contains(codes, r.RouteTo.Department)) {
				names = append(names, o.Name)
				break
			}
		}
	}
	return names
}

// escalationOf reports whether an update changed what other offices'
// chains read of the office: its policy, supervisor, place, or the bodies
// it names above the network.
func escalationOf(old, cur *v1alpha1.Office) (changed, above bool) {
	above = !equality.Semantic.DeepEqual(old.Spec.Escalation.Above, cur.Spec.Escalation.Above)
	changed = above || xinfang.EscalationPolicyName(old) != xinfang.EscalationPolicyName(cur) ||
		old.Spec.Escalation.Supervisor != cur.Spec.Escalation.Supervisor ||
		old.Spec.Parent != cur.Spec.Parent || old.Spec.Level != cur.Spec.Level
	return changed, above
}

// escalationDependents returns the offices whose configuration an update
// of office changes through their chains: every office below a City whose
// bodies above changed, and the offices that route to it.
func escalationDependents(ctx context.Context, c client.Reader, idx *xinfang.Network, old, cur *v1alpha1.Office) []string {
	changed, above := escalationOf(old, cur)
	if !changed {
		return nil
	}
	var names []string
	if above {
		names = append(names, idx.Descendants(cur.Name)...)
	}
	return append(names, routersOf(ctx, c, idx, []*v1alpha1.Office{old, cur})...)
}

// usersAndRouters maps a policy to the offices that use it and those that
// route to them.
func (r *officeReconciler) usersAndRouters(ctx context.Context, obj client.Object) []reconcile.Request {
	var list v1alpha1.OfficeList
	if err := r.client.List(ctx, &list, client.MatchingFields{fieldindex.OfficePolicy: obj.GetName()}, client.UnsafeDisableDeepCopy); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "listing offices", fieldindex.OfficePolicy, obj.GetName())
		return nil
	}
	users := make([]*v1alpha1.Office, len(list.Items))
	names := make([]string, 0, len(list.Items))
	for i := range list.Items {
		users[i] = &list.Items[i]
		names = append(names, list.Items[i].Name)
	}
	if len(users) < r.network.Len() {
		// Not every office (as with the statutory policy): their routers.
		names = append(names, routersOf(ctx, r.client, r.network, users)...)
	}
	seen := map[string]bool{}
	reqs := make([]reconcile.Request, 0, len(names))
	for _, n := range names {
		if !seen[n] {
			seen[n] = true
			reqs = append(reqs, reconcile.Request{NamespacedName: types.NamespacedName{Name: n}})
		}
	}
	return reqs
}
