package controllers

import (
	"context"
	"slices"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/casestore"
	"github.com/xinfang/petition-operator/internal/cluster"
	"github.com/xinfang/petition-operator/internal/kinds"
	"github.com/xinfang/petition-operator/internal/tenant"
	"github.com/xinfang/petition-operator/internal/testenv"
	"github.com/xinfang/petition-operator/internal/xinfang"
)

// TestCityCasesReachEveryDesk: a City that declares spec.cases gives every
// desk of its network its registry, without a change of those offices: a
// township's desk gains the projected token, the registry's flags and the
// NetworkPolicy rule to the City's registry pods; withdrawn, they go. Its
// namespace carries the City throughout. It runs a control plane and a
// manager of its own, one that knows where registries run
// (Options.CasesNamespace), which the package's shared manager does not.
func TestCityCasesReachEveryDesk(t *testing.T) {
	g := NewWithT(t)
	env, err := testenv.Start()
	g.Expect(err).NotTo(HaveOccurred())
	defer func() { _ = env.Stop() }()
	c, err := client.New(env.Config, client.Options{Scheme: testenv.Scheme})
	g.Expect(err).NotTo(HaveOccurred())
	keepCollector(t)
	ctx, cancel := context.WithCancel(context.Background())
	mgr, err := ctrl.NewManager(env.Config, ctrl.Options{
		Scheme: kinds.NewScheme(), Metrics: metricsserver.Options{BindAddress: "0"}, Cache: CacheOptions(nil),
		// controller-runtime's default, as the shared manager has: on a
		// loaded machine the reconciles in flight may take more than a few
		// seconds to return.
		GracefulShutdownTimeout: ptr.To(30 * time.Second),
		// The package's shared manager made controllers of the same names.
		Controller: config.Controller{SkipNameValidation: ptr.To(true), UsePriorityQueue: ptr.To(false)},
	})
	g.Expect(err).NotTo(HaveOccurred())
	feed, err := cluster.NewFeed(ctx, mgr.GetCache())
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(Setup(ctx, mgr, feed, Options{TenantImage: "desk:test", IngressNamespace: "ingress-nginx", CasesNamespace: "petition-system"})).To(Succeed())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("the manager: %v", err)
		}
	}()
	offices, err := testenv.ApplySamples(ctx, c, env.Root)
	g.Expect(err).NotTo(HaveOccurred())

	const ns = "office-shifosi-town"
	// desk reads the township's desk: whether it has the token volume, its
	// args and the registry rule of its NetworkPolicy.
	desk := func(g Gomega) (token *corev1.Volume, args []string, rule bool) {
		var d appsv1.Deployment
		g.Expect(c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "desk"}, &d)).To(Succeed())
		pod := d.Spec.Template.Spec
		g.Expect(pod.AutomountServiceAccountToken).To(Equal(ptr.To(false)))
		for i := range pod.Volumes {
			if pod.Volumes[i].Name == tenant.RegistryTokenVolume {
				token = &pod.Volumes[i]
			}
		}
		var np networkingv1.NetworkPolicy
		g.Expect(c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "desk"}, &np)).To(Succeed())
		rule = slices.ContainsFunc(np.Spec.Egress, func(r networkingv1.NetworkPolicyEgressRule) bool {
			return len(r.To) == 1 && r.To[0].NamespaceSelector != nil && r.To[0].PodSelector != nil &&
				r.To[0].NamespaceSelector.MatchLabels[corev1.LabelMetadataName] == "petition-system" &&
				r.To[0].PodSelector.MatchLabels[casestore.LabelCity] == "nanyang-city" &&
				r.To[0].PodSelector.MatchLabels[casestore.LabelName] == casestore.RegistryApp
		})
		return token, pod.Containers[0].Args, rule
	}
	without := func(g Gomega) {
		token, args, rule := desk(g)
		g.Expect(token).To(BeNil())
		g.Expect(args).NotTo(ContainElement(HavePrefix("--registry")))
		g.Expect(rule).To(BeFalse())
	}
	poll := func(f func(Gomega)) {
		t.Helper()
		g.Eventually(f).WithTimeout(120 * time.Second).WithPolling(200 * time.Millisecond).Should(Succeed())
	}
	poll(without)
	// The network settled, nothing else reconciles the township: only the
	// City's change can reach its desk.
	poll(func(g Gomega) {
		for _, name := range offices {
			o := &v1alpha1.Office{}
			g.Expect(c.Get(ctx, client.ObjectKey{Name: name}, o)).To(Succeed())
			ready := apimeta.FindStatusCondition(o.Status.Conditions, v1alpha1.ConditionReady)
			g.Expect(ready).NotTo(BeNil(), name)
			g.Expect(ready.Status).To(Equal(metav1.ConditionTrue), name+": "+ready.Message)
			g.Expect(o.Status.ObservedGeneration).To(Equal(o.Generation), name)
		}
	})
	var nsObj corev1.Namespace
	g.Expect(c.Get(ctx, client.ObjectKey{Name: ns}, &nsObj)).To(Succeed())
	g.Expect(nsObj.Labels).To(HaveKeyWithValue(casestore.LabelCity, "nanyang-city"))

	setCases := func(cases *v1alpha1.OfficeCases) {
		t.Helper()
		g.Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error {
			city := &v1alpha1.Office{}
			if err := c.Get(ctx, client.ObjectKey{Name: "nanyang-city"}, city); err != nil {
				return err
			}
			city.Spec.Cases = cases
			return c.Update(ctx, city)
		})).To(Succeed())
	}
	setCases(&v1alpha1.OfficeCases{External: &v1alpha1.ExternalCases{SecretRef: v1alpha1.SecretKeyRef{Name: "cases-db", Key: "uri"}}})
	poll(func(g Gomega) {
		token, args, rule := desk(g)
		g.Expect(token).NotTo(BeNil())
		g.Expect(token.Projected).NotTo(BeNil())
		g.Expect(token.Projected.Sources).To(HaveLen(1))
		sat := token.Projected.Sources[0].ServiceAccountToken
		g.Expect(sat).NotTo(BeNil())
		g.Expect(sat.Audience).To(Equal(casestore.Audience))
		g.Expect(args).To(ContainElements("--registry-url=http://cases-nanyang-city.petition-system.svc:8080",
			"--registry-token-file=/var/run/secrets/petition-registry/token"))
		g.Expect(rule).To(BeTrue())
	})
	setCases(nil)
	poll(without)
}

