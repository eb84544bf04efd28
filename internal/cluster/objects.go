// Package cluster keeps the operator's xinfang.Network from a Kubernetes
// cache: its offices fed by the cache's informer on every replica (Feed),
// its other objects read through the cache (Objects). The reconcilers and
// the admission webhooks of one process read the same Network.
package cluster

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/xinfang"
)

// Objects are the xinfang.Objects of a client.Reader (the manager's
// cache). A NotFound is a missing object; any other read error is
// returned, so that the reconcile is retried.
type Objects struct {
	ctx    context.Context
	reader client.Reader
}

var _ xinfang.Objects = &Objects{}

// NewObjects returns the Objects that reader reads; ctx bounds every read
// (the process's).
func NewObjects(ctx context.Context, reader client.Reader) *Objects {
	return &Objects{ctx: ctx, reader: reader}
}

// RoutingPolicies implements xinfang.Objects.
func (s *Objects) RoutingPolicies() ([]v1alpha1.RoutingPolicy, error) {
	var list v1alpha1.RoutingPolicyList
	if err := s.reader.List(s.ctx, &list); err != nil {
		return nil, err
	}
	return list.Items, nil
}

// DutyPeriods implements xinfang.Objects.
func (s *Objects) DutyPeriods() ([]v1alpha1.DutyPeriod, error) {
	var list v1alpha1.DutyPeriodList
	if err := s.reader.List(s.ctx, &list); err != nil {
		return nil, err
	}
	return list.Items, nil
}

// EscalationPolicy implements xinfang.Objects.
func (s *Objects) EscalationPolicy(name string) (*v1alpha1.EscalationPolicy, error) {
	return get(s, name, &v1alpha1.EscalationPolicy{})
}

// HolidayCalendar implements xinfang.Objects.
func (s *Objects) HolidayCalendar(name string) (*v1alpha1.HolidayCalendar, error) {
	return get(s, name, &v1alpha1.HolidayCalendar{})
}

// TenantDefaults implements xinfang.Objects.
func (s *Objects) TenantDefaults() (*v1alpha1.TenantDefaults, error) {
	return get(s, v1alpha1.DefaultTenantDefaults, &v1alpha1.TenantDefaults{})
}

// Exists implements xinfang.Objects.
func (s *Objects) Exists(kind, name string) (bool, error) {
	var obj client.Object
	switch kind {
	case xinfang.KindRoutingPolicy:
		obj = &v1alpha1.RoutingPolicy{}
	case xinfang.KindEscalationPolicy:
		obj = &v1alpha1.EscalationPolicy{}
	case xinfang.KindHolidayCalendar:
		obj = &v1alpha1.HolidayCalendar{}
	case xinfang.KindDutyPeriod:
		obj = &v1alpha1.DutyPeriod{}
	default:
		return false, fmt.Errorf("unknown kind %q", kind)
	}
	if err := s.reader.Get(s.ctx, client.ObjectKey{Name: name}, obj); err != nil {
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		return false, err
	}
	return true, nil
}

// get reads the named object into obj: nil when it does not exist.
func get[T client.Object](s *Objects, name string, obj T) (T, error) {
	var none T
	if err := s.reader.Get(s.ctx, client.ObjectKey{Name: name}, obj); err != nil {
		if apierrors.IsNotFound(err) {
			return none, nil
		}
		return none, err
	}
	return obj, nil
}
