package registry

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestRegistryKilledMidBurst kills a replica (SIGKILL), chosen at random,
// at random moments of a burst of intakes that clients spread over two
// replicas and retry with their keys, and starts it again after 0–0.5 s.
// Every acknowledged case must be in the database exactly once, under its
// key alone, and a replay of each key must answer what was acknowledged.
func TestRegistryKilledMidBurst(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	rng, seed := newRNG(t)
	db := server.Database(t, "")
	f := startFleet(ctx, t, db, 2)
	runBurst(ctx, t, "registry-kill", seed, f, db, func() (string, error) {
		r := f[rng.IntN(len(f))]
		pause := time.Duration(rng.Int64N(int64(500 * time.Millisecond)))
		if err := r.kill(); err != nil {
			return "", err
		}
		time.Sleep(pause)
		if err := r.start(ctx); err != nil {
			return "", err
		}
		return fmt.Sprintf("%s, down %s, listening again %s after its start", r.name, pause.Round(time.Millisecond), r.lastStart().Round(time.Millisecond)), nil
	})
}

// TestPostmasterKilledMidBurst kills the postmaster (SIGKILL: no
// checkpoint; its backends end) at random moments of the same burst and
// starts it again on its data after 0–1 s: the replicas keep running and
// reconnect, the clients retry. Nothing acknowledged may be lost or
// doubled.
func TestPostmasterKilledMidBurst(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	rng, seed := newRNG(t)
	db := server.Database(t, "")
	restartServer(t)
	f := startFleet(ctx, t, db, 2)
	checkpoint(ctx, t, db)
	runBurst(ctx, t, "postmaster-kill", seed, f, db, func() (string, error) {
		pause := time.Duration(rng.Int64N(int64(time.Second)))
		if err := server.Kill(); err != nil {
			return "", err
		}
		time.Sleep(pause)
		start := time.Now()
		if err := server.Restart(); err != nil {
			return "", err
		}
		return fmt.Sprintf("postmaster, down %s, recovered in %s", pause.Round(time.Millisecond), time.Since(start).Round(time.Millisecond)), nil
	})
}

