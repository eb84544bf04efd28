package registry

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/xinfang/petition-operator/internal/cases"
)

// Stats are an office's figures over a period (docs/cases.md defines each).
type Stats struct {
	Office string `json:"office"`
	Scope  string `json:"scope"`
	From   string `json:"from"`
	To     string `json:"to"`
	// Received: petitions registered at the office(s) in the period.
	Received int `json:"received"`
	// Accepted and NotAccepted: acceptance decisions in the period.
	Accepted    int `json:"accepted"`
	NotAccepted int `json:"notAccepted"`
	// Open and Overdue: cases open at the office(s) now, and those of them
	// past their stage's due date.
	Open    int `json:"open"`
	Overdue int `json:"overdue"`
	// Closed: cases closed in the period; ClosedOnTime: replies in the
	// period by their due date (with any extension granted), of Replied.
	Closed       int `json:"closed"`
	Replied      int `json:"replied"`
	ClosedOnTime int `json:"closedOnTime"`
	// OnTimeRatio (按期办结率, closed cohort): ClosedOnTime ÷ Replied.
	OnTimeRatio *float64 `json:"onTimeRatio"`
	// HandlingDue and HandlingDueOnTime: cases whose Handling due date
	// fell in the period, and those replied by it; DueOnTimeRatio is the
	// due cohort's 按期办结率, which never closing cannot improve.
	HandlingDue       int      `json:"handlingDue"`
	HandlingDueOnTime int      `json:"handlingDueOnTime"`
	DueOnTimeRatio    *float64 `json:"dueOnTimeRatio"`
	// AcceptanceDue and AcceptedTimely: Transfer and Acceptance stages due
	// in the period, and those decided by their due date;
	// TimelyAcceptanceRatio is 及时受理率.
	AcceptanceDue         int      `json:"acceptanceDue"`
	AcceptedTimely        int      `json:"acceptedTimely"`
	TimelyAcceptanceRatio *float64 `json:"timelyAcceptanceRatio"`
	// SkipLevel: skip-level visits received (越级访); SkipLevelAttributed:
	// those attributed to the office as the handler's level office.
	SkipLevel           int `json:"skipLevel"`
	SkipLevelAttributed int `json:"skipLevelAttributed"`
	// Repeat: petitions linked as repeats of an earlier one (重复信访).
	Repeat int `json:"repeat"`
	// Collective: petitions of 5 or more people (集体访).
	Collective int `json:"collective"`
	// Rated, Satisfied and SatisfactionRatio (满意率).
	Rated             int      `json:"rated"`
	Satisfied         int      `json:"satisfied"`
	SatisfactionRatio *float64 `json:"satisfactionRatio"`
}

func ratio(num, den int) *float64 {
	if den == 0 {
		return nil
	}
	r := float64(num) / float64(den)
	return &r
}

