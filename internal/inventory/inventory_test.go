package inventory_test

import (
	"slices"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/inventory"
)

const ns = "office-city"

// An Inventory is what status.inventory holds.
var _ []v1alpha1.ObjectRef = inventory.Inventory(nil)

func ref(apiVersion, kind, namespace, name string) v1alpha1.ObjectRef {
	return v1alpha1.ObjectRef{APIVersion: apiVersion, Kind: kind, Namespace: namespace, Name: name}
}

var (
	namespace  = ref("v1", "Namespace", "", ns)
	sa         = ref("v1", "ServiceAccount", ns, "desk")
	config     = ref("v1", "ConfigMap", ns, "desk-config")
	renamed    = ref("v1", "ConfigMap", ns, "desk-settings")
	service    = ref("v1", "Service", ns, "desk")
	deployment = ref("apps/v1", "Deployment", ns, "desk")
	policy     = ref("networking.k8s.io/v1", "NetworkPolicy", ns, "desk")
	pdb        = ref("policy/v1", "PodDisruptionBudget", ns, "desk")
)

func object(r v1alpha1.ObjectRef) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion(r.APIVersion)
	u.SetKind(r.Kind)
	u.SetNamespace(r.Namespace)
	u.SetName(r.Name)
	u.SetLabels(map[string]string{"petition.xinfang.io/office": "city"})
	return u
}

func TestNew(t *testing.T) {
	for _, tc := range []struct {
		name string
		refs []v1alpha1.ObjectRef
	}{
		{name: "empty"},
		{name: "render order kept", refs: []v1alpha1.ObjectRef{namespace, sa, config, service, deployment, policy, pdb}},
		{name: "not sorted", refs: []v1alpha1.ObjectRef{pdb, deployment, namespace}},
		{name: "a duplicate kept at its index", refs: []v1alpha1.ObjectRef{config, service, config}},
		{name: "same name, other kinds", refs: []v1alpha1.ObjectRef{sa, service, deployment, policy, pdb}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objs := make([]*unstructured.Unstructured, 0, len(tc.refs))
			for _, r := range tc.refs {
				objs = append(objs, object(r))
			}
			got := inventory.New(objs)
			if got == nil {
				t.Fatalf("New(%d objects) = nil, want a non-nil inventory", len(objs))
			}
			if !slices.Equal(got, tc.refs) {
				t.Errorf("New() = %v, want %v", got, tc.refs)
			}
		})
	}
}

// TestNewReadsTheObjects checks that New reads each object's own fields,
// including the apiVersion of a grouped kind and an empty namespace.
func TestNewReadsTheObjects(t *testing.T) {
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "networking.k8s.io/v1",
		"kind":       "NetworkPolicy",
		"metadata":   map[string]any{"name": "deny-all", "namespace": "office-a"},
		"spec":       map[string]any{"podSelector": map[string]any{}},
	}}
	n := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1",
		"kind":       "Namespace",
		"metadata":   map[string]any{"name": "office-a"},
	}}
	want := inventory.Inventory{
		ref("v1", "Namespace", "", "office-a"),
		ref("networking.k8s.io/v1", "NetworkPolicy", "office-a", "deny-all"),
	}
	if got := inventory.New([]*unstructured.Unstructured{n, u}); !slices.Equal(got, want) {
		t.Errorf("New() = %v, want %v", got, want)
	}
}

