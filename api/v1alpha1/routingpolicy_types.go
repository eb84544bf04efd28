package v1alpha1

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// MaxCategoryLength is the longest petition category a route matches, a
// DNS label (the maxLength of match.categories' items).
const MaxCategoryLength = 63

// RouteScope is the level at which a relative route target is looked up.
// +kubebuilder:validation:Enum=County;City
type RouteScope string

// The scopes of a relative route target.
const (
	ScopeCounty RouteScope = "County"
	ScopeCity   RouteScope = "City"
)

// RolloutStrategy says how a policy change reaches the offices it selects.
// +kubebuilder:validation:Enum=Immediate;Staged
type RolloutStrategy string

// The rollout strategies.
const (
	RolloutImmediate RolloutStrategy = "Immediate"
	RolloutStaged    RolloutStrategy = "Staged"
)

// RouteMatch selects petitions. Every list that is given must contain the
// petition's value; an empty list matches any value.
type RouteMatch struct {
	// categories are petition subject categories, lowercase DNS labels such
	// as land-acquisition or wage-arrears.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=63
	// +kubebuilder:validation:items:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Categories []string `json:"categories,omitempty"`

	// types are petition types: Report, Appeal, Inquiry.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=3
	Types []PetitionType `json:"types,omitempty"`

	// channels are the channels the petition arrived on: Visit, Letter,
	// Phone, Online.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=4
	Channels []Channel `json:"channels,omitempty"`
}

// RouteTarget names the office that handles matching petitions: an explicit
// office, or a department resolved relative to the receiving office.
// +kubebuilder:validation:XValidation:rule="has(self.office) != has(self.department)",message="exactly one of office and department must be set"
// +kubebuilder:validation:XValidation:rule="!has(self.scope) || has(self.department)",message="scope applies only to a department target"
type RouteTarget struct {
	// office names the office that handles matching petitions.
	// +optional
	Office OfficeName `json:"office,omitempty"`

	// department routes to the office of this department under the nearest
	// ancestor-or-self of the receiving office (归口办理, 属地管理).
	// +optional
	Department DepartmentCode `json:"department,omitempty"`

	// scope restricts the department lookup to the ancestor at this level:
	// County or City. Without it the nearest ancestor that has the
	// department is used.
	// +optional
	Scope RouteScope `json:"scope,omitempty"`
}

// RoutingRule routes matching petitions to the office in charge of them.
type RoutingRule struct {
	// name identifies the rule within its policy or office, a DNS-1123 label.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Name string `json:"name"`

	// match selects the petitions the rule applies to.
	// +optional
	Match RouteMatch `json:"match,omitempty"`

	// routeTo names the office that handles matching petitions.
	// +required
	RouteTo RouteTarget `json:"routeTo"`

	// continue also copies matching petitions to the targets of later
	// matching rules instead of stopping at this one.
	// +optional
	Continue bool `json:"continue,omitempty"`
}

// OfficeSelector selects offices. Every given field must hold.
type OfficeSelector struct {
	// levels the office must be at. Empty means any level.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=4
	Levels []Level `json:"levels,omitempty"`

	// subtreeOf selects that office and all its descendants.
	// +optional
	SubtreeOf OfficeName `json:"subtreeOf,omitempty"`

	// matchLabels the office must carry.
	// +optional
	// +kubebuilder:validation:MaxProperties=16
	MatchLabels map[string]string `json:"matchLabels,omitempty"`
}

// RolloutStage is one step of a staged rollout. Every given field must hold
// for an office to be in the stage; offices of earlier stages stay included.
// +kubebuilder:validation:XValidation:rule="has(self.levels) || has(self.subtreeOf) || has(self.percent)",message="a stage needs at least one of levels, subtreeOf, percent"
type RolloutStage struct {
	// levels of the offices in this stage.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=4
	Levels []Level `json:"levels,omitempty"`

	// subtreeOf puts that office and its descendants in this stage.
	// +optional
	SubtreeOf OfficeName `json:"subtreeOf,omitempty"`

	// percent of the selected offices in this stage, chosen by a stable hash
	// of the office name so that a re-run picks the same offices.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	Percent *int32 `json:"percent,omitempty"`
}

