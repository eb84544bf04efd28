// Package webhook holds the admission webhooks of the API: the rules across
// objects that CEL inside one object cannot see — parents that exist and have
// an allowed level, no cycle, no department twice under one parent, no
// deletion of an office with children — and the defaults that depend on
// other fields. The rules are those of package xinfang, which petitionctl
// validate applies offline.
//
// A reference to an object that does not exist yet (a parent, a policy, a
// calendar, a route target) is admitted with a warning: a GitOps tool applies
// a network in an order of its own, and the object waits, not Ready, until
// what it names appears. Everything else that is wrong is refused.
package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	admissionv1 "k8s.io/api/admission/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/cluster"
	"github.com/xinfang/petition-operator/internal/fieldindex"
	"github.com/xinfang/petition-operator/internal/tenant"
	"github.com/xinfang/petition-operator/internal/xinfang"
)

// +kubebuilder:webhook:path=/mutate-petition-xinfang-io-v1alpha1-office,mutating=true,failurePolicy=fail,sideEffects=None,groups=petition.xinfang.io,resources=offices,verbs=create;update,versions=v1alpha1,name=moffice.petition.xinfang.io,admissionReviewVersions=v1,timeoutSeconds=10
// +kubebuilder:webhook:path=/validate-petition-xinfang-io-v1alpha1-office,mutating=false,failurePolicy=fail,sideEffects=None,groups=petition.xinfang.io,resources=offices,verbs=create;update;delete,versions=v1alpha1,name=voffice.petition.xinfang.io,admissionReviewVersions=v1,timeoutSeconds=10
// +kubebuilder:webhook:path=/validate-petition-xinfang-io-v1alpha1-routingpolicy,mutating=false,failurePolicy=fail,sideEffects=None,groups=petition.xinfang.io,resources=routingpolicies,verbs=create;update,versions=v1alpha1,name=vroutingpolicy.petition.xinfang.io,admissionReviewVersions=v1,timeoutSeconds=10
// +kubebuilder:webhook:path=/validate-petition-xinfang-io-v1alpha1-dutyperiod,mutating=false,failurePolicy=fail,sideEffects=None,groups=petition.xinfang.io,resources=dutyperiods,verbs=create;update,versions=v1alpha1,name=vdutyperiod.petition.xinfang.io,admissionReviewVersions=v1,timeoutSeconds=10
// +kubebuilder:webhook:path=/validate-petition-xinfang-io-v1alpha1-escalationpolicy,mutating=false,failurePolicy=fail,sideEffects=None,groups=petition.xinfang.io,resources=escalationpolicies,verbs=create;update;delete,versions=v1alpha1,name=vescalationpolicy.petition.xinfang.io,admissionReviewVersions=v1,timeoutSeconds=10
// +kubebuilder:webhook:path=/validate-petition-xinfang-io-v1alpha1-holidaycalendar,mutating=false,failurePolicy=fail,sideEffects=None,groups=petition.xinfang.io,resources=holidaycalendars,verbs=create;update;delete,versions=v1alpha1,name=vholidaycalendar.petition.xinfang.io,admissionReviewVersions=v1,timeoutSeconds=10

// Options configure the webhooks.
type Options struct {
	// Finalize, when set, says which offices get the operator's finalizer
	// (v1alpha1.OfficeFinalizer) with their create, which saves the
	// reconciler a write of its own: the offices this process reconciles.
	// Nil, as in a process that runs no reconcilers, gives none, so that no
	// office waits on a finalizer no one removes.
	Finalize func(*v1alpha1.Office) bool
	// Network is the process's network (cluster.NewFeed), which the
	// reconcilers of the process, if any, read too. Required.
	Network *cluster.Feed
}

// officeDefaultingPath is the path of the Office mutating webhook, as its
// kubebuilder marker above names it.
const officeDefaultingPath = "/mutate-petition-xinfang-io-v1alpha1-office"

