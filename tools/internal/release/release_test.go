package release

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	appsv1 "k8s.io/api/apps/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/xinfang/petition-operator/tools/internal/repo"
)

var when = time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC)

func sha(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

func TestWriteChecksums(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{"b.tar.gz": "bee", "a.yaml": "ay", ChecksumsFile: "stale"}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := WriteChecksums(dir); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, ChecksumsFile))
	if err != nil {
		t.Fatal(err)
	}
	want := sha([]byte("ay")) + "  a.yaml\n" + sha([]byte("bee")) + "  b.tar.gz\n"
	if string(got) != want {
		t.Errorf("checksums.txt =\n%s\nwant\n%s", got, want)
	}
}

func TestWriteTarGz(t *testing.T) {
	dir := t.TempDir()
	prog := filepath.Join(dir, "prog")
	if err := os.WriteFile(prog, []byte("#!program"), 0o700); err != nil {
		t.Fatal(err)
	}
	files := []ArchiveFile{{Name: "petitionctl", Path: prog, Mode: 0o755}, {Name: PluginBinary, Path: prog, Mode: 0o755}}
	a, b := filepath.Join(dir, "a.tar.gz"), filepath.Join(dir, "b.tar.gz")
	for _, p := range []string{a, b} {
		if err := WriteTarGz(p, files, when); err != nil {
			t.Fatal(err)
		}
	}
	ab, _ := os.ReadFile(a)
	bb, _ := os.ReadFile(b)
	if !bytes.Equal(ab, bb) {
		t.Error("two archives of the same files differ")
	}
	gz, err := gzip.NewReader(bytes.NewReader(ab))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	var names []string
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, hdr.Name)
		if hdr.Mode != 0o755 || !hdr.ModTime.Equal(when) || hdr.Uid != 0 {
			t.Errorf("%s: mode %o, time %s, uid %d; want 755, %s, 0", hdr.Name, hdr.Mode, hdr.ModTime, hdr.Uid, when)
		}
		if body, _ := io.ReadAll(tr); string(body) != "#!program" {
			t.Errorf("%s holds %q", hdr.Name, body)
		}
	}
	if strings.Join(names, ",") != "petitionctl,kubectl-petition" {
		t.Errorf("archive holds %v", names)
	}
	if err := WriteTarGz(filepath.Join(dir, "c.tar.gz"), []ArchiveFile{{Name: "x", Path: filepath.Join(dir, "missing")}}, when); err == nil {
		t.Error("an archive of a missing file was written")
	}
}

// goCommand runs the go command in the tools module and returns its output.
func goCommand(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go %s: %v", strings.Join(args, " "), err)
	}
	return strings.TrimSpace(string(out))
}

// progModule is the main module of testdata/prog: the tools module, where
// it is built.
const progModule = "github.com/xinfang/petition-operator/tools"

