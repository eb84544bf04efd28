package xinfang

import (
	"fmt"
	"time"

	"github.com/xinfang/petition-operator/api/v1alpha1"
)

// StageDeadline is the projected dates of one stage: the office or body
// above the network that handles it, the petitioner's last day to request
// it (stages with a request window), its due date, the reminders before it
// and the rungs of the overdue ladder after it.
type StageDeadline struct {
	Name     v1alpha1.StageName `json:"name"`
	Office   string             `json:"office"`
	External string             `json:"external,omitempty"`
	// RequestBy is the petitioner's last day to ask for the stage.
	RequestBy        string        `json:"requestBy,omitempty"`
	Due              string        `json:"due"`
	DueWithExtension string        `json:"dueWithExtension"`
	Reminders        []string      `json:"reminders,omitempty"`
	Overdue          []OverdueDate `json:"overdue,omitempty"`
}

// OverdueDate is a rung of the overdue ladder projected for a stage: the
// action, the office that takes it (or the body above the network), and the
// day it fires if the stage is still open — counted from the due date, and
// from the due date with extension when the stage may be extended.
type OverdueDate struct {
	Action          v1alpha1.OverdueAction `json:"action"`
	By              v1alpha1.OverdueBy     `json:"by"`
	Office          string                 `json:"office"`
	External        string                 `json:"external,omitempty"`
	At              string                 `json:"at"`
	AtWithExtension string                 `json:"atWithExtension,omitempty"`
}

// DeadlineQuery is what a deadlines answer is asked about.
type DeadlineQuery struct {
	// Received is the date the office received the petition.
	Received time.Time
	// Petition, when given, is routed to find the office that handles it,
	// and its type decides the stages: Review and ReReview follow only an
	// Appeal. Nil: the office handles it, every stage.
	Petition *Petition
	// Replied, when given, is the date the reply that opens the first stage
	// with a request window (the Handling reply, for a Review) was actually
	// given; the projection counts from it instead of that reply's due date.
	Replied *time.Time
	// Locality, when given, is the handling of Petition by the office
	// where the matter arose (Handling of its configuration): the later
	// stages follow the handler it finds. Nil: the receiving office is the
	// locality.
	Locality *Handling
}

// DeadlineAnswer is the CLI contract's deadlines answer.
type DeadlineAnswer struct {
	// Handler is the office that handles the petition: the route target,
	// or the receiving office.
	Handler string `json:"handler"`
	// SkipLevel says the petition is a visit received above the level that
	// may receive it (越级访, as Route says): the stages are the chain as it
	// runs at RedirectTo, none at the receiving office.
	SkipLevel  bool            `json:"skipLevel"`
	RedirectTo string          `json:"redirectTo"`
	Stages     []StageDeadline `json:"stages"`
	// Warnings lists every computed date beyond the calendar's coverage,
	// and a handler's chain that could not be compiled as declared.
	Warnings []string `json:"warnings"`
}

// Dates returns every date of the answer: each stage's request-by, due,
// extended due and reminder dates and each overdue rung's dates, empty ones
// left out.
func (a *DeadlineAnswer) Dates() []string {
	var out []string
	add := func(ds ...string) {
		for _, d := range ds {
			if d != "" {
				out = append(out, d)
			}
		}
	}
	for _, s := range a.Stages {
		add(s.RequestBy, s.Due, s.DueWithExtension)
		add(s.Reminders...)
		for _, r := range s.Overdue {
			add(r.At, r.AtWithExtension)
		}
	}
	return out
}

// NoChainError says the configuration holds no escalation chain.
type NoChainError struct{ Office string }

func (e *NoChainError) Error() string {
	return fmt.Sprintf("office %s has no escalation chain", e.Office)
}

// plannedStage is a stage of an answer with the reminders of the chain it
// comes from.
type plannedStage struct {
	step      Step
	reminders []Limit
}

