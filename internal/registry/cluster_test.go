package registry_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/registry"
	"github.com/xinfang/petition-operator/internal/testenv"
)

// controlPlane is the package's API server, started by the first test that
// needs it and stopped by TestMain.
var controlPlane struct {
	once sync.Once
	env  *testenv.Env
	err  error
}

// cluster is the control plane with config/samples applied, config/registry's
// ClusterRole bound to the ServiceAccount petition-system/petition-registry,
// and a rest.Config that acts as that ServiceAccount: what the registry can
// do in a cluster, and no more.
type cluster struct {
	env      *testenv.Env
	admin    client.Client
	kube     kubernetes.Interface
	registry *rest.Config
}

var clusterOnce struct {
	once sync.Once
	c    *cluster
	err  error
}

func startCluster(t *testing.T) *cluster {
	t.Helper()
	controlPlane.once.Do(func() {
		testenv.SetLogger()
		controlPlane.env, controlPlane.err = testenv.Start()
	})
	if controlPlane.err != nil {
		t.Fatal(controlPlane.err)
	}
	clusterOnce.once.Do(func() { clusterOnce.c, clusterOnce.err = setUpCluster(controlPlane.env) })
	if clusterOnce.err != nil {
		t.Fatal(clusterOnce.err)
	}
	return clusterOnce.c
}

// stopControlPlane stops the API server when a test started it.
func stopControlPlane() error {
	if controlPlane.env == nil {
		return nil
	}
	return controlPlane.env.Stop()
}

func setUpCluster(env *testenv.Env) (*cluster, error) {
	r, err := testenv.SetUpRegistry(context.Background(), env)
	if err != nil {
		return nil, err
	}
	return &cluster{env: env, admin: r.Admin, kube: r.Kube, registry: tokenConfig(env.Config, r.Token)}, nil
}

// tokenConfig reaches the API server of cfg with a bearer token alone.
func tokenConfig(cfg *rest.Config, token string) *rest.Config {
	out := rest.AnonymousClientConfig(cfg)
	out.BearerToken = token
	return out
}

// runCluster starts a cluster network as cfg and stops it at the end of
// the test, checking that it stopped cleanly.
func runCluster(t *testing.T, cfg *rest.Config, opts registry.ClusterOptions) *registry.Cluster {
	t.Helper()
	n, err := registry.NewCluster(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("the cluster network stopped with %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("the cluster network did not stop")
		}
	})
	return n
}

// eventually polls cond until it holds, failing the test after 20 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// rebuildInterval is the tests' RebuildInterval: a fifth of the default's,
// so that the bursts take less time.
const rebuildInterval = 200 * time.Millisecond

// acceptanceDays is the Acceptance limit of the office's chain in n.
func acceptanceDays(t *testing.T, n *registry.Net, office string) int {
	t.Helper()
	cfg, err := n.Config(office)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range cfg.Escalation.Steps {
		if s.Stage == v1alpha1.StageAcceptance {
			return s.Limit.Days
		}
	}
	t.Fatalf("%s: no Acceptance stage in %+v", office, cfg.Escalation)
	return 0
}

