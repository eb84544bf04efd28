// Package tenant renders the tenant stack of an office — Namespace,
// ServiceAccount, ConfigMap, Deployment, Service, NetworkPolicies and a
// PodDisruptionBudget — with kustomize (krusty) from a base embedded in the
// binary, an overlay made from the office's spec, and the office's patches.
package tenant

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/api/krusty"
	kusttypes "sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/kustomize/kyaml/resid"
	"sigs.k8s.io/yaml"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/casestore"
	"github.com/xinfang/petition-operator/internal/xinfang"
)

//go:embed base/*.yaml
var base embed.FS

// Labels on every rendered object.
const (
	// LabelManagedBy marks what the operator manages; its caches see only
	// objects with it.
	LabelManagedBy = "app.kubernetes.io/managed-by"
	// ManagedBy is the value of LabelManagedBy.
	ManagedBy = "petition-operator"
	// LabelOffice names the office an object belongs to.
	LabelOffice = "petition.xinfang.io/office"
	// LabelConfigHash carries the hash of the compiled configuration on the
	// Deployment's pod template.
	LabelConfigHash = "petition.xinfang.io/config-hash"
)

// Namespace returns the tenant namespace of an office.
func Namespace(office string) string { return xinfang.NamespacePrefix + office }

// Input is everything a tenant stack depends on.
type Input struct {
	// Office is the office to render.
	Office *v1alpha1.Office
	// Config is the office's compiled configuration (JSON) and ConfigHash
	// its hash.
	Config     []byte
	ConfigHash string
	// DefaultImage is the tenant image when the office names none.
	DefaultImage string
	// IngressNamespace is the namespace of the platform ingress allowed to
	// reach every desk.
	IngressNamespace string
	// Labels are put on every object's metadata (not on pod templates, so a
	// change of them rolls nothing). The operator copies the office's shard
	// labels (--watch-label-selector) here, so that a shard's caches see only
	// its own tenants.
	Labels map[string]string
	// Limits size the namespace's ResourceQuota and LimitRange and bound
	// the desk container's resources; nil means DefaultLimits.
	Limits *Limits
	// City is the City the office belongs to (the first office of its
	// path), put on the namespace as casestore.LabelCity; "" puts none.
	City string
	// Registry, when not nil, is the City's case registry: the desk gets
	// a token for it, its address and a way through its NetworkPolicy
	// (registryPatches). It needs City.
	Registry *RegistryRef
}

// InputOf is the Input of a compiled office (xinfang.Compile): its
// configuration, the image it is entitled to and the limits of its
// TenantDefaults.
func InputOf(c *xinfang.Compiled, ingressNamespace string, labels map[string]string) Input {
	limits := LimitsOf(c.TenantDefaults)
	in := Input{
		Office: c.Office, Config: c.Data, ConfigHash: c.Hash, DefaultImage: c.Image,
		IngressNamespace: ingressNamespace, Labels: labels, Limits: &limits,
	}
	if len(c.Path) > 0 {
		in.City = c.Path[0]
	}
	return in
}

// check refuses an Input whose City or Registry the stack cannot carry.
func (in Input) check() error {
	if in.City != "" {
		if err := checkCity(in.City); err != nil {
			return err
		}
	}
	if in.Registry == nil {
		return nil
	}
	if in.City == "" {
		return errors.New("a registry needs the office's City, whose registry pods the desk may reach")
	}
	return in.Registry.check()
}

// namespaceLabels are the labels of the office's namespace beyond the
// operator's own: the Pod Security labels and the City's.
func (in Input) namespaceLabels() map[string]string {
	out := maps.Clone(PodSecurityLabels)
	if in.City != "" {
		out[casestore.LabelCity] = in.City
	}
	return out
}

func (in Input) limits() Limits {
	if in.Limits != nil {
		return *in.Limits
	}
	return DefaultLimits()
}

// PodSecurityLabels are the Pod Security labels of every tenant namespace:
// restricted, at the latest version, enforced, warned and audited.
var PodSecurityLabels = map[string]string{
	"pod-security.kubernetes.io/enforce":         "restricted",
	"pod-security.kubernetes.io/enforce-version": "latest",
	"pod-security.kubernetes.io/warn":            "restricted",
	"pod-security.kubernetes.io/warn-version":    "latest",
	"pod-security.kubernetes.io/audit":           "restricted",
	"pod-security.kubernetes.io/audit-version":   "latest",
}

