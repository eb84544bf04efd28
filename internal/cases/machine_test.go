package cases

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/xinfang/petition-operator/api/v1alpha1"
)

var petitionTypes = []v1alpha1.PetitionType{v1alpha1.PetitionReport, v1alpha1.PetitionAppeal, v1alpha1.PetitionInquiry}

func TestStates(t *testing.T) {
	cases := []struct {
		state State
		open  bool
		label string
	}{
		{Registered, true, "已登记"},
		{Transferred, true, "已转送交办"},
		{Accepted, true, "已受理"},
		{NotAccepted, false, "不予受理"},
		{Replied, true, "已答复"},
		{ReviewRequested, true, "复查中"},
		{Reviewed, true, "已复查"},
		{ReReviewRequested, true, "复核中"},
		{ReReviewed, false, "已复核（终结）"},
		{Closed, false, "已办结"},
		{Withdrawn, false, "已撤回"},
		{Merged, false, "已合并"},
	}
	var listed []State
	for _, c := range cases {
		listed = append(listed, c.state)
		if !c.state.Known() {
			t.Errorf("%s: not Known", c.state)
		}
		if got := c.state.Open(); got != c.open {
			t.Errorf("%s.Open() = %v, want %v", c.state, got, c.open)
		}
		want311 := "closed"
		if c.open {
			want311 = "open"
		}
		if got := c.state.Open311(); got != want311 {
			t.Errorf("%s.Open311() = %q, want %q", c.state, got, want311)
		}
		if got := c.state.Label(); got != c.label {
			t.Errorf("%s.Label() = %q, want %q", c.state, got, c.label)
		}
		if got := len(AllowedActions(c.state, v1alpha1.PetitionAppeal)) > 0; got != c.open {
			t.Errorf("%s allows actions: %v, want %v (open)", c.state, got, c.open)
		}
	}
	if !slices.Equal(States(), listed) {
		t.Errorf("States() = %v, want %v", States(), listed)
	}
	unknown := State("Pending")
	if unknown.Known() || unknown.Open() || unknown.Open311() != "closed" || unknown.Label() != "Pending" {
		t.Errorf("unknown state: Known %v Open %v Open311 %q Label %q", unknown.Known(), unknown.Open(), unknown.Open311(), unknown.Label())
	}
}

