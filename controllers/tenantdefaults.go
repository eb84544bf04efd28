package controllers

import (
	"context"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/cluster"
	"github.com/xinfang/petition-operator/internal/xinfang"
)

// +kubebuilder:rbac:groups=petition.xinfang.io,resources=tenantdefaults,verbs=get;list;watch;create;patch
// +kubebuilder:rbac:groups=petition.xinfang.io,resources=tenantdefaults/status,verbs=get;update;patch

// setupTenantDefaultsController registers the controller of the default
// tenant image's rollout, which follows every office of the model. It
// creates the TenantDefaults again when it is deleted.
func setupTenantDefaultsController(mgr ctrl.Manager, feed *cluster.Feed, opts Options, copts controller.Options) error {
	tenants := &tenantRollout{index: feed.Network(), image: opts.TenantImage, now: opts.now()}
	recreate := func(ctx context.Context, name string) error {
		return ensureTenantDefaults(ctx, mgr.GetAPIReader(), mgr.GetClient(), name)
	}
	only := func(context.Context, client.Object) []reconcile.Request {
		return []reconcile.Request{{NamespacedName: types.NamespacedName{Name: v1alpha1.DefaultTenantDefaults}}}
	}
	return register(mgr, "tenantdefaults", copts, tenants.observe, recreate, watchModel(feed, coalesced(opts, only)))
}

// tenantRollout moves the default tenant image (the TenantDefaults image,
// else --tenant-image) through the offices stage by stage, as a
// RoutingPolicy's rollout moves its rules.
type tenantRollout struct {
	index *xinfang.Network
	// image is the operator's --tenant-image.
	image string
	now   func() time.Time
}

func (r *tenantRollout) observe(_ context.Context, td *v1alpha1.TenantDefaults) (Outcome, error) {
	image := xinfang.DefaultImage(td, r.image)
	step := xinfang.StepTenantRollout(td, image, r.index, r.now())
	td.Status.Image, td.Status.Stage, td.Status.Rollout = image, step.Stage, step.Status
	td.Status.StageProgress = xinfang.StageProgress(step.Stage, td.Spec.Rollout)
	if step.Completed {
		td.Status.StableImage = image
	}
	out := rolloutOutcome(td.TenantRollout(), step)
	if out.Ready == "True" {
		out = ready(fmt.Sprintf("%s runs on every office that names no image of its own", image))
	}
	out.Events = rolloutEvents(step)
	return out, nil
}

// ensureTenantDefaults creates the TenantDefaults when it is missing: at
// start and whenever it is deleted. It names no image, so the image is
// --tenant-image until a user names one, and rolls out level by level; it
// is never updated.
func ensureTenantDefaults(ctx context.Context, reader client.Reader, c client.Client, name string) error {
	if name != v1alpha1.DefaultTenantDefaults {
		return nil
	}
	err := reader.Get(ctx, types.NamespacedName{Name: name}, &v1alpha1.TenantDefaults{})
	if !apierrors.IsNotFound(err) {
		return err
	}
	// Applied with no spec field, so that the operator owns none: a user's
	// or a GitOps tool's apply of any of them never conflicts with it. The
	// API server defaults spec.rollout.
	td := &unstructured.Unstructured{}
	td.SetGroupVersionKind(v1alpha1.GroupVersion.WithKind("TenantDefaults"))
	td.SetName(name)
	td.Object["spec"] = map[string]any{}
	if err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(td), client.FieldOwner(FieldOwner)); err != nil {
		return fmt.Errorf("creating the TenantDefaults %s: %w", name, err)
	}
	log.FromContext(ctx).Info("created the TenantDefaults", "name", name)
	return nil
}

// tenantDefaultsEvents enqueues the offices that run the default image when
// what it depends on changed (the spec, or where the rollout stands), and
// every office when the limits of their namespaces changed.
type tenantDefaultsEvents struct {
	index *xinfang.Network
}

var _ handler.EventHandler = &tenantDefaultsEvents{}

// imageEntitlement is what the image each office runs depends on besides
// the spec.
func imageEntitlement(td *v1alpha1.TenantDefaults) string {
	return rolloutPosition(td.Status.Rollout, td.Status.Stage, td.Status.StableImage)
}

// all enqueues the offices that run the default image, or every office
// when withOwnImage.
func (e *tenantDefaultsEvents) all(q workqueue.TypedRateLimitingInterface[reconcile.Request], withOwnImage bool) {
	for _, o := range e.index.All() {
		if o.Spec.Level.HasTenant() && (withOwnImage || o.Spec.Tenant.Image == "") {
			q.Add(reconcile.Request{NamespacedName: types.NamespacedName{Name: o.Name}})
		}
	}
}

func (e *tenantDefaultsEvents) Create(_ context.Context, _ event.CreateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	e.all(q, true)
}

func (e *tenantDefaultsEvents) Update(_ context.Context, evt event.UpdateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	old, cur := evt.ObjectOld.(*v1alpha1.TenantDefaults), evt.ObjectNew.(*v1alpha1.TenantDefaults)
	if old.Generation == cur.Generation && imageEntitlement(old) == imageEntitlement(cur) {
		return
	}
	e.all(q, !equality.Semantic.DeepEqual(old.Spec.Limits, cur.Spec.Limits))
}

func (e *tenantDefaultsEvents) Delete(_ context.Context, _ event.DeleteEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	e.all(q, true)
}

func (e *tenantDefaultsEvents) Generic(context.Context, event.GenericEvent, workqueue.TypedRateLimitingInterface[reconcile.Request]) {
}
