package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// DefaultEscalationPolicy is the name of the built-in policy that encodes the
// statutory limits of 信访工作条例 (2022); offices use it unless they name
// another.
const DefaultEscalationPolicy = "statutory-2022"

// StageName names an escalation stage.
// +kubebuilder:validation:Enum=Acceptance;Handling;Review;ReReview
type StageName string

// The escalation stages of 信访工作条例: acceptance (受理, Art. 22–23),
// handling (办理, Art. 34), review (复查, Art. 35) and re-review (复核,
// Art. 36), after which the matter is closed (三级终结).
const (
	StageAcceptance StageName = "Acceptance"
	StageHandling   StageName = "Handling"
	StageReview     StageName = "Review"
	StageReReview   StageName = "ReReview"
)

// StageTransfer is registering and transferring (登记转送/交办, Art. 21–22) a
// petition received by one office and handled by another. A policy does not
// declare it: it runs at the receiving office under that office's
// Acceptance limit, before Acceptance at the handler. It appears only in
// deadlines answers.
const StageTransfer StageName = "Transfer"

// Handler says which office handles an escalation stage. Acceptance is
// counted from the office that received the petition; Handling, Review and
// ReReview from the office that handles it (its route target).
// +kubebuilder:validation:Enum=Self;Parent;Grandparent;Supervisor
type Handler string

// The handlers of an escalation stage: the office itself, its parent, its
// grandparent (past the City: the bodies of the City's
// spec.escalation.above) or its supervisor. A Review or ReReview is always
// handled above the body of the stage before it: no body reviews its own
// decision.
const (
	HandlerSelf        Handler = "Self"
	HandlerParent      Handler = "Parent"
	HandlerGrandparent Handler = "Grandparent"
	HandlerSupervisor  Handler = "Supervisor"
)

// MaxDurationDays is the largest N of a Duration, as its pattern admits.
const MaxDurationDays = 999

// Duration is a time limit in days: "Nd" counts calendar days, "Nwd" working
// days only, with N from 1 to 999.
// +kubebuilder:validation:MaxLength=6
// +kubebuilder:validation:Pattern=`^[1-9][0-9]{0,2}(d|wd)$`
type Duration string

// EscalationStage is one stage of an escalation chain with its time limit.
type EscalationStage struct {
	// name of the stage: Acceptance, Handling, Review or ReReview.
	// +required
	Name StageName `json:"name"`

	// limit is the time the handler has to finish the stage, e.g. 15d or
	// 10wd.
	// +required
	Limit Duration `json:"limit"`

	// extension is the most the limit may be extended by, e.g. 30d.
	// +optional
	Extension Duration `json:"extension,omitempty"`

	// requestWindow is the time the petitioner has to request the stage
	// after the previous one ends, e.g. 30d for a review.
	// +optional
	RequestWindow Duration `json:"requestWindow,omitempty"`

	// handler is the office that handles the stage: Self (default), Parent,
	// Grandparent or Supervisor.
	// +optional
	// +kubebuilder:default=Self
	Handler Handler `json:"handler,omitempty"`
}

// Reminder is a reminder (催办) sent before a stage's due date.
type Reminder struct {
	// before is how long before the due date the reminder is sent.
	// +required
	Before Duration `json:"before"`
}

// OverdueAction is what a rung of the overdue ladder does once a stage is
// past its due date.
// +kubebuilder:validation:Enum=Remind;Supervise;Flag
type OverdueAction string

// The rungs of the overdue ladder, in the order they escalate: a reminder
// (催办), supervision (督办) and supervision under a public flag (挂牌督办).
const (
	OverdueRemind    OverdueAction = "Remind"
	OverdueSupervise OverdueAction = "Supervise"
	OverdueFlag      OverdueAction = "Flag"
)

// OverdueBy says which office acts on a rung of the overdue ladder.
// +kubebuilder:validation:Enum=Self;Supervisor;Parent;Root
type OverdueBy string

