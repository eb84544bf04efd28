package app

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/util/validation"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	"github.com/xinfang/petition-operator/internal/certs"
	petitionwebhook "github.com/xinfang/petition-operator/internal/webhook"
)

// WebhookOptions are the admission webhooks and their TLS, one field per
// flag of the manager; the errors name the flags.
//
// In a cluster the serving certificate comes from cert-manager (mounted
// into CertDir, with cert-manager's CA injector filling in the webhook
// configurations) or, without cert-manager, from the manager itself
// (SelfSignedHosts). Outside the cluster (make run, make demo, the tests)
// LocalURL does everything: a self-signed certificate for its host, and
// webhook configurations that call that URL, removed on exit.
type WebhookOptions struct {
	// Enabled serves the admission webhooks (--enable-webhooks).
	Enabled bool
	// Port the webhook server listens on (--webhook-port); LocalURL's port
	// replaces it.
	Port int
	// Host the webhook server binds to, empty for all (--webhook-host);
	// when empty, LocalURL's host if that is an IP.
	Host string
	// CertDir holds tls.crt and tls.key (--webhook-cert-dir); empty for
	// controller-runtime's default.
	CertDir string
	// SelfSignedHosts are comma-separated DNS names or IPs of a self-signed
	// serving certificate in CertDir whose CA the manager puts into the
	// configurations ValidatingConfig and MutatingConfig
	// (--webhook-self-signed-hosts).
	SelfSignedHosts string
	// LocalURL, https://HOST:PORT, is where the API server reaches a
	// manager outside the cluster (--webhook-local-url): a self-signed
	// certificate for HOST in CertDir, and webhook configurations calling
	// LocalURL, removed on exit.
	LocalURL string
	// ValidatingConfig and MutatingConfig name the webhook configurations
	// whose CA bundle SelfSignedHosts maintains
	// (--validating-webhook-configuration, --mutating-webhook-configuration).
	ValidatingConfig string
	MutatingConfig   string
	// CARefreshInterval is how often SelfSignedHosts checks the CA bundles,
	// and CertSecret the Secret (--webhook-ca-refresh-interval).
	CARefreshInterval time.Duration
	// CertSecret names the Secret in CertSecretNamespace that holds the CA
	// and the serving certificate every replica serves
	// (--webhook-cert-secret): the first replica creates it, each writes
	// it into CertDir, any rotates it when due. With SelfSignedHosts (or
	// LocalURL) for the hosts; without it each replica makes its own CA.
	CertSecret string
	// CertSecretNamespace is the Secret's namespace
	// (--webhook-cert-secret-namespace); the manager's own namespace when
	// empty.
	CertSecretNamespace string
}

// Validate checks the options as New will use them, without writing the
// certificate: to report a wrong flag before anything else.
func (o WebhookOptions) Validate() error {
	_, err := o.resolve()
	return err
}

// webhookServing is what New serves the webhooks with.
type webhookServing struct {
	WebhookOptions
	// hosts of the self-signed certificate; none when it comes from
	// elsewhere.
	hosts []string
	// caBundle is the CA of the self-signed certificate, once written.
	caBundle []byte
	// sync keeps the certificate of CertSecret in CertDir; nil without.
	sync *certs.SecretSync
	// clock paces the CA bundle's injection.
	clock clock.WithTicker
}

// resolve checks the options and works out the server's host and port and
// the hosts of a self-signed certificate.
func (o WebhookOptions) resolve() (webhookServing, error) {
	s := webhookServing{WebhookOptions: o}
	if !o.Enabled {
		if o.LocalURL != "" || o.SelfSignedHosts != "" {
			return s, fmt.Errorf("--webhook-local-url and --webhook-self-signed-hosts need --enable-webhooks")
		}
		return s, nil
	}
	hosts := splitList(o.SelfSignedHosts)
	if o.LocalURL != "" {
		u, err := url.Parse(o.LocalURL)
		if err != nil || u.Scheme != "https" || u.Hostname() == "" || u.Port() == "" {
			return s, fmt.Errorf("--webhook-local-url %q: want https://HOST:PORT", o.LocalURL)
		}
		port, err := strconv.Atoi(u.Port())
		if err != nil {
			return s, fmt.Errorf("--webhook-local-url %q: %w", o.LocalURL, err)
		}
		s.Port = port
		if s.Host == "" && net.ParseIP(u.Hostname()) != nil {
			s.Host = u.Hostname()
		}
		hosts = append(hosts, u.Hostname())
	}
	if len(hosts) > 0 && o.CertDir == "" {
		return s, fmt.Errorf("--webhook-local-url and --webhook-self-signed-hosts need --webhook-cert-dir")
	}
	if o.CertSecret != "" {
		if len(hosts) == 0 {
			return s, fmt.Errorf("--webhook-cert-secret %q needs --webhook-self-signed-hosts (or --webhook-local-url) for the hosts of its certificate", o.CertSecret)
		}
		if errs := validation.IsDNS1123Subdomain(o.CertSecret); len(errs) > 0 {
			return s, fmt.Errorf("--webhook-cert-secret %q: %s", o.CertSecret, strings.Join(errs, "; "))
		}
		if s.CertSecretNamespace == "" {
			s.CertSecretNamespace = ownNamespace()
		}
		if s.CertSecretNamespace == "" {
			return s, fmt.Errorf("--webhook-cert-secret %q: set --webhook-cert-secret-namespace (or POD_NAMESPACE): the manager does not run in a pod", o.CertSecret)
		}
	}
	s.hosts = hosts
	return s, nil
}

