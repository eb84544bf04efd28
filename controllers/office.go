package controllers

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/applyconfigurations"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/cluster"
	"github.com/xinfang/petition-operator/internal/fieldindex"
	"github.com/xinfang/petition-operator/internal/tenant"
	"github.com/xinfang/petition-operator/internal/xinfang"
)

// officeReconciler places an office in the network and runs its tenant stack.
type officeReconciler struct {
	// network is the network the office is compiled against.
	network  *xinfang.Network
	client   client.Client
	recorder events.EventRecorder
	applier  *applier
	opts     Options
	// now is the clock the CalendarCoverage condition is judged by.
	now func() time.Time
	// running records the reconciles in progress, for a slow shutdown.
	running *running
}

// setupOfficeController registers the office controller and its watches.
// Offices are enqueued by officeEvents from the network's events: an office's
// status depends on its parent and its ancestors (path, level), its
// children (count) and the offices its routes resolve to.
func setupOfficeController(mgr ctrl.Manager, feed *cluster.Feed, opts Options, copts controller.Options, inflight *running) error {
	r := &officeReconciler{
		network:  feed.Network(),
		client:   mgr.GetClient(),
		recorder: mgr.GetEventRecorder("petition-operator-office"),
		applier:  &applier{client: mgr.GetClient(), reader: mgr.GetAPIReader(), scheme: mgr.GetScheme(), types: applyconfigurations.NewTypeConverter(mgr.GetScheme())},
		opts:     opts,
		now:      opts.now(),
		running:  inflight,
	}
	b := ctrl.NewControllerManagedBy(mgr).
		Named("office").
		WatchesRawSource(feed.Source(officeEvents(feed.Network(), mgr.GetClient()))).
		Watches(&v1alpha1.RoutingPolicy{}, &selectionEvents[*v1alpha1.RoutingPolicy]{index: feed.Network(), selected: selected, entitlement: entitlement}).
		Watches(&v1alpha1.DutyPeriod{}, &selectionEvents[*v1alpha1.DutyPeriod]{index: feed.Network(), selected: xinfang.SelectedByDuty, entitlement: dutyEntitlement}).
		// The default tenant image, where its rollout stands, and the limits.
		Watches(&v1alpha1.TenantDefaults{}, &tenantDefaultsEvents{index: feed.Network()}).
		// A policy or calendar change reaches the offices that use it (and,
		// for a policy, those that route to them), and only those. A change of their status (the count of offices that
		// use them) concerns no office.
		Watches(&v1alpha1.EscalationPolicy{}, handler.EnqueueRequestsFromMapFunc(r.usersAndRouters),
			builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&v1alpha1.HolidayCalendar{}, handler.EnqueueRequestsFromMapFunc(r.referring(fieldindex.OfficeCalendar)),
			builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		WithOptions(copts)
	// A tenant object edited or deleted by hand is restored.
	owner := handler.EnqueueRequestForOwner(mgr.GetScheme(), mgr.GetRESTMapper(), &v1alpha1.Office{}, handler.OnlyControllerOwner())
	for _, obj := range tenantObjects() {
		gvk, err := apiutil.GVKForObject(obj, mgr.GetScheme())
		if err != nil {
			return err
		}
		if metadataOnly(gvk) {
			b = b.WatchesMetadata(obj, owner)
			continue
		}
		b = b.Watches(obj, owner)
	}
	return b.Complete(r)
}

// officeScope is what one reconcile of an office learns, phase by phase.
type officeScope struct {
	office *v1alpha1.Office
	// before is the office as read, after the finalizer phase: the base of
	// the status patch. Nil until then.
	before   *v1alpha1.Office
	compiled *xinfang.Compiled
	rendered []*unstructured.Unstructured
	applied  []v1alpha1.ObjectRef
	// outcome is the Ready condition to report; nil leaves the status as it
	// is (a transient error with nothing to say).
	outcome *Outcome
	// recheck, if not zero, is when to look again if nothing else changes:
	// the CalendarCoverage condition may change, or a young tenant rollout
	// may stall.
	recheck time.Duration
}

// officePhase is one step of the reconcile. It returns done to end the
// reconcile after it (its outcome said), or an error to retry with back-off.
type officePhase func(ctx context.Context, s *officeScope) (done bool, err error)

// Reconcile runs the phases of an office — finalizer, compile, render,
// apply, prune, tenant — or its deletion, and writes its status once, at the
// end, from what they found.
func (r *officeReconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, retErr error) {
	// Recorded from the first read to the end of the status write, which
	// the deferred commit below makes after the phases: this defer is
	// registered first, so it runs last.
	enter, end := r.running.begin("office", req.Name, "read")
	defer end()
	office := &v1alpha1.Office{}
	if err := r.client.Get(ctx, req.NamespacedName, office); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !r.opts.Owns(office) {
		// Another shard's office: its instance reconciles it.
		return ctrl.Result{}, nil
	}
	ctx = ctrl.LoggerInto(ctx, ctrl.LoggerFrom(ctx).WithValues("office", office.Name))
	if !office.Spec.Level.HasTenant() {
		enter("village")
		return r.reconcileVillage(ctx, office)
	}
	s := &officeScope{office: office}
	defer func() {
		enter("status")
		result, retErr = r.commit(ctx, s, retErr)
	}()

	phases := []namedPhase{{"finalizer", r.ensureFinalizer}, {"compile", r.compile}, {"render", r.render},
		{"apply", r.apply}, {"prune", r.prune}, {"cases", r.reconcileCases}, {"tenant", r.observeTenant}}
	if !office.DeletionTimestamp.IsZero() {
		phases = []namedPhase{{"delete", r.reconcileDelete}}
	}
	for _, phase := range phases {
		enter(phase.name)
		if done, err := phase.run(ctx, s); done || err != nil {
			return ctrl.Result{}, err
		}
	}
	return ctrl.Result{}, nil
}

// namedPhase is a phase of the office reconcile with the name a manager
// slow to stop logs it by.
type namedPhase struct {
	name string
	run  officePhase
}

// commit is the one status write of a reconcile: it counts the reconcile,
// patches the status from the outcome when there is one, and joins the
// phases' error with the patch's.
func (r *officeReconciler) commit(ctx context.Context, s *officeScope, err error) (ctrl.Result, error) {
	var outcome Outcome
	if s.outcome != nil {
		outcome = *s.outcome
	}
	countReconcile("office", outcome, err)
	if s.outcome == nil || s.before == nil {
		return ctrl.Result{}, err
	}
	if s.recheck > 0 && (outcome.RequeueAfter == 0 || s.recheck < outcome.RequeueAfter) {
		outcome.RequeueAfter = s.recheck
	}
	result, serr := commitStatus(ctx, r.client, r.recorder, s.before, s.office, outcome)
	if err != nil {
		// Said in status; retried with back-off.
		return ctrl.Result{}, errors.Join(err, serr)
	}
	return result, serr
}

// say sets the outcome of the reconcile; done is always true, for a phase
// to return it.
func (s *officeScope) say(o Outcome) (done bool) {
	s.outcome = &o
	return true
}

// lookAgainWithin makes the office be reconciled again within d at the
// latest, whatever else asked for a later look.
func (s *officeScope) lookAgainWithin(d time.Duration) {
	if s.recheck == 0 || d < s.recheck {
		s.recheck = d
	}
}

// notReady is a Ready=False outcome.
func notReady(reason, message string, stalled bool) Outcome {
	return Outcome{Ready: metav1.ConditionFalse, Reason: reason, Message: message, Stalled: stalled}
}

// ensureFinalizer adds the finalizer that keeps the office until its tenant
// is deleted.
func (r *officeReconciler) ensureFinalizer(ctx context.Context, s *officeScope) (bool, error) {
	if !controllerutil.ContainsFinalizer(s.office, v1alpha1.OfficeFinalizer) {
		patch := client.MergeFrom(s.office.DeepCopy())
		controllerutil.AddFinalizer(s.office, v1alpha1.OfficeFinalizer)
		if err := r.client.Patch(ctx, s.office, patch); err != nil {
			return true, client.IgnoreNotFound(err)
		}
	}
	s.before = s.office.DeepCopy()
	return false, nil
}

// compile places the office in the network and compiles it (xinfang.Compile).
// An office outside the network gets no tenant, and none is deleted; a
// suspended one keeps its tenant as it is.
func (r *officeReconciler) compile(ctx context.Context, s *officeScope) (bool, error) {
	o := s.office
	o.Status.Children = int32(r.network.ChildCount(o.Name))
	if o.Spec.CalendarRef == "" {
		apimeta.RemoveStatusCondition(&o.Status.Conditions, v1alpha1.ConditionCalendarCoverage)
	}
	c, err := xinfang.Compile(r.network, o, xinfang.CompileOptions{TenantImage: r.opts.TenantImage})
	if err != nil {
		return true, err
	}
	if c.Path == nil {
		o.Status.Path = nil
		return s.say(problemOutcome(c.Problem)), nil
	}
	o.Status.Path = c.Path
	o.Status.Namespace = tenant.Namespace(o.Name)
	if c.Problem == nil {
		s.recheck = r.observeCoverage(o, &c.Config)
	}
	if o.Spec.Suspend {
		return s.say(Outcome{Ready: metav1.ConditionFalse, Reason: v1alpha1.ReasonSuspended, Idle: true,
			Message: "spec.suspend is true: the tenant stack is left as it is"}), nil
	}
	if c.Problem != nil {
		return s.say(problemOutcome(c.Problem)), nil
	}
	o.Status.Escalation = statusChain(c.Escalation)
	if o.Status.Routing, err = routingStatus(&c.Routing); err != nil {
		return true, err
	}
	o.Status.DutyPeriods = c.DutyPeriods
	s.compiled = c
	return false, nil
}

// observeCoverage sets the office's CalendarCoverage condition from its
// compiled configuration (xinfang.OfficeConfig.CalendarCoverage): False,
// BeyondCoverage, when a deadline of a petition received now falls in a
// year its calendar does not cover; True, Covered, otherwise; absent when
// it names no calendar. It returns how long until the answer may change.
// The condition's message changes only with the answer, so a steady office
// writes nothing.
func (r *officeReconciler) observeCoverage(o *v1alpha1.Office, config *xinfang.OfficeConfig) time.Duration {
	now := r.now()
	ans, ok, err := config.CalendarCoverage(now)
	if !ok {
		apimeta.RemoveStatusCondition(&o.Status.Conditions, v1alpha1.ConditionCalendarCoverage)
		return 0
	}
	cond := metav1.Condition{Type: v1alpha1.ConditionCalendarCoverage, Status: metav1.ConditionTrue, Reason: v1alpha1.ReasonCovered,
		Message: ans.Message, ObservedGeneration: o.Generation}
	switch {
	case err != nil:
		cond.Status, cond.Reason, cond.Message = metav1.ConditionFalse, v1alpha1.ReasonBeyondCoverage, err.Error()
	case ans.Beyond:
		cond.Status, cond.Reason = metav1.ConditionFalse, v1alpha1.ReasonBeyondCoverage
	}
	apimeta.SetStatusCondition(&o.Status.Conditions, cond)
	return untilInstant(now, ans.Next)
}

// problemOutcome is the outcome of an office that could not be compiled:
// waiting for what is missing (Reconciling), or Stalled until a change.
func problemOutcome(p *xinfang.Problem) Outcome {
	return notReady(p.Reason, p.Condition(), p.Stalled)
}

// render renders the tenant stack of the compiled office, with its City's
// case registry when it has one (deskRegistry).
// A render cut short by the end of ctx, or past its budget
// (tenant.RenderTimeout, which a starved process may reach with patches
// the judge admitted), is retried with back-off; a patch refused stalls
// the office.
func (r *officeReconciler) render(ctx context.Context, s *officeScope) (bool, error) {
	in := tenant.InputOf(s.compiled, r.opts.IngressNamespace, r.opts.shardLabels(s.office))
	in.Registry = r.deskRegistry(s.compiled)
	objs, err := tenant.RenderContext(ctx, in)
	if err != nil && ctx.Err() != nil {
		return false, err
	}
	if errors.Is(err, tenant.ErrOverBudget) {
		return s.say(notReady(v1alpha1.ReasonRenderFailed, err.Error(), false)), err
	}
	if err != nil {
		return s.say(notReady(v1alpha1.ReasonRenderFailed, err.Error(), true)), nil
	}
	s.rendered = objs
	return false, nil
}

// apply applies the rendered stack. An object the API server refuses, or a
// namespace that is someone else's, stalls the office; anything else is
// retried with back-off, and said in status meanwhile.
func (r *officeReconciler) apply(ctx context.Context, s *officeScope) (bool, error) {
	applied, err := r.applier.apply(ctx, s.office, s.rendered)
	var invalid *invalidObjectError
	var conflict *namespaceConflictError
	switch {
	case err == nil:
		s.applied = applied
		return false, nil
	case errors.As(err, &invalid):
		return s.say(notReady(v1alpha1.ReasonApplyFailed, err.Error(), true)), nil
	case errors.As(err, &conflict):
		// Nothing is written into it. Looked at again now and then, since
		// its deletion is not watched.
		out := notReady(v1alpha1.ReasonNamespaceConflict, err.Error(), true)
		out.RequeueAfter = namespaceConflictRetry
		return s.say(out), nil
	default:
		// A terminating namespace, the API server away.
		return s.say(notReady(v1alpha1.ReasonApplyFailed, err.Error(), false)), err
	}
}

// prune deletes what the stack no longer renders and records the inventory.
func (r *officeReconciler) prune(ctx context.Context, s *officeScope) (bool, error) {
	o := s.office
	if err := r.applier.prune(ctx, o, o.Status.Namespace, o.Status.Inventory, s.applied); err != nil {
		return s.say(notReady(v1alpha1.ReasonApplyFailed, err.Error(), false)), err
	}
	o.Status.Inventory = s.applied
	return false, nil
}

// observeTenant reports the desk's rollout: the tenant is Ready once the
// stack is applied; status.tenant says whether its pods run it.
func (r *officeReconciler) observeTenant(ctx context.Context, s *officeScope) (bool, error) {
	o, c := s.office, s.compiled
	o.Status.Tenant = &v1alpha1.OfficeTenantStatus{ConfigHash: c.Hash, Image: c.Image}
	var deploy appsv1.Deployment
	err := r.client.Get(ctx, types.NamespacedName{Namespace: o.Status.Namespace, Name: "desk"}, &deploy)
	switch {
	case err == nil:
		o.Status.Tenant.ReadyReplicas = deploy.Status.ReadyReplicas
		o.Status.Tenant.RolledOut = tenant.RolledOut(&deploy, renderedHash(s.rendered, "Deployment", "desk"))
		if done, err := r.observeProgress(ctx, s, &deploy); done || err != nil {
			return true, err
		}
	case !apierrors.IsNotFound(err):
		return true, err
	}
	return s.say(ready(fmt.Sprintf("tenant stack applied in %s; office at %s", o.Status.Namespace, strings.Join(c.Path, "/")))), nil
}

// maxPodsInspected bounds the pods read to find why a tenant is stuck: a
// tenant runs at most spec.tenant.replicas (50) and a surge.
const maxPodsInspected = 64

// observeProgress looks into a tenant Deployment that the Deployment
// controller reports as not progressing. When its pods cannot pull their
// image the office is not Ready (ImagePullFailed, retried: pushing the image
// or fixing its name heals it); when the progress deadline ran out for
// another reason it is not Ready either (ProgressDeadlineExceeded). While the
// rollout is still young, the office is looked at again after
// tenant.StuckAfter, since pods are not watched. Pods are read from the API
// server, not cached, and only for a Deployment that stopped progressing.
func (r *officeReconciler) observeProgress(ctx context.Context, s *officeScope, d *appsv1.Deployment) (bool, error) {
	progress := tenant.ProgressOf(d, r.now())
	switch progress {
	case tenant.Unobserved:
		return false, nil
	case tenant.Progressing:
		s.lookAgainWithin(tenant.StuckAfter)
		return false, nil
	}
	selector, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil {
		return true, err
	}
	var pods corev1.PodList
	if err := r.applier.reader.List(ctx, &pods, client.InNamespace(d.Namespace), client.MatchingLabelsSelector{Selector: selector},
		client.Limit(maxPodsInspected)); err != nil {
		return true, err
	}
	if msg := tenant.PullFailure(pods.Items); msg != "" {
		out := notReady(v1alpha1.ReasonImagePullFailed, fmt.Sprintf("tenant Deployment %s/%s: %s", d.Namespace, d.Name, msg), false)
		out.RequeueAfter = tenant.StuckAfter
		return s.say(out), nil
	}
	if progress == tenant.DeadlineExceeded {
		out := notReady(v1alpha1.ReasonProgressDeadlineExceeded, fmt.Sprintf("tenant Deployment %s/%s made no progress within its progressDeadlineSeconds; see `kubectl -n %s describe deployment %s`",
			d.Namespace, d.Name, d.Namespace, d.Name), false)
		out.RequeueAfter = tenant.StuckAfter
		return s.say(out), nil
	}
	s.lookAgainWithin(tenant.StuckAfter)
	return false, nil
}

// reconcileDelete deletes the tenant namespace of an office that has no
// children, then lets the office go. An office with children stays, and
// says why.
func (r *officeReconciler) reconcileDelete(ctx context.Context, s *officeScope) (bool, error) {
	o := s.office
	if !controllerutil.ContainsFinalizer(o, v1alpha1.OfficeFinalizer) {
		return true, nil
	}
	if children := r.network.Children(o.Name); len(children) > 0 {
		s.before = o.DeepCopy()
		o.Status.Children = int32(len(children))
		// The children's deletion or move enqueues this office again.
		return s.say(notReady(v1alpha1.ReasonDeletionBlocked, fmt.Sprintf(
			"office has %d children (%s): delete them or give them another parent first", len(children), strings.Join(children, ", ")), false)), nil
	}
	if err := r.applier.deleteNamespace(ctx, o); err != nil {
		return true, err
	}
	patch := client.MergeFrom(o.DeepCopy())
	controllerutil.RemoveFinalizer(o, v1alpha1.OfficeFinalizer)
	return true, client.IgnoreNotFound(r.client.Patch(ctx, o, patch))
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

// routingStatus summarises a routing table for the office's status.
func routingStatus(t *xinfang.RoutingTable) (*v1alpha1.OfficeRoutingStatus, error) {
	hash, err := xinfang.Hash(t)
	if err != nil {
		return nil, err
	}
	return &v1alpha1.OfficeRoutingStatus{Rules: int32(len(t.Rules)), Unresolved: int32(len(t.Unresolved())), ConfigHash: hash,
		Policies: t.Policies}, nil
}

// statusChain is the chain as the office's status shows it.
func statusChain(esc *xinfang.Escalation) []v1alpha1.EscalationStep {
	steps := make([]v1alpha1.EscalationStep, len(esc.Steps))
	for i, s := range esc.Steps {
		steps[i] = v1alpha1.EscalationStep{Stage: string(s.Stage), Office: s.Office, External: s.External,
			LimitDays: int32(s.Limit.Days), WorkingDays: s.Limit.Working}
	}
	return steps
}

// referring maps a policy or calendar to the offices that name it in field.
func (r *officeReconciler) referring(field string) handler.MapFunc {
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