// plan is the stages of a petition's chain and where it is handled.
type plan struct {
	handler    string
	skipLevel  bool
	redirectTo string
	stages     []plannedStage
	warnings   []string
}

// plan returns the handler of the query's petition and the stages of its
// chain (DESIGN "Third pass"):
//   - received by the office that handles it: Acceptance there;
//   - received by another office: Transfer (转送/交办) at the receiving
//     office under its own Acceptance limit and reminders, then Acceptance
//     at the handler under the handler's (Art. 21–22), unless the office is
//     a joint reception centre (联合接访) where the handler is stationed and
//     the petition a visit: it is accepted on the spot;
//   - a skip-level visit (越级访): the chain as it would run at the office it
//     is redirected to, nothing at the receiving office;
//
// then Handling, Review and ReReview from the handler's chain, the reviews
// only for an Appeal (or without a petition, when the office handles it
// and every stage is shown).
func (c *OfficeConfig) plan(q DeadlineQuery) (plan, error) {
	if c.Escalation == nil {
		return plan{}, &NoChainError{Office: c.Office}
	}
	if q.Petition == nil && q.Locality != nil {
		return plan{}, fmt.Errorf("locality: needs the petition (category and type) to route")
	}
	if q.Petition == nil {
		own := make([]plannedStage, 0, len(c.Escalation.Steps))
		for _, s := range c.Escalation.Steps {
			own = append(own, plannedStage{s, c.Escalation.Reminders})
		}
		return plan{handler: c.Office, stages: own}, nil
	}
	ownAcceptance, _ := c.Escalation.acceptance()
	receive := plannedStage{ownAcceptance, c.Escalation.Reminders}
	r, err := c.receive(*q.Petition, q.Locality)
	if err != nil {
		return plan{}, err
	}
	h := r.handling
	p := plan{handler: h.Route.Office, skipLevel: r.skipLevel, redirectTo: r.redirectTo}
	later := c.Escalation
	switch {
	case h.Chain != nil:
		later = &h.Chain.Escalation
		if h.Chain.Warning != "" {
			p.warnings = append(p.warnings, h.Chain.Warning)
		}
	case p.handler != c.Office:
		p.warnings = append(p.warnings, fmt.Sprintf("the configuration holds no chain of office %s: its stages follow office %s's", p.handler, c.Office))
	}
	// accept is the handler's Acceptance after a Transfer or a redirect.
	accept := func() plannedStage {
		s, ok := later.acceptance()
		if !ok {
			s = ownAcceptance
			p.warnings = append(p.warnings, fmt.Sprintf("the chain of office %s gives no Acceptance limit: office %s's (%s) applies", p.handler, c.Office, s.Limit))
		}
		s.Office, s.External = p.handler, ""
		return plannedStage{s, later.Reminders}
	}
	switch {
	case r.skipLevel, r.onTheSpot:
		// A skip-level visit runs as if received at redirectTo, the
		// handler's level office: the handler itself, since a Department
		// never stands low enough to be skipped to. A visit at a joint
		// reception centre where the handler is stationed is accepted on
		// the spot.
		p.stages = append(p.stages, accept())
	case p.handler == c.Office:
		p.stages = append(p.stages, receive)
	default:
		transfer := receive
		transfer.step.Stage = v1alpha1.StageTransfer
		p.stages = append(p.stages, transfer, accept())
	}
	allStages := q.Petition.Type == v1alpha1.PetitionAppeal
	for _, s := range later.Steps {
		if s.Stage == v1alpha1.StageAcceptance || (!allStages && reviews(s.Stage)) {
			continue
		}
		p.stages = append(p.stages, plannedStage{s, later.Reminders})
	}
	return p, nil
}

