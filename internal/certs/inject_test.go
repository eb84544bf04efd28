package certs_test

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/xinfang/petition-operator/internal/certs"
	"github.com/xinfang/petition-operator/internal/testenv"
)

// The control plane starts with the first test that needs it, so that the
// certificate tests run without one.
var (
	envOnce sync.Once
	env     *testenv.Env
	k8s     client.Client
	envErr  error
)

// TestMain stops the control plane, if a test started it.
func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if env != nil {
		if err := env.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stopping the control plane:", err)
		}
	}
	os.Exit(code)
}

// apiServer returns a direct client of a real API server, started once.
func apiServer(t *testing.T) client.Client {
	t.Helper()
	envOnce.Do(func() {
		env, envErr = testenv.Start()
		if envErr != nil {
			return
		}
		k8s, envErr = client.New(env.Config, client.Options{Scheme: testenv.Scheme})
	})
	if envErr != nil {
		t.Fatal(envErr)
	}
	return k8s
}

// caBundle returns the CA PEM of a new serving certificate.
func caBundle(t *testing.T) []byte {
	t.Helper()
	return ensure(t, t.TempDir(), []string{"127.0.0.1"}, time.Now())
}

// configName returns a configuration name unique to the test.
func configName(t *testing.T, suffix string) string {
	return strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name())) + "-" + suffix
}

// harmless returns what the webhooks of the test configurations share: they
// call a URL nothing serves, for configmaps in namespaces with a label
// nothing has, and are ignored when that fails.
func harmless() (admissionv1.WebhookClientConfig, []admissionv1.RuleWithOperations, *metav1.LabelSelector) {
	return admissionv1.WebhookClientConfig{URL: ptr.To("https://127.0.0.1:9443/x")},
		[]admissionv1.RuleWithOperations{{
			Operations: []admissionv1.OperationType{admissionv1.Create},
			Rule: admissionv1.Rule{
				APIGroups:   []string{""},
				APIVersions: []string{"v1"},
				Resources:   []string{"configmaps"},
			},
		}},
		&metav1.LabelSelector{MatchLabels: map[string]string{"certs.petition-operator.test/never": "true"}}
}

// createValidating creates a ValidatingWebhookConfiguration with two
// webhooks, the first with caBundle first.
func createValidating(t *testing.T, c client.Client, name string, first []byte) {
	t.Helper()
	clientConfig, rules, selector := harmless()
	cfg := &admissionv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: name}}
	for _, w := range []string{"a", "b"} {
		cfg.Webhooks = append(cfg.Webhooks, admissionv1.ValidatingWebhook{
			Name:                    w + ".certs.petition-operator.test",
			ClientConfig:            *clientConfig.DeepCopy(),
			Rules:                   rules,
			NamespaceSelector:       selector,
			SideEffects:             ptr.To(admissionv1.SideEffectClassNone),
			AdmissionReviewVersions: []string{"v1"},
			FailurePolicy:           ptr.To(admissionv1.Ignore),
		})
	}
	cfg.Webhooks[0].ClientConfig.CABundle = first
	if err := c.Create(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Delete(context.Background(), cfg) })
}

// createMutating creates a MutatingWebhookConfiguration with two webhooks,
// the first with caBundle first.
func createMutating(t *testing.T, c client.Client, name string, first []byte) {
	t.Helper()
	clientConfig, rules, selector := harmless()
	cfg := &admissionv1.MutatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: name}}
	for _, w := range []string{"a", "b"} {
		cfg.Webhooks = append(cfg.Webhooks, admissionv1.MutatingWebhook{
			Name:                    w + ".certs.petition-operator.test",
			ClientConfig:            *clientConfig.DeepCopy(),
			Rules:                   rules,
			NamespaceSelector:       selector,
			SideEffects:             ptr.To(admissionv1.SideEffectClassNone),
			AdmissionReviewVersions: []string{"v1"},
			FailurePolicy:           ptr.To(admissionv1.Ignore),
		})
	}
	cfg.Webhooks[0].ClientConfig.CABundle = first
	if err := c.Create(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Delete(context.Background(), cfg) })
}

