package controllers

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/network"
)

// +kubebuilder:rbac:groups=petition.xinfang.io,resources=escalationpolicies,verbs=create

// defaultPolicy creates the built-in statutory EscalationPolicy when it is
// missing: at start and whenever it is deleted. It never updates it, so a
// user's edits stay.
type defaultPolicy struct {
	reader client.Reader // the API server itself, not the cache
	client client.Client
}

// Start ensures the policy, and the TenantDefaults, once; their
// controllers ensure them again when they are deleted.
func (d *defaultPolicy) Start(ctx context.Context) error {
	if err := d.ensure(ctx, v1alpha1.DefaultEscalationPolicy); err != nil {
		return err
	}
	if err := defaultTenantDefaults(ctx, d.reader, d.client, v1alpha1.DefaultTenantDefaults); err != nil {
		return err
	}
	<-ctx.Done()
	return nil
}

// ensure creates the policy if name is the default policy and it is missing.
func (d *defaultPolicy) ensure(ctx context.Context, name string) error {
	if name != v1alpha1.DefaultEscalationPolicy {
		return nil
	}
	err := d.reader.Get(ctx, types.NamespacedName{Name: name}, &v1alpha1.EscalationPolicy{})
	if !apierrors.IsNotFound(err) {
		return err
	}
	if err := d.client.Create(ctx, network.StatutoryPolicy(), client.FieldOwner(FieldOwner)); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating the default EscalationPolicy %s: %w", name, err)
	}
	log.FromContext(ctx).Info("created the default EscalationPolicy", "name", name)
	return nil
}
