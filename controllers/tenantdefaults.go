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
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/network"
)

// +kubebuilder:rbac:groups=petition.xinfang.io,resources=tenantdefaults,verbs=get;list;watch;create;patch
// +kubebuilder:rbac:groups=petition.xinfang.io,resources=tenantdefaults/status,verbs=get;update;patch

// tenantRollout moves the default tenant image (the TenantDefaults image,
// else --tenant-image) through the offices stage by stage, as a
// RoutingPolicy's rollout moves its rules.
type tenantRollout struct {
	client client.Reader
	// image is the operator's --tenant-image.
	image string
	now   func() time.Time
}

func (r *tenantRollout) observe(ctx context.Context, td *v1alpha1.TenantDefaults) (Outcome, error) {
	var offices v1alpha1.OfficeList
	if err := r.client.List(ctx, &offices, client.UnsafeDisableDeepCopy); err != nil {
		return Outcome{}, fmt.Errorf("listing offices: %w", err)
	}
	image := network.DefaultImage(td, r.image)
	step := network.StepTenantRollout(td, image, network.IndexOf(offices.Items), r.now())
	td.Status.Image, td.Status.Stage, td.Status.Rollout = image, step.Stage, step.Status
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

// defaultTenantDefaults creates the TenantDefaults when it is missing: at
// start and whenever it is deleted. It names no image, so the image is
// --tenant-image until a user names one, and rolls out level by level; it
// is never updated.
func defaultTenantDefaults(ctx context.Context, reader client.Reader, c client.Client, name string) error {
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
	reader client.Reader
}

var _ handler.EventHandler = &tenantDefaultsEvents{}

// imageEntitlement is what the image each office runs depends on besides
// the spec.
func imageEntitlement(td *v1alpha1.TenantDefaults) string {
	return rolloutPosition(td.Status.Rollout, td.Status.Stage, td.Status.StableImage)
}

// all enqueues the offices that run the default image, or every office
// when withOwnImage.
func (e *tenantDefaultsEvents) all(ctx context.Context, q workqueue.TypedRateLimitingInterface[reconcile.Request], withOwnImage bool) {
	var list v1alpha1.OfficeList
	if err := e.reader.List(ctx, &list, client.UnsafeDisableDeepCopy); err != nil {
		log.FromContext(ctx).Error(err, "listing offices")
		return
	}
	for i := range list.Items {
		if withOwnImage || list.Items[i].Spec.Tenant.Image == "" {
			q.Add(reconcile.Request{NamespacedName: types.NamespacedName{Name: list.Items[i].Name}})
		}
	}
}

func (e *tenantDefaultsEvents) Create(ctx context.Context, _ event.CreateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	e.all(ctx, q, true)
}

func (e *tenantDefaultsEvents) Update(ctx context.Context, evt event.UpdateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	old, cur := evt.ObjectOld.(*v1alpha1.TenantDefaults), evt.ObjectNew.(*v1alpha1.TenantDefaults)
	if old.Generation == cur.Generation && imageEntitlement(old) == imageEntitlement(cur) {
		return
	}
	e.all(ctx, q, !equality.Semantic.DeepEqual(old.Spec.Limits, cur.Spec.Limits))
}

func (e *tenantDefaultsEvents) Delete(ctx context.Context, _ event.DeleteEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	e.all(ctx, q, true)
}

func (e *tenantDefaultsEvents) Generic(context.Context, event.GenericEvent, workqueue.TypedRateLimitingInterface[reconcile.Request]) {
}
