// Command registry is the case registry of a City's petition network: it
// takes petitions (POST /v1/petitions, Open311 GeoReport v2), answers the
// petitioner's progress query, moves cases through the statutory state
// machine for each office's staff, fires each reminder and overdue rung
// once, counts each office's figures and publishes every change through an
// outbox feed (GET /v1/events) and a webhook sink. Cases live in
// PostgreSQL; routing and deadlines come from the network, compiled as the
// operator and petitionctl compile it, from files (--network-dir) or from
// the cluster's informer cache (--kubeconfig, or in cluster), where the
// staff and desks of offices and the operator authenticate with
// ServiceAccount tokens checked by TokenReview: a desk files petitions for
// its office, the operator reads every office's figures (GET /v1/figures).
//
//	registry --database-url URL --network-dir DIR --staff-tokens FILE --key-file FILE [--listen ADDR]
//	registry --database-url URL [--kubeconfig FILE] [--token-audience A] [--staff-tokens FILE] --key-file FILE \
//	    [--city NAME] [--operator-account system:serviceaccount:NS:NAME] [--public-intake]
//	registry migrate --database-url URL
//	registry keygen > keys
//	registry rewrap --database-url URL --key-file FILE
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	"github.com/jackc/pgx/v5/pgxpool"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	// Time zones work the same in minimal images without zoneinfo.
	_ "time/tzdata"

	"github.com/xinfang/petition-operator/internal/httpguard"
	"github.com/xinfang/petition-operator/internal/objfiles"
	"github.com/xinfang/petition-operator/internal/pii"
	"github.com/xinfang/petition-operator/internal/registry"
	"github.com/xinfang/petition-operator/internal/version"
	"github.com/xinfang/petition-operator/internal/xinfang"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	if err := run(context.Background(), os.Args[1:], os.Stdout, log); err != nil {
		var usage usageError
		if errors.As(err, &usage) {
			fmt.Fprintln(os.Stderr, "error:", err)
			os.Exit(2)
		}
		log.Error("registry stopped", "err", err)
		os.Exit(1)
	}
}

// usageError is a bad command line (exit 2).
type usageError struct{ error }

// config is the command line of the server.
type config struct {
	databaseURL, databaseURLFile string
	listen                       string
	networkDir                   string
	kubeconfig                   string
	tokenAudience                string
	staffTokens                  string
	keyFile                      string
	sweepInterval                time.Duration
	reloadInterval               time.Duration
	countInterval                time.Duration
	sinkURL                      string
	publicRate                   float64
	publicBurst                  int
	maxConnections               int
	publicIntake                 bool
	city                         string
	operatorAccounts             accounts
}

// accounts is a repeatable flag of ServiceAccount user names.
type accounts []string

func (a *accounts) String() string { return strings.Join(*a, ",") }

func (a *accounts) Set(v string) error {
	if err := registry.CheckServiceAccountUser(v); err != nil {
		return err
	}
	if len(*a) >= 16 {
		return errors.New("at most 16 accounts")
	}
	*a = append(*a, v)
	return nil
}