// A City that declares or withdraws spec.cases enqueues every office of
// its network; a change within spec.cases, or of another field, only the
// City.
func TestCasesDeclaredEnqueuesTheSubtree(t *testing.T) {
	ctx := t.Context()
	// The events as the network's feed hands them over: taken in first.
	nw := xinfang.NewNetwork()
	events := officeEvents(nw, noPolicies{})
	q := workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[reconcile.Request]())
	defer q.ShutDown()
	drain := func() []string {
		var names []string
		for q.Len() > 0 {
			r, _ := q.Get()
			names = append(names, r.Name)
			q.Done(r)
		}
		slices.Sort(names)
		return slices.Compact(names)
	}
	office := func(name string, level v1alpha1.Level, parent string) *v1alpha1.Office {
		return &v1alpha1.Office{ObjectMeta: metav1.ObjectMeta{Name: name, Generation: 1}, Spec: v1alpha1.OfficeSpec{Level: level, Parent: v1alpha1.OfficeName(parent)}}
	}
	city := office("c-city", v1alpha1.LevelCity, "")
	for _, o := range []*v1alpha1.Office{city, office("c-county", v1alpha1.LevelCounty, "c-city"), office("c-town", v1alpha1.LevelTownship, "c-county")} {
		events(ctx, cluster.Event{New: o, Affected: nw.Upsert(o)}, q)
	}
	drain()
	update := func(mutate func(*v1alpha1.Office)) []string {
		cur := city.DeepCopy()
		cur.Generation++
		mutate(cur)
		events(ctx, cluster.Event{Old: city, New: cur, Affected: nw.Upsert(cur)}, q)
		city = cur
		return drain()
	}
	external := func(name string) *v1alpha1.OfficeCases {
		return &v1alpha1.OfficeCases{External: &v1alpha1.ExternalCases{SecretRef: v1alpha1.SecretKeyRef{Name: name, Key: "uri"}}}
	}
	for _, step := range []struct {
		what   string
		mutate func(*v1alpha1.Office)
		want   []string
	}{
		{"declared", func(o *v1alpha1.Office) { o.Spec.Cases = external("db") }, []string{"c-city", "c-county", "c-town"}},
		{"changed within", func(o *v1alpha1.Office) { o.Spec.Cases = external("other-db") }, []string{"c-city"}},
		{"another field", func(o *v1alpha1.Office) { o.Spec.DisplayName = "City" }, []string{"c-city"}},
		{"withdrawn", func(o *v1alpha1.Office) { o.Spec.Cases = nil }, []string{"c-city", "c-county", "c-town"}},
	} {
		if got := update(step.mutate); !slices.Equal(got, step.want) {
			t.Errorf("spec.cases %s: enqueued %v, want %v", step.what, got, step.want)
		}
	}
}

// keepCollector puts the package's shared manager's collector of the
// network gauges back when the test ends: a manager's Setup registers its
// own in its place.
func keepCollector(t *testing.T) {
	collector.Lock()
	prev := collector.current
	collector.Unlock()
	t.Cleanup(func() {
		collector.Lock()
		defer collector.Unlock()
		if collector.current != nil {
			ctrlmetrics.Registry.Unregister(collector.current)
		}
		collector.current = prev
		if prev != nil {
			_ = ctrlmetrics.Registry.Register(prev)
		}
	})
}

// noPolicies is a client.Reader of a network without RoutingPolicies: the
// office events need nothing else.
type noPolicies struct{ client.Reader }

func (noPolicies) List(context.Context, client.ObjectList, ...client.ListOption) error { return nil }
