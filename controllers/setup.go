package controllers

import (
	"context"
	"reflect"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/casestore"
	"github.com/xinfang/petition-operator/internal/cluster"
	"github.com/xinfang/petition-operator/internal/fieldindex"
	"github.com/xinfang/petition-operator/internal/kinds"
	"github.com/xinfang/petition-operator/internal/tenant"
)

// Options configures the reconcilers.
type Options struct {
	// MaxConcurrentReconciles per kind; 0 means controller-runtime's default.
	MaxConcurrentReconciles int
	// TenantImage is the tenant image of offices that name none.
	TenantImage string
	// IngressNamespace is the namespace of the platform ingress that may
	// reach every tenant.
	IngressNamespace string
	// Shard, when set, limits the offices this instance reconciles to those
	// whose labels it matches (--watch-label-selector). Every office, policy
	// and calendar is still read, since routing and the hierarchy span the
	// whole network; the tenant objects carry the office's labels that the
	// selector names, and the tenant caches hold only the shard's own.
	Shard labels.Selector
	// Clock is the operator's one clock: calendar coverage (a
	// HolidayCalendar's CoverageEnding, an Office's CalendarCoverage), the
	// progress deadlines of rollouts and of tenant Deployments, a
	// DutyPeriod's dates, the status pacing, the readings of the case
	// figures and the report of reconciles still running at shutdown go
	// by it; clock.RealClock when nil. The delays of the work queues
	// (RequeueAfter) are durations and run on the real clock.
	Clock clock.WithTicker
	// StatusPacing paces the recounts of the policies, calendars and
	// TenantDefaults from office events; zero fields take the defaults
	// (DefaultStatusPacing).
	StatusPacing StatusPacing
	// CasesNamespace is the namespace the Cities' case registries and
	// CloudNativePG databases run in (the operator's own), and where an
	// external database's Secret is looked for.
	CasesNamespace string
	// RegistryImage is the image of the Cities' case registries.
	RegistryImage string
	// RegistryServiceAccount is the ServiceAccount of the Cities' case
	// registries in CasesNamespace, installed with the operator;
	// casestore.ServiceAccountName when empty.
	RegistryServiceAccount string
	// RegistryURL, when not nil, is the URL of a City's registry for its
	// desks and the operator's figures; casestore.RegistryURL(city,
	// CasesNamespace) when nil. A run outside the cluster points it at a
	// registry it can reach.
	RegistryURL func(city string) string
	// Figures configure the reading of the Cities' case figures into
	// their offices' status.
	Figures FiguresOptions
	// OperatorAccount is the operator's user name as the API server knows
	// it, which a City's registry lets read every office's figures; asked
	// of the API server (a SelfSubjectReview) when empty.
	OperatorAccount string

	// account holds the operator's user name once asked.
	account *accountOnce
}

// registryURL is the URL of a City's registry.
func (o Options) registryURL(city string) string {
	if o.RegistryURL != nil {
		return o.RegistryURL(city)
	}
	return casestore.RegistryURL(city, o.CasesNamespace)
}

// StatusPacing is how the recounts in the status of the policies,
// calendars and TenantDefaults follow office events: Delay after a single
// event, at most one every Interval while events keep coming.
type StatusPacing struct {
	Delay, Interval time.Duration
}

// DefaultStatusPacing is the pacing of the manager's
// --status-recount-delay and --status-recount-interval: a network of
// thousands of offices being applied makes one status write per policy
// every 10 s, rather than one per office event (at 2,000 offices that was
// three writes per office, a quarter of the operator's writes), and a
// single change after a quiet spell is counted within 2 s. The counts in a
// policy's or calendar's status (and so its printer columns) may lag the
// offices by up to the interval while the network changes.
var DefaultStatusPacing = StatusPacing{Delay: 2 * time.Second, Interval: 10 * time.Second}

// pacing returns the status pacing with the defaults filled in.
func (o Options) pacing() StatusPacing {
	p := o.StatusPacing
	if p.Delay <= 0 {
		p.Delay = DefaultStatusPacing.Delay
	}
	if p.Interval <= 0 {
		p.Interval = DefaultStatusPacing.Interval
	}
	return p
}

// clock returns the operator's clock.
func (o Options) clock() clock.WithTicker {
	if o.Clock != nil {
		return o.Clock
	}
	return clock.RealClock{}
}

