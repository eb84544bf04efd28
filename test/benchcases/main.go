// Command benchcases measures the case registry on PostgreSQL on this
// machine (make bench-cases). It starts PostgreSQL with durable settings
// (fsync, synchronous_commit and full_page_writes on: the figures are
// about acknowledged data), migrates it, runs bin/registry as its own
// process (the HTTP path, JSON, the public intake and its connection
// pool), files --warm petitions, copies them with SQL into the open cases
// of a registry that has run for a while (--open, $CASES_OPEN, default
// 1,000,000, all told), and then measures:
//
//   - intake_rps: --clients clients POST --intakes petitions to
//     /v1/petitions, each under a key of its own, as fast as the registry
//     answers: petitions a second over the wall time (goal ≥ 300);
//   - bytes_per_case: how much the registry's tables and indexes grew over
//     those petitions, per case (goal ≤ 4 KB);
//   - intake_p50_ms, intake_p99_ms: an open-loop load of --rate petitions
//     a second for --paced, each latency from the time its request was due
//     until its answer (goal p99 ≤ 50 ms at 100/s);
//   - sweep_tick_ms: with the registry stopped, the median of --ticks
//     sweeps (registry.Store.Sweep) that find nothing due among the open
//     cases' alarms (goal ≤ 5 ms);
//   - due_fire_s: --due alarms of as many open cases falling due together,
//     until a sweep has fired them all and written their events (goal
//     ≤ 5 s).
//
// It prints a summary, then one line:
//
//	CASES cases=N intake_rps=R intake_p50_ms=A intake_p99_ms=B sweep_tick_ms=C due_fire_s=D bytes_per_case=E
//
// where cases is the number of open cases the sweeps ran on. A missed goal
// is reported, not an error: the exit status is non-zero only when
// something failed, a petition not taken included.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
)

// options are the command line.
type options struct {
	intakes   int
	warm      int
	clients   int
	rate      int
	paced     time.Duration
	open      int
	due       int
	ticks     int
	registry  string
	network   string
	workDir   string
	seed      uint64
	statStmts bool
	pool      int
	pgSet     settings
	keep      bool
	timeout   time.Duration
	// log receives the progress lines.
	log io.Writer
}

// openDefault is the number of open cases of the sweep's measures:
// $CASES_OPEN, else a million.
func openDefault() int {
	if v, err := strconv.Atoi(os.Getenv("CASES_OPEN")); err == nil && v > 0 {
		return v
	}
	return 1_000_000
}

func main() {
	o := options{log: os.Stderr}
	flag.IntVar(&o.intakes, "intakes", 5000, "Petitions of the throughput measure (intake_rps, bytes_per_case).")
	flag.IntVar(&o.warm, "warm", 1000, "Petitions filed first, not measured: they warm the registry up and are the bulk load's templates.")
	flag.IntVar(&o.clients, "clients", 32, "Concurrent clients of the throughput measure.")
	flag.IntVar(&o.rate, "rate", 100, "Petitions a second of the paced load (intake_p50_ms, intake_p99_ms).")
	flag.DurationVar(&o.paced, "paced", 20*time.Second, "How long the paced load runs.")
	flag.IntVar(&o.open, "open", openDefault(), "Open cases when the sweep is measured ($CASES_OPEN), the intakes included; the rest are bulk-loaded with SQL.")
	flag.IntVar(&o.due, "due", 10000, "Alarms falling due together (due_fire_s).")
	flag.IntVar(&o.ticks, "ticks", 20, "Empty sweeps timed (sweep_tick_ms is their median).")
	flag.StringVar(&o.registry, "registry", "bin/registry", "The registry binary (make bench-cases builds it).")
	flag.StringVar(&o.network, "network-dir", "config/samples", "The network the petitions are made to.")
	flag.StringVar(&o.workDir, "work-dir", "bin/benchcases", "Where the registry's log and the key files go (emptied first).")
	flag.Uint64Var(&o.seed, "seed", 1, "Seed of the petitions' offices, categories, channels and petitioners.")
	flag.BoolVar(&o.statStmts, "statements", false, "Load pg_stat_statements and print the statements that took the most time.")
	flag.IntVar(&o.pool, "pool", 0, "The registry's most connections to PostgreSQL (pool_max_conns in its URL); 0: its default.")
	flag.Var(&o.pgSet, "pg", "A PostgreSQL setting name=value, after the benchmark's own (repeatable), e.g. --pg shared_buffers=1GB.")
	flag.BoolVar(&o.keep, "keep", false, "At the end, print the database's URL and keep PostgreSQL running until interrupted (for psql, EXPLAIN).")
	flag.DurationVar(&o.timeout, "timeout", 50*time.Minute, "Give up after this long.")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	res, err := run(ctx, o)
	cancel()
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchcases:", err)
		os.Exit(1)
	}
	if err := report(os.Stdout, res); err != nil {
		fmt.Fprintln(os.Stderr, "benchcases:", err)
		os.Exit(1)
	}
}

func (o options) check() error {
	switch {
	case o.intakes < 1 || o.warm < 1 || o.clients < 1 || o.rate < 1 || o.paced <= 0 || o.ticks < 1 || o.due < 1:
		return errors.New("--intakes, --warm, --clients, --rate, --paced, --ticks and --due: want positive values")
	case o.open < o.due:
		return fmt.Errorf("--open %d: want at least --due %d", o.open, o.due)
	}
	return nil
}

// settings are PostgreSQL settings given as name=value flags.
type settings map[string]string

func (s *settings) String() string { return fmt.Sprint(map[string]string(*s)) }

