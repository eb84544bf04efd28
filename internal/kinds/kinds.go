// Package kinds builds the scheme the operator and its tests share: the
// built-in kinds of client-go and the kinds of api/v1alpha1.
package kinds

import (
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
