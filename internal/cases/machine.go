package cases

import (
	"fmt"
	"slices"
	"strings"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/xinfang"
)

// Case is what the machine needs to know of a case.
type Case struct {
	// State is the state of the case.
	State State
	// Type is the petition's type: review stages follow an Appeal only.
	Type v1alpha1.PetitionType
	// Stage is the stage running now; "" when none.
	Stage v1alpha1.StageName
	// Office is the office responsible now.
	Office string
	// Handler is the office that handles the case (the route target).
	Handler string
	// Extended says the Handling stage was extended already.
	Extended bool
	// MaxExtensionDays is the chain's extension limit for Handling (0: none
	// allowed).
	MaxExtensionDays int
	// ReturnTo is the office that forwarded or assigned the case here; ""
	// when none.
	ReturnTo string
	// Reviewer and ReReviewer are the offices of the Review and ReReview
	// stages, from the projected chain; "" when the chain has none.
	Reviewer, ReReviewer string
}

// Request is an action asked of a case: the JSON body of
// POST /v1/cases/{caseNo}/transitions. A field the action does not take
// must be left out (its zero value).
type Request struct {
	// Action is the action asked: one of Actions.
	Action Action `json:"action"`
	// Office is the target office of forward and assign.
	Office string `json:"office,omitempty"`
	// Reason is why: one of NotAcceptReasons for notAccept, free text of
	// at most MaxReason characters for return (required) and withdraw
	// (optional).
	Reason string `json:"reason,omitempty"`
	// Result is the decision: Support, Explain or NotSupport for reply;
	// Upheld or Revised for decideReview and decideReReview.
	Result string `json:"result,omitempty"`
	// Days is how long extend extends Handling, in the unit of the
	// chain's extension limit: 1 to Case.MaxExtensionDays.
	Days int `json:"days,omitempty"`
	// Into is the case number of the original case merge joins.
	Into string `json:"into,omitempty"`
	// Note is a public note for the timeline, at most MaxNote characters;
	// every action takes one.
	Note string `json:"note,omitempty"`
}

// Outcome is what an action does to a case.
type Outcome struct {
	// State is the state after the action.
	State State
	// Stage is the stage that runs after the action; "" when none.
	Stage v1alpha1.StageName
	// Office is the office responsible after the action.
	Office string
	// Handler is the office that handles the case after the action.
	Handler string
	// StartsStage says a new stage (Stage) starts on the action's day: its
	// due date is computed from that day (a deadline is a snapshot).
	StartsStage bool
	// EndsStage says the stage that ran (Case.Stage) ends on the action's
	// day; the caller records whether it met its due date.
	EndsStage bool
	// ExtendDays is the extension extend grants; 0 for other actions.
	ExtendDays int
	// ReturnTo is the office a return sends the case back to; "" when none.
	ReturnTo string
	// Event is the type of the event the action records:
	// petition.case.<action>.
	Event string
}

// The results of reply (处理意见, Art. 34) and of decideReview and
// decideReReview (复查意见, 复核意见, Arts. 35–36).
const (
	// ResultSupport (予以支持): the request is founded in fact and law and
	// granted.
	ResultSupport = "Support"
	// ResultExplain (解释说明): the request is reasonable but has no legal
	// ground: it is explained.
	ResultExplain = "Explain"
	// ResultNotSupport (不予支持): the request has no ground in fact or law
	// and is refused, with reasons.
	ResultNotSupport = "NotSupport"
	// ResultUpheld: the review or re-review upholds the decision.
	ResultUpheld = "Upheld"
	// ResultRevised: the review or re-review revises the decision.
	ResultRevised = "Revised"
)

// The reasons of notAccept (不予受理).
const (
	// ReasonOutOfScope: not a matter for petition work, or for this
	// office's organs.
	ReasonOutOfScope = "OutOfScope"
	// ReasonLegalProcedure: a matter for litigation, arbitration or
	// administrative review (依法分类处理).
	ReasonLegalProcedure = "LegalProcedure"
	// ReasonTerminated: a matter re-reviewed already (三级终结, Art. 36).
	ReasonTerminated = "Terminated"
	// ReasonAnonymous: no petitioner to answer.
	ReasonAnonymous = "Anonymous"
	// ReasonRepeat: the same matter is being handled or was answered.
	ReasonRepeat = "Repeat"
)

