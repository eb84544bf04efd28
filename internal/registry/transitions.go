package registry

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/cases"
	"github.com/xinfang/petition-operator/internal/xinfang"
)

// Moved is a case after a transition: its progress and its new version
// (the ETag of the next If-Match).
type Moved struct {
	Progress
	Version int    `json:"version"`
	Handler string `json:"handler"`
}

// Transition moves a case by one action of the state machine
// (internal/cases) for an office's staff, in one transaction: the case,
// the stage that ends (whether it met its due date) and the one that
// starts (its deadline computed now, at its office), the alarms, the
// counters, the timeline, the event and the audit row. version is the
// If-Match: a stale one changes nothing.
func (s *Store) Transition(ctx context.Context, actor Actor, caseNo string, version int, req cases.Request) (Moved, error) {
	n := s.net.Current()
	now := s.now()
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{})
	if err != nil {
		return Moved{}, err
	}
	defer func() { _ = tx.Rollback(ctx) }()
	r, err := scanRow(tx.QueryRow(ctx, `SELECT `+rowColumns+` FROM cases WHERE case_no = $1 FOR UPDATE`, caseNo))
	if errors.Is(err, pgx.ErrNoRows) {
		return Moved{}, &NotFoundError{CaseNo: caseNo}
	}
	if err != nil {
		return Moved{}, err
	}
	if err := s.authorize(actor, r); err != nil {
		return Moved{}, err
	}
	if r.version != version {
		return Moved{}, &StaleError{CaseNo: caseNo, Want: version, Current: r.version}
	}
	c := cases.Case{State: r.state, Type: v1alpha1.PetitionType(r.typ), Office: r.office, Handler: r.handler, Extended: r.extended}
	if r.stage != nil {
		c.Stage = v1alpha1.StageName(*r.stage)
	}
	if r.returnTo != nil {
		c.ReturnTo = *r.returnTo
	}
	if cfg, err := n.Config(r.handler); err == nil && cfg.Escalation != nil {
		for _, st := range cfg.Escalation.Steps {
			office := st.Office
			if office == "" {
				office = n.Root(r.handler)
			}
			switch st.Stage {
			case v1alpha1.StageHandling:
				if st.Extension != nil {
					c.MaxExtensionDays = st.Extension.Days
				}
			case v1alpha1.StageReview:
				c.Reviewer = office
			case v1alpha1.StageReReview:
				c.ReReviewer = office
			}
		}
	}
	if req.Action == cases.Forward || req.Action == cases.Assign {
		if o, ok := n.Office(req.Office); ok && !o.Spec.Level.HasTenant() {
			return Moved{}, &cases.FieldError{Field: "office", Message: fmt.Sprintf("office %s is a %s served by its township; forward to %s", xinfang.Quote(req.Office), o.Spec.Level, xinfang.Quote(string(o.Spec.Parent)))}
		} else if !ok && req.Office != "" {
			return Moved{}, &cases.FieldError{Field: "office", Message: fmt.Sprintf("office %s does not exist", xinfang.Quote(req.Office))}
		}
	}
	var mergedInto *int64
	if req.Action == cases.Merge && req.Into != "" {
		var id int64
		err := tx.QueryRow(ctx, `SELECT id FROM cases WHERE case_no = $1`, req.Into).Scan(&id)
		switch {
		case errors.Is(err, pgx.ErrNoRows) || req.Into == caseNo:
			return Moved{}, &cases.FieldError{Field: "into", Message: fmt.Sprintf("case %s does not exist or is this case; merge into the original case", xinfang.Quote(req.Into))}
		case err != nil:
			return Moved{}, err
		}
		mergedInto = &id
	}
	out, err := cases.Decide(c, req)
	if err != nil {
		return Moved{}, err
	}
	today := civilDay(now.In(n.Location(r.office)))

	var seq int
	if err := tx.QueryRow(ctx, `SELECT coalesce(max(seq), 0) FROM deadlines WHERE case_id = $1`, r.id).Scan(&seq); err != nil {
		return Moved{}, err
	}
	var counts []counter
	due := r.due
	if out.EndsStage && seq > 0 {
		var stage, office string
		var stageDue time.Time
		var onTime bool
		err := tx.QueryRow(ctx, `UPDATE deadlines SET ended_at = $3, on_time = ($4::date <= due)
			WHERE case_id = $1 AND seq = $2 AND ended_at IS NULL RETURNING stage, office, due, on_time`,
			r.id, seq, now, today).Scan(&stage, &office, &stageDue, &onTime)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
		case err != nil:
			return Moved{}, err
		default:
			if _, err := tx.Exec(ctx, `DELETE FROM alarms WHERE case_id = $1 AND seq = $2 AND fired_at IS NULL`, r.id, seq); err != nil {
				return Moved{}, err
			}
			counts = append(counts, endCounters(req.Action, v1alpha1.StageName(stage), office, stageDue, today, onTime)...)
		}
		due = nil
	}
	switch req.Action {
	case cases.Accept:
		counts = append(counts, counter{r.office, today, "accepted", 1})
	case cases.NotAccept:
		counts = append(counts, counter{r.office, today, "not_accepted", 1})
	case cases.Close:
		counts = append(counts, counter{r.handler, today, "closed", 1})
	}
	if out.ExtendDays > 0 && seq > 0 {
		d, err := s.extend(ctx, tx, n, r.id, seq, out.ExtendDays)
		if err != nil {
			return Moved{}, err
		}
		due = &d
	}
	if out.StartsStage {
		seq++
		cfg, err := n.Config(out.Office)
		if err != nil {
			return Moved{}, err
		}
		d, _, err := cfg.StageFrom(xinfang.StageStart{Stage: out.Stage, Start: today})
		if err != nil {
			return Moved{}, err
		}
		d.Office = out.Office
		if err := s.startStage(ctx, tx, n, r.id, seq, d, today, cfg.Revisions()); err != nil {
			return Moved{}, err
		}
		t, err := time.Parse(time.DateOnly, d.Due)
		if err != nil {
			return Moved{}, err
		}
		due = &t
	}
	if err := count(ctx, tx, counts...); err != nil {
		return Moved{}, err
	}
	var stage *string
	if out.Stage != "" && (out.StartsStage || !out.EndsStage) {
		st := string(out.Stage)
		stage = &st
	}
	var returnTo *string
	if out.ReturnTo != "" {
		returnTo = &out.ReturnTo
	}
	var closedAt *time.Time
	if !out.State.Open() {
		closedAt = &now
	}
	if _, err := tx.Exec(ctx, `UPDATE cases SET state = $2, office = $3, handler = $4, return_to = $5, stage = $6, due = $7,
			extended = extended OR $8, merged_into = coalesce($9, merged_into), closed_at = $10, version = version + 1, updated_at = $11
		WHERE id = $1`, r.id, out.State, out.Office, out.Handler, returnTo, stage, due, out.ExtendDays > 0, mergedInto, closedAt, now); err != nil {
		return Moved{}, err
	}
	var steps int
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM timeline WHERE case_id = $1`, r.id).Scan(&steps); err != nil {
		return Moved{}, err
	}
	if err := addTimeline(ctx, tx, r.id, steps+1, now, string(req.Action), out.State, out.Office, req.Note); err != nil {
		return Moved{}, err
	}
	data := map[string]any{"action": req.Action, "from": r.state, "state": out.State, "by": actor.Office}
	if out.Stage != "" && stage != nil {
		data["stage"] = out.Stage
	}
	if due != nil {
		data["due"] = due.Format(time.DateOnly)
	}
	if out.Office != r.office {
		data["previousOffice"] = r.office
	}
	if err := emit(ctx, tx, out.Event, caseNo, out.Office, data); err != nil {
		return Moved{}, err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO audit (actor, office, action, case_no, personal, status) VALUES ($1, $2, $3, $4, false, 200)`,
		actor.Name, actor.Office, "transition:"+string(req.Action), caseNo); err != nil {
		return Moved{}, err
	}
	p, err := s.progress(ctx, tx, r.id)
	if err != nil {
		return Moved{}, err
	}
	if err := tx.Commit(ctx); err != nil {
		return Moved{}, err
	}
	return Moved{Progress: p, Version: r.version + 1, Handler: out.Handler}, nil
}