// deadlines projects the query's stages with the calendar (DESIGN
// "Deadlines", "Second pass", "Third pass"): the first stage (Transfer or
// Acceptance) is due its limit after receipt; a later stage without a
// request window is due its limit after the previous stage's due date (so
// the handler's Acceptance counts from the Transfer's: the latest day it
// can have the matter); one with a request window must be requested by the
// reply date — Replied for the first such stage, else the previous stage's
// due date — plus the window, and is due its limit after that. Every Nd
// date that falls on a non-working day moves to the next working day;
// dueWithExtension adds the extension to the limit (one span from the
// stage's start, moved only at its end); reminders fall before each due
// date, the overdue ladder's rungs after it. A date the calendar does not
// cover is warned about.
func (c *OfficeConfig) deadlines(cal *Calendar, q DeadlineQuery) (DeadlineAnswer, error) {
	received := civil(q.Received)
	if q.Replied != nil && civil(*q.Replied).Before(received) {
		return DeadlineAnswer{}, fmt.Errorf("replied: %s is before received %s", q.Replied.Format(time.DateOnly), received.Format(time.DateOnly))
	}
	p, err := c.plan(q)
	if err != nil {
		return DeadlineAnswer{}, err
	}
	ans := DeadlineAnswer{Handler: p.handler, SkipLevel: p.skipLevel, RedirectTo: p.redirectTo,
		Stages: make([]StageDeadline, 0, len(p.stages)), Warnings: p.warnings}
	if ans.Warnings == nil {
		ans.Warnings = []string{}
	}
	note := func(stage v1alpha1.StageName, field string, t time.Time) string {
		date := t.Format(time.DateOnly)
		if !cal.Covers(t) {
			ans.Warnings = append(ans.Warnings, fmt.Sprintf("%s.%s %s: HolidayCalendar %s does not cover %d; counted as if it had no holidays",
				stage, field, date, c.CalendarRef, t.Year()))
		}
		return date
	}
	prev, replied := received, q.Replied
	for _, ps := range p.stages {
		s := ps.step
		d := StageDeadline{Name: s.Stage, Office: s.Office, External: s.External}
		from := prev
		if s.RequestWindow != nil {
			reply := prev
			if replied != nil {
				reply, replied = civil(*replied), nil
			}
			from = cal.Add(reply, *s.RequestWindow)
			d.RequestBy = note(s.Stage, "requestBy", from)
		}
		due := datesFrom(cal, &d, s, ps.reminders, from, 0, note)
		ans.Stages = append(ans.Stages, d)
		prev = due
	}
	return ans, nil
}

// datesFrom fills in d's dates of a stage of step s that counts from from:
// its due date (the limit, plus extendDays of the extension's unit when the
// stage was extended), its due date with the whole extension, the
// reminders before the due date and the overdue rungs after it (after the
// extended due date too, when the stage may be extended). note formats
// each date, warning about those the calendar does not cover. It returns
// the due date.
func datesFrom(cal *Calendar, d *StageDeadline, s Step, reminders []Limit, from time.Time, extendDays int, note func(v1alpha1.StageName, string, time.Time) string) time.Time {
	due := cal.Add(from, s.Limit)
	if extendDays > 0 && s.Extension != nil {
		due = cal.AddAll(from, s.Limit, Limit{Days: extendDays, Working: s.Extension.Working})
	}
	d.Due = note(s.Stage, "due", due)
	var extended time.Time
	if s.Extension != nil {
		extended = cal.AddAll(from, s.Limit, *s.Extension)
		d.DueWithExtension = note(s.Stage, "dueWithExtension", extended)
	}
	d.Reminders = nil
	for i, r := range reminders {
		d.Reminders = append(d.Reminders, note(s.Stage, fmt.Sprintf("reminders[%d]", i), cal.Before(due, r)))
	}
	d.Overdue = nil
	for i, r := range s.Overdue {
		o := OverdueDate{Action: r.Action, By: r.By, Office: r.Office, External: r.External,
			At: note(s.Stage, fmt.Sprintf("overdue[%d].at", i), cal.Add(due, r.After))}
		if s.Extension != nil {
			o.AtWithExtension = note(s.Stage, fmt.Sprintf("overdue[%d].atWithExtension", i), cal.Add(extended, r.After))
		}
		d.Overdue = append(d.Overdue, o)
	}
	return due
}

