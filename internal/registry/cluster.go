package registry

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/kinds"
	"github.com/xinfang/petition-operator/internal/xinfang"
)

// DefaultRebuildInterval is the least time between two rebuilds of a
// cluster's network: a burst of changes (a network being applied, the
// operator writing statuses) costs one rebuild a second.
const DefaultRebuildInterval = time.Second

// ClusterOptions tune a Cluster.
type ClusterOptions struct {
	// RebuildInterval is the least time between two rebuilds;
	// DefaultRebuildInterval when zero.
	RebuildInterval time.Duration
	// Log receives a debug line for each rebuild and an error for each
	// failed one; none when nil.
	Log *slog.Logger
}

// Cluster is the Network of a cluster: an informer cache of the six kinds
// the network is made of (Offices, RoutingPolicies, EscalationPolicies,
// HolidayCalendars, TenantDefaults, DutyPeriods), read-only and of nothing
// else, from which a Live snapshot is rebuilt when any of them changes, at
// most once a RebuildInterval. Current never waits for the API server: it
// returns the last network built, an empty one until the cache has synced
// (Ready says when).
type Cluster struct {
	cache    cache.Cache
	interval time.Duration
	log      *slog.Logger

	current atomic.Pointer[Net]
	// version identifies the objects of current: a rebuild that finds the
	// same objects keeps current, so a Net changes only with the network.
	version [sha256.Size]byte
	ready   atomic.Bool
	builds  atomic.Uint64
	// changed holds a pending change: a signal, never a queue.
	changed chan struct{}
	started atomic.Bool
}

// clusterScheme knows the kinds of this API alone: the cache can hold
// nothing else.
var clusterScheme = sync.OnceValues(func() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	if err := v1alpha1.AddToScheme(s); err != nil {
		return nil, err
	}
	return s, nil
})

// NetworkObjects returns an empty object of each kind a network is made of,
// the kinds a Cluster lists and watches.
func NetworkObjects() []client.Object {
	return []client.Object{
		&v1alpha1.Office{}, &v1alpha1.RoutingPolicy{}, &v1alpha1.EscalationPolicy{},
		&v1alpha1.HolidayCalendar{}, &v1alpha1.TenantDefaults{}, &v1alpha1.DutyPeriod{},
	}
}

// NewCluster returns the network of the cluster cfg reaches; Start runs it.
func NewCluster(cfg *rest.Config, opts ClusterOptions) (*Cluster, error) {
	scheme, err := clusterScheme()
	if err != nil {
		return nil, err
	}
	c, err := cache.New(cfg, cache.Options{
		Scheme:           scheme,
		DefaultTransform: kinds.DropUnread,
		// A read of any other kind fails rather than starting an informer.
		ReaderFailOnMissingInformer: true,
	})
	if err != nil {
		return nil, fmt.Errorf("the cache of the network: %w", err)
	}
	if opts.RebuildInterval <= 0 {
		opts.RebuildInterval = DefaultRebuildInterval
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	cl := &Cluster{cache: c, interval: opts.RebuildInterval, log: opts.Log, changed: make(chan struct{}, 1)}
	cl.current.Store(NewNet(&xinfang.Snapshot{Live: true}))
	return cl, nil
}

// errNotSynced is Ready's answer until the first network is built.
var errNotSynced = errors.New("the network is not yet read from the cluster")

// Ready says whether the network has been read from the cluster: nil once
// the cache has synced and the first network is built.
func (c *Cluster) Ready() error {
	if !c.ready.Load() {
		return errNotSynced
	}
	return nil
}

// Current returns the last network built.
func (c *Cluster) Current() *Net { return c.current.Load() }

// Builds counts the networks built so far.
func (c *Cluster) Builds() uint64 { return c.builds.Load() }

// Start watches the network's kinds, builds the first network once the
// cache has synced, then rebuilds on each change, until ctx ends. It
// returns nil when ctx ends, an error when the cache cannot start (the
// kinds are not installed, the cache fails to sync). It may be called
// once.
func (c *Cluster) Start(ctx context.Context) error {
	if !c.started.CompareAndSwap(false, true) {
		return errors.New("the network of the cluster is already started")
	}
	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	poke := toolscache.ResourceEventHandlerFuncs{
		AddFunc: func(any) { c.poke() },
		UpdateFunc: func(old, obj any) {
			// A resync changes nothing.
			if o, err := apimeta.Accessor(old); err == nil {
				if n, err := apimeta.Accessor(obj); err == nil && o.GetResourceVersion() == n.GetResourceVersion() {
					return
				}
			}
			c.poke()
		},
		DeleteFunc: func(any) { c.poke() },
	}
	for _, obj := range NetworkObjects() {
		inf, err := c.cache.GetInformer(ctx, obj, cache.BlockUntilSynced(false))
		if err != nil {
			return fmt.Errorf("watching %T: %w", obj, err)
		}
		if _, err := inf.AddEventHandler(poke); err != nil {
			return fmt.Errorf("watching %T: %w", obj, err)
		}
	}
	errc := make(chan error, 1)
	go func() { errc <- c.cache.Start(ctx) }()
	synced := make(chan bool, 1)
	go func() { synced <- c.cache.WaitForCacheSync(ctx) }()
	select {
	case err := <-errc:
		cancel()
		<-synced
		if parent.Err() != nil {
			return nil
		}
		if err == nil {
			err = errors.New("it stopped")
		}
		return fmt.Errorf("the cache of the network did not sync: %w", err)
	case ok := <-synced:
		if !ok {
			// Only the end of ctx stops the wait.
			cancel()
			return <-errc
		}
	}
	// Every event before the sync is in the first build.
	select {
	case <-c.changed:
	default:
	}
	if err := c.rebuild(ctx); err != nil {
		cancel()
		return errors.Join(err, <-errc)
	}
	c.ready.Store(true)
	last := time.Now()
	for {
		select {
		case <-ctx.Done():
			return <-errc
		case err := <-errc:
			if err == nil && ctx.Err() == nil {
				err = errors.New("the cache of the network stopped")
			}
			return err
		case <-c.changed:
		}
		// At most one rebuild an interval: the changes of the wait are
		// in the next build.
		if wait := time.Until(last.Add(c.interval)); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return <-errc
			case <-t.C:
			}
		}
		select {
		case <-c.changed:
		default:
		}
		last = time.Now()
		if err := c.rebuild(ctx); err != nil {
			// The last good network stays; the next change tries again.
			c.log.Error("rebuilding the network; serving the previous one", "err", err)
		}
	}
}

