package webhook

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/go-logr/logr"
	admissionv1 "k8s.io/api/admissionregistration/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	webhookconfig "github.com/xinfang/petition-operator/config/webhook"
)

// LocalConfigurationName is the name of both webhook configurations a local
// run installs.
const LocalConfigurationName = "petition-operator-local"

// fieldOwner is the field manager of the configurations a local run applies.
const fieldOwner = client.FieldOwner("petition-operator")

// LocalConfigurations returns the webhook configurations of config/webhook
// with every webhook calling base (for example https://127.0.0.1:9443) at its
// path, trusting caBundle: what a manager running outside the cluster
// installs so that the API server reaches it.
func LocalConfigurations(base string, caBundle []byte) (*admissionv1.MutatingWebhookConfiguration, *admissionv1.ValidatingWebhookConfiguration, error) {
	u, err := url.Parse(base)
	if err != nil || u.Scheme != "https" || u.Host == "" || (u.Path != "" && u.Path != "/") {
		return nil, nil, fmt.Errorf("webhook URL %q: want https://HOST:PORT", base)
	}
	base = strings.TrimSuffix(base, "/")
	mutating := &admissionv1.MutatingWebhookConfiguration{}
	validating := &admissionv1.ValidatingWebhookConfiguration{}
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(webhookconfig.Manifests)))
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("reading config/webhook/manifests.yaml: %w", err)
		}
		var meta struct {
			Kind string `json:"kind"`
		}
		if err := yaml.Unmarshal(doc, &meta); err != nil {
			return nil, nil, fmt.Errorf("reading config/webhook/manifests.yaml: %w", err)
		}
		var target any
		switch meta.Kind {
		case "":
			continue
		case "MutatingWebhookConfiguration":
			target = mutating
		case "ValidatingWebhookConfiguration":
			target = validating
		default:
			return nil, nil, fmt.Errorf("config/webhook/manifests.yaml: unexpected kind %q", meta.Kind)
		}
		if err := yaml.UnmarshalStrict(doc, target); err != nil {
			return nil, nil, fmt.Errorf("reading config/webhook/manifests.yaml: %w", err)
		}
	}
	local := func(c *admissionv1.WebhookClientConfig) error {
		if c.Service == nil || c.Service.Path == nil {
			return fmt.Errorf("config/webhook/manifests.yaml: a webhook has no service path")
		}
		u := base + *c.Service.Path
		*c = admissionv1.WebhookClientConfig{URL: &u, CABundle: caBundle}
		return nil
	}
	for i := range mutating.Webhooks {
		if err := local(&mutating.Webhooks[i].ClientConfig); err != nil {
			return nil, nil, err
		}
	}
	for i := range validating.Webhooks {
		if err := local(&validating.Webhooks[i].ClientConfig); err != nil {
			return nil, nil, err
		}
	}
	if len(mutating.Webhooks) == 0 || len(validating.Webhooks) == 0 {
		return nil, nil, fmt.Errorf("config/webhook/manifests.yaml holds no webhooks; run make manifests")
	}
	mutating.APIVersion, mutating.Kind = admissionv1.SchemeGroupVersion.String(), "MutatingWebhookConfiguration"
	mutating.ObjectMeta = localMeta()
	validating.APIVersion, validating.Kind = admissionv1.SchemeGroupVersion.String(), "ValidatingWebhookConfiguration"
	validating.ObjectMeta = localMeta()
	return mutating, validating, nil
}

// LocalInstaller installs the webhook configurations of a manager running
// outside the cluster (LocalConfigurations) when it starts, and deletes them
// when it stops, so that the API server does not call a webhook that is
// gone. It runs on every replica: each local manager serves its own URL.
type LocalInstaller struct {
	// Client writes the configurations; it needs no cache.
	Client client.Client
	// URL is where the API server reaches this manager's webhook server.
	URL string
	// CABundle is the PEM of the CA that signed the serving certificate.
	CABundle []byte
	// Log reports the installation.
	Log logr.Logger
}

// Start installs the configurations, then waits for ctx to end and removes
// them.
func (l *LocalInstaller) Start(ctx context.Context) error {
	mutating, validating, err := LocalConfigurations(l.URL, l.CABundle)
	if err != nil {
		return err
	}
	for _, obj := range []client.Object{mutating, validating} {
		u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
		if err != nil {
			return err
		}
		apply := client.ApplyConfigurationFromUnstructured(&unstructured.Unstructured{Object: u})
		if err := l.Client.Apply(ctx, apply, fieldOwner, client.ForceOwnership); err != nil {
			return fmt.Errorf("installing %s %s: %w", obj.GetObjectKind().GroupVersionKind().Kind, obj.GetName(), err)
		}
	}
	l.Log.Info("installed the webhook configurations for a local run", "name", LocalConfigurationName, "url", l.URL)
	<-ctx.Done()
	// The manager's context is over; give the deletion its own deadline.
	cleanup, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var errs []error
	for _, obj := range []client.Object{&admissionv1.MutatingWebhookConfiguration{ObjectMeta: localMeta()}, &admissionv1.ValidatingWebhookConfiguration{ObjectMeta: localMeta()}} {
		if err := l.Client.Delete(cleanup, obj); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, err)
		}
	}
	if len(errs) == 0 {
		l.Log.Info("removed the webhook configurations of the local run", "name", LocalConfigurationName)
	}
	return errors.Join(errs...)
}

func localMeta() metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: LocalConfigurationName, Labels: map[string]string{"app.kubernetes.io/managed-by": "petition-operator"}}
}

// NeedLeaderElection is false: every local manager serves its webhooks.
func (l *LocalInstaller) NeedLeaderElection() bool { return false }