// serviceAccountNamespace is where a pod's namespace is mounted.
const serviceAccountNamespace = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

// ownNamespace returns the manager's namespace: POD_NAMESPACE, or the
// mounted ServiceAccount's; empty outside a pod.
func ownNamespace() string {
	if ns := strings.TrimSpace(os.Getenv("POD_NAMESPACE")); ns != "" {
		return ns
	}
	data, err := os.ReadFile(serviceAccountNamespace)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(data))
}

// serving resolves the options and writes (or reuses) the self-signed
// certificate, or the one of the shared Secret, before the manager is
// created: the webhook server needs the files when it starts.
func (o WebhookOptions) serving(ctx context.Context, cfg *rest.Config, clk clock.WithTicker) (*webhookServing, error) {
	s, err := o.resolve()
	if err != nil {
		return nil, err
	}
	s.clock = clk
	if len(s.hosts) == 0 {
		return &s, nil
	}
	if s.CertSecret != "" {
		c, err := client.New(cfg, client.Options{Scheme: clientgoscheme.Scheme})
		if err != nil {
			return nil, err
		}
		s.sync = &certs.SecretSync{
			Store: &certs.SecretStore{Client: c, Namespace: s.CertSecretNamespace, Name: s.CertSecret, Hosts: s.hosts,
				Clock: clk, Log: ctrl.Log.WithName("webhook-cert")},
			Dir: s.CertDir, Interval: s.CARefreshInterval, Clock: clk, Log: ctrl.Log.WithName("webhook-cert"),
		}
		if err := s.sync.Prime(ctx); err != nil {
			return nil, fmt.Errorf("webhook serving certificate from --webhook-cert-secret %s/%s: %w", s.CertSecretNamespace, s.CertSecret, err)
		}
		s.caBundle = s.sync.CABundle()
		return &s, nil
	}
	ca, err := certs.EnsureServingCert(s.CertDir, s.hosts, clk.Now())
	if err != nil {
		return nil, fmt.Errorf("webhook serving certificate: %w", err)
	}
	s.caBundle = ca
	return &s, nil
}

// server returns the webhook server of the manager; nil when webhooks are
// off.
func (s *webhookServing) server() webhook.Server {
	if !s.Enabled {
		return nil
	}
	return webhook.NewServer(webhook.Options{Host: s.Host, Port: s.Port, CertDir: s.CertDir})
}

// setup registers the webhooks and what keeps their configurations current.
func (s *webhookServing) setup(mgr ctrl.Manager, log logr.Logger, opts petitionwebhook.Options) error {
	if !s.Enabled {
		return nil
	}
	if err := petitionwebhook.Setup(mgr, opts); err != nil {
		return err
	}
	// When the certificate served expires, whoever made it: the alert
	// PetitionWebhookCertificateExpiring reads it.
	if err := certs.RegisterExpiry(ctrlmetrics.Registry, filepath.Join(s.certDir(), certs.CertName)); err != nil {
		return fmt.Errorf("the webhook certificate's metric: %w", err)
	}
	if s.caBundle == nil {
		return nil
	}
	// Webhook configurations are read and written directly, not cached:
	// the manager watches no such kind.
	c, err := client.New(mgr.GetConfig(), client.Options{Scheme: mgr.GetScheme()})
	if err != nil {
		return err
	}
	if s.sync != nil {
		if err := mgr.Add(s.sync); err != nil {
			return err
		}
	}
	if s.LocalURL != "" {
		if err := mgr.Add(&petitionwebhook.LocalInstaller{Client: c, URL: s.LocalURL, CABundle: s.caBundle,
			Log: log.WithName("webhooks")}); err != nil {
			return err
		}
	}
	if s.SelfSignedHosts != "" {
		injector := &certs.CABundleInjector{Client: c, Validating: []string{s.ValidatingConfig}, Mutating: []string{s.MutatingConfig},
			CABundle: s.caBundle, Interval: s.CARefreshInterval, Clock: s.clock, Log: log.WithName("webhook-ca")}
		if s.sync != nil {
			injector.Bundle = s.sync.CABundle
		}
		return mgr.Add(injector)
	}
	return nil
}

// certDir is the directory the webhook server reads its certificate from.
func (s *webhookServing) certDir() string {
	if s.CertDir != "" {
		return s.CertDir
	}
	return filepath.Join(os.TempDir(), "k8s-webhook-server", "serving-certs")
}

// readyz is the readiness check of the webhooks: the server presents the
// certificate that is in its directory now, so a replica is Ready only once
// it serves the current certificate, not merely once it listens.
func (s *webhookServing) readyz() healthz.Checker {
	port := s.Port
	if port == 0 {
		port = webhook.DefaultPort
	}
	return certs.ServingChecker(net.JoinHostPort(s.Host, strconv.Itoa(port)), filepath.Join(s.certDir(), certs.CertName))
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
