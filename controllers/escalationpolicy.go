package controllers

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/fieldindex"
	"github.com/xinfang/petition-operator/internal/xinfang"
)

// +kubebuilder:rbac:groups=petition.xinfang.io,resources=escalationpolicies,verbs=create

// setupEscalationPolicyController registers the controller of
// EscalationPolicy status: the offices that use a policy, and whether its
// stages can be used. It creates the statutory policy again when it is
// deleted.
func setupEscalationPolicyController(mgr ctrl.Manager, opts Options, copts controller.Options) error {
	users := newReferrers(mgr.GetClient(), fieldindex.OfficePolicy)
	recreate := func(ctx context.Context, name string) error {
		return ensureStatutoryPolicy(ctx, mgr.GetAPIReader(), mgr.GetClient(), name)
	}
	return register(mgr, "escalationpolicy", copts, users.observeEscalationPolicy, recreate,
		watch{obj: &v1alpha1.Office{}, handler: coalesced(opts, users.referred())})
}

// observeEscalationPolicy counts the offices that use a policy and checks
// what the schema cannot see: stage order and limits.
func (u referrers) observeEscalationPolicy(ctx context.Context, p *v1alpha1.EscalationPolicy) (Outcome, error) {
	n, err := u.count(ctx, p.Name)
	if err != nil {
		return Outcome{}, err
	}
	p.Status.Offices = n
	if err := xinfang.ValidatePolicy(&p.Spec); err != nil {
		return Outcome{Ready: metav1.ConditionFalse, Reason: v1alpha1.ReasonInvalidPolicy, Message: err.Error(), Stalled: true}, nil
	}
	return ready(fmt.Sprintf("%d stages accepted", len(p.Spec.Stages))), nil
}

// ensureStatutoryPolicy creates the built-in statutory EscalationPolicy
// when name is its name and it is missing: at start and whenever it is
// deleted. It never updates it, so a user's edits stay. reader reads the API
// server itself, not the cache.
func ensureStatutoryPolicy(ctx context.Context, reader client.Reader, c client.Client, name string) error {
	if name != v1alpha1.DefaultEscalationPolicy {
		return nil
	}
	err := reader.Get(ctx, types.NamespacedName{Name: name}, &v1alpha1.EscalationPolicy{})
	if !apierrors.IsNotFound(err) {
		return err
	}
	if err := c.Create(ctx, xinfang.StatutoryPolicy(), client.FieldOwner(FieldOwner)); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating the default EscalationPolicy %s: %w", name, err)
	}
	log.FromContext(ctx).Info("created the default EscalationPolicy", "name", name)
	return nil
}
