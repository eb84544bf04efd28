package imagebuild

import (
	"bytes"
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/crypto/x509roots/fallback/bundle"
)

// VersionVariable and RevisionVariable are the variables the version and
// the commit are linked into (the linker skips one a tree does not have).
const (
	VersionVariable  = "github.com/xinfang/petition-operator/internal/version.Version"
	RevisionVariable = "github.com/xinfang/petition-operator/internal/version.Revision"
)

// CACertificates is the PEM bundle of the images that carry one: the
// Mozilla (NSS) roots of golang.org/x/crypto/x509roots/fallback, a module
// pinned in go.mod and go.sum, so that the same commit gives the same bundle
// on every machine, unlike the build machine's /etc/ssl/certs. Roots that
// NSS distrusts after a date are left out: a PEM file cannot say so.
func CACertificates() []byte {
	var buf bytes.Buffer
	for root := range bundle.Roots() {
		if root.Constraint != nil {
			continue
		}
		_ = pem.Encode(&buf, &pem.Block{Type: "CERTIFICATE", Bytes: root.Certificate})
	}
	return buf.Bytes()
}

// MetaFromGit is the metadata of the commit checked out at root: its hash,
// and its committer time unless SOURCE_DATE_EPOCH (getenv) gives one.
func MetaFromGit(ctx context.Context, root, version string, getenv func(string) string) (Meta, error) {
	m := Meta{Version: version}
	out, err := git(ctx, root, "rev-parse", "HEAD")
	if err != nil {
		return m, err
	}
	m.Revision = out
	if epoch := getenv("SOURCE_DATE_EPOCH"); epoch != "" {
		m.Created, err = parseEpoch(epoch)
		if err != nil {
			return m, fmt.Errorf("SOURCE_DATE_EPOCH: %w", err)
		}
		return m, nil
	}
	out, err = git(ctx, root, "log", "-1", "--format=%ct", "HEAD")
	if err != nil {
		return m, err
	}
	if m.Created, err = parseEpoch(out); err != nil {
		return m, fmt.Errorf("the commit's time: %w", err)
	}
	return m, nil
}

func parseEpoch(s string) (time.Time, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n <= 0 {
		return time.Time{}, fmt.Errorf("%q is not a positive number of seconds since 1970", s)
	}
	return time.Unix(n, 0).UTC(), nil
}

func git(ctx context.Context, root string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s in %s: %w: %s", strings.Join(args, " "), root, err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(string(out)), nil
}

// GoBuild builds the main package pkg of the module at root for platform
// into out: static (CGO_ENABLED=0), without the paths of this machine
// (-trimpath) or its checkout's state (-buildvcs=false: the revision is
// linked in instead, so that a build does not depend on uncommitted files
// git sees), without symbols (-s -w), the version linked in.
func GoBuild(ctx context.Context, root, pkg, out string, m Meta, platform v1.Platform, stderr io.Writer) error {
	ldflags := "-s -w -X " + VersionVariable + "=" + m.Version + " -X " + RevisionVariable + "=" + m.Revision
	args := []string{"build", "-trimpath", "-buildvcs=false", "-ldflags", ldflags, "-o", out, pkg}
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+platform.OS, "GOARCH="+platform.Architecture)
	if platform.Architecture == "arm" && platform.Variant != "" {
		cmd.Env = append(cmd.Env, "GOARM="+strings.TrimPrefix(platform.Variant, "v"))
	}
	var output bytes.Buffer
	cmd.Stdout, cmd.Stderr = &output, &output
	if err := cmd.Run(); err != nil {
		if stderr != nil {
			_, _ = stderr.Write(output.Bytes())
		}
		return fmt.Errorf("go build %s for %s: %w\n%s", pkg, platform, err, output.Bytes())
	}
	return nil
}

// Options say what Build builds.
type Options struct {
	// Root is the module's root.
	Root string
	// Meta is the version, revision and time of every image.
	Meta Meta
	// Programs are the images to build; Programs when empty.
	Programs []Program
	// Platforms are the platforms of each index; Platforms when empty.
	Platforms []v1.Platform
	// WorkDir holds the binaries; a temporary folder, removed, when empty.
	WorkDir string
	// Log receives a line per step and go build's output on failure.
	Log io.Writer
}

// Build cross-compiles each program for each platform and assembles its
// image index. It is what make images runs, and what the tests that run the
// images build.
func Build(ctx context.Context, opts Options) (map[string]v1.ImageIndex, error) {
	if err := opts.Meta.Validate(); err != nil {
		return nil, err
	}
	programs, platforms := opts.Programs, opts.Platforms
	if len(programs) == 0 {
		programs = Programs
	}
	if len(platforms) == 0 {
		platforms = Platforms
	}
	log := opts.Log
	if log == nil {
		log = io.Discard
	}
	work := opts.WorkDir
	if work == "" {
		dir, err := os.MkdirTemp("", "imagebuild-")
		if err != nil {
			return nil, err
		}
		defer func() { _ = os.RemoveAll(dir) }()
		work = dir
	}
	certs := CACertificates()
	indexes := map[string]v1.ImageIndex{}
	for _, p := range programs {
		var images []v1.Image
		for _, platform := range platforms {
			out := filepath.Join(work, platform.OS+"-"+platform.Architecture, p.Name)
			_, _ = fmt.Fprintf(log, "go build %s for %s/%s\n", p.Package, platform.OS, platform.Architecture)
			if err := GoBuild(ctx, opts.Root, p.Package, out, opts.Meta, platform, log); err != nil {
				return nil, err
			}
			binary, err := os.ReadFile(out)
			if err != nil {
				return nil, err
			}
			img, err := Image(p, opts.Meta, platform, Files{Binary: binary, CACertificates: certs})
			if err != nil {
				return nil, err
			}
			images = append(images, img)
		}
		idx, err := Index(p, opts.Meta, images)
		if err != nil {
			return nil, err
		}
		indexes[p.Name] = idx
	}
	if len(indexes) == 0 {
		return nil, errors.New("no image built")
	}
	return indexes, nil
}
