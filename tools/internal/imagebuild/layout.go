package imagebuild

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// WriteLayout replaces dir with an OCI image layout holding idx, tagged
// version (its descriptor in index.json annotated RefName).
func WriteLayout(dir string, idx v1.ImageIndex, version string) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return err
	}
	return p.AppendIndex(idx, layout.WithAnnotations(map[string]string{RefName: version}))
}

// ReadLayout returns the image index of the layout at dir tagged version
// and the digest of that index.
func ReadLayout(dir, version string) (v1.ImageIndex, error) {
	p, err := layout.FromPath(dir)
	if err != nil {
		return nil, fmt.Errorf("%s is no OCI image layout (make images writes them): %w", dir, err)
	}
	top, err := p.ImageIndex()
	if err != nil {
		return nil, err
	}
	m, err := top.IndexManifest()
	if err != nil {
		return nil, err
	}
	var tags []string
	for _, d := range m.Manifests {
		tag := d.Annotations[RefName]
		if tag == version && d.MediaType.IsIndex() {
			return top.ImageIndex(d.Digest)
		}
		tags = append(tags, fmt.Sprintf("%q (%s)", tag, d.MediaType))
	}
	return nil, fmt.Errorf("the layout %s has no image index tagged %s; it holds %v", dir, version, tags)
}

// Reference is where program p's index of version goes in registry (a
// host with an optional path, e.g. ghcr.io/xinfang).
func Reference(registry string, p Program, version string, opts ...name.Option) (name.Reference, error) {
	if registry == "" {
		return nil, errors.New("no registry: give REGISTRY, e.g. make images-push REGISTRY=ghcr.io/xinfang")
	}
	ref, err := name.NewTag(registry+"/"+p.Repository+":"+version, opts...)
	if err != nil {
		return nil, fmt.Errorf("REGISTRY %q: %w", registry, err)
	}
	return ref, nil
}

// Push writes idx and its images to ref, authenticated by the default
// keychain (docker login's config and credential helpers) unless opts say
// otherwise.
func Push(ctx context.Context, idx v1.ImageIndex, ref name.Reference, opts ...remote.Option) error {
	all := append([]remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain)}, opts...)
	if err := remote.WriteIndex(ref, idx, all...); err != nil {
		return fmt.Errorf("pushing %s: %w", ref, err)
	}
	return nil
}

// PlatformSize is the size of one platform's image in a registry: its
// manifest, configuration and compressed layers.
type PlatformSize struct {
	Platform v1.Platform
	Bytes    int64
}

// Sizes are the compressed sizes of each platform's image of idx.
func Sizes(idx v1.ImageIndex) ([]PlatformSize, error) {
	m, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	var sizes []PlatformSize
	for _, d := range m.Manifests {
		if d.Platform == nil {
			return nil, fmt.Errorf("manifest %s has no platform", d.Digest)
		}
		img, err := idx.Image(d.Digest)
		if err != nil {
			return nil, err
		}
		im, err := img.Manifest()
		if err != nil {
			return nil, err
		}
		total := d.Size + im.Config.Size
		for _, l := range im.Layers {
			total += l.Size
		}
		sizes = append(sizes, PlatformSize{Platform: *d.Platform, Bytes: total})
	}
	return sizes, nil
}

// LayoutDir is the layout folder of program p under dir (bin/images).
func LayoutDir(dir string, p Program) string { return filepath.Join(dir, p.Name) }
