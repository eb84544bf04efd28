package controllers

import (
	"context"
	"sync"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/network"
)

// networkModel is the operator's one in-memory network: every office with
// its hierarchy and departments (network.Index). The office controller's
// watch of offices feeds it (officeEvents), and only after the index has an
// event does anything learn of it: the office controller's queue, then the
// controllers that subscribed (routing policies, tenant defaults), so that
// no reader ever sees an index older than the event that woke it.
type networkModel struct {
	index *network.Index
	// subscribers receive every office event as generic events of the
	// offices involved (both sides of an update).
	subscribers []chan event.GenericEvent
	// loaded is closed by the office controller's first reconcile: its
	// workers start only once its watch has handed every office of the
	// synced cache to the index, so from then on the index holds the whole
	// network.
	loaded     chan struct{}
	loadedOnce sync.Once
}

func newNetworkModel() *networkModel {
	return &networkModel{index: network.NewIndex(), loaded: make(chan struct{})}
}

// markLoaded records that the index holds every office; the office
// reconciler calls it.
func (m *networkModel) markLoaded() {
	m.loadedOnce.Do(func() { close(m.loaded) })
}

// isLoaded reports whether the index holds the whole network, so that
// counts read from it are not those of a network half read at start (a new
// leader would write them, then the real ones). With no office in the
// cache there is nothing to wait for.
func (m *networkModel) isLoaded(ctx context.Context, reader client.Reader) (bool, error) {
	select {
	case <-m.loaded:
		return true, nil
	default:
	}
	// The typed list the cache holds anyway, not copied.
	var offices v1alpha1.OfficeList
	if err := reader.List(ctx, &offices, client.UnsafeDisableDeepCopy); err != nil {
		return false, err
	}
	return len(offices.Items) == 0, nil
}

// watch returns a watch of the model's office events for a controller, each
// given to h; the controller's reconciles wait until the model is loaded.
// Call it before the manager starts.
func (m *networkModel) watch(h handler.EventHandler) watch {
	ch := make(chan event.GenericEvent, modelBuffer)
	m.subscribers = append(m.subscribers, ch)
	return watch{source: source.Channel(ch, h), model: m}
}

// modelBuffer is how many office events a subscriber may be behind before
// the office watch waits for it.
const modelBuffer = 1024

// publish tells every subscriber of the offices of an event. It waits for
// a subscriber that is behind (they all start with the office controller,
// as leader) unless ctx ends.
func (m *networkModel) publish(ctx context.Context, offices ...*v1alpha1.Office) {
	for _, ch := range m.subscribers {
		for _, o := range offices {
			select {
			case ch <- event.GenericEvent{Object: o}:
			case <-ctx.Done():
				return
			}
		}
	}
}

// officeEvents is the office controller's watch of offices: it feeds the
// model, enqueues the offices each event concerns — the office itself, its
// old and new parent (their children) and, when it moved, appeared or went,
// or (a City) declared or withdrew its case store, every office below it
// (their path, their desk's registry), and the offices whose routes may
// resolve to it — and then publishes the event.
type officeEvents struct {
	model *networkModel
	// reader reads RoutingPolicies from the cache, to find the offices that
	// route to an office that appears or goes.
	reader client.Reader
}

var _ handler.EventHandler = &officeEvents{}

func (e *officeEvents) Create(ctx context.Context, evt event.CreateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	o := evt.Object.(*v1alpha1.Office)
	enqueue(q, e.model.index.Upsert(o))
	enqueue(q, routeTargetsOf(ctx, e.reader, e.model.index, o))
	// The joint reception centres waiting for it to be stationed there.
	enqueue(q, e.model.index.Stations(o.Name))
	e.model.publish(ctx, o)
}

func (e *officeEvents) Update(ctx context.Context, evt event.UpdateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	old, cur := evt.ObjectOld.(*v1alpha1.Office), evt.ObjectNew.(*v1alpha1.Office)
	affected := e.model.index.Upsert(cur)
	if statusOnly(old, cur) {
		// The operator's own status write: nothing to do for the office.
		affected = affected[1:]
	}
	enqueue(q, affected)
	if old.Spec.Level != cur.Spec.Level || old.Spec.Parent != cur.Spec.Parent || old.Spec.Department != cur.Spec.Department {
		// Relative route targets resolve through departments and parents.
		enqueue(q, routeTargetsOf(ctx, e.reader, e.model.index, old))
		enqueue(q, routeTargetsOf(ctx, e.reader, e.model.index, cur))
	}
	// The chains of the offices that route to it (handlers.go).
	enqueue(q, escalationDependents(ctx, e.reader, e.model.index, old, cur))
	if stationedChanged(old, cur) {
		// The joint reception centres that list its windows.
		enqueue(q, e.model.index.Stations(cur.Name))
	}
	if casesDeclared(old, cur) {
		// Every desk of the City's network forwards to its registry, or
		// no longer does.
		enqueue(q, e.model.index.Descendants(cur.Name))
	}
	e.model.publish(ctx, old, cur)
}

func (e *officeEvents) Delete(ctx context.Context, evt event.DeleteEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	o := evt.Object.(*v1alpha1.Office)
	enqueue(q, e.model.index.Delete(o.Name))
	enqueue(q, routeTargetsOf(ctx, e.reader, e.model.index, o))
	enqueue(q, e.model.index.Stations(o.Name))
	e.model.publish(ctx, o)
}

func (e *officeEvents) Generic(_ context.Context, evt event.GenericEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	enqueue(q, []string{evt.Object.GetName()})
}

// stationedChanged reports whether an update changed what a joint reception
// centre that stations the office compiles of it (network.StationedDepartment)
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
