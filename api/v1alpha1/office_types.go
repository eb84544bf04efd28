package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// DefaultTimeZone is the time zone of an office that names none.
const DefaultTimeZone = "Asia/Shanghai"

// OfficeFinalizer keeps an office until its tenant namespace is deleted and
// while other offices name it as their parent. The operator's mutating
// webhook sets it when an office the operator reconciles is created (which
// saves a write per office); the reconciler sets it when it is missing.
const OfficeFinalizer = "petition.xinfang.io/tenant"

// WindowKind says what a reception window is for.
// +kubebuilder:validation:Enum=Regular;LeaderReception;ExtendedDuty
type WindowKind string

// The kinds of reception window: ordinary reception (接待窗口), leader
// reception days (领导接待日) and extended duty in sensitive periods (值班).
const (
	WindowRegular         WindowKind = "Regular"
	WindowLeaderReception WindowKind = "LeaderReception"
	WindowExtendedDuty    WindowKind = "ExtendedDuty"
)

// TimeRange is a span of wall-clock time within a day in the office's time
// zone. The start is inclusive and the end exclusive.
// +kubebuilder:validation:XValidation:rule="self.start < self.end",message="start must be before end"
type TimeRange struct {
	// start is the first minute of the range, HH:MM (00:00 to 23:59).
	// +required
	// +kubebuilder:validation:MaxLength=5
	// +kubebuilder:validation:Pattern=`^([01][0-9]|2[0-3]):[0-5][0-9]$`
	Start string `json:"start"`
	// end is the minute the range closes, HH:MM (00:01 to 24:00), exclusive.
	// +required
	// +kubebuilder:validation:MaxLength=5
	// +kubebuilder:validation:Pattern=`^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$`
	End string `json:"end"`
}

// Bounds of an office's reception windows: the maxItems of
// spec.receptionWindows and of each window's lists. The markers below state
// them again (markers cannot name a constant); a test holds the two equal.
// An office's desk refuses a configuration beyond them, and bounds each
// window of a DutyPeriod by the same numbers.
const (
	MaxReceptionWindows  = 32
	MaxWindowChannels    = 4
	MaxWindowWeekdays    = 7
	MaxWindowTimes       = 8
	MaxWindowDaysOfMonth = 31
	MaxWindowDateRanges  = 32
)

