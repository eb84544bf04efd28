package controllers

import (
	"context"

	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/network"
)

// selected returns the offices of the index that the policy selects.
func selected(idx *network.Index, p *v1alpha1.RoutingPolicy) []string {
	var names []string
	for _, o := range idx.All() {
		if path, problem := idx.Path(o); problem == nil && network.Selects(&p.Spec.OfficeSelector, o, path) {
			names = append(names, o.Name)
		}
	}
	return names
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
	if evt.ObjectOld.GetGeneration() == evt.ObjectNew.GetGeneration() {
		return // status or metadata only
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
// office: for a Department, every office under its parent (relative targets
// resolve through ancestors); for any office, the offices selected by the
// policies that name it as an explicit target.
func routeTargetsOf(ctx context.Context, c client.Reader, idx *network.Index, o *v1alpha1.Office) []string {
	var names []string
	if o.Spec.Level == v1alpha1.LevelDepartment && o.Spec.Parent != "" {
		names = append(names, string(o.Spec.Parent))
		names = append(names, idx.Descendants(string(o.Spec.Parent))...)
	}
	var policies v1alpha1.RoutingPolicyList
	if err := c.List(ctx, &policies); err != nil {
		return names
	}
	for i := range policies.Items {
		for _, r := range policies.Items[i].Spec.Rules {
			if string(r.RouteTo.Office) == o.Name {
				names = append(names, selected(idx, &policies.Items[i])...)
				break
			}
		}
	}
	return names
}
