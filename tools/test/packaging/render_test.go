// Package packaging_test checks the two ways the operator is packaged — the
// Helm chart charts/petition-operator and the kustomize configuration
// config/default — against each other, against the generated manifests and
// against a real API server.
package packaging_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/v2/lint/support"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	helmrelease "helm.sh/helm/v4/pkg/release/v1"
	"helm.sh/helm/v4/pkg/strvals"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/xinfang/petition-operator/internal/testenv"
)

const (
	// The release of `make deploy`, whose names are those of config/default.
	release   = "petition-operator"
	namespace = "petition-operator-system"
	chart     = "charts/petition-operator"
	// config/default's namePrefix.
	prefix = "petition-operator-"
)

// rendering is the list of objects a chart or kustomization renders.
type rendering struct {
	name string
	objs []*unstructured.Unstructured
}

// repoRoot returns the repository's root directory.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// helmTemplate renders the chart as release rel in namespace ns with the
// CRDs, as `helm template --include-crds` does, through Helm's Go packages
// (the chart loader, values coalescing and schema, the template engine): no
// cluster, no helm binary. args are pairs "--set", "key=value",
// "--set-string", "key=value" or "--set-json", "key=json", and the flag
// "--skip-schema-validation". It returns
// the rendering and Helm's error, with its message also as a string.
func helmTemplate(t *testing.T, rel, ns string, args ...string) (rendering, string, error) {
	t.Helper()
	name := "helm " + strings.Join(append([]string{rel}, args...), " ")
	vals := map[string]any{}
	skipSchema := false
	for i := 0; i < len(args); i += 2 {
		if args[i] == "--skip-schema-validation" {
			skipSchema = true
			i--
			continue
		}
		parse := map[string]func(string, map[string]any) error{
			"--set": strvals.ParseInto, "--set-string": strvals.ParseIntoString, "--set-json": strvals.ParseJSON,
		}[args[i]]
		if parse == nil || i+1 >= len(args) {
			t.Fatalf("%s: want pairs --set key=value, --set-string key=value or --set-json key=json", name)
		}
		if err := parse(args[i+1], vals); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	ch, err := loader.Load(filepath.Join(repoRoot(t), chart))
	if err != nil {
		t.Fatalf("loading %s: %v", chart, err)
	}
	install := action.NewInstall(action.NewConfiguration(action.ConfigurationSetLogger(slog.DiscardHandler)))
	install.DryRunStrategy = action.DryRunClient
	install.ReleaseName, install.Namespace = rel, ns
	install.Replace = true
	install.IncludeCRDs = true
	install.SkipSchemaValidation = skipSchema
	install.KubeVersion = kubeVersion(t)
	released, err := install.Run(ch, vals)
	if err != nil {
		return rendering{name: name}, err.Error(), err
	}
	r, ok := released.(*helmrelease.Release)
	if !ok {
		t.Fatalf("%s: a release of type %T", name, released)
	}
	objs, err := decodeAll([]byte(r.Manifest))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return rendering{name: name, objs: objs}, "", nil
}

// kubeVersion is the version of Kubernetes the chart is rendered for: that
// of the local control plane (hack/controlplane.sh) and of the k8s.io
// modules. Helm's own default, without the helm binary's build flags, is
// v1.20, which the chart's kubeVersion refuses.
func kubeVersion(t *testing.T) *common.KubeVersion {
	t.Helper()
	v, err := common.ParseKubeVersion("v1.36.3")
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestChartLint lints the chart as `helm lint --strict` does, with its
// defaults and with every optional part.
func TestChartLint(t *testing.T) {
	for _, args := range [][]string{nil, allOptions, {"--set", "webhook.enabled=false", "--set", "leaderElection=false", "--set", "replicaCount=1", "--set", "metrics.enabled=false", "--set", "admissionPolicy.enabled=false"}} {
		vals := map[string]any{}
		for i := 1; i < len(args); i += 2 {
			if err := strvals.ParseInto(args[i], vals); err != nil {
				t.Fatal(err)
			}
		}
		lint := action.NewLint()
		lint.Strict = true
		lint.Namespace = namespace
		lint.KubeVersion = kubeVersion(t)
		result := lint.Run([]string{filepath.Join(repoRoot(t), chart)}, vals)
		for _, err := range result.Errors {
			t.Errorf("helm lint --strict %v: %v", args, err)
		}
		for _, m := range result.Messages {
			// The one note Helm makes of this chart: it has no icon.
			if m.Severity >= support.WarningSev {
				t.Errorf("helm lint --strict %v: %s", args, m)
			}
		}
	}
}

// renderChart renders the chart as the release of `make deploy`, failing the
// test when helm fails.
func renderChart(t *testing.T, args ...string) rendering {
	t.Helper()
	r, _, err := helmTemplate(t, release, namespace, args...)
	if err != nil {
		t.Fatalf("%s: %v", r.name, err)
	}
	return r
}

// decodeAll reads a stream of YAML documents; empty ones are skipped.
func decodeAll(data []byte) ([]*unstructured.Unstructured, error) {
	var objs []*unstructured.Unstructured
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return objs, nil
		}
		if err != nil {
			return nil, err
		}
		var m map[string]any
		if err := utilyaml.Unmarshal(doc, &m); err != nil {
			return nil, fmt.Errorf("%w in\n%s", err, doc)
		}
		if len(m) == 0 {
			continue
		}
		objs = append(objs, &unstructured.Unstructured{Object: m})
	}
}