func (c *config) register(fs *flag.FlagSet) {
	fs.StringVar(&c.databaseURL, "database-url", "", "the PostgreSQL URL of the case database (or $PETITION_REGISTRY_DATABASE_URL, or --database-url-file)")
	fs.StringVar(&c.databaseURLFile, "database-url-file", "", "a file holding the PostgreSQL URL (a mounted Secret), rather than --database-url")
	fs.StringVar(&c.listen, "listen", ":8090", "address to serve the API, /metrics and the probes on; 127.0.0.1:0 picks a free port (logged as listening on <addr>)")
	fs.StringVar(&c.networkDir, "network-dir", "", "a directory (or file) of the network's YAML, as petitionctl -f reads it (file mode)")
	fs.StringVar(&c.kubeconfig, "kubeconfig", "", "a kubeconfig of the cluster to read the network from and check the tokens of desks, staff and the operator with (cluster mode; in a Pod, the in-cluster config is used without it)")
	fs.StringVar(&c.tokenAudience, "token-audience", registry.DefaultAudience, "cluster mode: the audience a ServiceAccount token must be issued for")
	fs.StringVar(&c.staffTokens, "staff-tokens", "", "a file of staff tokens, lines token,office[,name], as kube-apiserver's token file (required in file mode; in cluster mode tried before TokenReview)")
	fs.StringVar(&c.keyFile, "key-file", "", "the key file of personal data (registry keygen writes one): the first data key seals, every data key opens")
	fs.DurationVar(&c.reloadInterval, "network-reload-interval", 30*time.Second, "how often to read --network-dir again; a change applies to stages that start from then on (0: never)")
	fs.DurationVar(&c.countInterval, "count-interval", time.Minute, "how often the leader counts the open and overdue cases for its metrics")
	fs.DurationVar(&c.sweepInterval, "sweep-interval", 30*time.Second, "how often the leader fires the reminders and overdue rungs that fell due")
	fs.StringVar(&c.sinkURL, "sink-url", "", "a webhook to deliver the events to (CloudEvents batches, at least once, stable ids); none when empty")
	fs.Float64Var(&c.publicRate, "public-rate", 5, "petitions a second one client (IP address) may file; more get 429 with Retry-After")
	fs.IntVar(&c.publicBurst, "public-burst", 20, "petitions one client may file at once, beyond --public-rate")
	fs.IntVar(&c.maxConnections, "max-connections", 1024, "connections served at once; more wait until one closes")
	fs.BoolVar(&c.publicIntake, "public-intake", false, "take petitions (POST /v1/petitions, Open311) without a token, from petitioners themselves; default true with --network-dir, false in cluster mode, where petitions come in through the desks with their tokens")
	fs.StringVar(&c.city, "city", "", "serve the network of this `City` alone: offices outside its subtree are unknown (their petitions 422, their tokens 401); it must name a City of the network")
	fs.Var(&c.operatorAccounts, "operator-account", "cluster mode: a ServiceAccount (its user name, `system:serviceaccount:<namespace>:<name>`) whose token reads the figures (GET /v1/figures) and nothing else; repeatable (none: the figures answer 403 to everyone)")
}

func (c *config) url() (string, error) {
	switch {
	case c.databaseURL != "":
		return c.databaseURL, nil
	case c.databaseURLFile != "":
		b, err := os.ReadFile(c.databaseURLFile)
		if err != nil {
			return "", fmt.Errorf("--database-url-file: %w", err)
		}
		return strings.TrimSpace(string(b)), nil
	case os.Getenv("PETITION_REGISTRY_DATABASE_URL") != "":
		return os.Getenv("PETITION_REGISTRY_DATABASE_URL"), nil
	}
	return "", usageError{errors.New("--database-url (or --database-url-file, or $PETITION_REGISTRY_DATABASE_URL) is required")}
}

// secrets reads the database URL and the key file.
func (c *config) secrets() (string, *pii.Keyring, error) {
	url, err := c.url()
	if err != nil {
		return "", nil, err
	}
	keys, err := pii.Load(c.keyFile)
	if err != nil {
		return "", nil, fmt.Errorf("--key-file: %w", err)
	}
	return url, keys, nil
}

func run(ctx context.Context, args []string, stdout io.Writer, log *slog.Logger) error {
	if len(args) > 0 {
		switch args[0] {
		case "migrate":
			return migrate(ctx, args[1:], stdout)
		case "keygen":
			fs := flag.NewFlagSet("registry keygen", flag.ContinueOnError)
			id := fs.String("id", "k1", "the id of the data key")
			if err := fs.Parse(args[1:]); err != nil {
				return usageError{err}
			}
			return pii.Generate(stdout, *id)
		case "rewrap":
			return rewrap(ctx, args[1:], stdout)
		case "version":
			_, err := fmt.Fprintln(stdout, version.String())
			return err
		}
	}
	var c config
	fs := flag.NewFlagSet("registry", flag.ContinueOnError)
	c.register(fs)
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unknown command %q; want migrate, keygen, rewrap, version or flags", fs.Arg(0))}
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	cluster, err := c.clusterMode(given)
	if err != nil {
		return err
	}
	if !given["public-intake"] {
		c.publicIntake = !cluster
	}
	switch {
	case c.keyFile == "":
		return usageError{errors.New("--key-file is required: registry keygen writes one")}
	case c.countInterval < 100*time.Millisecond:
		return usageError{fmt.Errorf("--count-interval: %s is shorter than 100ms", c.countInterval)}
	case c.sweepInterval < 100*time.Millisecond:
		return usageError{fmt.Errorf("--sweep-interval: %s is shorter than 100ms", c.sweepInterval)}
	case !(c.publicRate > 0) || math.IsInf(c.publicRate, 0) || c.publicBurst < 1:
		return usageError{errors.New("--public-rate and --public-burst: want positive numbers")}
	case c.maxConnections < 1:
		return usageError{errors.New("--max-connections: want a positive number")}
	}
	url, keys, err := c.secrets()
	if err != nil {
		return err
	}
	var src source
	if cluster {
		src, err = c.fromCluster(log)
	} else {
		src, err = c.fromFiles(log)
	}
	if err != nil {
		return err
	}
	if _, err := registry.Migrate(ctx, url); err != nil {
		return err
	}
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return fmt.Errorf("--database-url: %w", err)
	}
	defer pool.Close()
	store := registry.New(pool, src.net, keys, registry.Options{})
	return serve(ctx, c, store, pool, src, log)
}

