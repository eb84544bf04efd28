package release

import (
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// The krew plugin manifest's schema (krew.googlecontainertools.github.com/
// v1alpha2, the one krew-index takes). The types are written here: krew's
// module pins a client-go that would replace ours.
const (
	KrewAPIVersion = "krew.googlecontainertools.github.com/v1alpha2"
	// KrewPlugin is the plugin's name: `kubectl krew install petition`
	// installs kubectl-petition, run as `kubectl petition`.
	KrewPlugin = "petition"
)

// KrewManifest is a krew Plugin.
type KrewManifest struct {
	metav1.TypeMeta `json:",inline"`
	Metadata        KrewMetadata `json:"metadata"`
	Spec            KrewSpec     `json:"spec"`
}

// KrewMetadata is a krew Plugin's metadata: its name only.
type KrewMetadata struct {
	Name string `json:"name"`
}

// KrewSpec is a krew Plugin's spec.
type KrewSpec struct {
	Version          string         `json:"version"`
	Homepage         string         `json:"homepage"`
	ShortDescription string         `json:"shortDescription"`
	Description      string         `json:"description"`
	Platforms        []KrewPlatform `json:"platforms"`
}

// KrewPlatform is one archive of the plugin and the platform it runs on.
type KrewPlatform struct {
	Selector *metav1.LabelSelector `json:"selector"`
	URI      string                `json:"uri"`
	SHA256   string                `json:"sha256"`
	Files    []KrewFile            `json:"files"`
	Bin      string                `json:"bin"`
}

// KrewFile says which file of the archive krew installs.
type KrewFile struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// Platform is an OS and architecture the CLI is released for.
type Platform struct{ OS, Arch string }

// CLIPlatforms are the platforms of the CLI archives.
var CLIPlatforms = []Platform{{"linux", "amd64"}, {"linux", "arm64"}, {"darwin", "amd64"}, {"darwin", "arm64"}}

// CLIArchive is the name of the CLI archive of a version for a platform.
func CLIArchive(version string, p Platform) string {
	return fmt.Sprintf("petitionctl_%s_%s_%s.tar.gz", version, p.OS, p.Arch)
}

// PluginBinary is the name kubectl looks for to run `kubectl petition`.
const PluginBinary = "kubectl-petition"

// NewKrewManifest is the krew manifest of a version whose archives are
// downloaded from downloadURL (the release's address, without a trailing
// slash) and have the given SHA-256 by archive name.
func NewKrewManifest(version, homepage, downloadURL string, sums map[string]string) (*KrewManifest, error) {
	m := &KrewManifest{
		TypeMeta: metav1.TypeMeta{APIVersion: KrewAPIVersion, Kind: "Plugin"},
		Metadata: KrewMetadata{Name: KrewPlugin},
		Spec: KrewSpec{
			Version:          version,
			Homepage:         homepage,
			ShortDescription: "Inspect and plan a petition office network",
			Description: strings.Join([]string{
				"kubectl petition (petitionctl) reads a petition (信访) office network of",
				"petition-operator, from the cluster or offline from YAML: the tree of",
				"offices with their readiness, which office handles a petition, reception",
				"windows, statutory deadlines, what a change of the YAML would change",
				"(plan), validation as the cluster would judge, and staged rollouts.",
			}, "\n"),
		},
	}
	for _, p := range CLIPlatforms {
		name := CLIArchive(version, p)
		sum, ok := sums[name]
		if !ok {
			return nil, fmt.Errorf("krew manifest: no checksum of %s", name)
		}
		m.Spec.Platforms = append(m.Spec.Platforms, KrewPlatform{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"os": p.OS, "arch": p.Arch}},
			URI:      downloadURL + "/" + name,
			SHA256:   sum,
			Files:    []KrewFile{{From: PluginBinary, To: "."}, {From: "LICENSE", To: "."}},
			Bin:      PluginBinary,
		})
	}
	return m, nil
}

// YAML is the manifest as krew-index takes it.
func (m *KrewManifest) YAML() ([]byte, error) { return yaml.Marshal(m) }
