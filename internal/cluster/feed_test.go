package cluster_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/cluster"
	"github.com/xinfang/petition-operator/internal/testenv"
	"github.com/xinfang/petition-operator/internal/xinfang"
)

// env is the package's one control plane.
var env *testenv.Env

func TestMain(m *testing.M) {
	var err error
	if env, err = testenv.Start(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	_ = env.Stop()
	os.Exit(code)
}

func office(name string, level v1alpha1.Level, parent string) *v1alpha1.Office {
	o := &v1alpha1.Office{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: v1alpha1.OfficeSpec{Level: level, Parent: v1alpha1.OfficeName(parent), DisplayName: name}}
	if level == v1alpha1.LevelDepartment {
		o.Spec.Department = "D01"
	}
	return o
}

// seen is what a controller of the feed saw of the network when an event
// reached it.
type seen struct {
	name     string
	inIndex  bool
	children int
}

// The feed hands a controller an office event only once the network has
// it, so no reconcile reads a network older than the event that woke it;
// it keeps the network current with no controller started (a replica that
// is not the leader, whose webhooks read it all the same); a controller
// that starts later is handed every office the network holds; and Synced
// says when the network is whole.
func TestFeed(t *testing.T) {
	g := NewWithT(t)
	c, err := client.New(env.Config, client.Options{Scheme: testenv.Scheme})
	g.Expect(err).NotTo(HaveOccurred())
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)

	// An office before the feed starts: the first list hands it over.
	g.Expect(c.Create(ctx, office("f-city", v1alpha1.LevelCity, ""))).To(Succeed())

	ch, err := cache.New(env.Config, cache.Options{Scheme: testenv.Scheme})
	g.Expect(err).NotTo(HaveOccurred())
	feed, err := cluster.NewFeed(ctx, ch)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(feed.Synced()).To(BeFalse(), "synced before the cache started")
	go func() { _ = ch.Start(ctx) }()
	g.Eventually(feed.Synced).WithTimeout(30 * time.Second).Should(BeTrue())
	nw := feed.Network()
	_, ok := nw.Get("f-city")
	g.Expect(ok).To(BeTrue(), "the office of the first list is in the network once synced")

	// No controller yet: the network follows all the same.
	g.Expect(c.Create(ctx, office("f-county", v1alpha1.LevelCounty, "f-city"))).To(Succeed())
	g.Eventually(func() []string { return nw.Children("f-city") }).WithTimeout(30 * time.Second).Should(Equal([]string{"f-county"}))

	// A controller starts: it is handed both offices, and from then on
	// each event after the network has taken it in.
	var mu sync.Mutex
	var got []seen
	src := feed.Source(func(_ context.Context, e cluster.Event, q cluster.Queue) {
		_, in := nw.Get(e.Office().GetName())
		mu.Lock()
		got = append(got, seen{e.Office().GetName(), in, len(nw.Children("f-city"))})
		mu.Unlock()
		for _, n := range e.Affected {
			q.Add(reconcile.Request{NamespacedName: client.ObjectKey{Name: n}})
		}
	})
	q := workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[reconcile.Request]())
	t.Cleanup(q.ShutDown)
	srcCtx, stop := context.WithCancel(ctx)
	t.Cleanup(stop)
	g.Expect(src.Start(srcCtx, q)).To(Succeed())
	queued := func() []string {
		var names []string
		for q.Len() > 0 {
			r, _ := q.Get()
			names = append(names, r.Name)
			q.Done(r)
		}
		slices.Sort(names)
		return slices.Compact(names)
	}
	var names []string
	g.Eventually(func() []string { names = append(names, queued()...); slices.Sort(names); return slices.Compact(names) }).
		WithTimeout(30 * time.Second).Should(Equal([]string{"f-city", "f-county"}))

	// A second county: handed over with the network already holding it,
	// the city's children counted with it.
	g.Expect(c.Create(ctx, office("f-county2", v1alpha1.LevelCounty, "f-city"))).To(Succeed())
	g.Eventually(func() []seen {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(got)
	}).WithTimeout(30 * time.Second).Should(ContainElement(seen{"f-county2", true, 2}))
	// Gone: the network no longer has it when the event arrives.
	g.Expect(c.Delete(ctx, office("f-county2", v1alpha1.LevelCounty, "f-city"))).To(Succeed())
	g.Eventually(func() []seen {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(got)
	}).WithTimeout(30 * time.Second).Should(ContainElement(seen{"f-county2", false, 1}))

	// A stopped controller is handed nothing more; the network follows.
	stop()
	g.Eventually(func() int {
		mu.Lock()
		defer mu.Unlock()
		n := len(got)
		return n
	}).Should(BeNumerically(">", 0))
	mu.Lock()
	before := len(got)
	mu.Unlock()
	queued()
	g.Expect(c.Create(ctx, office("f-county3", v1alpha1.LevelCounty, "f-city"))).To(Succeed())
	g.Eventually(func() int { return len(nw.Children("f-city")) }).WithTimeout(30 * time.Second).Should(Equal(2))
	mu.Lock()
	g.Expect(got).To(HaveLen(before), "a stopped controller was handed an event")
	mu.Unlock()
}

// The network's other objects are read through the cache: what exists,
// and what an office compiles against.
func TestObjects(t *testing.T) {
	g := NewWithT(t)
	ctx := t.Context()
	c, err := client.New(env.Config, client.Options{Scheme: testenv.Scheme})
	g.Expect(err).NotTo(HaveOccurred())
	cal := &v1alpha1.HolidayCalendar{ObjectMeta: metav1.ObjectMeta{Name: "cal"},
		Spec: v1alpha1.HolidayCalendarSpec{Holidays: []v1alpha1.Holiday{{Name: "New Year", From: "2026-01-01", To: "2026-01-01"}}}}
	g.Expect(c.Create(ctx, cal)).To(Succeed())
	objects := cluster.NewObjects(ctx, c)
	nw := xinfang.NewNetwork().WithObjects(objects)
	g.Expect(nw.Exists(xinfang.KindHolidayCalendar, "cal")).To(BeTrue())
	g.Expect(nw.Exists(xinfang.KindHolidayCalendar, "other")).To(BeFalse())
	g.Expect(nw.Exists(xinfang.KindEscalationPolicy, "cal")).To(BeFalse())
	got, err := nw.HolidayCalendar("cal")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(got).NotTo(BeNil())
	g.Expect(got.Spec.Holidays).To(HaveLen(1))
	none, err := nw.EscalationPolicy("absent")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(none).To(BeNil())
	_, err = objects.Exists("Unknown", "x")
	g.Expect(err).To(MatchError(ContainSubstring(`unknown kind "Unknown"`)))
}
