package e2e

import (
	"context"
	"crypto/tls"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/certs"
	"github.com/xinfang/petition-operator/internal/testenv"
	petitionwebhook "github.com/xinfang/petition-operator/internal/webhook"
)

// TestRollingUpgrade rolls the manager as a Deployment with maxSurge 1 and
// maxUnavailable 0 does, while a writer creates and updates offices
// without a pause. Two replicas serve the webhooks behind one address: a
// TCP balancer standing in for the webhook Service, which forwards to the
// replicas that are in it and pass their readiness probe, as endpoints
// would (the API server cannot reach a Service here, without kube-proxy).
// Each step of the roll starts a new replica on the shared certificate
// Secret, waits until it is Ready and in the balancer, takes an old one out
// of the balancer and stops it with SIGTERM. No write may be refused, and
// every one must have been admitted by the webhooks: the mutating webhook
// sets closedOnHolidays of each reception window, which the writer leaves
// unset each time and nothing else sets.
func TestRollingUpgrade(t *testing.T) {
	sharedControlPlane(t)
	g := NewWithT(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	lb := newBalancer(t)
	shared := &testenv.SharedCert{Namespace: "default", Secret: "e2e-roll-webhook-cert",
		Validating: "e2e-roll-validating", Mutating: "e2e-roll-mutating"}
	mutating, validating, err := petitionwebhook.LocalConfigurations("https://"+lb.addr(), nil)
	g.Expect(err).NotTo(HaveOccurred())
	mutating.Name, validating.Name = shared.Mutating, shared.Validating
	mutating.Labels, validating.Labels = nil, nil
	// The roll's offices only, so that the other tests' writes do not go
	// through this balancer.
	only := &metav1.LabelSelector{MatchLabels: map[string]string{"e2e": "roll"}}
	for i := range mutating.Webhooks {
		mutating.Webhooks[i].ObjectSelector = only
	}
	for i := range validating.Webhooks {
		validating.Webhooks[i].ObjectSelector = only
	}
	// Started before the replicas, so that the first one's injection finds
	// them; removed first when the test ends, then the offices (nothing
	// reconciles them: the replicas watch no office), then the Secret.
	create(t, mutating, validating)
	t.Cleanup(func() {
		bg := context.Background()
		_ = k8s.Delete(bg, mutating)
		_ = k8s.Delete(bg, validating)
		_ = k8s.DeleteAllOf(bg, &v1alpha1.Office{}, client.MatchingLabels{"e2e": "roll"})
		_ = k8s.Delete(bg, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: shared.Namespace, Name: shared.Secret}})
	})

	args := []string{"--leader-elect", "--leader-election-namespace=default", "--leader-election-id=e2e-roll",
		// The roll is of the webhooks: no office is the replicas' to
		// reconcile.
		"--watch-label-selector=e2e=roll-reconciled-by-none"}
	replica := func(name string) *testenv.Manager {
		m := startManager(t, name, testenv.ManagerOptions{SharedCert: shared, Args: args})
		lb.add(name, m)
		return m
	}
	a := replica("roll-a")
	b := replica("roll-b")
	secret := &corev1.Secret{}
	g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: shared.Namespace, Name: shared.Secret}, secret)).To(Succeed())
	// The caBundle is the Secret's, and both replicas serve its certificate.
	g.Eventually(func(g Gomega) {
		for _, name := range []string{shared.Validating, shared.Mutating} {
			for _, bundle := range caBundles(g, name) {
				g.Expect(bundle).To(Equal(secret.Data[certs.CAName]))
			}
		}
	}).WithTimeout(30 * time.Second).Should(Succeed())
	for _, m := range []*testenv.Manager{a, b} {
		g.Expect(servedCert(t, m.WebhookAddr())).To(Equal(leafDER(t, secret.Data[certs.CertName])))
	}

	w := &writer{}
	city := office("roll-city", v1alpha1.LevelCity, "", map[string]string{"e2e": "roll"})
	g.Eventually(func() error { return k8s.Create(ctx, withWindow(city)) }).WithTimeout(30 * time.Second).Should(Succeed())
	wctx, stopWriting := context.WithCancel(ctx)
	written := make(chan struct{})
	go func() {
		defer close(written)
		w.run(wctx)
	}()
	defer stopWriting()
	if err := sleepCtx(ctx, 3*time.Second); err != nil {
		t.Fatal(err)
	}

	// The roll: c in, a out; d in, b out. After each stop the writes go on:
	// the API server's connection to a stopped replica (it keeps one open
	// and reuses it) is closed by its graceful shutdown and made again,
	// through the balancer, to a replica that serves.
	began := time.Now()
	var afterStops []int64
	for i, old := range []struct {
		name string
		m    *testenv.Manager
	}{{"roll-a", a}, {"roll-b", b}} {
		name := fmt.Sprintf("roll-%c", 'c'+i)
		m := replica(name) // returns once Ready
		// It serves the Secret's certificate, whose CA the configurations
		// still carry: the new pod made no CA of its own.
		g.Expect(servedCert(t, m.WebhookAddr())).To(Equal(leafDER(t, secret.Data[certs.CertName])), "replica %s serves another certificate", name)
		for _, cfg := range []string{shared.Validating, shared.Mutating} {
			for _, bundle := range caBundles(g, cfg) {
				g.Expect(bundle).To(Equal(secret.Data[certs.CAName]), "the caBundle of %s changed when replica %s started", cfg, name)
			}
		}
		g.Eventually(func() bool { return lb.serving(name) }).WithTimeout(10*time.Second).Should(BeTrue(), "replica %s not in the balancer", name)
		lb.remove(old.name)
		g.Expect(old.m.Stop()).To(Succeed(), "replica %s stopped with an error", old.name)
		stopped := w.total()
		g.Eventually(w.total).WithTimeout(10*time.Second).Should(BeNumerically(">", stopped+10), "no writes after replica %s stopped", old.name)
		afterStops = append(afterStops, w.total()-stopped)
	}
	rolled := time.Since(began)
	if err := sleepCtx(ctx, 3*time.Second); err != nil {
		t.Fatal(err)
	}
	stopWriting()
	<-written

	writes, refused, unadmitted := w.figures()
	t.Logf("rolled two replicas in %s while writing: %d writes (%d creates, %d updates), %d refused, %d not admitted by the webhooks; connections per replica: %v; writes in the moments after each stop: %v",
		rolled.Round(time.Millisecond), writes, w.creates.Load(), w.updates.Load(), refused, unadmitted, lb.counts(), afterStops)
	for _, e := range w.errors() {
		t.Logf("refused: %s", e)
	}
	fmt.Printf("ROLL replicas=2 writes=%d refused=%d unadmitted=%d roll_s=%.1f\n", writes, refused, unadmitted, rolled.Seconds())
	g.Expect(refused).To(BeZero(), "writes refused during the roll")
	g.Expect(unadmitted).To(BeZero(), "writes the mutating webhook did not see")
	g.Expect(w.creates.Load()).To(BeNumerically(">", 0))
	g.Expect(w.updates.Load()).To(BeNumerically(">", 0))
	// The new replicas served the webhooks once the old ones were gone, on
	// the same certificate: the Secret was neither made again nor rotated.
	counts := lb.counts()
	g.Expect(counts["roll-c"]+counts["roll-d"]).To(BeNumerically(">", 0), "no connection reached a new replica: %v", counts)
	after := &corev1.Secret{}
	g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: shared.Namespace, Name: shared.Secret}, after)).To(Succeed())
	g.Expect(after.UID).To(Equal(secret.UID))
	g.Expect(after.ResourceVersion).To(Equal(secret.ResourceVersion))
}

