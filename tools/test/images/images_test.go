// Package images proves the images of make images: built by the same code
// for this machine's platform, each image's layers are unpacked into a root
// filesystem and its entrypoint run there (chroot) as its user, 65532 —
// the operator against a real control plane, the desk serving an office's
// configuration, petitionctl validating the samples. It also checks the
// Dockerfile against the context its COPY lines and .dockerignore give.
package images

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/xinfang/petition-operator/internal/testenv"
	"github.com/xinfang/petition-operator/tools/internal/imagebuild"
)

// requireRoot skips a test that must chroot and change user.
func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("running an image's entrypoint needs root (chroot into its root filesystem, then uid 65532); CI runs as root")
	}
}

var host = v1.Platform{OS: "linux", Architecture: runtime.GOARCH}

// built holds the images of this machine's platform, built once.
var built struct {
	once    sync.Once
	meta    imagebuild.Meta
	indexes map[string]v1.ImageIndex
	err     error
}

// repoRoot is the module's root.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// version is the one version, of the file VERSION, as make images reads it.
func version(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot(t), "VERSION"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(data))
}

// hostImages builds every image for this machine's platform as make images
// does (imagebuild.Build with the commit's metadata).
func hostImages(t *testing.T) (imagebuild.Meta, map[string]v1.ImageIndex) {
	t.Helper()
	root, v := repoRoot(t), version(t)
	built.once.Do(func() {
		ctx := context.Background()
		built.meta, built.err = imagebuild.MetaFromGit(ctx, root, v, os.Getenv)
		if built.err != nil {
			return
		}
		built.indexes, built.err = imagebuild.Build(ctx, imagebuild.Options{Root: root, Meta: built.meta, Platforms: []v1.Platform{host}})
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.meta, built.indexes
}

// image is program name's image for this machine and its configuration.
func image(t *testing.T, name string) (v1.Image, *v1.ConfigFile) {
	t.Helper()
	_, indexes := hostImages(t)
	idx, ok := indexes[name]
	if !ok {
		t.Fatalf("no image %s built", name)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range m.Manifests {
		if d.Platform != nil && d.Platform.Satisfies(host) {
			img, err := idx.Image(d.Digest)
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := img.ConfigFile()
			if err != nil {
				t.Fatal(err)
			}
			return img, cfg
		}
	}
	t.Fatalf("the %s index has no image for %s", name, host)
	return nil, nil
}

// unpack extracts the image's filesystem (its layers flattened) into a new
// folder, with the owners and modes of the layers.
func unpack(t *testing.T, img v1.Image) string {
	t.Helper()
	root := t.TempDir()
	// The root of a chroot must be reachable by the user in it.
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	rc := mutate.Extract(img)
	defer func() { _ = rc.Close() }()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return root
		}
		if err != nil {
			t.Fatal(err)
		}
		target := filepath.Join(root, filepath.Clean("/"+h.Name))
		mode := h.FileInfo().Mode()
		switch h.Typeflag {
		case tar.TypeDir:
			err = os.MkdirAll(target, 0o755)
		case tar.TypeReg:
			var f *os.File
			if f, err = os.OpenFile(target, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600); err == nil {
				_, err = io.Copy(f, tr)
				err = errors.Join(err, f.Close())
			}
		case tar.TypeSymlink:
			err = os.Symlink(h.Linkname, target)
		default:
			err = fmt.Errorf("%s: unexpected entry type %c", h.Name, h.Typeflag)
		}
		if err == nil {
			err = os.Lchown(target, h.Uid, h.Gid)
		}
		if err == nil && h.Typeflag != tar.TypeSymlink {
			err = os.Chmod(target, mode) // after chown, which clears some bits
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// credential is the image's user as a process credential.
func credential(t *testing.T, cfg *v1.ConfigFile) *syscall.Credential {
	t.Helper()
	u, g, ok := strings.Cut(cfg.Config.User, ":")
	uid, err1 := strconv.ParseUint(u, 10, 32)
	gid, err2 := strconv.ParseUint(g, 10, 32)
	if !ok || err1 != nil || err2 != nil {
		t.Fatalf("the image's user %q is not numeric uid:gid", cfg.Config.User)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
}

// inImage is the image's entrypoint with args, to be run in root as the
// image's user, in its working directory, with its environment only.
func inImage(t *testing.T, root string, cfg *v1.ConfigFile, args ...string) *exec.Cmd {
	t.Helper()
	if len(cfg.Config.Entrypoint) == 0 {
		t.Fatal("the image has no entrypoint")
	}
	all := append(append([]string{}, cfg.Config.Entrypoint...), args...)
	cmd := exec.Command(all[0], all[1:]...)
	cmd.Dir = cfg.Config.WorkingDir
	cmd.Env = cfg.Config.Env
	if cmd.Env == nil {
		cmd.Env = []string{}
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: root, Credential: credential(t, cfg)}
	return cmd
}

// writeAs writes a file into the root, owned by the image's user, readable
// by all.
func writeAs(t *testing.T, cfg *v1.ConfigFile, path string, data []byte) {
	t.Helper()
	c := credential(t, cfg)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(path, int(c.Uid), int(c.Gid)); err != nil {
		t.Fatal(err)
	}
}

// The configuration of each image: its user, entrypoint, working directory
// and labels, and its files: the binary, the user, a writable /tmp.
func TestImageConfig(t *testing.T) {
	requireRoot(t)
	meta, _ := hostImages(t)
	for _, p := range imagebuild.Programs {
		t.Run(p.Name, func(t *testing.T) {
			img, cfg := image(t, p.Name)
			if cfg.Config.User != "65532:65532" {
				t.Errorf("user %q, want 65532:65532", cfg.Config.User)
			}
			if want := []string{"/" + p.Name}; !reflect.DeepEqual(cfg.Config.Entrypoint, want) {
				t.Errorf("entrypoint %q, want %q", cfg.Config.Entrypoint, want)
			}
			want := map[string]string{
				"org.opencontainers.image.version":  meta.Version,
				"org.opencontainers.image.revision": meta.Revision,
				"org.opencontainers.image.source":   "https://github.com/xinfang/petition-operator",
				"org.opencontainers.image.title":    p.Repository,
				"org.opencontainers.image.licenses": "Apache-2.0",
			}
			for k, v := range want {
				if cfg.Config.Labels[k] != v {
					t.Errorf("label %s = %q, want %q", k, cfg.Config.Labels[k], v)
				}
			}
			if cfg.OS != host.OS || cfg.Architecture != host.Architecture {
				t.Errorf("platform %s/%s, want %s", cfg.OS, cfg.Architecture, host)
			}
			root := unpack(t, img)
			info, err := os.Stat(filepath.Join(root, p.Name))
			if err != nil || info.Mode().Perm() != 0o755 {
				t.Errorf("/%s: %v, mode %v; want an executable", p.Name, err, info)
			}
			if info, err := os.Stat(filepath.Join(root, "tmp")); err != nil || info.Mode()&os.ModeSticky == 0 || info.Mode().Perm() != 0o777 {
				t.Errorf("/tmp: %v %v; want mode 1777", info, err)
			}
			// The version linked in, as the binary itself says.
			if p.Name == "petitionctl" {
				out, err := inImage(t, root, cfg, "version").CombinedOutput()
				if err != nil || !strings.Contains(string(out), meta.Version) {
					t.Errorf("petitionctl version: %v\n%s\nwant %s", err, out, meta.Version)
				}
			}
		})
	}
}

// Both platforms in each index, as make images builds them: checked on a
// program of a few lines (testdata/hello), as cross-compiling a real one
// for arm64 on a machine with no build cache costs minutes; make images
// and make release build the real ones.
func TestIndexHasBothPlatforms(t *testing.T) {
	meta := hostImagesMeta(t)
	// A package of the tools module, built there.
	p := imagebuild.Program{Name: "hello", Package: "./test/images/testdata/hello", Repository: "hello"}
	indexes, err := imagebuild.Build(context.Background(), imagebuild.Options{Root: filepath.Join(repoRoot(t), "tools"), Meta: meta, Programs: []imagebuild.Program{p}})
	if err != nil {
		t.Fatal(err)
	}
	m, err := indexes["hello"].IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range m.Manifests {
		img, err := indexes["hello"].Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Platform().String() != d.Platform.String() {
			t.Errorf("descriptor %s, config %s", d.Platform, cfg.Platform())
		}
		got = append(got, d.Platform.String())
	}
	if want := []string{"linux/amd64", "linux/arm64"}; !reflect.DeepEqual(got, want) {
		t.Errorf("platforms %v, want %v", got, want)
	}
}

// hostImagesMeta is the commit's metadata, without building.
func hostImagesMeta(t *testing.T) imagebuild.Meta {
	t.Helper()
	meta, err := imagebuild.MetaFromGit(context.Background(), repoRoot(t), version(t), os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	return meta
}