var (
	replyResults     = []string{ResultSupport, ResultExplain, ResultNotSupport}
	decisionResults  = []string{ResultUpheld, ResultRevised}
	notAcceptReasons = []string{ReasonOutOfScope, ReasonLegalProcedure, ReasonTerminated, ReasonAnonymous, ReasonRepeat}
)

// NotAcceptReasons returns the reasons notAccept takes.
func NotAcceptReasons() []string {
	return slices.Clone(notAcceptReasons)
}

// Bounds of a Request's free text, in characters.
const (
	// MaxNote bounds a public note.
	MaxNote = 1000
	// MaxReason bounds the free-text reason of return and withdraw.
	MaxReason = 500
)

// transitions are the actions each open state allows, whatever the type.
var transitions = map[State][]Action{
	Registered:        {Accept, NotAccept, Forward, Assign, Withdraw, Merge},
	Transferred:       {Accept, NotAccept, Forward, Assign, Return, Withdraw, Merge},
	Accepted:          {Extend, Reply, Withdraw, Merge},
	Replied:           {RequestReview, Close, Withdraw, Merge},
	ReviewRequested:   {DecideReview, Withdraw, Merge},
	Reviewed:          {RequestReReview, Close, Withdraw, Merge},
	ReReviewRequested: {DecideReReview, Withdraw, Merge},
}

// FirstStage is the stage a case registered at office starts with: Transfer
// (登记转送/交办, Arts. 21–22) when another office handles it, Acceptance
// (Arts. 22–23) when the office handles it itself.
func FirstStage(office, handler string) v1alpha1.StageName {
	if handler != "" && handler != office {
		return v1alpha1.StageTransfer
	}
	return v1alpha1.StageAcceptance
}

// appealOnly reports whether a asks for a review stage, which follows an
// Appeal only (Arts. 35–36).
func appealOnly(a Action) bool {
	return a == RequestReview || a == RequestReReview
}

// AllowedActions returns the actions a case of type t allows in state s, in
// the order of Actions: none in a terminal state, and requestReview and
// requestReReview for an Appeal only.
func AllowedActions(s State, t v1alpha1.PetitionType) []Action {
	var out []Action
	for _, a := range transitions[s] {
		if appealOnly(a) && t != v1alpha1.PetitionAppeal {
			continue
		}
		out = append(out, a)
	}
	return out
}

// Allowed returns the actions Decide accepts for the case (given valid
// fields): AllowedActions less an extend used already or not allowed by
// the chain, a return with no office to return to, and a review request
// whose stage the chain gives no office.
func (c Case) Allowed() []Action {
	var out []Action
	for _, a := range AllowedActions(c.State, c.Type) {
		if c.refusal(a) == "" {
			out = append(out, a)
		}
	}
	return out
}

// refusal says why the case refuses an action its state and type allow;
// "" when it does not.
func (c Case) refusal(a Action) string {
	switch a {
	case Extend:
		if c.Extended {
			return "Handling was extended already; it is extended once only (Art. 34)"
		}
		if c.MaxExtensionDays <= 0 {
			return "the chain allows no extension of Handling"
		}
	case Return:
		if c.ReturnTo == "" {
			return "no office forwarded or assigned the case here"
		}
	case RequestReview:
		if c.Reviewer == "" {
			return "the case's chain names no office for the Review stage"
		}
	case RequestReReview:
		if c.ReReviewer == "" {
			return "the case's chain names no office for the ReReview stage"
		}
	}
	return ""
}

// conflict refuses action a for the case.
func (c Case) conflict(a Action, detail string) *ConflictError {
	return &ConflictError{State: c.State, Action: a, Allowed: c.Allowed(), Detail: detail}
}

