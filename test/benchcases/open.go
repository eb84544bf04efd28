package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/xinfang/petition-operator/internal/registry"
)

// tableBytes is the size of the registry's tables (all when none is
// named) with their indexes and TOAST.
func tableBytes(ctx context.Context, db *pgxpool.Pool, tables ...string) (int64, error) {
	sizes, err := tableSizes(ctx, db)
	var n int64
	for t, size := range sizes {
		if len(tables) == 0 || slices.Contains(tables, t) {
			n += size
		}
	}
	return n, err
}

// tableSizes is the size of each of the registry's tables with its
// indexes and TOAST.
func tableSizes(ctx context.Context, db *pgxpool.Pool) (map[string]int64, error) {
	rows, err := db.Query(ctx, `SELECT relname::text, pg_total_relation_size(relid) FROM pg_stat_user_tables
		WHERE schemaname = 'public' AND relname <> 'goose_db_version'`)
	if err != nil {
		return nil, err
	}
	sizes := map[string]int64{}
	var name string
	var size int64
	_, err = pgx.ForEachRow(rows, []any{&name, &size}, func() error {
		sizes[name] = size
		return nil
	})
	return sizes, err
}

// growth says how much each table grew per case, largest first.
func growth(before, after map[string]int64, cases int) string {
	type row struct {
		table string
		bytes int64
	}
	var rows []row
	for t, size := range after {
		if d := size - before[t]; d > 0 {
			rows = append(rows, row{t, d})
		}
	}
	slices.SortFunc(rows, func(a, b row) int { return int(b.bytes - a.bytes) })
	parts := make([]string, len(rows))
	for i, r := range rows {
		parts[i] = fmt.Sprintf("%s %.0f", r.table, float64(r.bytes)/float64(cases))
	}
	return strings.Join(parts, ", ")
}

// bulkChunk is how many cases one transaction of the bulk load writes.
const bulkChunk = 50_000

// spreadDays spreads the bulk-loaded cases' deadlines and alarms over
// this many days after those of the cases they copy.
const spreadDays = 60

// The bulk load copies the open cases the registry took, in turn, as
// new cases: the same columns (sealed personal data, projection) under a
// new id and case number, with other HMACs; each one's deadlines and
// alarms, moved by up to spreadDays days. These are the rows Take writes
// for a case's first stage, without its timeline, intake key and event.
const (
	bulkCases = `INSERT INTO cases (id, case_no, query_hash, receiver, office, handler, return_to, state, stage, due,
			type, category, channel, locality, skip_level, redirect_to, group_size, extended, confidential,
			received_at, received_on, person_id, person_phone, name_enc, phone_enc, id_number_enc, description_enc, projection)
		OVERRIDING SYSTEM VALUE
		SELECT $1::bigint + g, to_char(c.received_on, 'YYYY') || '-' || lpad(($2::bigint + g)::text, greatest(7, length(($2::bigint + g)::text)), '0'),
			sha256(c.query_hash || int8send(g)), c.receiver, c.office, c.handler, c.return_to, c.state, c.stage, c.due + (g % $5)::int,
			c.type, c.category, c.channel, c.locality, c.skip_level, c.redirect_to, c.group_size, c.extended, c.confidential,
			c.received_at, c.received_on, sha256(c.person_id || int8send(g)), sha256(c.person_phone || int8send(g)),
			c.name_enc, c.phone_enc, c.id_number_enc, c.description_enc, c.projection
		FROM generate_series($3::bigint, $4::bigint) g JOIN bench_templates t ON t.k = g % $6 JOIN cases c ON c.id = t.id`
	bulkDeadlines = `INSERT INTO deadlines (case_id, seq, stage, office, started_on, due, due_with_extension, extended_days, revision, calendar_revision, ended_at, on_time)
		SELECT $1::bigint + g, d.seq, d.stage, d.office, d.started_on, d.due + (g % $4)::int, d.due_with_extension + (g % $4)::int,
			d.extended_days, d.revision, d.calendar_revision, d.ended_at, d.on_time
		FROM generate_series($2::bigint, $3::bigint) g JOIN bench_templates t ON t.k = g % $5 JOIN deadlines d ON d.case_id = t.id`
	bulkAlarms = `INSERT INTO alarms (case_id, seq, kind, rung, action, by_office, fire_at, fired_at)
		SELECT $1::bigint + g, a.seq, a.kind, a.rung, a.action, a.by_office, a.fire_at + make_interval(days => (g % $4)::int), a.fired_at
		FROM generate_series($2::bigint, $3::bigint) g JOIN bench_templates t ON t.k = g % $5 JOIN alarms a ON a.case_id = t.id`
)

