package network

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/xinfang/petition-operator/api/v1alpha1"
)

// StatutoryPolicy returns the built-in escalation policy: the limits of
// 信访工作条例 (2022) — register and accept within 15 days (Art. 22–23),
// handle within 60 days, extendable by 30 (Art. 34), review one level up
// within 30 days of a request made within 30 days (Art. 35), re-review two
// levels up the same (Art. 36), with a reminder (催办) 5 days before each due
// date.
func StatutoryPolicy() *v1alpha1.EscalationPolicy {
	return &v1alpha1.EscalationPolicy{
		ObjectMeta: metav1.ObjectMeta{
			Name: v1alpha1.DefaultEscalationPolicy,
			Annotations: map[string]string{
				"petition.xinfang.io/description": "信访工作条例 (2022) Art. 22, 23, 34, 35, 36; created by petition-operator when missing, never overwritten",
			},
		},
		Spec: v1alpha1.EscalationPolicySpec{
			Stages: []v1alpha1.EscalationStage{
				{Name: v1alpha1.StageAcceptance, Limit: "15d", Handler: v1alpha1.HandlerSelf},
				{Name: v1alpha1.StageHandling, Limit: "60d", Extension: "30d", Handler: v1alpha1.HandlerSelf},
				{Name: v1alpha1.StageReview, RequestWindow: "30d", Limit: "30d", Handler: v1alpha1.HandlerParent},
				{Name: v1alpha1.StageReReview, RequestWindow: "30d", Limit: "30d", Handler: v1alpha1.HandlerGrandparent},
			},
			Reminders: []v1alpha1.Reminder{{Before: "5d"}},
		},
	}
}

// Limit is a parsed time limit: Days calendar days, or working days when
// Working is set.
type Limit struct {
	Days    int  `json:"days"`
	Working bool `json:"workingDays,omitempty"`
}

// String writes the limit as the API does: 15d or 10wd.
func (l Limit) String() string {
	if l.Working {
		return strconv.Itoa(l.Days) + "wd"
	}
	return strconv.Itoa(l.Days) + "d"
}

// ParseLimit parses "Nd" (calendar days) or "Nwd" (working days), 1 ≤ N ≤ 999.
// An empty string is the zero Limit.
func ParseLimit(d v1alpha1.Duration) (Limit, error) {
	s := string(d)
	if s == "" {
		return Limit{}, nil
	}
	working := strings.HasSuffix(s, "wd")
	num := strings.TrimSuffix(strings.TrimSuffix(s, "wd"), "d")
	n, err := strconv.Atoi(num)
	if err != nil || n < 1 || n > 999 || num != strconv.Itoa(n) || (!working && !strings.HasSuffix(s, "d")) {
		return Limit{}, fmt.Errorf("%q is not a limit: write Nd for calendar days or Nwd for working days, N from 1 to 999", s)
	}
	return Limit{Days: n, Working: working}, nil
}

// stageOrder is the order stages must appear in.
var stageOrder = map[v1alpha1.StageName]int{
	v1alpha1.StageAcceptance: 0, v1alpha1.StageHandling: 1, v1alpha1.StageReview: 2, v1alpha1.StageReReview: 3,
}

// ValidatePolicy checks what the schema cannot: stages in the order
// Acceptance, Handling, Review, ReReview, each once, with parseable limits.
// Errors name the field.
func ValidatePolicy(spec *v1alpha1.EscalationPolicySpec) error {
	last := -1
	seen := map[v1alpha1.StageName]bool{}
	for i, s := range spec.Stages {
		order, ok := stageOrder[s.Name]
		if !ok {
			return fmt.Errorf("spec.stages[%d].name: %q is not one of Acceptance, Handling, Review, ReReview", i, s.Name)
		}
		if seen[s.Name] {
			return fmt.Errorf("spec.stages[%d].name: %s appears twice", i, s.Name)
		}
		seen[s.Name] = true
		if order < last {
			return fmt.Errorf("spec.stages[%d].name: %s must come before the stages listed above it (order: Acceptance, Handling, Review, ReReview)", i, s.Name)
		}
		last = order
		for _, d := range []struct {
			field string
			value v1alpha1.Duration
		}{{"limit", s.Limit}, {"extension", s.Extension}, {"requestWindow", s.RequestWindow}} {
			if _, err := ParseLimit(d.value); err != nil {
				return fmt.Errorf("spec.stages[%d].%s: %w", i, d.field, err)
			}
		}
		if s.Limit == "" {
			return fmt.Errorf("spec.stages[%d].limit: required", i)
		}
	}
	if !seen[v1alpha1.StageAcceptance] || !seen[v1alpha1.StageHandling] {
		return fmt.Errorf("spec.stages: must include Acceptance and Handling")
	}
	for i, r := range spec.Reminders {
		if _, err := ParseLimit(r.Before); err != nil {
			return fmt.Errorf("spec.reminders[%d].before: %w", i, err)
		}
	}
	return nil
}

