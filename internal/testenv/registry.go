package testenv

import (
	"context"
	"os"
	"path/filepath"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"
)

// Registry is a control plane made ready for the case registry's cluster
// mode: the sample network applied, config/registry's ClusterRole bound to
// the ServiceAccount petition-system/petition-registry, and a token of it.
type Registry struct {
	Admin client.Client
	Kube  kubernetes.Interface
	// Token is the registry's ServiceAccount token (the API server's
	// audience).
	Token string
}

// SetUpRegistry applies the sample network and the registry's ClusterRole
// to env's API server and returns the clients and the registry's token.
func SetUpRegistry(ctx context.Context, env *Env) (*Registry, error) {
	admin, err := client.New(env.Config, client.Options{Scheme: Scheme})
	if err != nil {
		return nil, err
	}
	kube, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		return nil, err
	}
	if _, err := ApplySamples(ctx, admin, env.Root); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(filepath.Join(env.Root, "config", "registry", "role.yaml"))
	if err != nil {
		return nil, err
	}
	var role rbacv1.ClusterRole
	if err := yaml.UnmarshalStrict(b, &role); err != nil {
		return nil, err
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "petition-registry"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: "petition-system", Name: "petition-registry"}},
	}
	for _, obj := range []client.Object{&role, binding} {
		if err := admin.Create(ctx, obj); err != nil {
			return nil, err
		}
	}
	token, err := ServiceAccountToken(ctx, admin, kube, "petition-system", "petition-registry")
	if err != nil {
		return nil, err
	}
	return &Registry{Admin: admin, Kube: kube, Token: token}, nil
}

// ServiceAccountToken creates the namespace and ServiceAccount if need be
// and returns a token of the ServiceAccount, valid an hour, for the
// audiences (the API server's when none).
func ServiceAccountToken(ctx context.Context, admin client.Client, kube kubernetes.Interface, namespace, name string, audiences ...string) (string, error) {
	for _, obj := range []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}},
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}},
	} {
		if err := admin.Create(ctx, obj); err != nil && !apierrors.IsAlreadyExists(err) {
			return "", err
		}
	}
	hour := int64(3600)
	tr, err := kube.CoreV1().ServiceAccounts(namespace).CreateToken(ctx, name, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{Audiences: audiences, ExpirationSeconds: &hour},
	}, metav1.CreateOptions{})
	if err != nil {
		return "", err
	}
	return tr.Status.Token, nil
}
