package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Condition types shared by every kind. They follow the conventions that
// kstatus (Flux, Argo CD, Config Sync) reads: Ready is always present once the
// object has been seen; Reconciling and Stalled are present only while true.
const (
	// ConditionReady reports whether the object is fully reconciled and its
	// effect is in place.
	ConditionReady = "Ready"
	// ConditionReconciling is True while the controller is still working
	// towards the desired state.
	ConditionReconciling = "Reconciling"
	// ConditionStalled is True when the controller cannot make progress
	// without a change to the spec or to another object.
	ConditionStalled = "Stalled"
	// ConditionCalendarCoverage is an Office's warning that its
	// HolidayCalendar does not cover every deadline of a petition received
	// today (False, reason BeyondCoverage); True (reason Covered) when it
	// does. Absent when the office names no calendar. It does not change
	// Ready.
	ConditionCalendarCoverage = "CalendarCoverage"
)

// Condition reasons shared by every kind.
const (
	// ReasonReconciled: the object is reconciled.
	ReasonReconciled = "Reconciled"
	// ReasonProgressing: the controller is working on the object.
	ReasonProgressing = "Progressing"
	// ReasonParentMissing: an office names a parent that does not exist.
	ReasonParentMissing = "ParentMissing"
	// ReasonInvalidLevel: an office's parent is not of an allowed level.
	ReasonInvalidLevel = "InvalidLevel"
	// ReasonInCycle: an office is part of a parent cycle.
	ReasonInCycle = "InCycle"
	// ReasonRenderFailed: the office's tenant stack cannot be rendered, e.g.
	// because of a patch.
	ReasonRenderFailed = "RenderFailed"
	// ReasonNamespaceConflict: the office's tenant namespace exists and is
	// not this office's (another owner made it, or another office with the
	// same name did); nothing is written into it, and deleting the office
	// leaves it.
	ReasonNamespaceConflict = "NamespaceConflict"
	// ReasonApplyFailed: the API server refused an object of the tenant stack.
	ReasonApplyFailed = "ApplyFailed"
	// ReasonSuspended: spec.suspend stops changes to the tenant stack.
	ReasonSuspended = "Suspended"
	// ReasonDeletionBlocked: an office with children is being deleted; it
	// stays until its children are deleted or moved.
	ReasonDeletionBlocked = "DeletionBlocked"
	// ReasonInvalidPolicy: an escalation policy's stages are out of order or
	// its limits do not parse.
	ReasonInvalidPolicy = "InvalidPolicy"
	// ReasonPolicyMissing: an office names an EscalationPolicy that does not
	// exist (yet).
	ReasonPolicyMissing = "PolicyMissing"
	// ReasonCalendarMissing: an office names a HolidayCalendar that does not
	// exist (yet).
	ReasonCalendarMissing = "CalendarMissing"
	// ReasonInvalidDate: a date matches the YYYY-MM-DD pattern but does not
	// exist, e.g. 2026-02-30.
	ReasonInvalidDate = "InvalidDate"
	// ReasonCoverageEnding: a HolidayCalendar is Ready, but its coverage
	// ends within 60 days (or has ended, or it covers no year): deadlines
	// counted past its last year will be warned about until a calendar of
	// the next year is applied.
	ReasonCoverageEnding = "CoverageEnding"
	// ReasonBeyondCoverage: the CalendarCoverage condition of an office
	// whose calendar does not cover the deadlines of a petition received
	// today.
	ReasonBeyondCoverage = "BeyondCoverage"
	// ReasonCovered: the CalendarCoverage condition of an office whose
	// calendar covers the deadlines of a petition received today.
	ReasonCovered = "Covered"
	// ReasonInvalidDutyPeriod: a DutyPeriod's dates, times or daily report
	// cannot be compiled (admitted without the webhook); offices leave it
	// out.
	ReasonInvalidDutyPeriod = "InvalidDutyPeriod"
	// ReasonTooManyDutyPeriods: more DutyPeriods select an office than its
	// configuration may hold.
	ReasonTooManyDutyPeriods = "TooManyDutyPeriods"
	// ReasonRolloutProgressing: a staged rollout is moving through its
	// stages.
	ReasonRolloutProgressing = "RolloutProgressing"
	// ReasonRolloutPaused: spec.rollout.paused holds a staged rollout.
	ReasonRolloutPaused = "RolloutPaused"
	// ReasonProgressDeadlineExceeded: a rollout stage did not become
	// healthy within spec.rollout.progressDeadline, and the rollout is
	// halted; on an Office, its tenant Deployment made no progress within
	// its progressDeadlineSeconds.
	ReasonProgressDeadlineExceeded = "ProgressDeadlineExceeded"
	// ReasonServedByTownship: a Village is in the network and its township's
	// desk serves it; it has no tenant stack of its own.
	ReasonServedByTownship = "ServedByTownship"
	// ReasonStationedMissing: spec.jointReception.stationed names an office
	// that does not exist (yet).
	ReasonStationedMissing = "StationedMissing"
	// ReasonInvalidStationed: spec.jointReception.stationed names an office
	// that is not a Department of the office or of a County under it.
	ReasonInvalidStationed = "InvalidStationed"
	// ReasonImagePullFailed: the pods of an office's tenant cannot pull
	// their image (ErrImagePull, ImagePullBackOff, InvalidImageName). Not
	// stalled: pushing the image or fixing its name heals it.
	ReasonImagePullFailed = "ImagePullFailed"
)