// withWindow gives an office a reception window whose closedOnHolidays
// only the mutating webhook sets.
func withWindow(o *v1alpha1.Office) *v1alpha1.Office {
	o.Spec.ReceptionWindows = []v1alpha1.ReceptionWindow{{Name: "online", Channels: []v1alpha1.Channel{"Online"}, Always: true}}
	return o
}

// admitted tells whether the mutating webhook saw the office as written.
func admitted(o *v1alpha1.Office) bool {
	for _, w := range o.Spec.ReceptionWindows {
		if w.ClosedOnHolidays == nil {
			return false
		}
	}
	return len(o.Spec.ReceptionWindows) > 0
}

// writer creates counties under roll-city and updates them in turn, as fast
// as the API server answers.
type writer struct {
	creates, updates atomic.Int64
	mu               sync.Mutex
	refused          []string
	unadmitted       int
}

func (w *writer) run(ctx context.Context) {
	var made []string
	for i := 0; ctx.Err() == nil; i++ {
		var o *v1alpha1.Office
		var err error
		if i%2 == 0 || len(made) == 0 {
			o = withWindow(office(fmt.Sprintf("roll-county-%d", len(made)), v1alpha1.LevelCounty, "roll-city", map[string]string{"e2e": "roll"}))
			if err = k8s.Create(ctx, o); err == nil {
				made = append(made, o.Name)
				w.creates.Add(1)
			}
		} else {
			o = &v1alpha1.Office{}
			name := made[i%len(made)]
			if err = k8s.Get(ctx, client.ObjectKey{Name: name}, o); err == nil {
				o.Spec.DisplayName = fmt.Sprintf("%s %d", name, i)
				o.Spec.ReceptionWindows[0].ClosedOnHolidays = nil
				if err = k8s.Update(ctx, o); err == nil {
					w.updates.Add(1)
				}
			}
		}
		if ctx.Err() != nil {
			return // a write cut short by the end of the test is no refusal
		}
		w.mu.Lock()
		switch {
		case err != nil:
			w.refused = append(w.refused, err.Error())
		case !admitted(o):
			w.unadmitted++
		}
		w.mu.Unlock()
	}
}