// Rollout says how a change of the policy reaches the offices it selects.
// +kubebuilder:validation:XValidation:rule="(has(self.strategy) && self.strategy == 'Staged') == has(self.stages)",message="stages are required for strategy Staged and not allowed for Immediate"
type Rollout struct {
	// strategy is Immediate (every office at once, the default) or Staged.
	// +optional
	// +kubebuilder:default=Immediate
	Strategy RolloutStrategy `json:"strategy,omitempty"`

	// stages of a Staged rollout, in order; each must be healthy before the
	// next starts. An office in no stage gets the new revision when the
	// last stage is healthy.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=10
	Stages []RolloutStage `json:"stages,omitempty"`

	// paused stops a Staged rollout at the stage it has reached: offices
	// already in it keep the new revision, and no further stage starts.
	// Resuming (false) restarts the stage's progress deadline, and so also
	// resumes a rollout halted by it.
	// +optional
	Paused bool `json:"paused,omitempty"`

	// progressDeadline is how long a stage may take to become healthy. A
	// stage that does not halts the rollout (Stalled, reason
	// ProgressDeadlineExceeded) until the spec is edited: a new revision
	// supersedes the rollout; any other edit (this deadline, pausing and
	// resuming) tries the stage again. Defaults to 10m.
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Format=duration
	ProgressDeadline *metav1.Duration `json:"progressDeadline,omitempty"`
}

// DefaultProgressDeadline is the progressDeadline of a rollout that sets
// none.
const DefaultProgressDeadline = 10 * time.Minute

// RolloutPhase is where a rollout stands.
// +kubebuilder:validation:Enum=Progressing;Paused;Halted;Complete
type RolloutPhase string

// The rollout phases.
const (
	// RolloutProgressing: a stage is in progress.
	RolloutProgressing RolloutPhase = "Progressing"
	// RolloutPaused: spec.rollout.paused holds the rollout at its stage.
	RolloutPaused RolloutPhase = "Paused"
	// RolloutHalted: a stage missed its progress deadline.
	RolloutHalted RolloutPhase = "Halted"
	// RolloutComplete: every office runs the revision.
	RolloutComplete RolloutPhase = "Complete"
)

// RoutingPolicyRevision is what offices compile of a RoutingPolicy, kept
// for the revision a staged rollout moves away from.
type RoutingPolicyRevision struct {
	// revision is the hash of priority, officeSelector and rules.
	// +kubebuilder:validation:MaxLength=64
	Revision string `json:"revision"`
	// priority of the revision.
	// +optional
	Priority int32 `json:"priority,omitempty"`
	// officeSelector of the revision.
	// +optional
	OfficeSelector OfficeSelector `json:"officeSelector,omitempty"`
	// rules of the revision.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=64
	Rules []RoutingRule `json:"rules,omitempty"`
}

// The annotations that hold and retry a staged rollout of a RoutingPolicy,
// DutyPeriod or TenantDefaults without an edit of its spec, which a GitOps
// tool owns and would set back (`petitionctl rollout pause|resume|retry`).
const (
	// AnnotationRolloutPaused set to "true" pauses the rollout as
	// spec.rollout.paused does; removing it resumes it (unless the spec
	// pauses it too). Any other value is ignored.
	AnnotationRolloutPaused = "petition.xinfang.io/rollout-paused"
	// AnnotationRolloutRetry, given a new value (petitionctl writes the
	// time), tries a halted stage again with its whole progress deadline.
	// A value is acted on once: status.rollout.retried records it.
	AnnotationRolloutRetry = "petition.xinfang.io/rollout-retry"
)

// RolloutStatus reports a staged rollout: of a RoutingPolicy's revision, or
// of the default tenant image.
type RolloutStatus struct {
	// revision being rolled out, or rolled out when phase is Complete.
	// +kubebuilder:validation:MaxLength=64
	Revision string `json:"revision"`
	// phase is Progressing, Paused, Halted or Complete.
	Phase RolloutPhase `json:"phase"`
	// stages is the number of stages; status.stage is the one in progress.
	// +optional
	Stages int32 `json:"stages,omitempty"`
	// stageStartTime is when the stage in progress started, or resumed.
	// +optional
	StageStartTime *metav1.Time `json:"stageStartTime,omitempty"`
	// offices is the number of offices in the stages reached so far that the
	// rollout concerns: for a RoutingPolicy, those selected by the revision
	// or the stable one; for the tenant image, those that name no image of
	// their own. Suspended offices are left out.
	// +optional
	Offices int32 `json:"offices,omitempty"`
	// updated is how many of them run the revision.
	// +optional
	Updated int32 `json:"updated,omitempty"`
	// haltedGeneration is the generation of the object when the rollout
	// halted: any later edit of its spec tries the stage again.
	// +optional
	HaltedGeneration int64 `json:"haltedGeneration,omitempty"`
	// retried is the last value of the petition.xinfang.io/rollout-retry
	// annotation the operator has seen (cut to 64 characters): a retry is
	// acted on once.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	Retried string `json:"retried,omitempty"`
	// waitingFor names up to 10 offices of the reached stages that do not
	// run the revision yet.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=10
	WaitingFor []string `json:"waitingFor,omitempty"`
}

