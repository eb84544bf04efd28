package controllers

import (
	"context"
	"errors"
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/fields"
	"github.com/xinfang/petition-operator/internal/network"
	"github.com/xinfang/petition-operator/internal/tenant"
)

// officeFinalizer keeps an office until its tenant namespace is deleted and
// refuses to let an office with children go.
const officeFinalizer = "petition.xinfang.io/tenant"

// officeReconciler places an office in the network and runs its tenant stack.
type officeReconciler struct {
	// index is the network model, fed by officeEvents before any office is
	// enqueued; routing resolves targets through it.
	index    *network.Index
	client   client.Client
	recorder events.EventRecorder
	applier  *applier
	opts     Options
}

func (r *officeReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	office := &v1alpha1.Office{}
	if err := r.client.Get(ctx, req.NamespacedName, office); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !r.opts.owns(office) {
		// Another shard's office: its instance reconciles it.
		return ctrl.Result{}, nil
	}
	ctx = ctrl.LoggerInto(ctx, ctrl.LoggerFrom(ctx).WithValues("office", office.Name))

	if !office.DeletionTimestamp.IsZero() {
		return r.finalize(ctx, office)
	}
	if !controllerutil.ContainsFinalizer(office, officeFinalizer) {
		patch := client.MergeFrom(office.DeepCopy())
		controllerutil.AddFinalizer(office, officeFinalizer)
		if err := r.client.Patch(ctx, office, patch); err != nil {
			return ctrl.Result{}, client.IgnoreNotFound(err)
		}
	}
	before := office.DeepCopy()
	outcome, err := r.reconcile(ctx, office)
	countReconcile("office", outcome, err)
	if err != nil {
		if outcome.Reason == "" {
			return ctrl.Result{}, err
		}
		// Say why in status, then retry with back-off.
		if _, serr := commitStatus(ctx, r.client, r.recorder, before, office, outcome); serr != nil {
			return ctrl.Result{}, errors.Join(err, serr)
		}
		return ctrl.Result{}, err
	}
	return commitStatus(ctx, r.client, r.recorder, before, office, outcome)
}

// reconcile rebuilds the office's status from the world and, when the office
// fits into the network, renders and applies its tenant stack.
func (r *officeReconciler) reconcile(ctx context.Context, office *v1alpha1.Office) (Outcome, error) {
	children, err := r.children(ctx, office.Name)
	if err != nil {
		return Outcome{}, err
	}
	office.Status.Children = int32(len(children))

	path, problem, err := r.path(ctx, office)
	if err != nil {
		return Outcome{}, err
	}
	if problem != nil {
		// Outside the network: no tenant is created, and none is deleted.
		office.Status.Path = nil
		return Outcome{
			Ready: metav1.ConditionFalse, Reason: problem.Reason, Message: problem.Message,
			// A missing parent may still be applied (GitOps apply order);
			// a wrong level or a cycle needs a change to the spec.
			Stalled: problem.Reason != v1alpha1.ReasonParentMissing,
		}, nil
	}
	office.Status.Path = path
	office.Status.Namespace = tenant.Namespace(office.Name)
	if office.Spec.Suspend {
		return Outcome{Ready: metav1.ConditionFalse, Reason: v1alpha1.ReasonSuspended, Idle: true,
			Message: "spec.suspend is true: the tenant stack is left as it is"}, nil
	}

	esc, cal, blocked, err := r.escalation(ctx, office, path)
	if err != nil {
		return Outcome{}, err
	}
	if blocked != nil {
		return *blocked, nil
	}
	office.Status.Escalation = statusChain(esc)
	var policies v1alpha1.RoutingPolicyList
	if err := r.client.List(ctx, &policies); err != nil {
		return Outcome{}, fmt.Errorf("listing routing policies: %w", err)
	}
	routing := network.CompileRouting(office, path, policies.Items, r.index)
	office.Status.Routing, err = routingStatus(&routing)
	if err != nil {
		return Outcome{}, err
	}
	config, hash, err := network.Compile(office, path, esc, cal, &routing).Marshal()
	if err != nil {
		return Outcome{}, err
	}
	td, err := r.tenantDefaults(ctx)
	if err != nil {
		return Outcome{}, err
	}
	image := network.EntitledImage(td, r.opts.TenantImage, office, path)
	limits := tenant.LimitsOf(td)
	objs, err := tenant.Render(tenant.Input{
		Office: office, Config: config, ConfigHash: hash,
		DefaultImage: image, IngressNamespace: r.opts.IngressNamespace,
		Labels: r.opts.shardLabels(office), Limits: &limits,
	})
	if err != nil {
		return Outcome{Ready: metav1.ConditionFalse, Reason: v1alpha1.ReasonRenderFailed, Stalled: true,
			Message: err.Error()}, nil
	}
	inventory, err := r.applier.apply(ctx, office, objs)
	if err != nil {
		var invalid *invalidObjectError
		if errors.As(err, &invalid) {
			return Outcome{Ready: metav1.ConditionFalse, Reason: v1alpha1.ReasonApplyFailed, Stalled: true,
				Message: err.Error()}, nil
		}
		var conflict *namespaceConflictError
		if errors.As(err, &conflict) {
			// Someone else's namespace: nothing is written into it. Looked
			// at again now and then, since its deletion is not watched.
			return Outcome{Ready: metav1.ConditionFalse, Reason: v1alpha1.ReasonNamespaceConflict, Stalled: true,
				Message: err.Error(), RequeueAfter: namespaceConflictRetry}, nil
		}
		// Transient (a terminating namespace, the API server away): retried
		// with back-off, and said in status meanwhile.
		return Outcome{Ready: metav1.ConditionFalse, Reason: v1alpha1.ReasonApplyFailed, Message: err.Error()}, err
	}
	if err := r.applier.prune(ctx, office, office.Status.Namespace, office.Status.Inventory, inventory); err != nil {
		return Outcome{Ready: metav1.ConditionFalse, Reason: v1alpha1.ReasonApplyFailed, Message: err.Error()}, err
	}
	office.Status.Inventory = inventory

	var deploy appsv1.Deployment
	office.Status.Tenant = &v1alpha1.OfficeTenantStatus{ConfigHash: hash, Image: image}
	if err := r.client.Get(ctx, types.NamespacedName{Namespace: office.Status.Namespace, Name: "desk"}, &deploy); err == nil {
		office.Status.Tenant.ReadyReplicas = deploy.Status.ReadyReplicas
		office.Status.Tenant.RolledOut = tenant.RolledOut(&deploy, renderedHash(objs, "Deployment", "desk"))
	} else if !apierrors.IsNotFound(err) {
		return Outcome{}, err
	}
	return ready(fmt.Sprintf("tenant stack applied in %s; office at %s", office.Status.Namespace, strings.Join(path, "/"))), nil
}