// source is where the network and the staff's identities come from: files,
// or a cluster.
type source struct {
	net  registry.Network
	auth authenticator
	// ready says whether the network is read (nil when it always is);
	// start runs what keeps it current until its context ends (nil when
	// nothing does).
	ready func() error
	start func(ctx context.Context) error
}

// clusterMode says whether the network comes from a cluster: with
// --kubeconfig, or in a Pod (KUBERNETES_SERVICE_HOST) without
// --network-dir. Contradictory flags are a usage error.
func (c *config) clusterMode(given map[string]bool) (bool, error) {
	switch {
	case c.networkDir != "" && c.kubeconfig != "":
		return false, usageError{errors.New("--network-dir and --kubeconfig: give one; --network-dir reads the network from files, --kubeconfig from a cluster")}
	case c.networkDir != "" && given["token-audience"]:
		return false, usageError{errors.New("--token-audience is for cluster mode (TokenReview); with --network-dir, staff authenticate with --staff-tokens")}
	case c.networkDir != "" && c.staffTokens == "":
		return false, usageError{errors.New("--staff-tokens is required with --network-dir")}
	case c.networkDir != "" && len(c.operatorAccounts) > 0:
		return false, usageError{errors.New("--operator-account is for cluster mode (TokenReview); with --network-dir nobody reads the figures")}
	case c.city != "" && xinfang.CheckOfficeName("city", c.city) != nil:
		return false, usageError{fmt.Errorf("--city: %w", xinfang.CheckOfficeName("city", c.city))}
	case c.networkDir != "":
		return false, nil
	case given["network-reload-interval"]:
		return false, usageError{errors.New("--network-reload-interval is for --network-dir; in a cluster the network follows the API server")}
	case c.tokenAudience == "":
		return false, usageError{errors.New("--token-audience: want an audience, e.g. " + registry.DefaultAudience)}
	case c.kubeconfig != "" || os.Getenv("KUBERNETES_SERVICE_HOST") != "":
		return true, nil
	}
	return false, usageError{errors.New("--network-dir (the network's YAML) or --kubeconfig (a cluster) is required, unless the registry runs in a Pod")}
}

// fromFiles reads the network of --network-dir, again every
// --network-reload-interval, and the tokens of --staff-tokens.
func (c *config) fromFiles(log *slog.Logger) (source, error) {
	nets, err := registry.NewReloading(func() (*xinfang.Snapshot, error) {
		snap, err := objfiles.Load(c.networkDir)
		if err != nil {
			return nil, fmt.Errorf("--network-dir: %w", err)
		}
		return snap, nil
	})
	if err != nil {
		return source{}, err
	}
	var net registry.Network = nets
	var ready func() error
	if c.city != "" {
		view := registry.NewCityView(nets, c.city)
		if err := view.Ready(); err != nil {
			return source{}, fmt.Errorf("--city: %w", err)
		}
		net, ready = view, view.Ready
	}
	tokens, err := readStaticTokens(c.staffTokens, func(o string) bool { _, ok := net.Current().Office(o); return ok })
	if err != nil {
		return source{}, err
	}
	src := source{net: net, auth: tokens, ready: ready}
	if c.reloadInterval > 0 {
		src.start = func(ctx context.Context) error {
			nets.Run(ctx, c.reloadInterval, func(_ bool, err error) {
				if err != nil {
					log.Error("keeping the last good network", "err", err)
					return
				}
				log.Info("network reloaded", "dir", c.networkDir)
			})
			return nil
		}
	}
	return src, nil
}

// fromCluster reads the network from the cluster's informer cache and
// checks tokens with the cluster's TokenReview, after the static tokens of
// --staff-tokens when given.
// loggersOnce sets the logger of client-go and of controller-runtime once.
var loggersOnce sync.Once

