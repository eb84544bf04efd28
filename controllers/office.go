package controllers

import (
	"context"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/network"
)

// officeObserver places an office in the network: its path from the City,
// its children, and whether its parent exists at an allowed level.
type officeObserver struct {
	client client.Client
}

func (o *officeObserver) children(ctx context.Context, name string) ([]v1alpha1.Office, error) {
	var list v1alpha1.OfficeList
	if err := o.client.List(ctx, &list, client.MatchingFields{fieldParent: name}); err != nil {
		return nil, err
	}
	return list.Items, nil
}

func (o *officeObserver) observe(ctx context.Context, office *v1alpha1.Office) (Outcome, error) {
	children, err := o.children(ctx, office.Name)
	if err != nil {
		return Outcome{}, fmt.Errorf("listing children of %s: %w", office.Name, err)
	}
	office.Status.Children = int32(len(children))

	// Walk the ancestors through the cache. A read error other than NotFound
	// is transient and retried.
	var readErr error
	lookup := func(name string) (*v1alpha1.Office, bool) {
		var parent v1alpha1.Office
		if err := o.client.Get(ctx, types.NamespacedName{Name: name}, &parent); err != nil {
			if !apierrors.IsNotFound(err) && readErr == nil {
				readErr = err
			}
			return nil, false
		}
		return &parent, true
	}
	path, problem := network.Path(office, lookup)
	if readErr != nil {
		return Outcome{}, fmt.Errorf("reading the ancestors of %s: %w", office.Name, readErr)
	}
	if problem != nil {
		office.Status.Path = nil
		return Outcome{
			Ready:   metav1.ConditionFalse,
			Reason:  problem.Reason,
			Message: problem.Message,
			// A missing parent may still be applied (GitOps apply order);
			// a wrong level or a cycle needs a change to the spec.
			Stalled: problem.Reason != v1alpha1.ReasonParentMissing,
		}, nil
	}
	office.Status.Path = path
	return ready(fmt.Sprintf("office is in the network at %s", strings.Join(path, "/"))), nil
}
