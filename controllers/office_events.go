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
	"github.com/xinfang/petition-operator/internal/network"
)

// officeEvents feeds the network index from the Office informer and enqueues
// the offices each event concerns: the office itself, its old and new parent
// (their children) and, when it moved, appeared or went, every office below
// it (their path). The index is updated before anything is enqueued, so a
// reconcile never sees an index older than the event that caused it.
type officeEvents struct {
	index *network.Index
	// reader reads RoutingPolicies from the cache, to find the offices that
	// route to an office that appears or goes.
	reader client.Reader
}

var _ handler.EventHandler = &officeEvents{}

func (e *officeEvents) Create(ctx context.Context, evt event.CreateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	o := evt.Object.(*v1alpha1.Office)
	enqueue(q, e.index.Upsert(o))
	enqueue(q, routeTargetsOf(ctx, e.reader, e.index, o))
}

func (e *officeEvents) Update(ctx context.Context, evt event.UpdateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	old, cur := evt.ObjectOld.(*v1alpha1.Office), evt.ObjectNew.(*v1alpha1.Office)
	affected := e.index.Upsert(cur)
	if statusOnly(old, cur) {
		// The operator's own status write: nothing to do for the office.
		affected = affected[1:]
	}
	enqueue(q, affected)
	if old.Spec.Level != cur.Spec.Level || old.Spec.Parent != cur.Spec.Parent || old.Spec.Department != cur.Spec.Department {
		// Relative route targets resolve through departments and parents.
		enqueue(q, routeTargetsOf(ctx, e.reader, e.index, old))
		enqueue(q, routeTargetsOf(ctx, e.reader, e.index, cur))
	}
}

func (e *officeEvents) Delete(ctx context.Context, evt event.DeleteEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	o := evt.Object.(*v1alpha1.Office)
	enqueue(q, e.index.Delete(o.Name))
	enqueue(q, routeTargetsOf(ctx, e.reader, e.index, o))
}

func (e *officeEvents) Generic(_ context.Context, evt event.GenericEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	enqueue(q, []string{evt.Object.GetName()})
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
