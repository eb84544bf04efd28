// Package imagebuild assembles the OCI images of the operator, the desk and
// petitionctl without a Docker engine and without a base image: each image
// is built from an empty image with two layers of its own, a small root
// filesystem (the nonroot user 65532, /tmp, CA certificates where the
// program needs them) and the static binary. The result is reproducible:
// the same binaries, metadata and time give the same digests.
package imagebuild

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// NonRoot is the user and group every image runs as ("nonroot" of
// distroless): no name in the cluster's Pod Security needs it, any
// runAsNonRoot check accepts it.
const NonRoot = 65532

// User is the image configuration's user, NonRoot:NonRoot.
var User = fmt.Sprintf("%d:%d", NonRoot, NonRoot)

// The OCI annotation and label keys the images carry.
const (
	LabelVersion  = "org.opencontainers.image.version"
	LabelRevision = "org.opencontainers.image.revision"
	LabelSource   = "org.opencontainers.image.source"
	LabelTitle    = "org.opencontainers.image.title"
	LabelLicenses = "org.opencontainers.image.licenses"
	LabelCreated  = "org.opencontainers.image.created"
	// RefName tags an index in an OCI image layout.
	RefName = "org.opencontainers.image.ref.name"
)

// Source is the repository the images are built from.
const Source = "https://github.com/xinfang/petition-operator"

// License is the SPDX expression of the images' license.
const License = "Apache-2.0"

// Program is one image: a main package of this module, the binary at
// /<Name> and its entrypoint.
type Program struct {
	// Name is the binary's name, its path in the image (/<Name>) and the
	// folder of its layout under bin/images.
	Name string
	// Package is the main package, relative to the module root.
	Package string
	// Repository is the image's name in a registry: make images-push
	// pushes to $(REGISTRY)/<Repository>:$(VERSION), the names the chart
	// and the operator's --tenant-image use.
	Repository string
	// CACertificates puts a CA bundle at /etc/ssl/certs/ca-certificates.crt
	// for a program that makes TLS connections to servers whose CA it is not
	// given.
	CACertificates bool
}

// Programs are the four images. The manager talks only to the API server,
// whose CA it has from its service account or kubeconfig, and serves its
// webhooks with its own certificate: it carries no CA bundle. petitionctl
// talks to any API server (and an OIDC issuer's login), the desk to the
// desks of other offices through --peer-url-template, which may be https,
// and the registry to its database and its webhook sink, which may use
// TLS: they carry one.
var Programs = []Program{
	{Name: "manager", Package: "./cmd/manager", Repository: "petition-operator"},
	{Name: "desk", Package: "./cmd/desk", Repository: "petition-desk", CACertificates: true},
	{Name: "petitionctl", Package: "./cmd/petitionctl", Repository: "petitionctl", CACertificates: true},
	{Name: "registry", Package: "./cmd/registry", Repository: "petition-registry", CACertificates: true},
}

// ProgramNamed returns the program of that name.
func ProgramNamed(name string) (Program, error) {
	var names []string
	for _, p := range Programs {
		if p.Name == name {
			return p, nil
		}
		names = append(names, p.Name)
	}
	return Program{}, fmt.Errorf("no image %q; the images are %s", name, strings.Join(names, ", "))
}

// Platforms are the platforms of every image index.
var Platforms = []v1.Platform{
	{OS: "linux", Architecture: "amd64"},
	{OS: "linux", Architecture: "arm64"},
}

// Meta is what the images say about their build.
type Meta struct {
	// Version is the one version of VERSION, e.g. v0.1.0.
	Version string
	// Revision is the commit built.
	Revision string
	// Created is the time of every file, history entry and the images'
	// creation: the commit's time or SOURCE_DATE_EPOCH, never the clock.
	Created time.Time
}

// Validate says what is missing.
func (m Meta) Validate() error {
	var errs []error
	if m.Version == "" {
		errs = append(errs, errors.New("no version (VERSION)"))
	} else if strings.ContainsAny(m.Version, " \t\n/:") {
		errs = append(errs, fmt.Errorf("version %q is no tag: no spaces, slashes or colons", m.Version))
	}
	if m.Revision == "" {
		errs = append(errs, errors.New("no revision (the commit)"))
	} else if strings.ContainsAny(m.Revision, " \t\n'\"") {
		errs = append(errs, fmt.Errorf("revision %q is no commit hash", m.Revision))
	}
	if m.Created.IsZero() {
		errs = append(errs, errors.New("no creation time (SOURCE_DATE_EPOCH or the commit's time)"))
	}
	return errors.Join(errs...)
}

// Labels are the image configuration's labels and the manifests'
// annotations of program p.
func Labels(p Program, m Meta) map[string]string {
	return map[string]string{
		LabelVersion:  m.Version,
		LabelRevision: m.Revision,
		LabelSource:   Source,
		LabelTitle:    p.Repository,
		LabelLicenses: License,
		LabelCreated:  m.Created.UTC().Format(time.RFC3339),
	}
}

// Files are the inputs of an image besides its metadata.
type Files struct {
	// Binary is the static binary, built for the image's platform.
	Binary []byte
	// CACertificates is the PEM bundle for programs that carry one.
	CACertificates []byte
}

