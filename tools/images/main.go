// Command images builds the OCI image layouts of make images and pushes
// them for make images-push, with no Docker engine:
//
//	go -C tools run ./images build --version v0.1.0 --out bin/images
//	go -C tools run ./images push --version v0.1.0 --out bin/images --registry ghcr.io/xinfang
//
// build cross-compiles the manager, the desk and petitionctl for
// linux/amd64 and linux/arm64 and writes bin/images/<name>/, an image
// layout whose index is tagged with the version; the images' time is the
// commit's (or SOURCE_DATE_EPOCH), so the same commit gives the same
// digests. push sends each index to <registry>/<repository>:<version>
// (petition-operator, petition-desk, petitionctl), with the credentials of
// docker login or a credential helper. Relative paths are the
// repository's: it runs at the root of the operator's module.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/xinfang/petition-operator/tools/internal/imagebuild"
	"github.com/xinfang/petition-operator/tools/internal/repo"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "images:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if err := repo.Chdir(); err != nil {
		return err
	}
	if len(args) == 0 || (args[0] != "build" && args[0] != "push") {
		return errors.New("usage: images build|push --version V [--out DIR] [--only NAME,…] [--registry R] [--insecure]")
	}
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	version := fs.String("version", "", "the version the images carry and are tagged with (VERSION)")
	out := fs.String("out", "bin/images", "folder of the image layouts, one per image")
	only := fs.String("only", "", "build or push only these images, comma-separated (manager, desk, petitionctl)")
	registry := fs.String("registry", "", "push: the registry and path the images go to, e.g. ghcr.io/xinfang")
	insecure := fs.Bool("insecure", false, "push: allow a registry over plain HTTP")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *version == "" {
		return errors.New("--version is required (make images passes VERSION)")
	}
	programs := imagebuild.Programs
	if *only != "" {
		programs = nil
		for _, n := range strings.Split(*only, ",") {
			p, err := imagebuild.ProgramNamed(strings.TrimSpace(n))
			if err != nil {
				return err
			}
			programs = append(programs, p)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if args[0] == "push" {
		var opts []name.Option
		if *insecure {
			opts = append(opts, name.Insecure)
		}
		return push(ctx, *out, *registry, *version, programs, opts)
	}
	return build(ctx, *out, *version, programs)
}

func build(ctx context.Context, out, version string, programs []imagebuild.Program) error {
	root, err := os.Getwd()
	if err != nil {
		return err
	}
	meta, err := imagebuild.MetaFromGit(ctx, root, version, os.Getenv)
	if err != nil {
		return err
	}
	indexes, err := imagebuild.Build(ctx, imagebuild.Options{Root: root, Meta: meta, Programs: programs, Log: os.Stderr})
	if err != nil {
		return err
	}
	fmt.Printf("images %s of %s (%s):\n", version, meta.Revision, meta.Created.Format("2006-01-02T15:04:05Z"))
	for _, p := range programs {
		idx := indexes[p.Name]
		dir := imagebuild.LayoutDir(out, p)
		if err := imagebuild.WriteLayout(dir, idx, version); err != nil {
			return fmt.Errorf("writing %s: %w", dir, err)
		}
		digest, err := idx.Digest()
		if err != nil {
			return err
		}
		sizes, err := imagebuild.Sizes(idx)
		if err != nil {
			return err
		}
		var parts []string
		for _, s := range sizes {
			parts = append(parts, fmt.Sprintf("%s/%s %.1f MiB", s.Platform.OS, s.Platform.Architecture, float64(s.Bytes)/(1<<20)))
		}
		fmt.Printf("  %-12s %s %s (compressed: %s)\n", p.Name, dir, digest, strings.Join(parts, ", "))
	}
	return nil
}

func push(ctx context.Context, out, registry, version string, programs []imagebuild.Program, opts []name.Option) error {
	for _, p := range programs {
		idx, err := imagebuild.ReadLayout(imagebuild.LayoutDir(out, p), version)
		if err != nil {
			return err
		}
		ref, err := imagebuild.Reference(registry, p, version, opts...)
		if err != nil {
			return err
		}
		if err := imagebuild.Push(ctx, idx, ref); err != nil {
			return err
		}
		digest, err := idx.Digest()
		if err != nil {
			return err
		}
		fmt.Printf("pushed %s@%s\n", ref, digest)
	}
	return nil
}