// bulkLoad adds n open cases to the database by copying those there, in
// transactions of bulkChunk cases, then vacuums and analyzes the tables.
// It returns the growth of cases, deadlines and alarms.
func bulkLoad(ctx context.Context, o options, db *pgxpool.Pool, n int) (int64, error) {
	before, err := tableBytes(ctx, db, "cases", "deadlines", "alarms")
	if err != nil {
		return 0, err
	}
	conn, err := db.Acquire(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `CREATE TEMP TABLE bench_templates AS
		SELECT (row_number() OVER (ORDER BY id) - 1)::int AS k, id FROM cases WHERE closed_at IS NULL`); err != nil {
		return 0, err
	}
	defer func() { _, _ = conn.Exec(context.WithoutCancel(ctx), `DROP TABLE bench_templates`) }()
	var templates int
	var baseID, baseSeq int64
	if err := conn.QueryRow(ctx, `SELECT (SELECT count(*) FROM bench_templates), (SELECT coalesce(max(id), 0) FROM cases),
		(SELECT last_value FROM case_numbers)`).Scan(&templates, &baseID, &baseSeq); err != nil {
		return 0, err
	}
	if templates == 0 {
		return 0, fmt.Errorf("no open case to copy")
	}
	start := time.Now()
	for from := 1; from <= n; from += bulkChunk {
		to := min(from+bulkChunk-1, n)
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, bulkCases, baseID, baseSeq, from, to, spreadDays, templates); err != nil {
				return fmt.Errorf("bulk load of cases: %w", err)
			}
			for _, q := range []string{bulkDeadlines, bulkAlarms} {
				if _, err := tx.Exec(ctx, q, baseID, from, to, spreadDays, templates); err != nil {
					return fmt.Errorf("bulk load of %s: %w", strings.Fields(q)[2], err)
				}
			}
			return nil
		})
		if err != nil {
			return 0, err
		}
		if to == n || to%200_000 == 0 {
			o.step("  %d of %d cases loaded (%.0f/s)", to, n, float64(to)/time.Since(start).Seconds())
		}
	}
	if _, err := conn.Exec(ctx, `SELECT setval(pg_get_serial_sequence('cases', 'id'), $1), setval('case_numbers', $2)`,
		baseID+int64(n), baseSeq+int64(n)); err != nil {
		return 0, err
	}
	o.step("  vacuum, analyze, checkpoint")
	// As a database that grew over months: its statistics and visibility
	// map current, and the load's pages written out, not left for the
	// checkpointer to write during the measures.
	for _, q := range []string{`VACUUM (ANALYZE) cases, deadlines, alarms`, `CHECKPOINT`} {
		if _, err := conn.Exec(ctx, q); err != nil {
			return 0, err
		}
	}
	after, err := tableBytes(ctx, db, "cases", "deadlines", "alarms")
	return after - before, err
}

// sweepTicks times ticks sweeps of store that must find nothing due and
// returns their median and maximum.
func sweepTicks(ctx context.Context, store *registry.Store, ticks int) (median, most time.Duration, err error) {
	took := make([]time.Duration, 0, ticks)
	for range ticks {
		start := time.Now()
		fired, err := store.Sweep(ctx)
		d := time.Since(start)
		if err != nil {
			return 0, 0, err
		}
		if fired != 0 {
			return 0, 0, fmt.Errorf("an empty sweep fired %d alarms", fired)
		}
		took = append(took, d)
		// As the leader's ticks, not back to back.
		time.Sleep(20 * time.Millisecond)
	}
	slices.Sort(took)
	return quantile(took, 0.5), took[len(took)-1], nil
}