// Stats sums the counters of the offices over [from, to] (days, inclusive)
// and counts their open and overdue cases on today.
func (s *Store) Stats(ctx context.Context, office, scope string, offices []string, from, to, today time.Time) (Stats, error) {
	st := Stats{Office: office, Scope: scope, From: from.Format(time.DateOnly), To: to.Format(time.DateOnly)}
	err := s.pool.QueryRow(ctx, `SELECT coalesce(sum(received),0), coalesce(sum(accepted),0), coalesce(sum(not_accepted),0),
			coalesce(sum(closed),0), coalesce(sum(replied),0), coalesce(sum(replied_on_time),0),
			coalesce(sum(handling_due),0), coalesce(sum(handling_due_on_time),0),
			coalesce(sum(acceptance_due),0), coalesce(sum(acceptance_timely),0),
			coalesce(sum(skip_level),0), coalesce(sum(skip_level_attributed),0), coalesce(sum(repeat),0), coalesce(sum(collective),0),
			coalesce(sum(rated),0), coalesce(sum(satisfied),0)
		FROM office_days WHERE office = ANY($1) AND day BETWEEN $2 AND $3`, offices, from, to).Scan(
		&st.Received, &st.Accepted, &st.NotAccepted, &st.Closed, &st.Replied, &st.ClosedOnTime,
		&st.HandlingDue, &st.HandlingDueOnTime, &st.AcceptanceDue, &st.AcceptedTimely,
		&st.SkipLevel, &st.SkipLevelAttributed, &st.Repeat, &st.Collective, &st.Rated, &st.Satisfied)
	if err != nil {
		return Stats{}, fmt.Errorf("summing the counters of %s: %w", office, err)
	}
	if err := s.pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE due < $2)
		FROM cases WHERE closed_at IS NULL AND office = ANY($1)`, offices, today).Scan(&st.Open, &st.Overdue); err != nil {
		return Stats{}, err
	}
	st.OnTimeRatio = ratio(st.ClosedOnTime, st.Replied)
	st.DueOnTimeRatio = ratio(st.HandlingDueOnTime, st.HandlingDue)
	st.TimelyAcceptanceRatio = ratio(st.AcceptedTimely, st.AcceptanceDue)
	st.SatisfactionRatio = ratio(st.Satisfied, st.Rated)
	return st, nil
}

// ListEntry is a case in an office's list: no personal data.
type ListEntry struct {
	CaseNo   string `json:"caseNo"`
	State    string `json:"state"`
	Stage    string `json:"stage,omitempty"`
	Office   string `json:"office"`
	Due      string `json:"due,omitempty"`
	Overdue  bool   `json:"overdue"`
	Category string `json:"category"`
	Type     string `json:"type"`
	Received string `json:"received"`
}

// MaxListPage is the most cases one page of a list holds.
const MaxListPage = 200

// List pages through the cases at the offices, newest first, from the
// case id after (0: the first page): keyset pages that stay stable while
// cases come in. state filters by state; overdue keeps the open cases past
// their due date on today. It returns the page and the id to continue
// after (0 at the end).
func (s *Store) List(ctx context.Context, offices []string, state string, overdue bool, today time.Time, after int64, limit int) ([]ListEntry, int64, error) {
	if limit <= 0 || limit > MaxListPage {
		limit = MaxListPage
	}
	rows, err := s.pool.Query(ctx, `SELECT id, case_no, state, coalesce(stage, ''), office, due, category, type, received_on FROM cases
		WHERE office = ANY($1) AND ($2 = '' OR state = $2) AND (NOT $3 OR (closed_at IS NULL AND due < $4))
			AND ($5 = 0 OR id < $5)
		ORDER BY id DESC LIMIT $6`, offices, state, overdue, today, after, limit+1)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []ListEntry
	var last int64
	for rows.Next() {
		var e ListEntry
		var id int64
		var due *time.Time
		var received time.Time
		if err := rows.Scan(&id, &e.CaseNo, &e.State, &e.Stage, &e.Office, &due, &e.Category, &e.Type, &received); err != nil {
			return nil, 0, err
		}
		if len(out) == limit {
			return out, last, nil
		}
		if due != nil {
			e.Due = due.Format(time.DateOnly)
			e.Overdue = due.Before(today)
		}
		e.Received = received.Format(time.DateOnly)
		out = append(out, e)
		last = id
	}
	return out, 0, rows.Err()
}

// Totals counts the open cases of the whole registry and those past their
// running stage's due date on today: the figures of its metrics.
func (s *Store) Totals(ctx context.Context, today time.Time) (open, overdue int, err error) {
	err = s.pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE due < $1) FROM cases WHERE closed_at IS NULL`, today).Scan(&open, &overdue)
	return open, overdue, err
}

// Figures counts the own figures of every office of the network (of its
// City, for a restricted one) that has any: its open cases now, those
// past their running stage's due date and those due within seven days, on
// the office's today; and its counters over [since, asOf]. It costs two
// statements, sent together, whatever the number of offices: the open
// cases grouped by office, the counters grouped by office.
func (s *Store) Figures(ctx context.Context, since, asOf time.Time) (map[string]cases.Counts, error) {
	n := s.net.Current()
	offices := n.Offices()
	todays := n.Todays(offices, s.now())
	out := map[string]cases.Counts{}
	b := &pgx.Batch{}
	b.Queue(`SELECT c.office, count(*), count(*) FILTER (WHERE c.due < o.today),
			count(*) FILTER (WHERE c.due >= o.today AND c.due < o.today + 7)
		FROM unnest($1::text[], $2::date[]) AS o (office, today)
		JOIN cases c ON c.office = o.office AND c.closed_at IS NULL
		GROUP BY c.office`, offices, todays).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var office string
			var c cases.Counts
			if err := rows.Scan(&office, &c.Open, &c.Overdue, &c.DueWithin7d); err != nil {
				return err
			}
			out[office] = c
		}
		return rows.Err()
	})
	b.Queue(`SELECT office, sum(replied), sum(replied_on_time), sum(acceptance_due), sum(acceptance_timely),
			sum(skip_level_attributed), sum(repeat), sum(rated), sum(satisfied)
		FROM office_days WHERE day BETWEEN $2 AND $3 AND office = ANY($1)
		GROUP BY office`, offices, since, asOf).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var office string
			var k cases.Counts
			if err := rows.Scan(&office, &k.Replied, &k.ClosedOnTime, &k.AcceptanceDue, &k.AcceptedTimely,
				&k.SkipLevel, &k.Repeat, &k.Rated, &k.Satisfied); err != nil {
				return err
			}
			c := out[office]
			c.Add(k)
			out[office] = c
		}
		return rows.Err()
	})
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return nil, fmt.Errorf("counting the figures of %d offices: %w", len(offices), err)
	}
	for office, c := range out {
		if c == (cases.Counts{}) {
			delete(out, office)
		}
	}
	return out, nil
}