// renderedHash returns the tenant.AnnotationRendered of the rendered
// object of that kind and name, "" when there is none.
func renderedHash(objs []*unstructured.Unstructured, kind, name string) string {
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			return o.GetAnnotations()[tenant.AnnotationRendered]
		}
	}
	return ""
}

// tenantDefaults returns the TenantDefaults, nil when there is none.
func (r *officeReconciler) tenantDefaults(ctx context.Context) (*v1alpha1.TenantDefaults, error) {
	td := &v1alpha1.TenantDefaults{}
	if err := r.client.Get(ctx, types.NamespacedName{Name: v1alpha1.DefaultTenantDefaults}, td); err != nil {
		if !apierrors.IsNotFound(err) {
			return nil, err
		}
		return nil, nil
	}
	return td, nil
}

// escalation resolves the office's chain from its EscalationPolicy (the
// built-in statutory policy when it names none and none is stored) and reads
// its HolidayCalendar. A missing policy or calendar may still be applied: the
// office waits for it (Reconciling). One that cannot be used stalls it.
func (r *officeReconciler) escalation(ctx context.Context, office *v1alpha1.Office, path []string) (*network.Escalation, *v1alpha1.HolidayCalendarSpec, *Outcome, error) {
	name := fields.PolicyName(office)
	policy := &v1alpha1.EscalationPolicy{}
	if err := r.client.Get(ctx, types.NamespacedName{Name: name}, policy); err != nil {
		switch {
		case !apierrors.IsNotFound(err):
			return nil, nil, nil, err
		case name == v1alpha1.DefaultEscalationPolicy:
			policy = network.StatutoryPolicy()
		default:
			return nil, nil, &Outcome{Ready: metav1.ConditionFalse, Reason: v1alpha1.ReasonPolicyMissing,
				Message: fmt.Sprintf("spec.escalation.policyRef: EscalationPolicy %q does not exist", name)}, nil
		}
	}
	esc, err := network.ResolveChain(office, path, policy)
	if err != nil {
		return nil, nil, &Outcome{Ready: metav1.ConditionFalse, Reason: v1alpha1.ReasonInvalidPolicy, Stalled: true,
			Message: "spec.escalation.policyRef: " + err.Error()}, nil
	}
	if office.Spec.CalendarRef == "" {
		return esc, nil, nil, nil
	}
	cal := &v1alpha1.HolidayCalendar{}
	if err := r.client.Get(ctx, types.NamespacedName{Name: string(office.Spec.CalendarRef)}, cal); err != nil {
		if !apierrors.IsNotFound(err) {
			return nil, nil, nil, err
		}
		return nil, nil, &Outcome{Ready: metav1.ConditionFalse, Reason: v1alpha1.ReasonCalendarMissing,
			Message: fmt.Sprintf("spec.calendarRef: HolidayCalendar %q does not exist", office.Spec.CalendarRef)}, nil
	}
	if _, err := network.NewCalendar(&cal.Spec); err != nil {
		return nil, nil, &Outcome{Ready: metav1.ConditionFalse, Reason: v1alpha1.ReasonInvalidDate, Stalled: true,
			Message: fmt.Sprintf("spec.calendarRef: HolidayCalendar %s: %v", cal.Name, err)}, nil
	}
	return esc, &cal.Spec, nil, nil
}

