package release

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	iofs "io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"helm.sh/helm/v4/pkg/chart/v2/loader"
	chartutil "helm.sh/helm/v4/pkg/chart/v2/util"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilversion "k8s.io/apimachinery/pkg/util/version"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// Images are the images a release deploys.
type Images struct {
	// Manager and Desk are full references, repository:tag.
	Manager, Desk string
}

// managerImage is the manager's image as config/manager names it.
const managerImage = "ghcr.io/xinfang/petition-operator"

// tenantImageFlag is the manager's flag of the default tenant image.
const tenantImageFlag = "--tenant-image="

// InstallManifests renders config/default of the repository at root, as
// `kubectl apply -k config/default` would, with the manager's image and its
// --tenant-image set to images: one file that installs a release.
func InstallManifests(root string, images Images) ([]byte, error) {
	repo, tag, ok := splitImage(images.Manager)
	if !ok {
		return nil, fmt.Errorf("manager image %q: want repository:tag", images.Manager)
	}
	if _, _, ok := splitImage(images.Desk); !ok {
		return nil, fmt.Errorf("desk image %q: want repository:tag", images.Desk)
	}
	// config/ is copied into memory beside an overlay that pins the image:
	// kustomize takes a base only by a relative path within its file system.
	fs := filesys.MakeFsInMemory()
	if err := copyTree(fs, filepath.Join(root, "config"), "/config"); err != nil {
		return nil, err
	}
	kustomization := fmt.Sprintf(`apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
- ../config/default
images:
- name: %s
  newName: %s
  newTag: %s
`, managerImage, repo, tag)
	if err := fs.WriteFile("/release/kustomization.yaml", []byte(kustomization)); err != nil {
		return nil, err
	}
	m, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(fs, "/release")
	if err != nil {
		return nil, fmt.Errorf("rendering config/default: %w", err)
	}
	rendered, err := m.AsYaml()
	if err != nil {
		return nil, err
	}
	return pinTenantImage(rendered, images.Desk)
}

// copyTree copies the files under dir on disk to to in fs.
func copyTree(fs filesys.FileSystem, dir, to string) error {
	return filepath.WalkDir(dir, func(p string, d iofs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return fs.WriteFile(path.Join(to, filepath.ToSlash(rel)), b)
	})
}

// pinTenantImage sets the --tenant-image of the manager's Deployment in a
// stream of YAML documents; it fails unless exactly one container has it.
func pinTenantImage(stream []byte, desk string) ([]byte, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(stream), 4096)
	var out bytes.Buffer
	pinned := 0
	for {
		var u unstructured.Unstructured
		if err := dec.Decode(&u.Object); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return nil, err
		}
		if u.Object == nil {
			continue
		}
		if u.GetKind() == "Deployment" {
			containers, _, err := unstructured.NestedSlice(u.Object, "spec", "template", "spec", "containers")
			if err != nil {
				return nil, err
			}
			for _, c := range containers {
				c := c.(map[string]any)
				args, _, _ := unstructured.NestedStringSlice(c, "args")
				for i, a := range args {
					if strings.HasPrefix(a, tenantImageFlag) {
						args[i] = tenantImageFlag + desk
						pinned++
					}
				}
				if len(args) > 0 {
					if err := unstructured.SetNestedStringSlice(c, args, "args"); err != nil {
						return nil, err
					}
				}
			}
			if err := unstructured.SetNestedSlice(u.Object, containers, "spec", "template", "spec", "containers"); err != nil {
				return nil, err
			}
		}
		b, err := yaml.Marshal(u.Object)
		if err != nil {
			return nil, err
		}
		if out.Len() > 0 {
			out.WriteString("---\n")
		}
		out.Write(b)
	}
	if pinned != 1 {
		return nil, fmt.Errorf("config/default: %d containers with %s, want the manager's one", pinned, tenantImageFlag)
	}
	return out.Bytes(), nil
}

// splitImage splits repository:tag; a digest or a missing tag is refused.
func splitImage(ref string) (repo, tag string, ok bool) {
	i := strings.LastIndex(ref, ":")
	if i <= 0 || strings.Contains(ref[i:], "/") || strings.Contains(ref, "@") || i == len(ref)-1 {
		return "", "", false
	}
	return ref[:i], ref[i+1:], true
}

// PackageChart packages the chart in dir as version (the release's version
// without its v, as Helm wants a SemVer) with appVersion (the images' tag)
// into outDir, and returns the file written. The Artifact Hub annotations
// that name the version follow: the images' tags, and whether it is a
// pre-release.
func PackageChart(dir, version, appVersion, outDir string) (string, error) {
	ch, err := loader.Load(dir)
	if err != nil {
		return "", fmt.Errorf("chart %s: %w", dir, err)
	}
	ch.Metadata.Version = strings.TrimPrefix(version, "v")
	ch.Metadata.AppVersion = appVersion
	if err := ch.Validate(); err != nil {
		return "", fmt.Errorf("chart %s: %w", dir, err)
	}
	if err := artifactHub(ch.Metadata.Annotations, ch.Metadata.Version, appVersion); err != nil {
		return "", fmt.Errorf("chart %s: %w", dir, err)
	}
	return chartutil.Save(ch, outDir)
}

// artifactHub sets the tag of every image of the annotation
// artifacthub.io/images to tag, and artifacthub.io/prerelease to whether
// version has a pre-release part.
func artifactHub(annotations map[string]string, version, tag string) error {
	if images, ok := annotations["artifacthub.io/images"]; ok {
		var list []map[string]any
		if err := yaml.Unmarshal([]byte(images), &list); err != nil {
			return fmt.Errorf("annotation artifacthub.io/images: %w", err)
		}
		for _, image := range list {
			ref, _ := image["image"].(string)
			repo, _, ok := splitImage(ref)
			if !ok {
				return fmt.Errorf("annotation artifacthub.io/images: %q is no repository:tag", ref)
			}
			image["image"] = repo + ":" + tag
		}
		b, err := yaml.Marshal(list)
		if err != nil {
			return err
		}
		annotations["artifacthub.io/images"] = string(b)
	}
	if _, ok := annotations["artifacthub.io/prerelease"]; ok {
		v, err := utilversion.ParseSemantic(version)
		if err != nil {
			return err
		}
		annotations["artifacthub.io/prerelease"] = strconv.FormatBool(v.PreRelease() != "")
	}
	return nil
}
