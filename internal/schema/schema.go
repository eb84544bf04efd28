// Package schema validates objects of this API offline with the API server's
// own code: the CRDs' OpenAPI schemas, defaults, pruning of unknown fields,
// list invariants and x-kubernetes-validations (CEL) rules, evaluated by
// k8s.io/apiextensions-apiserver exactly as kube-apiserver evaluates them on
// create. petitionctl validate uses it, so that a GitOps pipeline learns
// before merging what the cluster would refuse.
package schema

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"sync"

	apiextensionsinternal "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	structuraldefaulting "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	apiservervalidation "k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	"k8s.io/apiextensions-apiserver/pkg/registry/customresource"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	k8sschema "k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/yaml"

	"github.com/xinfang/petition-operator/config/crd"
)

// Validator validates objects against the embedded CRDs.
type Validator struct {
	kinds map[k8sschema.GroupVersionKind]*kind
}

type kind struct {
	structural *structuralschema.Structural
	strategy   interface {
		Validate(context.Context, runtime.Object) field.ErrorList
	}
}

// New returns the Validator of the CRDs embedded in config/crd. It is
// built once a process (compiling the CRDs' CEL rules is most of a
// validation's cost) and shared: a Validator is read-only, and safe for
// concurrent use as the API server's CRD handler is.
func New() (*Validator, error) {
	return embedded()
}

var embedded = sync.OnceValues(func() (*Validator, error) {
	return newFromFS(crd.Bases, "bases")
})

func newFromFS(fsys fs.FS, dir string) (*Validator, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, err
	}
	v := &Validator{kinds: map[k8sschema.GroupVersionKind]*kind{}}
	for _, e := range entries {
		data, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		var def apiextensionsv1.CustomResourceDefinition
		if err := yaml.UnmarshalStrict(data, &def); err != nil {
			return nil, fmt.Errorf("%s: %w", e.Name(), err)
		}
		if err := v.add(&def); err != nil {
			return nil, fmt.Errorf("%s: %w", e.Name(), err)
		}
	}
	return v, nil
}

// add prepares the validation of every served version of def the way the
// API server's CRD handler does.
func (v *Validator) add(def *apiextensionsv1.CustomResourceDefinition) error {
	for _, ver := range def.Spec.Versions {
		if !ver.Served || ver.Schema == nil {
			continue
		}
		gvk := k8sschema.GroupVersionKind{Group: def.Spec.Group, Version: ver.Name, Kind: def.Spec.Names.Kind}
		internal := &apiextensionsinternal.CustomResourceValidation{}
		if err := apiextensionsv1.Convert_v1_CustomResourceValidation_To_apiextensions_CustomResourceValidation(ver.Schema, internal, nil); err != nil {
			return err
		}
		structural, err := structuralschema.NewStructural(internal.OpenAPIV3Schema)
		if err != nil {
			return err
		}
		if err := structuraldefaulting.PruneDefaults(structural); err != nil {
			return err
		}
		schemaValidator, _, err := apiservervalidation.NewSchemaValidator(internal.OpenAPIV3Schema)
		if err != nil {
			return err
		}
		var status *apiextensionsinternal.CustomResourceSubresourceStatus
		if ver.Subresources != nil && ver.Subresources.Status != nil {
			status = &apiextensionsinternal.CustomResourceSubresourceStatus{}
		}
		strategy := customresource.NewStrategy(unstructuredTyper{}, def.Spec.Scope == apiextensionsv1.NamespaceScoped, gvk,
			schemaValidator, nil, structural, status, nil, ver.SelectableFields)
		v.kinds[gvk] = &kind{structural: structural, strategy: strategy}
	}
	return nil
}

// Knows reports whether gvk is a kind of the embedded CRDs.
func (v *Validator) Knows(gvk k8sschema.GroupVersionKind) bool {
	_, ok := v.kinds[gvk]
	return ok
}

// Validate checks obj as kube-apiserver checks a create: unknown fields (as
// strict field validation reports them), then defaults, then the OpenAPI
// schema, metadata, list invariants and CEL rules. obj is defaulted and
// pruned in place, as the API server would store it.
func (v *Validator) Validate(ctx context.Context, obj *unstructured.Unstructured) field.ErrorList {
	k, ok := v.kinds[obj.GroupVersionKind()]
	if !ok {
		return field.ErrorList{v.CheckType(obj.GroupVersionKind())}
	}
	var errs field.ErrorList
	unknown := pruning.PruneWithOptions(obj.Object, k.structural, true, structuralschema.UnknownFieldPathOptions{TrackUnknownFieldPaths: true})
	sort.Strings(unknown)
	for _, p := range unknown {
		errs = append(errs, &field.Error{Type: field.ErrorTypeForbidden, Field: p,
			Detail: fmt.Sprintf("unknown field: the %s schema declares no such field", obj.GetKind())})
	}
	structuraldefaulting.Default(obj.Object, k.structural)
	for _, e := range k.strategy.Validate(ctx, obj) {
		// The API server adds this note when the schema already failed;
		// the errors before it say what to fix.
		if (e.Field == "" || e.Field == "<nil>") && strings.HasPrefix(e.Detail, "some validation rules were not checked") {
			continue
		}
		errs = append(errs, e)
	}
	return errs
}

// CheckType returns an error naming what is supported when gvk is not a
// kind of the embedded CRDs: an unknown apiVersion of a known kind, or an
// unknown kind.
func (v *Validator) CheckType(gvk k8sschema.GroupVersionKind) *field.Error {
	if v.Knows(gvk) {
		return nil
	}
	var versions []string
	for known := range v.kinds {
		if known.Kind == gvk.Kind {
			versions = append(versions, known.GroupVersion().String())
		}
	}
	if len(versions) > 0 {
		sort.Strings(versions)
		return field.NotSupported(field.NewPath("apiVersion"), gvk.GroupVersion().String(), versions)
	}
	return field.NotSupported(field.NewPath("kind"), gvk.Kind, v.kindNames())
}

func (v *Validator) kindNames() []string {
	seen := map[string]bool{}
	var names []string
	for gvk := range v.kinds {
		if !seen[gvk.Kind] {
			seen[gvk.Kind] = true
			names = append(names, gvk.Kind)
		}
	}
	sort.Strings(names)
	return names
}

// unstructuredTyper types unstructured objects by their apiVersion and kind,
// as the API server's CRD handler does.
type unstructuredTyper struct{}

func (unstructuredTyper) ObjectKinds(obj runtime.Object) ([]k8sschema.GroupVersionKind, bool, error) {
	gvk := obj.GetObjectKind().GroupVersionKind()
	if gvk.Empty() {
		return nil, false, fmt.Errorf("object has no kind")
	}
	return []k8sschema.GroupVersionKind{gvk}, false, nil
}

func (unstructuredTyper) Recognizes(k8sschema.GroupVersionKind) bool { return true }