func (s *settings) Set(v string) error {
	name, value, ok := strings.Cut(v, "=")
	if !ok || name == "" {
		return fmt.Errorf("%q: want name=value", v)
	}
	if *s == nil {
		*s = settings{}
	}
	(*s)[name] = value
	return nil
}

// step logs a line of progress.
func (o options) step(format string, args ...any) {
	_, _ = fmt.Fprintf(o.log, "%s %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

// result is what one run measured.
type result struct {
	intakes    int
	clients    int
	intakeWall time.Duration
	// intakeCPU is the CPU time each process used during the intakes.
	intakeCPU    cpu
	bytesPerCase float64
	// bytesByTable is the growth of each table a case.
	bytesByTable string
	// bulkBytesPerCase is the growth of the bulk load's tables (cases,
	// deadlines, alarms) per case it loaded.
	bulkBytesPerCase float64
	alarmsPerCase    float64
	open             int
	bulkLoad         time.Duration
	paced            latencies
	rate             int
	tick             time.Duration
	tickMax          time.Duration
	tickPlan         string
	due              int
	dueEvents        int
	dueFire          time.Duration
	statements       []statement
}

func (r result) rps() float64 { return float64(r.intakes) / r.intakeWall.Seconds() }

// goal is one bar of DESIGN "Cases".
type goal struct {
	name string
	met  bool
	want string
}

func (r result) goals() []goal {
	return []goal{
		{"intake_rps", r.rps() >= 300, "≥ 300 intakes/s"},
		{"intake_p99_ms", ms(r.paced.p99) <= 50, fmt.Sprintf("p99 ≤ 50 ms at %d/s", r.rate)},
		{"sweep_tick_ms", ms(r.tick) <= 5, fmt.Sprintf("an empty sweep ≤ 5 ms with %d open cases", r.open)},
		{"due_fire_s", r.dueFire.Seconds() <= 5, fmt.Sprintf("%d alarms due together fired in ≤ 5 s", r.due)},
		{"bytes_per_case", r.bytesPerCase <= 4096, "≤ 4 KB a case"},
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func report(out io.Writer, r result) error {
	met := func(name string) string {
		for _, g := range r.goals() {
			if g.name == name {
				if g.met {
					return "met: " + g.want
				}
				return "MISSED: " + g.want
			}
		}
		return ""
	}
	rows := [][3]string{
		{"measure", "value", "detail"},
		{"cases", strconv.Itoa(r.open), fmt.Sprintf("open cases at the sweeps (%.1f alarms each; bulk load %.0fs)", r.alarmsPerCase, r.bulkLoad.Seconds())},
		{"intake_rps", fmt.Sprintf("%.0f", r.rps()), fmt.Sprintf("%d petitions by %d clients in %.1fs; %s", r.intakes, r.clients, r.intakeWall.Seconds(), met("intake_rps"))},
		{"", "", fmt.Sprintf("CPU: %s, in %.1fs × %d cores", r.intakeCPU, r.intakeWall.Seconds(), runtime.NumCPU())},
		{"intake_p50_ms", fmt.Sprintf("%.1f", ms(r.paced.p50)), fmt.Sprintf("%d petitions at %d/s, open loop (max %.1f ms)", r.paced.n, r.rate, ms(r.paced.max))},
		{"intake_p99_ms", fmt.Sprintf("%.1f", ms(r.paced.p99)), met("intake_p99_ms")},
		{"sweep_tick_ms", fmt.Sprintf("%.2f", ms(r.tick)), fmt.Sprintf("median of the empty sweeps (max %.2f ms); %s", ms(r.tickMax), met("sweep_tick_ms"))},
		{"due_fire_s", fmt.Sprintf("%.2f", r.dueFire.Seconds()), fmt.Sprintf("%d alarms fired, %d events written; %s", r.due, r.dueEvents, met("due_fire_s"))},
		{"bytes_per_case", fmt.Sprintf("%.0f", r.bytesPerCase), fmt.Sprintf("tables and indexes over the intakes; %s", met("bytes_per_case"))},
		{"", "", "by table: " + r.bytesByTable},
		{"", "", fmt.Sprintf("bulk-loaded: %.0f a case in cases, deadlines, alarms", r.bulkBytesPerCase)},
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	for _, row := range rows {
		if _, err := fmt.Fprintf(tw, "%s\t%s\t%s\n", row[0], row[1], row[2]); err != nil {
			return err
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if r.tickPlan != "" {
		if _, err := fmt.Fprintf(out, "\nplan of the sweep's selection of due alarms:\n%s\n", r.tickPlan); err != nil {
			return err
		}
	}
	if len(r.statements) > 0 {
		if err := printStatements(out, r.statements); err != nil {
			return err
		}
	}
	var missed []string
	for _, g := range r.goals() {
		if !g.met {
			missed = append(missed, g.name)
		}
	}
	if len(missed) > 0 {
		if _, err := fmt.Fprintf(out, "goals missed: %v\n", missed); err != nil {
			return err
		}
	} else if _, err := fmt.Fprintln(out, "every goal met"); err != nil {
		return err
	}
	_, err := fmt.Fprintf(out, "CASES cases=%d intake_rps=%.0f intake_p50_ms=%.1f intake_p99_ms=%.1f sweep_tick_ms=%.2f due_fire_s=%.2f bytes_per_case=%.0f\n",
		r.open, r.rps(), ms(r.paced.p50), ms(r.paced.p99), ms(r.tick), r.dueFire.Seconds(), r.bytesPerCase)
	return err
}
