package app

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr/funcr"
	. "github.com/onsi/gomega"
	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/xinfang/petition-operator/controllers"
	"github.com/xinfang/petition-operator/internal/testenv"
)

// TestRunCampaignsAgain runs the operator with Run against a real API
// server, then has an intruder hold its Lease so that it cannot renew: the
// manager stops leading, but Run does not return; it serves its probes
// again and, once the intruder lets the Lease run out, leads again under a
// new identity, with its reconcilers created a second time in the process.
func TestRunCampaignsAgain(t *testing.T) {
	g := NewWithT(t)
	env, err := testenv.Start()
	g.Expect(err).NotTo(HaveOccurred())
	defer func() { _ = env.Stop() }()
	c, err := client.New(env.Config, client.Options{Scheme: testenv.Scheme})
	g.Expect(err).NotTo(HaveOccurred())
	ports, err := testenv.FreePorts(1)
	g.Expect(err).NotTo(HaveOccurred())
	probes := fmt.Sprintf("127.0.0.1:%d", ports[0])

	var mu sync.Mutex
	var logs []string
	log := funcr.New(func(prefix, args string) {
		mu.Lock()
		defer mu.Unlock()
		logs = append(logs, args)
	}, funcr.Options{})
	logged := func(s string) bool {
		mu.Lock()
		defer mu.Unlock()
		for _, l := range logs {
			if strings.Contains(l, s) {
				return true
			}
		}
		return false
	}

	const id = "run-campaigns-again"
	opts := Options{
		MetricsBindAddress: "0", HealthProbeBindAddress: probes,
		LeaderElection: true, LeaderElectionID: id, LeaderElectionNamespace: "default",
		LeaseDuration: 3 * time.Second, RenewDeadline: 2 * time.Second, RetryPeriod: 500 * time.Millisecond,
		GracefulShutdownTimeout: 5 * time.Second,
		Reconcilers:             true,
		Controllers:             controllers.Options{TenantImage: "desk:test", IngressNamespace: "ingress-nginx"},
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- Run(ctx, env.Config, opts, log) }()

	lease := &coordinationv1.Lease{}
	key := client.ObjectKey{Namespace: "default", Name: id}
	holder := func(g Gomega) string {
		g.Expect(c.Get(ctx, key, lease)).To(Succeed())
		return ptr.Deref(lease.Spec.HolderIdentity, "")
	}
	g.Eventually(holder).WithTimeout(30 * time.Second).ShouldNot(BeEmpty())
	first := holder(g)
	ready := func() int {
		resp, err := http.Get("http://" + probes + "/readyz")
		if err != nil {
			return 0
		}
		_ = resp.Body.Close()
		return resp.StatusCode
	}
	g.Eventually(ready).WithTimeout(30 * time.Second).Should(Equal(http.StatusOK))

	// The intruder takes the Lease and keeps renewing it until the manager
	// has stood down.
	intrude := func() error {
		l := &coordinationv1.Lease{}
		if err := c.Get(ctx, key, l); err != nil {
			return err
		}
		l.Spec.HolderIdentity = ptr.To("intruder")
		l.Spec.LeaseDurationSeconds = ptr.To[int32](3)
		l.Spec.RenewTime = &metav1.MicroTime{Time: time.Now()}
		return c.Update(ctx, l)
	}
	g.Eventually(func(g Gomega) {
		g.Expect(intrude()).To(Succeed())
		g.Expect(logged("Lost the leadership")).To(BeTrue())
	}).WithTimeout(30 * time.Second).WithPolling(300 * time.Millisecond).Should(Succeed())
	g.Expect(done).NotTo(Receive(), "Run returned on a lost leadership")

	// The intruder goes; the Lease runs out and the new manager takes it.
	g.Eventually(func(g Gomega) {
		h := holder(g)
		g.Expect(h).NotTo(BeElementOf("", "intruder", first))
	}).WithTimeout(30 * time.Second).Should(Succeed())
	g.Eventually(ready).WithTimeout(30 * time.Second).Should(Equal(http.StatusOK))
	g.Consistently(done).WithTimeout(time.Second).ShouldNot(Receive())

	cancel()
	g.Eventually(done).WithTimeout(30 * time.Second).Should(Receive(BeNil()))
}