func (c *Cluster) poke() {
	select {
	case c.changed <- struct{}{}:
	default:
	}
}

// rebuild reads the cache into a Live set, as petitionctl reads the
// cluster, and makes it the current network.
func (c *Cluster) rebuild(ctx context.Context) error {
	start := time.Now()
	set := xinfang.Snapshot{Live: true}
	var offices v1alpha1.OfficeList
	if err := c.cache.List(ctx, &offices); err != nil {
		return fmt.Errorf("listing offices: %w", err)
	}
	set.Offices = offices.Items
	var routing v1alpha1.RoutingPolicyList
	if err := c.cache.List(ctx, &routing); err != nil {
		return fmt.Errorf("listing routing policies: %w", err)
	}
	set.RoutingPolicies = routing.Items
	var policies v1alpha1.EscalationPolicyList
	if err := c.cache.List(ctx, &policies); err != nil {
		return fmt.Errorf("listing escalation policies: %w", err)
	}
	set.EscalationPolicies = policies.Items
	var calendars v1alpha1.HolidayCalendarList
	if err := c.cache.List(ctx, &calendars); err != nil {
		return fmt.Errorf("listing holiday calendars: %w", err)
	}
	set.HolidayCalendars = calendars.Items
	var defaults v1alpha1.TenantDefaultsList
	if err := c.cache.List(ctx, &defaults); err != nil {
		return fmt.Errorf("listing tenant defaults: %w", err)
	}
	set.TenantDefaults = defaults.Items
	var periods v1alpha1.DutyPeriodList
	if err := c.cache.List(ctx, &periods); err != nil {
		return fmt.Errorf("listing duty periods: %w", err)
	}
	set.DutyPeriods = periods.Items
	// In the order of a List from the API server, as petitionctl reads
	// them (the cache's order is its map's).
	slices.SortFunc(set.Offices, func(a, b v1alpha1.Office) int { return strings.Compare(a.Name, b.Name) })
	slices.SortFunc(set.RoutingPolicies, func(a, b v1alpha1.RoutingPolicy) int { return strings.Compare(a.Name, b.Name) })
	slices.SortFunc(set.EscalationPolicies, func(a, b v1alpha1.EscalationPolicy) int { return strings.Compare(a.Name, b.Name) })
	slices.SortFunc(set.HolidayCalendars, func(a, b v1alpha1.HolidayCalendar) int { return strings.Compare(a.Name, b.Name) })
	slices.SortFunc(set.TenantDefaults, func(a, b v1alpha1.TenantDefaults) int { return strings.Compare(a.Name, b.Name) })
	slices.SortFunc(set.DutyPeriods, func(a, b v1alpha1.DutyPeriod) int { return strings.Compare(a.Name, b.Name) })
	version := objectsVersion(&set)
	if version == c.version && c.ready.Load() {
		return nil
	}
	c.version = version
	c.current.Store(NewNet(&set))
	n := c.builds.Add(1)
	c.log.Debug("network rebuilt", "offices", len(set.Offices), "build", n, "took", time.Since(start).String())
	return nil
}

// objectsVersion identifies a set of objects by their kinds, names and
// resource versions: the API server gives an object a new resource version
// with each change.
func objectsVersion(set *xinfang.Snapshot) [sha256.Size]byte {
	h := sha256.New()
	for _, o := range set.Objects() {
		_, _ = fmt.Fprintf(h, "%T/%s/%s\n", o, o.GetName(), o.GetResourceVersion())
	}
	var v [sha256.Size]byte
	h.Sum(v[:0])
	return v
}
