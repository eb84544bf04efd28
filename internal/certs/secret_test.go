package certs_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/xinfang/petition-operator/internal/certs"
)

// secretNamespace returns a namespace of its own for the test.
func secretNamespace(t *testing.T, c client.Client) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: configName(t, "ns")}}
	if err := c.Create(context.Background(), ns); err != nil {
		t.Fatal(err)
	}
	return ns.Name
}

// TestSecretStoreCreatesOnce starts four replicas at once on a missing
// Secret: one creates it, the others read it, and all serve the same
// material.
func TestSecretStoreCreatesOnce(t *testing.T) {
	g := NewWithT(t)
	c := apiServer(t)
	ns := secretNamespace(t, c)
	const replicas = 4
	results := make([]certs.Material, replicas)
	errs := make([]error, replicas)
	var wg sync.WaitGroup
	for i := range replicas {
		wg.Go(func() {
			s := &certs.SecretStore{Client: c, Namespace: ns, Name: "webhook-cert", Hosts: []string{"webhook.ops.svc"}}
			results[i], errs[i] = s.Sync(context.Background())
		})
	}
	wg.Wait()
	for i := range replicas {
		g.Expect(errs[i]).NotTo(HaveOccurred())
		g.Expect(results[i].Equal(results[0])).To(BeTrue(), "replica %d holds other material", i)
	}
	secret := &corev1.Secret{}
	g.Expect(c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "webhook-cert"}, secret)).To(Succeed())
	g.Expect(secret.Data[certs.CertName]).To(Equal(results[0].Cert))
	g.Expect(secret.Data[certs.CAName]).To(Equal(results[0].CABundle))
	g.Expect(secret.Data[certs.SecretCAKeyName]).To(Equal(results[0].CAKey))
	g.Expect(secret.Annotations).To(HaveKey(certs.CAIssuedAtAnnotation))
	g.Expect(secret.Type).To(Equal(corev1.SecretTypeOpaque))
	// Read again: nothing to do, nothing written.
	s := &certs.SecretStore{Client: c, Namespace: ns, Name: "webhook-cert", Hosts: []string{"webhook.ops.svc"}}
	again, err := s.Sync(context.Background())
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(again.Equal(results[0])).To(BeTrue())
	after := &corev1.Secret{}
	g.Expect(c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "webhook-cert"}, after)).To(Succeed())
	g.Expect(after.ResourceVersion).To(Equal(secret.ResourceVersion))
}

// TestSecretStoreRotatesOnce has four replicas find the CA due at once:
// one rotation is stored, the others read it, and the bundle carries the
// old CA and the new.
func TestSecretStoreRotatesOnce(t *testing.T) {
	g := NewWithT(t)
	c := apiServer(t)
	ns := secretNamespace(t, c)
	hosts := []string{"webhook.ops.svc"}
	start := time.Now()
	first := &certs.SecretStore{Client: c, Namespace: ns, Name: "webhook-cert", Hosts: hosts, Policy: short, Clock: clocktesting.NewFakePassiveClock(start)}
	_, err := first.Sync(context.Background())
	g.Expect(err).NotTo(HaveOccurred())
	// 4 h left of the certificate: a new one, same CA.
	first.Clock = clocktesting.NewFakePassiveClock(start.Add(45 * time.Hour))
	before, err := first.Sync(context.Background())
	g.Expect(err).NotTo(HaveOccurred())

	later := start.Add(70 * time.Hour) // 29 h left of the CA
	const replicas = 4
	results := make([]certs.Material, replicas)
	errs := make([]error, replicas)
	var wg sync.WaitGroup
	for i := range replicas {
		wg.Go(func() {
			s := &certs.SecretStore{Client: c, Namespace: ns, Name: "webhook-cert", Hosts: hosts, Policy: short, Clock: clocktesting.NewFakePassiveClock(later)}
			results[i], errs[i] = s.Sync(context.Background())
		})
	}
	wg.Wait()
	for i := range replicas {
		g.Expect(errs[i]).NotTo(HaveOccurred())
		g.Expect(results[i].Equal(results[0])).To(BeTrue(), "replica %d holds other material", i)
	}
	g.Expect(pemCerts(t, results[0].CABundle)).To(HaveLen(2))
	g.Expect(results[0].CABundle).To(HaveSuffix(string(before.CABundle)))
	g.Expect(results[0].Cert).To(Equal(before.Cert), "the certificate moved to the new CA within the overlap")
	g.Expect(results[0].CAIssuedAt.Unix()).To(Equal(later.Unix()))
}

