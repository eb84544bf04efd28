package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Holiday is a public holiday (节假日) spanning one or more dates.
// +kubebuilder:validation:XValidation:rule="self.to >= self.from",message="to must not be before from"
type Holiday struct {
	// name of the holiday, e.g. National Day or 国庆节.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=64
	Name string `json:"name"`

	// from is the first day of the holiday, YYYY-MM-DD.
	// +required
	From Date `json:"from"`

	// to is the last day of the holiday, YYYY-MM-DD, inclusive.
	// +required
	To Date `json:"to"`
}

// Bounds of a HolidayCalendar: the maxItems of spec.holidays and
// spec.workdays.
const (
	MaxHolidays = 64
	MaxWorkdays = 64
)

// HolidayCalendarSpec lists public holidays and adjusted working days.
// +kubebuilder:validation:XValidation:rule="!has(self.workdays) || !has(self.holidays) || self.workdays.all(d, !self.holidays.exists(h, h.from <= d && d <= h.to))",messageExpression="'workdays: ' + self.workdays.filter(d, self.holidays.exists(h, h.from <= d && d <= h.to))[0] + ' falls within a holiday; a date is a holiday or an adjusted working day, not both'"
type HolidayCalendarSpec struct {
	// holidays are the public holidays; reception windows close on them
	// (unless closedOnHolidays is false) and they are not working days.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=64
	Holidays []Holiday `json:"holidays,omitempty"`

	// workdays are adjusted working days (调休): Saturdays or Sundays that
	// are working days. They count as working days for deadlines and as
	// Monday to Friday for reception windows. A date that is not a Saturday
	// or Sunday, or that falls within a holiday, is refused.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:XValidation:rule="self.all(d, !(int(d.substring(8, 10)) <= (int(d.substring(5, 7)) == 2 ? (int(d.substring(0, 4)) % 4 == 0 && (int(d.substring(0, 4)) % 100 != 0 || int(d.substring(0, 4)) % 400 == 0) ? 29 : 28) : (int(d.substring(5, 7)) in [4, 6, 9, 11] ? 30 : 31))) || (int(d.substring(5, 7)) >= 3 ? (int(d.substring(8, 10)) + 13 * (int(d.substring(5, 7)) + 1) / 5 + int(d.substring(0, 4)) + int(d.substring(0, 4)) / 4 - int(d.substring(0, 4)) / 100 + int(d.substring(0, 4)) / 400) % 7 : (int(d.substring(8, 10)) + 13 * (int(d.substring(5, 7)) + 13) / 5 + (int(d.substring(0, 4)) - 1) + (int(d.substring(0, 4)) - 1) / 4 - (int(d.substring(0, 4)) - 1) / 100 + (int(d.substring(0, 4)) - 1) / 400) % 7) < 2)",messageExpression="'workdays: ' + self.filter(d, int(d.substring(8, 10)) <= (int(d.substring(5, 7)) == 2 ? (int(d.substring(0, 4)) % 4 == 0 && (int(d.substring(0, 4)) % 100 != 0 || int(d.substring(0, 4)) % 400 == 0) ? 29 : 28) : (int(d.substring(5, 7)) in [4, 6, 9, 11] ? 30 : 31)) && !((int(d.substring(5, 7)) >= 3 ? (int(d.substring(8, 10)) + 13 * (int(d.substring(5, 7)) + 1) / 5 + int(d.substring(0, 4)) + int(d.substring(0, 4)) / 4 - int(d.substring(0, 4)) / 100 + int(d.substring(0, 4)) / 400) % 7 : (int(d.substring(8, 10)) + 13 * (int(d.substring(5, 7)) + 13) / 5 + (int(d.substring(0, 4)) - 1) + (int(d.substring(0, 4)) - 1) / 4 - (int(d.substring(0, 4)) - 1) / 100 + (int(d.substring(0, 4)) - 1) / 400) % 7) < 2))[0] + ' is not a Saturday or Sunday; an adjusted working day (调休) is a weekend day made a working day'"
	Workdays []Date `json:"workdays,omitempty"`

	// covers names years the calendar covers besides those holding one of
	// its holidays. A calendar covers whole years: every year that holds a
	// holiday's from or to, and every year from covers.from's to
	// covers.to's; an adjusted working day alone covers nothing. A year it covers is one whose holidays
	// and adjusted working days it holds in full; deadlines counted into a
	// year it does not cover are still counted, as if that year had no
	// holiday, and warned about. Use it for a year without a date of its
	// own, or to say that a calendar keeps several years.
	// +optional
	Covers *CoverageRange `json:"covers,omitempty"`
}

// CoverageRange is the range of years a calendar covers, given as dates:
// the years of from and to and every year between them.
// +kubebuilder:validation:XValidation:rule="self.from <= self.to",message="to must not be before from"
// +kubebuilder:validation:XValidation:rule="int(self.to.substring(0, 4)) - int(self.from.substring(0, 4)) < 10",message="covers spans at most 10 years"
type CoverageRange struct {
	// from is a date in the first year covered, YYYY-MM-DD (usually its
	// 1 January).
	// +required
	From Date `json:"from"`
	// to is a date in the last year covered, YYYY-MM-DD (usually its
	// 31 December).
	// +required
	To Date `json:"to"`
}

// HolidayCalendarStatus is the observed state of a holiday calendar.
type HolidayCalendarStatus struct {
	StatusCommon `json:",inline"`

	// holidayDays is the number of holiday dates in the calendar.
	// +optional
	HolidayDays int32 `json:"holidayDays,omitempty"`

	// offices is the number of offices that observe the calendar.
	// Counted at most every 10 s while offices change (2 s after a single
	// change), so it may lag the offices by up to 10 s.
	// +optional
	Offices int32 `json:"offices,omitempty"`

	// coverage is the first and the last date the calendar covers: 1
	// January of the first year it covers and 31 December of the last.
	// Absent when it covers no year. A year between them that holds no
	// date and is outside spec.covers is not covered; the Ready condition's
	// message names it.
	// +optional
	Coverage *DateRange `json:"coverage,omitempty"`
}

// HolidayCalendar lists public holidays and adjusted working days (调休) for
// reception windows and working-day deadlines.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=hcal,categories=petition
// +kubebuilder:printcolumn:name="Holiday Days",type=integer,JSONPath=`.status.holidayDays`
// +kubebuilder:printcolumn:name="Offices",type=integer,JSONPath=`.status.offices`,description="Offices that observe the calendar (may lag changes by up to 10 s)"
// +kubebuilder:printcolumn:name="Covered Until",type=string,JSONPath=`.status.coverage.to`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type HolidayCalendar struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec lists the holidays and adjusted working days.
	// +required
	Spec HolidayCalendarSpec `json:"spec"`

	// status is the observed state of the calendar.
	// +optional
	Status HolidayCalendarStatus `json:"status,omitempty"`
}

// CommonStatus returns the status fields every kind has.
func (c *HolidayCalendar) CommonStatus() *StatusCommon { return &c.Status.StatusCommon }

// +kubebuilder:object:root=true

// HolidayCalendarList is a list of holiday calendars.
type HolidayCalendarList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []HolidayCalendar `json:"items"`
}
