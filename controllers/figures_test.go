package controllers_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/controllers"
	"github.com/xinfang/petition-operator/internal/cases"
)

// registries answers GET /v1/figures for the Cities of these tests, as a
// registry would, from figures a test sets: what is under test here is
// the operator's side (which offices get which status, and when it
// writes). The registry's own figures are tested against PostgreSQL in
// internal/registry, and the two together end to end in test/cases.
var registries = &figuresRegistry{byCity: map[string]*cases.Figures{}}

type figuresRegistry struct {
	mu        sync.Mutex
	byCity    map[string]*cases.Figures
	reads     map[string]int
	tokens    []string
	server    *httptest.Server
	tokenFile string
}

const figuresToken = "figures-test-token"

func startRegistries() (func(), error) {
	dir, err := os.MkdirTemp("", "figures-")
	if err != nil {
		return nil, err
	}
	registries.tokenFile = filepath.Join(dir, "token")
	if err := os.WriteFile(registries.tokenFile, []byte(figuresToken+"\n"), 0o600); err != nil {
		return nil, err
	}
	registries.reads = map[string]int{}
	registries.server = httptest.NewServer(http.HandlerFunc(registries.serve))
	return func() { registries.server.Close(); _ = os.RemoveAll(dir) }, nil
}

func (r *figuresRegistry) options() controllers.FiguresOptions {
	return controllers.FiguresOptions{Interval: figuresInterval, TokenFile: r.tokenFile}
}

// url is the City's registry: a path of the one server.
func (r *figuresRegistry) url(city string) string { return r.server.URL + "/" + city }

func (r *figuresRegistry) serve(w http.ResponseWriter, req *http.Request) {
	city, rest, _ := strings.Cut(strings.TrimPrefix(req.URL.Path, "/"), "/")
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tokens = append(r.tokens, req.Header.Get("Authorization"))
	f, ok := r.byCity[city]
	if rest != "v1/figures" || !ok {
		http.NotFound(w, req)
		return
	}
	r.reads[city]++
	_ = json.NewEncoder(w).Encode(f)
}

func (r *figuresRegistry) set(city string, f *cases.Figures) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.byCity[city] = f
}

func (r *figuresRegistry) readsOf(city string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reads[city]
}

// figuresCity is the City of the figures test.
const figuresCity = "fig-city"

// figuresInterval is the interval of the readings in these tests: a test
// steps the clock over it.
const figuresInterval = time.Minute

// tick steps the operator's clock by an interval and waits for the City's
// next reading to be answered. It steps once for one reading: a step
// taken while a reading runs would make the next one follow at once.
// Only a reader that had not started its ticker yet needs another.
func (r *figuresRegistry) tick(t *testing.T) {
	t.Helper()
	city := figuresCity
	before := r.readsOf(city)
	for range 4 {
		clock.Step(figuresInterval)
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if r.readsOf(city) > before {
				return
			}
		}
	}
	t.Fatalf("%s's registry was not read after 4 steps of the clock", city)
}