func TestActions(t *testing.T) {
	want := []string{"accept", "notAccept", "forward", "assign", "return", "extend", "reply",
		"requestReview", "decideReview", "requestReReview", "decideReReview", "close", "withdraw", "merge"}
	var got []string
	for _, a := range Actions() {
		got = append(got, string(a))
		if !a.Known() {
			t.Errorf("%s: not Known", a)
		}
		if a.Event() != "petition.case."+string(a) {
			t.Errorf("%s.Event() = %q", a, a.Event())
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("Actions() = %v, want %v", got, want)
	}
	if Action("approve").Known() {
		t.Error("approve is Known")
	}
}

// stageIn is the stage that runs in a state.
func stageIn(s State) v1alpha1.StageName {
	switch s {
	case Registered:
		return v1alpha1.StageTransfer
	case Transferred:
		return v1alpha1.StageAcceptance
	case Accepted:
		return v1alpha1.StageHandling
	case ReviewRequested:
		return v1alpha1.StageReview
	case ReReviewRequested:
		return v1alpha1.StageReReview
	}
	return ""
}

// caseIn is a case in state s that refuses nothing its state allows: a
// township forwarded it to the county, which has not extended Handling,
// with a chain that reviews at the city and re-reviews at the province.
func caseIn(s State, typ v1alpha1.PetitionType) Case {
	return Case{
		State: s, Type: typ, Stage: stageIn(s),
		Office: "zhenping", Handler: "zhenping", ReturnTo: "shifosi",
		MaxExtensionDays: 30, Reviewer: "nanyang", ReReviewer: "henan",
	}
}

// requestFor is a valid request for action a.
func requestFor(a Action) Request {
	r := Request{Action: a, Note: "已电话告知信访人"}
	switch a {
	case Forward, Assign:
		r.Office = "zhenping-nr"
	case NotAccept:
		r.Reason = ReasonOutOfScope
	case Return:
		r.Reason = "不属于本部门职责"
	case Withdraw:
		r.Reason = "问题已解决"
	case Extend:
		r.Days = 30
	case Reply:
		r.Result = ResultSupport
	case DecideReview, DecideReReview:
		r.Result = ResultRevised
	case Merge:
		r.Into = "2026-0000042"
	}
	return r
}

// TestMatrix decides every action in every state for every type, against a
// table written apart from the machine's.
func TestMatrix(t *testing.T) {
	both := map[State][]Action{
		Registered:        {Accept, NotAccept, Forward, Assign, Withdraw, Merge},
		Transferred:       {Accept, NotAccept, Forward, Assign, Return, Withdraw, Merge},
		Accepted:          {Extend, Reply, Withdraw, Merge},
		Replied:           {Close, Withdraw, Merge},
		ReviewRequested:   {DecideReview, Withdraw, Merge},
		Reviewed:          {Close, Withdraw, Merge},
		ReReviewRequested: {DecideReReview, Withdraw, Merge},
	}
	appealOnly := map[State][]Action{Replied: {RequestReview}, Reviewed: {RequestReReview}}
	for _, typ := range petitionTypes {
		for _, s := range States() {
			want := slices.Clone(both[s])
			if typ == v1alpha1.PetitionAppeal {
				want = append(want, appealOnly[s]...)
			}
			allowed := AllowedActions(s, typ)
			if !sameSet(allowed, want) {
				t.Errorf("AllowedActions(%s, %s) = %v, want %v", s, typ, allowed, want)
			}
			c := caseIn(s, typ)
			if !slices.Equal(c.Allowed(), allowed) {
				t.Errorf("%s %s: Allowed() = %v, want AllowedActions %v", typ, s, c.Allowed(), allowed)
			}
			for _, a := range Actions() {
				o, err := Decide(c, requestFor(a))
				if slices.Contains(want, a) {
					if err != nil {
						t.Errorf("%s %s %s: %v", typ, s, a, err)
						continue
					}
					if !o.State.Known() || o.Event != "petition.case."+string(a) {
						t.Errorf("%s %s %s: state %q event %q", typ, s, a, o.State, o.Event)
					}
					if o.StartsStage != (o.Stage != "" && a != Extend) {
						t.Errorf("%s %s %s: StartsStage %v with stage %q", typ, s, a, o.StartsStage, o.Stage)
					}
					continue
				}
				var ce *ConflictError
				if !errors.As(err, &ce) {
					t.Errorf("%s %s %s: %v, want a conflict", typ, s, a, err)
					continue
				}
				if ce.State != s || ce.Action != a || !slices.Equal(ce.Allowed, allowed) {
					t.Errorf("%s %s %s: conflict %+v", typ, s, a, ce)
				}
				msg := err.Error()
				if !strings.Contains(msg, "state "+string(s)) || !strings.Contains(msg, "action "+string(a)) {
					t.Errorf("%s %s %s: %q names not the state and the action", typ, s, a, msg)
				}
				if s.Open() && !strings.Contains(msg, "allows "+joinActions(allowed)) {
					t.Errorf("%s %s %s: %q lists not %v", typ, s, a, msg, allowed)
				}
				if !s.Open() && !strings.Contains(msg, "terminal") {
					t.Errorf("%s %s %s: %q says not terminal", typ, s, a, msg)
				}
			}
		}
	}
}

func sameSet(a, b []Action) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func TestDecideOutcomes(t *testing.T) {
	appeal := v1alpha1.PetitionAppeal
	// received at the county, handled by its natural resources bureau.
	received := Case{State: Registered, Type: appeal, Stage: v1alpha1.StageTransfer, Office: "zhenping", Handler: "zhenping-nr", MaxExtensionDays: 30, Reviewer: "zhenping", ReReviewer: "nanyang"}
	forwarded := received
	forwarded.State, forwarded.Stage, forwarded.Office, forwarded.ReturnTo = Transferred, v1alpha1.StageAcceptance, "zhenping-nr", "zhenping"
	accepted := forwarded
	accepted.State, accepted.Stage = Accepted, v1alpha1.StageHandling
	replied := accepted
	replied.State, replied.Stage = Replied, ""
	reviewing := replied
	reviewing.State, reviewing.Stage, reviewing.Office = ReviewRequested, v1alpha1.StageReview, "zhenping"
	reviewed := reviewing
	reviewed.State, reviewed.Stage = Reviewed, ""
	reReviewing := reviewed
	reReviewing.State, reReviewing.Stage, reReviewing.Office = ReReviewRequested, v1alpha1.StageReReview, "nanyang"

	cases := []struct {
		name string
		c    Case
		r    Request
		want Outcome
	}{
		{"accept at the receiving office", received, Request{Action: Accept},
			Outcome{State: Accepted, Stage: v1alpha1.StageHandling, Office: "zhenping", Handler: "zhenping", StartsStage: true, EndsStage: true}},
		{"not accept at the receiving office", received, Request{Action: NotAccept, Reason: ReasonLegalProcedure},
			Outcome{State: NotAccepted, Office: "zhenping", Handler: "zhenping-nr", EndsStage: true}},
		{"forward", received, Request{Action: Forward, Office: "zhenping-nr"},
			Outcome{State: Transferred, Stage: v1alpha1.StageAcceptance, Office: "zhenping-nr", Handler: "zhenping-nr", ReturnTo: "zhenping", StartsStage: true, EndsStage: true}},
		{"assign elsewhere", received, Request{Action: Assign, Office: "shifosi"},
			Outcome{State: Transferred, Stage: v1alpha1.StageAcceptance, Office: "shifosi", Handler: "shifosi", ReturnTo: "zhenping", StartsStage: true, EndsStage: true}},
		{"accept when forwarded", forwarded, Request{Action: Accept},
			Outcome{State: Accepted, Stage: v1alpha1.StageHandling, Office: "zhenping-nr", Handler: "zhenping-nr", ReturnTo: "zhenping", StartsStage: true, EndsStage: true}},
		{"not accept when forwarded", forwarded, Request{Action: NotAccept, Reason: ReasonRepeat},
			Outcome{State: NotAccepted, Office: "zhenping-nr", Handler: "zhenping-nr", ReturnTo: "zhenping", EndsStage: true}},
		{"forward again", forwarded, Request{Action: Forward, Office: "zhenping-hr"},
			Outcome{State: Transferred, Stage: v1alpha1.StageAcceptance, Office: "zhenping-hr", Handler: "zhenping-hr", ReturnTo: "zhenping-nr", StartsStage: true, EndsStage: true}},
		{"return", forwarded, Request{Action: Return, Reason: "不属于本部门职责"},
			Outcome{State: Registered, Stage: v1alpha1.StageTransfer, Office: "zhenping", Handler: "zhenping", StartsStage: true, EndsStage: true}},
		{"extend", accepted, Request{Action: Extend, Days: 30},
			Outcome{State: Accepted, Stage: v1alpha1.StageHandling, Office: "zhenping-nr", Handler: "zhenping-nr", ReturnTo: "zhenping", ExtendDays: 30}},
		{"extend by a day", accepted, Request{Action: Extend, Days: 1, Note: "情况复杂"},
			Outcome{State: Accepted, Stage: v1alpha1.StageHandling, Office: "zhenping-nr", Handler: "zhenping-nr", ReturnTo: "zhenping", ExtendDays: 1}},
		{"reply", accepted, Request{Action: Reply, Result: ResultNotSupport},
			Outcome{State: Replied, Office: "zhenping-nr", Handler: "zhenping-nr", ReturnTo: "zhenping", EndsStage: true}},
		{"request review", replied, Request{Action: RequestReview},
			Outcome{State: ReviewRequested, Stage: v1alpha1.StageReview, Office: "zhenping", Handler: "zhenping-nr", ReturnTo: "zhenping", StartsStage: true}},
		{"close after the reply", replied, Request{Action: Close},
			Outcome{State: Closed, Office: "zhenping-nr", Handler: "zhenping-nr", ReturnTo: "zhenping"}},
		{"decide review", reviewing, Request{Action: DecideReview, Result: ResultUpheld},
			Outcome{State: Reviewed, Office: "zhenping", Handler: "zhenping-nr", ReturnTo: "zhenping", EndsStage: true}},
		{"request re-review", reviewed, Request{Action: RequestReReview},
			Outcome{State: ReReviewRequested, Stage: v1alpha1.StageReReview, Office: "nanyang", Handler: "zhenping-nr", ReturnTo: "zhenping", StartsStage: true}},
		{"close after the review", reviewed, Request{Action: Close},
			Outcome{State: Closed, Office: "zhenping", Handler: "zhenping-nr", ReturnTo: "zhenping"}},
		{"decide re-review", reReviewing, Request{Action: DecideReReview, Result: ResultRevised},
			Outcome{State: ReReviewed, Office: "nanyang", Handler: "zhenping-nr", ReturnTo: "zhenping", EndsStage: true}},
		{"withdraw while handled", accepted, Request{Action: Withdraw},
			Outcome{State: Withdrawn, Office: "zhenping-nr", Handler: "zhenping-nr", ReturnTo: "zhenping", EndsStage: true}},
		{"withdraw after the reply", replied, Request{Action: Withdraw, Reason: "已和解"},
			Outcome{State: Withdrawn, Office: "zhenping-nr", Handler: "zhenping-nr", ReturnTo: "zhenping"}},
		{"merge when registered", received, Request{Action: Merge, Into: "2026-0001234"},
			Outcome{State: Merged, Office: "zhenping", Handler: "zhenping-nr", EndsStage: true}},
		{"merge while re-reviewed", reReviewing, Request{Action: Merge, Into: "2025-12345678"},
			Outcome{State: Merged, Office: "nanyang", Handler: "zhenping-nr", ReturnTo: "zhenping", EndsStage: true}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.want.Event = "petition.case." + string(c.r.Action)
			got, err := Decide(c.c, c.r)
			if err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Errorf("Decide =\n %+v, want\n %+v", got, c.want)
			}
		})
	}
}

