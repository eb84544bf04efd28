package controllers

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/cases"
	"github.com/xinfang/petition-operator/internal/cluster"
	"github.com/xinfang/petition-operator/internal/xinfang"
)

// Defaults of FiguresOptions.
const (
	// DefaultFiguresInterval is how often the operator reads each City's
	// figures: the figures are for people, who look at them in minutes.
	DefaultFiguresInterval = 2 * time.Minute
	// DefaultRegistryTokenFile is where the operator's Pod has its
	// projected token for the registries (audience petition-registry).
	DefaultRegistryTokenFile = "/var/run/secrets/petition-registry/token"
	// maxFiguresBytes bounds a registry's answer: about 300 bytes an
	// office, so room for 50,000 offices.
	maxFiguresBytes  = 16 << 20
	figuresTimeout   = 30 * time.Second
	maxRegistryToken = 8 << 10
)

// FiguresOptions configure the reading of the Cities' case figures into
// the status of their offices.
type FiguresOptions struct {
	// Interval between two readings; DefaultFiguresInterval when zero. A
	// negative interval turns the reading off.
	Interval time.Duration
	// TokenFile holds the token the operator presents to the registries
	// (a projected ServiceAccount token for their audience, which the
	// kubelet renews: it is read again each time); DefaultRegistryTokenFile
	// when empty.
	TokenFile string
	// HTTPClient calls the registries; one with a 30 s timeout when nil.
	HTTPClient *http.Client
}

var (
	figuresReads = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "petition_case_figures_reads_total",
		Help: "Readings of a City registry's case figures, by result (ok, error).",
	}, []string{"result"})
	figuresWrites = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "petition_case_figures_status_writes_total",
		Help: "Office status writes of changed case figures.",
	})
)

func init() {
	metrics.Registry.MustRegister(figuresReads, figuresWrites)
	// Both results from the start, at 0: a rate over them needs no
	// absent() guard.
	for _, result := range []string{"ok", "error"} {
		figuresReads.WithLabelValues(result)
	}
}

// figures reads each City's case figures from its registry and writes
// status.cases of each office whose figures changed: nothing is written
// while nothing changes. An office whose overdue count rises gets one
// Warning event (OverdueRising) for the rise.
//
// The operator's clock paces the readings and stamps
// status.cases.updatedAt.
type figures struct {
	// feed is the process's network: its Cities and their subtrees.
	feed     *cluster.Feed
	client   client.Client
	recorder events.EventRecorder
	log      logr.Logger
	url      func(city string) string
	clock    clock.WithTicker
	opts     FiguresOptions
}

func newFigures(feed *cluster.Feed, c client.Client, rec events.EventRecorder, log logr.Logger, url func(string) string, clk clock.WithTicker, opts FiguresOptions) *figures {
	if opts.Interval == 0 {
		opts.Interval = DefaultFiguresInterval
	}
	if opts.TokenFile == "" {
		opts.TokenFile = DefaultRegistryTokenFile
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: figuresTimeout}
	}
	return &figures{feed: feed, client: c, recorder: rec, log: log, url: url, clock: clk, opts: opts}
}

// NeedLeaderElection is true: one replica writes the figures.
func (f *figures) NeedLeaderElection() bool { return true }

// Start reads the figures once at once and then every interval, until
// ctx is done.
func (f *figures) Start(ctx context.Context) error {
	t := f.clock.NewTicker(f.opts.Interval)
	defer t.Stop()
	for {
		f.read(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C():
		}
	}
}

// read reads the figures of every City that declares spec.cases.
func (f *figures) read(ctx context.Context) {
	if !f.feed.Synced() {
		return // a network half read has half its subtrees
	}
	nw := f.feed.Network()
	for _, city := range nw.All() {
		if city.Spec.Level != v1alpha1.LevelCity || city.Spec.Cases == nil || !city.DeletionTimestamp.IsZero() {
			continue
		}
		got, err := f.fetch(ctx, city.Name)
		if err != nil {
			figuresReads.WithLabelValues("error").Inc()
			f.log.Info("the registry's case figures cannot be read; the offices keep the last ones", "city", city.Name, "err", err.Error())
			continue
		}
		figuresReads.WithLabelValues("ok").Inc()
		f.write(ctx, caseStatuses(nw, city.Name, got))
	}
}

// fetch asks a City's registry for its figures.
func (f *figures) fetch(ctx context.Context, city string) (*cases.Figures, error) {
	token, err := readToken(f.opts.TokenFile)
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(f.url(city))
	if err != nil {
		return nil, fmt.Errorf("registry URL: %w", err)
	}
	u = u.JoinPath("v1", "figures")
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	res, err := f.opts.HTTPClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer func() { _ = res.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(res.Body, maxFiguresBytes+1))
	if err != nil {
		return nil, err
	}
	if len(body) > maxFiguresBytes {
		return nil, fmt.Errorf("%s: the answer has more than %d bytes", u, maxFiguresBytes)
	}
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %s: %s", u, res.Status, strings.TrimSpace(string(body[:min(len(body), 256)])))
	}
	var got cases.Figures
	if err := json.Unmarshal(body, &got); err != nil {
		return nil, fmt.Errorf("%s: %w", u, err)
	}
	return &got, nil
}

