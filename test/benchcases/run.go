package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/xinfang/petition-operator/internal/objfiles"
	"github.com/xinfang/petition-operator/internal/pgtest"
	"github.com/xinfang/petition-operator/internal/pii"
	"github.com/xinfang/petition-operator/internal/registry"
)

func run(ctx context.Context, o options) (res result, err error) {
	if err := o.check(); err != nil {
		return res, err
	}
	bin, err := filepath.Abs(o.registry)
	if err != nil {
		return res, err
	}
	if _, err := os.Stat(bin); err != nil {
		return res, fmt.Errorf("--registry: %w (make bench-cases builds it)", err)
	}
	networkDir, err := filepath.Abs(o.network)
	if err != nil {
		return res, err
	}
	work, err := filepath.Abs(o.workDir)
	if err != nil {
		return res, err
	}
	if err := os.RemoveAll(work); err != nil {
		return res, err
	}
	if err := os.MkdirAll(work, 0o755); err != nil {
		return res, err
	}
	snap, err := objfiles.Load(networkDir)
	if err != nil {
		return res, fmt.Errorf("--network-dir: %w", err)
	}
	net := registry.NewNet(snap)
	y, m, d := time.Now().Date()
	gen, err := newPetitions(net, snap.Offices, time.Date(y, m, d, 0, 0, 0, 0, time.UTC), o.seed)
	if err != nil {
		return res, err
	}
	keyFile, tokenFile := filepath.Join(work, "keys"), filepath.Join(work, "staff-tokens")
	if err := writeKeys(keyFile); err != nil {
		return res, err
	}
	keys, err := pii.Load(keyFile)
	if err != nil {
		return res, err
	}
	// The public intake needs no staff token.
	if err := os.WriteFile(tokenFile, []byte("# none: the benchmark files public petitions only\n"), 0o600); err != nil {
		return res, err
	}

	o.step("starting PostgreSQL 15, durable (fsync, synchronous_commit, full_page_writes on)")
	settings := map[string]string{
		// Fewer checkpoints during the bulk load; durability unchanged.
		"max_wal_size": "8GB",
	}
	if o.statStmts {
		settings["shared_preload_libraries"] = "pg_stat_statements"
	}
	maps.Copy(settings, o.pgSet)
	pg, err := pgtest.Start(pgtest.Options{Durable: true, Settings: settings})
	if err != nil {
		return res, err
	}
	defer func() { err = errors.Join(err, pg.Stop()) }()
	if err := createDatabase(ctx, pg, "cases"); err != nil {
		return res, err
	}
	url := pg.URL("cases")
	if _, err := registry.Migrate(ctx, url); err != nil {
		return res, err
	}
	db, err := pgxpool.New(ctx, url)
	if err != nil {
		return res, err
	}
	defer db.Close()
	if o.statStmts {
		if _, err := db.Exec(ctx, `CREATE EXTENSION pg_stat_statements`); err != nil {
			return res, err
		}
	}

	registryURL := url
	if o.pool > 0 {
		registryURL += "&pool_max_conns=" + strconv.Itoa(o.pool)
	}
	args := []string{"--database-url", registryURL, "--network-dir", networkDir, "--staff-tokens", tokenFile, "--key-file", keyFile,
		"--listen", "127.0.0.1:0", "--public-rate", "1e9", "--public-burst", strconv.Itoa(1 << 30),
		// The benchmark sweeps itself, once the registry has stopped.
		"--sweep-interval", "24h"}
	o.step("starting %s", filepath.Base(bin))
	reg, err := startRegistry(ctx, bin, args, filepath.Join(work, "registry.log"))
	if err != nil {
		return res, err
	}
	defer func() {
		if reg != nil {
			_ = reg.stop()
		}
	}()
	client := newIntakeClient("http://"+reg.addr, o.clients)

	// The petitions taken first warm the registry's and the database's
	// connections and caches up, and are the templates of the bulk load.
	warm := o.warm
	o.step("warming up: %d petitions", warm)
	if _, err := burst(ctx, client, "warm", bodies(gen, warm), o.clients); err != nil {
		return res, err
	}
	pacedN := max(1, int(float64(o.rate)*o.paced.Seconds()))
	// The intakes are measured on the database of --open cases, not on a
	// young one: a registry takes petitions for years.
	if n := o.open - warm - o.intakes - pacedN; n > 0 {
		o.step("bulk load: %d open cases copied from the %d taken, with SQL", n, warm)
		start := time.Now()
		grown, err := bulkLoad(ctx, o, db, n)
		if err != nil {
			return res, err
		}
		res.bulkLoad = time.Since(start)
		res.bulkBytesPerCase = float64(grown) / float64(n)
	}

	res.intakes, res.clients = o.intakes, o.clients
	batch := bodies(gen, o.intakes)
	before, err := tableSizes(ctx, db)
	if err != nil {
		return res, err
	}
	if o.statStmts {
		if _, err := db.Exec(ctx, `SELECT pg_stat_statements_reset()`); err != nil {
			return res, err
		}
	}
	o.step("throughput: %d petitions, %d clients at once", o.intakes, o.clients)
	cpu0 := readCPU(ctx, reg.cmd.Process.Pid, db)
	if res.intakeWall, err = burst(ctx, client, "burst", batch, o.clients); err != nil {
		return res, err
	}
	if cpu1 := readCPU(ctx, reg.cmd.Process.Pid, db); cpu0 != (cpu{}) && cpu1 != (cpu{}) {
		res.intakeCPU = cpu1.sub(cpu0)
	}
	after, err := tableSizes(ctx, db)
	if err != nil {
		return res, err
	}
	var grown int64
	for t, size := range after {
		grown += size - before[t]
	}
	res.bytesPerCase = float64(grown) / float64(o.intakes)
	res.bytesByTable = growth(before, after, o.intakes)
	o.step("  %.0f intakes/s, %.0f bytes a case: %s", res.rps(), res.bytesPerCase, res.bytesByTable)
	if o.statStmts {
		if res.statements, err = topStatements(ctx, db, 15); err != nil {
			return res, err
		}
	}

	o.step("paced: %d petitions at %d/s, open loop", pacedN, o.rate)
	res.rate = o.rate
	if res.paced, err = paced(ctx, client, "paced", bodies(gen, pacedN), o.rate); err != nil {
		return res, err
	}
	o.step("  p50 %.1f ms, p99 %.1f ms; the pacer ran late by %.1f ms at most; slowest: %s",
		ms(res.paced.p50), ms(res.paced.p99), ms(res.paced.lag), res.paced.slowest)
	stopped := reg.stop()
	reg = nil
	if stopped != nil {
		return res, stopped
	}

	store := registry.New(db, registry.Static{Net: net}, keys, registry.Options{})
	// Whatever fell due already (none but a reminder of today) fires
	// first: the ticks timed find nothing.
	if _, err := store.Sweep(ctx); err != nil {
		return res, err
	}
	var pending int
	if err := db.QueryRow(ctx, `SELECT (SELECT count(*) FROM cases WHERE closed_at IS NULL), (SELECT count(*) FROM alarms WHERE fired_at IS NULL)`).
		Scan(&res.open, &pending); err != nil {
		return res, err
	}
	res.alarmsPerCase = float64(pending) / float64(res.open)
	o.step("empty sweeps: %d ticks with %d open cases and %d pending alarms", o.ticks, res.open, pending)
	if res.tick, res.tickMax, err = sweepTicks(ctx, store, o.ticks); err != nil {
		return res, err
	}
	if res.tickPlan, err = sweepPlan(ctx, db); err != nil {
		return res, err
	}
	o.step("due: %d alarms fall due together", o.due)
	if res.dueFire, res.dueEvents, err = dueFire(ctx, store, db, o.due); err != nil {
		return res, err
	}
	res.due = o.due
	if o.keep {
		o.step("PostgreSQL keeps running until interrupted: psql '%s'; its log: %s", url, pg.LogPath())
		<-ctx.Done()
	}
	return res, nil
}

// bodies makes n petitions.
func bodies(gen *petitions, n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = gen.next()
	}
	return out
}

// writeKeys writes a new key file of personal data.
func writeKeys(path string) (err error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, f.Close()) }()
	return pii.Generate(f, "k1")
}

// createDatabase creates the database name on the server.
func createDatabase(ctx context.Context, pg *pgtest.Server, name string) error {
	conn, err := pgx.Connect(ctx, pg.URL("postgres"))
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	return err
}
