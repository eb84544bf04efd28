package config_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// rendered is what the webhook wiring of a rendering consists of.
type rendered struct {
	validating admissionv1.ValidatingWebhookConfiguration
	mutating   admissionv1.MutatingWebhookConfiguration
	service    corev1.Service
	manager    appsv1.Deployment
}

func webhookWiring(t *testing.T, m resmap.ResMap) rendered {
	t.Helper()
	var r rendered
	found := map[string]bool{}
	for _, res := range m.Resources() {
		switch {
		case res.GetKind() == "ValidatingWebhookConfiguration":
			decode(t, res, &r.validating)
		case res.GetKind() == "MutatingWebhookConfiguration":
			decode(t, res, &r.mutating)
		case res.GetKind() == "Service" && res.GetName() == prefix+"webhook-service":
			decode(t, res, &r.service)
		case res.GetKind() == "Deployment" && res.GetName() == deployment:
			decode(t, res, &r.manager)
		default:
			continue
		}
		found[res.GetKind()] = true
	}
	for _, k := range []string{"ValidatingWebhookConfiguration", "MutatingWebhookConfiguration", "Service", "Deployment"} {
		if !found[k] {
			t.Fatalf("no %s rendered", k)
		}
	}
	// The API server reaches the manager's webhook port through the Service.
	if r.service.Namespace != namespace || len(r.service.Spec.Ports) != 1 || r.service.Spec.Ports[0].Port != 443 {
		t.Errorf("webhook Service = %s/%s %+v, want port 443 in %s", r.service.Namespace, r.service.Name, r.service.Spec.Ports, namespace)
	}
	c := r.manager.Spec.Template.Spec.Containers[0]
	var hasPort bool
	for _, p := range c.Ports {
		hasPort = hasPort || (p.Name == r.service.Spec.Ports[0].TargetPort.StrVal && p.ContainerPort == 9443)
	}
	if !hasPort {
		t.Errorf("the manager has no port %q 9443 for the Service's targetPort", r.service.Spec.Ports[0].TargetPort.StrVal)
	}
	for kind, hooks := range map[string][]admissionv1.WebhookClientConfig{"validating": clientConfigs(r.validating.Webhooks), "mutating": clientConfigs(r.mutating.Webhooks)} {
		if len(hooks) == 0 {
			t.Errorf("%s: no webhooks", kind)
		}
		for _, cc := range hooks {
			if cc.Service == nil || cc.Service.Name != r.service.Name || cc.Service.Namespace != namespace {
				t.Errorf("%s webhook calls %+v, want Service %s/%s", kind, cc.Service, namespace, r.service.Name)
			}
		}
	}
	return r
}

func clientConfigs[W admissionv1.ValidatingWebhook | admissionv1.MutatingWebhook](hooks []W) []admissionv1.WebhookClientConfig {
	var out []admissionv1.WebhookClientConfig
	for _, h := range hooks {
		switch h := any(h).(type) {
		case admissionv1.ValidatingWebhook:
			out = append(out, h.ClientConfig)
		case admissionv1.MutatingWebhook:
			out = append(out, h.ClientConfig)
		}
	}
	return out
}

func argValue(args []string, flag string) (string, bool) {
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, flag+"="); ok {
			return v, true
		}
	}
	return "", false
}

// The default: the manager makes its certificate for the name the API
// server calls, and may patch exactly the two configurations whose caBundle
// it keeps (the names its flags default to).
func TestDefaultWebhooksSelfSigned(t *testing.T) {
	m := build(t, "config/default")
	r := webhookWiring(t, m)
	args := r.manager.Spec.Template.Spec.Containers[0].Args
	hosts, ok := argValue(args, "--webhook-self-signed-hosts")
	if want := r.service.Name + "." + namespace + ".svc"; !ok || hosts != want {
		t.Errorf("--webhook-self-signed-hosts = %q, want %q", hosts, want)
	}
	if r.validating.Name != "petition-operator-validating-webhook-configuration" || r.mutating.Name != "petition-operator-mutating-webhook-configuration" {
		t.Errorf("configurations %s and %s are not the names the manager's flags default to", r.validating.Name, r.mutating.Name)
	}
	var role *rbacv1.ClusterRole
	for _, res := range ofKind(m, "ClusterRole") {
		if res.GetName() == prefix+"webhook-ca-role" {
			role = &rbacv1.ClusterRole{}
			decode(t, res, role)
		}
	}
	if role == nil {
		t.Fatal("no webhook CA role")
	}
	want := map[string]string{"validatingwebhookconfigurations": r.validating.Name, "mutatingwebhookconfigurations": r.mutating.Name}
	for _, rule := range role.Rules {
		if len(rule.Resources) != 1 || !slices.Equal(rule.ResourceNames, []string{want[rule.Resources[0]]}) || !slices.Equal(rule.Verbs, []string{"get", "patch"}) {
			t.Errorf("rule %+v: want get and patch of %v only", rule, want)
		}
	}
}

// With cert-manager instead: its Certificate names the Service, its CA
// injector fills the caBundle, and the manager reads the Secret it writes.
func TestWebhooksWithCertManager(t *testing.T) {
	// config/default as its comment says to change it, in a sibling
	// directory (kustomize resolves ../ only inside the repository).
	config := filepath.Join(repoRoot(t), "config")
	dir, err := os.MkdirTemp(config, ".render-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	for _, f := range []string{"kustomization.yaml", "metrics_service.yaml"} {
		data, err := os.ReadFile(filepath.Join(config, "default", f))
		if err != nil {
			t.Fatal(err)
		}
		if f == "kustomization.yaml" {
			k := strings.Replace(string(data), "- ../selfsigned\n", "", 1)
			data = []byte(strings.Replace(k, "#- ../certmanager\n", "- ../certmanager\n", 1))
		}
		if err := os.WriteFile(filepath.Join(dir, f), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	m, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize build with ../certmanager: %v", err)
	}
	r := webhookWiring(t, m)
	var cert, secretName string
	var dnsNames []string
	for _, res := range m.Resources() {
		if res.GetKind() == "Certificate" {
			cert = res.GetNamespace() + "/" + res.GetName()
			obj, _ := res.Map()
			spec := obj["spec"].(map[string]any)
			secretName, _ = spec["secretName"].(string)
			for _, n := range spec["dnsNames"].([]any) {
				dnsNames = append(dnsNames, n.(string))
			}
		}
	}
	if svc := r.service.Name + "." + namespace + ".svc"; !slices.Contains(dnsNames, svc) {
		t.Errorf("Certificate dnsNames %v lack %s", dnsNames, svc)
	}
	for _, a := range []map[string]string{r.validating.Annotations, r.mutating.Annotations} {
		if a["cert-manager.io/inject-ca-from"] != cert {
			t.Errorf("inject-ca-from = %q, want %q", a["cert-manager.io/inject-ca-from"], cert)
		}
	}
	pod := r.manager.Spec.Template.Spec
	certDir, _ := argValue(pod.Containers[0].Args, "--webhook-cert-dir")
	var mounted bool
	for _, v := range pod.Volumes {
		if v.Secret != nil && v.Secret.SecretName == secretName {
			for _, vm := range pod.Containers[0].VolumeMounts {
				mounted = mounted || (vm.Name == v.Name && vm.MountPath == certDir)
			}
		}
	}
	if !mounted {
		t.Errorf("Secret %q is not mounted at --webhook-cert-dir %q", secretName, certDir)
	}
	if _, ok := argValue(pod.Containers[0].Args, "--webhook-self-signed-hosts"); ok {
		t.Error("the manager makes its own certificate too")
	}
}
