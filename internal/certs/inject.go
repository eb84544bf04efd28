package certs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-logr/logr"
	admissionv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"
)

// DefaultInjectInterval is how often a CABundleInjector with no Interval
// injects the CA bundle.
const DefaultInjectInterval = time.Minute

var (
	_ manager.Runnable               = &CABundleInjector{}
	_ manager.LeaderElectionRunnable = &CABundleInjector{}
)

// CABundleInjector keeps the caBundle of every webhook of the named webhook
// configurations equal to CABundle, so that the API server trusts the
// serving certificate of EnsureServingCert. It is a manager.Runnable: add it
// to the manager with mgr.Add.
//
// Client should be uncached, such as one from client.New(mgr.GetConfig(),
// client.Options{Scheme: mgr.GetScheme()}): the manager's client would start
// informers on webhook configurations for a handful of reads a minute. It
// must be allowed to get and patch admissionregistration.k8s.io/v1
// ValidatingWebhookConfigurations and MutatingWebhookConfigurations, which
// the operator's role grants with the kubebuilder RBAC marker (with a
// leading +)
//
//	kubebuilder:rbac:groups=admissionregistration.k8s.io,resources=validatingwebhookconfigurations;mutatingwebhookconfigurations,verbs=get;list;watch;patch
//
// Its scheme must know admissionregistration.k8s.io/v1, as client-go's
// scheme does.
type CABundleInjector struct {
	// Client reads and patches the webhook configurations.
	Client client.Client

	// Validating names the ValidatingWebhookConfigurations to inject.
	Validating []string

	// Mutating names the MutatingWebhookConfigurations to inject.
	Mutating []string

	// CABundle is the PEM-encoded CA certificate every webhook's
	// clientConfig.caBundle is set to, as EnsureServingCert returns it.
	// Either it or Bundle must be set.
	CABundle []byte

	// Bundle, when set, is called at each injection for the CA bundle,
	// such as SecretSync.CABundle: the bundle of a rotating CA. An empty
	// result is a failure of that injection.
	Bundle func() []byte

	// Interval is how often Start injects the CA bundle again, undoing
	// changes by others and catching configurations created late. Defaults
	// to DefaultInjectInterval.
	Interval time.Duration

	// Clock paces the injections; the real clock when nil.
	Clock clock.WithTicker

	// Log receives what Start does and why it fails. The zero Logger
	// discards it.
	Log logr.Logger
}

// Start injects the CA bundle at once, then every Interval until ctx is
// done, and returns nil. Failures, such as a configuration that does not
// exist yet, are logged and retried at the next tick; Start only returns an
// error when the injector is not configured (no Client or no CABundle).
func (i *CABundleInjector) Start(ctx context.Context) error {
	if err := i.validate(); err != nil {
		return err
	}
	interval := i.Interval
	if interval <= 0 {
		interval = DefaultInjectInterval
	}
	every(ctx, i.Clock, interval, true, func() {
		if err := i.InjectOnce(ctx); err != nil && ctx.Err() == nil {
			i.Log.Error(err, "Injecting the webhook CA bundle failed; retrying", "interval", interval)
		}
	})
	return nil
}

// every calls fn every interval of clk (the real clock when nil) until ctx
// is done, and once at the start too when atOnce is set.
func every(ctx context.Context, clk clock.WithTicker, interval time.Duration, atOnce bool, fn func()) {
	if clk == nil {
		clk = clock.RealClock{}
	}
	if atOnce {
		fn()
	}
	ticker := clk.NewTicker(interval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C():
			fn()
		}
	}
}

// NeedLeaderElection returns false: every replica injects, whether it leads
// or not, so that the caBundle follows the CA even while no replica leads.
// With a per-replica certificate (EnsureServingCert) each needs its own CA
// injected, which is why that mode runs one replica; with a shared Secret
// (SecretSync) every replica injects the same bundle, and while a rotation
// reaches them one by one they may set the old bundle and the new in turn
// for up to a refresh interval, which is harmless: the serving certificate
// moves to the new CA only Policy.Overlap after it is in the bundle.
func (i *CABundleInjector) NeedLeaderElection() bool {
	return false
}

