package imagebuild

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/xinfang/petition-operator/tools/internal/repo"
)

var testMeta = Meta{Version: "v9.8.7", Revision: "0123456789abcdef0123456789abcdef01234567", Created: time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)}

// fakeFiles are small inputs: a "binary" per platform.
func fakeFiles(platform v1.Platform) Files {
	return Files{Binary: []byte("#!binary for " + platform.String()), CACertificates: []byte("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n")}
}

func testIndex(t *testing.T, p Program, m Meta) v1.ImageIndex {
	t.Helper()
	var images []v1.Image
	for _, platform := range Platforms {
		img, err := Image(p, m, platform, fakeFiles(platform))
		if err != nil {
			t.Fatal(err)
		}
		images = append(images, img)
	}
	idx, err := Index(p, m, images)
	if err != nil {
		t.Fatal(err)
	}
	return idx
}

func digest(t *testing.T, d interface{ Digest() (v1.Hash, error) }) v1.Hash {
	t.Helper()
	h, err := d.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// files lists the entries of the image's filesystem: name, mode, owner,
// time, content.
type file struct {
	mode     int64
	uid, gid int
	mtime    time.Time
	data     string
	dir      bool
}

func filesOf(t *testing.T, img v1.Image) map[string]file {
	t.Helper()
	rc := mutate.Extract(img)
	defer func() { _ = rc.Close() }()
	tr := tar.NewReader(rc)
	out := map[string]file{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out[strings.TrimSuffix(h.Name, "/")] = file{mode: h.Mode, uid: h.Uid, gid: h.Gid, mtime: h.ModTime, data: string(data), dir: h.Typeflag == tar.TypeDir}
	}
}

func TestImageConfigAndFiles(t *testing.T) {
	for _, p := range Programs {
		t.Run(p.Name, func(t *testing.T) {
			platform := v1.Platform{OS: "linux", Architecture: "arm64"}
			img, err := Image(p, testMeta, platform, fakeFiles(platform))
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := img.ConfigFile()
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Config.User != "65532:65532" {
				t.Errorf("user = %q, want 65532:65532", cfg.Config.User)
			}
			if want := []string{"/" + p.Name}; !reflect.DeepEqual(cfg.Config.Entrypoint, want) {
				t.Errorf("entrypoint = %q, want %q", cfg.Config.Entrypoint, want)
			}
			if cfg.Config.WorkingDir != "/" || cfg.Architecture != "arm64" || cfg.OS != "linux" || !cfg.Created.Equal(testMeta.Created) {
				t.Errorf("config: workdir %q, platform %s/%s, created %s", cfg.Config.WorkingDir, cfg.OS, cfg.Architecture, cfg.Created)
			}
			wantLabels := map[string]string{
				"org.opencontainers.image.version":  "v9.8.7",
				"org.opencontainers.image.revision": testMeta.Revision,
				"org.opencontainers.image.source":   "https://github.com/xinfang/petition-operator",
				"org.opencontainers.image.title":    p.Repository,
				"org.opencontainers.image.licenses": "Apache-2.0",
				"org.opencontainers.image.created":  "2026-11-30T08:00:00Z",
			}
			if !reflect.DeepEqual(cfg.Config.Labels, wantLabels) {
				t.Errorf("labels = %v, want %v", cfg.Config.Labels, wantLabels)
			}
			m, err := img.Manifest()
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(m.Annotations, wantLabels) || m.MediaType != types.OCIManifestSchema1 || m.Config.MediaType != types.OCIConfigJSON {
				t.Errorf("manifest: media type %s, config %s, annotations %v", m.MediaType, m.Config.MediaType, m.Annotations)
			}
			for _, l := range m.Layers {
				if l.MediaType != types.OCILayer {
					t.Errorf("layer media type %s, want %s", l.MediaType, types.OCILayer)
				}
			}
			fs := filesOf(t, img)
			bin, ok := fs[p.Name]
			if !ok || bin.data != "#!binary for linux/arm64" || bin.mode != 0o755 || bin.uid != 0 {
				t.Errorf("/%s = %+v, want the binary, mode 0755, owned by root", p.Name, bin)
			}
			if !strings.Contains(fs["etc/passwd"].data, "nonroot:x:65532:65532:") || !strings.Contains(fs["etc/group"].data, "nonroot:x:65532:") {
				t.Errorf("/etc/passwd %q, /etc/group %q: no nonroot 65532", fs["etc/passwd"].data, fs["etc/group"].data)
			}
			if tmp := fs["tmp"]; !tmp.dir || tmp.mode != 0o1777 {
				t.Errorf("/tmp = %+v, want a directory of mode 1777", tmp)
			}
			if home := fs["home/nonroot"]; !home.dir || home.uid != NonRoot || home.gid != NonRoot {
				t.Errorf("/home/nonroot = %+v, want a directory of 65532", home)
			}
			_, hasCerts := fs["etc/ssl/certs/ca-certificates.crt"]
			if hasCerts != p.CACertificates {
				t.Errorf("CA certificates in the image: %t, want %t", hasCerts, p.CACertificates)
			}
			for n, f := range fs {
				if !f.mtime.Equal(testMeta.Created) {
					t.Errorf("%s: time %s, want the commit's %s", n, f.mtime, testMeta.Created)
				}
			}
		})
	}
}

func TestIndexHasBothPlatforms(t *testing.T) {
	p := Programs[0]
	idx := testIndex(t, p, testMeta)
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if m.MediaType != types.OCIImageIndex || m.Annotations[LabelVersion] != "v9.8.7" {
		t.Errorf("index media type %s, annotations %v", m.MediaType, m.Annotations)
	}
	var got []string
	for _, d := range m.Manifests {
		got = append(got, d.Platform.String())
		img, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Platform().String() != d.Platform.String() {
			t.Errorf("descriptor says %s, the image's config %s", d.Platform, cfg.Platform())
		}
	}
	if want := []string{"linux/amd64", "linux/arm64"}; !reflect.DeepEqual(got, want) {
		t.Errorf("platforms %v, want %v", got, want)
	}
}

// Two builds of the same inputs give the same digests; another commit time
// or version gives others.
func TestReproducible(t *testing.T) {
	for _, p := range Programs {
		a := digest(t, testIndex(t, p, testMeta))
		b := digest(t, testIndex(t, p, testMeta))
		if a != b {
			t.Errorf("%s: two builds of the same inputs: %s and %s", p.Name, a, b)
		}
		later := testMeta
		later.Created = later.Created.Add(time.Second)
		if c := digest(t, testIndex(t, p, later)); c == a {
			t.Errorf("%s: another commit time gave the same digest %s", p.Name, c)
		}
		other := testMeta
		other.Version = "v9.8.8"
		if c := digest(t, testIndex(t, p, other)); c == a {
			t.Errorf("%s: another version gave the same digest %s", p.Name, c)
		}
	}
	// And on disk: the same layout, byte for byte.
	dirs := []string{filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")}
	for _, dir := range dirs {
		if err := WriteLayout(dir, testIndex(t, Programs[1], testMeta), testMeta.Version); err != nil {
			t.Fatal(err)
		}
	}
	if a, b := readTree(t, dirs[0]), readTree(t, dirs[1]); !reflect.DeepEqual(a, b) {
		t.Errorf("two layouts of the same inputs differ: %d and %d files", len(a), len(b))
	}
}

func readTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		rel, _ := filepath.Rel(dir, path)
		out[rel] = string(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestLayoutRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "desk")
	idx := testIndex(t, Programs[1], testMeta)
	// Written twice: the second replaces the first.
	for range 2 {
		if err := WriteLayout(dir, idx, "v9.8.7"); err != nil {
			t.Fatal(err)
		}
	}
	back, err := ReadLayout(dir, "v9.8.7")
	if err != nil {
		t.Fatal(err)
	}
	if digest(t, back) != digest(t, idx) {
		t.Errorf("read back %s, wrote %s", digest(t, back), digest(t, idx))
	}
	index, err := os.Open(filepath.Join(dir, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = index.Close() }()
	top, err := v1.ParseIndexManifest(index)
	if err != nil {
		t.Fatal(err)
	}
	if len(top.Manifests) != 1 || top.Manifests[0].Annotations[RefName] != "v9.8.7" || top.Manifests[0].Digest != digest(t, idx) {
		t.Errorf("index.json does not tag the one index %s v9.8.7: %+v", digest(t, idx), top.Manifests)
	}
	if _, err := ReadLayout(dir, "v0.0.1"); err == nil || !strings.Contains(err.Error(), "no image index tagged v0.0.1") {
		t.Errorf("reading another tag: %v, want a clear error", err)
	}
	if _, err := ReadLayout(filepath.Join(t.TempDir(), "none"), "v9.8.7"); err == nil || !strings.Contains(err.Error(), "make images") {
		t.Errorf("reading no layout: %v, want a clear error", err)
	}
}

// What make images-push does: the index read from its layout is pushed in
// the registry protocol to go-containerregistry's registry, and comes back
// whole, both platforms.
func TestPushToRegistry(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	dir := t.TempDir()
	for _, p := range Programs {
		if err := WriteLayout(LayoutDir(dir, p), testIndex(t, p, testMeta), testMeta.Version); err != nil {
			t.Fatal(err)
		}
		idx, err := ReadLayout(LayoutDir(dir, p), testMeta.Version)
		if err != nil {
			t.Fatal(err)
		}
		ref, err := Reference(host+"/xinfang", p, testMeta.Version, name.Insecure)
		if err != nil {
			t.Fatal(err)
		}
		if err := Push(context.Background(), idx, ref); err != nil {
			t.Fatal(err)
		}
		if want := host + "/xinfang/" + p.Repository + ":v9.8.7"; ref.String() != want {
			t.Errorf("reference %s, want %s", ref, want)
		}
		got, err := remote.Index(ref)
		if err != nil {
			t.Fatal(err)
		}
		if digest(t, got) != digest(t, idx) {
			t.Errorf("%s: pulled %s, pushed %s", ref, digest(t, got), digest(t, idx))
		}
		m, err := got.IndexManifest()
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range m.Manifests {
			img, err := remote.Image(ref.Context().Digest(d.Digest.String()), remote.WithPlatform(*d.Platform))
			if err != nil {
				t.Fatal(err)
			}
			if fs := filesOf(t, img); fs[p.Name].data != "#!binary for "+d.Platform.String() {
				t.Errorf("%s %s: /%s is %q", ref, d.Platform, p.Name, fs[p.Name].data)
			}
		}
	}
	if _, err := Reference("", Programs[0], "v1"); err == nil || !strings.Contains(err.Error(), "REGISTRY") {
		t.Errorf("no registry: %v, want a clear error", err)
	}
	if _, err := Reference("Not A Registry", Programs[0], "v1"); err == nil {
		t.Error("a registry with spaces was accepted")
	}
}

func TestBadInput(t *testing.T) {
	platform := Platforms[0]
	cases := []struct {
		name  string
		meta  Meta
		files Files
		p     Program
		want  string
	}{
		{"no version", Meta{Revision: "r", Created: testMeta.Created}, fakeFiles(platform), Programs[0], "no version"},
		{"version with a colon", Meta{Version: "v1:2", Revision: "r", Created: testMeta.Created}, fakeFiles(platform), Programs[0], "is no tag"},
		{"no revision", Meta{Version: "v1", Created: testMeta.Created}, fakeFiles(platform), Programs[0], "no revision"},
		{"revision with a space", Meta{Version: "v1", Revision: "a b", Created: testMeta.Created}, fakeFiles(platform), Programs[0], "no commit hash"},
		{"no time", Meta{Version: "v1", Revision: "r"}, fakeFiles(platform), Programs[0], "no creation time"},
		{"no binary", testMeta, Files{}, Programs[0], "no binary"},
		{"no certificates", testMeta, Files{Binary: []byte("x")}, Programs[2], "no CA certificates"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Image(c.p, c.meta, platform, c.files)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want one saying %q", err, c.want)
			}
		})
	}
	img, err := Image(Programs[0], testMeta, platform, fakeFiles(platform))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Index(Programs[0], testMeta, []v1.Image{img, img}); err == nil || !strings.Contains(err.Error(), "two images for linux/amd64") {
		t.Errorf("two images of one platform: %v", err)
	}
	if _, err := Index(Programs[0], testMeta, nil); err == nil {
		t.Error("an index of no image was made")
	}
	if _, err := ProgramNamed("kubelet"); err == nil || !strings.Contains(err.Error(), "manager, desk, petitionctl") {
		t.Errorf("unknown program: %v", err)
	}
}

