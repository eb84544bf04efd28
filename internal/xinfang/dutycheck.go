package xinfang

import (
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/xinfang/petition-operator/api/v1alpha1"
)

// KindDutyPeriod is the kind of a DutyPeriod, as problems name it.
const KindDutyPeriod = "DutyPeriod"

// CheckDutyPeriod applies the rules the schema cannot express to a
// DutyPeriod: its dates exist; its ranges are in date order and do not
// overlap; from its first date to its last it spans at most
// v1alpha1.MaxDutyPeriodDays; it gives times or always: true, not both; its
// times and daily report time are valid. The offices it names (its
// selector's and its rollout stages' subtreeOf) that do not exist are
// pending. Overlapping DutyPeriods are fine: an office on duty for two
// reasons is on duty.
func CheckDutyPeriod(p *v1alpha1.DutyPeriod, w World) Findings {
	var f Findings
	spec := field.NewPath("spec")
	a := &p.Spec.DutyArrangement
	if a.Always == (len(a.Times) > 0) {
		f.Errors = append(f.Errors, field.Invalid(spec.Child("times"), field.OmitValueType{}, "exactly one of times and always: true must be given"))
	}
	if len(a.DateRanges) == 0 {
		f.Errors = append(f.Errors, field.Required(spec.Child("dateRanges"), "a period needs at least one date range"))
	}
	if len(a.DateRanges) > 0 {
		w := CompiledWindow{Name: "duty", Channels: a.Channels, Times: a.Times, DateRanges: a.DateRanges}
		if _, err := compileWindowRule(&w); err != nil {
			// The window's errors continue a field path: ".times[0]: …".
			f.Errors = append(f.Errors, pathError(spec, fmt.Errorf("%s", strings.TrimPrefix(err.Error(), "."))))
		} else {
			f.Errors = append(f.Errors, checkDutyDates(spec.Child("dateRanges"), a.DateRanges)...)
		}
	}
	if r := a.DailyReport; r != nil {
		if _, ok := parseClock(r.By, false); !ok {
			f.Errors = append(f.Errors, field.Invalid(spec.Child("dailyReport", "by"), r.By, "must be a time of day HH:MM, 00:00 to 23:59"))
		}
	}
	office := func(fld *field.Path, name v1alpha1.OfficeName) {
		if name == "" {
			return
		}
		if _, ok := w.Office(string(name)); !ok {
			f.Pending = append(f.Pending, missing(fld, KindOffice, string(name)))
		}
	}
	office(spec.Child("officeSelector", "subtreeOf"), a.OfficeSelector.SubtreeOf)
	for i, s := range p.Spec.Rollout.Stages {
		office(spec.Child("rollout", "stages").Index(i).Child("subtreeOf"), s.SubtreeOf)
	}
	return f
}

// checkDutyDates requires parsed, valid ranges to be in date order without
// overlap and to span at most MaxDutyPeriodDays.
func checkDutyDates(fld *field.Path, ranges []v1alpha1.DateRange) field.ErrorList {
	var errs field.ErrorList
	if len(ranges) == 0 {
		return nil
	}
	first, _ := ParseDate(ranges[0].From)
	last := first
	for i, r := range ranges {
		from, _ := ParseDate(r.From)
		to, _ := ParseDate(r.To)
		if i > 0 && !from.After(last) {
			errs = append(errs, field.Invalid(fld.Index(i).Child("from"), r.From,
				fmt.Sprintf("must be after the previous range's last date %s: list the ranges in date order without overlap", ranges[i-1].To)))
		}
		if to.After(last) {
			last = to
		}
	}
	if days := int(last.Sub(first).Hours()/24) + 1; days > v1alpha1.MaxDutyPeriodDays {
		errs = append(errs, field.Invalid(fld, field.OmitValueType{},
			fmt.Sprintf("the period runs %d days, from %s to %s; at most %d are allowed: declare a longer duty as a window of the office, or one DutyPeriod per year",
				days, first.Format(time.DateOnly), last.Format(time.DateOnly), v1alpha1.MaxDutyPeriodDays)))
	}
	return errs
}

// CheckDutyLoad refuses a DutyPeriod that would make an office of the index
// selected by more than MaxDutyPeriods periods (this one as its spec says,
// the others as theirs): the desk's bounds on a configuration. A period
// of the same name in periods is the one being replaced.
func CheckDutyLoad(p *v1alpha1.DutyPeriod, idx *Network, periods []v1alpha1.DutyPeriod) field.ErrorList {
	var errs field.ErrorList
	over := 0
	for _, o := range idx.All() {
		path, problem := idx.Path(o)
		if problem != nil || !Selects(&p.Spec.OfficeSelector, o, path) {
			continue
		}
		n := 1
		for i := range periods {
			if q := &periods[i]; q.Name != p.Name && Selects(&q.Spec.OfficeSelector, o, path) {
				n++
			}
		}
		if n <= MaxDutyPeriods {
			continue
		}
		if over++; over == 1 {
			errs = append(errs, field.Forbidden(field.NewPath("spec", "officeSelector"),
				fmt.Sprintf("office %q would be selected by %d DutyPeriods; at most %d may select one office (the bound of its desk's configuration)", o.Name, n, MaxDutyPeriods)))
		}
	}
	if over > 1 {
		errs[0].Detail += fmt.Sprintf(", and %d more offices would be too", over-1)
	}
	return errs
}
