package cases

import "github.com/xinfang/petition-operator/internal/xinfang"

// Satisfaction is the petitioner's rating of the answer (回访, 满意度),
// on the 3-level scale the statistics count.
type Satisfaction string

// The 3-level scale: 满意, 基本满意, 不满意.
const (
	Satisfied          Satisfaction = "Satisfied"
	BasicallySatisfied Satisfaction = "BasicallySatisfied"
	Unsatisfied        Satisfaction = "Unsatisfied"
)

// Satisfied says whether the rating counts as satisfied in 满意率:
// 满意 and 基本满意 do.
func (s Satisfaction) Satisfied() bool { return s == Satisfied || s == BasicallySatisfied }

// Rating is the body of a petitioner's rating: a level of the 3-level
// scale, or a score of the 5-level 好差评 (5 非常满意, 4 满意, 3 基本满意,
// 2 不满意, 1 非常不满意), which maps onto it: 5 and 4 are Satisfied, 3
// BasicallySatisfied, 2 and 1 Unsatisfied.
type Rating struct {
	Satisfaction Satisfaction `json:"satisfaction"`
	// Score is the 5-level score when one was given; 0 otherwise.
	Score int `json:"score,omitempty"`
}

// ratable are the states in which an answer has been given: the
// petitioner may rate it.
var ratable = map[State]bool{Replied: true, Reviewed: true, ReReviewed: true, Closed: true}

// Ratable says whether a case in state s has an answer to rate.
func Ratable(s State) bool { return ratable[s] }

// DecodeRating reads a rating as strictly as an intake: exactly one of
// satisfaction (Satisfied, BasicallySatisfied or Unsatisfied) and score
// (1 to 5). Errors are *FieldError.
func DecodeRating(body []byte) (Rating, error) {
	var r Rating
	if len(body) > MaxBody {
		return r, fieldErr("body", "longer than %d bytes", MaxBody)
	}
	m, err := readObject(body, "", []string{"satisfaction", "score"})
	if err != nil {
		return r, err
	}
	level, err := jsonString(m["satisfaction"], "satisfaction", len(BasicallySatisfied))
	if err != nil {
		return r, err
	}
	score, given, err := jsonInt(m["score"], "score", 1, 5)
	if err != nil {
		return r, err
	}
	switch {
	case level != "" && given:
		return r, fieldErr("score", "give satisfaction or score, not both")
	case given:
		r.Score = score
		r.Satisfaction = map[int]Satisfaction{5: Satisfied, 4: Satisfied, 3: BasicallySatisfied, 2: Unsatisfied, 1: Unsatisfied}[score]
	case level == "":
		return r, fieldErr("satisfaction", "required: %s, %s or %s (or score, 1 to 5)", Satisfied, BasicallySatisfied, Unsatisfied)
	default:
		s := Satisfaction(level)
		if s != Satisfied && s != BasicallySatisfied && s != Unsatisfied {
			return r, fieldErr("satisfaction", "%s is not a level; want %s, %s or %s", xinfang.Quote(level), Satisfied, BasicallySatisfied, Unsatisfied)
		}
		r.Satisfaction = s
	}
	return r, nil
}
