package controllers

import (
	"context"
	"reflect"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/fields"
	"github.com/xinfang/petition-operator/internal/network"
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
}

// owns reports whether this instance reconciles the office.
func (o Options) owns(office client.Object) bool {
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
// operator manages (of its shard, when shard is not nil) and drops
// managedFields, which nothing reads.
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
	return cache.Options{ByObject: byObject, DefaultTransform: cache.TransformStripManagedFields()}
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
// +kubebuilder:rbac:groups=networking.k8s.io,resources=networkpolicies,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=policy,resources=poddisruptionbudgets,verbs=get;list;watch;create;update;patch;delete

// Setup registers the field indexes (package fields) and every reconciler
// with mgr.
func Setup(ctx context.Context, mgr ctrl.Manager, opts Options) error {
	if err := fields.Register(ctx, mgr.GetFieldIndexer()); err != nil {
		return err
	}
	copts := controller.Options{MaxConcurrentReconciles: opts.MaxConcurrentReconciles}

	index := network.NewIndex()
	offices := &officeReconciler{
		index:    index,
		client:   mgr.GetClient(),
		recorder: mgr.GetEventRecorder("petition-operator-office"),
		applier:  &applier{client: mgr.GetClient(), reader: mgr.GetAPIReader(), scheme: mgr.GetScheme()},
		opts:     opts,
	}
	// Offices are enqueued by officeEvents, which keeps the network index:
	// an office's status depends on its parent and its ancestors (path,
	// level) and on its children (count).
	b := ctrl.NewControllerManagedBy(mgr).
		Named("office").
		Watches(&v1alpha1.Office{}, &officeEvents{index: index, reader: mgr.GetClient()}).
		Watches(&v1alpha1.RoutingPolicy{}, &routingPolicyEvents{index: index}).
		// The default tenant image and where its rollout stands.
		Watches(&v1alpha1.TenantDefaults{}, &tenantDefaultsEvents{reader: mgr.GetClient()}).
		// A policy or calendar change reaches the offices that use it, and
		// only those.
		// A change of their status (the count of offices that use them,
		// which every office event changes) concerns no office.
		Watches(&v1alpha1.EscalationPolicy{}, handler.EnqueueRequestsFromMapFunc(offices.using(fields.OfficePolicy)),
			builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&v1alpha1.HolidayCalendar{}, handler.EnqueueRequestsFromMapFunc(offices.using(fields.OfficeCalendar)),
			builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		WithOptions(copts)
	// A tenant object edited or deleted by hand is restored.
	owner := handler.EnqueueRequestForOwner(mgr.GetScheme(), mgr.GetRESTMapper(), &v1alpha1.Office{}, handler.OnlyControllerOwner())
	for _, obj := range tenantObjects() {
		b = b.Watches(obj, owner)
	}
	if err := b.Complete(offices); err != nil {
		return err
	}
	if err := registerCollector(mgr.GetCache(), opts); err != nil {
		return err
	}
	// A policy's status depends on every office it may select: any office
	// event enqueues every policy, gathered over policyStatusDelay.
	policies := &routingPolicyObserver{client: mgr.GetClient(), now: time.Now}
	if err := register(mgr, "routingpolicy", copts, policies.observe, nil,
		watch{&v1alpha1.Office{}, coalesced(allRoutingPolicies(mgr.GetClient()))}); err != nil {
		return err
	}
	defaults := &defaultPolicy{reader: mgr.GetAPIReader(), client: mgr.GetClient()}
	if err := mgr.Add(defaults); err != nil {
		return err
	}
	// The rollout of the default tenant image follows every office.
	tenants := &tenantRollout{client: mgr.GetClient(), image: opts.TenantImage, now: time.Now}
	ensureTenantDefaults := func(ctx context.Context, name string) error {
		return defaultTenantDefaults(ctx, mgr.GetAPIReader(), mgr.GetClient(), name)
	}
	if err := register(mgr, "tenantdefaults", copts, tenants.observe, ensureTenantDefaults,
		watch{&v1alpha1.Office{}, coalesced(func(context.Context, client.Object) []reconcile.Request {
			return []reconcile.Request{{NamespacedName: types.NamespacedName{Name: v1alpha1.DefaultTenantDefaults}}}
		})}); err != nil {
		return err
	}
	// Policies and calendars count the offices that use them.
	policyUsers := users{client: mgr.GetClient(), field: fields.OfficePolicy, value: fields.Values[fields.OfficePolicy]}
	if err := register(mgr, "escalationpolicy", copts, policyUsers.observeEscalationPolicy, defaults.ensure,
		watch{&v1alpha1.Office{}, coalesced(policyUsers.enqueue())}); err != nil {
		return err
	}
	calendarUsers := users{client: mgr.GetClient(), field: fields.OfficeCalendar, value: fields.Values[fields.OfficeCalendar]}
	return register(mgr, "holidaycalendar", copts, calendarUsers.observeHolidayCalendar, nil,
		watch{&v1alpha1.Office{}, coalesced(calendarUsers.enqueue())})
}

// policyStatusDelay is how long office events are gathered before the
// policies and calendars they concern recount their offices. A network of
// thousands of offices being applied makes one status write per policy every
// policyStatusDelay, rather than one per office event: at 2,000 offices that
// was three writes per office, a quarter of the operator's writes.
const policyStatusDelay = 2 * time.Second

// coalesced enqueues the requests fn maps an office event to after
// policyStatusDelay. The workqueue keeps one of each waiting request, so a
// burst of events becomes one reconcile per policy.
func coalesced(fn handler.MapFunc) handler.EventHandler {
	add := func(ctx context.Context, obj client.Object, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
		for _, r := range fn(ctx, obj) {
			q.AddAfter(r, policyStatusDelay)
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

// watch is an extra watch of a controller.
type watch struct {
	obj     client.Object
	handler handler.EventHandler
}

// register builds the controller of one kind around the shared status
// reconciler; missing, if set, is called for an object that does not exist.
func register[T statusObject](mgr ctrl.Manager, name string, opts controller.Options, observe observeFunc[T], missing func(context.Context, string) error, watches ...watch) error {
	newObj := func() T { return reflect.New(reflect.TypeFor[T]().Elem()).Interface().(T) }
	b := ctrl.NewControllerManagedBy(mgr).Named(name).For(newObj()).WithOptions(opts)
	for _, w := range watches {
		b = b.Watches(w.obj, w.handler)
	}
	return b.Complete(&statusReconciler[T]{
		name:     name,
		client:   mgr.GetClient(),
		recorder: mgr.GetEventRecorder("petition-operator-" + name),
		newObj:   newObj,
		observe:  observe,
		missing:  missing,
	})
}

// allRoutingPolicies maps any event to every RoutingPolicy.
func allRoutingPolicies(c client.Reader) handler.MapFunc {
	return func(ctx context.Context, _ client.Object) []reconcile.Request {
		var list v1alpha1.RoutingPolicyList
		if err := c.List(ctx, &list); err != nil {
			ctrl.LoggerFrom(ctx).Error(err, "listing routing policies")
			return nil
		}
		reqs := make([]reconcile.Request, len(list.Items))
		for i := range list.Items {
			reqs[i] = reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])}
		}
		return reqs
	}
}
