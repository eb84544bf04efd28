package e2e

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/testenv"
)

const shardKey = "petition.xinfang.io/shard"

// TestShardsByLabel splits a network between two managers with
// --watch-label-selector: each reconciles its own offices, labels their
// tenants, counts only them in its metrics, and an office of a stopped shard
// waits for its own instance rather than being taken by the other.
func TestShardsByLabel(t *testing.T) {
	sharedControlPlane(t)
	g := NewWithT(t)
	ctx := context.Background()
	east := map[string]string{shardKey: "east"}
	west := map[string]string{shardKey: "west"}
	a := startManager(t, "shard-east", testenv.ManagerOptions{NoWebhooks: true,
		Args: []string{"--watch-label-selector=" + shardKey + "=east", "--leader-elect", "--leader-election-namespace=default", "--leader-election-id=shard-east"}})
	b := startManager(t, "shard-west", testenv.ManagerOptions{NoWebhooks: true,
		Args: []string{"--watch-label-selector=" + shardKey + "=west", "--leader-elect", "--leader-election-namespace=default", "--leader-election-id=shard-west"}})

	create(t,
		office("s-city", v1alpha1.LevelCity, "", east),
		office("s-east", v1alpha1.LevelCounty, "s-city", east),
		office("s-west", v1alpha1.LevelCounty, "s-city", west),
		office("s-west-town", v1alpha1.LevelTownship, "s-west", west),
	)
	for _, name := range []string{"s-city", "s-east", "s-west", "s-west-town"} {
		o := readyOffice(g, name)
		// The tenant objects carry the shard label, so each instance's
		// tenant caches hold only its own.
		g.Expect(namespace(g, o.Status.Namespace).Labels).To(HaveKeyWithValue(shardKey, o.Labels[shardKey]))
	}
	// Each counts its own offices in its metrics.
	for m, want := range map[*testenv.Manager]float64{a: 2, b: 2} {
		g.Eventually(func(g Gomega) {
			families, err := m.Scrape()
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(testenv.Sum(families, "petition_offices", map[string]string{"ready": "true"})).To(Equal(want))
		}).WithTimeout(20 * time.Second).Should(Succeed())
	}

	// With the west instance gone, a new west office waits for it: the east
	// instance leaves it alone (no finalizer, no status) and goes on with
	// its own.
	g.Expect(b.Stop()).To(Succeed())
	create(t, office("s-west-land", v1alpha1.LevelDepartment, "s-west", west), office("s-east-town", v1alpha1.LevelTownship, "s-east", east))
	readyOffice(g, "s-east-town")
	g.Consistently(func(g Gomega) {
		o := &v1alpha1.Office{}
		g.Expect(k8s.Get(ctx, client.ObjectKey{Name: "s-west-land"}, o)).To(Succeed())
		g.Expect(o.Finalizers).To(BeEmpty())
		g.Expect(o.Status.Conditions).To(BeEmpty())
	}).WithTimeout(3 * time.Second).Should(Succeed())
	var ns corev1.Namespace
	g.Expect(k8s.Get(ctx, client.ObjectKey{Name: "office-s-west-land"}, &ns)).NotTo(Succeed())

	// Its instance back, it is reconciled.
	startManager(t, "shard-west-2", testenv.ManagerOptions{NoWebhooks: true,
		Args: []string{"--watch-label-selector=" + shardKey + "=west", "--leader-elect", "--leader-election-namespace=default", "--leader-election-id=shard-west"}})
	readyOffice(g, "s-west-land")
}

// TestLeaderHandover runs two replicas with leader election: only the leader
// reconciles, and a graceful stop (SIGTERM) releases the Lease, so the other
// takes over without waiting for it to expire.
func TestLeaderHandover(t *testing.T) {
	sharedControlPlane(t)
	g := NewWithT(t)
	ctx := context.Background()
	const id = "e2e-handover"
	args := []string{"--leader-elect", "--leader-election-namespace=default", "--leader-election-id=" + id,
		// Only offices of this test: the others' are no concern of theirs.
		"--watch-label-selector=e2e=handover"}
	labels := map[string]string{"e2e": "handover"}
	first := startManager(t, "leader-1", testenv.ManagerOptions{NoWebhooks: true, Args: args})
	lease := &coordinationv1.Lease{}
	g.Eventually(func(g Gomega) {
		g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: "default", Name: id}, lease)).To(Succeed())
		g.Expect(lease.Spec.HolderIdentity).NotTo(BeNil())
		g.Expect(*lease.Spec.HolderIdentity).NotTo(BeEmpty())
	}).WithTimeout(30 * time.Second).Should(Succeed())
	leader := *lease.Spec.HolderIdentity
	second := startManager(t, "leader-2", testenv.ManagerOptions{NoWebhooks: true, Args: args})
	g.Expect(leaderStatus(g, first)).To(Equal(1.0))
	g.Expect(leaderStatus(g, second)).To(Equal(0.0))

	create(t, office("h-city", v1alpha1.LevelCity, "", labels))
	readyOffice(g, "h-city")

	stopped := time.Now()
	g.Expect(first.Stop()).To(Succeed(), "a graceful stop exits 0")
	exited := time.Since(stopped)
	// Released on the way out: the Lease no longer names the old leader,
	// well before its 8 s duration would have run out.
	g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: "default", Name: id}, lease)).To(Succeed())
	g.Expect(lease.Spec.HolderIdentity).To(Or(BeNil(), Not(HaveValue(Equal(leader)))), "the Lease was not released")
	g.Eventually(func() float64 { return leaderStatus(g, second) }).WithTimeout(15 * time.Second).WithPolling(100 * time.Millisecond).Should(Equal(1.0))
	handover := time.Since(stopped)
	t.Logf("graceful stop: exited in %s, the other replica led %s after SIGTERM", exited.Round(time.Millisecond), handover.Round(time.Millisecond))

	// The new leader reconciles.
	create(t, office("h-county", v1alpha1.LevelCounty, "h-city", labels))
	readyOffice(g, "h-county")
}

// leaderStatus reads leader_election_master_status of a manager.
func leaderStatus(g Gomega, m *testenv.Manager) float64 {
	families, err := m.Scrape()
	g.Expect(err).NotTo(HaveOccurred())
	return testenv.Sum(families, "leader_election_master_status", nil)
}