// renderKustomize renders a kustomization of the repository with krusty,
// as `kubectl apply -k` does.
func renderKustomize(t *testing.T, dir string) rendering {
	t.Helper()
	m, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), filepath.Join(repoRoot(t), dir))
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	// Through YAML, so that numbers are int64 as in objects from the API.
	data, err := m.AsYaml()
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	objs, err := decodeAll(data)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	return rendering{name: "kustomize " + dir, objs: objs}
}

// renderKustomizeAll renders config/default with every commented option
// turned on as its comments say: the Prometheus ServiceMonitor, the
// NetworkPolicies, and cert-manager instead of the self-signed certificate.
// It renders a copy in a sibling directory of config/default (kustomize
// resolves ../ only inside the repository; .gitignore ignores it).
func renderKustomizeAll(t *testing.T) rendering {
	t.Helper()
	config := filepath.Join(repoRoot(t), "config")
	dir, err := os.MkdirTemp(config, ".render-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	entries, err := os.ReadDir(filepath.Join(config, "default"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(config, "default", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if e.Name() == "kustomization.yaml" {
			k := string(data)
			for old, replacement := range map[string]string{
				"#- ../prometheus\n":     "- ../prometheus\n",
				"#- ../network-policy\n": "- ../network-policy\n",
				"- ../selfsigned\n":      "",
				"#- ../certmanager\n":    "- ../certmanager\n",
			} {
				if !strings.Contains(k, old) {
					t.Fatalf("config/default/kustomization.yaml has no line %q", strings.TrimSpace(old))
				}
				k = strings.Replace(k, old, replacement, 1)
			}
			data = []byte(k)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	r := renderKustomize(t, filepath.Join("config", filepath.Base(dir)))
	r.name = "kustomize config/default with prometheus, network-policy and certmanager"
	return r
}

// find returns the objects of a kind, and of a name unless name is empty.
func (r rendering) find(kind, name string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, o := range r.objs {
		if o.GetKind() == kind && (name == "" || o.GetName() == name) {
			out = append(out, o)
		}
	}
	return out
}

// one decodes the single object of a kind and name into into.
func (r rendering) one(t *testing.T, kind, name string, into any) {
	t.Helper()
	objs := r.find(kind, name)
	if len(objs) != 1 {
		t.Fatalf("%s: %d %s %q, want 1", r.name, len(objs), kind, name)
	}
	convert(t, objs[0], into)
}

// convert decodes an object strictly: a field the type does not have fails.
func convert(t *testing.T, u *unstructured.Unstructured, into any) {
	t.Helper()
	if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(u.Object, into, true); err != nil {
		t.Fatalf("%s %s/%s: %v", u.GetKind(), u.GetNamespace(), u.GetName(), err)
	}
}
