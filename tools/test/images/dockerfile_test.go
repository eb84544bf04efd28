package images

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"

	"github.com/xinfang/petition-operator/tools/internal/dockerfile"
	"github.com/xinfang/petition-operator/tools/internal/imagebuild"
)

// readDockerfile parses the repository's Dockerfile.
func readDockerfile(t *testing.T) *dockerfile.File {
	t.Helper()
	f, err := os.Open(filepath.Join(repoRoot(t), "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	df, err := dockerfile.Parse(f)
	if err != nil {
		t.Fatal(err)
	}
	return df
}

// buildContext lists the files of the Docker build context of repo: every
// file below it that ignore (the .dockerignore patterns) keeps.
func buildContext(repo string, ignore []string) (map[string]bool, error) {
	pm, err := patternmatcher.New(ignore)
	if err != nil {
		return nil, fmt.Errorf(".dockerignore: %w", err)
	}
	files := map[string]bool{}
	err = filepath.WalkDir(repo, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(repo, p)
		if err != nil || rel == "." {
			return err
		}
		rel = filepath.ToSlash(rel)
		excluded, err := pm.MatchesOrParentMatches(rel)
		if err != nil {
			return err
		}
		if d.IsDir() {
			// A directory ignored whole, with no exception that could
			// bring a file of it back: skip it (bin/ holds gigabytes).
			if excluded && !pm.Exclusions() {
				return filepath.SkipDir
			}
			return nil
		}
		if !excluded && d.Type().IsRegular() {
			files[rel] = true
		}
		return nil
	})
	return files, err
}

// builder lays out in dir the files the COPY lines of stage copy from the
// context, at their paths in the stage's filesystem, and returns the
// stage's working directory there and the packages its RUN lines go build.
func builder(stage *dockerfile.Stage, context map[string]bool, repo, dir string) (string, []string, error) {
	workdir := "/"
	var packages []string
	for _, in := range stage.Instructions {
		switch in.Command {
		case "WORKDIR":
			workdir = path.Join(workdir, in.Args[0])
		case "COPY", "ADD":
			if from, ok := in.Flag("from"); ok {
				return "", nil, fmt.Errorf("line %d: COPY --from=%s in the builder stage is not modelled", in.Line, from)
			}
			if in.Command == "ADD" || len(in.Args) < 2 {
				return "", nil, fmt.Errorf("line %d: %s %q is not modelled: only COPY of context files", in.Line, in.Command, in.Args)
			}
			sources, dest := in.Args[:len(in.Args)-1], in.Args[len(in.Args)-1]
			folder := strings.HasSuffix(dest, "/") || dest == "."
			if !path.IsAbs(dest) {
				dest = path.Join(workdir, dest)
			}
			if folder && !strings.HasSuffix(dest, "/") {
				dest += "/"
			}
			for _, src := range sources {
				if err := copyFromContext(context, repo, dir, path.Clean(src), dest, len(sources) > 1); err != nil {
					return "", nil, fmt.Errorf("line %d: COPY %s: %w", in.Line, src, err)
				}
			}
		case "RUN":
			if len(in.Args) != 1 {
				continue
			}
			pkgs, err := goBuildPackages(in.Args[0])
			if err != nil {
				return "", nil, fmt.Errorf("line %d: %w", in.Line, err)
			}
			packages = append(packages, pkgs...)
		}
	}
	return workdir, packages, nil
}

// copyFromContext copies the context's file src, or every file under the
// folder src, to dest (a folder when it ends in / or when there are several
// sources), as COPY does: a folder's contents, not the folder itself.
func copyFromContext(context map[string]bool, repo, dir, src, dest string, many bool) error {
	var matched []string
	for f := range context {
		ok, err := path.Match(src, f)
		if err != nil {
			return err
		}
		if ok || src == "." || strings.HasPrefix(f, src+"/") {
			matched = append(matched, f)
		}
	}
	if len(matched) == 0 {
		return fmt.Errorf("no file of the build context matches (missing, or excluded by .dockerignore)")
	}
	sort.Strings(matched)
	for _, f := range matched {
		var target string
		switch {
		case f == src && (strings.HasSuffix(dest, "/") || many):
			target = path.Join(dest, path.Base(f))
		case f == src:
			target = dest
		case src == ".":
			target = path.Join(dest, f)
		default:
			target = path.Join(dest, strings.TrimPrefix(f, src+"/"))
		}
		if err := copyFile(filepath.Join(repo, f), filepath.Join(dir, filepath.FromSlash(target))); err != nil {
			return err
		}
	}
	return nil
}

func copyFile(from, to string) error {
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		return err
	}
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer func() { _ = in.Close() }()
	out, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		_ = out.Close()
		return err
	}
	return out.Close()
}

var goBuildRE = regexp.MustCompile(`\bgo build\b([^;&|]*)`)

// goBuildPackages are the package arguments (./…) of the go build commands
// of a RUN line.
func goBuildPackages(run string) ([]string, error) {
	var pkgs []string
	for _, m := range goBuildRE.FindAllStringSubmatch(run, -1) {
		words, err := dockerfile.Words(m[1])
		if err != nil {
			return nil, err
		}
		for i, w := range words {
			if strings.HasPrefix(w, "./") && (i == 0 || words[i-1] != "-o") {
				pkgs = append(pkgs, w)
			}
		}
		if strings.Contains(m[1], "$") && len(pkgs) == 0 {
			return nil, fmt.Errorf("go build of packages named by variables is not modelled: %s", m[0])
		}
	}
	return pkgs, nil
}

