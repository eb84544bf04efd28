// Package webhook holds the admission webhooks of the API: the rules across
// objects that CEL inside one object cannot see — parents that exist and have
// an allowed level, no cycle, no department twice under one parent, no
// deletion of an office with children — and the defaults that depend on
// other fields. The rules are those of package network, which petitionctl
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
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/cluster"
	"github.com/xinfang/petition-operator/internal/fields"
	"github.com/xinfang/petition-operator/internal/network"
	"github.com/xinfang/petition-operator/internal/tenant"
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
}

// officeDefaultingPath is the path of the Office mutating webhook, as its
// kubebuilder marker above names it.
const officeDefaultingPath = "/mutate-petition-xinfang-io-v1alpha1-office"

// Setup registers the webhooks with mgr's webhook server. They read the
// network from mgr's cache and list offices by the indexes of package
// fields, which the caller registers (controllers.Setup does).
func Setup(mgr ctrl.Manager, opts Options) error {
	reader := mgr.GetClient()
	if err := ctrl.NewWebhookManagedBy(mgr, &v1alpha1.Office{}).
		WithValidator(&officeValidator{reader: reader}).
		Complete(); err != nil {
		return fmt.Errorf("office webhooks: %w", err)
	}
	mgr.GetWebhookServer().Register(officeDefaultingPath, &webhook.Admission{
		Handler:      &officeDefaulter{decoder: admission.NewDecoder(mgr.GetScheme()), finalize: opts.Finalize},
		RecoverPanic: ptr.To(true),
	})
	if err := ctrl.NewWebhookManagedBy(mgr, &v1alpha1.RoutingPolicy{}).
		WithValidator(&policyValidator[*v1alpha1.RoutingPolicy]{
			reader: reader, kind: network.KindRoutingPolicy,
			spec:  func(p *v1alpha1.RoutingPolicy) any { return p.Spec },
			check: network.CheckRoutingPolicy,
		}).Complete(); err != nil {
		return fmt.Errorf("routing policy webhook: %w", err)
	}
	if err := ctrl.NewWebhookManagedBy(mgr, &v1alpha1.DutyPeriod{}).
		WithValidator(&policyValidator[*v1alpha1.DutyPeriod]{
			reader: reader, kind: network.KindDutyPeriod,
			spec:  func(p *v1alpha1.DutyPeriod) any { return p.Spec },
			check: checkDutyPeriod,
		}).Complete(); err != nil {
		return fmt.Errorf("duty period webhook: %w", err)
	}
	if err := ctrl.NewWebhookManagedBy(mgr, &v1alpha1.EscalationPolicy{}).
		WithValidator(&policyValidator[*v1alpha1.EscalationPolicy]{
			reader: reader, kind: network.KindEscalationPolicy, usedBy: fields.OfficePolicy,
			spec: func(p *v1alpha1.EscalationPolicy) any { return p.Spec },
			check: func(p *v1alpha1.EscalationPolicy, _ network.World) network.Findings {
				return network.CheckEscalationPolicy(p)
			},
		}).Complete(); err != nil {
		return fmt.Errorf("escalation policy webhook: %w", err)
	}
	if err := ctrl.NewWebhookManagedBy(mgr, &v1alpha1.HolidayCalendar{}).
		WithValidator(&policyValidator[*v1alpha1.HolidayCalendar]{
			reader: reader, kind: network.KindHolidayCalendar, usedBy: fields.OfficeCalendar,
			spec: func(c *v1alpha1.HolidayCalendar) any { return c.Spec },
			check: func(c *v1alpha1.HolidayCalendar, _ network.World) network.Findings {
				return network.CheckHolidayCalendar(c)
			},
		}).Complete(); err != nil {
		return fmt.Errorf("holiday calendar webhook: %w", err)
	}
	return nil
}