// Setup registers the webhooks with mgr's webhook server. They judge
// against the network of opts.Network and list offices by the indexes of
// package fieldindex, which the caller registers (controllers.Setup does).
func Setup(mgr ctrl.Manager, opts Options) error {
	if opts.Network == nil {
		return fmt.Errorf("webhooks: no network")
	}
	reader, feed := mgr.GetClient(), opts.Network
	if err := ctrl.NewWebhookManagedBy(mgr, &v1alpha1.Office{}).
		WithValidator(&officeValidator{feed: feed}).
		Complete(); err != nil {
		return fmt.Errorf("office webhooks: %w", err)
	}
	mgr.GetWebhookServer().Register(officeDefaultingPath, &webhook.Admission{
		Handler:      &officeDefaulter{decoder: admission.NewDecoder(mgr.GetScheme()), finalize: opts.Finalize},
		RecoverPanic: ptr.To(true),
	})
	if err := ctrl.NewWebhookManagedBy(mgr, &v1alpha1.RoutingPolicy{}).
		WithValidator(&policyValidator[*v1alpha1.RoutingPolicy]{
			reader: reader, feed: feed, kind: xinfang.KindRoutingPolicy,
			spec: func(p *v1alpha1.RoutingPolicy) any { return p.Spec },
			check: func(p *v1alpha1.RoutingPolicy, nw *xinfang.Network) (xinfang.Findings, error) {
				return xinfang.CheckRoutingPolicy(p, nw), nil
			},
		}).Complete(); err != nil {
		return fmt.Errorf("routing policy webhook: %w", err)
	}
	if err := ctrl.NewWebhookManagedBy(mgr, &v1alpha1.DutyPeriod{}).
		WithValidator(&policyValidator[*v1alpha1.DutyPeriod]{
			reader: reader, feed: feed, kind: xinfang.KindDutyPeriod,
			spec:  func(p *v1alpha1.DutyPeriod) any { return p.Spec },
			check: checkDutyPeriod,
		}).Complete(); err != nil {
		return fmt.Errorf("duty period webhook: %w", err)
	}
	if err := ctrl.NewWebhookManagedBy(mgr, &v1alpha1.EscalationPolicy{}).
		WithValidator(&policyValidator[*v1alpha1.EscalationPolicy]{
			reader: reader, feed: feed, kind: xinfang.KindEscalationPolicy, usedBy: fieldindex.OfficePolicy,
			spec: func(p *v1alpha1.EscalationPolicy) any { return p.Spec },
			check: func(p *v1alpha1.EscalationPolicy, _ *xinfang.Network) (xinfang.Findings, error) {
				return xinfang.CheckEscalationPolicy(p), nil
			},
		}).Complete(); err != nil {
		return fmt.Errorf("escalation policy webhook: %w", err)
	}
	if err := ctrl.NewWebhookManagedBy(mgr, &v1alpha1.HolidayCalendar{}).
		WithValidator(&policyValidator[*v1alpha1.HolidayCalendar]{
			reader: reader, feed: feed, kind: xinfang.KindHolidayCalendar, usedBy: fieldindex.OfficeCalendar,
			spec: func(c *v1alpha1.HolidayCalendar) any { return c.Spec },
			check: func(c *v1alpha1.HolidayCalendar, _ *xinfang.Network) (xinfang.Findings, error) {
				return xinfang.CheckHolidayCalendar(c), nil
			},
		}).Complete(); err != nil {
		return fmt.Errorf("holiday calendar webhook: %w", err)
	}
	return nil
}

// checkDutyPeriod applies the rules of xinfang.CheckDutyPeriod and, once
// they hold, refuses a period that would put an office over the desk's
// bound on duty periods (xinfang.CheckDutyLoad), against every office and
// period of the network.
func checkDutyPeriod(p *v1alpha1.DutyPeriod, nw *xinfang.Network) (xinfang.Findings, error) {
	f := xinfang.CheckDutyPeriod(p, nw)
	if len(f.Errors) > 0 {
		return f, nil
	}
	periods, err := nw.DutyPeriods()
	if err != nil {
		return f, err
	}
	f.Errors = append(f.Errors, xinfang.CheckDutyLoad(p, nw, periods)...)
	return f, nil
}

// officeDefaulter makes the defaults that depend on other fields explicit
// (closedOnHolidays of each reception window follows its kind) and gives a
// new office the operator's finalizer when finalize says so.
//
// It answers with the JSON patch between two marshallings of the decoded
// office, before and after: only what it changed. controller-runtime's
// typed defaulter patches from the request's raw object instead, so it
// would also write out the zero value of every field the request left out
// (level: ""), and the schema would then refuse a missing level as an
// unsupported value rather than a required one.
type officeDefaulter struct {
	decoder  admission.Decoder
	finalize func(*v1alpha1.Office) bool
}