// now returns the time of the operator's clock.
func (o Options) now() func() time.Time { return o.clock().Now }

// Owns reports whether this instance reconciles the office.
func (o Options) Owns(office client.Object) bool {
	return o.Shard == nil || o.Shard.Matches(labels.Set(office.GetLabels()))
}

// shardLabels returns the office's labels that the shard selector names, to
// be put on its tenant objects.
func (o Options) shardLabels(office client.Object) map[string]string {
	if o.Shard == nil {
		return nil
	}
	reqs, _ := o.Shard.Requirements()
	out := map[string]string{}
	for _, r := range reqs {
		if v, ok := office.GetLabels()[r.Key()]; ok {
			out[r.Key()] = v
		}
	}
	return out
}

// CacheOptions scopes the caches of the tenant kinds to the objects the
// operator manages (of its shard, when shard is not nil) and drops what
// nothing reads from every cached object (kinds.DropUnread).
func CacheOptions(shard labels.Selector) cache.Options {
	managed := labels.SelectorFromSet(labels.Set{tenant.LabelManagedBy: tenant.ManagedBy})
	if shard != nil {
		reqs, _ := shard.Requirements()
		managed = managed.Add(reqs...)
	}
	byObject := map[client.Object]cache.ByObject{}
	for _, obj := range tenantObjects() {
		byObject[obj] = cache.ByObject{Label: managed}
	}
	return cache.Options{ByObject: byObject, DefaultTransform: kinds.DropUnread}
}

// tenantObjects returns an empty object of each kind of tenant.Kinds.
func tenantObjects() []client.Object {
	return []client.Object{
		&corev1.Namespace{}, &corev1.ServiceAccount{}, &corev1.ResourceQuota{}, &corev1.LimitRange{}, &corev1.ConfigMap{}, &corev1.Service{},
		&appsv1.Deployment{}, &networkingv1.NetworkPolicy{}, &policyv1.PodDisruptionBudget{},
	}
}

// +kubebuilder:rbac:groups=petition.xinfang.io,resources=offices;routingpolicies;escalationpolicies;holidaycalendars,verbs=get;list;watch
// +kubebuilder:rbac:groups=petition.xinfang.io,resources=offices/status;routingpolicies/status;escalationpolicies/status;holidaycalendars/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=petition.xinfang.io,resources=offices,verbs=update;patch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
// +kubebuilder:rbac:groups="",resources=namespaces;serviceaccounts;configmaps;services;resourcequotas;limitranges,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=apps,resources=deployments,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups="",resources=pods,verbs=list
// +kubebuilder:rbac:groups=networking.k8s.io,resources=networkpolicies,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=policy,resources=poddisruptionbudgets,verbs=get;list;watch;create;update;patch;delete

// Setup registers the field indexes (package fieldindex) and every controller
// with mgr, around the process's network (feed), which the admission
// webhooks read too.
func Setup(ctx context.Context, mgr ctrl.Manager, feed *cluster.Feed, opts Options) error {
	if err := fieldindex.Register(ctx, mgr.GetFieldIndexer()); err != nil {
		return err
	}
	copts := controller.Options{MaxConcurrentReconciles: opts.MaxConcurrentReconciles}
	opts.account = &accountOnce{}
	inflight := newRunning(opts.now())
	if err := mgr.Add(&shutdownReporter{running: inflight, clock: opts.clock(), log: mgr.GetLogger().WithName("shutdown")}); err != nil {
		return err
	}
	if err := setupOfficeController(mgr, feed, opts, copts, inflight); err != nil {
		return err
	}
	if opts.Figures.Interval >= 0 {
		f := newFigures(feed, mgr.GetClient(), mgr.GetEventRecorder("petition-operator-figures"), mgr.GetLogger().WithName("figures"), opts.registryURL, opts.clock(), opts.Figures)
		if err := mgr.Add(f); err != nil {
			return err
		}
	}
	if err := registerCollector(mgr.GetCache(), opts); err != nil {
		return err
	}
	if err := setupRoutingPolicyController(mgr, feed, opts, copts); err != nil {
		return err
	}
	if err := setupDutyPeriodController(mgr, feed, opts, copts); err != nil {
		return err
	}
	if err := setupTenantDefaultsController(mgr, feed, opts, copts); err != nil {
		return err
	}
	if err := setupEscalationPolicyController(mgr, opts, copts); err != nil {
		return err
	}
	if err := setupHolidayCalendarController(mgr, opts, copts); err != nil {
		return err
	}
	// The built-in objects, created at start; their controllers create them
	// again when they are deleted.
	return mgr.Add(manager.RunnableFunc(func(ctx context.Context) error {
		if err := ensureStatutoryPolicy(ctx, mgr.GetAPIReader(), mgr.GetClient(), v1alpha1.DefaultEscalationPolicy); err != nil {
			return err
		}
		return ensureTenantDefaults(ctx, mgr.GetAPIReader(), mgr.GetClient(), v1alpha1.DefaultTenantDefaults)
	}))
}

