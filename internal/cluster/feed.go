package cluster

import (
	"context"
	"errors"
	"fmt"
	"sync"

	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/xinfang"
)

// Event is a change of one office, as the network took it in.
type Event struct {
	// Old is the office before an update, or the office deleted; nil for
	// one that appeared.
	Old *v1alpha1.Office
	// New is the office as it is now; nil for one deleted.
	New *v1alpha1.Office
	// Affected are the offices whose place in the network the change
	// changed (xinfang.Network's Upsert and Delete): the office itself
	// first, then those whose parent, path or departments it moved.
	Affected []string
}

// Office is the office the event is of.
func (e Event) Office() *v1alpha1.Office {
	if e.New != nil {
		return e.New
	}
	return e.Old
}

// Queue is a controller's work queue.
type Queue = workqueue.TypedRateLimitingInterface[reconcile.Request]

// Handler turns an office event into the requests of one controller.
type Handler func(ctx context.Context, e Event, q Queue)

// Feed keeps the process's one xinfang.Network: the informer of the
// manager's cache hands it every office event on every replica, leader or
// not, so that the admission webhooks judge against the same network the
// reconcilers compile against. Only after the network has taken an event in
// does a controller hear of it (Source): no reconcile reads a network older
// than the event that woke it.
type Feed struct {
	network *xinfang.Network
	// synced report whether the office handler has been handed every
	// office of the cache's first list, and whether the informers of the
	// other kinds the network reads have synced.
	synced []func() bool

	mu   sync.RWMutex
	subs []*subscription
}

type subscription struct {
	ctx    context.Context
	q      Queue
	handle Handler
}

// NewFeed returns the Feed of c's offices, the network's other objects
// read through c. Call it before the manager starts; ctx is the process's.
func NewFeed(ctx context.Context, c cache.Cache) (*Feed, error) {
	f := &Feed{network: xinfang.NewNetwork().WithObjects(NewObjects(ctx, c))}
	offices, err := c.GetInformer(ctx, &v1alpha1.Office{})
	if err != nil {
		return nil, fmt.Errorf("office informer: %w", err)
	}
	reg, err := offices.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			if o, ok := obj.(*v1alpha1.Office); ok {
				f.dispatch(Event{New: o, Affected: f.network.Upsert(o)})
			}
		},
		UpdateFunc: func(oldObj, newObj any) {
			old, ok1 := oldObj.(*v1alpha1.Office)
			cur, ok2 := newObj.(*v1alpha1.Office)
			if ok1 && ok2 {
				f.dispatch(Event{Old: old, New: cur, Affected: f.network.Upsert(cur)})
			}
		},
		DeleteFunc: func(obj any) {
			if tomb, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
				obj = tomb.Obj
			}
			if o, ok := obj.(*v1alpha1.Office); ok {
				f.dispatch(Event{Old: o, Affected: f.network.Delete(o.Name)})
			}
		},
	})
	if err != nil {
		return nil, fmt.Errorf("office informer: %w", err)
	}
	f.synced = append(f.synced, reg.HasSynced)
	for _, obj := range []client.Object{&v1alpha1.RoutingPolicy{}, &v1alpha1.EscalationPolicy{}, &v1alpha1.HolidayCalendar{},
		&v1alpha1.DutyPeriod{}, &v1alpha1.TenantDefaults{}} {
		inf, err := c.GetInformer(ctx, obj)
		if err != nil {
			return nil, fmt.Errorf("informer of %T: %w", obj, err)
		}
		f.synced = append(f.synced, inf.HasSynced)
	}
	return f, nil
}

// Network is the process's network.
func (f *Feed) Network() *xinfang.Network { return f.network }

// Synced reports whether the network holds every office of the cache and
// the cache holds the network's other objects: before that, what it
// answers is a network half read.
func (f *Feed) Synced() bool {
	for _, s := range f.synced {
		if !s() {
			return false
		}
	}
	return true
}

// dispatch hands an event the network has taken in to every controller
// started. Adding to a queue does not block, so a replica whose
// controllers do not run (not the leader) keeps its network current all the
// same.
func (f *Feed) dispatch(e Event) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	for _, s := range f.subs {
		if s.ctx.Err() == nil {
			s.handle(s.ctx, e, s.q)
		}
	}
}

// Source is the source of a controller's office events, each turned into
// requests by handle. When the controller starts, handle is given every
// office of the network as one that appeared, as a watch's first list
// would; its workers start once the network has synced.
func (f *Feed) Source(handle Handler) source.Source {
	return &feedSource{feed: f, handle: handle}
}

type feedSource struct {
	feed   *Feed
	handle Handler
}

var _ source.SyncingSource = &feedSource{}

func (s *feedSource) Start(ctx context.Context, q Queue) error {
	sub := &subscription{ctx: ctx, q: q, handle: s.handle}
	s.feed.mu.Lock()
	s.feed.subs = append(s.feed.subs, sub)
	s.feed.mu.Unlock()
	go func() {
		<-ctx.Done()
		s.feed.mu.Lock()
		defer s.feed.mu.Unlock()
		for i, other := range s.feed.subs {
			if other == sub {
				s.feed.subs = append(s.feed.subs[:i], s.feed.subs[i+1:]...)
				break
			}
		}
	}()
	// The offices the network held before this controller started; an
	// event that raced with this list is handed twice, which a queue
	// takes as once.
	go func() {
		if !toolscache.WaitForCacheSync(ctx.Done(), s.feed.Synced) {
			return
		}
		for _, o := range s.feed.network.All() {
			s.handle(ctx, Event{New: o, Affected: []string{o.Name}}, q)
		}
	}()
	return nil
}

func (s *feedSource) WaitForSync(ctx context.Context) error {
	if !toolscache.WaitForCacheSync(ctx.Done(), s.feed.Synced) {
		return errors.New("the network's informers did not sync")
	}
	return nil
}

func (s *feedSource) String() string { return "network feed of offices" }