func TestGoBuildPackages(t *testing.T) {
	cases := []struct {
		run  string
		want []string
	}{
		{`GOOS=linux go build -trimpath -ldflags "-s -w" -o /out/ ./cmd/a ./cmd/b`, []string{"./cmd/a", "./cmd/b"}},
		{`go mod download`, nil},
		{`go build -o ./bin/x ./cmd/x && go build ./cmd/y; echo ./not`, []string{"./cmd/x", "./cmd/y"}},
	}
	for _, c := range cases {
		got, err := goBuildPackages(c.run)
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("goBuildPackages(%q) = %q, %v; want %q", c.run, got, err, c.want)
		}
	}
	if _, err := goBuildPackages(`for c in a b; do go build ./cmd/${c}; done`); err != nil {
		t.Errorf("a package with a variable: %v", err)
	}
	if _, err := goBuildPackages(`go build $PKGS`); err == nil {
		t.Error("packages named only by a variable were accepted")
	}
}

// dockerBuild builds the builder stage's filesystem from the Dockerfile
// and the ignore patterns, and runs its go build offline there.
func dockerBuild(t *testing.T, df *dockerfile.File, ignore []string) ([]string, error) {
	t.Helper()
	repo := repoRoot(t)
	stage, err := df.Stage("builder")
	if err != nil {
		t.Fatal(err)
	}
	context, err := buildContext(repo, ignore)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	workdir, packages, err := builder(stage, context, repo, dir)
	if err != nil {
		return nil, err
	}
	if len(packages) == 0 {
		t.Fatal("the builder stage builds no package")
	}
	args := append([]string{"build", "-trimpath", "-o", t.TempDir() + "/"}, packages...)
	cmd := exec.Command("go", args...)
	cmd.Dir = filepath.Join(dir, filepath.FromSlash(workdir))
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off", "CGO_ENABLED=0", "GOOS=linux")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return packages, fmt.Errorf("go build %s in the builder's context: %w\n%s", strings.Join(packages, " "), err, out.String())
	}
	return packages, nil
}

func dockerignore(t *testing.T) []string {
	t.Helper()
	f, err := os.Open(filepath.Join(repoRoot(t), ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	patterns, err := ignorefile.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return patterns
}

// The Dockerfile's builder stage builds every program from exactly the
// files its COPY lines take from the context .dockerignore leaves; without
// the COPY of config/, or with config/ ignored whole, it does not.
func TestDockerfileBuildsFromItsContext(t *testing.T) {
	df := readDockerfile(t)
	ignore := dockerignore(t)
	packages, err := dockerBuild(t, df, ignore)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range imagebuild.Programs {
		if !slices.Contains(packages, p.Package) {
			t.Errorf("the Dockerfile does not build %s (it builds %q)", p.Package, packages)
		}
	}

	// The check catches a missing COPY…
	stripped := *df
	stripped.Stages = slices.Clone(df.Stages)
	b, err := stripped.Stage("builder")
	if err != nil {
		t.Fatal(err)
	}
	b.Instructions = slices.DeleteFunc(slices.Clone(b.Instructions), func(in dockerfile.Instruction) bool {
		return in.Command == "COPY" && strings.HasPrefix(in.Args[0], "config/")
	})
	if _, err := dockerBuild(t, &stripped, ignore); err == nil || !strings.Contains(err.Error(), "petition-operator/config/") {
		t.Errorf("without the COPY of config/: %v; want go build to miss the embedded packages of config/", err)
	}
	// …and a pattern that ignores what a COPY needs.
	if _, err := dockerBuild(t, df, append(slices.Clone(ignore), "config/webhook/")); err == nil || !strings.Contains(err.Error(), "excluded by .dockerignore") {
		t.Errorf("with config/webhook/ ignored: %v; want the COPY to find nothing", err)
	}
}

// The Dockerfile's final stages make the images make images makes: the
// binary at /<name>, its user, entrypoint and labels.
func TestDockerfileStagesMatchImages(t *testing.T) {
	df := readDockerfile(t)
	for _, p := range imagebuild.Programs {
		t.Run(p.Name, func(t *testing.T) {
			s, err := df.Stage(p.Name)
			if err != nil {
				t.Fatal(err)
			}
			copies := s.Commands("COPY")
			if len(copies) != 1 || !slices.Equal(copies[0].Args, []string{"/out/" + p.Name, "/" + p.Name}) {
				t.Errorf("COPY %+v; want one COPY --from=builder /out/%s /%s", copies, p.Name, p.Name)
			} else if from, _ := copies[0].Flag("from"); from != "builder" {
				t.Errorf("COPY --from=%q, want builder", from)
			}
			if users := s.Commands("USER"); len(users) != 1 || users[0].Args[0] != imagebuild.User {
				t.Errorf("USER %+v, want %s", users, imagebuild.User)
			}
			if eps := s.Commands("ENTRYPOINT"); len(eps) != 1 || !eps[0].JSON || !slices.Equal(eps[0].Args, []string{"/" + p.Name}) {
				t.Errorf("ENTRYPOINT %+v, want [\"/%s\"]", eps, p.Name)
			}
			var args []string
			for _, a := range s.Commands("ARG") {
				name, _, _ := strings.Cut(a.Args[0], "=")
				args = append(args, name)
			}
			if !slices.Contains(args, "VERSION") || !slices.Contains(args, "REVISION") {
				t.Errorf("ARGs %q; want VERSION and REVISION in the stage", args)
			}
			labels, err := s.Labels()
			if err != nil {
				t.Fatal(err)
			}
			want := imagebuild.Labels(p, imagebuild.Meta{Version: "${VERSION}", Revision: "${REVISION}"})
			delete(want, imagebuild.LabelCreated) // BuildKit sets the image's created time
			for k, v := range want {
				if labels[k] != v {
					t.Errorf("LABEL %s=%q, want %q", k, labels[k], v)
				}
			}
		})
	}
}
