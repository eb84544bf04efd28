// Command release assembles a release of petition-operator into a
// directory (dist/): the CLI for Linux and macOS as archives, the images
// that `make images` built as OCI archives with a CycloneDX SBOM each, the
// packaged chart, the install manifests, the krew plugin manifest and
// checksums.txt. `make release VERSION=vX.Y.Z` builds the images and runs it.
// Relative paths are the repository's: it runs at the root of the
// operator's module.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/xinfang/petition-operator/internal/version"
	"github.com/xinfang/petition-operator/tools/internal/imagebuild"
	"github.com/xinfang/petition-operator/tools/internal/release"
	"github.com/xinfang/petition-operator/tools/internal/repo"
)

const source = "https://github.com/xinfang/petition-operator"

type options struct {
	version, registry, imagesDir, out, root string
	platforms                               []release.Platform
}

func main() {
	var o options
	var platforms string
	flag.StringVar(&o.version, "version", "", "the release's version, vX.Y.Z (or vX.Y.Z-rc.N)")
	flag.StringVar(&o.registry, "registry", "ghcr.io/xinfang", "the registry and namespace the images are pushed to, as the install manifests name them")
	flag.StringVar(&o.imagesDir, "images", "bin/images", "where `make images` wrote the image layouts")
	flag.StringVar(&o.out, "out", "dist", "the directory to write the release into; emptied first")
	flag.StringVar(&platforms, "cli-platforms", "", "os/arch,… of the CLI archives (default every platform krew lists: "+platformList(release.CLIPlatforms)+")")
	flag.Parse()
	o.root = "."
	err := repo.Chdir()
	if err == nil {
		o.platforms, err = parsePlatforms(platforms)
	}
	if err == nil {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
		err = run(ctx, o)
		stop()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "release:", err)
		os.Exit(1)
	}
}

func platformList(ps []release.Platform) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.OS + "/" + p.Arch
	}
	return strings.Join(s, ",")
}

func parsePlatforms(s string) ([]release.Platform, error) {
	if s == "" {
		return release.CLIPlatforms, nil
	}
	var out []release.Platform
	for _, f := range strings.Split(s, ",") {
		osName, arch, ok := strings.Cut(strings.TrimSpace(f), "/")
		if !ok || osName == "" || arch == "" {
			return nil, fmt.Errorf("--cli-platforms: %q is not os/arch", f)
		}
		out = append(out, release.Platform{OS: osName, Arch: arch})
	}
	return out, nil
}

func run(ctx context.Context, o options) error {
	if !version.IsRelease(o.version) {
		return fmt.Errorf("--version %q: want a release's version vX.Y.Z or vX.Y.Z-rc.N", o.version)
	}
	// The commit's time (or SOURCE_DATE_EPOCH) and revision, as the images
	// carry them: archives of one commit are the same byte for byte.
	meta, err := imagebuild.MetaFromGit(ctx, o.root, o.version, os.Getenv)
	if err != nil {
		return err
	}
	when := meta.Created
	if err := os.RemoveAll(o.out); err != nil {
		return err
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "release-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(work) }()

	// The CLI, for each platform: petitionctl, and the same program as the
	// kubectl plugin.
	for _, p := range o.platforms {
		dir := filepath.Join(work, p.OS+"_"+p.Arch)
		bin := filepath.Join(dir, "petitionctl")
		if err := imagebuild.GoBuild(ctx, o.root, "./cmd/petitionctl", bin, meta, v1.Platform{OS: p.OS, Architecture: p.Arch}, os.Stderr); err != nil {
			return err
		}
		err := release.WriteTarGz(filepath.Join(o.out, release.CLIArchive(o.version, p)), []release.ArchiveFile{
			{Name: "petitionctl", Path: bin, Mode: 0o755},
			{Name: release.PluginBinary, Path: bin, Mode: 0o755},
			{Name: "LICENSE", Path: filepath.Join(o.root, "LICENSE"), Mode: 0o644},
			{Name: "README.md", Path: filepath.Join(o.root, "README.md"), Mode: 0o644},
		}, when)
		if err != nil {
			return err
		}
	}

	// The images as OCI archives, each with its SBOM.
	for _, img := range imagebuild.Programs {
		layout := filepath.Join(o.imagesDir, img.Name)
		var programs []*release.ImageProgram
		for _, platform := range []string{"linux/amd64", "linux/arm64"} {
			prog, err := release.ReadImageProgram(layout, platform)
			if err != nil {
				return fmt.Errorf("%w (run `make images VERSION=%s` first)", err, o.version)
			}
			if prog.Version != o.version {
				return fmt.Errorf("image layout %s is of version %q, not %s: run `make images VERSION=%s` first", layout, prog.Version, o.version, o.version)
			}
			programs = append(programs, prog)
		}
		base := fmt.Sprintf("image-%s_%s", img.Name, o.version)
		if err := release.WriteTarDir(filepath.Join(o.out, base+".oci.tar"), layout, when); err != nil {
			return err
		}
		bom, err := release.SBOM(release.SBOMInput{Image: img.Repository, Repository: o.registry + "/" + img.Repository, Version: o.version,
			Source: source, Time: when, Programs: programs})
		if err != nil {
			return err
		}
		var b bytes.Buffer
		if err := release.EncodeSBOM(&b, bom); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(o.out, base+".sbom.cdx.json"), b.Bytes(), 0o644); err != nil {
			return err
		}
	}

	// The chart, the install manifests, the krew manifest.
	if _, err := release.PackageChart(filepath.Join(o.root, "charts", "petition-operator"), o.version, o.version, o.out); err != nil {
		return err
	}
	install, err := release.InstallManifests(o.root, release.Images{
		Manager: o.registry + "/petition-operator:" + o.version,
		Desk:    o.registry + "/petition-desk:" + o.version,
	})
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(o.out, "install.yaml"), install, 0o644); err != nil {
		return err
	}
	sums := map[string]string{}
	for _, p := range o.platforms {
		name := release.CLIArchive(o.version, p)
		if sums[name], err = release.FileSHA256(filepath.Join(o.out, name)); err != nil {
			return err
		}
	}
	if len(o.platforms) == len(release.CLIPlatforms) {
		krew, err := release.NewKrewManifest(o.version, source, source+"/releases/download/"+o.version, sums)
		if err != nil {
			return err
		}
		b, err := krew.YAML()
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(o.out, release.KrewPlugin+".yaml"), b, 0o644); err != nil {
			return err
		}
	}
	if err := release.WriteChecksums(o.out); err != nil {
		return err
	}
	return summary(o.out)
}

func summary(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	for _, e := range entries {
		info, err := e.Info()
		if err != nil {
			return err
		}
		_, _ = fmt.Fprintf(w, "%s\t %s\t\n", strconv.FormatFloat(float64(info.Size())/(1<<20), 'f', 1, 64)+" MiB", filepath.Join(dir, e.Name()))
	}
	return w.Flush()
}
