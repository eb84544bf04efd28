package packaging_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilversion "k8s.io/apimachinery/pkg/util/version"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/xinfang/petition-operator/internal/version"
	"github.com/xinfang/petition-operator/tools/internal/chartdoc"
)

// artifactHub returns the chart's artifacthub.io/ annotations.
func artifactHub(t *testing.T) map[string]string {
	t.Helper()
	ch, err := loader.Load(filepath.Join(repoRoot(t), chart))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for k, v := range ch.Metadata.Annotations {
		if name, ok := strings.CutPrefix(k, "artifacthub.io/"); ok {
			out[name] = v
		}
	}
	return out
}

// annotationList parses an annotation that holds a YAML list, refusing
// unknown fields when into is a list of structs.
func annotationList(t *testing.T, a map[string]string, name string, into any) {
	t.Helper()
	if a[name] == "" {
		t.Fatalf("Chart.yaml has no artifacthub.io/%s", name)
	}
	if err := yaml.UnmarshalStrict([]byte(a[name]), into); err != nil {
		t.Fatalf("artifacthub.io/%s: %v", name, err)
	}
}

// TestArtifactHubAnnotations checks Chart.yaml's Artifact Hub metadata
// against the chart: the plain ones, the CRDs against crds/, the links
// against the repository's files and headings, and the images against what
// the chart runs. Their tags are held to VERSION by config's TestOneVersion.
func TestArtifactHubAnnotations(t *testing.T) {
	a := artifactHub(t)
	license, err := os.ReadFile(filepath.Join(repoRoot(t), "LICENSE"))
	if err != nil {
		t.Fatal(err)
	}
	if a["license"] != "Apache-2.0" || !strings.Contains(string(license), "Apache License\n                           Version 2.0") {
		t.Errorf("license %q, and LICENSE is not the Apache License 2.0", a["license"])
	}
	if a["operator"] != "true" {
		t.Errorf("operator %q, want \"true\"", a["operator"])
	}
	if !slices.Contains([]string{"Basic Install", "Seamless Upgrades", "Full Lifecycle", "Deep Insights", "Auto Pilot"}, a["operatorCapabilities"]) {
		t.Errorf("operatorCapabilities %q is not one of Artifact Hub's", a["operatorCapabilities"])
	}
	pre := utilversion.MustParseSemantic(version.Release).PreRelease() != ""
	if want := map[bool]string{true: "true", false: "false"}[pre]; a["prerelease"] != want {
		t.Errorf("prerelease %q for version %s, want %q", a["prerelease"], version.Release, want)
	}

	var changes []struct{ Kind, Description string }
	annotationList(t, a, "changes", &changes)
	for _, c := range changes {
		if !slices.Contains([]string{"added", "changed", "deprecated", "removed", "fixed", "security"}, c.Kind) || c.Description == "" {
			t.Errorf("change %+v: want a kind of Artifact Hub's and a description", c)
		}
	}

	var links []struct{ Name, URL string }
	annotationList(t, a, "links", &links)
	const blob = "https://github.com/xinfang/petition-operator/blob/main/"
	for _, l := range links {
		path, ok := strings.CutPrefix(l.URL, blob)
		if l.Name == "" || !ok {
			t.Errorf("link %+v: want a name and a page of %s", l, blob)
			continue
		}
		path, anchor, _ := strings.Cut(path, "#")
		page, err := os.ReadFile(filepath.Join(repoRoot(t), path))
		if err != nil {
			t.Errorf("link %s: %v", l.Name, err)
		} else if anchor != "" && !anchors(string(page))[anchor] {
			t.Errorf("link %s: %s has no heading #%s", l.Name, path, anchor)
		}
	}

	var crds []struct{ Kind, Version, Name, DisplayName, Description string }
	annotationList(t, a, "crds", &crds)
	inChart, err := chartdoc.ReadCRDs(filepath.Join(repoRoot(t), chart, "crds"))
	if err != nil {
		t.Fatal(err)
	}
	if len(crds) != len(inChart) {
		t.Errorf("artifacthub.io/crds lists %d kinds, crds/ has %d", len(crds), len(inChart))
	}
	for _, c := range inChart {
		i := slices.IndexFunc(crds, func(a struct{ Kind, Version, Name, DisplayName, Description string }) bool { return a.Kind == c.Kind })
		if i < 0 {
			t.Errorf("artifacthub.io/crds lacks %s", c.Kind)
			continue
		}
		got := crds[i]
		if got.Version != c.Version || got.Name != c.Plural+"."+c.Group || got.DisplayName == "" || got.Description != c.Summary {
			t.Errorf("artifacthub.io/crds: %+v\nwant version %s, name %s.%s, a displayName and the description %q (the first sentence of the kind's)",
				got, c.Version, c.Plural, c.Group, c.Summary)
		}
	}

	// The images are those the chart runs by default: the manager's and
	// the desk's (--tenant-image).
	var images []struct{ Name, Image string }
	annotationList(t, a, "images", &images)
	pod := manager(t, renderChart(t)).Spec.Template.Spec
	want := []string{pod.Containers[0].Image, flags(t, pod.Containers[0].Args)["--tenant-image"]}
	var got []string
	for _, i := range images {
		got = append(got, i.Image)
		if i.Name == "" {
			t.Errorf("image %s has no name", i.Image)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("artifacthub.io/images %v, want the manager's and the desk's images %v", got, want)
	}
}

// TestArtifactHubExamples checks that artifacthub.io/crdsExamples holds one
// object of each kind of crds/, each as config/samples has it and accepted
// by a real API server with the CRDs (schema, defaults and CEL rules; the
// webhooks, which judge objects across the network, do not run there).
func TestArtifactHubExamples(t *testing.T) {
	var examples []map[string]any
	annotationList(t, artifactHub(t), "crdsExamples", &examples)
	inChart, err := chartdoc.ReadCRDs(filepath.Join(repoRoot(t), chart, "crds"))
	if err != nil {
		t.Fatal(err)
	}
	samples := renderKustomize(t, "config/samples")
	c := apiServer(t)
	var kinds []string
	for _, e := range examples {
		u := &unstructured.Unstructured{Object: e}
		kinds = append(kinds, u.GetKind())
		sample := samples.find(u.GetKind(), u.GetName())
		if len(sample) != 1 {
			t.Errorf("example %s %s is no object of config/samples", u.GetKind(), u.GetName())
		} else if toYAML(sample[0].Object) != toYAML(e) {
			t.Errorf("example %s %s is not as config/samples has it:\n%s\nwant\n%s", u.GetKind(), u.GetName(), toYAML(e), toYAML(sample[0].Object))
		}
		// Applied, as other tests' operators may have made statutory-2022
		// and default.
		err := c.Apply(context.Background(), client.ApplyConfigurationFromUnstructured(u.DeepCopy()),
			client.DryRunAll, client.FieldOwner("petition-packaging-test"), client.ForceOwnership)
		if err != nil {
			t.Errorf("example %s %s: the API server refuses it: %v", u.GetKind(), u.GetName(), err)
		}
	}
	var want []string
	for _, crd := range inChart {
		want = append(want, crd.Kind)
	}
	slices.Sort(kinds)
	if !slices.Equal(kinds, want) {
		t.Errorf("examples of %v, want one of each kind of crds/: %v", kinds, want)
	}
}
