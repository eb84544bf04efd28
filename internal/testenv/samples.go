package testenv

import (
	"context"
	"fmt"
	"path/filepath"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/xinfang/petition-operator/internal/objfiles"
)

// ApplySamples applies every object of config/samples under the repository
// root as `kubectl apply --server-side` does, under the field manager
// "gitops", and returns the offices' names.
func ApplySamples(ctx context.Context, c client.Client, root string) ([]string, error) {
	set, err := objfiles.Load(filepath.Join(root, "config", "samples"))
	if err != nil {
		return nil, err
	}
	for _, o := range set.Objects() {
		gvk, err := c.GroupVersionKindFor(o)
		if err != nil {
			return nil, err
		}
		m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(o)
		if err != nil {
			return nil, err
		}
		u := &unstructured.Unstructured{Object: m}
		u.SetGroupVersionKind(gvk)
		unstructured.RemoveNestedField(u.Object, "status")
		unstructured.RemoveNestedField(u.Object, "metadata", "creationTimestamp")
		if err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner("gitops")); err != nil {
			return nil, fmt.Errorf("applying %s %s: %w", gvk.Kind, o.GetName(), err)
		}
	}
	names := make([]string, len(set.Offices))
	for i := range set.Offices {
		names[i] = set.Offices[i].Name
	}
	return names, nil
}