func TestDecideRefusals(t *testing.T) {
	appeal := func(s State) Case { return caseIn(s, v1alpha1.PetitionAppeal) }
	with := func(c Case, f func(*Case)) Case { f(&c); return c }
	long := func(n int) string { return strings.Repeat("字", n) }
	cases := []struct {
		name  string
		c     Case
		r     Request
		field string // a FieldError on field; "" for a conflict
		msg   string
	}{
		{"no action", appeal(Registered), Request{}, "action", "required: one of accept, notAccept"},
		{"unknown action", appeal(Registered), Request{Action: "approve"}, "action", `"approve" is not an action; want one of accept`},
		{"an action cased otherwise", appeal(Registered), Request{Action: "Accept"}, "action", "is not an action"},
		{"office not taken", appeal(Accepted), Request{Action: Reply, Result: ResultSupport, Office: "nanyang"}, "office", "not taken by action reply"},
		{"reason not taken", appeal(Registered), Request{Action: Accept, Reason: "x"}, "reason", "not taken by action accept"},
		{"result not taken", appeal(Replied), Request{Action: Close, Result: ResultSupport}, "result", "not taken by action close"},
		{"days not taken", appeal(Accepted), Request{Action: Reply, Result: ResultSupport, Days: 3}, "days", "not taken by action reply"},
		{"negative days not taken", appeal(Registered), Request{Action: Accept, Days: -3}, "days", "not taken by action accept"},
		{"into not taken", appeal(Registered), Request{Action: Withdraw, Into: "2026-0000001"}, "into", "not taken by action withdraw"},
		{"the request before the state", appeal(Closed), Request{Action: Reply, Office: "x"}, "office", "not taken by action reply"},
		{"forward to no office", appeal(Registered), Request{Action: Forward}, "office", "required: an office name"},
		{"forward to a name no office has", appeal(Registered), Request{Action: Forward, Office: "Zhenping_NR"}, "office", "not an office name"},
		{"assign to a name too long", appeal(Transferred), Request{Action: Assign, Office: strings.Repeat("a", 57)}, "office", "at most 56"},
		{"forward to itself", appeal(Transferred), Request{Action: Forward, Office: "zhenping"}, "office", `"zhenping" is the office responsible now; forward to another office`},
		{"not accept without a reason", appeal(Registered), Request{Action: NotAccept}, "reason", "required: one of OutOfScope, LegalProcedure, Terminated, Anonymous, Repeat"},
		{"not accept for no reason the law gives", appeal(Registered), Request{Action: NotAccept, Reason: "Busy"}, "reason", `"Busy" is not one of OutOfScope`},
		{"return without a reason", appeal(Transferred), Request{Action: Return}, "reason", "required"},
		{"return with white space", appeal(Transferred), Request{Action: Return, Reason: " \n\t"}, "reason", "required"},
		{"return with a long reason", appeal(Transferred), Request{Action: Return, Reason: long(MaxReason + 1)}, "reason", "501 characters, at most 500"},
		{"return with a huge reason", appeal(Transferred), Request{Action: Return, Reason: long(1 << 20)}, "reason", "longer than 500 characters"},
		{"withdraw with a control character", appeal(Accepted), Request{Action: Withdraw, Reason: "a\x00b"}, "reason", "control character U+0000"},
		{"extend without days", appeal(Accepted), Request{Action: Extend}, "days", "required"},
		{"extend by negative days", appeal(Accepted), Request{Action: Extend, Days: -1}, "days", "at least 1"},
		{"extend past the chain", appeal(Accepted), Request{Action: Extend, Days: 31}, "days", "31 is more than the chain's extension of Handling: 1 to 30"},
		{"reply without a result", appeal(Accepted), Request{Action: Reply}, "result", "required: one of Support, Explain, NotSupport"},
		{"reply with a review's result", appeal(Accepted), Request{Action: Reply, Result: ResultUpheld}, "result", `"Upheld" is not one of Support, Explain, NotSupport`},
		{"decide a review with a reply's result", appeal(ReviewRequested), Request{Action: DecideReview, Result: ResultSupport}, "result", "not one of Upheld, Revised"},
		{"decide a re-review without a result", appeal(ReReviewRequested), Request{Action: DecideReReview}, "result", "required: one of Upheld, Revised"},
		{"merge into nothing", appeal(Registered), Request{Action: Merge}, "into", "required: the case number"},
		{"merge into no case number", appeal(Registered), Request{Action: Merge, Into: "2026-42"}, "into", `"2026-42" is not a case number`},
		{"a note too long", appeal(Registered), Request{Action: Accept, Note: long(MaxNote + 1)}, "note", "1001 characters, at most 1000"},
		{"a note not UTF-8", appeal(Registered), Request{Action: Accept, Note: "\xff"}, "note", "not valid UTF-8"},
		{"a note with an escape", appeal(Registered), Request{Action: Accept, Note: "\x1b[31m"}, "note", "control character"},

		{"reply when registered", appeal(Registered), Request{Action: Reply, Result: ResultSupport}, "",
			"state Registered (已登记) does not allow action reply; it allows accept, notAccept, forward, assign, withdraw, merge"},
		{"return when registered", appeal(Registered), Request{Action: Return, Reason: "x"}, "", "does not allow action return"},
		{"accept when closed", appeal(Closed), Request{Action: Accept}, "",
			"state Closed (已办结) does not allow action accept; a terminal state allows no action"},
		{"withdraw when re-reviewed", appeal(ReReviewed), Request{Action: Withdraw}, "", "a terminal state allows no action"},
		{"merge when merged", appeal(Merged), Request{Action: Merge, Into: "2026-0000001"}, "", "a terminal state"},
		{"review of a Report", caseIn(Replied, v1alpha1.PetitionReport), Request{Action: RequestReview}, "",
			"state Replied (已答复) does not allow action requestReview: review stages follow an Appeal only (Arts. 35–36); the petition is of type Report; it allows close, withdraw, merge"},
		{"re-review of an Inquiry", caseIn(Reviewed, v1alpha1.PetitionInquiry), Request{Action: RequestReReview}, "",
			"review stages follow an Appeal only (Arts. 35–36); the petition is of type Inquiry"},
		{"review of no type", caseIn(Replied, ""), Request{Action: RequestReview}, "", `the petition is of type ""`},
		{"a second extension", with(appeal(Accepted), func(c *Case) { c.Extended = true }), Request{Action: Extend, Days: 5}, "",
			"state Accepted (已受理) does not allow action extend: Handling was extended already; it is extended once only (Art. 34); it allows reply, withdraw, merge"},
		{"an extension the chain has not", with(appeal(Accepted), func(c *Case) { c.MaxExtensionDays = 0 }), Request{Action: Extend, Days: 5}, "",
			"the chain allows no extension of Handling"},
		{"a return to nowhere", with(appeal(Transferred), func(c *Case) { c.ReturnTo = "" }), Request{Action: Return, Reason: "x"}, "",
			"no office forwarded or assigned the case here; it allows accept, notAccept, forward, assign, withdraw, merge"},
		{"a review with no reviewer", with(appeal(Replied), func(c *Case) { c.Reviewer = "" }), Request{Action: RequestReview}, "",
			"the case's chain names no office for the Review stage; it allows close"},
		{"a re-review with no re-reviewer", with(appeal(Reviewed), func(c *Case) { c.ReReviewer = "" }), Request{Action: RequestReReview}, "",
			"names no office for the ReReview stage"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Decide(c.c, c.r)
			if err == nil {
				t.Fatal("no error")
			}
			var fe *FieldError
			var ce *ConflictError
			switch {
			case c.field != "" && !errors.As(err, &fe):
				t.Fatalf("%v: want a FieldError on %s", err, c.field)
			case c.field != "" && fe.Field != c.field:
				t.Fatalf("%v: on field %s, want %s", err, fe.Field, c.field)
			case c.field == "" && !errors.As(err, &ce):
				t.Fatalf("%v: want a ConflictError", err)
			}
			if !strings.Contains(err.Error(), c.msg) {
				t.Errorf("%v\nwant it to say %q", err, c.msg)
			}
			if len(err.Error()) > 400 {
				t.Errorf("a %d-byte message: %.80s…", len(err.Error()), err)
			}
		})
	}
}