// TestClusterNetworkFollowsTheCluster: running as the ServiceAccount bound
// to config/registry's ClusterRole (list and watch of the network's kinds,
// nothing else), the cluster network is empty and not ready until its cache
// has synced, then knows the sample network as a Live snapshot; an
// EscalationPolicy change and a new office reach Current while a Net
// already handed out stays as it was; a burst of changes costs at most one
// rebuild an interval.
func TestClusterNetworkFollowsTheCluster(t *testing.T) {
	c := startCluster(t)
	ctx := context.Background()
	n := runCluster(t, c.registry, registry.ClusterOptions{RebuildInterval: rebuildInterval})
	if _, ok := n.Current().Office("shifosi-town"); ok && n.Ready() != nil {
		t.Error("the network knows shifosi-town while not ready")
	}
	eventually(t, "the cluster network is ready", func() bool { return n.Ready() == nil })
	first := n.Current()
	if _, ok := first.Office("shifosi-town"); !ok {
		t.Fatal("the network read from the cluster does not know shifosi-town")
	}
	if got := first.Subtree("zhenping-county"); len(got) < 5 {
		t.Errorf("zhenping-county's subtree %v; want the county and its offices", got)
	}
	if days := acceptanceDays(t, first, "zhenping-natural-resources"); days != 15 {
		t.Fatalf("Acceptance at zhenping-natural-resources: %d days; want the sample's 15", days)
	}

	// An EscalationPolicy changes.
	var policy v1alpha1.EscalationPolicy
	if err := c.admin.Get(ctx, client.ObjectKey{Name: "zhenping-supervision"}, &policy); err != nil {
		t.Fatal(err)
	}
	for i := range policy.Spec.Stages {
		if policy.Spec.Stages[i].Name == v1alpha1.StageAcceptance {
			policy.Spec.Stages[i].Limit = "20d"
		}
	}
	if err := c.admin.Update(ctx, &policy); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for i := range policy.Spec.Stages {
			if policy.Spec.Stages[i].Name == v1alpha1.StageAcceptance {
				policy.Spec.Stages[i].Limit = "15d"
			}
		}
		if err := c.admin.Update(context.Background(), &policy); err != nil {
			t.Error(err)
		}
	})
	eventually(t, "the new Acceptance limit reaches the network", func() bool {
		return acceptanceDays(t, n.Current(), "zhenping-natural-resources") == 20
	})
	if days := acceptanceDays(t, first, "zhenping-natural-resources"); days != 15 {
		t.Errorf("a Net handed out before the change now says %d days; a Net does not change", days)
	}

	// An office is added, then removed.
	office := &v1alpha1.Office{
		ObjectMeta: metav1.ObjectMeta{Name: "xiaoliu-town"},
		Spec:       v1alpha1.OfficeSpec{Level: v1alpha1.LevelTownship, Parent: "zhenping-county", DisplayName: "小刘镇信访办", CalendarRef: "cn-2026"},
	}
	if err := c.admin.Create(ctx, office); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the new office is in the network", func() bool {
		return n.Current().Within("xiaoliu-town", "zhenping-county")
	})
	if _, ok := first.Office("xiaoliu-town"); ok {
		t.Error("a Net handed out before the office was created knows it")
	}
	if err := c.admin.Delete(ctx, office); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the deleted office leaves the network", func() bool {
		_, ok := n.Current().Office("xiaoliu-town")
		return !ok
	})

	// A burst of 30 changes: at most one rebuild an interval.
	before, start := n.Builds(), time.Now()
	var last v1alpha1.Office
	for i := range 30 {
		if err := c.admin.Get(ctx, client.ObjectKey{Name: "jiasong-town"}, &last); err != nil {
			t.Fatal(err)
		}
		if last.Labels == nil {
			last.Labels = map[string]string{}
		}
		last.Labels["burst"] = strconv.Itoa(i)
		if err := c.admin.Update(ctx, &last); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "the last change of the burst reaches the network", func() bool {
		o, ok := n.Current().Office("jiasong-town")
		return ok && o.Labels["burst"] == last.Labels["burst"]
	})
	elapsed := time.Since(start)
	if builds, most := n.Builds()-before, uint64(elapsed/rebuildInterval)+2; builds < 1 || builds > most {
		t.Errorf("%d rebuilds for 30 changes in %s; want 1 to %d", builds, elapsed.Round(time.Millisecond), most)
	}
}

// TestClusterNetworkWaitsForItsCache: a registry that may not list the
// network (no role bound) stays not ready with an empty network, and stops
// cleanly.
func TestClusterNetworkWaitsForItsCache(t *testing.T) {
	c := startCluster(t)
	token, err := testenv.ServiceAccountToken(context.Background(), c.admin, c.kube, "petition-system", "unbound")
	if err != nil {
		t.Fatal(err)
	}
	n := runCluster(t, tokenConfig(c.env.Config, token), registry.ClusterOptions{})
	time.Sleep(2 * time.Second)
	if err := n.Ready(); err == nil {
		t.Error("ready without being allowed to list the network")
	}
	if _, ok := n.Current().Office("shifosi-town"); ok {
		t.Error("an unsynced network knows shifosi-town")
	}
}

