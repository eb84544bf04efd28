package controllers

import (
	"context"
	"fmt"
	"reflect"

	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/xinfang/petition-operator/api/v1alpha1"
)

// Options configures the reconcilers.
type Options struct {
	// MaxConcurrentReconciles per kind; 0 means controller-runtime's default.
	MaxConcurrentReconciles int
}

// fieldParent indexes offices by spec.parent, to find an office's children.
const fieldParent = "spec.parent"

// +kubebuilder:rbac:groups=petition.xinfang.io,resources=offices;routingpolicies;escalationpolicies;holidaycalendars,verbs=get;list;watch
// +kubebuilder:rbac:groups=petition.xinfang.io,resources=offices/status;routingpolicies/status;escalationpolicies/status;holidaycalendars/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Setup registers the field indexes and every reconciler with mgr.
func Setup(ctx context.Context, mgr ctrl.Manager, opts Options) error {
	if err := mgr.GetFieldIndexer().IndexField(ctx, &v1alpha1.Office{}, fieldParent, func(o client.Object) []string {
		if p := o.(*v1alpha1.Office).Spec.Parent; p != "" {
			return []string{string(p)}
		}
		return nil
	}); err != nil {
		return fmt.Errorf("indexing offices by parent: %w", err)
	}
	copts := controller.Options{MaxConcurrentReconciles: opts.MaxConcurrentReconciles}

	offices := &officeObserver{client: mgr.GetClient()}
	// An office's status depends on its parent (path, level) and on its
	// children (count): enqueue both when an office changes, so that a child
	// waiting for its parent becomes Ready when the parent appears.
	if err := register(mgr, "office", copts, offices.observe,
		func(b *builder.Builder) *builder.Builder {
			return b.Watches(&v1alpha1.Office{}, handler.EnqueueRequestsFromMapFunc(offices.relatives))
		}); err != nil {
		return err
	}
	if err := register(mgr, "routingpolicy", copts, observeRoutingPolicy, nil); err != nil {
		return err
	}
	if err := register(mgr, "escalationpolicy", copts, observeEscalationPolicy, nil); err != nil {
		return err
	}
	return register(mgr, "holidaycalendar", copts, observeHolidayCalendar, nil)
}

// register builds the controller of one kind around the shared status
// reconciler; extra adds the kind's own watches.
func register[T statusObject](mgr ctrl.Manager, name string, opts controller.Options, observe observeFunc[T], extra func(*builder.Builder) *builder.Builder) error {
	newObj := func() T { return reflect.New(reflect.TypeFor[T]().Elem()).Interface().(T) }
	b := ctrl.NewControllerManagedBy(mgr).Named(name).For(newObj()).WithOptions(opts)
	if extra != nil {
		b = extra(b)
	}
	return b.Complete(&statusReconciler[T]{
		client:   mgr.GetClient(),
		recorder: mgr.GetEventRecorder("petition-operator-" + name),
		newObj:   newObj,
		observe:  observe,
	})
}

// relatives maps an office to its parent and its children.
func (o *officeObserver) relatives(ctx context.Context, obj client.Object) []reconcile.Request {
	office := obj.(*v1alpha1.Office)
	var reqs []reconcile.Request
	if office.Spec.Parent != "" {
		reqs = append(reqs, reconcile.Request{NamespacedName: types.NamespacedName{Name: string(office.Spec.Parent)}})
	}
	children, err := o.children(ctx, office.Name)
	if err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "listing children", "office", office.Name)
		return reqs
	}
	for _, c := range children {
		reqs = append(reqs, reconcile.Request{NamespacedName: types.NamespacedName{Name: c.Name}})
	}
	return reqs
}