// testLayout writes an OCI image layout like `make images` does, of an
// image index with one image per platform whose entrypoint /desk is
// testdata/prog, built here (a test's own program records no modules).
func testLayout(t *testing.T, version string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "desk")
	goCommand(t, "build", "-trimpath", "-o", bin, "./internal/release/testdata/prog")
	prog, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	var layer bytes.Buffer
	tw := tar.NewWriter(&layer)
	if err := tw.WriteHeader(&tar.Header{Name: "desk", Mode: 0o755, Size: int64(len(prog)), Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write(prog); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(layer.Bytes())), nil })
	if err != nil {
		t.Fatal(err)
	}
	var idx v1.ImageIndex = empty.Index
	idx = mutate.IndexMediaType(idx, types.OCIImageIndex)
	for _, arch := range []string{"amd64", "arm64"} {
		img, err := mutate.AppendLayers(mutate.MediaType(empty.Image, types.OCIManifestSchema1), l)
		if err != nil {
			t.Fatal(err)
		}
		img, err = mutate.Config(img, v1.Config{Entrypoint: []string{"/desk"}, User: "65532:65532",
			Labels: map[string]string{"org.opencontainers.image.version": version}})
		if err != nil {
			t.Fatal(err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}}})
	}
	dir := t.TempDir()
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendIndex(idx); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestSBOMOfImage(t *testing.T) {
	dir := testLayout(t, "v9.8.7")
	var programs []*ImageProgram
	for _, platform := range []string{"linux/amd64", "linux/arm64"} {
		p, err := ReadImageProgram(dir, platform)
		if err != nil {
			t.Fatal(err)
		}
		if p.Entrypoint != "/desk" || p.Version != "v9.8.7" || p.Platform != platform {
			t.Errorf("%s: entrypoint %q version %q platform %q", platform, p.Entrypoint, p.Version, p.Platform)
		}
		if p.Info.Main.Path != progModule {
			t.Errorf("%s: main module %q", platform, p.Info.Main.Path)
		}
		programs = append(programs, p)
	}
	if _, err := ReadImageProgram(dir, "linux/s390x"); err == nil || !strings.Contains(err.Error(), "no image for linux/s390x") {
		t.Errorf("a missing platform: %v", err)
	}
	if _, err := ReadImageProgram(t.TempDir(), "linux/amd64"); err == nil {
		t.Error("an empty directory read as an image layout")
	}

	bom, err := SBOM(SBOMInput{Image: "petition-desk", Repository: "ghcr.io/xinfang/petition-desk", Version: "v9.8.7",
		Source: "https://github.com/xinfang/petition-operator", Time: when, Programs: programs})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := EncodeSBOM(&b, bom); err != nil {
		t.Fatal(err)
	}
	// Read back as a CycloneDX document.
	var back cdx.BOM
	if err := cdx.NewBOMDecoder(bytes.NewReader(b.Bytes()), cdx.BOMFileFormatJSON).Decode(&back); err != nil {
		t.Fatal(err)
	}
	if back.SpecVersion != cdx.SpecVersion1_6 || back.Metadata.Component.Type != cdx.ComponentTypeContainer ||
		back.Metadata.Component.Name != "petition-desk" || back.Metadata.Component.Version != "v9.8.7" {
		t.Errorf("metadata: spec %s, component %+v", back.SpecVersion, back.Metadata.Component)
	}
	if !strings.HasPrefix(back.Metadata.Component.PackageURL, "pkg:oci/petition-desk@sha256%3A") {
		t.Errorf("image purl %q", back.Metadata.Component.PackageURL)
	}
	purls := map[string]bool{}
	for _, c := range *back.Components {
		purls[c.PackageURL] = true
	}
	// The program links these modules: the SBOM must say so, at the
	// versions the go command resolves.
	var want []string
	for _, m := range []string{"github.com/google/uuid", "go.yaml.in/yaml/v3"} {
		want = append(want, "pkg:golang/"+m+"@"+goCommand(t, "list", "-m", "-f", "{{.Version}}", m))
	}
	for _, want := range append(want, "pkg:golang/"+progModule+"@v9.8.7") {
		if !purls[want] {
			t.Errorf("SBOM lacks %s", want)
		}
	}
	if !purls["pkg:golang/stdlib@v"+strings.TrimPrefix(programs[0].Info.GoVersion, "go")] {
		t.Errorf("SBOM lacks the standard library of %s", programs[0].Info.GoVersion)
	}
	again, err := SBOM(SBOMInput{Image: "petition-desk", Repository: "ghcr.io/xinfang/petition-desk", Version: "v9.8.7",
		Source: "https://github.com/xinfang/petition-operator", Time: when, Programs: programs})
	if err != nil {
		t.Fatal(err)
	}
	if again.SerialNumber != bom.SerialNumber {
		t.Error("two SBOMs of the same image have different serial numbers")
	}
}

