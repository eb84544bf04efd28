// Package cluster reads the network from a Kubernetes client (the manager's
// informer cache): the network.Source of the operator's reconcilers and its
// admission webhooks.
package cluster

import (
	"context"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/network"
)

// Source is a network.Source that reads through a client.Reader, with the
// offices of an index the caller keeps (the operator's network model) or
// builds. A NotFound is a missing object; any other read error is returned,
// so that the reconcile is retried.
type Source struct {
	ctx    context.Context
	reader client.Reader
	index  *network.Index
}

var _ network.Source = &Source{}

// NewSource returns the Source of reader's objects and index's offices for
// the reads of one reconcile or admission.
func NewSource(ctx context.Context, reader client.Reader, index *network.Index) *Source {
	return &Source{ctx: ctx, reader: reader, index: index}
}

// Index implements network.Source.
func (s *Source) Index() *network.Index { return s.index }

// RoutingPolicies implements network.Source.
func (s *Source) RoutingPolicies() ([]v1alpha1.RoutingPolicy, error) {
	var list v1alpha1.RoutingPolicyList
	if err := s.reader.List(s.ctx, &list); err != nil {
		return nil, err
	}
	return list.Items, nil
}

// DutyPeriods implements network.Source.
func (s *Source) DutyPeriods() ([]v1alpha1.DutyPeriod, error) {
	var list v1alpha1.DutyPeriodList
	if err := s.reader.List(s.ctx, &list); err != nil {
		return nil, err
	}
	return list.Items, nil
}

// EscalationPolicy implements network.Source.
func (s *Source) EscalationPolicy(name string) (*v1alpha1.EscalationPolicy, error) {
	return get(s, name, &v1alpha1.EscalationPolicy{})
}

// HolidayCalendar implements network.Source.
func (s *Source) HolidayCalendar(name string) (*v1alpha1.HolidayCalendar, error) {
	return get(s, name, &v1alpha1.HolidayCalendar{})
}

// TenantDefaults implements network.Source.
func (s *Source) TenantDefaults() (*v1alpha1.TenantDefaults, error) {
	return get(s, v1alpha1.DefaultTenantDefaults, &v1alpha1.TenantDefaults{})
}

// get reads the named object into obj: nil when it does not exist.
func get[T client.Object](s *Source, name string, obj T) (T, error) {
	var none T
	if err := s.reader.Get(s.ctx, client.ObjectKey{Name: name}, obj); err != nil {
		if apierrors.IsNotFound(err) {
			return none, nil
		}
		return none, err
	}
	return obj, nil
}