// ReceptionWindow is a recurring period during which an office receives
// petitions on some channels: a reception window (接待窗口), a leader
// reception day (领导接待日) or a duty roster (值班). The recurrence fields
// follow Alertmanager's time_intervals: every field that is given must match.
// +kubebuilder:validation:XValidation:rule="!(has(self.always) && self.always) || (!has(self.weekdays) && !has(self.times) && !has(self.daysOfMonth) && !has(self.dateRanges))",message="a window with always: true takes no weekdays, times, daysOfMonth or dateRanges"
// +kubebuilder:validation:XValidation:rule="(has(self.always) && self.always) || has(self.weekdays) || has(self.times) || has(self.daysOfMonth) || has(self.dateRanges)",message="a window needs always: true or at least one of weekdays, times, daysOfMonth, dateRanges"
type ReceptionWindow struct {
	// name identifies the window within the office, a DNS-1123 label.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Name string `json:"name"`

	// channels are the channels the window receives on.
	// +required
	// +listType=set
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=4
	Channels []Channel `json:"channels"`

	// weekdays are days of the week or inclusive ranges of them, lowercase,
	// e.g. "monday:friday" or "saturday". An adjusted working day (调休)
	// matches when the days named cover all of Monday to Friday, and not
	// a window limited to some weekdays (a first-Wednesday leader
	// reception stays closed on a make-up Sunday). Empty means every day.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=7
	// +kubebuilder:validation:items:MaxLength=19
	// +kubebuilder:validation:items:Pattern=`^(sunday|monday|tuesday|wednesday|thursday|friday|saturday)(:(sunday|monday|tuesday|wednesday|thursday|friday|saturday))?$`
	// +kubebuilder:validation:items:XValidation:rule="self.matches('^(sunday|monday|tuesday|wednesday|thursday|friday|saturday|sunday:(sunday|monday|tuesday|wednesday|thursday|friday|saturday)|monday:(monday|tuesday|wednesday|thursday|friday|saturday)|tuesday:(tuesday|wednesday|thursday|friday|saturday)|wednesday:(wednesday|thursday|friday|saturday)|thursday:(thursday|friday|saturday)|friday:(friday|saturday)|saturday:saturday)$')",message="a weekday range must run forwards within one week, sunday first (e.g. monday:friday)"
	Weekdays []string `json:"weekdays,omitempty"`

	// times are the spans of the day the window is open, start inclusive
	// and end exclusive. Empty means the whole day.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=8
	Times []TimeRange `json:"times,omitempty"`

	// daysOfMonth are days of the month or inclusive ranges of them; a
	// negative day counts from the month's end ("-1" is the last day).
	// Examples: "15", "-1", "1:7". Empty means every day.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=31
	// +kubebuilder:validation:items:MaxLength=7
	// +kubebuilder:validation:items:Pattern=`^-?([1-9]|[12][0-9]|3[01])(:-?([1-9]|[12][0-9]|3[01]))?$`
	DaysOfMonth []string `json:"daysOfMonth,omitempty"`

	// dateRanges limit the window to these inclusive date ranges, e.g. a
	// sensitive period with extended duty. Empty means all dates.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=32
	DateRanges []DateRange `json:"dateRanges,omitempty"`

	// always opens the window around the clock (24x7), e.g. for online
	// petitions and letters.
	// +optional
	Always bool `json:"always,omitempty"`

	// kind says what the window is for: Regular (default), LeaderReception or
	// ExtendedDuty.
	// +optional
	// +kubebuilder:default=Regular
	Kind WindowKind `json:"kind,omitempty"`

	// closedOnHolidays closes the window on public holidays of the office's
	// calendar. Defaults to true, and to false for ExtendedDuty windows and
	// for always: true windows (online petitions, letters and hotlines do
	// not stop on holidays); set it to true to close such a window then.
	// +optional
	ClosedOnHolidays *bool `json:"closedOnHolidays,omitempty"`
}

// IsClosedOnHolidays returns closedOnHolidays with its default: false for
// an always-open window and an ExtendedDuty window, true otherwise.
func (w *ReceptionWindow) IsClosedOnHolidays() bool {
	if w.ClosedOnHolidays != nil {
		return *w.ClosedOnHolidays
	}
	return !w.Always && w.Kind != WindowExtendedDuty
}

// OfficeRouting holds the routing rules an office declares for itself.
type OfficeRouting struct {
	// rules are evaluated before any RoutingPolicy that selects the office,
	// in order; the first match wins unless it sets continue.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=64
	Rules []RoutingRule `json:"rules,omitempty"`
}

// OfficeEscalation configures an office's escalation chain.
type OfficeEscalation struct {
	// policyRef names the EscalationPolicy whose stages and limits apply.
	// Defaults to the built-in statutory policy "statutory-2022".
	// +optional
	PolicyRef ObjectName `json:"policyRef,omitempty"`

	// supervisor is the office that supervises (督办) this office's handling.
	// Defaults to the parent.
	// +optional
	Supervisor OfficeName `json:"supervisor,omitempty"`

	// above names the bodies above the network, nearest first, e.g. the
	// provincial and the national petition bureau: a Review (复查) or
	// ReReview (复核) that runs past the City goes to them. Only a City may
	// name them. A level above the City that is not named is shown as
	// "above <city>".
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=4
	Above []ExternalBody `json:"above,omitempty"`
}

// MaxExternalBodyName is the longest displayName of an ExternalBody, in
// characters (the schema's maxLength).
const MaxExternalBodyName = 128

// ExternalBody is a body above the petition network, outside it: it has no
// Office and no desk.
type ExternalBody struct {
	// displayName is the body's name, e.g. 江苏省人民政府信访局.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	DisplayName string `json:"displayName"`
}

// PatchTarget selects the rendered objects a tenant patch applies to. Every
// given field must match.
type PatchTarget struct {
	// group of the target objects.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	Group string `json:"group,omitempty"`
	// version of the target objects.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	Version string `json:"version,omitempty"`
	// kind of the target objects.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	Kind string `json:"kind,omitempty"`
	// name of the target objects; a regular expression.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name,omitempty"`
	// labelSelector of the target objects, in kubectl's syntax.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	LabelSelector string `json:"labelSelector,omitempty"`
	// annotationSelector of the target objects, in kubectl's syntax.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	AnnotationSelector string `json:"annotationSelector,omitempty"`
}

