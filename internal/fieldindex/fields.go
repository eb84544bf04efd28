// Package fields registers the field indexes of offices in the manager's
// cache, shared by the reconcilers and the admission webhooks.
package fieldindex

import (
	"context"
	"fmt"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/xinfang"
)

// The indexes of offices: by spec.parent, to find an office's children; by
// the EscalationPolicy (the built-in one when it names none) and the
// HolidayCalendar they use, to find the offices a policy or calendar change
// affects.
const (
	OfficeParent   = "spec.parent"
	OfficePolicy   = "spec.escalation.policyRef"
	OfficeCalendar = "spec.calendarRef"
)

// Values returns the value of each index for an office.
var Values = map[string]func(*v1alpha1.Office) string{
	OfficeParent: func(o *v1alpha1.Office) string { return string(o.Spec.Parent) },
	// A Village has no chain of its own: no policy's change concerns it.
	OfficePolicy: func(o *v1alpha1.Office) string {
		if !o.Spec.Level.HasTenant() {
			return ""
		}
		return xinfang.EscalationPolicyName(o)
	},
	OfficeCalendar: func(o *v1alpha1.Office) string { return string(o.Spec.CalendarRef) },
}

// Register adds the indexes to indexer. Call it once per manager, before
// the reconcilers and webhooks that list by them start.
func Register(ctx context.Context, indexer client.FieldIndexer) error {
	for field, value := range Values {
		if err := indexer.IndexField(ctx, &v1alpha1.Office{}, field, func(obj client.Object) []string {
			if v := value(obj.(*v1alpha1.Office)); v != "" {
				return []string{v}
			}
			return nil
		}); err != nil {
			return fmt.Errorf("indexing offices by %s: %w", field, err)
		}
	}
	return nil
}
