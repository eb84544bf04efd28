package registry

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/cases"
	"github.com/xinfang/petition-operator/internal/xinfang"
)

// Alarm kinds: a reminder before a due date (催办 ahead of time), a rung of
// the overdue ladder after it.
const (
	alarmReminder = "reminder"
	alarmOverdue  = "overdue"
)

// execer runs a statement that returns no rows: a pgx.Tx at once, a
// *batch queued with the others of its change.
type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// batch queues the writes of a change that return nothing, to send them to
// the database in one round trip (pgx.Batch) before the commit. An error
// of any comes back from send.
type batch struct{ b pgx.Batch }

// Exec queues the statement.
func (b *batch) Exec(_ context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	b.b.Queue(sql, args...)
	return pgconn.CommandTag{}, nil
}

// send runs the queued statements in tx, in their order.
func (b *batch) send(ctx context.Context, tx pgx.Tx) error {
	if b.b.Len() == 0 {
		return nil
	}
	return tx.SendBatch(ctx, &b.b).Close()
}

// acceptanceStage says whether a stage's end is an acceptance decision
// (及时受理率): a Transfer or an Acceptance.
func acceptanceStage(stage v1alpha1.StageName) bool {
	return stage == v1alpha1.StageTransfer || stage == v1alpha1.StageAcceptance
}

// startStage records a stage that starts: its deadline as computed now
// (with the chain revision), its alarms, and the cohort counter of its due
// date.
func (s *Store) startStage(ctx context.Context, tx execer, n *Net, caseID int64, seq int, d xinfang.StageDeadline, start time.Time, rev xinfang.Revisions) error {
	var ext any
	if d.DueWithExtension != "" {
		ext = d.DueWithExtension
	}
	office := d.Office
	if _, err := tx.Exec(ctx, `INSERT INTO deadlines (case_id, seq, stage, office, started_on, due, due_with_extension, revision, calendar_revision)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, caseID, seq, d.Name, office, start, d.Due, ext, rev.Chain, rev.Calendar); err != nil {
		return err
	}
	if err := s.setAlarms(ctx, tx, n, caseID, seq, office, d); err != nil {
		return err
	}
	due, err := time.Parse(time.DateOnly, d.Due)
	if err != nil {
		return err
	}
	switch {
	case acceptanceStage(d.Name):
		return count(ctx, tx, counter{office, due, "acceptance_due", 1})
	case d.Name == v1alpha1.StageHandling:
		return count(ctx, tx, counter{office, due, "handling_due", 1})
	}
	return nil
}

// setAlarms writes the alarms of a running stage: each reminder, and each
// rung of its overdue ladder (one Remind by the office itself the day after
// the due date when the chain declares none). An alarm that fired already
// keeps its time; one that did not moves with the stage (an extension).
func (s *Store) setAlarms(ctx context.Context, tx execer, n *Net, caseID int64, seq int, office string, d xinfang.StageDeadline) error {
	loc := n.Location(office)
	type alarm struct {
		kind       string
		rung       int
		action, by string
		date       string
	}
	var alarms []alarm
	for i, r := range d.Reminders {
		alarms = append(alarms, alarm{alarmReminder, i, "Remind", office, r})
	}
	if len(d.Overdue) == 0 {
		due, err := time.Parse(time.DateOnly, d.Due)
		if err != nil {
			return err
		}
		alarms = append(alarms, alarm{alarmOverdue, 0, string(v1alpha1.OverdueRemind), office, due.AddDate(0, 0, 1).Format(time.DateOnly)})
	}
	for i, r := range d.Overdue {
		by := r.Office
		if by == "" {
			by = n.Root(office)
		}
		alarms = append(alarms, alarm{alarmOverdue, i, string(r.Action), by, r.At})
	}
	for _, a := range alarms {
		day, err := time.ParseInLocation(time.DateOnly, a.date, loc)
		if err != nil {
			return fmt.Errorf("alarm %s[%d] of stage %s: %w", a.kind, a.rung, d.Name, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO alarms (case_id, seq, kind, rung, action, by_office, fire_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)
			ON CONFLICT (case_id, seq, kind, rung) DO UPDATE SET fire_at = EXCLUDED.fire_at, action = EXCLUDED.action, by_office = EXCLUDED.by_office
			WHERE alarms.fired_at IS NULL`, caseID, seq, a.kind, a.rung, a.action, a.by, day); err != nil {
			return err
		}
	}
	return nil
}

// counter is one increment of an office's counters of a day.
type counter struct {
	office string
	day    time.Time
	column string
	delta  int
}

// countColumns are the counters of office_days, the only columns count
// writes (its column names are never input).
var countColumns = map[string]bool{
	"received": true, "skip_level": true, "skip_level_attributed": true, "repeat": true, "collective": true,
	"accepted": true, "not_accepted": true, "acceptance_due": true, "acceptance_timely": true,
	"replied": true, "replied_on_time": true, "handling_due": true, "handling_due_on_time": true,
	"closed": true, "rated": true, "satisfied": true,
}

// count adds the counters in the transaction of the change they count,
// in the order of their rows (office, day), so that two transactions
// counting the same rows lock them in the same order and never wait for
// each other in a cycle.
func count(ctx context.Context, tx execer, cs ...counter) error {
	cs = slices.Clone(cs)
	slices.SortStableFunc(cs, func(a, b counter) int {
		return cmp.Or(cmp.Compare(a.office, b.office), a.day.Compare(b.day))
	})
	for _, c := range cs {
		if c.office == "" || c.delta == 0 {
			continue
		}
		if !countColumns[c.column] {
			return fmt.Errorf("no counter %q", c.column)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO office_days (office, day, `+c.column+`) VALUES ($1, $2, $3)
			ON CONFLICT (office, day) DO UPDATE SET `+c.column+` = office_days.`+c.column+` + EXCLUDED.`+c.column,
			c.office, c.day, c.delta); err != nil {
			return err
		}
	}
	return nil
}

// emit writes an event to the outbox in the transaction of the change. No
// personal data goes into an event.
func emit(ctx context.Context, tx execer, typ, caseNo, office string, data map[string]any) error {
	body, err := json.Marshal(data)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO events (type, case_no, office, data) VALUES ($1, $2, $3, $4)`, typ, caseNo, office, body)
	return err
}

// addTimeline appends a step of the public timeline.
func addTimeline(ctx context.Context, tx execer, caseID int64, seq int, at time.Time, action string, state cases.State, office, note string) error {
	var n any
	if note != "" {
		n = note
	}
	_, err := tx.Exec(ctx, `INSERT INTO timeline (case_id, seq, at, action, state, office, note) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		caseID, seq, at, action, state, office, n)
	return err
}