// stored returns the caBundle of every webhook of the configurations as the
// API server stores them, and their resourceVersions.
func stored(g Gomega, c client.Client, validating, mutating string) (bundles []string, versions []string) {
	ctx := context.Background()
	v := &admissionv1.ValidatingWebhookConfiguration{}
	g.Expect(c.Get(ctx, client.ObjectKey{Name: validating}, v)).To(Succeed())
	for _, w := range v.Webhooks {
		bundles = append(bundles, string(w.ClientConfig.CABundle))
	}
	m := &admissionv1.MutatingWebhookConfiguration{}
	g.Expect(c.Get(ctx, client.ObjectKey{Name: mutating}, m)).To(Succeed())
	for _, w := range m.Webhooks {
		bundles = append(bundles, string(w.ClientConfig.CABundle))
	}
	return bundles, []string{v.ResourceVersion, m.ResourceVersion}
}

func TestInjectOnce(t *testing.T) {
	g := NewWithT(t)
	c := apiServer(t)
	ctx := context.Background()
	ca, other := caBundle(t), caBundle(t)
	validating, mutating := configName(t, "validating"), configName(t, "mutating")
	// The validating configuration's first webhook has the CA already, the
	// mutating one's another: both need a write.
	createValidating(t, c, validating, ca)
	createMutating(t, c, mutating, other)
	all := func(b []byte) []string { return []string{string(b), string(b), string(b), string(b)} }

	injector := &certs.CABundleInjector{Client: c, Validating: []string{validating}, Mutating: []string{mutating}, CABundle: ca}
	g.Expect(injector.InjectOnce(ctx)).To(Succeed())
	bundles, versions := stored(g, c, validating, mutating)
	g.Expect(bundles).To(Equal(all(ca)))

	// Nothing to change: nothing written.
	g.Expect(injector.InjectOnce(ctx)).To(Succeed())
	bundles, again := stored(g, c, validating, mutating)
	g.Expect(bundles).To(Equal(all(ca)))
	g.Expect(again).To(Equal(versions), "resourceVersions")

	// A new CA replaces the old one everywhere.
	injector.CABundle = other
	g.Expect(injector.InjectOnce(ctx)).To(Succeed())
	bundles, updated := stored(g, c, validating, mutating)
	g.Expect(bundles).To(Equal(all(other)))
	g.Expect(updated[0]).NotTo(Equal(versions[0]))
	g.Expect(updated[1]).NotTo(Equal(versions[1]))

	// The webhooks' other fields are as they were.
	v := &admissionv1.ValidatingWebhookConfiguration{}
	g.Expect(c.Get(ctx, client.ObjectKey{Name: validating}, v)).To(Succeed())
	g.Expect(v.Webhooks).To(HaveLen(2))
	for _, w := range v.Webhooks {
		g.Expect(w.ClientConfig.URL).To(Equal(ptr.To("https://127.0.0.1:9443/x")))
		g.Expect(w.FailurePolicy).To(Equal(ptr.To(admissionv1.Ignore)))
		g.Expect(w.Rules).To(HaveLen(1))
	}
}

func TestInjectOnceMissingConfiguration(t *testing.T) {
	g := NewWithT(t)
	c := apiServer(t)
	ca := caBundle(t)
	validating, mutating := configName(t, "validating"), configName(t, "mutating")
	createValidating(t, c, validating, nil)
	createMutating(t, c, mutating, nil)
	missing := configName(t, "missing")

	injector := &certs.CABundleInjector{
		Client:     c,
		Validating: []string{missing, validating},
		Mutating:   []string{mutating, missing},
		CABundle:   ca,
	}
	err := injector.InjectOnce(context.Background())
	g.Expect(err).To(HaveOccurred())
	g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "IsNotFound(%v)", err)
	g.Expect(err.Error()).To(ContainSubstring(fmt.Sprintf("ValidatingWebhookConfiguration %q", missing)))
	g.Expect(err.Error()).To(ContainSubstring(fmt.Sprintf("MutatingWebhookConfiguration %q", missing)))
	// The configurations that exist are injected all the same.
	bundles, _ := stored(g, c, validating, mutating)
	g.Expect(bundles).To(Equal([]string{string(ca), string(ca), string(ca), string(ca)}))
}

