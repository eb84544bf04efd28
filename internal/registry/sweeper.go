package registry

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// sweeperLockID is the advisory lock held by the one replica that sweeps
// and delivers: the leader.
const sweeperLockID = 0x70657470 // "petp"

// SweepBatch is the most alarms one sweep transaction fires.
const SweepBatch = 1000

// Sweep fires the alarms whose time has come, each exactly once: in one
// transaction per batch, each alarm is marked fired and its event written
// to the outbox, the alarms locked so that a second sweeper skips them. A
// sweep that crashes fires nothing it did not commit; the next fires it.
// It returns the number fired.
func (s *Store) Sweep(ctx context.Context) (int, error) {
	total := 0
	for {
		n, err := s.sweepBatch(ctx)
		total += n
		if err != nil || n < SweepBatch {
			return total, err
		}
	}
}

func (s *Store) sweepBatch(ctx context.Context) (int, error) {
	now := s.now()
	// One statement, a transaction of its own (one round trip): lock the
	// due alarms, mark them fired and write their events, with the stage
	// they belong to.
	var fired int
	err := s.pool.QueryRow(ctx, `
		WITH due AS (
			SELECT a.case_id, a.seq, a.kind, a.rung FROM alarms a
			WHERE a.fired_at IS NULL AND a.fire_at <= $1
			ORDER BY a.fire_at LIMIT $2
			FOR UPDATE SKIP LOCKED
		), fired AS (
			UPDATE alarms a SET fired_at = $1 FROM due
			WHERE a.case_id = due.case_id AND a.seq = due.seq AND a.kind = due.kind AND a.rung = due.rung
			RETURNING a.case_id, a.seq, a.kind, a.rung, a.action, a.by_office, a.fire_at
		), written AS (
		INSERT INTO events (type, case_no, office, at, data)
		SELECT CASE WHEN f.kind = 'reminder' THEN 'petition.deadline.reminder' ELSE 'petition.deadline.overdue' END,
			c.case_no, d.office, $1,
			jsonb_build_object('stage', d.stage, 'due', d.due, 'kind', f.kind, 'rung', f.rung, 'action', f.action,
				'by', f.by_office, 'firesAt', f.fire_at)
		FROM fired f JOIN deadlines d ON d.case_id = f.case_id AND d.seq = f.seq JOIN cases c ON c.id = f.case_id
		UNION ALL
		SELECT 'petition.supervision.opened', c.case_no, f.by_office, $1,
			jsonb_build_object('stage', d.stage, 'due', d.due, 'rung', f.rung, 'action', f.action, 'office', d.office)
		FROM fired f JOIN deadlines d ON d.case_id = f.case_id AND d.seq = f.seq JOIN cases c ON c.id = f.case_id
		WHERE f.kind = 'overdue' AND f.action IN ('Supervise', 'Flag')
		RETURNING 1)
		SELECT count(*) FROM fired`, now, SweepBatch).Scan(&fired)
	if err != nil {
		return 0, err
	}
	return fired, nil
}

// Leader runs fn while this replica holds the sweeper's advisory lock, on
// a connection of its own: one replica sweeps and delivers at a time, and
// another takes over within a try of the lock when it dies (its session
// ends and the lock with it). It returns when ctx ends.
func Leader(ctx context.Context, pool *pgxpool.Pool, retry time.Duration, fn func(ctx context.Context)) error {
	for {
		held, err := leadOnce(ctx, pool, fn)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil && !errors.Is(err, context.Canceled) {
			held = false
		}
		if !held {
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(retry):
			}
		}
	}
}

func leadOnce(ctx context.Context, pool *pgxpool.Pool, fn func(ctx context.Context)) (bool, error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return false, err
	}
	defer conn.Release()
	var held bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, sweeperLockID).Scan(&held); err != nil || !held {
		return false, err
	}
	// Lead until ctx ends or the session holding the lock is lost.
	lead, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(lead)
	}()
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			cancel()
			<-done
			_, _ = conn.Exec(context.Background(), `SELECT pg_advisory_unlock($1)`, sweeperLockID)
			return true, nil
		case <-t.C:
			if err := conn.Ping(ctx); err != nil {
				cancel()
				<-done
				_ = conn.Conn().Close(context.Background())
				return true, err
			}
		}
	}
}