func TestKrewManifest(t *testing.T) {
	sums := map[string]string{}
	for i, p := range CLIPlatforms {
		sums[CLIArchive("v9.8.7", p)] = strings.Repeat(string(rune('a'+i)), 64)
	}
	m, err := NewKrewManifest("v9.8.7", "https://github.com/xinfang/petition-operator", "https://github.com/xinfang/petition-operator/releases/download/v9.8.7", sums)
	if err != nil {
		t.Fatal(err)
	}
	b, err := m.YAML()
	if err != nil {
		t.Fatal(err)
	}
	var back KrewManifest
	if err := yaml.UnmarshalStrict(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.APIVersion != KrewAPIVersion || back.Kind != "Plugin" || back.Metadata.Name != "petition" || back.Spec.Version != "v9.8.7" {
		t.Errorf("manifest head: %+v %+v", back.TypeMeta, back.Metadata)
	}
	if len(back.Spec.ShortDescription) > 50 {
		t.Errorf("shortDescription is %d characters; krew-index takes 50", len(back.Spec.ShortDescription))
	}
	if len(back.Spec.Platforms) != len(CLIPlatforms) {
		t.Fatalf("%d platforms", len(back.Spec.Platforms))
	}
	for i, p := range back.Spec.Platforms {
		want := CLIPlatforms[i]
		if p.Selector.MatchLabels["os"] != want.OS || p.Selector.MatchLabels["arch"] != want.Arch || p.Bin != PluginBinary ||
			p.SHA256 != sums[CLIArchive("v9.8.7", want)] || p.URI != "https://github.com/xinfang/petition-operator/releases/download/v9.8.7/"+CLIArchive("v9.8.7", want) {
			t.Errorf("platform %d: %+v", i, p)
		}
	}
	delete(sums, CLIArchive("v9.8.7", CLIPlatforms[3]))
	if _, err := NewKrewManifest("v9.8.7", "", "", sums); err == nil || !strings.Contains(err.Error(), "darwin_arm64") {
		t.Errorf("a missing archive: %v", err)
	}
}

func TestInstallManifests(t *testing.T) {
	root, err := repo.Root()
	if err != nil {
		t.Fatal(err)
	}
	b, err := InstallManifests(root, Images{Manager: "registry.example.org/petition-operator:v9.8.7", Desk: "registry.example.org/petition-desk:v9.8.7"})
	if err != nil {
		t.Fatal(err)
	}
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(b), 4096)
	kinds := map[string]int{}
	var manager *appsv1.Deployment
	for {
		var d appsv1.Deployment
		if err := dec.Decode(&d); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		kinds[d.Kind]++
		if d.Kind == "Deployment" {
			manager = &d
		}
	}
	if kinds["CustomResourceDefinition"] < 6 || kinds["Deployment"] != 1 || kinds["ValidatingWebhookConfiguration"] != 1 {
		t.Errorf("install.yaml holds %v", kinds)
	}
	c := manager.Spec.Template.Spec.Containers[0]
	if c.Image != "registry.example.org/petition-operator:v9.8.7" {
		t.Errorf("manager image %q", c.Image)
	}
	var tenant []string
	for _, a := range c.Args {
		if strings.HasPrefix(a, "--tenant-image") {
			tenant = append(tenant, a)
		}
	}
	if len(tenant) != 1 || tenant[0] != "--tenant-image=registry.example.org/petition-desk:v9.8.7" {
		t.Errorf("tenant image args %v", tenant)
	}
	for _, bad := range []Images{{Manager: "registry.example.org/petition-operator", Desk: "d:1"},
		{Manager: "m@sha256:0", Desk: "d:1"}, {Manager: "m:1", Desk: "localhost:5000/desk"}} {
		if _, err := InstallManifests(root, bad); err == nil || !strings.Contains(err.Error(), "want repository:tag") {
			t.Errorf("%+v: %v", bad, err)
		}
	}
}

func TestPackageChart(t *testing.T) {
	out := t.TempDir()
	path, err := PackageChart(chartDir(t), "v9.8.7", "v9.8.7", out)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(path) != "petition-operator-9.8.7.tgz" {
		t.Errorf("chart file %s", path)
	}
	ch, err := loader.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if ch.Metadata.Version != "9.8.7" || ch.Metadata.AppVersion != "v9.8.7" {
		t.Errorf("packaged chart: version %q appVersion %q", ch.Metadata.Version, ch.Metadata.AppVersion)
	}
	if len(ch.CRDObjects()) < 6 {
		t.Errorf("packaged chart has %d CRDs", len(ch.CRDObjects()))
	}
	// Artifact Hub scans the images of the version packaged.
	for _, want := range []string{"image: ghcr.io/xinfang/petition-operator:v9.8.7\n", "image: ghcr.io/xinfang/petition-desk:v9.8.7\n"} {
		if !strings.Contains(ch.Metadata.Annotations["artifacthub.io/images"], want) {
			t.Errorf("packaged chart: artifacthub.io/images %q lacks %q", ch.Metadata.Annotations["artifacthub.io/images"], want)
		}
	}
	if got := ch.Metadata.Annotations["artifacthub.io/prerelease"]; got != "false" {
		t.Errorf("packaged chart 9.8.7: artifacthub.io/prerelease %q", got)
	}
	rc, err := PackageChart(chartDir(t), "v9.9.0-rc.1", "v9.9.0-rc.1", out)
	if err != nil {
		t.Fatal(err)
	}
	if ch, err = loader.Load(rc); err != nil {
		t.Fatal(err)
	}
	if got := ch.Metadata.Annotations["artifacthub.io/prerelease"]; got != "true" {
		t.Errorf("packaged chart 9.9.0-rc.1: artifacthub.io/prerelease %q, want \"true\"", got)
	}
	if !strings.Contains(ch.Metadata.Annotations["artifacthub.io/images"], "petition-desk:v9.9.0-rc.1") {
		t.Errorf("packaged chart 9.9.0-rc.1: artifacthub.io/images %q", ch.Metadata.Annotations["artifacthub.io/images"])
	}
	if _, err := PackageChart(chartDir(t), "not-a-version", "x", out); err == nil {
		t.Error("a chart with version not-a-version was packaged")
	}
}

// chartDir is the repository's chart.
func chartDir(t *testing.T) string {
	t.Helper()
	root, err := repo.Root()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(root, "charts", "petition-operator")
}
