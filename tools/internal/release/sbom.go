package release

import (
	"archive/tar"
	"bytes"
	"debug/buildinfo"
	"errors"
	"fmt"
	"io"
	"path"
	"runtime/debug"
	"strings"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/uuid"
)

// maxProgram bounds the program read out of an image for its build
// information.
const maxProgram = 256 << 20

// ImageProgram is the program an image runs and where it was read from.
type ImageProgram struct {
	// Digest of the image index and of the image the program was read from.
	IndexDigest, ImageDigest string
	// Platform of that image, e.g. linux/amd64.
	Platform string
	// Entrypoint is the program's path in the image.
	Entrypoint string
	// Version is the image's org.opencontainers.image.version label.
	Version string
	// Info is the program's Go build information.
	Info *debug.BuildInfo
}

// ReadImageProgram opens the OCI image layout at dir, takes its image for
// platform (os/arch) and reads the build information of its entrypoint out
// of its layers.
func ReadImageProgram(dir, platform string) (*ImageProgram, error) {
	p, err := layout.FromPath(dir)
	if err != nil {
		return nil, fmt.Errorf("image layout %s: %w", dir, err)
	}
	idx, err := p.ImageIndex()
	if err != nil {
		return nil, fmt.Errorf("image layout %s: %w", dir, err)
	}
	// The layout's index.json names the image index of the release.
	outer, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	if len(outer.Manifests) != 1 {
		return nil, fmt.Errorf("image layout %s: %d manifests in index.json, want the one image index", dir, len(outer.Manifests))
	}
	inner, err := idx.ImageIndex(outer.Manifests[0].Digest)
	if err != nil {
		return nil, fmt.Errorf("image layout %s: %w", dir, err)
	}
	manifest, err := inner.IndexManifest()
	if err != nil {
		return nil, err
	}
	for _, d := range manifest.Manifests {
		if d.Platform == nil || d.Platform.OS+"/"+d.Platform.Architecture != platform {
			continue
		}
		img, err := inner.Image(d.Digest)
		if err != nil {
			return nil, err
		}
		cfg, err := img.ConfigFile()
		if err != nil {
			return nil, err
		}
		if len(cfg.Config.Entrypoint) == 0 {
			return nil, fmt.Errorf("image layout %s: %s has no entrypoint", dir, platform)
		}
		entry := cfg.Config.Entrypoint[0]
		prog, err := readFile(mutate.Extract(img), entry)
		if err != nil {
			return nil, fmt.Errorf("image layout %s: %s: %w", dir, platform, err)
		}
		info, err := buildinfo.Read(bytes.NewReader(prog))
		if err != nil {
			return nil, fmt.Errorf("image layout %s: %s: %s: %w", dir, platform, entry, err)
		}
		return &ImageProgram{IndexDigest: outer.Manifests[0].Digest.String(), ImageDigest: d.Digest.String(), Platform: platform,
			Entrypoint: entry, Version: cfg.Config.Labels["org.opencontainers.image.version"], Info: info}, nil
	}
	return nil, fmt.Errorf("image layout %s: no image for %s", dir, platform)
}

// readFile returns the file at name (absolute, in the image) from a
// flattened filesystem tar, then closes it.
func readFile(rc io.ReadCloser, name string) ([]byte, error) {
	defer func() { _ = rc.Close() }()
	want := strings.TrimPrefix(path.Clean(name), "/")
	tr := tar.NewReader(rc)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s is not in the image", name)
		}
		if err != nil {
			return nil, err
		}
		if strings.TrimPrefix(path.Clean(hdr.Name), "/") != want {
			continue
		}
		if hdr.Size > maxProgram {
			return nil, fmt.Errorf("%s is %d bytes, more than %d", name, hdr.Size, maxProgram)
		}
		return io.ReadAll(io.LimitReader(tr, maxProgram))
	}
}