func (c *config) fromCluster(log *slog.Logger) (source, error) {
	var cfg *rest.Config
	var err error
	if c.kubeconfig != "" {
		cfg, err = clientcmd.BuildConfigFromFlags("", c.kubeconfig)
		if err != nil {
			return source{}, fmt.Errorf("--kubeconfig: %w", err)
		}
	} else if cfg, err = rest.InClusterConfig(); err != nil {
		return source{}, fmt.Errorf("the in-cluster config (or give --kubeconfig or --network-dir): %w", err)
	}
	cfg.UserAgent = "petition-registry/" + version.String()
	// client-go and the cache log into the registry's log: the first
	// run's, in a process that runs more than one (the tests), since
	// klog's logger is global and read by the informers already running.
	loggersOnce.Do(func() {
		klog.SetSlogLogger(log)
		ctrllog.SetLogger(logr.FromSlogHandler(log.Handler()))
	})
	cluster, err := registry.NewCluster(cfg, registry.ClusterOptions{Log: log})
	if err != nil {
		return source{}, err
	}
	var net registry.Network = cluster
	ready := cluster.Ready
	if c.city != "" {
		// The City is looked for once the network is read: until it is
		// there, the registry is not ready and says why.
		view := registry.NewCityView(cluster, c.city)
		net = view
		ready = func() error {
			if err := cluster.Ready(); err != nil {
				return err
			}
			if err := view.Ready(); err != nil {
				return fmt.Errorf("--city: %w", err)
			}
			return nil
		}
	}
	review, err := registry.NewTokenReviewer(cfg, net, registry.TokenReviewOptions{Audience: c.tokenAudience, Operators: c.operatorAccounts})
	if err != nil {
		return source{}, err
	}
	auth := &clusterAuth{review: review, net: net}
	if c.staffTokens != "" {
		// The offices are checked at each request: the network is not
		// read yet.
		if auth.static, err = readStaticTokens(c.staffTokens, nil); err != nil {
			return source{}, err
		}
	}
	return source{net: net, auth: auth, ready: ready, start: cluster.Start}, nil
}

func migrate(ctx context.Context, args []string, stdout io.Writer) error {
	var c config
	fs := flag.NewFlagSet("registry migrate", flag.ContinueOnError)
	fs.StringVar(&c.databaseURL, "database-url", "", "the PostgreSQL URL of the case database")
	fs.StringVar(&c.databaseURLFile, "database-url-file", "", "a file holding the PostgreSQL URL")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	url, err := c.url()
	if err != nil {
		return err
	}
	v, err := registry.Migrate(ctx, url)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "the case database is at schema version %d\n", v)
	return err
}

// rewrap seals again, under the key file's current data key, every value
// sealed under an older one: the step of a key rotation after which the
// old key can leave the file (docs/cases.md).
func rewrap(ctx context.Context, args []string, stdout io.Writer) error {
	var c config
	fs := flag.NewFlagSet("registry rewrap", flag.ContinueOnError)
	fs.StringVar(&c.databaseURL, "database-url", "", "the PostgreSQL URL of the case database")
	fs.StringVar(&c.databaseURLFile, "database-url-file", "", "a file holding the PostgreSQL URL")
	fs.StringVar(&c.keyFile, "key-file", "", "the key file, its new data key first and the old ones after it")
	batch := fs.Int("batch", 500, "cases rewrapped in one transaction")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if c.keyFile == "" || *batch < 1 {
		return usageError{errors.New("--key-file is required, and --batch is a positive number")}
	}
	url, keys, err := c.secrets()
	if err != nil {
		return err
	}
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return err
	}
	defer pool.Close()
	n, err := registry.New(pool, registry.Static{}, keys, registry.Options{}).Rewrap(ctx, keys, *batch)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "%d values sealed again under data key %s\n", n, keys.CurrentKeyID())
	return err
}