// Decide decides an action asked of a case. It checks the request first: an
// unknown action, a field the action does not take or a value it does not
// allow is a *FieldError (422). Then the case: an action its state does not
// allow, a review requested for a petition that is not an Appeal, a second
// extension or a return with nowhere to go is a *ConflictError (409). A
// case in a state that is no state is a plain error (a record to repair).
// The caller checks what needs the network or the database: that a target
// office exists and may receive the case, that Into is another case.
//
// Each stage runs on its own statutory clock: Transfer 15 days (Arts.
// 21–22), Acceptance 15 days (Arts. 22–23), Handling 60 days extended once by at most 30 (Art.
// 34), Review and ReReview 30 days each (Arts. 35–36).
func Decide(c Case, r Request) (Outcome, error) {
	if !c.State.Known() {
		return Outcome{}, fmt.Errorf("case: state %s is not a state; want one of %s", xinfang.Quote(string(c.State)), joinStates(states))
	}
	if err := r.check(); err != nil {
		return Outcome{}, err
	}
	if !slices.Contains(AllowedActions(c.State, c.Type), r.Action) {
		detail := ""
		if c.State.Open() && appealOnly(r.Action) && slices.Contains(transitions[c.State], r.Action) {
			detail = fmt.Sprintf("review stages follow an Appeal only (Arts. 35–36); the petition is of type %s", typeName(c.Type))
		}
		return Outcome{}, c.conflict(r.Action, detail)
	}
	if why := c.refusal(r.Action); why != "" {
		return Outcome{}, c.conflict(r.Action, why)
	}

	o := Outcome{State: c.State, Stage: c.Stage, Office: c.Office, Handler: c.Handler, ReturnTo: c.ReturnTo, Event: r.Action.Event()}
	// moveTo ends the stage that runs, if any, and starts stage (none when
	// "") at office.
	moveTo := func(s State, stage v1alpha1.StageName, office string) {
		o.State, o.Stage, o.Office = s, stage, office
		o.EndsStage = c.Stage != ""
		o.StartsStage = stage != ""
	}
	switch r.Action {
	case Accept:
		// An office that accepts handles it: Handling, 60 days (Art. 34).
		moveTo(Accepted, v1alpha1.StageHandling, c.Office)
		o.Handler = c.Office
	case NotAccept:
		moveTo(NotAccepted, "", c.Office)
	case Forward, Assign:
		// 转送 or 交办 within 15 days of registration (Arts. 21–22); the
		// target says within 15 days whether it accepts it (Art. 23).
		if r.Office == c.Office {
			return Outcome{}, fieldErr("office", "%s is the office responsible now; %s to another office", xinfang.Quote(r.Office), r.Action)
		}
		moveTo(Transferred, v1alpha1.StageAcceptance, r.Office)
		o.Handler, o.ReturnTo = r.Office, c.Office
	case Return:
		// The office it came from registers it again and transfers or
		// accepts it, on a new clock (Art. 21).
		moveTo(Registered, v1alpha1.StageTransfer, c.ReturnTo)
		o.Handler, o.ReturnTo = c.ReturnTo, ""
	case Extend:
		// Once, by at most the chain's extension (Art. 34: 30 days).
		if r.Days > c.MaxExtensionDays {
			return Outcome{}, fieldErr("days", "%d is more than the chain's extension of Handling: 1 to %d", r.Days, c.MaxExtensionDays)
		}
		o.ExtendDays = r.Days
	case Reply:
		// No stage runs: an Appeal's 30 days to ask for a review are the
		// petitioner's (Art. 35).
		moveTo(Replied, "", c.Office)
	case RequestReview:
		// Review one level up, 30 days (Art. 35).
		moveTo(ReviewRequested, v1alpha1.StageReview, c.Reviewer)
	case DecideReview:
		moveTo(Reviewed, "", c.Office)
	case RequestReReview:
		// Re-review one level above the reviewer, 30 days (Art. 36).
		moveTo(ReReviewRequested, v1alpha1.StageReReview, c.ReReviewer)
	case DecideReReview:
		// 三级终结: the same matter is not accepted again (Art. 36).
		moveTo(ReReviewed, "", c.Office)
	case Close:
		moveTo(Closed, "", c.Office)
	case Withdraw:
		moveTo(Withdrawn, "", c.Office)
	case Merge:
		moveTo(Merged, "", c.Office)
	}
	return o, nil
}