func TestCACertificates(t *testing.T) {
	data := CACertificates()
	n := 0
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		if _, err := x509.ParseCertificate(block.Bytes); err != nil {
			t.Fatalf("certificate %d: %v", n, err)
		}
		n++
	}
	if n < 100 || len(data) != 0 {
		t.Errorf("%d certificates and %d bytes left over; want the NSS roots (over 100), nothing else", n, len(data))
	}
	if again := CACertificates(); !bytes.Equal(again, CACertificates()) {
		t.Error("the bundle differs between two calls")
	}
}

func TestMetaFromEpoch(t *testing.T) {
	for _, bad := range []string{"yesterday", "-5", "0", "1.5"} {
		if _, err := parseEpoch(bad); err == nil || !strings.Contains(err.Error(), "not a positive number") {
			t.Errorf("SOURCE_DATE_EPOCH=%q: %v", bad, err)
		}
	}
	got, err := parseEpoch("1764662400\n")
	if err != nil || !got.Equal(time.Date(2025, 12, 2, 8, 0, 0, 0, time.UTC)) {
		t.Errorf("parseEpoch = %s, %v", got, err)
	}
	root, err := repo.Root()
	if err != nil {
		t.Fatal(err)
	}
	m, err := MetaFromGit(context.Background(), root, "v1", func(k string) string {
		if k == "SOURCE_DATE_EPOCH" {
			return "1764662400"
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Revision) != 40 || !m.Created.Equal(got) {
		t.Errorf("meta %+v: want the commit's hash and SOURCE_DATE_EPOCH's time", m)
	}
}