// TenantPatch is a kustomize patch applied to the office's rendered tenant
// stack: a strategic merge patch or a JSON 6902 patch, with an optional target.
type TenantPatch struct {
	// patch is the patch document, YAML or JSON.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=32768
	Patch string `json:"patch"`
	// target selects the objects the patch applies to; without it the patch
	// names its object itself (strategic merge).
	// +optional
	Target *PatchTarget `json:"target,omitempty"`
}

// OfficeTenant configures the office's tenant service.
type OfficeTenant struct {
	// replicas of the tenant Deployment. A PodDisruptionBudget is added
	// when it is above 1.
	// +optional
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=50
	Replicas *int32 `json:"replicas,omitempty"`

	// image of the tenant service. Defaults to the TenantDefaults image,
	// rolled out in stages, or the operator's --tenant-image.
	// +optional
	// +kubebuilder:validation:MaxLength=512
	// +kubebuilder:validation:Pattern=`^[^\s]*$`
	Image string `json:"image,omitempty"`

	// resources of the tenant container: at most the TenantDefaults'
	// limits.containerMax (2 CPUs and 2Gi of memory unless it says
	// otherwise); the namespace's LimitRange enforces the same maximum.
	// A limit must be greater than 0, which the kubelet reads as no limit
	// (judged by the admission webhook: a CEL rule over a map of quantities
	// would be beyond the API server's cost budget).
	// +optional
	// +kubebuilder:validation:XValidation:rule="!has(self.claims)",message="resource claims are not allowed on the tenant container"
	// +kubebuilder:validation:XValidation:rule="!has(self.limits) || self.limits.all(k, k in ['cpu', 'memory', 'ephemeral-storage'])",message="limits may name cpu, memory and ephemeral-storage only"
	// +kubebuilder:validation:XValidation:rule="!has(self.requests) || self.requests.all(k, k in ['cpu', 'memory', 'ephemeral-storage'])",message="requests may name cpu, memory and ephemeral-storage only"
	Resources corev1.ResourceRequirements `json:"resources,omitempty"`

	// patches are kustomize patches applied to the rendered tenant stack.
	// They are judged before any render, at admission, by petitionctl
	// validate and again by the operator: no YAML anchors or aliases, at most
	// 64 JSON 6902 operations and 8 copies, all patches together at most 128
	// list entries, 2,048 YAML nodes and 64 KiB, a bounded rendered size and
	// a render of at most 5 s, and only these changes: the desk container's
	// env, args, probes and resources (within the TenantDefaults'
	// containerMax, no limit of 0), labels under office.petition.xinfang.io/
	// and annotations under it or without a prefix (and those the
	// TenantDefaults' tenantMetadata allows) of any object and the pod
	// template, topology spread constraints and pod anti-affinity among the
	// tenant's own pods, and a few rollout settings (strategy,
	// minReadySeconds, progressDeadlineSeconds,
	// terminationGracePeriodSeconds). Replicas are set with replicas above,
	// not by a patch. Anything else is refused with the index of the patch
	// that tried it. See docs/security.md.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=16
	Patches []TenantPatch `json:"patches,omitempty"`

	// quota overrides hard limits of the ResourceQuota of the office's
	// namespace; each must stay within the TenantDefaults' limits.maxQuota.
	// Keys: pods, requests.cpu, requests.memory, limits.cpu, limits.memory,
	// requests.ephemeral-storage, limits.ephemeral-storage.
	// +optional
	// +kubebuilder:validation:XValidation:rule="self.all(k, k in ['pods', 'requests.cpu', 'requests.memory', 'limits.cpu', 'limits.memory', 'requests.ephemeral-storage', 'limits.ephemeral-storage'])",message="quota keys must be among pods, requests.cpu, requests.memory, limits.cpu, limits.memory, requests.ephemeral-storage, limits.ephemeral-storage"
	Quota corev1.ResourceList `json:"quota,omitempty"`
}

