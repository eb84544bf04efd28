package packaging_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/xinfang/petition-operator/internal/testenv"
)

// The control plane starts with the first test that needs it, so that the
// tests of the renders alone run without one.
var (
	envOnce sync.Once
	env     *testenv.Env
	k8s     client.Client
	envErr  error
)

// scheme has the built-in kinds and CustomResourceDefinition.
var scheme = func() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(apiextensionsv1.AddToScheme(s))
	return s
}()

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

// apiServer returns an administrator's client of a real API server (etcd
// and kube-apiserver, the CRDs of config/crd installed), started once, with
// the release namespace created for real and labelled for the restricted
// Pod Security Standard, as `make deploy` does, and stand-ins for the CRDs
// of the Prometheus Operator and cert-manager.
func apiServer(t *testing.T) client.Client {
	t.Helper()
	envOnce.Do(func() {
		if env, envErr = testenv.Start(); envErr != nil {
			return
		}
		if k8s, envErr = client.New(env.Config, client.Options{Scheme: scheme}); envErr != nil {
			return
		}
		ctx := context.Background()
		if envErr = k8s.Create(ctx, restrictedNamespace(namespace)); envErr != nil {
			return
		}
		envErr = installStandInCRDs(ctx, k8s)
	})
	if envErr != nil {
		t.Fatal(envErr)
	}
	return k8s
}

// restrictedNamespace is a namespace that enforces the restricted Pod
// Security Standard.
func restrictedNamespace(name string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
		"pod-security.kubernetes.io/enforce":         "restricted",
		"pod-security.kubernetes.io/enforce-version": "latest",
	}}}
}

// installStandInCRDs installs CRDs for the kinds of the Prometheus Operator
// and cert-manager that the renders use: the kinds, their group, version and
// scope, with a schema that takes any content. The API server thus checks
// that these objects are addressed right, not their content.
func installStandInCRDs(ctx context.Context, c client.Client) error {
	standIns := []struct{ group, kind, plural string }{
		{"monitoring.coreos.com", "ServiceMonitor", "servicemonitors"},
		{"monitoring.coreos.com", "PrometheusRule", "prometheusrules"},
		{"cert-manager.io", "Issuer", "issuers"},
		{"cert-manager.io", "Certificate", "certificates"},
	}
	for _, s := range standIns {
		crd := &apiextensionsv1.CustomResourceDefinition{
			ObjectMeta: metav1.ObjectMeta{Name: s.plural + "." + s.group},
			Spec: apiextensionsv1.CustomResourceDefinitionSpec{
				Group: s.group,
				Names: apiextensionsv1.CustomResourceDefinitionNames{
					Kind: s.kind, ListKind: s.kind + "List", Plural: s.plural, Singular: strings.ToLower(s.kind),
				},
				Scope: apiextensionsv1.NamespaceScoped,
				Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{
					Name: "v1", Served: true, Storage: true,
					Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
						Type: "object", XPreserveUnknownFields: ptr.To(true),
					}},
				}},
			},
		}
		if err := c.Create(ctx, crd); err != nil {
			return err
		}
	}
	for _, s := range standIns {
		err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
			var crd apiextensionsv1.CustomResourceDefinition
			if err := c.Get(ctx, client.ObjectKey{Name: s.plural + "." + s.group}, &crd); err != nil {
				return false, err
			}
			for _, cond := range crd.Status.Conditions {
				if cond.Type == apiextensionsv1.Established && cond.Status == apiextensionsv1.ConditionTrue {
					return true, nil
				}
			}
			return false, nil
		})
		if err != nil {
			return fmt.Errorf("CRD %s.%s not established: %w", s.plural, s.group, err)
		}
	}
	return nil
}

// TestServerSideDryRun applies every object of every rendering to the API
// server with server-side apply in dry-run mode: each must be accepted as
// it would be by `helm upgrade --install` or `kubectl apply --server-side
// -k`, by the schemas, the validation and the admission of a real API server.
func TestServerSideDryRun(t *testing.T) {
	c := apiServer(t)
	ctx := context.Background()
	for _, r := range renderings(t) {
		t.Run(r.name, func(t *testing.T) {
			if len(r.objs) == 0 {
				t.Fatal("nothing rendered")
			}
			for _, o := range r.objs {
				obj := o.DeepCopy()
				err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(obj),
					client.DryRunAll, client.FieldOwner("petition-packaging-test"), client.ForceOwnership)
				if err != nil {
					t.Errorf("%s %s/%s: %v", o.GetKind(), o.GetNamespace(), o.GetName(), err)
				}
			}
		})
	}
	// Dry run: nothing was created.
	var sas corev1.ServiceAccountList
	if err := c.List(ctx, &sas, client.InNamespace(namespace)); err != nil {
		t.Fatal(err)
	}
	for _, sa := range sas.Items {
		if sa.Name != "default" {
			t.Errorf("ServiceAccount %s was created", sa.Name)
		}
	}
}

// TestPodSecurityRestricted creates, in dry-run mode, a pod of the manager's
// pod template of each rendering in a namespace that enforces the restricted
// Pod Security Standard: each must be admitted. The same pod made privileged
// must be refused, which proves that the API server enforces the standard.
func TestPodSecurityRestricted(t *testing.T) {
	c := apiServer(t)
	ctx := context.Background()
	for _, r := range renderings(t) {
		t.Run(r.name, func(t *testing.T) {
			dep := manager(t, r)
			pod := &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{
					Name: "manager-pod-security", Namespace: namespace,
					Labels: dep.Spec.Template.Labels, Annotations: dep.Spec.Template.Annotations,
				},
				Spec: *dep.Spec.Template.Spec.DeepCopy(),
			}
			if err := c.Create(ctx, pod.DeepCopy(), client.DryRunAll); err != nil {
				t.Errorf("the manager's pod is refused: %v", err)
			}

			for what, change := range map[string]func(*corev1.PodSpec){
				"runAsNonRoot false": func(p *corev1.PodSpec) {
					p.SecurityContext.RunAsNonRoot = ptr.To(false)
					p.Containers[0].SecurityContext.RunAsNonRoot = ptr.To(false)
				},
				"privileged": func(p *corev1.PodSpec) {
					p.Containers[0].SecurityContext.Privileged = ptr.To(true)
					p.Containers[0].SecurityContext.AllowPrivilegeEscalation = ptr.To(true)
				},
			} {
				bad := pod.DeepCopy()
				change(&bad.Spec)
				err := c.Create(ctx, bad, client.DryRunAll)
				if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), `violates PodSecurity "restricted:latest"`) {
					t.Errorf("the manager's pod with %s: %v, want a restricted Pod Security violation", what, err)
				}
			}
		})
	}
}