// InjectOnce sets the caBundle of every webhook of each named configuration
// to CABundle. A configuration whose webhooks all have it already is not
// written; any other is written with a single merge patch, which carries the
// resourceVersion read so that it fails, rather than overwrites, when the
// configuration changed in between.
//
// InjectOnce goes through all the configurations even when some fail, and
// returns the failures joined, each naming its configuration. A
// configuration that does not exist is such a failure: the error matches
// apierrors.IsNotFound.
func (i *CABundleInjector) InjectOnce(ctx context.Context) error {
	if err := i.validate(); err != nil {
		return err
	}
	bundle := i.bundle()
	if len(bundle) == 0 {
		return errors.New("CA bundle injector: no CA bundle yet")
	}
	var errs []error
	for _, name := range i.Validating {
		cfg := &admissionv1.ValidatingWebhookConfiguration{}
		errs = append(errs, i.inject(ctx, bundle, "ValidatingWebhookConfiguration", name, cfg,
			clientConfigs(&cfg.Webhooks, func(w *admissionv1.ValidatingWebhook) *admissionv1.WebhookClientConfig { return &w.ClientConfig })))
	}
	for _, name := range i.Mutating {
		cfg := &admissionv1.MutatingWebhookConfiguration{}
		errs = append(errs, i.inject(ctx, bundle, "MutatingWebhookConfiguration", name, cfg,
			clientConfigs(&cfg.Webhooks, func(w *admissionv1.MutatingWebhook) *admissionv1.WebhookClientConfig { return &w.ClientConfig })))
	}
	return errors.Join(errs...)
}

// clientConfigs returns a function that lists the client configuration of
// each webhook in *webhooks, as they are when it is called.
func clientConfigs[W any](webhooks *[]W, clientConfig func(*W) *admissionv1.WebhookClientConfig) func() []*admissionv1.WebhookClientConfig {
	return func() []*admissionv1.WebhookClientConfig {
		configs := make([]*admissionv1.WebhookClientConfig, len(*webhooks))
		for k := range *webhooks {
			configs[k] = clientConfig(&(*webhooks)[k])
		}
		return configs
	}
}

// validate returns an error when the injector cannot work at all.
func (i *CABundleInjector) validate() error {
	if i.Client == nil {
		return errors.New("CA bundle injector: no client")
	}
	if len(i.CABundle) == 0 && i.Bundle == nil {
		return errors.New("CA bundle injector: empty CA bundle")
	}
	return nil
}

// bundle returns the CA bundle to inject now.
func (i *CABundleInjector) bundle() []byte {
	if i.Bundle != nil {
		return i.Bundle()
	}
	return i.CABundle
}

// inject reads the configuration kind/name into obj and, unless every
// client config that clientConfigs returns from obj has CABundle already,
// sets it in all of them and patches obj.
func (i *CABundleInjector) inject(ctx context.Context, bundle []byte, kind, name string, obj client.Object, clientConfigs func() []*admissionv1.WebhookClientConfig) error {
	if err := i.Client.Get(ctx, client.ObjectKey{Name: name}, obj); err != nil {
		return fmt.Errorf("getting %s %q: %w", kind, name, err)
	}
	base, ok := obj.DeepCopyObject().(client.Object)
	if !ok {
		return fmt.Errorf("copying %s %q: unexpected type %T", kind, name, obj.DeepCopyObject())
	}
	changed := false
	for _, c := range clientConfigs() {
		if !bytes.Equal(c.CABundle, bundle) {
			c.CABundle = bytes.Clone(bundle)
			changed = true
		}
	}
	if !changed {
		return nil
	}
	patch := client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{})
	if err := i.Client.Patch(ctx, obj, patch); err != nil {
		return fmt.Errorf("patching the caBundle of %s %q: %w", kind, name, err)
	}
	i.Log.Info("Injected the webhook CA bundle", "kind", kind, "name", name)
	return nil
}
