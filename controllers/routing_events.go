package controllers

import (
	"context"
	"fmt"
	"slices"

	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/network"
)

// selected returns the offices of the index that the policy selects: by
// its current revision, or by the stable one a staged rollout moves from.
func selected(idx *network.Index, p *v1alpha1.RoutingPolicy) []string {
	var stable *v1alpha1.OfficeSelector
	if st := p.Status.Stable; st != nil {
		stable = &st.OfficeSelector
	}
	var names []string
	for _, o := range idx.All() {
		path, problem := idx.Path(o)
		if problem != nil {
			continue
		}
		if network.Selects(&p.Spec.OfficeSelector, o, path) || (stable != nil && network.Selects(stable, o, path)) {
			names = append(names, o.Name)
		}
	}
	return names
}

// entitlement is what the revision each office compiles of a policy
// depends on besides its spec: where its rollout stands.
func entitlement(p *v1alpha1.RoutingPolicy) string {
	stable := ""
	if p.Status.Stable != nil {
		stable = p.Status.Stable.Revision
	}
	return rolloutPosition(p.Status.Rollout, p.Status.Stage, stable)
}

// rolloutPosition is what network.Entitled and network.EntitledImage read
// of a rollout's status: the revision and whether it is complete, the stage
// reached and the stable revision. Two statuses with the same position
// give every office the same revision.
func rolloutPosition(st *v1alpha1.RolloutStatus, stage int32, stable string) string {
	if st == nil {
		return stable
	}
	return fmt.Sprintf("%s/%t/%d/%s", st.Revision, st.Phase == v1alpha1.RolloutComplete, stage, stable)
}

// routingPolicyEvents enqueues the offices a RoutingPolicy change concerns:
// those it selected before and those it selects now, and only those.
type routingPolicyEvents struct {
	index *network.Index
}

var _ handler.EventHandler = &routingPolicyEvents{}

func (e *routingPolicyEvents) Create(_ context.Context, evt event.CreateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	enqueue(q, selected(e.index, evt.Object.(*v1alpha1.RoutingPolicy)))
}

func (e *routingPolicyEvents) Update(_ context.Context, evt event.UpdateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	if evt.ObjectOld.GetGeneration() == evt.ObjectNew.GetGeneration() &&
		entitlement(evt.ObjectOld.(*v1alpha1.RoutingPolicy)) == entitlement(evt.ObjectNew.(*v1alpha1.RoutingPolicy)) {
		return // metadata, or status that changes no office's rules
	}
	enqueue(q, selected(e.index, evt.ObjectOld.(*v1alpha1.RoutingPolicy)))
	enqueue(q, selected(e.index, evt.ObjectNew.(*v1alpha1.RoutingPolicy)))
}

func (e *routingPolicyEvents) Delete(_ context.Context, evt event.DeleteEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	enqueue(q, selected(e.index, evt.Object.(*v1alpha1.RoutingPolicy)))
}

func (e *routingPolicyEvents) Generic(_ context.Context, evt event.GenericEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	enqueue(q, selected(e.index, evt.Object.(*v1alpha1.RoutingPolicy)))
}

// routeTargetsOf returns the offices whose routing may resolve to the given
// office: for a Department, its parent (its children) and the offices under
// that parent selected by a policy with a rule to its department code
// (relative targets resolve through ancestors); for any office, the offices
// selected by the policies that name it as an explicit target.
//
// A Department that no rule routes to changes no route: in a city of
// thousands of offices most departments are such, and enqueueing the whole
// subtree of the City for each of them made convergence quadratic.
func routeTargetsOf(ctx context.Context, c client.Reader, idx *network.Index, o *v1alpha1.Office) []string {
	var names []string
	department := o.Spec.Level == v1alpha1.LevelDepartment && o.Spec.Parent != ""
	parent := string(o.Spec.Parent)
	if department {
		names = append(names, parent)
	}
	var policies v1alpha1.RoutingPolicyList
	if err := c.List(ctx, &policies); err != nil {
		// Without the policies, every office that might route here.
		if department {
			names = append(names, idx.Descendants(parent)...)
		}
		return names
	}
	var under map[string]bool // the parent and the offices below it, when needed
	for i := range policies.Items {
		p := &policies.Items[i]
		explicit, relative := routesTo(p, o)
		switch {
		case explicit:
			names = append(names, selected(idx, p)...)
		case relative && department:
			if under == nil {
				under = map[string]bool{parent: true}
				for _, d := range idx.Descendants(parent) {
					under[d] = true
				}
			}
			for _, n := range selected(idx, p) {
				if under[n] {
					names = append(names, n)
				}
			}
		}
	}
	return names
}

// routesTo reports whether a rule of p names o as its target (explicit) or
// names o's department code (relative: it may resolve to o).
func routesTo(p *v1alpha1.RoutingPolicy, o *v1alpha1.Office) (explicit, relative bool) {
	rules := p.Spec.Rules
	if st := p.Status.Stable; st != nil {
		rules = append(slices.Clip(rules), st.Rules...)
	}
	for _, r := range rules {
		switch {
		case string(r.RouteTo.Office) == o.Name:
			explicit = true
		case r.RouteTo.Office == "" && o.Spec.Department != "" && r.RouteTo.Department == o.Spec.Department:
			relative = true
		}
	}
	return explicit, relative
}
