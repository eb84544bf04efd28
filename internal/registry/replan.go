package registry

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/xinfang"
)

// ReplanBatch is the most running deadlines one re-plan transaction looks
// at.
const ReplanBatch = 500

// Replan computes again, with the calendar in force now, every running
// deadline that is not yet due whose calendar was corrected since it was
// computed, when its chain is the same (cases-reference "Deadline snapshot
// rule": a corrected HolidayCalendar re-plans not-yet-due deadlines; a
// policy rolled out never moves one). A deadline whose dates change moves
// with its alarms that did not fire and its due cohort, and records a
// petition.deadline.replanned event; each is stamped with the calendar's
// revision so that it is looked at once. It works in batches (one
// transaction each) and returns the deadlines moved.
func (s *Store) Replan(ctx context.Context, n *Net) (int, error) {
	moved := 0
	for _, office := range n.Offices() {
		cfg, err := n.Config(office)
		if err != nil || cfg.Escalation == nil {
			continue
		}
		rev := cfg.Revisions()
		today := civilDay(s.now().In(n.Location(office)))
		for {
			m, more, err := s.replanBatch(ctx, n, cfg, rev, today)
			moved += m
			if err != nil {
				return moved, err
			}
			if !more {
				break
			}
		}
	}
	return moved, nil
}

func (s *Store) replanBatch(ctx context.Context, n *Net, cfg *xinfang.OfficeConfig, rev xinfang.Revisions, today time.Time) (int, bool, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return 0, false, err
	}
	defer func() { _ = tx.Rollback(ctx) }()
	rows, err := tx.Query(ctx, `SELECT d.case_id, d.seq, d.stage, d.started_on, d.extended_days, d.due, c.case_no
		FROM deadlines d JOIN cases c ON c.id = d.case_id
		WHERE d.office = $1 AND d.ended_at IS NULL AND d.calendar_revision <> $2 AND d.revision = $3
		ORDER BY d.case_id, d.seq LIMIT $4 FOR UPDATE OF d`, cfg.Office, rev.Calendar, rev.Chain, ReplanBatch)
	if err != nil {
		return 0, false, err
	}
	type running struct {
		caseID       int64
		seq          int
		stage        v1alpha1.StageName
		started, due time.Time
		extendDays   int
		caseNo       string
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (running, error) {
		var d running
		err := r.Scan(&d.caseID, &d.seq, &d.stage, &d.started, &d.extendDays, &d.due, &d.caseNo)
		return d, err
	})
	if err != nil {
		return 0, false, err
	}
	moved := 0
	for _, d := range list {
		if !d.due.Before(today) {
			nd, _, err := cfg.StageFrom(xinfang.StageStart{Stage: d.stage, Start: d.started, ExtendDays: d.extendDays})
			if err != nil {
				return moved, false, err
			}
			if nd.Due != d.due.Format(time.DateOnly) {
				if err := s.moveDeadline(ctx, tx, n, d.caseID, d.seq, cfg.Office, d.caseNo, d.due, nd); err != nil {
					return moved, false, err
				}
				moved++
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE deadlines SET calendar_revision = $3 WHERE case_id = $1 AND seq = $2`, d.caseID, d.seq, rev.Calendar); err != nil {
			return moved, false, err
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, false, err
	}
	return moved, len(list) == ReplanBatch, nil
}

// moveDeadline moves a running deadline to the dates of nd: its due dates,
// the case's, its alarms that did not fire, its due cohort; and records the
// move.
func (s *Store) moveDeadline(ctx context.Context, tx pgx.Tx, n *Net, caseID int64, seq int, office, caseNo string, oldDue time.Time, nd xinfang.StageDeadline) error {
	var ext any
	if nd.DueWithExtension != "" {
		ext = nd.DueWithExtension
	}
	if _, err := tx.Exec(ctx, `UPDATE deadlines SET due = $3, due_with_extension = $4 WHERE case_id = $1 AND seq = $2`, caseID, seq, nd.Due, ext); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `UPDATE cases SET due = $2 WHERE id = $1`, caseID, nd.Due); err != nil {
		return err
	}
	if err := s.setAlarms(ctx, tx, n, caseID, seq, office, nd); err != nil {
		return err
	}
	newDue, err := time.Parse(time.DateOnly, nd.Due)
	if err != nil {
		return err
	}
	column := ""
	switch {
	case acceptanceStage(nd.Name):
		column = "acceptance_due"
	case nd.Name == v1alpha1.StageHandling:
		column = "handling_due"
	}
	if column != "" {
		if err := count(ctx, tx, counter{office, oldDue, column, -1}, counter{office, newDue, column, 1}); err != nil {
			return err
		}
	}
	return emit(ctx, tx, "petition.deadline.replanned", caseNo, office, map[string]any{
		"stage": nd.Name, "from": oldDue.Format(time.DateOnly), "to": nd.Due, "reason": "the office's HolidayCalendar was corrected"})
}
