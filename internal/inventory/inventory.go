// Package inventory keeps the record of the objects an office's tenant stack
// is made of, and works out from it what to prune.
//
// After each apply the office controller stores the inventory in the
// office's status (status.inventory). The next reconcile compares the
// inventory it has just applied with that stored one: whatever the stored
// one names and the new one does not is no longer rendered and is deleted.
// The package only computes; reading the cluster and deleting are the
// controller's.
package inventory

import (
	"cmp"
	"slices"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/xinfang/petition-operator/api/v1alpha1"
)

// Inventory lists the objects of one rendering of a tenant stack, one
// reference per object in render order. It is what status.inventory holds:
// an Inventory is assignable to a []v1alpha1.ObjectRef and back.
type Inventory []v1alpha1.ObjectRef

// New returns the inventory of the rendered objects objs: for each, in the
// order given, its apiVersion, kind, namespace and name. Duplicates are kept,
// so that the i-th reference is that of objs[i].
func New(objs []*unstructured.Unstructured) Inventory {
	inv := make(Inventory, 0, len(objs))
	for _, obj := range objs {
		inv = append(inv, v1alpha1.ObjectRef{
			APIVersion: obj.GetAPIVersion(),
			Kind:       obj.GetKind(),
			Namespace:  obj.GetNamespace(),
			Name:       obj.GetName(),
		})
	}
	return inv
}

// Stale returns the objects to delete once current has been applied in place
// of old: those old names and current lacks, then those in unrecorded that
// current lacks.
//
// unrecorded are the objects found in the cluster that the office controls,
// whether old names them or not. Those old does not name were applied by a
// reconcile that stopped (a crash, a lost leader election) before the status
// recorded its inventory; without them such an object, once no longer
// rendered, would never be pruned.
//
// References match only when apiVersion, kind, namespace and name are all
// equal. The result holds each reference once: those from old keep old's
// order (the previous render's), the other ones follow sorted by apiVersion,
// kind, namespace and name, since the order in which the cluster lists them
// means nothing. It is nil when there is nothing to delete.
func Stale(old, current Inventory, unrecorded []v1alpha1.ObjectRef) []v1alpha1.ObjectRef {
	seen := make(map[v1alpha1.ObjectRef]bool, len(current)+len(old))
	for _, r := range current {
		seen[r] = true
	}
	var stale []v1alpha1.ObjectRef
	for _, r := range old {
		if !seen[r] {
			seen[r] = true
			stale = append(stale, r)
		}
	}
	recorded := len(stale)
	for _, r := range unrecorded {
		if !seen[r] {
			seen[r] = true
			stale = append(stale, r)
		}
	}
	slices.SortFunc(stale[recorded:], compare)
	return stale
}

// compare orders references by apiVersion, kind, namespace and name.
func compare(a, b v1alpha1.ObjectRef) int {
	return cmp.Or(
		cmp.Compare(a.APIVersion, b.APIVersion),
		cmp.Compare(a.Kind, b.Kind),
		cmp.Compare(a.Namespace, b.Namespace),
		cmp.Compare(a.Name, b.Name),
	)
}
