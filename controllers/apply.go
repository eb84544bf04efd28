package controllers

import (
	"context"
	"fmt"
	"reflect"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/xinfang/petition-operator/api/v1alpha1"
)

// FieldOwner is the server-side apply field manager of everything the
// operator writes.
const FieldOwner = "petition-operator"

// invalidObjectError is an apply the API server refused as invalid: retrying
// the same object cannot succeed.
type invalidObjectError struct{ err error }

func (e *invalidObjectError) Error() string { return e.err.Error() }
func (e *invalidObjectError) Unwrap() error { return e.err }

// applier applies rendered objects with server-side apply under FieldOwner,
// skipping those whose live state in the cache already holds every rendered
// field, and prunes what is no longer rendered.
type applier struct {
	client client.Client
	scheme *runtime.Scheme
}

// apply makes owner the controller of each object and applies those that
// differ from the live state. It returns the inventory of the objects.
func (a *applier) apply(ctx context.Context, owner *v1alpha1.Office, objs []*unstructured.Unstructured) ([]v1alpha1.ObjectRef, error) {
	ref := metav1.NewControllerRef(owner, v1alpha1.GroupVersion.WithKind("Office"))
	inventory := make([]v1alpha1.ObjectRef, 0, len(objs))
	for _, obj := range objs {
		obj.SetOwnerReferences([]metav1.OwnerReference{*ref})
		id := v1alpha1.ObjectRef{APIVersion: obj.GetAPIVersion(), Kind: obj.GetKind(), Namespace: obj.GetNamespace(), Name: obj.GetName()}
		inventory = append(inventory, id)
		current, err := a.inSync(ctx, obj)
		if err != nil {
			return nil, err
		}
		if current {
			continue
		}
		if err := a.client.Apply(ctx, client.ApplyConfigurationFromUnstructured(obj), client.FieldOwner(FieldOwner), client.ForceOwnership); err != nil {
			if apierrors.IsInvalid(err) || apierrors.IsBadRequest(err) {
				return nil, &invalidObjectError{fmt.Errorf("%s %s: %w", id.Kind, id.Name, err)}
			}
			return nil, fmt.Errorf("applying %s %s/%s: %w", id.Kind, id.Namespace, id.Name, err)
		}
	}
	return inventory, nil
}

// inSync reports whether the live object in the cache holds every field of
// the rendered one.
func (a *applier) inSync(ctx context.Context, obj *unstructured.Unstructured) (bool, error) {
	live, err := a.scheme.New(obj.GroupVersionKind())
	if err != nil {
		return false, fmt.Errorf("%s is not a known kind: %w", obj.GroupVersionKind(), err)
	}
	if err := a.client.Get(ctx, client.ObjectKeyFromObject(obj), live.(client.Object)); err != nil {
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		return false, err
	}
	liveMap, err := runtime.DefaultUnstructuredConverter.ToUnstructured(live)
	if err != nil {
		return false, err
	}
	for k, v := range obj.Object {
		if k == "apiVersion" || k == "kind" {
			continue
		}
		if !contains(liveMap[k], v) {
			return false, nil
		}
	}
	return true, nil
}

// contains reports whether live holds every field of want: maps hold want's
// keys, lists have want's length and hold its items in order, scalars are
// equal (numbers compared by value).
func contains(live, want any) bool {
	switch w := want.(type) {
	case map[string]any:
		l, ok := live.(map[string]any)
		if !ok {
			return len(w) == 0 && live == nil
		}
		for k, v := range w {
			if !contains(l[k], v) {
				return false
			}
		}
		return true
	case []any:
		l, ok := live.([]any)
		if !ok || len(l) != len(w) {
			return len(w) == 0 && live == nil
		}
		for i := range w {
			if !contains(l[i], w[i]) {
				return false
			}
		}
		return true
	case int64, float64, int:
		return number(live) == number(want) && number(live) != nil
	default:
		return reflect.DeepEqual(live, want)
	}
}

func number(v any) any {
	switch n := v.(type) {
	case int64:
		return float64(n)
	case int:
		return float64(n)
	case int32:
		return float64(n)
	case float64:
		return n
	}
	return nil
}

// prune deletes the objects of the old inventory that the new one lacks.
func (a *applier) prune(ctx context.Context, old, current []v1alpha1.ObjectRef) error {
	keep := make(map[v1alpha1.ObjectRef]bool, len(current))
	for _, r := range current {
		keep[r] = true
	}
	for _, r := range old {
		if keep[r] {
			continue
		}
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(schema.FromAPIVersionAndKind(r.APIVersion, r.Kind))
		u.SetNamespace(r.Namespace)
		u.SetName(r.Name)
		if err := a.client.Delete(ctx, u, client.PropagationPolicy(metav1.DeletePropagationBackground)); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("pruning %s %s/%s: %w", r.Kind, r.Namespace, r.Name, err)
		}
	}
	return nil
}