// reviewClock is a settable clock; the token reviewer's answers expire
// by it.
type reviewClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *reviewClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *reviewClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// TestTokenReviewer: running as the registry's ServiceAccount, a token of a
// ServiceAccount in office-shifosi-town issued for the registry's audience
// is shifosi-town's: the ServiceAccount desk's as its desk, any other's as
// its staff; the operator's ServiceAccount is the operator, with no
// office; the same ServiceAccount's token for the API server or another
// audience, a ServiceAccount of default, of the operator's namespace that
// is not the operator's, of a namespace of no office or of a Village's,
// and a garbage token are refused. Answers are
// reused (one review for many requests, concurrent or not) until their
// time is up, and the office is looked up in the current network each
// time.
func TestTokenReviewer(t *testing.T) {
	c := startCluster(t)
	ctx := context.Background()
	n := runCluster(t, c.registry, registry.ClusterOptions{})
	eventually(t, "the cluster network is ready", func() bool { return n.Ready() == nil })
	clk := &reviewClock{t: time.Now()}
	operator := "system:serviceaccount:petition-system:petition-operator"
	r, err := registry.NewTokenReviewer(c.registry, n, registry.TokenReviewOptions{Now: clk.now, Operators: []string{operator}})
	if err != nil {
		t.Fatal(err)
	}
	if r.Audience() != "petition-registry" {
		t.Errorf("audience %q; want petition-registry", r.Audience())
	}
	token := func(namespace, name string, audiences ...string) string {
		t.Helper()
		tok, err := testenv.ServiceAccountToken(ctx, c.admin, c.kube, namespace, name, audiences...)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}

	desk := token("office-shifosi-town", "desk", "petition-registry")
	want := registry.Actor{Name: "system:serviceaccount:office-shifosi-town:desk", Office: "shifosi-town", Role: registry.RoleDesk}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if a, err := r.Authenticate(ctx, desk); err != nil || a != want {
				t.Errorf("the desk's token: %+v, %v; want %+v", a, err, want)
			}
		})
	}
	wg.Wait()
	if a, err := r.Authenticate(ctx, desk); err != nil || a != want {
		t.Errorf("the desk's token again: %+v, %v; want %+v", a, err, want)
	}
	if got := r.Reviews(); got != 1 {
		t.Errorf("%d TokenReviews for nine requests with one token; want 1", got)
	}

	for tok, want := range map[string]registry.Actor{
		token("office-shifosi-town", "clerk", "petition-registry"):         {Name: "system:serviceaccount:office-shifosi-town:clerk", Office: "shifosi-town", Role: registry.RoleStaff},
		token("office-zhenping-county", "desk", "petition-registry"):       {Name: "system:serviceaccount:office-zhenping-county:desk", Office: "zhenping-county", Role: registry.RoleDesk},
		token("petition-system", "petition-operator", "petition-registry"): {Name: operator, Role: registry.RoleOperator},
	} {
		if a, err := r.Authenticate(ctx, tok); err != nil || a != want {
			t.Errorf("%s: %+v, %v; want %+v", want.Name, a, err, want)
		}
	}

	refused := map[string]string{
		"the operator's token for the API server":            token("petition-system", "petition-operator"),
		"another ServiceAccount of the operator's namespace": token("petition-system", "petition-other", "petition-registry"),
		"the desk's token for the API server":                token("office-shifosi-town", "desk"),
		"the desk's token for another audience":              token("office-shifosi-town", "desk", "another-service"),
		"a token of the namespace default":                   token("default", "staff", "petition-registry"),
		"a token of the namespace of no office":              token("office-nowhere", "staff", "petition-registry"),
		"a token of a Village's namespace":                   token("office-shifosi-village", "staff", "petition-registry"),
		"a token of a namespace named like the office":       token("shifosi-town", "staff", "petition-registry"),
		"a garbage token":                                    "not-a-token-at-all",
		"a garbage JWT":                                      "eyJhbGciOiJSUzI1NiJ9.eyJleHAiOjB9.c2lnbmF0dXJl",
		"the registry's own token (for the API server)":      c.registry.BearerToken,
	}
	for what, tok := range refused {
		if a, err := r.Authenticate(ctx, tok); !errors.Is(err, registry.ErrUnauthenticated) {
			t.Errorf("%s: %+v, %v; want ErrUnauthenticated", what, a, err)
		}
	}

	// The office is the current network's: a desk of an office not yet
	// created is refused, then taken once the office exists, without
	// another review.
	early := token("office-xiaozhuang-town", "desk", "petition-registry")
	if _, err := r.Authenticate(ctx, early); !errors.Is(err, registry.ErrUnauthenticated) {
		t.Errorf("a desk of an office not in the network: %v; want ErrUnauthenticated", err)
	}
	reviews := r.Reviews()
	office := &v1alpha1.Office{
		ObjectMeta: metav1.ObjectMeta{Name: "xiaozhuang-town"},
		Spec:       v1alpha1.OfficeSpec{Level: v1alpha1.LevelTownship, Parent: "zhenping-county", CalendarRef: "cn-2026"},
	}
	if err := c.admin.Create(ctx, office); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.admin.Delete(context.Background(), office) })
	eventually(t, "the new office is in the network", func() bool {
		_, ok := n.Current().Office("xiaozhuang-town")
		return ok
	})
	if a, err := r.Authenticate(ctx, early); err != nil || a.Office != "xiaozhuang-town" {
		t.Errorf("a desk of an office just created: %+v, %v; want xiaozhuang-town", a, err)
	}
	if r.Reviews() != reviews {
		t.Errorf("%d more TokenReviews for a token reviewed a moment ago; want none", r.Reviews()-reviews)
	}

	// A ServiceAccount deleted: its token's answer is reused until its time
	// is up, then refused.
	if err := c.admin.Delete(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "office-shifosi-town", Name: "desk"}}); err != nil {
		t.Fatal(err)
	}
	reviews = r.Reviews()
	if _, err := r.Authenticate(ctx, desk); err != nil || r.Reviews() != reviews {
		t.Errorf("within a minute of its review, the desk's token: %v, %d more reviews; want its answer reused", err, r.Reviews()-reviews)
	}
	// The API server keeps its own answers a few seconds: review again,
	// each time past the answer's time, until it has forgotten the
	// ServiceAccount.
	eventually(t, "the token of the deleted ServiceAccount is refused", func() bool {
		time.Sleep(250 * time.Millisecond)
		clk.add(registry.DefaultReviewTTL + time.Second)
		_, err := r.Authenticate(ctx, desk)
		return errors.Is(err, registry.ErrUnauthenticated)
	})
}