// SBOMInput names what an SBOM describes.
type SBOMInput struct {
	// Image is the image's name (manager, desk, petitionctl), Repository
	// where it is pushed, Version its tag.
	Image, Repository, Version string
	// Source is the repository's address.
	Source string
	// Time is the release's time.
	Time time.Time
	// Programs are the image's programs, one per platform; the first one's
	// modules are listed (every platform is built from the same go.sum).
	Programs []*ImageProgram
}

// SBOM is a CycloneDX 1.6 bill of materials of an image: the image as the
// described component, the Go standard library and every module linked into
// its program, as package URLs.
func SBOM(in SBOMInput) (*cdx.BOM, error) {
	if len(in.Programs) == 0 {
		return nil, fmt.Errorf("SBOM of %s: no program", in.Image)
	}
	info := in.Programs[0].Info
	ref := fmt.Sprintf("pkg:oci/%s@%s?repository_url=%s", in.Image, strings.Replace(in.Programs[0].IndexDigest, ":", "%3A", 1), in.Repository)
	props := []cdx.Property{{Name: "org.opencontainers.image.source", Value: in.Source}}
	for _, p := range in.Programs {
		props = append(props, cdx.Property{Name: "image:" + p.Platform, Value: p.ImageDigest})
	}
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision", "vcs.time", "CGO_ENABLED", "-trimpath":
			props = append(props, cdx.Property{Name: "go:" + s.Key, Value: s.Value})
		}
	}
	bom := cdx.NewBOM()
	bom.SpecVersion = cdx.SpecVersion1_6
	// The same image gives the same serial number.
	bom.SerialNumber = "urn:uuid:" + uuid.NewSHA1(uuid.NameSpaceURL, []byte(ref)).String()
	bom.Metadata = &cdx.Metadata{
		Timestamp: in.Time.UTC().Format(time.RFC3339),
		Component: &cdx.Component{BOMRef: ref, Type: cdx.ComponentTypeContainer, Name: in.Image, Version: in.Version,
			PackageURL: ref, Licenses: &cdx.Licenses{{License: &cdx.License{ID: "Apache-2.0"}}}, Properties: &props},
	}
	goVersion := strings.TrimPrefix(info.GoVersion, "go")
	components := []cdx.Component{
		{BOMRef: "pkg:golang/" + info.Main.Path + "@" + in.Version, Type: cdx.ComponentTypeApplication, Name: info.Main.Path,
			Version: in.Version, PackageURL: "pkg:golang/" + info.Main.Path + "@" + in.Version},
		{BOMRef: "pkg:golang/stdlib@v" + goVersion, Type: cdx.ComponentTypeLibrary, Name: "stdlib", Version: "v" + goVersion,
			PackageURL: "pkg:golang/stdlib@v" + goVersion},
	}
	deps := []string{components[1].BOMRef}
	for _, m := range info.Deps {
		if m.Replace != nil {
			m = m.Replace
		}
		purl := "pkg:golang/" + m.Path + "@" + m.Version
		c := cdx.Component{BOMRef: purl, Type: cdx.ComponentTypeLibrary, Name: m.Path, Version: m.Version, PackageURL: purl}
		if m.Sum != "" {
			c.Properties = &[]cdx.Property{{Name: "go:sum", Value: m.Sum}}
		}
		components = append(components, c)
		deps = append(deps, purl)
	}
	bom.Components = &components
	bom.Dependencies = &[]cdx.Dependency{
		{Ref: ref, Dependencies: &[]string{components[0].BOMRef}},
		{Ref: components[0].BOMRef, Dependencies: &deps},
	}
	return bom, nil
}

// EncodeSBOM writes the BOM as CycloneDX JSON.
func EncodeSBOM(w io.Writer, bom *cdx.BOM) error {
	return cdx.NewBOMEncoder(w, cdx.BOMFileFormatJSON).SetPretty(true).EncodeVersion(bom, cdx.SpecVersion1_6)
}
