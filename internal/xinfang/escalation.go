package xinfang

import (
	"fmt"
	"strconv"
	"strings"

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
	return validateOverdue(spec.Overdue)
}

// MaxOverdueRungs is the most rungs an overdue ladder has (the API's
// spec.overdue maxItems).
const MaxOverdueRungs = 6

// rungOrder is the order of the ladder's actions: a later rung never steps
// back down it.
var rungOrder = map[v1alpha1.OverdueAction]int{
	v1alpha1.OverdueRemind: 0, v1alpha1.OverdueSupervise: 1, v1alpha1.OverdueFlag: 2,
}

// validateOverdue checks the overdue ladder: at most MaxOverdueRungs rungs,
// each with a limit, a known action and office, listed in the order they
// fire: actions never step back down Remind, Supervise, Flag, and of two
// rungs counted in the same unit the later comes later.
func validateOverdue(rungs []v1alpha1.OverdueRung) error {
	if n := len(rungs); n > MaxOverdueRungs {
		return fmt.Errorf("spec.overdue: %d rungs, at most %d", n, MaxOverdueRungs)
	}
	last := map[bool]int{}
	prev := -1
	for i, r := range rungs {
		after, err := ParseLimit(r.After)
		if err != nil {
			return fmt.Errorf("spec.overdue[%d].after: %w", i, err)
		}
		if r.After == "" {
			return fmt.Errorf("spec.overdue[%d].after: required: how long after the due date the rung fires, e.g. 3d or 5wd", i)
		}
		order, ok := rungOrder[r.Action]
		if !ok {
			return fmt.Errorf("spec.overdue[%d].action: %s is not one of Remind, Supervise, Flag", i, Quote(string(r.Action)))
		}
		switch r.By {
		case "", v1alpha1.OverdueBySelf, v1alpha1.OverdueBySupervisor, v1alpha1.OverdueByParent, v1alpha1.OverdueByRoot:
		default:
			return fmt.Errorf("spec.overdue[%d].by: %s is not one of Self, Supervisor, Parent, Root", i, Quote(string(r.By)))
		}
		if order < prev {
			return fmt.Errorf("spec.overdue[%d].action: %s comes after a rung that already %s: the ladder climbs Remind, Supervise, Flag and never steps back down", i, r.Action, pastTense(rungs[i-1].Action))
		}
		if d, ok := last[after.Working]; ok && after.Days <= d {
			return fmt.Errorf("spec.overdue[%d].after: %s is not later than the rung above it: list the rungs in the order they fire", i, after)
		}
		prev, last[after.Working] = order, after.Days
	}
	return nil
}

// pastTense writes what a rung of action did.
func pastTense(a v1alpha1.OverdueAction) string {
	switch a {
	case v1alpha1.OverdueSupervise:
		return "supervises"
	case v1alpha1.OverdueFlag:
		return "flags"
	}
	return "reminds"
}

// Step is one stage of an office's escalation chain, resolved to the office
// that handles it, or to a body above the network (External; Office is then
// empty).
type Step struct {
	Stage         v1alpha1.StageName `json:"stage"`
	Office        string             `json:"office"`
	External      string             `json:"external,omitempty"`
	Limit         Limit              `json:"limit"`
	RequestWindow *Limit             `json:"requestWindow,omitempty"`
	Extension     *Limit             `json:"extension,omitempty"`
	// Overdue is the policy's overdue ladder resolved for the stage: who
	// chases its office once it is late. Empty for a stage outside the
	// network, which the network does not chase.
	Overdue []Rung `json:"overdue,omitempty"`
}