// Render is RenderContext without a context of the caller's: it is still
// held to RenderTimeout.
func Render(in Input) ([]*unstructured.Unstructured, error) {
	return RenderContext(context.Background(), in)
}

// RenderContext renders the office's tenant stack. Its resources and quota
// must be within in.Limits (Limits.CheckResources). Patches may change the
// stack but not take it out of the office's namespace, add kinds the
// operator does not manage, or change anything off the allow-list
// (allow.go): each patch's text is judged before kustomize reads it
// (patches.go), and the stack rendered with the patches is compared with
// the stack rendered without them. A patch refused is returned as a
// *PatchError naming the patch at fault: the first with which the stack
// goes wrong, or, for the bounds of a set, the first past one.
//
// Before any render, the patches are held together to MaxPatchesBytes,
// MaxPatchesNodes and MaxPatchesListItems, so that no one step of
// kustomize, which cannot be interrupted, costs much; between steps it
// gives up when ctx is done (returning ctx's error) or RenderTimeout has
// passed (an error that says the budget).
func RenderContext(ctx context.Context, in Input) ([]*unstructured.Unstructured, error) {
	if err := in.check(); err != nil {
		return nil, err
	}
	limits := in.limits()
	if errs := limits.CheckResources(in.Office); len(errs) > 0 {
		return nil, errs.ToAggregate()
	}
	patches := in.Office.Spec.Tenant.Patches
	sizes := make([]patchSize, len(patches))
	for i, p := range patches {
		size, err := checkPatchText(p)
		if err != nil {
			return nil, &PatchError{Index: i, Err: err}
		}
		sizes[i] = size
	}
	if err := checkPatchSet(sizes); err != nil {
		return nil, err
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, RenderTimeout)
	defer cancel()
	// step reports why the render stops before its next step, or nil.
	step := func() error {
		if err := parent.Err(); err != nil {
			return err
		}
		if ctx.Err() != nil {
			return ErrOverBudget
		}
		return nil
	}
	base, err := build(in, nil, limits)
	if err != nil || len(patches) == 0 {
		return base, err
	}
	if err := step(); err != nil {
		return nil, err
	}
	objs, err := judged(in, patches, base, limits)
	if err == nil {
		return objs, nil
	}
	// Blame a patch with which the stack goes wrong: the last of the
	// shortest run of patches from the first that the judge refuses, found
	// by bisection (the stack without patches passes, with all of them it
	// does not), in a few renders however many patches there are.
	pass, fail, failErr := 0, len(patches), err
	for fail-pass > 1 {
		if serr := step(); serr != nil {
			return nil, serr
		}
		mid := (pass + fail) / 2
		if _, perr := judged(in, patches[:mid], base, limits); perr != nil {
			fail, failErr = mid, perr
		} else {
			pass = mid
		}
	}
	return nil, &PatchError{Index: fail - 1, Err: failErr}
}

// judged renders the stack with patches and holds it against base, the
// stack without them.
func judged(in Input, patches []v1alpha1.TenantPatch, base []*unstructured.Unstructured, limits Limits) ([]*unstructured.Unstructured, error) {
	objs, err := build(in, patches, limits)
	if err != nil {
		return nil, err
	}
	if err := checkAllowed(base, objs, limits); err != nil {
		return nil, err
	}
	return objs, nil
}

