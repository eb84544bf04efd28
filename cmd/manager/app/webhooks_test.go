package app

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"k8s.io/utils/clock"
)

func TestWebhookOptionsResolve(t *testing.T) {
	for _, tc := range []struct {
		name      string
		opts      WebhookOptions
		host      string
		port      int
		hosts     []string
		wantError string
	}{
		{name: "off", opts: WebhookOptions{Port: 9443}, port: 9443},
		{name: "off with a local URL", opts: WebhookOptions{LocalURL: "https://127.0.0.1:9443"},
			wantError: "--webhook-local-url and --webhook-self-signed-hosts need --enable-webhooks"},
		{name: "certificate from elsewhere", opts: WebhookOptions{Enabled: true, Port: 9443}, port: 9443},
		{name: "local URL on an IP", opts: WebhookOptions{Enabled: true, Port: 9443, CertDir: "certs", LocalURL: "https://127.0.0.1:10443"},
			host: "127.0.0.1", port: 10443, hosts: []string{"127.0.0.1"}},
		{name: "local URL on a name binds to all", opts: WebhookOptions{Enabled: true, CertDir: "certs", LocalURL: "https://host.example:10443"},
			port: 10443, hosts: []string{"host.example"}},
		{name: "an explicit host wins", opts: WebhookOptions{Enabled: true, Host: "0.0.0.0", CertDir: "certs", LocalURL: "https://127.0.0.1:10443"},
			host: "0.0.0.0", port: 10443, hosts: []string{"127.0.0.1"}},
		{name: "self-signed hosts", opts: WebhookOptions{Enabled: true, CertDir: "certs", SelfSignedHosts: " svc.ns.svc, ,svc "},
			hosts: []string{"svc.ns.svc", "svc"}},
		{name: "no port", opts: WebhookOptions{Enabled: true, CertDir: "certs", LocalURL: "https://127.0.0.1"},
			wantError: `--webhook-local-url "https://127.0.0.1": want https://HOST:PORT`},
		{name: "not https", opts: WebhookOptions{Enabled: true, CertDir: "certs", LocalURL: "http://127.0.0.1:9443"},
			wantError: "want https://HOST:PORT"},
		{name: "no cert dir", opts: WebhookOptions{Enabled: true, SelfSignedHosts: "svc"},
			wantError: "--webhook-local-url and --webhook-self-signed-hosts need --webhook-cert-dir"},
		{name: "a Secret with hosts", opts: WebhookOptions{Enabled: true, CertDir: "certs", SelfSignedHosts: "svc", CertSecret: "webhook-cert", CertSecretNamespace: "ops"},
			hosts: []string{"svc"}},
		{name: "a Secret without hosts", opts: WebhookOptions{Enabled: true, CertDir: "certs", CertSecret: "webhook-cert", CertSecretNamespace: "ops"},
			wantError: `--webhook-cert-secret "webhook-cert" needs --webhook-self-signed-hosts (or --webhook-local-url)`},
		{name: "a Secret with a bad name", opts: WebhookOptions{Enabled: true, CertDir: "certs", SelfSignedHosts: "svc", CertSecret: "Webhook_Cert", CertSecretNamespace: "ops"},
			wantError: `--webhook-cert-secret "Webhook_Cert": a lowercase RFC 1123 subdomain`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := tc.opts.resolve()
			if tc.wantError != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantError) {
					t.Fatalf("resolve() = %v, want an error with %q", err, tc.wantError)
				}
				if tc.opts.Validate() == nil {
					t.Error("Validate() = nil, want the error of resolve")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.Host != tc.host || s.Port != tc.port || !slices.Equal(s.hosts, tc.hosts) {
				t.Errorf("resolve() = host %q, port %d, hosts %q; want %q, %d, %q", s.Host, s.Port, s.hosts, tc.host, tc.port, tc.hosts)
			}
		})
	}
}

func TestWebhookOptionsServing(t *testing.T) {
	dir := t.TempDir()
	s, err := WebhookOptions{Enabled: true, CertDir: dir, LocalURL: "https://127.0.0.1:10443"}.serving(context.Background(), nil, clock.RealClock{})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.caBundle) == 0 {
		t.Error("no CA bundle for the self-signed certificate")
	}
	for _, f := range []string{"tls.crt", "tls.key"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
	if s.server() == nil {
		t.Error("no webhook server")
	}

	s, err = WebhookOptions{Enabled: true}.serving(context.Background(), nil, clock.RealClock{})
	if err != nil {
		t.Fatal(err)
	}
	if s.caBundle != nil {
		t.Error("a CA bundle without a self-signed certificate")
	}
	if s, _ := (WebhookOptions{}).serving(context.Background(), nil, clock.RealClock{}); s.server() != nil {
		t.Error("a webhook server with webhooks off")
	}
}
