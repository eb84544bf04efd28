package xinfang

import (
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/xinfang/petition-operator/api/v1alpha1"
)

// Duty periods (值班, 敏感期). A DutyPeriod declares extended duty for every
// office it selects. Each office it selects, as far as a staged rollout has
// reached it (EntitledDuty), compiles it into the duty section of its
// configuration: a window named after the period, which opens like an
// ExtendedDuty window (on public holidays too), with the staffing and the
// daily report. While a period's window covers an instant, a windows answer
// names the period, even when one of the office's own windows is open too:
// the duty arrangement is what is in force.

// MaxDutyPeriods bounds the DutyPeriods that may select one office, and so
// the duty section of its configuration: the desk refuses a configuration
// with more, and an office selected by more does not compile.
const MaxDutyPeriods = 32

// DutyConfig is the duty section of an office's configuration.
type DutyConfig struct {
	// Periods are the DutyPeriods that select the office, by name.
	Periods []CompiledDutyPeriod `json:"periods"`
}

// CompiledDutyPeriod is a DutyPeriod as one office compiles it.
type CompiledDutyPeriod struct {
	// Name is the DutyPeriod's name; its window has the same name.
	Name string `json:"name"`
	// DisplayName is the period's human name.
	DisplayName string `json:"displayName,omitempty"`
	// Window is when the office is on duty: kind ExtendedDuty, open on
	// holidays, within the period's date ranges.
	Window CompiledWindow `json:"window"`
	// Staffing is who is on duty; absent when the period says nothing.
	Staffing *v1alpha1.DutyStaffing `json:"staffing,omitempty"`
	// DailyReport is when the day's report (零报告) is due, HH:MM in the
	// office's time zone; absent when none is asked for.
	DailyReport *v1alpha1.DailyReport `json:"dailyReport,omitempty"`
}

// DutyRevision returns what offices compile of a period's spec, with its
// hash. spec.rollout is not part of it.
func DutyRevision(a *v1alpha1.DutyArrangement) v1alpha1.DutyPeriodRevision {
	r := v1alpha1.DutyPeriodRevision{DutyArrangement: *a}
	hash, err := Hash(r)
	if err != nil {
		// The API types always marshal.
		panic(fmt.Sprintf("hashing a duty period revision: %v", err))
	}
	r.Revision = hash
	return r
}

// EntitledDuty returns the revision of the period that the office compiles:
// the current one, unless a staged rollout of it has not reached the office,
// in which case the last one rolled out to every office (nil when there is
// none: a new period reaches no office before its first stage). Whether
// the revision selects the office is the caller's question.
func EntitledDuty(p *v1alpha1.DutyPeriod, office *v1alpha1.Office, path []string) *v1alpha1.DutyPeriodRevision {
	cur := DutyRevision(&p.Spec.DutyArrangement)
	stable := ""
	if st := p.Status.Stable; st != nil {
		stable = st.Revision
	}
	if entitlesCurrent(&p.Spec.Rollout, p.Status.Rollout, p.Status.Stage, cur.Revision, stable, office, path) {
		return &cur
	}
	return p.Status.Stable
}

// DeclaredDutyPeriods returns copies of the periods whose status says that
// their current revision is rolled out everywhere, as Declared does for
// RoutingPolicies: how files without status are read.
func DeclaredDutyPeriods(periods []v1alpha1.DutyPeriod) []v1alpha1.DutyPeriod {
	out := make([]v1alpha1.DutyPeriod, len(periods))
	for i := range periods {
		out[i] = periods[i]
		out[i].Status.Rollout = completed(DutyRevision(&periods[i].Spec.DutyArrangement).Revision)
	}
	return out
}

// RunsDutyRevision reports whether the office runs the given revision of a
// DutyPeriod ("" for none of it): it is Ready for its current generation
// and its compiled configuration holds that revision.
func RunsDutyRevision(o *v1alpha1.Office, period, revision string) bool {
	return officeCurrent(o) && revisionOf(o.Status.DutyPeriods, period) == revision
}

// dutyWindow is the window of a period's arrangement: its dates, and its
// times on each of them (the whole day for always: true).
func dutyWindow(name string, a *v1alpha1.DutyArrangement) CompiledWindow {
	return CompiledWindow{
		Name: name, Kind: v1alpha1.WindowExtendedDuty, Channels: a.Channels,
		Times: a.Times, DateRanges: a.DateRanges, ClosedOnHolidays: false,
	}
}