// build runs kustomize over the base, the office's overlay and patches,
// and checks the result's bounds.
func build(in Input, patches []v1alpha1.TenantPatch, limits Limits) ([]*unstructured.Unstructured, error) {
	fsys := filesys.MakeFsInMemory()
	if err := copyBase(fsys); err != nil {
		return nil, err
	}
	k, err := overlay(in, patches)
	if err != nil {
		return nil, err
	}
	kdata, err := yaml.Marshal(k)
	if err != nil {
		return nil, err
	}
	ns := Namespace(in.Office.Name)
	nsObj := map[string]any{"apiVersion": "v1", "kind": "Namespace",
		"metadata": map[string]any{"name": ns, "labels": in.namespaceLabels()}}
	nsData, err := json.Marshal(nsObj)
	if err != nil {
		return nil, err
	}
	quota, err := json.Marshal(quotaObjects(in.Office, limits))
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{
		"/overlay/kustomization.yaml": kdata,
		"/overlay/office.json":        in.Config,
		"/overlay/namespace.yaml":     nsData,
		"/overlay/limits.yaml":        quota,
	}
	if pdb, err := base.ReadFile("base/pdb.yaml"); err == nil {
		files["/overlay/pdb.yaml"] = pdb
	} else {
		return nil, err
	}
	for name, data := range files {
		if err := fsys.WriteFile(name, data); err != nil {
			return nil, err
		}
	}
	resMap, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(fsys, "/overlay")
	if err != nil {
		hint := ""
		if in.Registry != nil && len(patches) > 0 {
			hint = " (the operator adds the City's registry: its token's volume and mount, the desk's --registry-* arguments and the NetworkPolicy rule, after the office's patches)"
		}
		return nil, fmt.Errorf("rendering the tenant stack: %s%s", xinfang.Truncate(err.Error(), 512), hint)
	}
	var objs []*unstructured.Unstructured
	size := 0
	for _, r := range resMap.Resources() {
		// Through JSON, so that numbers are int64 as unstructured expects.
		data, err := r.MarshalJSON()
		if err != nil {
			return nil, err
		}
		if size += len(data); size > MaxRenderedBytes {
			return nil, fmt.Errorf("the rendered tenant stack is larger than %d bytes", MaxRenderedBytes)
		}
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(data); err != nil {
			return nil, err
		}
		objs = append(objs, u)
	}
	if err := check(objs, ns); err != nil {
		return nil, err
	}
	// In the order of Kinds: the Namespace first, the ConfigMap before the
	// Deployment that mounts it.
	slices.SortStableFunc(objs, func(a, b *unstructured.Unstructured) int {
		return kindOrder(a.GroupVersionKind()) - kindOrder(b.GroupVersionKind())
	})
	return objs, nil
}

// quotaObjects are the ResourceQuota and LimitRange of the office's
// namespace, as a v1 List.
func quotaObjects(o *v1alpha1.Office, l Limits) map[string]any {
	limits := map[string]any{"type": "Container", "max": l.ContainerMax,
		"default":        corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("64Mi")},
		"defaultRequest": corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("10m"), corev1.ResourceMemory: resource.MustParse("32Mi")},
	}
	return map[string]any{"apiVersion": "v1", "kind": "List", "items": []any{
		map[string]any{"apiVersion": "v1", "kind": "ResourceQuota", "metadata": map[string]any{"name": "tenant"},
			"spec": map[string]any{"hard": l.QuotaFor(o)}},
		map[string]any{"apiVersion": "v1", "kind": "LimitRange", "metadata": map[string]any{"name": "tenant"},
			"spec": map[string]any{"limits": []any{limits}}},
	}}
}

func copyBase(fsys filesys.FileSystem) error {
	return fs.WalkDir(base, "base", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path.Base(p) == "pdb.yaml" {
			return err
		}
		data, err := base.ReadFile(p)
		if err != nil {
			return err
		}
		return fsys.WriteFile(path.Join("/", p), data)
	})
}

// labels are the kustomize labels of the office's stack: the operator's own,
// on the objects and their pod templates, then in.Labels on the objects only.
func labels(in Input) []kusttypes.Label {
	out := []kusttypes.Label{{
		Pairs:            map[string]string{LabelManagedBy: ManagedBy, LabelOffice: in.Office.Name},
		IncludeTemplates: true,
	}}
	extra := map[string]string{}
	for k, v := range in.Labels {
		if k != LabelManagedBy && k != LabelOffice && k != LabelConfigHash && k != casestore.LabelCity {
			extra[k] = v
		}
	}
	if len(extra) > 0 {
		out = append(out, kusttypes.Label{Pairs: extra})
	}
	return out
}

