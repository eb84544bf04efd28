package testenv

import (
	"context"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// BrokenImageSuffix marks a tenant image whose pods never become ready
// (a crash loop) for the Deployment status driver.
const BrokenImageSuffix = ":broken"

// deploymentDriver writes the status of Deployments as kube-controller-
// manager would with pods that start at once: envtest runs no controllers,
// so without it no Deployment ever rolls out. A Deployment whose first
// container's image ends in BrokenImageSuffix gets its replicas updated but
// never available. The e2e tests run the real kube-controller-manager,
// kube-scheduler and simulated nodes instead.
type deploymentDriver struct {
	client client.Client
}

// AddDeploymentDriver registers with mgr a controller that writes the status
// of Deployments as kube-controller-manager would, so that tenants roll out
// and staged rollouts move on in a control plane that runs no controllers.
func AddDeploymentDriver(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).Named("test-deployment-status").
		For(&appsv1.Deployment{}).
		Complete(&deploymentDriver{client: mgr.GetClient()})
}

func (d *deploymentDriver) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var dep appsv1.Deployment
	if err := d.client.Get(ctx, req.NamespacedName, &dep); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	want := int32(1)
	if dep.Spec.Replicas != nil {
		want = *dep.Spec.Replicas
	}
	available := want
	if c := dep.Spec.Template.Spec.Containers; len(c) > 0 && strings.HasSuffix(c[0].Image, BrokenImageSuffix) {
		available = 0
	}
	status := dep.Status
	status.ObservedGeneration = dep.Generation
	status.Replicas, status.UpdatedReplicas = want, want
	status.ReadyReplicas, status.AvailableReplicas, status.UnavailableReplicas = available, available, want-available
	if equality.Semantic.DeepEqual(status, dep.Status) {
		return ctrl.Result{}, nil
	}
	dep.Status = status
	return ctrl.Result{}, client.IgnoreNotFound(d.client.Status().Update(ctx, &dep))
}