func (d *officeDefaulter) Handle(_ context.Context, req admission.Request) admission.Response {
	if req.Operation != admissionv1.Create && req.Operation != admissionv1.Update {
		return admission.Allowed("")
	}
	o := &v1alpha1.Office{}
	if err := d.decoder.Decode(req, o); err != nil {
		return admission.Errored(http.StatusBadRequest, err)
	}
	before, err := json.Marshal(o)
	if err != nil {
		return admission.Errored(http.StatusInternalServerError, err)
	}
	for i := range o.Spec.ReceptionWindows {
		w := &o.Spec.ReceptionWindows[i]
		if w.ClosedOnHolidays == nil {
			closed := w.IsClosedOnHolidays()
			w.ClosedOnHolidays = &closed
		}
	}
	// Only on create: a finalizer removed from an existing office by hand
	// is the reconciler's business. A Village gets none: the operator
	// deletes nothing for it.
	if req.Operation == admissionv1.Create && o.DeletionTimestamp.IsZero() && o.Spec.Level.HasTenant() && d.finalize != nil && d.finalize(o) {
		controllerutil.AddFinalizer(o, v1alpha1.OfficeFinalizer)
	}
	after, err := json.Marshal(o)
	if err != nil {
		return admission.Errored(http.StatusInternalServerError, err)
	}
	return admission.PatchResponseFromRaw(before, after)
}

type officeValidator struct{ feed *cluster.Feed }

func (v *officeValidator) ValidateCreate(ctx context.Context, o *v1alpha1.Office) (admission.Warnings, error) {
	return v.validate(ctx, o, xinfang.CheckWaitingDepartments)
}

func (v *officeValidator) ValidateUpdate(ctx context.Context, old, o *v1alpha1.Office) (admission.Warnings, error) {
	// Only a change of the spec is judged, so that an office admitted
	// before a rule existed can still get or lose a finalizer, a label or
	// its deletion.
	if !o.DeletionTimestamp.IsZero() || equality.Semantic.DeepEqual(old.Spec, o.Spec) {
		return nil, nil
	}
	return v.validate(ctx, o)
}

// validate judges o against the network; extra adds the rules that apply to
// one operation only.
func (v *officeValidator) validate(ctx context.Context, o *v1alpha1.Office, extra ...func(*v1alpha1.Office, xinfang.World) field.ErrorList) (admission.Warnings, error) {
	nw, err := syncedNetwork(v.feed)
	if err != nil {
		return nil, err
	}
	td, err := nw.TenantDefaults()
	if err != nil {
		return nil, apierrors.NewInternalError(fmt.Errorf("reading the network: %w", err))
	}
	f := xinfang.CheckOffice(o, nw)
	errs := append(f.Errors, xinfang.CheckOfficeChildren(o, nw)...)
	errs = append(errs, tenant.CheckTenant(ctx, o, tenant.LimitsOf(td))...)
	for _, check := range extra {
		errs = append(errs, check(o, nw)...)
	}
	warnings := pendingWarnings(f.Pending)
	if len(errs) > 0 {
		return warnings, invalid(xinfang.KindOffice, o.Name, errs)
	}
	// Compiled as the operator will, it warns, without refusing, of a
	// problem that will stall it: a policy whose stages cannot make its
	// chain, a calendar that cannot be read. What is wrong with the office
	// itself was refused above, and what is missing is a pending warning.
	c, err := xinfang.Compile(nw, o, xinfang.CompileOptions{})
	if err != nil {
		return nil, apierrors.NewInternalError(fmt.Errorf("compiling the office: %w", err))
	}
	if p := c.Problem; p != nil && p.Stalled {
		warnings = append(warnings, fmt.Sprintf("%s: the office is admitted but will not be Ready until this is fixed (%s)", p.Condition(), p.Reason))
	}
	return warnings, nil
}

// syncedNetwork is the network of feed once it has synced: until then the
// webhook refuses with an internal error (the API server retries) rather
// than judge a network half read.
func syncedNetwork(feed *cluster.Feed) (*xinfang.Network, error) {
	if !feed.Synced() {
		return nil, apierrors.NewInternalError(fmt.Errorf("the network is not read yet"))
	}
	return feed.Network(), nil
}