// Level is the tier of an office in the petition network.
// +kubebuilder:validation:Enum=City;County;Township;Village;Department
type Level string

// The levels of the petition network: 市, 县, 乡镇, 村/社区 and 职能部门.
const (
	LevelCity     Level = "City"
	LevelCounty   Level = "County"
	LevelTownship Level = "Township"
	// LevelVillage is a village or community petition agency (村/社区信访
	// 代理点) under a Township. It has no tenant stack of its own: its
	// township's desk serves it, and a matter that arose there routes as if
	// it arose at the township.
	LevelVillage    Level = "Village"
	LevelDepartment Level = "Department"
)

// Levels lists the levels from the top of the network down.
var Levels = []Level{LevelCity, LevelCounty, LevelTownship, LevelVillage, LevelDepartment}

// HasTenant reports whether an office of the level runs a tenant stack
// (namespace, desk, configuration): every level but a Village.
func (l Level) HasTenant() bool { return l != LevelVillage }

// Channel is a way a petition reaches an office: 来访, 来信, 电话, 网上信访.
// +kubebuilder:validation:Enum=Visit;Letter;Phone;Online
type Channel string

// The channels of DESIGN §2.
const (
	ChannelVisit  Channel = "Visit"
	ChannelLetter Channel = "Letter"
	ChannelPhone  Channel = "Phone"
	ChannelOnline Channel = "Online"
)

// PetitionType is the kind of a petition: 揭发控告 (Report), 申诉求决
// (Appeal) or 咨询建议 (Inquiry).
// +kubebuilder:validation:Enum=Report;Appeal;Inquiry
type PetitionType string

// The petition types of DESIGN §2.
const (
	PetitionReport  PetitionType = "Report"
	PetitionAppeal  PetitionType = "Appeal"
	PetitionInquiry PetitionType = "Inquiry"
)

// Date is a calendar date written YYYY-MM-DD.
// +kubebuilder:validation:Pattern=`^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$`
// +kubebuilder:validation:MaxLength=10
type Date string

// DateRange is an inclusive range of calendar dates.
// +kubebuilder:validation:XValidation:rule="self.to >= self.from",message="to must not be before from"
type DateRange struct {
	// from is the first date of the range, YYYY-MM-DD.
	// +required
	From Date `json:"from"`
	// to is the last date of the range, YYYY-MM-DD, inclusive.
	// +required
	To Date `json:"to"`
}

// OfficeName is the name of an Office: a DNS-1123 label of at most 56
// characters, so that its namespace office-<name> is a valid label too.
// +kubebuilder:validation:MinLength=1
// +kubebuilder:validation:MaxLength=56
// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
type OfficeName string

// ObjectName is the name of a cluster-scoped object of this API.
// +kubebuilder:validation:MinLength=1
// +kubebuilder:validation:MaxLength=63
// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
type ObjectName string

// DepartmentCode names a functional department in PascalCase, for example
// HumanResources or NaturalResources.
// +kubebuilder:validation:MinLength=1
// +kubebuilder:validation:MaxLength=63
// +kubebuilder:validation:Pattern=`^[A-Z][A-Za-z0-9]*$`
type DepartmentCode string

// StatusCommon holds the fields every kind's status has.
type StatusCommon struct {
	// observedGeneration is the metadata.generation the status was computed
	// from. When it is behind metadata.generation the status is stale.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// conditions describe the state of the object: Ready always, Reconciling
	// and Stalled while they hold.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=16
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// GetConditions returns the status conditions.
func (s *StatusCommon) GetConditions() []metav1.Condition { return s.Conditions }

// SetConditions replaces the status conditions.
func (s *StatusCommon) SetConditions(c []metav1.Condition) { s.Conditions = c }

// GetObservedGeneration returns the generation the status was computed from.
func (s *StatusCommon) GetObservedGeneration() int64 { return s.ObservedGeneration }

// SetObservedGeneration records the generation the status was computed from.
func (s *StatusCommon) SetObservedGeneration(g int64) { s.ObservedGeneration = g }