// TestSecretSyncServes runs controller-runtime's webhook server on the
// files of a SecretSync and an injector fed by it: the API server calls the
// webhook; the readiness check passes; after a rotation of the Secret by
// another replica the server serves the new certificate, the check passes
// again, and the API server still calls the webhook.
func TestSecretSyncServes(t *testing.T) {
	g := NewWithT(t)
	c := apiServer(t)
	ns := secretNamespace(t, c)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	g.Expect(err).NotTo(HaveOccurred())
	port := l.Addr().(*net.TCPAddr).Port
	g.Expect(l.Close()).To(Succeed())
	addr := fmt.Sprintf("127.0.0.1:%d", port)

	hosts := []string{"127.0.0.1"}
	dir := t.TempDir()
	store := &certs.SecretStore{Client: c, Namespace: ns, Name: "webhook-cert", Hosts: hosts, Policy: short}
	sync := &certs.SecretSync{Store: store, Dir: dir, Interval: 200 * time.Millisecond}
	g.Expect(sync.Prime(ctx)).To(Succeed())
	for _, f := range []string{certs.CAName, certs.CertName, certs.KeyName} {
		g.Expect(filepath.Join(dir, f)).To(BeAnExistingFile())
	}
	_, err = os.Stat(filepath.Join(dir, certs.SecretCAKeyName))
	g.Expect(os.IsNotExist(err)).To(BeTrue(), "the CA key was written to disk")

	ready := certs.ServingChecker(addr, filepath.Join(dir, certs.CertName))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "/readyz", nil)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(ready(req)).To(MatchError(ContainSubstring("not serving TLS")))

	server := webhook.NewServer(webhook.Options{Host: "127.0.0.1", Port: port, CertDir: dir})
	server.Register("/deny", &admission.Webhook{Handler: admission.HandlerFunc(func(context.Context, admission.Request) admission.Response {
		return admission.Denied("denied by the test webhook")
	})})
	served := make(chan error, 1)
	go func() { served <- server.Start(ctx) }()
	g.Eventually(func() error { return ready(req) }).WithTimeout(10 * time.Second).Should(Succeed())
	synced := make(chan error, 1)
	go func() { synced <- sync.Start(ctx) }()

	label := "certs.petition-operator.test/" + configName(t, "ns")
	g.Expect(c.Patch(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{label: "true"}}},
		client.Merge)).To(Succeed())
	cfg := denyConfig(t, "https://"+addr+"/deny", label)
	g.Expect(c.Create(ctx, cfg)).To(Succeed())
	t.Cleanup(func() { _ = c.Delete(context.Background(), cfg) })
	injector := &certs.CABundleInjector{Client: c, Validating: []string{cfg.Name}, Bundle: sync.CABundle, Interval: 200 * time.Millisecond}
	injected := make(chan error, 1)
	go func() { injected <- injector.Start(ctx) }()
	create := func() error {
		return c.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{GenerateName: "probe-", Namespace: ns}})
	}
	g.Eventually(create).WithTimeout(10 * time.Second).Should(MatchError(ContainSubstring("denied by the test webhook")))

	// Another replica, whose policy finds the CA due (a longer-lived CA
	// renewed 150 h before its end, used a second after it is trusted),
	// rotates the Secret twice: a new CA in the bundle, then a certificate
	// it signs.
	old, err := store.Sync(ctx)
	g.Expect(err).NotTo(HaveOccurred())
	eager := certs.Policy{CAValidity: 200 * time.Hour, CARenewBefore: 150 * time.Hour, CertValidity: 50 * time.Hour, CertRenewBefore: 10 * time.Hour, Overlap: time.Second}
	otherClock := clocktesting.NewFakePassiveClock(time.Now())
	other := &certs.SecretStore{Client: c, Namespace: ns, Name: "webhook-cert", Hosts: hosts, Policy: eager, Clock: otherClock}
	added, err := other.Sync(ctx)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(added.Cert).To(Equal(old.Cert), "the certificate moved before the overlap")
	otherClock.SetTime(otherClock.Now().Add(1100 * time.Millisecond))
	_, err = other.Sync(ctx)
	g.Expect(err).NotTo(HaveOccurred())
	rotated, err := store.Sync(ctx)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(rotated.Cert).NotTo(Equal(old.Cert))
	g.Expect(pemCerts(t, rotated.CABundle)).To(HaveLen(2))

	// The replica's files follow, its server serves the new certificate,
	// and the caBundle carries both CAs.
	served0 := func() []byte {
		conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}) //nolint:gosec // reads the served certificate
		if err != nil {
			return nil
		}
		defer func() { _ = conn.Close() }()
		return conn.ConnectionState().PeerCertificates[0].Raw
	}
	newLeaf := pemCerts(t, rotated.Cert)[0].Raw
	g.Eventually(served0).WithTimeout(30 * time.Second).Should(Equal(newLeaf))
	g.Eventually(func() error { return ready(req) }).WithTimeout(10 * time.Second).Should(Succeed())
	g.Eventually(func() []byte {
		got := &admissionv1.ValidatingWebhookConfiguration{}
		if err := c.Get(ctx, client.ObjectKey{Name: cfg.Name}, got); err != nil {
			return nil
		}
		return got.Webhooks[0].ClientConfig.CABundle
	}).WithTimeout(10 * time.Second).Should(Equal(rotated.CABundle))
	g.Expect(bytes.Contains(rotated.CABundle, old.CABundle)).To(BeTrue())
	g.Eventually(create).WithTimeout(10 * time.Second).Should(MatchError(ContainSubstring("denied by the test webhook")))

	// A certificate on disk that the server has not loaded: not ready.
	unloaded, _, err := certs.Next(nil, hosts, time.Now(), certs.DefaultPolicy)
	g.Expect(err).NotTo(HaveOccurred())
	stale := t.TempDir()
	_, err = certs.WriteFiles(stale, unloaded)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(certs.ServingChecker(addr, filepath.Join(stale, certs.CertName))(req)).To(MatchError(ContainSubstring("does not serve the current certificate")))

	cancel()
	g.Eventually(served).WithTimeout(10 * time.Second).Should(Receive(BeNil()))
	g.Eventually(synced).WithTimeout(10 * time.Second).Should(Receive(BeNil()))
	g.Eventually(injected).WithTimeout(10 * time.Second).Should(Receive(BeNil()))
}

func TestSecretStoreMisconfigured(t *testing.T) {
	if _, err := (&certs.SecretStore{}).Sync(context.Background()); err == nil {
		t.Error("Sync without a client, name or namespace succeeded")
	}
}