func TestDecideUnknownState(t *testing.T) {
	_, err := Decide(Case{State: "Pending"}, Request{Action: Accept})
	var fe *FieldError
	var ce *ConflictError
	if err == nil || errors.As(err, &fe) || errors.As(err, &ce) {
		t.Fatalf("Decide in an unknown state: %v, want a plain error", err)
	}
	if !strings.Contains(err.Error(), `"Pending" is not a state`) {
		t.Errorf("%v", err)
	}
}

// apply is what the registry stores of an outcome.
func apply(c Case, o Outcome) Case {
	c.State, c.Stage, c.Office, c.Handler, c.ReturnTo = o.State, o.Stage, o.Office, o.Handler, o.ReturnTo
	if o.ExtendDays > 0 {
		c.Extended = true
	}
	return c
}

// TestAppealWalk walks an Appeal made at a township through every stage
// to its end (三级终结).
func TestAppealWalk(t *testing.T) {
	c := Case{State: Registered, Type: v1alpha1.PetitionAppeal, Stage: v1alpha1.StageTransfer,
		Office: "shifosi", Handler: "zhenping-nr", MaxExtensionDays: 30, Reviewer: "zhenping", ReReviewer: "nanyang"}
	steps := []struct {
		r              Request
		state          State
		stage          v1alpha1.StageName
		office         string
		starts, ends   bool
		allowedAfter   []Action
		extendDaysWant int
	}{
		{Request{Action: Forward, Office: "zhenping-nr"}, Transferred, v1alpha1.StageAcceptance, "zhenping-nr", true, true,
			[]Action{Accept, NotAccept, Forward, Assign, Return, Withdraw, Merge}, 0},
		{Request{Action: Accept, Note: "已受理"}, Accepted, v1alpha1.StageHandling, "zhenping-nr", true, true,
			[]Action{Extend, Reply, Withdraw, Merge}, 0},
		{Request{Action: Extend, Days: 30, Note: "情况复杂，经负责人批准延期"}, Accepted, v1alpha1.StageHandling, "zhenping-nr", false, false,
			[]Action{Reply, Withdraw, Merge}, 30},
		{Request{Action: Reply, Result: ResultNotSupport}, Replied, "", "zhenping-nr", false, true,
			[]Action{RequestReview, Close, Withdraw, Merge}, 0},
		{Request{Action: RequestReview}, ReviewRequested, v1alpha1.StageReview, "zhenping", true, false,
			[]Action{DecideReview, Withdraw, Merge}, 0},
		{Request{Action: DecideReview, Result: ResultUpheld}, Reviewed, "", "zhenping", false, true,
			[]Action{RequestReReview, Close, Withdraw, Merge}, 0},
		{Request{Action: RequestReReview}, ReReviewRequested, v1alpha1.StageReReview, "nanyang", true, false,
			[]Action{DecideReReview, Withdraw, Merge}, 0},
		{Request{Action: DecideReReview, Result: ResultUpheld}, ReReviewed, "", "nanyang", false, true, nil, 0},
	}
	for _, s := range steps {
		o, err := Decide(c, s.r)
		if err != nil {
			t.Fatalf("%s in %s: %v", s.r.Action, c.State, err)
		}
		if o.State != s.state || o.Stage != s.stage || o.Office != s.office || o.StartsStage != s.starts || o.EndsStage != s.ends || o.ExtendDays != s.extendDaysWant {
			t.Fatalf("%s in %s = %+v, want %s %q at %s, starts %v ends %v", s.r.Action, c.State, o, s.state, s.stage, s.office, s.starts, s.ends)
		}
		if o.Handler != "zhenping-nr" {
			t.Errorf("%s: handler %s", s.r.Action, o.Handler)
		}
		c = apply(c, o)
		if got := c.Allowed(); !slices.Equal(got, s.allowedAfter) {
			t.Errorf("after %s: Allowed() = %v, want %v", s.r.Action, got, s.allowedAfter)
		}
	}
	if c.State.Open() || c.State.Open311() != "closed" || c.State.Label() != "已复核（终结）" {
		t.Errorf("walk ends %s", c.State)
	}
	if _, err := Decide(c, Request{Action: Withdraw}); err == nil {
		t.Error("a re-reviewed case was withdrawn")
	}
}