func TestStale(t *testing.T) {
	full := inventory.Inventory{namespace, sa, config, service, deployment, policy, pdb}
	for _, tc := range []struct {
		name       string
		old        inventory.Inventory
		current    inventory.Inventory
		unrecorded []v1alpha1.ObjectRef
		want       []v1alpha1.ObjectRef
	}{
		{name: "all empty"},
		{name: "first reconcile: no old inventory", current: full},
		{name: "identical", old: full, current: full},
		{name: "identical, live objects all recorded", old: full, current: full, unrecorded: []v1alpha1.ObjectRef{sa, config, service, deployment, policy, pdb}},
		{
			name:    "removed object",
			old:     full,
			current: inventory.Inventory{namespace, sa, config, service, deployment, policy},
			want:    []v1alpha1.ObjectRef{pdb},
		},
		{
			name:    "renamed ConfigMap: the old name goes, the new stays",
			old:     inventory.Inventory{namespace, config, deployment},
			current: inventory.Inventory{namespace, renamed, deployment},
			want:    []v1alpha1.ObjectRef{config},
		},
		{
			name:    "everything removed, in the old render order",
			old:     inventory.Inventory{sa, pdb, config},
			current: nil,
			want:    []v1alpha1.ObjectRef{sa, pdb, config},
		},
		{
			name:    "another apiVersion is another object",
			old:     inventory.Inventory{ref("policy/v1beta1", "PodDisruptionBudget", ns, "desk")},
			current: inventory.Inventory{pdb},
			want:    []v1alpha1.ObjectRef{ref("policy/v1beta1", "PodDisruptionBudget", ns, "desk")},
		},
		{
			name:    "another namespace is another object",
			old:     inventory.Inventory{ref("v1", "ConfigMap", "office-old", "desk-config")},
			current: inventory.Inventory{config},
			want:    []v1alpha1.ObjectRef{ref("v1", "ConfigMap", "office-old", "desk-config")},
		},
		{
			name:       "unrecorded orphan: applied, never recorded, no longer rendered",
			old:        inventory.Inventory{namespace, config},
			current:    inventory.Inventory{namespace, config},
			unrecorded: []v1alpha1.ObjectRef{config, renamed},
			want:       []v1alpha1.ObjectRef{renamed},
		},
		{
			name:       "unrecorded orphan, no old inventory",
			current:    inventory.Inventory{namespace, deployment},
			unrecorded: []v1alpha1.ObjectRef{deployment, service},
			want:       []v1alpha1.ObjectRef{service},
		},
		{
			name:       "orphan still rendered is kept",
			old:        inventory.Inventory{namespace},
			current:    inventory.Inventory{namespace, renamed},
			unrecorded: []v1alpha1.ObjectRef{renamed},
		},
		{
			name:       "orphan also in old: deleted once, at its old place",
			old:        inventory.Inventory{namespace, config, service, deployment},
			current:    inventory.Inventory{namespace, deployment},
			unrecorded: []v1alpha1.ObjectRef{service, deployment, config},
			want:       []v1alpha1.ObjectRef{config, service},
		},
		{
			name:    "duplicates in old: once",
			old:     inventory.Inventory{config, service, config, service},
			current: inventory.Inventory{namespace},
			want:    []v1alpha1.ObjectRef{config, service},
		},
		{
			name:       "duplicates among the orphans: once",
			current:    inventory.Inventory{namespace},
			unrecorded: []v1alpha1.ObjectRef{renamed, renamed, pdb, renamed},
			want:       []v1alpha1.ObjectRef{pdb, renamed},
		},
		{
			name:    "duplicates in current still keep the object",
			old:     inventory.Inventory{config, service},
			current: inventory.Inventory{config, config},
			want:    []v1alpha1.ObjectRef{service},
		},
		{
			name:       "order: old's order first, then the orphans sorted",
			old:        inventory.Inventory{service, namespace, config},
			current:    inventory.Inventory{namespace},
			unrecorded: []v1alpha1.ObjectRef{pdb, renamed, policy, deployment, sa},
			// Orphans by apiVersion, then kind, namespace and name.
			want: []v1alpha1.ObjectRef{service, config, deployment, policy, pdb, renamed, sa},
		},
		{
			name:       "order: orphans of one kind sorted by name",
			unrecorded: []v1alpha1.ObjectRef{ref("v1", "ConfigMap", ns, "c"), ref("v1", "ConfigMap", ns, "a"), ref("v1", "ConfigMap", ns, "b")},
			want:       []v1alpha1.ObjectRef{ref("v1", "ConfigMap", ns, "a"), ref("v1", "ConfigMap", ns, "b"), ref("v1", "ConfigMap", ns, "c")},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			old := slices.Clone(tc.old)
			current := slices.Clone(tc.current)
			unrecorded := slices.Clone(tc.unrecorded)
			got := inventory.Stale(tc.old, tc.current, tc.unrecorded)
			if !slices.Equal(got, tc.want) {
				t.Errorf("Stale() = %v, want %v", got, tc.want)
			}
			if len(tc.want) == 0 && got != nil {
				t.Errorf("Stale() = %#v, want nil when nothing is stale", got)
			}
			if !slices.Equal(tc.old, old) || !slices.Equal(tc.current, current) || !slices.Equal(tc.unrecorded, unrecorded) {
				t.Errorf("Stale changed its arguments")
			}
		})
	}
}

// TestStaleDeterministic checks that the result does not depend on the
// order in which the cluster lists the unrecorded objects.
func TestStaleDeterministic(t *testing.T) {
	old := inventory.Inventory{namespace, config, service}
	current := inventory.Inventory{namespace}
	unrecorded := []v1alpha1.ObjectRef{pdb, renamed, policy, deployment, sa, config}
	want := inventory.Stale(old, current, unrecorded)
	for i := range len(unrecorded) {
		rotated := append(slices.Clone(unrecorded[i:]), unrecorded[:i]...)
		if got := inventory.Stale(old, current, rotated); !slices.Equal(got, want) {
			t.Errorf("unrecorded listed as %v: Stale() = %v, want %v", rotated, got, want)
		}
		reversed := slices.Clone(rotated)
		slices.Reverse(reversed)
		if got := inventory.Stale(old, current, reversed); !slices.Equal(got, want) {
			t.Errorf("unrecorded listed as %v: Stale() = %v, want %v", reversed, got, want)
		}
	}
}