// RoutingPolicySpec declares routing rules for a set of offices.
type RoutingPolicySpec struct {
	// priority orders the policies that select an office: higher first, ties
	// by name.
	// +optional
	// +kubebuilder:default=0
	// +kubebuilder:validation:Minimum=-1000000
	// +kubebuilder:validation:Maximum=1000000
	Priority int32 `json:"priority,omitempty"`

	// officeSelector selects the offices the rules apply to. Empty selects
	// every office.
	// +optional
	OfficeSelector OfficeSelector `json:"officeSelector,omitempty"`

	// rules are evaluated in order; the first match wins unless it sets
	// continue.
	// +required
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=64
	Rules []RoutingRule `json:"rules"`

	// rollout says how a change of this policy reaches the offices.
	// +optional
	Rollout Rollout `json:"rollout,omitempty"`
}

// UnresolvedRoute is a rule whose target could not be resolved for an office;
// petitions it matches fall back to the receiving office.
type UnresolvedRoute struct {
	// office whose routing could not resolve the target.
	Office string `json:"office"`
	// rule whose target could not be resolved.
	Rule string `json:"rule"`
	// reason the target could not be resolved.
	Reason string `json:"reason"`
}

// RoutingPolicyStatus is the observed state of a routing policy.
type RoutingPolicyStatus struct {
	StatusCommon `json:",inline"`

	// selectedOffices is the number of offices the policy selects.
	// Counted at most every 10 s while offices change (2 s after a single
	// change), so it may lag the offices by up to 10 s.
	// +optional
	SelectedOffices int32 `json:"selectedOffices,omitempty"`

	// updatedOffices is the number of selected offices that run the current
	// revision of the policy: Ready, with the policy's current generation
	// compiled into the configuration their tenant stack was applied with.
	// Counted at most every 10 s while offices change (2 s after a single
	// change), so it may lag the offices by up to 10 s.
	// +optional
	UpdatedOffices int32 `json:"updatedOffices,omitempty"`

	// stage is the index of the rollout stage in progress, counted from 0;
	// equal to the number of stages when the rollout is complete.
	// +optional
	Stage int32 `json:"stage,omitempty"`

	// stageProgress is the stage in progress counted from 1, of how many,
	// as the STAGE column shows it: "2/3" while the second of three stages
	// rolls out, "3/3" once the last is done. Empty for an Immediate
	// rollout.
	// +optional
	StageProgress string `json:"stageProgress,omitempty"`

	// rollout reports the rollout of the policy's current revision.
	// +optional
	Rollout *RolloutStatus `json:"rollout,omitempty"`

	// stable is the last revision rolled out to every office: what offices
	// outside the reached stages compile. Absent for a new policy, whose
	// rules reach no office before its first stage.
	// +optional
	Stable *RoutingPolicyRevision `json:"stable,omitempty"`

	// unresolvedRoutes is the number of routes whose targets could not be
	// resolved, over every selected office; unresolved lists the first 100.
	// +optional
	UnresolvedRoutes int32 `json:"unresolvedRoutes,omitempty"`

	// unresolved lists the routes whose targets could not be resolved.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=100
	Unresolved []UnresolvedRoute `json:"unresolved,omitempty"`
}

// RoutingPolicy routes petitions by subject to the office in charge
// (分级负责、归口办理) for every office it selects.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=rp,categories=petition
// +kubebuilder:printcolumn:name="Priority",type=integer,JSONPath=`.spec.priority`
// +kubebuilder:printcolumn:name="Selected",type=integer,JSONPath=`.status.selectedOffices`,description="Offices the policy selects (may lag changes by up to 10 s)"
// +kubebuilder:printcolumn:name="Updated",type=integer,JSONPath=`.status.updatedOffices`,description="Selected offices running the current revision (may lag by up to 10 s)"
// +kubebuilder:printcolumn:name="Unresolved",type=integer,JSONPath=`.status.unresolvedRoutes`
// +kubebuilder:printcolumn:name="Rollout",type=string,JSONPath=`.status.rollout.phase`
// +kubebuilder:printcolumn:name="Stage",type=string,JSONPath=`.status.stageProgress`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type RoutingPolicy struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec declares the policy.
	// +required
	Spec RoutingPolicySpec `json:"spec"`

	// status is the observed state of the policy.
	// +optional
	Status RoutingPolicyStatus `json:"status,omitempty"`
}

// CommonStatus returns the status fields every kind has.
func (p *RoutingPolicy) CommonStatus() *StatusCommon { return &p.Status.StatusCommon }

// +kubebuilder:object:root=true

// RoutingPolicyList is a list of routing policies.
type RoutingPolicyList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []RoutingPolicy `json:"items"`
}
