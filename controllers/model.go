package controllers

import (
	"context"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/cluster"
	"github.com/xinfang/petition-operator/internal/xinfang"
)

// watchModel returns a watch of the network's office events for a status
// controller: h is given the offices of each event (both sides of an
// update) as generic events, and the controller's reconciles wait until the
// network has synced.
func watchModel(feed *cluster.Feed, h handler.EventHandler) watch {
	return watch{source: feed.Source(func(ctx context.Context, e cluster.Event, q cluster.Queue) {
		for _, o := range []*v1alpha1.Office{e.Old, e.New} {
			if o != nil {
				h.Generic(ctx, event.GenericEvent{Object: o}, q)
			}
		}
	}), feed: feed}
}

// officeEvents turns the network's office events into the office
// controller's requests: the office itself, its old and new parent (their
// children) and, when it moved, appeared or went, or (a City) declared or
// withdrew its case store, every office below it (their path, their desk's
// registry), and the offices whose routes may resolve to it. reader reads
// RoutingPolicies from the cache, to find the offices that route to an
// office that appears or goes.
func officeEvents(nw *xinfang.Network, reader client.Reader) cluster.Handler {
	return func(ctx context.Context, e cluster.Event, q cluster.Queue) {
		old, cur := e.Old, e.New
		switch {
		case old == nil: // appeared
			enqueue(q, e.Affected)
			enqueue(q, routeTargetsOf(ctx, reader, nw, cur))
			// The joint reception centres waiting for it to be stationed
			// there.
			enqueue(q, nw.Stations(cur.Name))
		case cur == nil: // went
			enqueue(q, e.Affected)
			enqueue(q, routeTargetsOf(ctx, reader, nw, old))
			enqueue(q, nw.Stations(old.Name))
		default:
			affected := e.Affected
			if statusOnly(old, cur) && len(affected) > 0 {
				// The operator's own status write: nothing to do for the
				// office.
				affected = affected[1:]
			}
			enqueue(q, affected)
			if old.Spec.Level != cur.Spec.Level || old.Spec.Parent != cur.Spec.Parent || old.Spec.Department != cur.Spec.Department {
				// Relative route targets resolve through departments and
				// parents.
				enqueue(q, routeTargetsOf(ctx, reader, nw, old))
				enqueue(q, routeTargetsOf(ctx, reader, nw, cur))
			}
			// The chains of the offices that route to it (handlers.go).
			enqueue(q, escalationDependents(ctx, reader, nw, old, cur))
			if stationedChanged(old, cur) {
				// The joint reception centres that list its windows.
				enqueue(q, nw.Stations(cur.Name))
			}
			if casesDeclared(old, cur) {
				// Every desk of the City's network forwards to its
				// registry, or no longer does.
				enqueue(q, nw.Descendants(cur.Name))
			}
		}
	}
}

// stationedChanged reports whether an update changed what a joint reception
// centre that stations the office compiles of it (xinfang.StationedDepartment)
// or whether it may be stationed there.
func stationedChanged(old, cur *v1alpha1.Office) bool {
	return old.Spec.Level != cur.Spec.Level || old.Spec.Parent != cur.Spec.Parent || old.Spec.Department != cur.Spec.Department ||
		old.Spec.DisplayName != cur.Spec.DisplayName || !equality.Semantic.DeepEqual(old.Spec.ReceptionWindows, cur.Spec.ReceptionWindows)
}

// statusOnly reports whether an update changed nothing but the status.
func statusOnly(old, cur client.Object) bool {
	return old.GetGeneration() == cur.GetGeneration() &&
		old.GetDeletionTimestamp().Equal(cur.GetDeletionTimestamp()) &&
		equality.Semantic.DeepEqual(old.GetFinalizers(), cur.GetFinalizers()) &&
		equality.Semantic.DeepEqual(old.GetLabels(), cur.GetLabels()) &&
		equality.Semantic.DeepEqual(old.GetAnnotations(), cur.GetAnnotations())
}

func enqueue(q workqueue.TypedRateLimitingInterface[reconcile.Request], names []string) {
	for _, n := range names {
		q.Add(reconcile.Request{NamespacedName: types.NamespacedName{Name: n}})
	}
}