// checkDutyPeriod applies the rules of network.CheckDutyPeriod and, once
// they hold, refuses a period that would put an office over the desk's
// bound on duty periods (network.CheckDutyLoad), against every office and
// period of the cache.
func checkDutyPeriod(p *v1alpha1.DutyPeriod, nw network.World) network.Findings {
	f := network.CheckDutyPeriod(p, nw)
	w, ok := nw.(*world)
	if !ok || len(f.Errors) > 0 {
		return f
	}
	var offices v1alpha1.OfficeList
	if err := w.reader.List(w.ctx, &offices); err != nil {
		w.fail(err)
		return f
	}
	var periods v1alpha1.DutyPeriodList
	if err := w.reader.List(w.ctx, &periods); err != nil {
		w.fail(err)
		return f
	}
	f.Errors = append(f.Errors, network.CheckDutyLoad(p, network.IndexOf(offices.Items), periods.Items)...)
	return f
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

type officeValidator struct{ reader client.Reader }

func (v *officeValidator) ValidateCreate(ctx context.Context, o *v1alpha1.Office) (admission.Warnings, error) {
	return v.validate(ctx, o, network.CheckWaitingDepartments)
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
func (v *officeValidator) validate(ctx context.Context, o *v1alpha1.Office, extra ...func(*v1alpha1.Office, network.World) field.ErrorList) (admission.Warnings, error) {
	w := &world{ctx: ctx, reader: v.reader}
	f := network.CheckOffice(o, w)
	errs := append(f.Errors, network.CheckOfficeChildren(o, w)...)
	errs = append(errs, tenant.CheckTenant(ctx, o, tenant.LimitsOf(w.tenantDefaults()))...)
	for _, check := range extra {
		errs = append(errs, check(o, w)...)
	}
	if w.err != nil {
		return nil, apierrors.NewInternalError(fmt.Errorf("reading the network: %w", w.err))
	}
	warnings := pendingWarnings(f.Pending)
	if len(errs) > 0 {
		return warnings, invalid(network.KindOffice, o.Name, errs)
	}
	stall, err := v.compile(ctx, o)
	if err != nil {
		return nil, apierrors.NewInternalError(fmt.Errorf("compiling the office: %w", err))
	}
	return append(warnings, stall...), nil
}

// compile compiles the office as the operator will (network.Compile) and
// warns, without refusing, of a problem that will stall it: a policy whose
// stages cannot make its chain, a calendar that cannot be read. What is
// wrong with the office itself was refused above, and what is missing is a
// pending warning. Only what its place, chain and joint reception centre
// depend on is indexed: the office, its ancestors, and the departments
// stationed at it with their parents. Routes that resolve elsewhere change
// nothing of what is judged here.
func (v *officeValidator) compile(ctx context.Context, o *v1alpha1.Office) (admission.Warnings, error) {
	idx := network.NewIndex(o)
	// get indexes the office of that name; nil when it does not exist.
	get := func(name string) (*v1alpha1.Office, error) {
		if known, ok := idx.Get(name); ok {
			return known, nil
		}
		other := &v1alpha1.Office{}
		if err := v.reader.Get(ctx, types.NamespacedName{Name: name}, other); err != nil {
			return nil, client.IgnoreNotFound(err)
		}
		idx.Upsert(other)
		return other, nil
	}
	seen := map[string]bool{o.Name: true}
	for name := string(o.Spec.Parent); name != "" && !seen[name]; {
		seen[name] = true
		parent, err := get(name)
		if err != nil {
			return nil, err
		}
		if parent == nil {
			break
		}
		name = string(parent.Spec.Parent)
	}
	if o.Spec.JointReception != nil {
		for _, n := range o.Spec.JointReception.Stationed {
			st, err := get(string(n))
			if err != nil {
				return nil, err
			}
			if st != nil && st.Spec.Parent != "" {
				if _, err := get(string(st.Spec.Parent)); err != nil {
					return nil, err
				}
			}
		}
	}
	c, err := network.Compile(cluster.NewSource(ctx, v.reader, idx), o, network.CompileOptions{})
	if err != nil {
		return nil, err
	}
	if p := c.Problem; p != nil && p.Stalled {
		return admission.Warnings{fmt.Sprintf("%s: the office is admitted but will not be Ready until this is fixed (%s)", p.Condition(), p.Reason)}, nil
	}
	return nil, nil
}

func (v *officeValidator) ValidateDelete(ctx context.Context, o *v1alpha1.Office) (admission.Warnings, error) {
	w := &world{ctx: ctx, reader: v.reader}
	// A child that is already being deleted goes away on its own; the
	// operator keeps the parent until it has.
	children := w.children(o.Name, false)
	if w.err != nil {
		return nil, apierrors.NewInternalError(fmt.Errorf("reading the network: %w", w.err))
	}
	if err := network.CheckOfficeDelete(o.Name, children); err != nil {
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
	kind   string
	usedBy string
	spec   func(T) any
	check  func(T, network.World) network.Findings
}

func (v *policyValidator[T]) ValidateCreate(ctx context.Context, obj T) (admission.Warnings, error) {
	w := &world{ctx: ctx, reader: v.reader}
	f := v.check(obj, w)
	if w.err != nil {
		return nil, apierrors.NewInternalError(fmt.Errorf("reading the network: %w", w.err))
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
	if kind == network.KindEscalationPolicy && name == v1alpha1.DefaultEscalationPolicy {
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

// world answers network.World from the manager's cache. The first read
// error is kept: the webhook then refuses with an internal error rather than
// judge a network it could not read.
type world struct {
	ctx    context.Context
	reader client.Reader
	err    error
}

var _ network.World = &world{}

func (w *world) fail(err error) {
	if w.err == nil {
		w.err = err
	}
}

func (w *world) Office(name string) (*v1alpha1.Office, bool) {
	var o v1alpha1.Office
	if err := w.reader.Get(w.ctx, types.NamespacedName{Name: name}, &o); err != nil {
		if !apierrors.IsNotFound(err) {
			w.fail(err)
		}
		return nil, false
	}
	return &o, true
}

func (w *world) Children(name string) []string { return w.children(name, true) }

// children lists the offices naming name as parent; terminating ones only
// when withTerminating.
func (w *world) children(name string, withTerminating bool) []string {
	var list v1alpha1.OfficeList
	if err := w.reader.List(w.ctx, &list, client.MatchingFields{fields.OfficeParent: name}); err != nil {
		w.fail(err)
		return nil
	}
	var names []string
	for i := range list.Items {
		if withTerminating || list.Items[i].DeletionTimestamp.IsZero() {
			names = append(names, list.Items[i].Name)
		}
	}
	return names
}

// Departments lists the children of parent by the field index and keeps
// the Departments of code: one office is judged per admission, so one list
// of its siblings is what it costs.
func (w *world) Departments(parent string, code v1alpha1.DepartmentCode) []string {
	var list v1alpha1.OfficeList
	if err := w.reader.List(w.ctx, &list, client.MatchingFields{fields.OfficeParent: parent}); err != nil {
		w.fail(err)
		return nil
	}
	var names []string
	for i := range list.Items {
		if o := &list.Items[i]; o.Spec.Level == v1alpha1.LevelDepartment && o.Spec.Department == code {
			names = append(names, o.Name)
		}
	}
	slices.Sort(names)
	return names
}

func (w *world) Exists(kind, name string) bool {
	var obj client.Object
	switch kind {
	case network.KindOffice:
		obj = &v1alpha1.Office{}
	case network.KindRoutingPolicy:
		obj = &v1alpha1.RoutingPolicy{}
	case network.KindEscalationPolicy:
		obj = &v1alpha1.EscalationPolicy{}
	case network.KindHolidayCalendar:
		obj = &v1alpha1.HolidayCalendar{}
	case network.KindDutyPeriod:
		obj = &v1alpha1.DutyPeriod{}
	default:
		w.fail(fmt.Errorf("unknown kind %q", kind))
		return false
	}
	if err := w.reader.Get(w.ctx, types.NamespacedName{Name: name}, obj); err != nil {
		if !apierrors.IsNotFound(err) {
			w.fail(err)
		}
		return false
	}
	return true
}

// tenantDefaults returns the TenantDefaults, nil when there is none.
func (w *world) tenantDefaults() *v1alpha1.TenantDefaults {
	td, err := cluster.NewSource(w.ctx, w.reader, nil).TenantDefaults()
	if err != nil {
		w.fail(err)
	}
	return td
}