// JointReception declares an office a joint reception centre (联合接访中心):
// functional departments station staff at its reception hall, so that a
// visitor whose matter one of them handles is received, and the matter
// accepted, on the spot.
type JointReception struct {
	// stationed names the Department offices stationed at the centre: each
	// a Department whose parent is this office (its own level) or a County
	// under this office (the level below). A visit received here whose
	// handler is stationed is accepted on the spot (no Transfer stage) and
	// is never a skip-level visit for that handler; the desk lists the
	// stationed departments' reception windows beside the office's own.
	// +required
	// +listType=set
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=64
	Stationed []OfficeName `json:"stationed"`
}

// MaxStationed bounds spec.jointReception.stationed.
const MaxStationed = 64

// OfficeSpec declares one office of the petition network.
// +kubebuilder:validation:XValidation:rule="self.level == 'City' ? !has(self.parent) : has(self.parent)",message="a City has no parent; every other level needs one"
// +kubebuilder:validation:XValidation:rule="!has(self.jointReception) || self.level == 'City' || self.level == 'County'",message="jointReception is allowed only on a City or a County"
// +kubebuilder:validation:XValidation:rule="self.level != 'Village' || (!has(self.receptionWindows) && (!has(self.routing) || !has(self.routing.rules)) && (!has(self.escalation) || (!has(self.escalation.policyRef) && !has(self.escalation.supervisor) && !has(self.escalation.above))) && (!has(self.tenant) || ((!has(self.tenant.replicas) || self.tenant.replicas == 1) && !has(self.tenant.image) && !has(self.tenant.patches) && !has(self.tenant.quota) && (!has(self.tenant.resources) || (!has(self.tenant.resources.limits) && !has(self.tenant.resources.requests))))))",message="a Village has no desk of its own (its township's desk serves it): receptionWindows, routing rules, escalation and tenant are not allowed"
// +kubebuilder:validation:XValidation:rule="(self.level == 'Village') == (oldSelf.level == 'Village')",message="level cannot change to or from Village: a Village has no tenant stack, any other office has one; delete the office and create it anew"
// +kubebuilder:validation:XValidation:rule="self.level == 'Department' ? has(self.department) : !has(self.department)",message="department is required for level Department and not allowed for other levels"
// +kubebuilder:validation:XValidation:rule="self.level == 'City' || !has(self.escalation) || !has(self.escalation.above)",message="escalation.above names the bodies above the network and is allowed only on a City"
// +kubebuilder:validation:XValidation:rule="self.level == 'City' || !has(self.cases)",message="cases is allowed only on a City: a City's case store serves its whole network"
type OfficeSpec struct {
	// level is the office's tier: City, County, Township, Village or
	// Department. A Village (村/社区信访代理点) has no tenant stack of its
	// own: no namespace, no desk; its township's desk serves it, and a
	// matter that arose there routes as if it arose at the township. The
	// level cannot change to or from Village.
	// +required
	Level Level `json:"level"`

	// parent names the office this one answers to. A City has none; a County's
	// parent is a City, a Township's a County, a Village's a Township, a
	// Department's a City or County.
	// +optional
	Parent OfficeName `json:"parent,omitempty"`

	// department is the functional department code of a Department office,
	// in PascalCase (e.g. HumanResources, NaturalResources).
	// +optional
	Department DepartmentCode `json:"department,omitempty"`

	// displayName is the human name of the office, e.g. 镇平县信访局.
	// +optional
	// +kubebuilder:validation:MaxLength=128
	DisplayName string `json:"displayName,omitempty"`

	// divisionCode is the GB/T 2260 administrative division code, 6 or 9
	// digits.
	// +optional
	// +kubebuilder:validation:MaxLength=9
	// +kubebuilder:validation:Pattern=`^([0-9]{6}|[0-9]{9})$`
	DivisionCode string `json:"divisionCode,omitempty"`

	// timeZone is the IANA time zone the office's windows and deadlines are
	// reckoned in.
	// +optional
	// +kubebuilder:default="Asia/Shanghai"
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:Pattern=`^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*$`
	TimeZone string `json:"timeZone,omitempty"`

	// calendarRef names the HolidayCalendar of public holidays and adjusted
	// working days the office observes.
	// +optional
	CalendarRef ObjectName `json:"calendarRef,omitempty"`

	// receptionWindows are the periods the office receives petitions.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=32
	ReceptionWindows []ReceptionWindow `json:"receptionWindows,omitempty"`

	// routing holds the office's own routing rules.
	// +optional
	Routing OfficeRouting `json:"routing,omitempty"`

	// escalation configures the office's escalation chain.
	// +optional
	Escalation OfficeEscalation `json:"escalation,omitempty"`

	// tenant configures the office's tenant service.
	// +optional
	Tenant OfficeTenant `json:"tenant,omitempty"`

	// suspend stops reconciling the office's tenant stack; what exists stays.
	// +optional
	Suspend bool `json:"suspend,omitempty"`

	// jointReception makes the office a joint reception centre (联合接访
	// 中心, 2022 Regulation on Petition Work, ch. II): the Department
	// offices it lists receive visits at its hall. Only a City or a County
	// may declare it.
	// +optional
	JointReception *JointReception `json:"jointReception,omitempty"`

	// cases says where the City's cases live (a CloudNativePG database
	// the operator runs, or an external one) and runs the City's case
	// registry beside it; the City's desks then forward intake to it.
	// Only a City may declare it. docs/cases.md.
	// +optional
	Cases *OfficeCases `json:"cases,omitempty"`
}