func serve(ctx context.Context, c config, store *registry.Store, pool *pgxpool.Pool, src source, log *slog.Logger) error {
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	m := newMetrics()
	want, err := registry.SchemaVersion()
	if err != nil {
		return err
	}
	// The network's watch ends the server when it fails, as a signal does.
	ctx, fail := context.WithCancelCause(ctx)
	defer fail(nil)
	watched := make(chan struct{})
	if src.start != nil {
		go func() {
			defer close(watched)
			if err := src.start(ctx); err != nil {
				fail(fmt.Errorf("reading the network: %w", err))
			}
		}()
	} else {
		close(watched)
	}
	a := &api{store: store, auth: src.auth, log: log, metrics: m, network: src.ready, ready: func(ctx context.Context) error {
		if src.ready != nil {
			if err := src.ready(); err != nil {
				return err
			}
		}
		var v int64
		if err := pool.QueryRow(ctx, `SELECT coalesce(max(version_id), 0) FROM goose_db_version WHERE is_applied`).Scan(&v); err != nil {
			return err
		}
		if v < want {
			return fmt.Errorf("the database is at schema version %d, not %d", v, want)
		}
		return nil
	}}
	a.publicIntake, a.operators = c.publicIntake, len(c.operatorAccounts) > 0
	// The public intake is anonymous: each client's petitions are paced,
	// each client holds at most a quarter of the connections. A desk
	// forwards the petitions of many petitioners from one address, with
	// its token: petitions with a token are not paced by address.
	h := a.handler()
	limited := httpguard.NewClientRate(c.publicRate, c.publicBurst).Limit(h, func(w http.ResponseWriter, status int, msg string) { writeError(w, status, msg) })
	guarded := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && (r.URL.Path == "/v1/petitions" || strings.HasPrefix(r.URL.Path, "/open311/")) && r.Header.Get("Authorization") == "" {
			limited.ServeHTTP(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
	ln, err := httpguard.ListenLimited(c.listen, max(1, c.maxConnections/4), c.maxConnections)
	if err != nil {
		return fmt.Errorf("--listen: %w", err)
	}
	srv := httpguard.ServerLimits{ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 60 * time.Second, MaxHeaderBytes: 16 << 10}.Server(guarded)
	log.Info("listening on "+ln.Addr().String(), "addr", ln.Addr().String(), "version", version.String())

	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = registry.Leader(ctx, pool, c.sweepInterval, func(ctx context.Context) {
			m.leader.Set(1)
			defer m.leader.Set(0)
			lead(ctx, c, store, m, log)
		})
	}()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	var served error
	select {
	case served = <-errc:
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && served == nil {
		served = err
	}
	stop()
	fail(nil)
	<-done
	<-watched
	if errors.Is(served, http.ErrServerClosed) {
		served = nil
	}
	if err := context.Cause(ctx); served == nil && err != nil && !errors.Is(err, context.Canceled) {
		served = err
	}
	return served
}

// lead is the leader's work: sweep the due alarms every interval and
// deliver the feed to the sink, backing off after a failure.
func lead(ctx context.Context, c config, store *registry.Store, m *metrics, log *slog.Logger) {
	tick := time.NewTicker(c.sweepInterval)
	defer tick.Stop()
	sink := registry.Sink{Name: "webhook", URL: c.sinkURL, Source: "petition-registry", Client: &http.Client{Timeout: 10 * time.Second}, Batch: 100}
	backoff, nextDelivery := time.Duration(0), time.Time{}
	var planned *registry.Net
	var counted time.Time
	for {
		// A network read again may hold a corrected calendar: the running
		// deadlines it changes are planned again, once per network.
		if n := store.Network(); n != planned {
			if moved, err := store.Replan(ctx, n); err != nil && ctx.Err() == nil {
				log.Error("re-planning deadlines", "err", err)
			} else if err == nil {
				planned = n
				if moved > 0 {
					log.Info("deadlines re-planned after a calendar correction", "moved", moved)
				}
			}
		}
		start := time.Now()
		n, err := store.Sweep(ctx)
		m.sweeps.Observe(time.Since(start).Seconds())
		if err != nil && ctx.Err() == nil {
			m.sweepErrors.Inc()
			log.Error("sweeping", "err", err)
		} else if err == nil {
			m.lastSweep.SetToCurrentTime()
			m.fired.Add(float64(n))
		}
		if c.sinkURL != "" && !time.Now().Before(nextDelivery) {
			sent, err := store.Deliver(ctx, sink)
			m.delivered.WithLabelValues("delivered").Add(float64(sent))
			if err != nil && ctx.Err() == nil {
				m.delivered.WithLabelValues("failed").Inc()
				backoff = min(max(2*backoff, c.sweepInterval), 5*time.Minute)
				nextDelivery = time.Now().Add(backoff)
				log.Error("delivering events", "sink", sink.Name, "err", err, "retryIn", backoff.String())
			} else {
				backoff = 0
			}
			if age, err := store.OutboxAge(ctx, sink.Name); err == nil {
				m.outboxAge.Set(age.Seconds())
			}
		}
		if time.Since(counted) >= c.countInterval {
			n := store.Network()
			now := store.Now().In(n.Location(n.City()))
			today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
			if open, overdue, err := store.Totals(ctx, today); err == nil {
				m.open.Set(float64(open))
				m.overdue.Set(float64(overdue))
				counted = time.Now()
			}
			// Each office's open and overdue cases; the period of its
			// counters (unused here) is today alone.
			if counts, err := store.Figures(ctx, today, today); err == nil {
				m.countOffices(counts)
			} else if ctx.Err() == nil {
				log.Error("counting each office's cases", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