// endCounters counts a stage that ends by action on today: an acceptance
// decision (accept, not accept, forward, assign, return) by its due date
// is timely; a reply by its due date is on time, in the closed cohort (the
// day of the reply) and in the due cohort (the due date). A stage that ends
// because the case was withdrawn or merged leaves its due cohort: nothing
// was decided.
func endCounters(action cases.Action, stage v1alpha1.StageName, office string, due, today time.Time, onTime bool) []counter {
	one := func(b bool) int {
		if b {
			return 1
		}
		return 0
	}
	gone := action == cases.Withdraw || action == cases.Merge
	switch {
	case acceptanceStage(stage) && gone:
		return []counter{{office, due, "acceptance_due", -1}}
	case acceptanceStage(stage):
		return []counter{{office, due, "acceptance_timely", one(onTime)}}
	case stage == v1alpha1.StageHandling && gone:
		return []counter{{office, due, "handling_due", -1}}
	case stage == v1alpha1.StageHandling:
		return []counter{{office, today, "replied", 1}, {office, today, "replied_on_time", one(onTime)},
			{office, due, "handling_due_on_time", one(onTime)}}
	}
	return nil
}

// extend grants an extension to the running stage: its due date and
// alarms computed again from its start with the days granted, and its due
// cohort moved to the new due date.
func (s *Store) extend(ctx context.Context, tx pgx.Tx, n *Net, caseID int64, seq, days int) (time.Time, error) {
	var stage, office string
	var started, oldDue time.Time
	if err := tx.QueryRow(ctx, `SELECT stage, office, started_on, due FROM deadlines WHERE case_id = $1 AND seq = $2`, caseID, seq).
		Scan(&stage, &office, &started, &oldDue); err != nil {
		return time.Time{}, err
	}
	cfg, err := n.Config(office)
	if err != nil {
		return time.Time{}, err
	}
	d, _, err := cfg.StageFrom(xinfang.StageStart{Stage: v1alpha1.StageName(stage), Start: started, ExtendDays: days})
	if err != nil {
		return time.Time{}, &cases.FieldError{Field: "days", Message: err.Error()}
	}
	due, err := time.Parse(time.DateOnly, d.Due)
	if err != nil {
		return time.Time{}, err
	}
	if _, err := tx.Exec(ctx, `UPDATE deadlines SET due = $3, extended_days = $4 WHERE case_id = $1 AND seq = $2`, caseID, seq, due, days); err != nil {
		return time.Time{}, err
	}
	// The reminders and the rungs count from the extended due date.
	if err := s.setAlarms(ctx, tx, n, caseID, seq, office, d); err != nil {
		return time.Time{}, err
	}
	if v1alpha1.StageName(stage) == v1alpha1.StageHandling {
		if err := count(ctx, tx, counter{office, oldDue, "handling_due", -1}, counter{office, due, "handling_due", 1}); err != nil {
			return time.Time{}, err
		}
	}
	return due, nil
}
