// Package kinds builds the scheme the operator and its tests share: the
// built-in kinds of client-go and the kinds of api/v1alpha1.
package kinds

import (
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"

	"github.com/xinfang/petition-operator/api/v1alpha1"
)

// NewScheme returns a new scheme with the built-in kinds and the kinds of
// this API.
func NewScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(v1alpha1.AddToScheme(s))
	return s
}

// DropUnread is the cache transform of every cache of this API's objects
// (the operator's, the registry's): it drops from an object entering the
// cache what is never read, its managedFields and kubectl's
// last-applied-configuration annotation (a copy of the whole object for an
// object applied with client-side kubectl apply).
func DropUnread(in any) (any, error) {
	obj, err := apimeta.Accessor(in)
	if err != nil {
		// Not an object (a tombstone): as it is.
		return in, nil
	}
	obj.SetManagedFields(nil)
	if a := obj.GetAnnotations(); a != nil {
		if _, ok := a[corev1.LastAppliedConfigAnnotation]; ok {
			delete(a, corev1.LastAppliedConfigAnnotation)
			obj.SetAnnotations(a)
		}
	}
	return in, nil
}
