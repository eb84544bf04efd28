package cases

// State is the state of a case.
type State string

// The states of a case (DESIGN "Cases"; the package comment draws the
// machine).
const (
	// Registered (已登记): received and registered by an office, which
	// accepts it, does not, or transfers it (Arts. 21–23).
	Registered State = "Registered"
	// Transferred (已转送交办): forwarded (转送) or assigned (交办) to the
	// office that decides whether to accept it.
	Transferred State = "Transferred"
	// Accepted (已受理): accepted and being handled (Art. 34).
	Accepted State = "Accepted"
	// NotAccepted (不予受理): refused with a reason and a written notice;
	// terminal.
	NotAccepted State = "NotAccepted"
	// Replied (已答复): the handling office has replied in writing.
	Replied State = "Replied"
	// ReviewRequested (复查中): the petitioner asked for a review of the
	// reply (Art. 35).
	ReviewRequested State = "ReviewRequested"
	// Reviewed (已复查): the review is decided.
	Reviewed State = "Reviewed"
	// ReReviewRequested (复核中): the petitioner asked for a re-review of
	// the review (Art. 36).
	ReReviewRequested State = "ReReviewRequested"
	// ReReviewed (已复核（终结）): the re-review is decided and the matter
	// is closed for good (三级终结); terminal.
	ReReviewed State = "ReReviewed"
	// Closed (已办结): closed after a reply or a review; terminal.
	Closed State = "Closed"
	// Withdrawn (已撤回): withdrawn by the petitioner; terminal.
	Withdrawn State = "Withdrawn"
	// Merged (已合并): merged into an earlier case of the same matter;
	// terminal.
	Merged State = "Merged"
)

// states lists the states in the order of the machine.
var states = []State{
	Registered, Transferred, Accepted, NotAccepted, Replied,
	ReviewRequested, Reviewed, ReReviewRequested, ReReviewed,
	Closed, Withdrawn, Merged,
}

// labels are the states' names for the public (Open311 status_notes).
var labels = map[State]string{
	Registered:        "已登记",
	Transferred:       "已转送交办",
	Accepted:          "已受理",
	NotAccepted:       "不予受理",
	Replied:           "已答复",
	ReviewRequested:   "复查中",
	Reviewed:          "已复查",
	ReReviewRequested: "复核中",
	ReReviewed:        "已复核（终结）",
	Closed:            "已办结",
	Withdrawn:         "已撤回",
	Merged:            "已合并",
}

// States returns every state, in the order of the machine.
func States() []State {
	return append([]State(nil), states...)
}

// Known reports whether s is one of States.
func (s State) Known() bool {
	_, ok := labels[s]
	return ok
}

// Open reports whether the case can still move: every state but the
// terminal NotAccepted, ReReviewed, Closed, Withdrawn and Merged (and an
// unknown state).
func (s State) Open() bool {
	switch s {
	case NotAccepted, ReReviewed, Closed, Withdrawn, Merged:
		return false
	}
	return s.Known()
}

// Open311 is the state as Open311 GeoReport v2 writes a request's status:
// "open" for an open state, "closed" for a terminal one.
func (s State) Open311() string {
	if s.Open() {
		return "open"
	}
	return "closed"
}

// Label is the state's Chinese name for the public (已受理); an unknown
// state is its own label.
func (s State) Label() string {
	if l, ok := labels[s]; ok {
		return l
	}
	return string(s)
}

// Action is a transition of a case, as the staff API names it
// (POST /v1/cases/{caseNo}/transitions {"action": ...}).
type Action string

// The actions, with their wire names.
const (
	// Accept (受理): the office accepts the petition and handles it.
	Accept Action = "accept"
	// NotAccept (不予受理): the office refuses it, with a reason.
	NotAccept Action = "notAccept"
	// Forward (转送): the office sends it to the office that may accept it.
	Forward Action = "forward"
	// Assign (交办): as forward, by an office that supervises the target.
	Assign Action = "assign"
	// Return (退回): the office it was forwarded or assigned to sends it
	// back, with a reason.
	Return Action = "return"
	// Extend (延期): the handling office extends Handling once (Art. 34).
	Extend Action = "extend"
	// Reply (答复): the handling office replies: Support, Explain or
	// NotSupport.
	Reply Action = "reply"
	// RequestReview (请求复查): the petitioner asks for a review (Appeal).
	RequestReview Action = "requestReview"
	// DecideReview (复查意见): the reviewing office decides: Upheld or
	// Revised.
	DecideReview Action = "decideReview"
	// RequestReReview (请求复核): the petitioner asks for a re-review
	// (Appeal).
	RequestReReview Action = "requestReReview"
	// DecideReReview (复核意见): the re-reviewing office decides: Upheld or
	// Revised.
	DecideReReview Action = "decideReReview"
	// Close (办结): the case is closed after a reply or a review.
	Close Action = "close"
	// Withdraw (撤回): the petitioner withdraws the petition.
	Withdraw Action = "withdraw"
	// Merge (合并): the case is a repeat of an earlier one and joins it.
	Merge Action = "merge"
)

// actions lists the actions in the order of the machine.
var actions = []Action{
	Accept, NotAccept, Forward, Assign, Return, Extend, Reply,
	RequestReview, DecideReview, RequestReReview, DecideReReview,
	Close, Withdraw, Merge,
}

// Actions returns every action, in the order of the machine.
func Actions() []Action {
	return append([]Action(nil), actions...)
}

// Known reports whether a is one of Actions.
func (a Action) Known() bool {
	for _, b := range actions {
		if a == b {
			return true
		}
	}
	return false
}

// Event is the type of the event an action records:
// petition.case.<action>.
func (a Action) Event() string {
	return "petition.case." + string(a)
}