// EscalationStep is one resolved stage of an office's escalation chain.
type EscalationStep struct {
	// stage is the name of the escalation stage.
	Stage string `json:"stage"`
	// office handles the stage; empty when a body above the network does
	// (external).
	Office string `json:"office"`
	// external names the body above the network that handles the stage:
	// a displayName of the City's spec.escalation.above, or "above <city>".
	// +optional
	// +kubebuilder:validation:MaxLength=160
	External string `json:"external,omitempty"`
	// limitDays is the stage's time limit in days.
	LimitDays int32 `json:"limitDays"`
	// workingDays is true when limitDays counts working days only.
	// +optional
	WorkingDays bool `json:"workingDays,omitempty"`
}

// OfficeRoutingStatus summarises the office's compiled routing table.
type OfficeRoutingStatus struct {
	// rules is the number of effective rules.
	Rules int32 `json:"rules"`
	// unresolved is the number of rules whose target could not be resolved
	// and fall back to the office itself.
	Unresolved int32 `json:"unresolved"`
	// configHash is the hash of the compiled routing table.
	// +optional
	ConfigHash string `json:"configHash,omitempty"`
	// policies are the RoutingPolicies whose rules the office's compiled
	// configuration holds, each with the revision of them it holds: the
	// policy's current revision, or during a staged rollout that has not
	// reached the office, the last one fully rolled out. A rollout has
	// reached the office when the revision is the policy's
	// status.rollout.revision and the office is Ready with its tenant
	// rolled out.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=256
	Policies []PolicyRevision `json:"policies,omitempty"`
}

// PolicyRevision names the revision of a RoutingPolicy's rules, or of a
// DutyPeriod's arrangement, that an office compiled.
type PolicyRevision struct {
	// name of the RoutingPolicy or DutyPeriod.
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
	// revision of the RoutingPolicy (the hash of its priority, office
	// selector and rules) or of the DutyPeriod (the hash of its
	// arrangement).
	// +kubebuilder:validation:MaxLength=64
	Revision string `json:"revision"`
}

// OfficeTenantStatus reports the office's tenant service.
type OfficeTenantStatus struct {
	// readyReplicas of the tenant Deployment.
	ReadyReplicas int32 `json:"readyReplicas"`
	// configHash is the hash of the configuration the tenant runs.
	// +optional
	ConfigHash string `json:"configHash,omitempty"`
	// image the tenant Deployment was given.
	// +optional
	Image string `json:"image,omitempty"`
	// rolledOut is true when the tenant Deployment has rolled out the pod
	// template of configHash: the Deployment controller observed its
	// generation, and every replica is updated and available.
	// +optional
	RolledOut bool `json:"rolledOut,omitempty"`
}