// routingStatus summarises a routing table for the office's status.
func routingStatus(t *network.RoutingTable) (*v1alpha1.OfficeRoutingStatus, error) {
	hash, err := network.Hash(t)
	if err != nil {
		return nil, err
	}
	return &v1alpha1.OfficeRoutingStatus{Rules: int32(len(t.Rules)), Unresolved: int32(len(t.Unresolved())), ConfigHash: hash,
		Policies: t.Policies}, nil
}

// statusChain is the chain as the office's status shows it.
func statusChain(esc *network.Escalation) []v1alpha1.EscalationStep {
	steps := make([]v1alpha1.EscalationStep, len(esc.Steps))
	for i, s := range esc.Steps {
		steps[i] = v1alpha1.EscalationStep{Stage: string(s.Stage), Office: s.Office, LimitDays: int32(s.Limit.Days), WorkingDays: s.Limit.Working}
	}
	return steps
}

// finalize deletes the tenant namespace of an office that has no children,
// then lets the office go. An office with children stays.
func (r *officeReconciler) finalize(ctx context.Context, office *v1alpha1.Office) (ctrl.Result, error) {
	if !controllerutil.ContainsFinalizer(office, officeFinalizer) {
		return ctrl.Result{}, nil
	}
	children, err := r.children(ctx, office.Name)
	if err != nil {
		return ctrl.Result{}, err
	}
	if len(children) > 0 {
		names := make([]string, len(children))
		for i, c := range children {
			names[i] = c.Name
		}
		before := office.DeepCopy()
		office.Status.Children = int32(len(children))
		// The children's deletion or move enqueues this office again.
		return commitStatus(ctx, r.client, r.recorder, before, office, Outcome{
			Ready: metav1.ConditionFalse, Reason: v1alpha1.ReasonDeletionBlocked,
			Message: fmt.Sprintf("office has %d children (%s): delete them or give them another parent first", len(children), strings.Join(names, ", ")),
		})
	}
	if err := r.applier.deleteNamespace(ctx, office); err != nil {
		return ctrl.Result{}, err
	}
	patch := client.MergeFrom(office.DeepCopy())
	controllerutil.RemoveFinalizer(office, officeFinalizer)
	return ctrl.Result{}, client.IgnoreNotFound(r.client.Patch(ctx, office, patch))
}

func (r *officeReconciler) children(ctx context.Context, name string) ([]v1alpha1.Office, error) {
	var list v1alpha1.OfficeList
	if err := r.client.List(ctx, &list, client.MatchingFields{fields.OfficeParent: name}); err != nil {
		return nil, fmt.Errorf("listing children of %s: %w", name, err)
	}
	return list.Items, nil
}

// path walks the office's ancestors through the cache. A read error other
// than NotFound is transient and returned.
func (r *officeReconciler) path(ctx context.Context, office *v1alpha1.Office) ([]string, *network.Problem, error) {
	var readErr error
	lookup := func(name string) (*v1alpha1.Office, bool) {
		var parent v1alpha1.Office
		if err := r.client.Get(ctx, types.NamespacedName{Name: name}, &parent); err != nil {
			if !apierrors.IsNotFound(err) && readErr == nil {
				readErr = err
			}
			return nil, false
		}
		return &parent, true
	}
	path, problem := network.Path(office, lookup)
	if readErr != nil {
		return nil, nil, fmt.Errorf("reading the ancestors of %s: %w", office.Name, readErr)
	}
	return path, problem, nil
}

// using maps a policy or calendar to the offices that name it in field.
func (r *officeReconciler) using(field string) handler.MapFunc {
	return func(ctx context.Context, obj client.Object) []reconcile.Request {
		var list v1alpha1.OfficeList
		if err := r.client.List(ctx, &list, client.MatchingFields{field: obj.GetName()}, client.UnsafeDisableDeepCopy); err != nil {
			ctrl.LoggerFrom(ctx).Error(err, "listing offices", field, obj.GetName())
			return nil
		}
		reqs := make([]reconcile.Request, len(list.Items))
		for i, o := range list.Items {
			reqs[i] = reconcile.Request{NamespacedName: types.NamespacedName{Name: o.Name}}
		}
		return reqs
	}
}