// total is the number of writes so far.
func (w *writer) total() int64 { return w.creates.Load() + w.updates.Load() }

func (w *writer) figures() (writes, refused, unadmitted int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return int(w.creates.Load() + w.updates.Load()), len(w.refused), w.unadmitted
}

func (w *writer) errors() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.refused...)
}

// balancer is a TCP load balancer on loopback: each connection goes to the
// next backend that is in it and Ready (polled every 250 ms, as a kubelet
// probe feeds endpoints).
type balancer struct {
	l        net.Listener
	mu       sync.Mutex
	backends []*backend
	next     int
}

type backend struct {
	name  string
	m     *testenv.Manager
	ready atomic.Bool
	conns atomic.Int64
	gone  atomic.Bool
}

func newBalancer(t *testing.T) *balancer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &balancer{l: l}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() {
		cancel()
		_ = l.Close()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { b.forward(c) })
		}
	})
	wg.Go(func() {
		for ctx.Err() == nil {
			b.mu.Lock()
			backends := append([]*backend(nil), b.backends...)
			b.mu.Unlock()
			for _, be := range backends {
				be.ready.Store(!be.gone.Load() && be.m.Ready())
			}
			_ = sleepCtx(ctx, 250*time.Millisecond)
		}
	})
	return b
}

func (b *balancer) addr() string { return b.l.Addr().String() }

// add puts a Ready manager into the balancer.
func (b *balancer) add(name string, m *testenv.Manager) {
	be := &backend{name: name, m: m}
	be.ready.Store(m.Ready())
	b.mu.Lock()
	defer b.mu.Unlock()
	b.backends = append(b.backends, be)
}

// remove takes a backend out at once, as a terminating pod leaves the
// endpoints; its open connections go on until it closes them.
func (b *balancer) remove(name string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, be := range b.backends {
		if be.name == name {
			be.gone.Store(true)
			be.ready.Store(false)
		}
	}
}

// serving tells whether a backend takes new connections.
func (b *balancer) serving(name string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, be := range b.backends {
		if be.name == name {
			return be.ready.Load()
		}
	}
	return false
}

func (b *balancer) counts() map[string]int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := map[string]int64{}
	for _, be := range b.backends {
		out[be.name] = be.conns.Load()
	}
	return out
}

// pick returns the next serving backend, or nil.
func (b *balancer) pick() *backend {
	b.mu.Lock()
	defer b.mu.Unlock()
	for range b.backends {
		be := b.backends[b.next%len(b.backends)]
		b.next++
		if be.ready.Load() {
			return be
		}
	}
	return nil
}

func (b *balancer) forward(c net.Conn) {
	defer func() { _ = c.Close() }()
	be := b.pick()
	if be == nil {
		return // no endpoint: the connection is refused
	}
	up, err := net.DialTimeout("tcp", be.m.WebhookAddr(), 5*time.Second)
	if err != nil {
		return
	}
	defer func() { _ = up.Close() }()
	be.conns.Add(1)
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		if tc, ok := dst.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
		done <- struct{}{}
	}
	go pipe(up, c)
	go pipe(c, up)
	<-done
	<-done
}

// caBundles returns the caBundle of each webhook of a configuration.
func caBundles(g Gomega, name string) [][]byte {
	var out [][]byte
	if name == "e2e-roll-validating" {
		cfg := &admissionv1.ValidatingWebhookConfiguration{}
		g.Expect(k8s.Get(context.Background(), client.ObjectKey{Name: name}, cfg)).To(Succeed())
		for _, w := range cfg.Webhooks {
			out = append(out, w.ClientConfig.CABundle)
		}
		return out
	}
	cfg := &admissionv1.MutatingWebhookConfiguration{}
	g.Expect(k8s.Get(context.Background(), client.ObjectKey{Name: name}, cfg)).To(Succeed())
	for _, w := range cfg.Webhooks {
		out = append(out, w.ClientConfig.CABundle)
	}
	return out
}

// servedCert returns the DER of the certificate a TLS server presents.
func servedCert(t *testing.T, addr string) []byte {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}) //nolint:gosec // reads the served certificate only
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	return conn.ConnectionState().PeerCertificates[0].Raw
}

// leafDER returns the DER of the first certificate of a PEM bundle.
func leafDER(t *testing.T, pemData []byte) []byte {
	t.Helper()
	block, _ := pem.Decode(pemData)
	if block == nil || block.Type != "CERTIFICATE" {
		t.Fatal("no PEM certificate")
	}
	return block.Bytes
}

// sleepCtx sleeps for d or until ctx is done.
func sleepCtx(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}