// The offices that act on an overdue stage, seen from the stage's office:
// the office itself, its supervisor (spec.escalation.supervisor, else the
// parent), its parent, or the City at the root of the network.
const (
	OverdueBySelf       OverdueBy = "Self"
	OverdueBySupervisor OverdueBy = "Supervisor"
	OverdueByParent     OverdueBy = "Parent"
	OverdueByRoot       OverdueBy = "Root"
)

// OverdueRung is one rung of the overdue ladder (催办 → 督办 → 挂牌督办): what
// is done, and by whom, once a stage has been overdue for a while.
type OverdueRung struct {
	// after is how long after the stage's due date (with its extension,
	// where one was granted) the rung fires, e.g. 1d or 10wd. A calendar-day
	// rung that falls on a non-working day fires on the next working day.
	// +required
	After Duration `json:"after"`

	// action is Remind (催办), Supervise (督办) or Flag (挂牌督办). Along the
	// list, actions never step back down the ladder.
	// +required
	Action OverdueAction `json:"action"`

	// by is the office that acts: Self (the stage's office), Supervisor,
	// Parent (default) or Root (the City).
	// +optional
	// +kubebuilder:default=Parent
	By OverdueBy `json:"by,omitempty"`
}

// Bounds of an EscalationPolicy: the maxItems of spec.stages,
// spec.reminders and spec.overdue.
const (
	MaxStages       = 4
	MaxReminders    = 5
	MaxOverdueRungs = 6
)

// EscalationPolicySpec declares escalation stages and their time limits.
// +kubebuilder:validation:XValidation:rule="self.stages.exists(s, s.name == 'Acceptance') && self.stages.exists(s, s.name == 'Handling')",message="stages must include Acceptance and Handling"
type EscalationPolicySpec struct {
	// stages of the chain, in order, each name at most once.
	// +required
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MinItems=2
	// +kubebuilder:validation:MaxItems=4
	Stages []EscalationStage `json:"stages"`

	// reminders are sent before every stage's due date.
	// +optional
	// +listType=map
	// +listMapKey=before
	// +kubebuilder:validation:MaxItems=5
	Reminders []Reminder `json:"reminders,omitempty"`

	// overdue is the ladder that chases a stage past its due date: each
	// rung fires once, its after counted from the due date, in the order
	// listed (later rungs fire later and never step back down Remind,
	// Supervise, Flag). The regulation names the actions (催办, 督办; its
	// chapter 监督和追责) but sets no days, so the built-in statutory-2022
	// declares none.
	// +optional
	// +listType=map
	// +listMapKey=after
	// +kubebuilder:validation:MaxItems=6
	Overdue []OverdueRung `json:"overdue,omitempty"`
}

// EscalationPolicyStatus is the observed state of an escalation policy.
type EscalationPolicyStatus struct {
	StatusCommon `json:",inline"`

	// offices is the number of offices that use the policy.
	// Counted at most every 10 s while offices change (2 s after a single
	// change), so it may lag the offices by up to 10 s.
	// +optional
	Offices int32 `json:"offices,omitempty"`
}

// EscalationPolicy sets the stages and statutory time limits (限时办结) of an
// escalation chain, with reminders (催办) before each due date.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=escp,categories=petition
// +kubebuilder:printcolumn:name="Offices",type=integer,JSONPath=`.status.offices`,description="Offices that use the policy (may lag changes by up to 10 s)"
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type EscalationPolicy struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec declares the policy.
	// +required
	Spec EscalationPolicySpec `json:"spec"`

	// status is the observed state of the policy.
	// +optional
	Status EscalationPolicyStatus `json:"status,omitempty"`
}

// CommonStatus returns the status fields every kind has.
func (p *EscalationPolicy) CommonStatus() *StatusCommon { return &p.Status.StatusCommon }

// +kubebuilder:object:root=true

// EscalationPolicyList is a list of escalation policies.
type EscalationPolicyList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []EscalationPolicy `json:"items"`
}