// CompileDuty returns the duty section of the office at path: each period
// whose entitled revision (EntitledDuty) selects the office, by name, and
// the revisions compiled, for the office's status. It is nil when no
// period selects the office, so that such an office's configuration is as
// it was before DutyPeriods existed. A revision whose window is invalid (a
// period admitted without the webhook) is left out: the period's own
// status says why. More than MaxDutyPeriods periods is an error.
func CompileDuty(office *v1alpha1.Office, path []string, periods []v1alpha1.DutyPeriod) (*DutyConfig, []v1alpha1.PolicyRevision, error) {
	var out []CompiledDutyPeriod
	var revs []v1alpha1.PolicyRevision
	for i := range periods {
		p := &periods[i]
		rev := EntitledDuty(p, office, path)
		if rev == nil || !Selects(&rev.OfficeSelector, office, path) {
			continue
		}
		w := dutyWindow(p.Name, &rev.DutyArrangement)
		if _, err := compileWindowRule(&w); err != nil {
			continue
		}
		if rev.DailyReport != nil {
			if _, ok := parseClock(rev.DailyReport.By, false); !ok {
				continue
			}
		}
		out = append(out, CompiledDutyPeriod{Name: p.Name, DisplayName: rev.DisplayName, Window: w,
			Staffing: rev.Staffing, DailyReport: rev.DailyReport})
		revs = append(revs, v1alpha1.PolicyRevision{Name: p.Name, Revision: rev.Revision})
	}
	if len(out) == 0 {
		return nil, nil, nil
	}
	if len(out) > MaxDutyPeriods {
		names := make([]string, len(out))
		for i := range out {
			names[i] = out[i].Name
		}
		slices.Sort(names)
		return nil, nil, fmt.Errorf("%d DutyPeriods select the office, at most %d may (%s)", len(out), MaxDutyPeriods, Truncate(fmt.Sprint(names), 200))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	sort.Slice(revs, func(i, j int) bool { return revs[i].Name < revs[j].Name })
	return &DutyConfig{Periods: out}, revs, nil
}

// withDuty puts the windows of the duty periods before the office's own, so
// that a windows answer names the period while it covers the instant.
// Period names live apart from the office's window names: they may repeat
// one.
func (w *WindowSet) withDuty(d *DutyConfig) error {
	if d == nil || len(d.Periods) == 0 {
		return nil
	}
	rules := make([]windowRule, 0, len(d.Periods)+len(w.windows))
	for i := range d.Periods {
		r, err := compileWindowRule(&d.Periods[i].Window)
		if err != nil {
			return fmt.Errorf("duty.periods[%d].window%w", i, err)
		}
		rules = append(rules, r)
	}
	w.windows = append(rules, w.windows...)
	return nil
}

// DutyActivity is whether a period is in force now, and when that may
// change.
type DutyActivity struct {
	// Active is true when today's date, in one of the zones, lies in one of
	// the period's ranges.
	Active bool
	// Next is the next instant at which a range starts or ends in one of
	// the zones (midnight local time); zero when none is ahead.
	Next time.Time
}

// DutyActive reports whether a period with these date ranges is in force
// at now in any of the time zones (those of the offices it selects;
// DefaultTimeZone when there are none), and when that may next change.
// Unknown zones are skipped.
func DutyActive(ranges []v1alpha1.DateRange, zones []string, now time.Time) (DutyActivity, error) {
	var spans []dateSpan
	for i, r := range ranges {
		from, err := ParseDate(r.From)
		if err != nil {
			return DutyActivity{}, fmt.Errorf("dateRanges[%d].from: %w", i, err)
		}
		to, err := ParseDate(r.To)
		if err != nil {
			return DutyActivity{}, fmt.Errorf("dateRanges[%d].to: %w", i, err)
		}
		spans = append(spans, dateSpan{from, to})
	}
	spans = mergeSpans(spans)
	if len(zones) == 0 {
		zones = []string{v1alpha1.DefaultTimeZone}
	}
	var act DutyActivity
	for _, tz := range zones {
		if tz == "" {
			tz = v1alpha1.DefaultTimeZone
		}
		loc, err := loadLocation(tz)
		if err != nil || tz == "Local" {
			continue
		}
		y, m, d := now.In(loc).Date()
		today := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
		var next time.Time // the next boundary date after today
		for _, s := range spans {
			if !today.Before(s.from) && !today.After(s.to) {
				act.Active = true
			}
			for _, b := range []time.Time{s.from, s.to.AddDate(0, 0, 1)} {
				if b.After(today) && (next.IsZero() || b.Before(next)) {
					next = b
				}
			}
		}
		if next.IsZero() {
			continue
		}
		ny, nm, nd := next.Date()
		at := time.Date(ny, nm, nd, 0, 0, 0, 0, loc)
		if act.Next.IsZero() || at.Before(act.Next) {
			act.Next = at
		}
	}
	return act, nil
}

// DutyReport is what a DutyPeriod's status says of the offices it selects.
type DutyReport struct {
	// Selected counts the offices the current revision selects.
	Selected int
	// Updated counts those of them that run the current revision
	// (RunsDutyRevision).
	Updated int
	// Zones are the time zones of the selected offices, sorted, each once.
	Zones []string
}

// ReportDutyPeriod counts the offices of the index that the period selects.
func ReportDutyPeriod(p *v1alpha1.DutyPeriod, idx *Network) DutyReport {
	var rep DutyReport
	revision := DutyRevision(&p.Spec.DutyArrangement).Revision
	zones := map[string]bool{}
	for _, o := range idx.All() {
		path, problem := idx.Path(o)
		if problem != nil || !Selects(&p.Spec.OfficeSelector, o, path) {
			continue
		}
		rep.Selected++
		if RunsDutyRevision(o, p.Name, revision) {
			rep.Updated++
		}
		tz := o.Spec.TimeZone
		if tz == "" {
			tz = v1alpha1.DefaultTimeZone
		}
		zones[tz] = true
	}
	for tz := range zones {
		rep.Zones = append(rep.Zones, tz)
	}
	slices.Sort(rep.Zones)
	return rep
}

// SelectedByDuty returns the offices of the index that the period selects:
// by its current revision or by the stable one a staged rollout moves from.
func SelectedByDuty(idx *Network, p *v1alpha1.DutyPeriod) []string {
	var stable *v1alpha1.OfficeSelector
	if st := p.Status.Stable; st != nil {
		stable = &st.OfficeSelector
	}
	return SelectedBy(idx, &p.Spec.OfficeSelector, stable)
}

// SelectedBy returns the offices of the index in the network that sel
// selects, or stable when it is not nil: what an object with a staged
// rollout selects while it moves from its stable revision.
func SelectedBy(idx *Network, sel, stable *v1alpha1.OfficeSelector) []string {
	var names []string
	for _, o := range idx.All() {
		path, problem := idx.Path(o)
		if problem != nil {
			continue
		}
		if Selects(sel, o, path) || (stable != nil && Selects(stable, o, path)) {
			names = append(names, o.Name)
		}
	}
	return names
}

// StepDutyRollout moves the period's rollout on, as StepRollout does for a
// RoutingPolicy. Completed says that the current revision is now the
// stable one.
func StepDutyRollout(p *v1alpha1.DutyPeriod, idx *Network, now time.Time) RolloutStep {
	return stepRollout(dutySubject(p), p.Status.Rollout, p.Status.Stage, idx, now)
}

// DutyRolloutPlan reports each stage of the period's staged rollout.
func DutyRolloutPlan(p *v1alpha1.DutyPeriod, idx *Network) []StageReport {
	return rolloutPlan(dutySubject(p), idx)
}

// dutySubject is the rollout of the period's current revision.
func dutySubject(p *v1alpha1.DutyPeriod) *rolloutSubject {
	var stable *selectedRevision
	if st := p.Status.Stable; st != nil {
		stable = &selectedRevision{revision: st.Revision, selector: &st.OfficeSelector}
	}
	cur := selectedRevision{DutyRevision(&p.Spec.DutyArrangement).Revision, &p.Spec.OfficeSelector}
	s := selectorSubject(&p.Spec.Rollout, p.Generation, cur, stable,
		func(o *v1alpha1.Office, revision string) bool { return RunsDutyRevision(o, p.Name, revision) })
	s.hold = HoldOf(&p.Spec.Rollout, p.Annotations)
	return s
}