func TestInjectOnceMisconfigured(t *testing.T) {
	g := NewWithT(t)
	g.Expect((&certs.CABundleInjector{CABundle: []byte("x")}).InjectOnce(context.Background())).To(MatchError(ContainSubstring("no client")))
	c := apiServer(t)
	injector := &certs.CABundleInjector{Client: c, Validating: []string{"any"}}
	g.Expect(injector.InjectOnce(context.Background())).To(MatchError(ContainSubstring("empty CA bundle")))
	g.Expect(injector.Start(context.Background())).To(MatchError(ContainSubstring("empty CA bundle")))
}

func TestStart(t *testing.T) {
	g := NewWithT(t)
	c := apiServer(t)
	ca := caBundle(t)
	validating, mutating := configName(t, "validating"), configName(t, "mutating")
	createValidating(t, c, validating, nil)

	// The clock's ticks, not the real time, pace the injections.
	clk := clocktesting.NewFakeClock(time.Now())
	tick := func() { clk.Step(certs.DefaultInjectInterval) }
	injector := &certs.CABundleInjector{
		Client:     c,
		Validating: []string{validating},
		Mutating:   []string{mutating},
		CABundle:   ca,
		Clock:      clk,
	}
	g.Expect(injector.NeedLeaderElection()).To(BeFalse())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- injector.Start(ctx) }()

	// The existing configuration is injected although the other is missing.
	g.Eventually(func(g Gomega) {
		v := &admissionv1.ValidatingWebhookConfiguration{}
		g.Expect(c.Get(ctx, client.ObjectKey{Name: validating}, v)).To(Succeed())
		for _, w := range v.Webhooks {
			g.Expect(w.ClientConfig.CABundle).To(Equal(ca))
		}
	}).WithTimeout(10 * time.Second).Should(Succeed())
	g.Consistently(done).WithTimeout(300 * time.Millisecond).ShouldNot(Receive())

	// The missing one is injected at a later tick, once it exists.
	createMutating(t, c, mutating, nil)
	g.Eventually(func(g Gomega) {
		tick()
		bundles, _ := stored(g, c, validating, mutating)
		g.Expect(bundles).To(Equal([]string{string(ca), string(ca), string(ca), string(ca)}))
	}).WithTimeout(10 * time.Second).Should(Succeed())

	// A change by someone else is undone at a later tick.
	v := &admissionv1.ValidatingWebhookConfiguration{}
	g.Expect(c.Get(ctx, client.ObjectKey{Name: validating}, v)).To(Succeed())
	v.Webhooks[1].ClientConfig.CABundle = nil
	g.Expect(c.Update(ctx, v)).To(Succeed())
	g.Eventually(func(g Gomega) {
		tick()
		bundles, _ := stored(g, c, validating, mutating)
		g.Expect(bundles).To(Equal([]string{string(ca), string(ca), string(ca), string(ca)}))
	}).WithTimeout(10 * time.Second).Should(Succeed())

	cancel()
	g.Eventually(done).WithTimeout(5 * time.Second).Should(Receive(BeNil()))
}

func TestStartDefaultInterval(t *testing.T) {
	g := NewWithT(t)
	c := apiServer(t)
	ca := caBundle(t)
	validating, mutating := configName(t, "validating"), configName(t, "mutating")
	createValidating(t, c, validating, nil)
	createMutating(t, c, mutating, nil)

	// No Interval: injected at once, then it waits a minute, and stops
	// when cancelled rather than at the next tick.
	injector := &certs.CABundleInjector{Client: c, Validating: []string{validating}, Mutating: []string{mutating}, CABundle: ca}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- injector.Start(ctx) }()
	g.Eventually(func(g Gomega) {
		bundles, _ := stored(g, c, validating, mutating)
		g.Expect(bundles).To(Equal([]string{string(ca), string(ca), string(ca), string(ca)}))
	}).WithTimeout(10 * time.Second).Should(Succeed())
	cancel()
	g.Eventually(done).WithTimeout(5 * time.Second).Should(Receive(BeNil()))
}