// StageStart is a stage that actually starts at an office, as the case
// registry asks about it: a Transfer (under the office's Acceptance limit),
// an Acceptance, a Handling, a Review or a ReReview of the office's own
// chain.
type StageStart struct {
	Stage v1alpha1.StageName
	// Start is the day the stage starts: the day of receipt, of the
	// transfer, of acceptance, of the petitioner's request.
	Start time.Time
	// ExtendDays, when positive, is the extension granted to the stage, in
	// the unit of the chain's extension (at most its length).
	ExtendDays int
}

// StageFrom computes the dates of a stage that starts at the office on
// st.Start, counted with the office's calendar and chain as they are now
// (DESIGN "Deadlines are snapshots"): its due date is the stage's limit
// from the start, whatever the projection at intake said. The warnings name
// the dates the calendar does not cover.
func (c *OfficeConfig) StageFrom(st StageStart) (StageDeadline, []string, error) {
	if c.Escalation == nil {
		return StageDeadline{}, nil, &NoChainError{Office: c.Office}
	}
	want := st.Stage
	if want == v1alpha1.StageTransfer {
		want = v1alpha1.StageAcceptance
	}
	var step *Step
	for i := range c.Escalation.Steps {
		if c.Escalation.Steps[i].Stage == want {
			step = &c.Escalation.Steps[i]
		}
	}
	if step == nil {
		return StageDeadline{}, nil, fmt.Errorf("office %s: its escalation chain (EscalationPolicy %s) has no %s stage", c.Office, Quote(c.Escalation.Policy), want)
	}
	s := *step
	s.Stage = st.Stage
	if s.Extension != nil && st.ExtendDays > s.Extension.Days {
		return StageDeadline{}, nil, fmt.Errorf("office %s: an extension of %d days is more than the chain's %s", c.Office, st.ExtendDays, *s.Extension)
	}
	if s.Extension == nil && st.ExtendDays > 0 {
		return StageDeadline{}, nil, fmt.Errorf("office %s: the chain allows no extension of stage %s", c.Office, st.Stage)
	}
	cal, err := c.calendar()
	if err != nil {
		return StageDeadline{}, nil, err
	}
	var warnings []string
	note := func(stage v1alpha1.StageName, field string, t time.Time) string {
		date := t.Format(time.DateOnly)
		if !cal.Covers(t) {
			warnings = append(warnings, fmt.Sprintf("%s.%s %s: HolidayCalendar %s does not cover %d; counted as if it had no holidays",
				stage, field, date, c.CalendarRef, t.Year()))
		}
		return date
	}
	d := StageDeadline{Name: st.Stage, Office: s.Office, External: s.External}
	if st.Stage == v1alpha1.StageTransfer || d.Office == "" {
		d.Office, d.External = c.Office, ""
	}
	datesFrom(cal, &d, s, c.Escalation.Reminders, civil(st.Start), st.ExtendDays, note)
	return d, warnings, nil
}

// Revisions identify what the office's deadlines are computed from: the
// hash of its resolved chain (limits, reminders, ladder) and the hash of
// its calendar. A stage's deadline stored with them says what produced it,
// and a calendar corrected since is told apart from a policy rolled out
// (DESIGN "Deadlines are snapshots").
type Revisions struct {
	Chain    string `json:"chain"`
	Calendar string `json:"calendar"`
}

// Revisions returns the revisions of the office's chain and calendar.
func (c *OfficeConfig) Revisions() Revisions {
	chain, _ := Hash(c.Escalation)
	cal, _ := Hash(c.Calendar)
	return Revisions{Chain: chain, Calendar: cal}
}
