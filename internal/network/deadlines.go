package network

import (
	"fmt"
	"time"

	"github.com/xinfang/petition-operator/api/v1alpha1"
)

// StageDeadline is the projected dates of one stage: the office or body
// above the network that handles it, the petitioner's last day to request
// it (stages with a request window), and its due date.
type StageDeadline struct {
	Name     v1alpha1.StageName `json:"name"`
	Office   string             `json:"office"`
	External string             `json:"external,omitempty"`
	// RequestBy is the petitioner's last day to ask for the stage.
	RequestBy        string   `json:"requestBy,omitempty"`
	Due              string   `json:"due"`
	DueWithExtension string   `json:"dueWithExtension"`
	Reminders        []string `json:"reminders,omitempty"`
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
	Handler string          `json:"handler"`
	Stages  []StageDeadline `json:"stages"`
	// Warnings lists every computed date beyond the calendar's coverage,
	// and a handler's chain that could not be compiled as declared.
	Warnings []string `json:"warnings"`
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

// plan returns the handler of the query's petition and the stages of its
// chain: Acceptance from the office's own chain, the later stages from the
// handler's, Review and ReReview only for an Appeal (or without a
// petition).
func (c *OfficeConfig) plan(q DeadlineQuery) (string, []plannedStage, []string, error) {
	if c.Escalation == nil {
		return "", nil, nil, &NoChainError{Office: c.Office}
	}
	handler := c.Office
	allStages := true
	var warnings []string
	later := c.Escalation
	if q.Petition == nil && q.Locality != nil {
		return "", nil, nil, fmt.Errorf("locality: needs the petition (category and type) to route")
	}
	if q.Petition != nil {
		h := q.Locality
		if h == nil {
			own, err := c.Handling(*q.Petition)
			if err != nil {
				return "", nil, nil, err
			}
			h = &own
		} else if err := q.Petition.Validate(); err != nil {
			return "", nil, nil, err
		}
		handler = h.Route.Office
		allStages = q.Petition.Type == v1alpha1.PetitionAppeal
		switch {
		case h.Chain != nil:
			later = &h.Chain.Escalation
			if h.Chain.Warning != "" {
				warnings = append(warnings, h.Chain.Warning)
			}
		case handler != c.Office:
			warnings = append(warnings, fmt.Sprintf("the configuration holds no chain of office %s: the stages after Acceptance follow office %s's", handler, c.Office))
		}
	}
	var stages []plannedStage
	for _, s := range c.Escalation.Steps {
		if s.Stage == v1alpha1.StageAcceptance {
			stages = append(stages, plannedStage{s, c.Escalation.Reminders})
		}
	}
	for _, s := range later.Steps {
		if s.Stage == v1alpha1.StageAcceptance || (!allStages && reviews(s.Stage)) {
			continue
		}
		stages = append(stages, plannedStage{s, later.Reminders})
	}
	return handler, stages, warnings, nil
}

// deadlines projects the query's stages with the calendar (DESIGN
// "Deadlines", "Second pass"): Acceptance is due its limit after receipt;
// a later stage without a request window is due its limit after the
// previous stage's due date; one with a request window must be requested by
// the reply date — Replied for the first such stage, else the previous
// stage's due date — plus the window, and is due its limit after that.
// Every Nd date that falls on a non-working day moves to the next working
// day; dueWithExtension adds the extension to the limit; reminders fall
// before each due date. A date the calendar does not cover is warned about.
func (c *OfficeConfig) deadlines(cal *Calendar, q DeadlineQuery) (DeadlineAnswer, error) {
	received := civil(q.Received)
	if q.Replied != nil && civil(*q.Replied).Before(received) {
		return DeadlineAnswer{}, fmt.Errorf("replied: %s is before received %s", q.Replied.Format(time.DateOnly), received.Format(time.DateOnly))
	}
	handler, stages, warnings, err := c.plan(q)
	if err != nil {
		return DeadlineAnswer{}, err
	}
	ans := DeadlineAnswer{Handler: handler, Stages: make([]StageDeadline, 0, len(stages)), Warnings: warnings}
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
	for _, p := range stages {
		s := p.step
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
		due := cal.Add(from, s.Limit)
		d.Due = note(s.Stage, "due", due)
		if s.Extension != nil {
			d.DueWithExtension = note(s.Stage, "dueWithExtension", cal.AddAll(from, s.Limit, *s.Extension))
		}
		for i, r := range p.reminders {
			d.Reminders = append(d.Reminders, note(s.Stage, fmt.Sprintf("reminders[%d]", i), cal.Before(due, r)))
		}
		ans.Stages = append(ans.Stages, d)
		prev = due
	}
	return ans, nil
}