func TestCaseFiguresReachStatusOnlyWhenTheyChange(t *testing.T) {
	g := NewWithT(t)
	defer clock.reset()
	const city = figuresCity
	c := office(city, v1alpha1.LevelCity, "")
	c.Spec.Cases = &v1alpha1.OfficeCases{External: &v1alpha1.ExternalCases{SecretRef: v1alpha1.SecretKeyRef{Name: "fig-db", Key: "uri"}}}
	create(t, c, office("fig-county", v1alpha1.LevelCounty, city), office("fig-town", v1alpha1.LevelTownship, "fig-county"),
		office("fig-dept", v1alpha1.LevelDepartment, "fig-county"))
	for _, n := range []string{city, "fig-county", "fig-town", "fig-dept"} {
		expectReady(t, &v1alpha1.Office{ObjectMeta: metav1.ObjectMeta{Name: n}})
	}
	registries.set(city, &cases.Figures{Since: "2026-01-01", AsOf: "2026-12-07", Offices: map[string]cases.Counts{
		"fig-town": {Open: 3, Overdue: 1, DueWithin7d: 1, Replied: 4, ClosedOnTime: 3, AcceptanceDue: 2, AcceptedTimely: 2, Rated: 2, Satisfied: 1},
		"fig-dept": {Open: 2, Replied: 1, ClosedOnTime: 0, SkipLevel: 1, Repeat: 1},
	}})
	registries.tick(t)

	get := func(g Gomega, name string) *v1alpha1.Office {
		o := &v1alpha1.Office{}
		g.Expect(k8s.Get(context.Background(), client.ObjectKey{Name: name}, o)).To(Succeed())
		return o
	}
	g.Eventually(func(g Gomega) {
		town := get(g, "fig-town").Status.Cases
		g.Expect(town).NotTo(BeNil())
		g.Expect(town.CaseFigures).To(Equal(v1alpha1.CaseFigures{Open: 3, Overdue: 1, DueWithin7d: 1, ClosedOnTime: 3,
			OnTimeRatio: "0.750", TimelyAcceptanceRatio: "1.000", SatisfactionRatio: "0.500"}))
		g.Expect(town.Since).To(Equal("2026-01-01"))
		g.Expect(town.Subtree).To(BeNil(), "a township with no office below has no subtree")
		county := get(g, "fig-county").Status.Cases
		g.Expect(county).NotTo(BeNil())
		g.Expect(county.Open).To(BeZero(), "the county's own figures")
		g.Expect(county.Subtree).To(Equal(&v1alpha1.CaseFigures{Open: 5, Overdue: 1, DueWithin7d: 1, ClosedOnTime: 3,
			OnTimeRatio: "0.600", TimelyAcceptanceRatio: "1.000", SkipLevel: 1, Repeat: 1, SatisfactionRatio: "0.500"}),
			"the ratio of the sums (3 of 5 replies on time), not the mean of the ratios")
		top := get(g, city).Status.Cases
		g.Expect(top).NotTo(BeNil())
		g.Expect(top.Subtree).To(Equal(county.Subtree))
	}).WithTimeout(20 * time.Second).Should(Succeed())

	// Nothing changes: more readings write nothing. (The offices' own
	// reconciles may write their status meanwhile: a desk rolling out.)
	figures := map[string]*v1alpha1.OfficeCasesStatus{}
	for _, n := range []string{city, "fig-county", "fig-town", "fig-dept"} {
		figures[n] = get(g, n).Status.Cases
	}
	writes := figuresWrites(g)
	registries.tick(t)
	registries.tick(t)
	g.Expect(figuresWrites(g)).To(Equal(writes), "figures written though none changed")
	for n, f := range figures {
		g.Expect(get(g, n).Status.Cases).To(Equal(f), "%s's figures were written though none changed", n)
	}

	// The township's overdue count rises: its figures and its
	// ancestors' totals change, and it gets one Warning event.
	registries.set(city, &cases.Figures{Since: "2026-01-01", AsOf: "2026-12-08", Offices: map[string]cases.Counts{
		"fig-town": {Open: 4, Overdue: 3, Replied: 4, ClosedOnTime: 3, AcceptanceDue: 2, AcceptedTimely: 2, Rated: 2, Satisfied: 1},
		"fig-dept": {Open: 2, Replied: 1, SkipLevel: 1, Repeat: 1},
	}})
	registries.tick(t)
	g.Eventually(func(g Gomega) {
		g.Expect(get(g, "fig-town").Status.Cases.Overdue).To(BeNumerically("==", 3))
		g.Expect(get(g, city).Status.Cases.Subtree.Overdue).To(BeNumerically("==", 3))
		g.Expect(events(g, "fig-town")).To(ContainElement("OverdueRising"))
	}).WithTimeout(20 * time.Second).Should(Succeed())
	g.Expect(get(g, "fig-dept").Status.Cases).To(Equal(figures["fig-dept"]), "the department's figures did not change")
	registries.tick(t)
	var rising []string
	for _, e := range events(g, "fig-town") {
		if e == "OverdueRising" {
			rising = append(rising, e)
		}
	}
	g.Expect(rising).To(HaveLen(1), "one event for one rise")

	// A new year: counts of the period start again, and a ratio with no
	// denominator left is gone, not left as it was.
	registries.set(city, &cases.Figures{Since: "2027-01-01", AsOf: "2027-01-01", Offices: map[string]cases.Counts{
		"fig-town": {Open: 4, Overdue: 3},
	}})
	registries.tick(t)
	g.Eventually(func(g Gomega) {
		town := get(g, "fig-town").Status.Cases
		g.Expect(town.Since).To(Equal("2027-01-01"))
		g.Expect(town.CaseFigures).To(Equal(v1alpha1.CaseFigures{Open: 4, Overdue: 3}))
		g.Expect(get(g, "fig-county").Status.Cases.Subtree).To(Equal(&v1alpha1.CaseFigures{Open: 4, Overdue: 3}))
	}).WithTimeout(20 * time.Second).Should(Succeed())

	registries.mu.Lock()
	defer registries.mu.Unlock()
	for _, h := range registries.tokens {
		g.Expect(h).To(Equal("Bearer "+figuresToken), "the operator presents the token of its token file")
	}
}

// figuresWrites is how many status writes of changed figures the
// operator has made.
func figuresWrites(g Gomega) float64 {
	families, err := crmetrics.Registry.Gather()
	g.Expect(err).NotTo(HaveOccurred())
	for _, f := range families {
		if f.GetName() == "petition_case_figures_status_writes_total" {
			return f.GetMetric()[0].GetCounter().GetValue()
		}
	}
	return 0
}