func (v *officeValidator) ValidateDelete(_ context.Context, o *v1alpha1.Office) (admission.Warnings, error) {
	nw, err := syncedNetwork(v.feed)
	if err != nil {
		return nil, err
	}
	// A child that is already being deleted goes away on its own; the
	// operator keeps the parent until it has.
	var children []string
	for _, name := range nw.Children(o.Name) {
		if child, ok := nw.Get(name); ok && child.DeletionTimestamp.IsZero() {
			children = append(children, name)
		}
	}
	if err := xinfang.CheckOfficeDelete(o.Name, children); err != nil {
		return nil, apierrors.NewForbidden(v1alpha1.GroupVersion.WithResource("offices").GroupResource(), o.Name, err)
	}
	return nil, nil
}

// policyValidator judges a RoutingPolicy, DutyPeriod, EscalationPolicy or
// HolidayCalendar: check on create and on a change of spec; on delete, when
// usedBy names an index of offices, a warning listing the offices that use
// the object.
type policyValidator[T client.Object] struct {
	reader client.Reader
	feed   *cluster.Feed
	kind   string
	usedBy string
	spec   func(T) any
	check  func(T, *xinfang.Network) (xinfang.Findings, error)
}

func (v *policyValidator[T]) ValidateCreate(_ context.Context, obj T) (admission.Warnings, error) {
	nw, err := syncedNetwork(v.feed)
	if err != nil {
		return nil, err
	}
	f, err := v.check(obj, nw)
	if err != nil {
		return nil, apierrors.NewInternalError(fmt.Errorf("reading the network: %w", err))
	}
	return pendingWarnings(f.Pending), invalid(v.kind, obj.GetName(), f.Errors)
}

func (v *policyValidator[T]) ValidateUpdate(ctx context.Context, old, obj T) (admission.Warnings, error) {
	if equality.Semantic.DeepEqual(v.spec(old), v.spec(obj)) {
		return nil, nil
	}
	return v.ValidateCreate(ctx, obj)
}

func (v *policyValidator[T]) ValidateDelete(ctx context.Context, obj T) (admission.Warnings, error) {
	if v.usedBy == "" {
		return nil, nil
	}
	return inUseWarning(ctx, v.reader, v.usedBy, v.kind, obj.GetName())
}

// inUseWarning warns, without refusing, that deleting a policy or calendar
// leaves the offices that use it not Ready until it returns: GitOps tools
// prune and re-create objects, and a refusal would wedge them.
func inUseWarning(ctx context.Context, reader client.Reader, index, kind, name string) (admission.Warnings, error) {
	if kind == xinfang.KindEscalationPolicy && name == v1alpha1.DefaultEscalationPolicy {
		return nil, nil // offices fall back to the built-in statutory policy
	}
	var list v1alpha1.OfficeList
	if err := reader.List(ctx, &list, client.MatchingFields{index: name}); err != nil {
		return nil, apierrors.NewInternalError(fmt.Errorf("listing offices by %s: %w", index, err))
	}
	if len(list.Items) == 0 {
		return nil, nil
	}
	names := make([]string, 0, len(list.Items))
	for i := range list.Items {
		names = append(names, list.Items[i].Name)
	}
	return admission.Warnings{fmt.Sprintf("%s %q is used by %d office(s) (%s); they stay not Ready until it exists again",
		kind, name, len(names), shortList(names))}, nil
}

func shortList(names []string) string {
	slices.Sort(names)
	const maxShown = 10
	if len(names) <= maxShown {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:maxShown], ", "), len(names)-maxShown)
}

// invalid is the API server's own error for an invalid object: 422, with one
// cause per field error, so kubectl prints each.
func invalid(kind, name string, errs field.ErrorList) error {
	if len(errs) == 0 {
		return nil
	}
	return apierrors.NewInvalid(v1alpha1.GroupVersion.WithKind(kind).GroupKind(), name, errs)
}

// pendingWarnings words the references to objects not applied yet.
func pendingWarnings(pending field.ErrorList) admission.Warnings {
	var warnings admission.Warnings
	for _, e := range pending {
		warnings = append(warnings, e.Error()+" yet; the object waits, not Ready, until it is applied")
	}
	return warnings
}