// Image assembles program p's image for platform from files: an empty image,
// a layer with the root filesystem and a layer with the binary, run as
// NonRoot with the binary as its entrypoint.
func Image(p Program, m Meta, platform v1.Platform, files Files) (v1.Image, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	if len(files.Binary) == 0 {
		return nil, fmt.Errorf("image %s %s: no binary", p.Name, platform)
	}
	if p.CACertificates && len(files.CACertificates) == 0 {
		return nil, fmt.Errorf("image %s: no CA certificates for a program that needs them", p.Name)
	}
	var certs []byte
	if p.CACertificates {
		certs = files.CACertificates
	}
	base, err := layer(rootFS(m.Created, certs))
	if err != nil {
		return nil, err
	}
	bin, err := layer([]entry{{name: p.Name, mode: 0o755, data: files.Binary, created: m.Created}})
	if err != nil {
		return nil, err
	}
	created := v1.Time{Time: m.Created.UTC()}
	baseFiles := "/etc/passwd, /etc/group, /home/nonroot, /tmp"
	if p.CACertificates {
		baseFiles += ", /etc/ssl/certs/ca-certificates.crt"
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.Append(img,
		mutate.Addendum{Layer: base, MediaType: types.OCILayer, History: v1.History{
			Created: created, CreatedBy: "imagebuild: " + baseFiles,
			Comment: "the root filesystem",
		}},
		mutate.Addendum{Layer: bin, MediaType: types.OCILayer, History: v1.History{
			Created: created, CreatedBy: "go build -trimpath " + p.Package + " (CGO_ENABLED=0, GOOS=" + platform.OS + ", GOARCH=" + platform.Architecture + ")",
			Comment: "the binary /" + p.Name,
		}},
	)
	if err != nil {
		return nil, err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cfg = cfg.DeepCopy()
	cfg.Architecture = platform.Architecture
	cfg.OS = platform.OS
	cfg.Variant = platform.Variant
	cfg.Created = created
	cfg.Author = Source
	cfg.Config = v1.Config{
		User:       User,
		Entrypoint: []string{"/" + p.Name},
		WorkingDir: "/",
		Env:        []string{"HOME=/home/nonroot"},
		Labels:     Labels(p, m),
	}
	if img, err = mutate.ConfigFile(img, cfg); err != nil {
		return nil, err
	}
	annotated, ok := mutate.Annotations(img, Labels(p, m)).(v1.Image)
	if !ok {
		return nil, errors.New("annotating an image gave no image")
	}
	return annotated, nil
}

// Index assembles the image index of program p from its images, one per
// platform of Platforms, in that order.
func Index(p Program, m Meta, images []v1.Image) (v1.ImageIndex, error) {
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	var adds []mutate.IndexAddendum
	for _, img := range images {
		cfg, err := img.ConfigFile()
		if err != nil {
			return nil, err
		}
		platform := cfg.Platform()
		if platform == nil || platform.OS == "" || platform.Architecture == "" {
			return nil, fmt.Errorf("image %s has no platform", p.Name)
		}
		for _, a := range adds {
			if a.Platform.Equals(*platform) {
				return nil, fmt.Errorf("image %s: two images for %s", p.Name, platform)
			}
		}
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: platform}})
	}
	if len(adds) == 0 {
		return nil, fmt.Errorf("image %s: no platform built", p.Name)
	}
	idx = mutate.AppendManifests(idx, adds...)
	annotated, ok := mutate.Annotations(idx, Labels(p, m)).(v1.ImageIndex)
	if !ok {
		return nil, errors.New("annotating an index gave no index")
	}
	return annotated, nil
}

// entry is one file or directory of a layer.
type entry struct {
	name     string // without a leading slash
	dir      bool
	mode     int64
	uid, gid int
	data     []byte
	created  time.Time
}

// rootFS is the first layer: the files a static Go program run as NonRoot
// expects beside it, owned by root but for the user's home.
func rootFS(created time.Time, certs []byte) []entry {
	passwd := "root:x:0:0:root:/root:/sbin/nologin\n" +
		fmt.Sprintf("nonroot:x:%d:%d:nonroot:/home/nonroot:/sbin/nologin\n", NonRoot, NonRoot)
	group := "root:x:0:\n" + fmt.Sprintf("nonroot:x:%d:\n", NonRoot)
	es := []entry{
		{name: "etc", dir: true, mode: 0o755},
		{name: "etc/group", mode: 0o644, data: []byte(group)},
		{name: "etc/passwd", mode: 0o644, data: []byte(passwd)},
		{name: "home", dir: true, mode: 0o755},
		{name: "home/nonroot", dir: true, mode: 0o700, uid: NonRoot, gid: NonRoot},
		// Writable by all with the sticky bit, as on any Linux: a Pod with
		// a read-only root mounts an emptyDir here.
		{name: "tmp", dir: true, mode: 0o1777},
	}
	if len(certs) > 0 {
		es = append(es,
			entry{name: "etc/ssl", dir: true, mode: 0o755},
			entry{name: "etc/ssl/certs", dir: true, mode: 0o755},
			entry{name: "etc/ssl/certs/ca-certificates.crt", mode: 0o644, data: certs},
		)
	}
	for i := range es {
		es[i].created = created
	}
	return es
}

// layer writes the entries, sorted by name, as a tar archive of fixed
// owners and times and makes an OCI layer of it.
func layer(entries []entry) (v1.Layer, error) {
	sort.Slice(entries, func(i, j int) bool { return entries[i].name < entries[j].name })
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		if e.name == "" || path.IsAbs(e.name) || path.Clean(e.name) != e.name {
			return nil, fmt.Errorf("layer entry %q: not a clean relative path", e.name)
		}
		h := &tar.Header{
			Name:    e.name,
			Mode:    e.mode,
			Uid:     e.uid,
			Gid:     e.gid,
			ModTime: e.created.UTC(),
			Format:  tar.FormatPAX,
		}
		if e.dir {
			h.Typeflag = tar.TypeDir
			h.Name += "/"
		} else {
			h.Typeflag = tar.TypeReg
			h.Size = int64(len(e.data))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(e.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}, tarball.WithCompressedCaching, tarball.WithMediaType(types.OCILayer))
}
