package controllers

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/xinfang/petition-operator/internal/xinfang"
)

// selectionEvents enqueues the offices a change of an object that selects
// offices and rolls out in stages (a RoutingPolicy, a DutyPeriod) concerns:
// those it selected before and those it selects now, and only those.
type selectionEvents[T client.Object] struct {
	index *xinfang.Network
	// selected returns the offices the object selects, by its current
	// revision or by the stable one its rollout moves from.
	selected func(*xinfang.Network, T) []string
	// entitlement is what the revision each office compiles depends on
	// besides the spec: where the rollout stands.
	entitlement func(T) string
}

var _ handler.EventHandler = &selectionEvents[client.Object]{}

func (e *selectionEvents[T]) Create(_ context.Context, evt event.CreateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	enqueue(q, e.selected(e.index, evt.Object.(T)))
}

func (e *selectionEvents[T]) Update(_ context.Context, evt event.UpdateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	old, cur := evt.ObjectOld.(T), evt.ObjectNew.(T)
	if old.GetGeneration() == cur.GetGeneration() && e.entitlement(old) == e.entitlement(cur) {
		return // metadata, or status that changes no office's revision
	}
	enqueue(q, e.selected(e.index, old))
	enqueue(q, e.selected(e.index, cur))
}

func (e *selectionEvents[T]) Delete(_ context.Context, evt event.DeleteEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	enqueue(q, e.selected(e.index, evt.Object.(T)))
}

func (e *selectionEvents[T]) Generic(_ context.Context, evt event.GenericEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	enqueue(q, e.selected(e.index, evt.Object.(T)))
}

// allOf maps any event to every object of list's kind (list is an empty
// list of that kind, copied for each call).
func allOf(c client.Reader, list client.ObjectList) handler.MapFunc {
	return func(ctx context.Context, _ client.Object) []reconcile.Request {
		l := list.DeepCopyObject().(client.ObjectList)
		if err := c.List(ctx, l); err != nil {
			ctrl.LoggerFrom(ctx).Error(err, "listing", "list", fmt.Sprintf("%T", l))
			return nil
		}
		var reqs []reconcile.Request
		_ = meta.EachListItem(l, func(o runtime.Object) error {
			reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(o.(client.Object))})
			return nil
		})
		return reqs
	}
}