// Rung is a rung of the overdue ladder resolved for one stage: its action,
// the office that acts (or the body above the network, External), and how
// long after the stage's due date it fires.
type Rung struct {
	Action   v1alpha1.OverdueAction `json:"action"`
	By       v1alpha1.OverdueBy     `json:"by"`
	Office   string                 `json:"office"`
	External string                 `json:"external,omitempty"`
	After    Limit                  `json:"after"`
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

// line is what an office answers to, level by level: the office (level 0),
// its ancestors up its path to the City, then the bodies above the City
// (the City's spec.escalation.above), without end.
type line struct {
	// path is the office's path, root first.
	path  []string
	above []v1alpha1.ExternalBody
}

// at returns the body k levels up the line: an office, or the name of a
// body above the network ("above <city>", "2 levels above <city>" when the
// City does not name it).
func (l line) at(k int) (office, external string) {
	n := len(l.path)
	if k < n {
		return l.path[n-1-k], ""
	}
	j := k - n + 1 // levels above the root, from 1
	if j <= len(l.above) && l.above[j-1].DisplayName != "" {
		return "", l.above[j-1].DisplayName
	}
	if j == 1 {
		return "", "above " + l.path[0]
	}
	return "", fmt.Sprintf("%d levels above %s", j, l.path[0])
}

// level returns how many levels up the line an office is, -1 when it is not
// on the line.
func (l line) level(office string) int {
	for i := len(l.path) - 1; i >= 0; i-- {
		if l.path[i] == office {
			return len(l.path) - 1 - i
		}
	}
	return -1
}

// reviews reports whether a stage reviews the decision of the stage before
// it: Review (复查) and ReReview (复核).
func reviews(s v1alpha1.StageName) bool {
	return s == v1alpha1.StageReview || s == v1alpha1.StageReReview
}

// RootAbove returns the bodies above the network the root office of a path
// names (a City's spec.escalation.above); nil when it names none or is not
// in idx.
func RootAbove(idx *Network, path []string) []v1alpha1.ExternalBody {
	if len(path) == 0 {
		return nil
	}
	root, ok := idx.Get(path[0])
	if !ok || root.Spec.Level != v1alpha1.LevelCity {
		return nil
	}
	return root.Spec.Escalation.Above
}

// ResolveChain resolves policy's stages for the office at path (root first),
// above being the bodies its City names above the network. Self is the
// office; Parent and Grandparent are one and two levels up its line — its
// path, then the bodies above the City; Supervisor is
// spec.escalation.supervisor or the parent. A Review or ReReview is handled
// at least one level above the body of the stage before it (no body reviews
// its own decision): with the statutory policy, Review is the body above the
// office and ReReview the body above that, and the City's are outside the
// network.
func ResolveChain(office *v1alpha1.Office, path []string, above []v1alpha1.ExternalBody, policy *v1alpha1.EscalationPolicy) (*Escalation, error) {
	if err := ValidatePolicy(&policy.Spec); err != nil {
		return nil, fmt.Errorf("EscalationPolicy %s: %w", policy.Name, err)
	}
	if len(path) == 0 {
		path = []string{office.Name}
	}
	l := line{path: path, above: above}
	supervisor := string(office.Spec.Escalation.Supervisor)
	if supervisor == "" {
		// The parent; the City supervises itself.
		supervisor = path[max(len(path)-2, 0)]
	}
	esc := &Escalation{Policy: policy.Name, Supervisor: supervisor}
	prev := 0 // the level of the previous stage's body
	for _, s := range policy.Spec.Stages {
		step := Step{Stage: s.Name}
		level := 0
		switch s.Handler {
		case v1alpha1.HandlerParent:
			level = 1
		case v1alpha1.HandlerGrandparent:
			level = 2
		case v1alpha1.HandlerSupervisor:
			level = l.level(supervisor)
		}
		switch {
		case level < 0:
			// A supervisor off the line: the stage after it is counted as
			// if it were the parent.
			step.Office, level = supervisor, 1
		default:
			if reviews(s.Name) {
				level = max(level, prev+1)
			}
			step.Office, step.External = l.at(level)
		}
		prev = level
		if step.External == "" {
			step.Overdue = resolveRungs(policy.Spec.Overdue, l, level, step.Office, supervisor)
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

// resolveRungs resolves the ladder for a stage whose body, office self, is
// level levels up line l: Self is that office, Parent the body above it, Root the City,
// and Supervisor the chain's supervisor for a stage at the office itself,
// else the body above the stage's (who supervises a higher body is not the
// office's to say).
func resolveRungs(rungs []v1alpha1.OverdueRung, l line, level int, self, supervisor string) []Rung {
	if len(rungs) == 0 {
		return nil
	}
	out := make([]Rung, 0, len(rungs))
	for _, r := range rungs {
		rung := Rung{Action: r.Action, By: r.By}
		if rung.By == "" {
			rung.By = v1alpha1.OverdueByParent
		}
		rung.After, _ = ParseLimit(r.After)
		switch {
		case rung.By == v1alpha1.OverdueBySelf:
			rung.Office = self
		case rung.By == v1alpha1.OverdueByRoot:
			rung.Office = l.path[0]
		case rung.By == v1alpha1.OverdueBySupervisor && level == 0:
			rung.Office = supervisor
		default: // Parent, and the Supervisor of a body above the office
			rung.Office, rung.External = l.at(level + 1)
		}
		out = append(out, rung)
	}
	return out
}
