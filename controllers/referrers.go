package controllers

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/fieldindex"
)

// newReferrers returns the referrers of an index of package fieldindex.
func newReferrers(c client.Reader, field string) referrers {
	return referrers{client: c, field: field, value: fieldindex.Values[field]}
}

// referrers counts the offices that name an object (a policy or calendar) in
// an indexed field; value is the field's index function.
type referrers struct {
	client client.Reader
	field  string
	value  func(*v1alpha1.Office) string
}

func (u referrers) count(ctx context.Context, name string) (int32, error) {
	var list v1alpha1.OfficeList
	if err := u.client.List(ctx, &list, client.MatchingFields{u.field: name}, client.UnsafeDisableDeepCopy); err != nil {
		return 0, fmt.Errorf("listing offices by %s: %w", u.field, err)
	}
	return int32(len(list.Items)), nil
}

// referred maps an office to the object it names in the field.
func (u referrers) referred() handler.MapFunc {
	return func(_ context.Context, obj client.Object) []reconcile.Request {
		if v := u.value(obj.(*v1alpha1.Office)); v != "" {
			return []reconcile.Request{{NamespacedName: types.NamespacedName{Name: v}}}
		}
		return nil
	}
}