// sweepPlan is the plan of the sweep's selection of due alarms, run.
func sweepPlan(ctx context.Context, db *pgxpool.Pool) (string, error) {
	rows, err := db.Query(ctx, `EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
		SELECT a.case_id, a.seq, a.kind, a.rung FROM alarms a
		WHERE a.fired_at IS NULL AND a.fire_at <= now() ORDER BY a.fire_at LIMIT 1000`)
	if err != nil {
		return "", err
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return "  " + strings.Join(lines, "\n  "), err
}

// dueFire makes due alarms of as many open cases fall due a minute ago,
// then times a sweep until it has fired them all. It returns the time and
// the events written.
func dueFire(ctx context.Context, store *registry.Store, db *pgxpool.Pool, due int) (time.Duration, int, error) {
	tag, err := db.Exec(ctx, `UPDATE alarms a SET fire_at = now() - interval '1 minute'
		FROM (SELECT case_id, seq, kind, rung FROM alarms WHERE fired_at IS NULL ORDER BY random() LIMIT $1) p
		WHERE a.case_id = p.case_id AND a.seq = p.seq AND a.kind = p.kind AND a.rung = p.rung`, due)
	if err != nil {
		return 0, 0, err
	}
	if int(tag.RowsAffected()) != due {
		return 0, 0, fmt.Errorf("%d alarms to fall due, not %d", tag.RowsAffected(), due)
	}
	// As if they had been written so: no dead rows of the update.
	if _, err := db.Exec(ctx, `VACUUM (ANALYZE) alarms`); err != nil {
		return 0, 0, err
	}
	var eventsBefore, firedBefore int
	if err := db.QueryRow(ctx, `SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM alarms WHERE fired_at IS NOT NULL)`).
		Scan(&eventsBefore, &firedBefore); err != nil {
		return 0, 0, err
	}
	start := time.Now()
	fired, err := store.Sweep(ctx)
	took := time.Since(start)
	if err != nil {
		return 0, 0, err
	}
	var events, firedAfter int
	if err := db.QueryRow(ctx, `SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM alarms WHERE fired_at IS NOT NULL)`).
		Scan(&events, &firedAfter); err != nil {
		return 0, 0, err
	}
	events -= eventsBefore
	if fired != due || firedAfter-firedBefore != due || events < due {
		return 0, 0, fmt.Errorf("the sweep fired %d alarms (%d marked) and wrote %d events; want %d alarms and as many events at least",
			fired, firedAfter-firedBefore, events, due)
	}
	return took, events, nil
}

// statement is a row of pg_stat_statements.
type statement struct {
	query       string
	calls       int64
	total, mean float64
}

// topStatements are the statements that took the most time.
func topStatements(ctx context.Context, db *pgxpool.Pool, n int) ([]statement, error) {
	rows, err := db.Query(ctx, `SELECT query, calls, total_exec_time, mean_exec_time FROM pg_stat_statements
		ORDER BY total_exec_time DESC LIMIT $1`, n)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (statement, error) {
		var s statement
		err := r.Scan(&s.query, &s.calls, &s.total, &s.mean)
		return s, err
	})
}

func printStatements(out io.Writer, stmts []statement) error {
	if _, err := fmt.Fprintln(out, "\nstatements of the intakes (pg_stat_statements):"); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	if _, err := fmt.Fprintln(tw, "  calls\ttotal_ms\tmean_ms\tquery"); err != nil {
		return err
	}
	for _, s := range stmts {
		q := strings.Join(strings.Fields(s.query), " ")
		if len(q) > 110 {
			q = q[:110] + "…"
		}
		if _, err := fmt.Fprintf(tw, "  %d\t%.0f\t%.3f\t%s\n", s.calls, s.total, s.mean, q); err != nil {
			return err
		}
	}
	return tw.Flush()
}