// checkpoint writes a checkpoint, so that the postmaster's crash recovery
// replays the write-ahead log of the test's own work, not of the tests
// before it.
func checkpoint(ctx context.Context, t *testing.T, db string) {
	t.Helper()
	if err := withConn(ctx, db, func(conn *pgx.Conn) error {
		_, err := conn.Exec(ctx, "CHECKPOINT")
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

// newRNG is the random source of a test's kills, from -chaos.seed, which it
// logs.
func newRNG(t *testing.T) (*rand.Rand, uint64) {
	seed := options.seed
	t.Logf("seed %d (CHAOS_SEED=%d repeats these kills)", seed, seed)
	return rand.New(rand.NewPCG(seed, seed^0x5eed)), seed
}

// restartServer makes sure, when the test ends, that the postmaster runs
// again even if the test stopped between a kill and a restart, for the
// next test to run and, called after server.Database, for the test's
// database to be dropped.
func restartServer(t *testing.T) {
	t.Cleanup(func() {
		if err := server.Restart(); err != nil && !strings.Contains(err.Error(), "is running") {
			t.Errorf("restarting the postmaster: %v", err)
		}
	})
}

// runBurst files options.intakes petitions from options.clients clients
// over the fleet and calls kill options.kills times while it runs, each
// once a random number of petitions has been acknowledged (the i-th within
// the i-th of options.kills equal slices of the first 90 % of the burst,
// so that every kill falls in the middle of it however fast the machine
// is), then checks the database and the replays.
func runBurst(ctx context.Context, t *testing.T, name string, seed uint64, f fleet, db string, kill func() (string, error)) {
	t.Logf("%d intakes from %d clients (CHAOS_REGISTRY_INTAKES, CHAOS_REGISTRY_CLIENTS), %d kills (CHAOS_REGISTRY_KILLS)",
		options.intakes, options.clients, options.kills)
	rng := rand.New(rand.NewPCG(seed, seed^0xb1a5))
	ps := petitions(name, options.intakes)
	var acked atomic.Int64
	type result struct {
		acks []ack
		err  error
		took time.Duration
	}
	done := make(chan result, 1)
	start := time.Now()
	go func() {
		acks, err := burst(ctx, f, ps, options.clients, &acked)
		done <- result{acks, err, time.Since(start)}
	}()

	slice := max(1, int64(len(ps))*9/10/int64(options.kills))
	var moments []string
	var res *result
	poll := time.NewTicker(2 * time.Millisecond)
	defer poll.Stop()
kills:
	for i := range options.kills {
		at := int64(i)*slice + rng.Int64N(slice)
		for acked.Load() < at {
			select {
			case r := <-done:
				res = &r
				t.Logf("the burst ended before kill %d", i+1)
				break kills
			case <-poll.C:
			}
		}
		when, n := time.Since(start), acked.Load()
		what, err := kill()
		if err != nil {
			t.Fatalf("kill %d: %v", i+1, err)
		}
		moments = append(moments, fmt.Sprintf("%ss (%d acked)", seconds(when), n))
		t.Logf("kill %d at %ss, %d of %d acknowledged: %s", i+1, seconds(when), n, len(ps), what)
	}
	if res == nil {
		r := <-done
		res = &r
	}
	if res.err != nil {
		t.Fatal(res.err)
	}
	created, tries := 0, 0
	for _, a := range res.acks {
		tries += a.tries
		if a.status == 201 {
			created++
		}
	}
	t.Logf("every petition acknowledged after %ss (%.0f/s): %d with 201, %d first with 200 (committed, answer lost), %d tries again",
		seconds(res.took), float64(len(ps))/res.took.Seconds(), created, len(ps)-created, tries-len(ps))
	if err := f.alive(); err != nil {
		t.Error(err)
	}
	c := checkIntakes(ctx, t, db, ps, res.acks)
	replayed, mismatched := replayAll(ctx, t, f, ps, res.acks)
	fmt.Printf("CHAOS %s intakes=%d clients=%d kills=%d seed=%d took_s=%s acked_201=%d acked_200=%d retries=%d cases=%d lost=%d doubled=%d wrong_key=%d replay_ok=%d replay_mismatch=%d kill_moments=%q\n",
		name, len(ps), options.clients, len(moments), seed, seconds(res.took), created, len(ps)-created, tries-len(ps),
		c.cases, c.lost, c.doubled, c.wrongKey, replayed, mismatched, strings.Join(moments, ", "))
}

// intakeCheck are the figures of checkIntakes.
type intakeCheck struct {
	cases, lost, doubled, wrongKey int
}

// checkIntakes compares the database with the acknowledgements: every
// acknowledged case is in cases exactly once; every key maps to exactly
// the case acknowledged for it; no two keys share a case; there are as
// many cases as acknowledged keys; each case has exactly one registered
// event in the outbox.
func checkIntakes(ctx context.Context, t *testing.T, db string, ps []petition, acks []ack) intakeCheck {
	t.Helper()
	conn, err := pgx.Connect(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close(context.Background()) }()
	count := func(sql string) map[string]int {
		t.Helper()
		rows, err := conn.Query(ctx, sql)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]int{}
		for rows.Next() {
			var k string
			var n int
			if err := rows.Scan(&k, &n); err != nil {
				t.Fatal(err)
			}
			out[k] += n
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	cases := count(`SELECT case_no, count(*) FROM cases GROUP BY case_no`)
	registered := count(`SELECT case_no, count(*) FROM events WHERE type = 'petition.case.registered' GROUP BY case_no`)
	rows, err := conn.Query(ctx, `SELECT k.key, coalesce(c.case_no, '') FROM intake_keys k LEFT JOIN cases c ON c.id = k.case_id WHERE k.scope = 'public'`)
	if err != nil {
		t.Fatal(err)
	}
	byKey := map[string]string{}
	for rows.Next() {
		var k, c string
		if err := rows.Scan(&k, &c); err != nil {
			t.Fatal(err)
		}
		byKey[k] = c
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}

	var c intakeCheck
	var problems []string
	keys := map[string]bool{}
	for i, p := range ps {
		a := acks[i]
		keys[p.key] = true
		switch n := cases[a.caseNo]; {
		case n == 0:
			c.lost++
			problems = append(problems, fmt.Sprintf("key %s: acknowledged case %s (%d) is not in cases", p.key, a.caseNo, a.status))
		case n > 1:
			c.doubled++
			problems = append(problems, fmt.Sprintf("key %s: acknowledged case %s is in cases %d times", p.key, a.caseNo, n))
		}
		if got, ok := byKey[p.key]; !ok || got != a.caseNo {
			c.wrongKey++
			problems = append(problems, fmt.Sprintf("key %s: acknowledged case %s, the key maps to %q (present: %v)", p.key, a.caseNo, got, ok))
		}
	}
	byCase := map[string][]string{}
	for k, caseNo := range byKey {
		if !keys[k] {
			problems = append(problems, fmt.Sprintf("key %s was never sent", k))
		}
		if caseNo == "" {
			problems = append(problems, fmt.Sprintf("key %s maps to no case", k))
			continue
		}
		byCase[caseNo] = append(byCase[caseNo], k)
	}
	for caseNo, ks := range byCase {
		if len(ks) > 1 {
			c.doubled++
			sort.Strings(ks)
			problems = append(problems, fmt.Sprintf("case %s is the case of %d keys: %s", caseNo, len(ks), strings.Join(ks, ", ")))
		}
	}
	for caseNo, n := range cases {
		c.cases += n
		if len(byCase[caseNo]) == 0 {
			c.doubled++
			problems = append(problems, fmt.Sprintf("case %s is no key's case", caseNo))
		}
		if registered[caseNo] != 1 {
			problems = append(problems, fmt.Sprintf("case %s has %d petition.case.registered events, want 1", caseNo, registered[caseNo]))
		}
	}
	for caseNo, n := range registered {
		if cases[caseNo] == 0 {
			problems = append(problems, fmt.Sprintf("%d petition.case.registered events of case %s, which is not in cases", n, caseNo))
		}
	}
	if c.cases != len(keys) {
		problems = append(problems, fmt.Sprintf("%d cases for %d acknowledged keys", c.cases, len(keys)))
	}
	t.Logf("database: %d cases, %d keys; lost %d, doubled %d, under another key %d", c.cases, len(byKey), c.lost, c.doubled, c.wrongKey)
	if len(problems) > 0 {
		t.Errorf("%d problems:\n%s", len(problems), firstN(problems))
	}
	return c
}

// replayAll files every petition again with its key and body, now that
// nothing is killed: each must answer 200 with exactly the answer that
// acknowledged it. It returns how many did and how many did not.
func replayAll(ctx context.Context, t *testing.T, f fleet, ps []petition, acks []ack) (ok, mismatched int) {
	t.Helper()
	var mu sync.Mutex
	var problems []string
	var wg sync.WaitGroup
	for c := range options.clients {
		wg.Go(func() {
			for i := c; i < len(ps); i += options.clients {
				a, err := file(ctx, f, ps[i], i)
				mu.Lock()
				switch {
				case err != nil:
					problems = append(problems, err.Error())
				case a.status != 200 || a.tries != 1 || !reflect.DeepEqual(a.answer, acks[i].answer):
					problems = append(problems, fmt.Sprintf("key %s: replay %d after %d tries differs from the acknowledgement (%d): %s",
						ps[i].key, a.status, a.tries, acks[i].status, diffAnswers(a.answer, acks[i].answer)))
				default:
					ok++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	mismatched = len(ps) - ok
	if len(problems) > 0 {
		t.Errorf("%d replays differ from their acknowledgement:\n%s", len(problems), firstN(problems))
	}
	return ok, mismatched
}

// diffAnswers names the fields of two answers that differ, with both
// values.
func diffAnswers(replay, acked map[string]any) string {
	var out []string
	for k := range mergeKeys(replay, acked) {
		if !reflect.DeepEqual(replay[k], acked[k]) {
			out = append(out, fmt.Sprintf("%s: replay %v, acknowledged %v", k, replay[k], acked[k]))
		}
	}
	sort.Strings(out)
	return strings.Join(out, "; ")
}

func mergeKeys(a, b map[string]any) map[string]bool {
	keys := map[string]bool{}
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	return keys
}

// firstN joins the first problems of a list, one a line.
func firstN(problems []string) string {
	const most = 20
	sort.Strings(problems)
	if len(problems) > most {
		return strings.Join(problems[:most], "\n") + fmt.Sprintf("\n… and %d more", len(problems)-most)
	}
	return strings.Join(problems, "\n")
}
