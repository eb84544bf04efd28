package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// MaxDutyPeriodDays bounds a DutyPeriod: from the first date of its first
// range to the last date of its last range, both counted, at most a year.
const MaxDutyPeriodDays = 366

// DutyStaffing says who is on duty while a period is in force (双人值班,
// 领导带班).
type DutyStaffing struct {
	// minOnDuty is the least number of staff on duty at any time of the
	// period, 1 to 20. Defaults to 1.
	// +optional
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=20
	MinOnDuty int32 `json:"minOnDuty,omitempty"`

	// leaderOnDuty requires a leader of the office on duty (领导带班)
	// throughout the period.
	// +optional
	LeaderOnDuty bool `json:"leaderOnDuty,omitempty"`
}

// DailyReport is the report each selected office sends every day of the
// period, a zero report (零报告) when nothing happened.
type DailyReport struct {
	// by is the time of day, HH:MM in the office's time zone, by which the
	// day's report is due.
	// +required
	// +kubebuilder:validation:MaxLength=5
	// +kubebuilder:validation:Pattern=`^([01][0-9]|2[0-3]):[0-5][0-9]$`
	By string `json:"by"`
}

// DutyArrangement is what a DutyPeriod gives each office it selects: the
// dates, channels and times of its extended duty, the staffing and the
// daily report. Offices compile it; a staged rollout moves it.
type DutyArrangement struct {
	// displayName is the human name of the period, e.g. 全国两会期间信访值班.
	// +optional
	// +kubebuilder:validation:MaxLength=128
	DisplayName string `json:"displayName,omitempty"`

	// officeSelector selects the offices on duty, as a RoutingPolicy's
	// does: every given field must hold. Empty selects every office.
	// +optional
	OfficeSelector OfficeSelector `json:"officeSelector,omitempty"`

	// dateRanges are the inclusive date ranges of the period, in the time
	// zone of each office, in date order and not overlapping. From the
	// first date to the last, a period spans at most 366 days.
	// +required
	// +listType=atomic
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=32
	DateRanges []DateRange `json:"dateRanges"`

	// channels are the channels the offices receive on while on duty:
	// Visit, Letter, Phone, Online.
	// +required
	// +listType=set
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=4
	Channels []Channel `json:"channels"`

	// times are the spans of each day of the period the offices are on
	// duty, start inclusive and end exclusive, in the office's time zone.
	// Exactly one of times and always: true is given.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=8
	Times []TimeRange `json:"times,omitempty"`

	// always puts the offices on duty around the clock on every date of the
	// period. Exactly one of times and always: true is given.
	// +optional
	Always bool `json:"always,omitempty"`

	// staffing says who is on duty: at least minOnDuty staff, and a leader
	// when leaderOnDuty.
	// +optional
	Staffing *DutyStaffing `json:"staffing,omitempty"`

	// dailyReport is the report each office sends every day of the period.
	// +optional
	DailyReport *DailyReport `json:"dailyReport,omitempty"`
}

// DutyPeriodSpec declares a period of extended duty (值班, 敏感期) for the
// offices it selects.
// +kubebuilder:validation:XValidation:rule="(has(self.always) && self.always) != has(self.times)",message="exactly one of times and always: true must be given"
type DutyPeriodSpec struct {
	DutyArrangement `json:",inline"`

	// rollout says how the period, and each change of it, reaches the
	// offices: Immediate (the default) or Staged, as a RoutingPolicy's.
	// +optional
	Rollout Rollout `json:"rollout,omitempty"`
}

// DutyPeriodRevision is what offices compile of a DutyPeriod, kept for the
// revision a staged rollout moves away from.
type DutyPeriodRevision struct {
	// revision is the hash of the arrangement.
	// +kubebuilder:validation:MaxLength=64
	Revision string `json:"revision"`

	DutyArrangement `json:",inline"`
}

// DutyPeriodStatus is the observed state of a duty period.
type DutyPeriodStatus struct {
	StatusCommon `json:",inline"`

	// selectedOffices is the number of offices the period selects.
	// Counted at most every 10 s while offices change (2 s after a single
	// change), so it may lag the offices by up to 10 s.
	// +optional
	SelectedOffices int32 `json:"selectedOffices,omitempty"`

	// updatedOffices is the number of selected offices that run the current
	// revision of the period: Ready, with it compiled into the
	// configuration their tenant stack was applied with.
	// Counted at most every 10 s while offices change (2 s after a single
	// change), so it may lag the offices by up to 10 s.
	// +optional
	UpdatedOffices int32 `json:"updatedOffices,omitempty"`

	// active is true while today's date, in the time zone of an office the
	// period selects, lies in one of its dateRanges: the period is in force
	// for that office. With no office selected, dates are reckoned in
	// Asia/Shanghai. Absent until the period is first observed.
	// +optional
	Active *bool `json:"active,omitempty"`

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

	// rollout reports the rollout of the period's current revision.
	// +optional
	Rollout *RolloutStatus `json:"rollout,omitempty"`

	// stable is the last revision rolled out to every office: what offices
	// outside the reached stages compile. Absent for a new period, which
	// reaches no office before its first stage.
	// +optional
	Stable *DutyPeriodRevision `json:"stable,omitempty"`
}

// DutyPeriod declares a period of extended duty (值班, 敏感期: congresses,
// holidays, anniversaries) for every office it selects, instead of copying
// the dates into each office's windows. Each selected office opens on the
// period's channels and times as an ExtendedDuty window does, holidays
// included, and its compiled configuration carries the staffing and the
// daily report.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=duty,categories=petition
// +kubebuilder:printcolumn:name="Display Name",type=string,JSONPath=`.spec.displayName`
// +kubebuilder:printcolumn:name="From",type=string,JSONPath=`.spec.dateRanges[0].from`
// +kubebuilder:printcolumn:name="To",type=string,JSONPath=`.spec.dateRanges[-1:].to`
// +kubebuilder:printcolumn:name="Offices",type=integer,JSONPath=`.status.selectedOffices`,description="Offices the period selects (may lag changes by up to 10 s)"
// +kubebuilder:printcolumn:name="Active",type=boolean,JSONPath=`.status.active`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Updated",type=integer,JSONPath=`.status.updatedOffices`,priority=1
// +kubebuilder:printcolumn:name="Rollout",type=string,JSONPath=`.status.rollout.phase`,priority=1
// +kubebuilder:printcolumn:name="Stage",type=string,JSONPath=`.status.stageProgress`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type DutyPeriod struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec declares the period.
	// +required
	Spec DutyPeriodSpec `json:"spec"`

	// status is the observed state of the period.
	// +optional
	Status DutyPeriodStatus `json:"status,omitempty"`
}

// IsActive returns status.active, false when it is absent.
func (p *DutyPeriod) IsActive() bool { return p.Status.Active != nil && *p.Status.Active }

// CommonStatus returns the status fields every kind has.
func (p *DutyPeriod) CommonStatus() *StatusCommon { return &p.Status.StatusCommon }

// +kubebuilder:object:root=true

// DutyPeriodList is a list of duty periods.
type DutyPeriodList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []DutyPeriod `json:"items"`
}
