package registry

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// sweeperLockID is the advisory lock of the sweeping leader
// (internal/registry).
const sweeperLockID = 0x70657470

// TestEveryRungOnceAcrossCrashes registers options.cases cases on two
// replicas sweeping every 100 ms, then moves every alarm of those cases
// (reminders and overdue rungs) to fall due over the next dueOver, and
// meanwhile kills (SIGKILL), by turns, the leader (the replica that holds
// the sweeper's advisory lock) and the postmaster at random moments,
// starting each again. In the end every alarm has fired, each with exactly
// one petition.deadline.* event (and each supervising rung one
// petition.supervision.opened), and the feed, followed through the kills
// and read again from its start, serves every event exactly once.
func TestEveryRungOnceAcrossCrashes(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	rng, seed := newRNG(t)
	db := server.Database(t, "")
	restartServer(t)
	f := startFleet(ctx, t, db, 2, "--sweep-interval", "100ms")
	t.Logf("%d cases (CHAOS_REGISTRY_CASES), %d kills (CHAOS_REGISTRY_KILLS)", options.cases, options.kills)

	var acked atomic.Int64
	if _, err := burst(ctx, f, petitions("sweep", options.cases), options.clients, &acked); err != nil {
		t.Fatal(err)
	}
	checkpoint(ctx, t, db)
	dueOver := size().dueOver
	var alarms int64
	err := withConn(ctx, db, func(conn *pgx.Conn) error {
		// A tenth due at once, the rest over dueOver.
		tag, err := conn.Exec(ctx, `UPDATE alarms SET fire_at = now() + (random() * 1.1 - 0.1) * make_interval(secs => $1)`, dueOver.Seconds())
		alarms = tag.RowsAffected()
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	t.Logf("%d alarms of %d cases fall due over %s", alarms, options.cases, dueOver)

	want := make(chan int, 1)
	type followed struct {
		fl  *follower
		err error
	}
	followedc := make(chan followed, 1)
	go func() {
		fl, err := follow(ctx, f, want)
		followedc <- followed{fl, err}
	}()

	// The kills: at random moments within 5–90 % of dueOver, by turns the
	// leader and the postmaster, the first chosen at random.
	moments := make([]time.Duration, options.kills)
	for i := range moments {
		moments[i] = dueOver/20 + time.Duration(rng.Int64N(int64(dueOver*85/100)))
	}
	slices.Sort(moments)
	leaderFirst := rng.IntN(2) == 0
	var kills []string
	leaders, postmasters, midSweep := 0, 0, 0
	for i, m := range moments {
		time.Sleep(time.Until(start.Add(m)))
		at := time.Since(start)
		fired, err := firedCount(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		if fired < alarms {
			midSweep++
		}
		var what string
		if (i%2 == 0) == leaderFirst {
			name, err := leaderName(ctx, db, 3*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			r := f[rng.IntN(len(f))]
			for _, x := range f {
				if x.name == name {
					r = x
				}
			}
			pause := time.Duration(rng.Int64N(int64(500 * time.Millisecond)))
			if err := r.kill(); err != nil {
				t.Fatalf("kill %d: %v", i+1, err)
			}
			time.Sleep(pause)
			if err := r.start(ctx); err != nil {
				t.Fatalf("kill %d: %v", i+1, err)
			}
			leaders++
			if name == "" {
				name = "none held the lock; killed " + r.name
			}
			what = fmt.Sprintf("leader (%s), down %s", name, pause.Round(time.Millisecond))
			kills = append(kills, fmt.Sprintf("%ss leader", seconds(at)))
		} else {
			pause := time.Duration(rng.Int64N(int64(time.Second)))
			if err := server.Kill(); err != nil {
				t.Fatalf("kill %d: %v", i+1, err)
			}
			time.Sleep(pause)
			recovery := time.Now()
			if err := server.Restart(); err != nil {
				t.Fatalf("kill %d: restarting the postmaster: %v", i+1, err)
			}
			postmasters++
			what = fmt.Sprintf("postmaster, down %s, recovered in %s", pause.Round(time.Millisecond), time.Since(recovery).Round(time.Millisecond))
			kills = append(kills, fmt.Sprintf("%ss postmaster", seconds(at)))
		}
		t.Logf("kill %d at %ss, %d of %d alarms fired: %s", i+1, seconds(at), fired, alarms, what)
	}

	// Every alarm fires, at the latest a few sweeps after dueOver.
	deadline := time.Now().Add(2 * time.Minute)
	var fired int64
	for {
		if fired, err = firedCount(ctx, db); err != nil {
			t.Fatal(err)
		}
		if fired == alarms || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	allFired := time.Since(start)
	if fired != alarms {
		t.Errorf("%d of %d alarms fired 2 minutes after the last fell due", fired, alarms)
	} else {
		t.Logf("every alarm fired %ss after the first fell due (%s after the last)", seconds(allFired), (allFired - dueOver).Round(time.Millisecond))
	}
	if err := f.alive(); err != nil {
		t.Error(err)
	}

	s := checkRungs(ctx, t, db)
	want <- len(s.eventIDs)
	res := <-followedc
	if res.err != nil {
		t.Fatal(res.err)
	}
	followDup, followMissing := checkFeed(t, "followed through the kills", res.fl.events, s.eventIDs)
	t.Logf("feed followed through the kills: %d events in %d pages, %d reads tried again", len(res.fl.events), res.fl.pages, res.fl.errors)
	none := make(chan int, 1)
	none <- len(s.eventIDs)
	again, err := follow(ctx, f, none)
	if err != nil {
		t.Fatal(err)
	}
	againDup, againMissing := checkFeed(t, "read again from the start", again.events, s.eventIDs)
	fmt.Printf("CHAOS registry-sweep cases=%d alarms=%d kills=%d leader_kills=%d postmaster_kills=%d kills_with_alarms_due=%d seed=%d all_fired_s=%s late_max_s=%.1f late_p99_s=%.1f unfired=%d missing_events=%d duplicate_events=%d events=%d feed_duplicates=%d feed_missing=%d kill_moments=%q\n",
		options.cases, alarms, len(kills), leaders, postmasters, midSweep, seed, seconds(allFired), s.lateMax, s.lateP99, alarms-fired,
		s.missing, s.duplicate, len(s.eventIDs), followDup+againDup, followMissing+againMissing, strings.Join(kills, ", "))
}

// withConn runs fn on a connection of its own to the database at url: the
// postmaster may have been killed since the last.
func withConn(ctx context.Context, url string, fn func(conn *pgx.Conn) error) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close(context.Background()) }()
	return fn(conn)
}

// firedCount is the number of alarms that fired.
func firedCount(ctx context.Context, db string) (int64, error) {
	var n int64
	err := withConn(ctx, db, func(conn *pgx.Conn) error {
		return conn.QueryRow(ctx, `SELECT count(*) FROM alarms WHERE fired_at IS NOT NULL`).Scan(&n)
	})
	return n, err
}

// leaderName is the application_name (the replica's name) of the connection
// that holds the sweeper's lock on the database at db, waiting up to wait
// for one to hold it; empty when none does by then.
func leaderName(ctx context.Context, db string, wait time.Duration) (string, error) {
	deadline := time.Now().Add(wait)
	for {
		var name string
		err := withConn(ctx, db, func(conn *pgx.Conn) error {
			return conn.QueryRow(ctx, `SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
				WHERE l.locktype = 'advisory' AND l.granted AND l.classid = 0 AND l.objid = $1 AND l.objsubid = 1
					AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())`, sweeperLockID).Scan(&name)
		})
		switch {
		case err == nil:
			return name, nil
		case !errors.Is(err, pgx.ErrNoRows):
			return "", err
		case time.Now().After(deadline):
			return "", nil
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// rungCheck are the figures of checkRungs.
type rungCheck struct {
	missing, duplicate int
	// lateMax and lateP99 are how late alarms fired, in seconds.
	lateMax, lateP99 float64
	// eventIDs are the ids of every event of the outbox.
	eventIDs []string
}

// checkRungs compares the alarms with the outbox: each alarm has fired and
// has exactly one petition.deadline.<kind> event (its case, stage, kind
// and rung), each overdue rung that supervises or flags exactly one
// petition.supervision.opened, and no event is of an alarm that does not
// exist.
func checkRungs(ctx context.Context, t *testing.T, db string) rungCheck {
	t.Helper()
	var s rungCheck
	alarms := map[string]string{}      // case|stage|kind|rung → kind
	supervising := map[string]bool{}   // case|stage|rung
	deadlineEvents := map[string]int{} // case|stage|kind|rung
	supervisionEvents := map[string]int{}
	var problems []string
	err := withConn(ctx, db, func(conn *pgx.Conn) error {
		rows, err := conn.Query(ctx, `SELECT c.case_no, d.stage, a.kind, a.rung, a.action, a.fired_at IS NOT NULL
			FROM alarms a JOIN deadlines d ON d.case_id = a.case_id AND d.seq = a.seq JOIN cases c ON c.id = a.case_id`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var caseNo, stage, kind, action string
			var rung int
			var fired bool
			if err := rows.Scan(&caseNo, &stage, &kind, &rung, &action, &fired); err != nil {
				return err
			}
			alarms[fmt.Sprintf("%s|%s|%s|%d", caseNo, stage, kind, rung)] = kind
			if kind == "overdue" && (action == "Supervise" || action == "Flag") {
				supervising[fmt.Sprintf("%s|%s|%d", caseNo, stage, rung)] = true
			}
			if !fired {
				problems = append(problems, fmt.Sprintf("alarm %s %s %s[%d] did not fire", caseNo, stage, kind, rung))
			}
		}
		if err := rows.Err(); err != nil {
			return err
		}
		rows, err = conn.Query(ctx, `SELECT event_id::text, type, case_no, coalesce(data->>'stage', ''), coalesce(data->>'kind', ''),
			coalesce(data->>'rung', '') FROM events ORDER BY id`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id, typ, caseNo, stage, kind, rung string
			if err := rows.Scan(&id, &typ, &caseNo, &stage, &kind, &rung); err != nil {
				return err
			}
			s.eventIDs = append(s.eventIDs, id)
			switch {
			case strings.HasPrefix(typ, "petition.deadline."):
				if typ != "petition.deadline."+kind {
					problems = append(problems, fmt.Sprintf("event %s of type %s has kind %q", id, typ, kind))
				}
				deadlineEvents[fmt.Sprintf("%s|%s|%s|%s", caseNo, stage, kind, rung)]++
			case typ == "petition.supervision.opened":
				supervisionEvents[fmt.Sprintf("%s|%s|%s", caseNo, stage, rung)]++
			}
		}
		if err := rows.Err(); err != nil {
			return err
		}
		return conn.QueryRow(ctx, `SELECT coalesce(extract(epoch FROM max(fired_at - fire_at))::float8, 0),
			coalesce(percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM fired_at - fire_at)::float8), 0)
			FROM alarms WHERE fired_at IS NOT NULL`).Scan(&s.lateMax, &s.lateP99)
	})
	if err != nil {
		t.Fatal(err)
	}
	for k := range alarms {
		switch n := deadlineEvents[k]; {
		case n == 0:
			s.missing++
			problems = append(problems, fmt.Sprintf("alarm %s has no event", k))
		case n > 1:
			s.duplicate++
			problems = append(problems, fmt.Sprintf("alarm %s has %d events", k, n))
		}
	}
	for k, n := range deadlineEvents {
		if _, ok := alarms[k]; !ok {
			s.duplicate += n
			problems = append(problems, fmt.Sprintf("%d deadline events of %s, which is no alarm", n, k))
		}
	}
	for k := range supervising {
		switch n := supervisionEvents[k]; {
		case n == 0:
			s.missing++
			problems = append(problems, fmt.Sprintf("supervising rung %s has no petition.supervision.opened", k))
		case n > 1:
			s.duplicate++
			problems = append(problems, fmt.Sprintf("supervising rung %s has %d petition.supervision.opened", k, n))
		}
	}
	for k, n := range supervisionEvents {
		if !supervising[k] {
			s.duplicate += n
			problems = append(problems, fmt.Sprintf("%d petition.supervision.opened of %s, which is no supervising rung", n, k))
		}
	}
	t.Logf("outbox: %d alarms (%d supervising rungs), %d deadline events, %d supervision events, %d events in all; fired late by at most %.1f s (p99 %.1f s)",
		len(alarms), len(supervising), sum(deadlineEvents), sum(supervisionEvents), len(s.eventIDs), s.lateMax, s.lateP99)
	if len(problems) > 0 {
		t.Errorf("%d problems:\n%s", len(problems), firstN(problems))
	}
	return s
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// checkFeed fails unless the feed served each event of the outbox exactly
// once, and nothing else. It returns the events served more than once and
// those never served.
func checkFeed(t *testing.T, how string, served []event, outbox []string) (duplicates, missing int) {
	t.Helper()
	seen := map[string]int{}
	for _, e := range served {
		seen[e.ID]++
	}
	var problems []string
	for id, n := range seen {
		if n > 1 {
			duplicates++
			problems = append(problems, fmt.Sprintf("event %s served %d times", id, n))
		}
	}
	in := map[string]bool{}
	for _, id := range outbox {
		in[id] = true
		if seen[id] == 0 {
			missing++
			problems = append(problems, fmt.Sprintf("event %s never served", id))
		}
	}
	for id := range seen {
		if !in[id] {
			problems = append(problems, fmt.Sprintf("event %s served, not in the outbox", id))
		}
	}
	if len(problems) > 0 {
		t.Errorf("the feed %s: %d problems:\n%s", how, len(problems), firstN(problems))
	}
	return duplicates, missing
}
