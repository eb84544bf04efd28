package cases

import "strconv"

// Counts are an office's own case counts as the registry reports them to
// the operator (GET /v1/figures): raw numerators and denominators, so that
// the counts of several offices add up (a subtree's total) and each ratio
// is computed once, from the sums, never averaged.
type Counts struct {
	// Open cases at the office now; Overdue those past their running
	// stage's due date; DueWithin7d those whose due date falls within
	// seven days.
	Open        int64 `json:"open"`
	Overdue     int64 `json:"overdue"`
	DueWithin7d int64 `json:"dueWithin7d"`
	// Replied cases of the period and ClosedOnTime those replied by their
	// due date (按期办结率 = ClosedOnTime ÷ Replied).
	Replied      int64 `json:"replied"`
	ClosedOnTime int64 `json:"closedOnTime"`
	// AcceptanceDue Transfer and Acceptance stages due in the period and
	// AcceptedTimely those decided in time (及时受理率).
	AcceptanceDue  int64 `json:"acceptanceDue"`
	AcceptedTimely int64 `json:"acceptedTimely"`
	// SkipLevel visits attributed to the office (越级访) and Repeat
	// petitions (重复访) of the period.
	SkipLevel int64 `json:"skipLevel"`
	Repeat    int64 `json:"repeat"`
	// Rated and Satisfied ratings of the period (满意率).
	Rated     int64 `json:"rated"`
	Satisfied int64 `json:"satisfied"`
}

// Add adds o's counts to c's.
func (c *Counts) Add(o Counts) {
	c.Open += o.Open
	c.Overdue += o.Overdue
	c.DueWithin7d += o.DueWithin7d
	c.Replied += o.Replied
	c.ClosedOnTime += o.ClosedOnTime
	c.AcceptanceDue += o.AcceptanceDue
	c.AcceptedTimely += o.AcceptedTimely
	c.SkipLevel += o.SkipLevel
	c.Repeat += o.Repeat
	c.Rated += o.Rated
	c.Satisfied += o.Satisfied
}

// Ratio is num ÷ den as a decimal with three places ("0.935"), or "" when
// den is 0: nothing to count it on.
func Ratio(num, den int64) string {
	if den <= 0 {
		return ""
	}
	return strconv.FormatFloat(float64(num)/float64(den), 'f', 3, 64)
}

// Figures is the registry's answer to GET /v1/figures: the own counts of
// every office of its City that has any, over the period from Since (a
// date, the first of the year by default) to AsOf.
type Figures struct {
	Since   string            `json:"since"`
	AsOf    string            `json:"asOf"`
	Offices map[string]Counts `json:"offices"`
}