// ObjectRef identifies an object of an office's tenant stack.
type ObjectRef struct {
	// apiVersion of the object.
	APIVersion string `json:"apiVersion"`
	// kind of the object.
	Kind string `json:"kind"`
	// namespace of the object; empty for the Namespace itself.
	// +optional
	Namespace string `json:"namespace,omitempty"`
	// name of the object.
	Name string `json:"name"`
}

// OfficeStatus is the observed state of an office.
type OfficeStatus struct {
	StatusCommon `json:",inline"`

	// namespace is the office's tenant namespace.
	// +optional
	Namespace string `json:"namespace,omitempty"`

	// path lists the offices from the network's City down to this one.
	// +optional
	// +listType=atomic
	Path []string `json:"path,omitempty"`

	// children is the number of offices whose parent is this one.
	// +optional
	Children int32 `json:"children"`

	// escalation is the resolved escalation chain.
	// +optional
	// +listType=atomic
	Escalation []EscalationStep `json:"escalation,omitempty"`

	// routing summarises the compiled routing table.
	// +optional
	Routing *OfficeRoutingStatus `json:"routing,omitempty"`

	// tenant reports the tenant service.
	// +optional
	Tenant *OfficeTenantStatus `json:"tenant,omitempty"`

	// dutyPeriods are the DutyPeriods whose arrangement the office's
	// compiled configuration holds, each with the revision of it it holds:
	// the period's current revision, or during a staged rollout that has
	// not reached the office, the last one fully rolled out.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=32
	DutyPeriods []PolicyRevision `json:"dutyPeriods,omitempty"`

	// inventory lists the objects of the tenant stack the operator applied
	// last; objects that leave the rendered stack are pruned from it.
	// +optional
	// +listType=atomic
	Inventory []ObjectRef `json:"inventory,omitempty"`

	// cases are the office's case figures from its City's registry,
	// written only when a figure changes.
	// +optional
	Cases *OfficeCasesStatus `json:"cases,omitempty"`

	// casesStore reports a City's case store (spec.cases).
	// +optional
	CasesStore *CasesStoreStatus `json:"casesStore,omitempty"`
}

// Office is one office of the petition network — the city, a county, a
// township or a functional department — with its reception windows, routing
// rules and escalation chain. The operator runs a tenant service for it in the
// namespace office-<name>.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=ofc,categories=petition
// +kubebuilder:printcolumn:name="Level",type=string,JSONPath=`.spec.level`
// +kubebuilder:printcolumn:name="Parent",type=string,JSONPath=`.spec.parent`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Children",type=integer,JSONPath=`.status.children`,priority=1
// +kubebuilder:printcolumn:name="Namespace",type=string,JSONPath=`.status.namespace`,priority=1
// +kubebuilder:printcolumn:name="Open",type=integer,JSONPath=`.status.cases.open`
// +kubebuilder:printcolumn:name="Overdue",type=integer,JSONPath=`.status.cases.overdue`
// +kubebuilder:printcolumn:name="On-Time",type=string,JSONPath=`.status.cases.onTimeRatio`
// +kubebuilder:printcolumn:name="Subtree Open",type=integer,JSONPath=`.status.cases.subtree.open`,priority=1
// +kubebuilder:printcolumn:name="Subtree Overdue",type=integer,JSONPath=`.status.cases.subtree.overdue`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:printcolumn:name="Display Name",type=string,JSONPath=`.spec.displayName`
// +kubebuilder:validation:XValidation:rule="self.metadata.name.size() <= 56 && self.metadata.name.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')",message="metadata.name must be a DNS-1123 label of at most 56 characters (lowercase letters, digits, '-'), so that its namespace office-<name> is valid; put the Chinese name in spec.displayName"
// +kubebuilder:validation:XValidation:rule="!has(self.spec.parent) || self.spec.parent != self.metadata.name",message="spec.parent must not name the office itself"
type Office struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec declares the office.
	// +required
	Spec OfficeSpec `json:"spec"`

	// status is the observed state of the office.
	// +optional
	Status OfficeStatus `json:"status,omitempty"`
}

// CommonStatus returns the status fields every kind has.
func (o *Office) CommonStatus() *StatusCommon { return &o.Status.StatusCommon }

// +kubebuilder:object:root=true

// OfficeList is a list of offices.
type OfficeList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Office `json:"items"`
}
