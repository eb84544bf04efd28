package main

import (
	"flag"
	"time"

	"github.com/xinfang/petition-operator/cmd/manager/app"
	petitionwebhook "github.com/xinfang/petition-operator/internal/webhook"
)

// bindWebhookFlags binds the flags of the admission webhooks and their TLS
// to o (see app.WebhookOptions).
func bindWebhookFlags(fs *flag.FlagSet, o *app.WebhookOptions) {
	fs.BoolVar(&o.Enabled, "enable-webhooks", true, "Serve the admission webhooks (the rules across objects and the defaults that depend on other fields).")
	fs.IntVar(&o.Port, "webhook-port", 9443, "Port the webhook server listens on.")
	fs.StringVar(&o.Host, "webhook-host", "", "Address the webhook server binds to; empty for all.")
	fs.StringVar(&o.CertDir, "webhook-cert-dir", "", "Directory holding tls.crt and tls.key of the webhook server (default: controller-runtime's, <temp>/k8s-webhook-server/serving-certs).")
	fs.StringVar(&o.SelfSignedHosts, "webhook-self-signed-hosts", "", "Comma-separated DNS names or IPs: generate (or reuse) a self-signed serving certificate for them in --webhook-cert-dir and put its CA into the webhook configurations named by --validating-webhook-configuration and --mutating-webhook-configuration. For clusters without cert-manager; with --webhook-cert-secret any number of replicas, without it one.")
	fs.StringVar(&o.LocalURL, "webhook-local-url", "", "For a manager running outside the cluster: https://HOST:PORT where the API server reaches it. Implies a self-signed certificate for HOST, installs webhook configurations named "+petitionwebhook.LocalConfigurationName+" calling this URL and removes them on exit.")
	fs.StringVar(&o.ValidatingConfig, "validating-webhook-configuration", "petition-operator-validating-webhook-configuration", "ValidatingWebhookConfiguration whose CA bundle --webhook-self-signed-hosts maintains.")
	fs.StringVar(&o.MutatingConfig, "mutating-webhook-configuration", "petition-operator-mutating-webhook-configuration", "MutatingWebhookConfiguration whose CA bundle --webhook-self-signed-hosts maintains.")
	fs.DurationVar(&o.CARefreshInterval, "webhook-ca-refresh-interval", time.Minute, "How often --webhook-self-signed-hosts checks the CA bundles of the webhook configurations, and --webhook-cert-secret reads (and, when due, rotates) its Secret.")
	fs.StringVar(&o.CertSecret, "webhook-cert-secret", "", "Secret holding the webhook CA and serving certificate that every replica serves (with --webhook-self-signed-hosts or --webhook-local-url for its hosts): the first replica creates it, each writes it into --webhook-cert-dir, any replica rotates it before expiry, adding a new CA next to the old in the CA bundles before using it. Empty: each replica makes its own CA (one replica only).")
	fs.StringVar(&o.CertSecretNamespace, "webhook-cert-secret-namespace", "", "Namespace of --webhook-cert-secret; defaults to the manager's own (POD_NAMESPACE, or its ServiceAccount's).")
}