// statusPacer schedules the recounts of one controller: the events until a
// scheduled recount runs are all added at its time (the queue keeps one of
// each item, at the earliest time it was added for), and the next runs no
// sooner than the pacing's Interval after it. Every event is added to the
// queue: a recount may have run early, for another reason (the object's own
// change), and taken the scheduled one with it.
type statusPacer struct {
	pacing StatusPacing
	mu     sync.Mutex
	// next is, per object, when its pending or last recount is scheduled.
	next map[reconcile.Request]time.Time
}

// after returns how long from now the recount of r for an event at now
// should wait. A recount scheduled further ahead than the pacing allows
// means the clock went back: it is forgotten, not waited for.
func (p *statusPacer) after(r reconcile.Request, now time.Time) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	last, seen := p.next[r]
	if seen && last.Sub(now) > max(p.pacing.Delay, p.pacing.Interval) {
		seen = false
	}
	if seen && last.After(now) {
		return last.Sub(now)
	}
	at := now.Add(p.pacing.Delay)
	if seen && at.Before(last.Add(p.pacing.Interval)) {
		at = last.Add(p.pacing.Interval)
	}
	if p.next == nil {
		p.next = map[reconcile.Request]time.Time{}
	}
	p.next[r] = at
	return at.Sub(now)
}

// coalesced enqueues the requests fn maps an office event to, paced by a
// statusPacer on the operator's clock, so that a burst of events becomes
// one reconcile per policy every pacing.Interval.
func coalesced(opts Options, fn handler.MapFunc) handler.EventHandler {
	pacer := &statusPacer{pacing: opts.pacing()}
	clk := opts.clock()
	add := func(ctx context.Context, obj client.Object, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
		now := clk.Now()
		for _, r := range fn(ctx, obj) {
			q.AddAfter(r, pacer.after(r, now))
		}
	}
	return handler.Funcs{
		CreateFunc: func(ctx context.Context, e event.CreateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			add(ctx, e.Object, q)
		},
		UpdateFunc: func(ctx context.Context, e event.UpdateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			add(ctx, e.ObjectOld, q)
			add(ctx, e.ObjectNew, q)
		},
		DeleteFunc: func(ctx context.Context, e event.DeleteEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			add(ctx, e.Object, q)
		},
		GenericFunc: func(ctx context.Context, e event.GenericEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			add(ctx, e.Object, q)
		},
	}
}

// watch is an extra watch of a controller: of a kind with handler, or of a
// source (the network's office events).
type watch struct {
	obj     client.Object
	handler handler.EventHandler
	source  source.Source
	// feed, for a watch of its office events, is the network the
	// controller reads: its reconciles wait until it has synced.
	feed *cluster.Feed
}

// register builds the controller of one kind around the shared status
// reconciler; missing, if set, is called for an object that does not exist.
func register[T statusObject](mgr ctrl.Manager, name string, opts controller.Options, observe observeFunc[T], missing func(context.Context, string) error, watches ...watch) error {
	newObj := func() T { return reflect.New(reflect.TypeFor[T]().Elem()).Interface().(T) }
	b := ctrl.NewControllerManagedBy(mgr).Named(name).For(newObj()).WithOptions(opts)
	var synced func() bool
	for _, w := range watches {
		if w.feed != nil {
			synced = w.feed.Synced
		}
		if w.source != nil {
			b = b.WatchesRawSource(w.source)
			continue
		}
		b = b.Watches(w.obj, w.handler)
	}
	return b.Complete(&statusReconciler[T]{
		name:     name,
		client:   mgr.GetClient(),
		recorder: mgr.GetEventRecorder("petition-operator-" + name),
		newObj:   newObj,
		observe:  observe,
		missing:  missing,
		synced:   synced,
	})
}