// TestReturnWalk forwards, returns and forwards a Report again: the office
// it returns to decides anew on a new Transfer clock.
func TestReturnWalk(t *testing.T) {
	c := Case{State: Registered, Type: v1alpha1.PetitionReport, Stage: v1alpha1.StageAcceptance, Office: "zhenping", Handler: "zhenping"}
	for _, r := range []Request{
		{Action: Assign, Office: "zhenping-hr"},
		{Action: Return, Reason: "不属于本部门职责"},
		{Action: Forward, Office: "zhenping-nr"},
		{Action: Accept},
		{Action: Reply, Result: ResultExplain},
		{Action: Close},
	} {
		o, err := Decide(c, r)
		if err != nil {
			t.Fatalf("%s in %s: %v", r.Action, c.State, err)
		}
		c = apply(c, o)
		if r.Action == Return && (c.State != Registered || c.Stage != v1alpha1.StageTransfer || c.Office != "zhenping" || c.ReturnTo != "" || !o.StartsStage || !o.EndsStage) {
			t.Fatalf("return: %+v", o)
		}
	}
	if c.State != Closed || c.Handler != "zhenping-nr" {
		t.Errorf("walk ends %+v", c)
	}
}

func TestDecodeRequest(t *testing.T) {
	r, err := DecodeRequest([]byte(` {"note": "情况复杂", "days": 30, "action": "extend"} `))
	if err != nil {
		t.Fatal(err)
	}
	if want := (Request{Action: Extend, Days: 30, Note: "情况复杂"}); r != want {
		t.Errorf("DecodeRequest = %+v, want %+v", r, want)
	}
	if r, err := DecodeRequest([]byte(`{"action":"withdraw","reason":null}`)); err != nil || r != (Request{Action: Withdraw}) {
		t.Errorf("null reason: %+v %v", r, err)
	}
	refusals := []struct {
		body, field, msg string
	}{
		{``, "body", "want a JSON object"},
		{`[]`, "body", "want a JSON object"},
		{`{"action":"accept"} {}`, "body", "unexpected data after the JSON object"},
		{`{"action":"accept","action":"close"}`, "action", "given twice"},
		{`{"action":"accept","Office":"x"}`, "body", `unknown field "Office"; want action, office, reason, result, days, into, note`},
		{`{"action":1}`, "action", "want a string"},
		{`{"action":"extend","days":"30"}`, "days", "want an integer from 1 to 366"},
		{`{"action":"extend","days":30.5}`, "days", "want an integer"},
		{`{"action":"extend","days":1e1}`, "days", "want an integer"},
		{`{"action":"extend","days":0}`, "days", "want an integer"},
		{`{"action":"extend","days":99999999999999999999999}`, "days", "want an integer"},
		{`{"action":"accept","note":"` + strings.Repeat("字", MaxNote+1) + `"}`, "note", "longer than 1000 characters"},
		{`{"action":"merge","into":"` + strings.Repeat("1", 100) + `"}`, "into", "longer than 17 characters"},
		{`{"action":"accept"`, "body", "want a JSON object"},
		{`{"action":"accept",}`, "body", "want a JSON object"},
		{string(make([]byte, MaxBody+1)), "body", "longer than 65536 bytes"},
	}
	for _, c := range refusals {
		_, err := DecodeRequest([]byte(c.body))
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != c.field || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("DecodeRequest(%.60q) = %v, want a FieldError on %s saying %q", c.body, err, c.field, c.msg)
		}
	}
}

func TestFirstStage(t *testing.T) {
	for _, c := range []struct {
		office, handler string
		want            v1alpha1.StageName
	}{
		{"shifosi", "zhenping-nr", v1alpha1.StageTransfer},
		{"zhenping", "zhenping", v1alpha1.StageAcceptance},
		{"zhenping", "", v1alpha1.StageAcceptance},
	} {
		if got := FirstStage(c.office, c.handler); got != c.want {
			t.Errorf("FirstStage(%s, %s) = %s, want %s", c.office, c.handler, got, c.want)
		}
	}
}