// The fields of a Request other than action and note, which an action takes
// or not.
type requestField uint8

const (
	fieldOffice requestField = 1 << iota
	fieldReason
	fieldResult
	fieldDays
	fieldInto
)

// takes are the fields each action takes besides note.
var takes = map[Action]requestField{
	NotAccept:      fieldReason,
	Forward:        fieldOffice,
	Assign:         fieldOffice,
	Return:         fieldReason,
	Extend:         fieldDays,
	Reply:          fieldResult,
	DecideReview:   fieldResult,
	DecideReReview: fieldResult,
	Withdraw:       fieldReason,
	Merge:          fieldInto,
}

// check refuses an unknown action, a field the action does not take and a
// value it does not allow; strings are bounded before they are looked at.
func (r Request) check() error {
	if r.Action == "" {
		return fieldErr("action", "required: one of %s", joinActions(actions))
	}
	if !r.Action.Known() {
		return fieldErr("action", "%s is not an action; want one of %s", xinfang.Quote(string(r.Action)), joinActions(actions))
	}
	taken := takes[r.Action]
	for _, f := range []struct {
		name  string
		field requestField
		given bool
	}{
		{"office", fieldOffice, r.Office != ""},
		{"reason", fieldReason, r.Reason != ""},
		{"result", fieldResult, r.Result != ""},
		{"days", fieldDays, r.Days != 0},
		{"into", fieldInto, r.Into != ""},
	} {
		if f.given && taken&f.field == 0 {
			return fieldErr(f.name, "not taken by action %s", r.Action)
		}
	}
	switch r.Action {
	case Forward, Assign:
		if err := officeName("office", r.Office); err != nil {
			return err
		}
	case NotAccept:
		if err := oneOf("reason", r.Reason, notAcceptReasons); err != nil {
			return err
		}
	case Return:
		if err := checkText("reason", r.Reason, MaxReason, true); err != nil {
			return err
		}
	case Withdraw:
		if err := checkText("reason", r.Reason, MaxReason, false); err != nil {
			return err
		}
	case Extend:
		if r.Days < 1 {
			if r.Days == 0 {
				return fieldErr("days", "required: the days of the extension, at least 1")
			}
			return fieldErr("days", "%d is not a number of days: at least 1", r.Days)
		}
	case Reply:
		if err := oneOf("result", r.Result, replyResults); err != nil {
			return err
		}
	case DecideReview, DecideReReview:
		if err := oneOf("result", r.Result, decisionResults); err != nil {
			return err
		}
	case Merge:
		if r.Into == "" {
			return fieldErr("into", "required: the case number of the original case, e.g. 2026-0001234")
		}
		if _, _, err := ParseCaseNo(r.Into); err != nil {
			return fieldErr("into", "%s", err.Error())
		}
	}
	return checkText("note", r.Note, MaxNote, false)
}

// oneOf refuses a value that is not one of allowed (an empty one as
// required).
func oneOf(field, value string, allowed []string) error {
	if value == "" {
		return fieldErr(field, "required: one of %s", strings.Join(allowed, ", "))
	}
	if !slices.Contains(allowed, value) {
		return fieldErr(field, "%s is not one of %s", xinfang.Quote(value), strings.Join(allowed, ", "))
	}
	return nil
}

// officeName is xinfang.CheckOfficeName as a FieldError.
func officeName(field, name string) error {
	if err := xinfang.CheckOfficeName(field, name); err != nil {
		return &FieldError{Field: field, Message: strings.TrimPrefix(err.Error(), field+": ")}
	}
	return nil
}

// typeName names a petition type for a message, quoted unless it is one.
func typeName(t v1alpha1.PetitionType) string {
	switch t {
	case v1alpha1.PetitionReport, v1alpha1.PetitionAppeal, v1alpha1.PetitionInquiry:
		return string(t)
	}
	return xinfang.Quote(string(t))
}

// joinStates lists states for a message.
func joinStates(ss []State) string {
	s := make([]string, len(ss))
	for i, st := range ss {
		s[i] = string(st)
	}
	return strings.Join(s, ", ")
}