// TestAPIServerTrustsInjectedCA proves the two halves together: the API
// server calls controller-runtime's webhook server, serving the files of
// EnsureServingCert, once the injector has set the caBundle.
func TestAPIServerTrustsInjectedCA(t *testing.T) {
	g := NewWithT(t)
	c := apiServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// A free port for the webhook server.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	g.Expect(err).NotTo(HaveOccurred())
	port := l.Addr().(*net.TCPAddr).Port
	g.Expect(l.Close()).To(Succeed())

	dir := t.TempDir()
	ca, err := certs.EnsureServingCert(dir, []string{"127.0.0.1"}, time.Now())
	g.Expect(err).NotTo(HaveOccurred())
	server := webhook.NewServer(webhook.Options{Host: "127.0.0.1", Port: port, CertDir: dir})
	server.Register("/deny", &admission.Webhook{Handler: admission.HandlerFunc(func(context.Context, admission.Request) admission.Response {
		return admission.Denied("denied by the test webhook")
	})})
	served := make(chan error, 1)
	go func() { served <- server.Start(ctx) }()
	g.Eventually(func() error { return server.StartedChecker()(nil) }).WithTimeout(10 * time.Second).Should(Succeed())

	label := "certs.petition-operator.test/" + configName(t, "ns")
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: configName(t, "ns"), Labels: map[string]string{label: "true"}}}
	g.Expect(c.Create(ctx, ns)).To(Succeed())
	cfg := denyConfig(t, fmt.Sprintf("https://127.0.0.1:%d/deny", port), label)
	g.Expect(c.Create(ctx, cfg)).To(Succeed())
	t.Cleanup(func() { _ = c.Delete(context.Background(), cfg) })

	create := func() error {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{GenerateName: "probe-", Namespace: ns.Name}}
		return c.Create(ctx, cm)
	}
	// Without the caBundle, the API server does not trust the webhook.
	g.Eventually(create).WithTimeout(10 * time.Second).Should(MatchError(ContainSubstring("x509")))

	injector := &certs.CABundleInjector{Client: c, Validating: []string{cfg.Name}, CABundle: ca}
	g.Expect(injector.InjectOnce(ctx)).To(Succeed())
	g.Eventually(create).WithTimeout(10 * time.Second).Should(MatchError(ContainSubstring("denied by the test webhook")))

	cancel()
	g.Eventually(served).WithTimeout(10 * time.Second).Should(Receive(BeNil()))
}

// denyConfig is a validating webhook configuration that sends every
// ConfigMap create in the namespaces labelled label=true to url.
func denyConfig(t *testing.T, url, label string) *admissionv1.ValidatingWebhookConfiguration {
	t.Helper()
	return &admissionv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: configName(t, "validating")},
		Webhooks: []admissionv1.ValidatingWebhook{{
			Name:         "deny.certs.petition-operator.test",
			ClientConfig: admissionv1.WebhookClientConfig{URL: ptr.To(url)},
			Rules: []admissionv1.RuleWithOperations{{
				Operations: []admissionv1.OperationType{admissionv1.Create},
				Rule:       admissionv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"configmaps"}},
			}},
			NamespaceSelector:       &metav1.LabelSelector{MatchLabels: map[string]string{label: "true"}},
			SideEffects:             ptr.To(admissionv1.SideEffectClassNone),
			AdmissionReviewVersions: []string{"v1"},
			FailurePolicy:           ptr.To(admissionv1.Fail),
			TimeoutSeconds:          ptr.To[int32](5),
		}},
	}
}
