package config_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	utilversion "k8s.io/apimachinery/pkg/util/version"

	"github.com/xinfang/petition-operator/internal/version"
)

// newer reports whether v is a later version than version.Release.
func newer(t *testing.T, v string) bool {
	t.Helper()
	parsed, err := utilversion.ParseSemantic(v)
	if err != nil {
		return false
	}
	return parsed.GreaterThan(utilversion.MustParseSemantic(version.Release))
}

// TestOneVersion holds every place that names a release of the operator to
// the one version, version.Release (itself held to the file VERSION): the
// chart's version and appVersion, the images of its Artifact Hub
// annotations, and each image tag or `go install …@` version that README.md,
// the chart's README and docs/ show. config/default's image is checked
// by TestDefaultDeployment. A version newer than the release is an
// upgrade's illustration (docs/tenant-stack.md rolls the desk forward) and
// is let be; an older one is a page left behind.
func TestOneVersion(t *testing.T) {
	root := repoRoot(t)
	b, err := os.ReadFile(filepath.Join(root, "charts", "petition-operator", "Chart.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var chart struct {
		Version     string            `json:"version"`
		AppVersion  string            `json:"appVersion"`
		Annotations map[string]string `json:"annotations"`
	}
	if err := yaml.Unmarshal(b, &chart); err != nil {
		t.Fatal(err)
	}
	// The images Artifact Hub scans are those of the release.
	var images []struct{ Name, Image string }
	if err := yaml.Unmarshal([]byte(chart.Annotations["artifacthub.io/images"]), &images); err != nil || len(images) == 0 {
		t.Errorf("Chart.yaml: artifacthub.io/images %q: %v", chart.Annotations["artifacthub.io/images"], err)
	}
	for _, i := range images {
		if tag := i.Image[strings.LastIndex(i.Image, ":")+1:]; strings.Contains(tag, "/") || tag != version.Release {
			t.Errorf("Chart.yaml: artifacthub.io/images: %s %s, want the tag %s (VERSION)", i.Name, i.Image, version.Release)
		}
	}
	if chart.AppVersion != version.Release {
		t.Errorf("Chart.yaml: appVersion %q, want %q (VERSION)", chart.AppVersion, version.Release)
	}
	if want := strings.TrimPrefix(version.Release, "v"); chart.Version != want {
		t.Errorf("Chart.yaml: version %q, want %q (VERSION without its v)", chart.Version, want)
	}

	// An image of ours with a tag, or a `go install` of one of our commands.
	named := regexp.MustCompile(`(petition-operator|petition-desk|petitionctl|kubectl-petition)(:|@)(v[0-9][0-9A-Za-z.+-]*)`)
	docs := []string{filepath.Join(root, "README.md"), filepath.Join(root, "charts", "petition-operator", "README.md")}
	err = filepath.WalkDir(filepath.Join(root, "docs"), func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".md") {
			docs = append(docs, path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, path := range docs {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(b), "\n") {
			for _, m := range named.FindAllStringSubmatch(line, -1) {
				seen++
				if m[3] != version.Release && !newer(t, m[3]) {
					rel, _ := filepath.Rel(root, path)
					t.Errorf("%s:%d: %s names %s, want %s (VERSION)", rel, i+1, m[1], m[3], version.Release)
				}
			}
		}
	}
	if seen == 0 {
		t.Error("no image tag or go install version in README.md and docs/: the check is looking in the wrong place")
	}
}