// Step is one stage of an office's escalation chain, resolved to the office
// that handles it.
type Step struct {
	Stage         v1alpha1.StageName `json:"stage"`
	Office        string             `json:"office"`
	Limit         Limit              `json:"limit"`
	RequestWindow *Limit             `json:"requestWindow,omitempty"`
	Extension     *Limit             `json:"extension,omitempty"`
}

// Escalation is an office's resolved chain with its reminders and supervisor.
type Escalation struct {
	// Policy names the EscalationPolicy the chain comes from.
	Policy string `json:"policy"`
	// Supervisor is the office that supervises (督办) the handling.
	Supervisor string `json:"supervisor"`
	// Steps are the stages in order.
	Steps []Step `json:"stages"`
	// Reminders are sent this long before each due date (催办).
	Reminders []Limit `json:"reminders,omitempty"`
}

// ResolveChain resolves policy's stages for the office at path (root first):
// Self is the office, Parent and Grandparent go up the path and stop at the
// City (终结), Supervisor is spec.escalation.supervisor or the parent.
func ResolveChain(office *v1alpha1.Office, path []string, policy *v1alpha1.EscalationPolicy) (*Escalation, error) {
	if err := ValidatePolicy(&policy.Spec); err != nil {
		return nil, fmt.Errorf("EscalationPolicy %s: %w", policy.Name, err)
	}
	up := func(n int) string { // n levels up the path, stopping at the root
		i := len(path) - 1 - n
		if i < 0 {
			i = 0
		}
		return path[i]
	}
	supervisor := string(office.Spec.Escalation.Supervisor)
	if supervisor == "" {
		supervisor = up(1)
	}
	esc := &Escalation{Policy: policy.Name, Supervisor: supervisor}
	for _, s := range policy.Spec.Stages {
		step := Step{Stage: s.Name}
		switch s.Handler {
		case v1alpha1.HandlerParent:
			step.Office = up(1)
		case v1alpha1.HandlerGrandparent:
			step.Office = up(2)
		case v1alpha1.HandlerSupervisor:
			step.Office = supervisor
		default:
			step.Office = office.Name
		}
		step.Limit, _ = ParseLimit(s.Limit)
		if s.RequestWindow != "" {
			l, _ := ParseLimit(s.RequestWindow)
			step.RequestWindow = &l
		}
		if s.Extension != "" {
			l, _ := ParseLimit(s.Extension)
			step.Extension = &l
		}
		esc.Steps = append(esc.Steps, step)
	}
	for _, r := range policy.Spec.Reminders {
		l, _ := ParseLimit(r.Before)
		esc.Reminders = append(esc.Reminders, l)
	}
	return esc, nil
}

// StageDeadline is the projected due date of one stage.
type StageDeadline struct {
	Name             v1alpha1.StageName `json:"name"`
	Office           string             `json:"office"`
	Due              string             `json:"due"`
	DueWithExtension string             `json:"dueWithExtension"`
	Reminders        []string           `json:"reminders,omitempty"`
}

// Deadlines projects the due date of every stage for a petition received on
// the given date, assuming every step takes its full time (DESIGN
// "Deadlines"): Acceptance is due its limit after receipt; each later stage
// is due requestWindow + limit after the previous stage's due date;
// dueWithExtension adds the extension. Day counting follows Chinese law: the
// day of the event is not counted, Nwd counts working days only, and an Nd
// deadline that falls on a non-working day moves to the next working day.
func Deadlines(esc *Escalation, cal *Calendar, received time.Time) []StageDeadline {
	out := make([]StageDeadline, 0, len(esc.Steps))
	start := civil(received)
	for _, s := range esc.Steps {
		spans := []Limit{}
		if s.RequestWindow != nil {
			spans = append(spans, *s.RequestWindow)
		}
		spans = append(spans, s.Limit)
		due := cal.AddAll(start, spans...)
		d := StageDeadline{Name: s.Stage, Office: s.Office, Due: due.Format(time.DateOnly)}
		if s.Extension != nil {
			d.DueWithExtension = cal.AddAll(start, append(spans, *s.Extension)...).Format(time.DateOnly)
		}
		for _, r := range esc.Reminders {
			d.Reminders = append(d.Reminders, cal.Before(due, r).Format(time.DateOnly))
		}
		out = append(out, d)
		start = due
	}
	return out
}
