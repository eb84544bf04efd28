package registry

import (
	"context"
	"fmt"

	"github.com/xinfang/petition-operator/internal/cases"
)

// RatingError refuses a rating: a case rated already, or not answered
// yet (HTTP 409).
type RatingError struct{ Message string }

func (e *RatingError) Error() string { return e.Message }

// Rate records the petitioner's rating of a case's answer (回访), once,
// with the case number and query code: counted at the handler on the day
// (rated, and satisfied for 满意 and 基本满意), with an event that names no
// one.
func (s *Store) Rate(ctx context.Context, caseNo, code string, r cases.Rating) error {
	id, err := s.opened(ctx, caseNo, code)
	if err != nil {
		return err
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback(ctx) }()
	var state, handler string
	var rated *string
	if err := tx.QueryRow(ctx, `SELECT state, handler, rating FROM cases WHERE id = $1 FOR UPDATE`, id).Scan(&state, &handler, &rated); err != nil {
		return err
	}
	if rated != nil {
		return &RatingError{Message: fmt.Sprintf("case %s was rated already: a case is rated once", caseNo)}
	}
	if !cases.Ratable(cases.State(state)) {
		return &RatingError{Message: fmt.Sprintf("case %s is %s: a case is rated once answered (Replied, Reviewed, ReReviewed or Closed)", caseNo, state)}
	}
	now := s.now()
	if _, err := tx.Exec(ctx, `UPDATE cases SET rating = $2, updated_at = $3 WHERE id = $1`, id, r.Satisfaction, now); err != nil {
		return err
	}
	day := civilDay(now.In(s.net.Current().Location(handler)))
	counts := []counter{{handler, day, "rated", 1}}
	if r.Satisfaction.Satisfied() {
		counts = append(counts, counter{handler, day, "satisfied", 1})
	}
	if err := count(ctx, tx, counts...); err != nil {
		return err
	}
	data := map[string]any{"satisfaction": r.Satisfaction}
	if r.Score > 0 {
		data["score"] = r.Score
	}
	if err := emit(ctx, tx, "petition.case.rated", caseNo, handler, data); err != nil {
		return err
	}
	return tx.Commit(ctx)
}