// readToken reads the registry token, bounded.
func readToken(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("the registry token: %w", err)
	}
	defer func() { _ = f.Close() }()
	b, err := io.ReadAll(io.LimitReader(f, maxRegistryToken+1))
	if err != nil {
		return "", fmt.Errorf("the registry token: %w", err)
	}
	token := strings.TrimSpace(string(b))
	if token == "" || len(b) > maxRegistryToken {
		return "", fmt.Errorf("the registry token %s: want 1 to %d bytes", path, maxRegistryToken)
	}
	return token, nil
}

// write sets status.cases of each office of the City from its counts,
// where they changed.
func (f *figures) write(ctx context.Context, statuses []officeCases) {
	for _, st := range statuses {
		o, want := st.office, st.cases
		have := o.Status.Cases
		if have != nil && sameFigures(have, want) {
			continue
		}
		want.UpdatedAt = &metav1.Time{Time: f.clock.Now().Truncate(time.Second)}
		if err := f.patch(ctx, o, want); err != nil {
			f.log.Error(err, "writing the case figures", "office", o.Name)
			continue
		}
		figuresWrites.Inc()
		if have != nil && want.Overdue > have.Overdue {
			f.recorder.Eventf(o, nil, corev1.EventTypeWarning, "OverdueRising", "Report",
				"overdue cases rose from %d to %d (open %d); kubectl get office %s -o jsonpath='{.status.cases}'", have.Overdue, want.Overdue, want.Open, o.Name)
		}
	}
}

// patch replaces status.cases of the office, and nothing else: a merge
// patch (which makes status where an office has none yet) naming every
// field of the figures, null where it has no value, so that a ratio that
// has lost its denominator (a new year) does not linger.
func (f *figures) patch(ctx context.Context, o *v1alpha1.Office, want *v1alpha1.OfficeCasesStatus) error {
	cases, err := withNulls(want, "since", "updatedAt", "subtree")
	if err != nil {
		return err
	}
	if want.Subtree != nil {
		if cases["subtree"], err = withNulls(want.Subtree); err != nil {
			return err
		}
	}
	body, err := json.Marshal(map[string]any{"status": map[string]any{"cases": cases}})
	if err != nil {
		return err
	}
	// The office is the network's, which the patch's answer must not
	// overwrite.
	return f.client.Status().Patch(ctx, &v1alpha1.Office{ObjectMeta: metav1.ObjectMeta{Name: o.Name}}, client.RawPatch(types.MergePatchType, body))
}

// ratioFields are the optional fields of CaseFigures.
var ratioFields = []string{"onTimeRatio", "timelyAcceptanceRatio", "satisfactionRatio"}

// withNulls is v as a JSON object with null for each of the ratio fields
// and of more that v leaves out.
func withNulls(v any, more ...string) (map[string]any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	for _, k := range append(more, ratioFields...) {
		if _, ok := m[k]; !ok {
			m[k] = nil
		}
	}
	return m, nil
}

// sameFigures compares the figures, not when they were last changed.
func sameFigures(a, b *v1alpha1.OfficeCasesStatus) bool {
	return a.CaseFigures == b.CaseFigures && a.Since == b.Since && equality.Semantic.DeepEqual(a.Subtree, b.Subtree)
}

// officeCases is the status.cases an office of the City should have.
type officeCases struct {
	office *v1alpha1.Office
	cases  *v1alpha1.OfficeCasesStatus
}

// caseStatuses are the status.cases of every office of the City: its own
// figures, and for an office with offices below it, the totals of its
// subtree. One walk sums each subtree once, from the leaves up; an office
// is counted once even if the parents form a cycle.
func caseStatuses(idx *xinfang.Network, city string, got *cases.Figures) []officeCases {
	var out []officeCases
	seen := map[string]bool{}
	var walk func(name string) cases.Counts
	walk = func(name string) cases.Counts {
		seen[name] = true
		sum := got.Offices[name]
		below := false
		for _, child := range idx.Children(name) {
			if !seen[child] {
				sum.Add(walk(child))
				below = true
			}
		}
		if o, ok := idx.Get(name); ok {
			st := &v1alpha1.OfficeCasesStatus{CaseFigures: figuresOf(got.Offices[name]), Since: got.Since}
			if below {
				fig := figuresOf(sum)
				st.Subtree = &fig
			}
			out = append(out, officeCases{office: o, cases: st})
		}
		return sum
	}
	walk(city)
	return out
}

// figuresOf turns raw counts into the figures of a status.
func figuresOf(c cases.Counts) v1alpha1.CaseFigures {
	return v1alpha1.CaseFigures{
		Open: c.Open, Overdue: c.Overdue, DueWithin7d: c.DueWithin7d, ClosedOnTime: c.ClosedOnTime,
		OnTimeRatio:           cases.Ratio(c.ClosedOnTime, c.Replied),
		TimelyAcceptanceRatio: cases.Ratio(c.AcceptedTimely, c.AcceptanceDue),
		SkipLevel:             c.SkipLevel, Repeat: c.Repeat,
		SatisfactionRatio: cases.Ratio(c.Satisfied, c.Rated),
	}
}