// overlay builds the kustomization that turns the base into the office's stack.
func overlay(in Input, officePatches []v1alpha1.TenantPatch) (*kusttypes.Kustomization, error) {
	o := in.Office
	replicas := int32(1)
	if o.Spec.Tenant.Replicas != nil {
		replicas = *o.Spec.Tenant.Replicas
	}
	image := o.Spec.Tenant.Image
	if image == "" {
		image = in.DefaultImage
	}
	resources := []string{"../base", "namespace.yaml", "limits.yaml"}
	if replicas > 1 {
		resources = append(resources, "pdb.yaml")
	}
	container := map[string]any{"name": "desk", "image": image}
	if r := o.Spec.Tenant.Resources; len(r.Requests) > 0 || len(r.Limits) > 0 {
		container["resources"] = r
	}
	deployPatch := map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment", "metadata": map[string]any{"name": "desk"},
		"spec": map[string]any{"replicas": replicas, "template": map[string]any{
			"metadata": map[string]any{"labels": map[string]any{LabelConfigHash: in.ConfigHash}},
			"spec":     map[string]any{"containers": []any{container}},
		}},
	}
	deployData, err := json.Marshal(deployPatch)
	if err != nil {
		return nil, err
	}
	ingressPatch := fmt.Sprintf(`[{"op": "replace", "path": "/spec/ingress/0/from/0/namespaceSelector/matchLabels/kubernetes.io~1metadata.name", "value": %q}]`, in.IngressNamespace)
	patches := []kusttypes.Patch{
		{Patch: string(deployData)},
		{Patch: ingressPatch, Target: &kusttypes.Selector{ResId: resid.ResId{Gvk: resid.Gvk{Kind: "NetworkPolicy"}, Name: "desk"}}},
	}
	for i, p := range officePatches {
		kp := kusttypes.Patch{Patch: p.Patch}
		if t := p.Target; t != nil {
			kp.Target = &kusttypes.Selector{
				ResId: resid.ResId{
					Gvk:  resid.Gvk{Group: t.Group, Version: t.Version, Kind: t.Kind},
					Name: t.Name,
				},
				LabelSelector:      t.LabelSelector,
				AnnotationSelector: t.AnnotationSelector,
			}
		}
		if strings.TrimSpace(kp.Patch) == "" {
			return nil, fmt.Errorf("spec.tenant.patches[%d]: empty patch", i)
		}
		patches = append(patches, kp)
	}
	if in.Registry != nil {
		reg, err := registryPatches(in)
		if err != nil {
			return nil, err
		}
		patches = append(patches, reg...)
	}
	return &kusttypes.Kustomization{
		TypeMeta:  kusttypes.TypeMeta{APIVersion: kusttypes.KustomizationVersion, Kind: kusttypes.KustomizationKind},
		Namespace: Namespace(o.Name),
		Resources: resources,
		Labels:    labels(in),
		// Replicas are set by the operator's own patch, before the
		// office's: a patch of them is then a change the judge sees (and
		// refuses), where kustomize's replicas transformer, run after the
		// patches, would undo it without a word.
		// Named by the hash of its content and immutable: a change of the
		// configuration is a new ConfigMap that the Deployment rolls out
		// to, and the one in use cannot be edited behind the operator's
		// back, so the operator caches ConfigMaps as metadata only.
		ConfigMapGenerator: []kusttypes.ConfigMapArgs{{GeneratorArgs: kusttypes.GeneratorArgs{
			Name:          "desk-config",
			KvPairSources: kusttypes.KvPairSources{FileSources: []string{"office.json"}},
			Options:       &kusttypes.GeneratorOptions{Immutable: true},
		}}},
		Patches: patches,
	}, nil
}

// AnnotationRendered carries, on each object the operator applies, a hash
// of what it rendered for it.
const AnnotationRendered = "petition.xinfang.io/rendered-hash"

// AnnotationRenderedFields carries, on each object the operator writes, a
// hash of the set of fields it rendered for it (not their values): while it
// is unchanged, a new rendering removes no field the object was created
// with.
const AnnotationRenderedFields = "petition.xinfang.io/rendered-fields"

// RolledOut reports whether the Deployment is the one rendered (its
// AnnotationRendered is renderedHash: the image, the configuration and the
// patches the operator applied) and has rolled it out: the Deployment
// controller observed its generation, and every replica is updated and
// available, with no old one left. It reads the status the way `kubectl
// rollout status` does.
func RolledOut(d *appsv1.Deployment, renderedHash string) bool {
	if d.Annotations[AnnotationRendered] != renderedHash || d.Status.ObservedGeneration < d.Generation {
		return false
	}
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	s := d.Status
	return s.UpdatedReplicas == want && s.Replicas == want && s.AvailableReplicas == want
}
