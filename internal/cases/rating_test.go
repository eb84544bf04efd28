package cases

import (
	"errors"
	"testing"
)

func TestDecodeRating(t *testing.T) {
	for _, tc := range []struct {
		body  string
		want  Satisfaction
		score int
		field string
	}{
		{`{"satisfaction":"Satisfied"}`, Satisfied, 0, ""},
		{`{"satisfaction":"BasicallySatisfied"}`, BasicallySatisfied, 0, ""},
		{`{"score":5}`, Satisfied, 5, ""},
		{`{"score":4}`, Satisfied, 4, ""},
		{`{"score":3}`, BasicallySatisfied, 3, ""},
		{`{"score":2}`, Unsatisfied, 2, ""},
		{`{"score":1}`, Unsatisfied, 1, ""},
		{`{"score":0}`, "", 0, "score"},
		{`{"score":6}`, "", 0, "score"},
		{`{"satisfaction":"Happy"}`, "", 0, "satisfaction"},
		{`{}`, "", 0, "satisfaction"},
		{`{"satisfaction":"Satisfied","score":5}`, "", 0, "score"},
		{`{"satisfaction":"Satisfied","extra":1}`, "", 0, "body"},
	} {
		r, err := DecodeRating([]byte(tc.body))
		var fe *FieldError
		switch {
		case tc.field != "" && (!errors.As(err, &fe) || fe.Field != tc.field):
			t.Errorf("%s: %v; want a refusal of %s", tc.body, err, tc.field)
		case tc.field == "" && (err != nil || r.Satisfaction != tc.want || r.Score != tc.score):
			t.Errorf("%s: %+v, %v; want %s (score %d)", tc.body, r, err, tc.want, tc.score)
		}
	}
	if !Satisfied.Satisfied() || !BasicallySatisfied.Satisfied() || Unsatisfied.Satisfied() {
		t.Error("满意率 counts 满意 and 基本满意, not 不满意")
	}
	for s, want := range map[State]bool{Registered: false, Accepted: false, Replied: true, Closed: true, Withdrawn: false, ReReviewed: true} {
		if Ratable(s) != want {
			t.Errorf("Ratable(%s) = %v", s, !want)
		}
	}
}
