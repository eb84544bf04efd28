package main

import (
	"flag"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-logr/logr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	"github.com/xinfang/petition-operator/internal/certs"
	petitionwebhook "github.com/xinfang/petition-operator/internal/webhook"
)

// webhookFlags are the flags of the admission webhooks and their TLS.
//
// In a cluster the serving certificate comes from cert-manager (mounted
// into --webhook-cert-dir, with cert-manager's CA injector filling in the
// webhook configurations) or, without cert-manager, from the manager itself
// (--webhook-self-signed-hosts). Outside the cluster (make run, make demo)
// --webhook-local-url does everything: a self-signed certificate for its
// host, and webhook configurations that call that URL, removed on exit.
type webhookFlags struct {
	enabled            bool
	port               int
	host               string
	certDir            string
	selfSignedHosts    string
	localURL           string
	validatingConfig   string
	mutatingConfig     string
	caRefreshInterval  time.Duration
	selfSignedCABundle []byte
}

func (f *webhookFlags) bind(fs *flag.FlagSet) {
	fs.BoolVar(&f.enabled, "enable-webhooks", true, "Serve the admission webhooks (the rules across objects and the defaults that depend on other fields).")
	fs.IntVar(&f.port, "webhook-port", 9443, "Port the webhook server listens on.")
	fs.StringVar(&f.host, "webhook-host", "", "Address the webhook server binds to; empty for all.")
	fs.StringVar(&f.certDir, "webhook-cert-dir", "", "Directory holding tls.crt and tls.key of the webhook server (default: controller-runtime's, <temp>/k8s-webhook-server/serving-certs).")
	fs.StringVar(&f.selfSignedHosts, "webhook-self-signed-hosts", "", "Comma-separated DNS names or IPs: generate (or reuse) a self-signed serving certificate for them in --webhook-cert-dir and put its CA into the webhook configurations named by --validating-webhook-configuration and --mutating-webhook-configuration. For clusters without cert-manager; run one replica.")
	fs.StringVar(&f.localURL, "webhook-local-url", "", "For a manager running outside the cluster: https://HOST:PORT where the API server reaches it. Implies a self-signed certificate for HOST, installs webhook configurations named "+petitionwebhook.LocalConfigurationName+" calling this URL and removes them on exit.")
	fs.StringVar(&f.validatingConfig, "validating-webhook-configuration", "petition-operator-validating-webhook-configuration", "ValidatingWebhookConfiguration whose CA bundle --webhook-self-signed-hosts maintains.")
	fs.StringVar(&f.mutatingConfig, "mutating-webhook-configuration", "petition-operator-mutating-webhook-configuration", "MutatingWebhookConfiguration whose CA bundle --webhook-self-signed-hosts maintains.")
	fs.DurationVar(&f.caRefreshInterval, "webhook-ca-refresh-interval", time.Minute, "How often --webhook-self-signed-hosts checks the CA bundles of the webhook configurations.")
}

// server returns the webhook server of the manager, preparing a self-signed
// certificate first when asked to; nil when webhooks are off.
func (f *webhookFlags) server() webhook.Server {
	if !f.enabled {
		return nil
	}
	return webhook.NewServer(webhook.Options{Host: f.host, Port: f.port, CertDir: f.certDir})
}

// prepare checks the flags and writes the self-signed certificate, before
// the manager is created.
func (f *webhookFlags) prepare() error {
	if !f.enabled {
		if f.localURL != "" || f.selfSignedHosts != "" {
			return fmt.Errorf("--webhook-local-url and --webhook-self-signed-hosts need --enable-webhooks")
		}
		return nil
	}
	hosts := splitList(f.selfSignedHosts)
	if f.localURL != "" {
		u, err := url.Parse(f.localURL)
		if err != nil || u.Scheme != "https" || u.Hostname() == "" || u.Port() == "" {
			return fmt.Errorf("--webhook-local-url %q: want https://HOST:PORT", f.localURL)
		}
		port, err := strconv.Atoi(u.Port())
		if err != nil {
			return fmt.Errorf("--webhook-local-url %q: %w", f.localURL, err)
		}
		f.port = port
		if f.host == "" && net.ParseIP(u.Hostname()) != nil {
			f.host = u.Hostname()
		}
		hosts = append(hosts, u.Hostname())
	}
	if len(hosts) == 0 {
		return nil
	}
	if f.certDir == "" {
		return fmt.Errorf("--webhook-local-url and --webhook-self-signed-hosts need --webhook-cert-dir")
	}
	ca, err := certs.EnsureServingCert(f.certDir, hosts, time.Now())
	if err != nil {
		return fmt.Errorf("webhook serving certificate: %w", err)
	}
	f.selfSignedCABundle = ca
	return nil
}

// setup registers the webhooks and what keeps their configurations current.
func (f *webhookFlags) setup(mgr ctrl.Manager, log logr.Logger) error {
	if !f.enabled {
		return nil
	}
	if err := petitionwebhook.Setup(mgr); err != nil {
		return err
	}
	if f.selfSignedCABundle == nil {
		return nil
	}
	// Webhook configurations are read and written directly, not cached:
	// the manager watches no such kind.
	c, err := client.New(mgr.GetConfig(), client.Options{Scheme: mgr.GetScheme()})
	if err != nil {
		return err
	}
	if f.localURL != "" {
		if err := mgr.Add(&petitionwebhook.LocalInstaller{Client: c, URL: f.localURL, CABundle: f.selfSignedCABundle,
			Log: log.WithName("webhooks")}); err != nil {
			return err
		}
	}
	if f.selfSignedHosts != "" {
		return mgr.Add(&certs.CABundleInjector{Client: c, Validating: []string{f.validatingConfig}, Mutating: []string{f.mutatingConfig},
			CABundle: f.selfSignedCABundle, Interval: f.caRefreshInterval, Log: log.WithName("webhook-ca")})
	}
	return nil
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
