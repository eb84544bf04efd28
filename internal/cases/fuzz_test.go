package cases

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"unicode/utf8"

	"github.com/xinfang/petition-operator/api/v1alpha1"
)

// maxMessage bounds every error's message: none repeats a value at length.
const maxMessage = 600

func FuzzDecideIntake(f *testing.F) {
	f.Add(intakeBody(f, nil), false)
	f.Add(intakeBody(f, map[string]any{"channel": "visit", "groupSize": 12, "receivedAt": "2026-08-09T09:30:00+08:00", "locality": "shifosi"}), true)
	f.Add([]byte(`{"office":"zhenping","type":"REPORT","category":"graft","description":" x ","petitioner":{"anonymous":true,"confidential":true}}`), false)
	f.Add([]byte(`{"office":"zhenping","type":"Inquiry","category":"a","description":"\u2028<&>","petitioner":{"name":"\ud83d\ude00","idNumber":"a-1"}}`), false)
	f.Add([]byte(`{"office":"zhenping","office":"x"}`), false)
	f.Add([]byte(`{"petitioner":{"name":1}}`), true)
	f.Add([]byte(`{} []`), false)
	f.Add([]byte(`nul`), true)
	f.Fuzz(func(t *testing.T, body []byte, staff bool) {
		in, err := DecodeIntake(body, staff)
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field == "" {
				t.Fatalf("%v: not a FieldError", err)
			}
			if len(err.Error()) > maxMessage {
				t.Fatalf("a %d-byte message", len(err.Error()))
			}
			return
		}
		if err := in.Petition().Validate(); err != nil {
			t.Fatalf("accepted %s: %v", show(in), err)
		}
		if in.GroupSize < 1 || in.GroupSize > MaxGroupSize || utf8.RuneCountInString(in.Description) > MaxDescription || in.Description == "" {
			t.Fatalf("accepted %s", show(in))
		}
		if in.Anonymous() && (in.Type != v1alpha1.PetitionReport || in.Petitioner.Name != "") {
			t.Fatalf("accepted an anonymous %s", show(in))
		}
		if !staff && (in.ReceivedAt != "" || in.Channel == v1alpha1.ChannelVisit) {
			t.Fatalf("accepted in public %s", show(in))
		}
		again, err := json.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		back, err := DecodeIntake(again, staff)
		if err != nil {
			t.Fatalf("%s re-encoded as %s: %v", body, again, err)
		}
		if back != in || back.Fingerprint() != in.Fingerprint() {
			t.Fatalf("%s re-encoded: %s, decoded again %s", body, show(in), show(back))
		}
	})
}

func FuzzDecide(f *testing.F) {
	add := func(c Case, r Request) {
		f.Add(string(c.State), string(c.Type), string(c.Stage), c.Office, c.ReturnTo, c.Reviewer, c.Extended, c.MaxExtensionDays,
			string(r.Action), r.Office, r.Reason, r.Result, r.Days, r.Into, r.Note)
	}
	for _, s := range States() {
		for _, a := range Actions() {
			add(caseIn(s, v1alpha1.PetitionAppeal), requestFor(a))
		}
	}
	add(caseIn(Accepted, v1alpha1.PetitionReport), Request{Action: Extend, Days: 31, Note: "\xff"})
	add(Case{State: "Pending"}, Request{Action: "accept"})
	f.Fuzz(func(t *testing.T, state, typ, stage, office, returnTo, reviewer string, extended bool, maxExt int,
		action, rOffice, reason, result string, days int, into, note string) {
		c := Case{State: State(state), Type: v1alpha1.PetitionType(typ), Stage: v1alpha1.StageName(stage), Office: office, Handler: office,
			ReturnTo: returnTo, Reviewer: reviewer, ReReviewer: reviewer, Extended: extended, MaxExtensionDays: maxExt}
		r := Request{Action: Action(action), Office: rOffice, Reason: reason, Result: result, Days: days, Into: into, Note: note}
		o, err := Decide(c, r)
		if err != nil {
			var fe *FieldError
			var ce *ConflictError
			switch {
			case errors.As(err, &ce):
				if ce.State != c.State || ce.Action != r.Action || slices.Contains(ce.Allowed, r.Action) && ce.Detail == "" {
					t.Fatalf("%v: conflict %+v", err, ce)
				}
			case errors.As(err, &fe):
			case c.State.Known():
				t.Fatalf("%v: in a known state, neither a conflict nor a field error", err)
			}
			if len(err.Error()) > maxMessage {
				t.Fatalf("a %d-byte message", len(err.Error()))
			}
			return
		}
		if !slices.Contains(AllowedActions(c.State, c.Type), r.Action) || !slices.Contains(c.Allowed(), r.Action) {
			t.Fatalf("%s decided in %s (%s), which allows %v", r.Action, c.State, c.Type, c.Allowed())
		}
		if !o.State.Known() || o.Event != r.Action.Event() {
			t.Fatalf("outcome %+v", o)
		}
		if o.StartsStage && o.Stage == "" || o.EndsStage && c.Stage == "" {
			t.Fatalf("outcome %+v of %+v", o, c)
		}
		if (o.ExtendDays != 0) != (r.Action == Extend) || r.Action == Extend && o.ExtendDays > c.MaxExtensionDays {
			t.Fatalf("outcome %+v", o)
		}
	})
}
