package chaos

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/tenant"
	"github.com/xinfang/petition-operator/internal/xinfang"
)

// objID names an object of a tenant kind.
type objID struct{ Kind, Namespace, Name string }

func (id objID) String() string {
	if id.Namespace == "" {
		return id.Kind + " " + id.Name
	}
	return id.Kind + " " + id.Namespace + "/" + id.Name
}

// liveObject is what the inventory keeps of a managed object.
type liveObject struct {
	id     objID
	uid    types.UID
	rv     string
	office string
	owners []metav1.OwnerReference
	// deleting is set when the object has a deletionTimestamp.
	deleting bool
}

// listManaged lists every object labelled app.kubernetes.io/managed-by=
// petition-operator of the tenant kinds, by metadata only.
func listManaged(ctx context.Context, c client.Client) (map[objID]liveObject, error) {
	out := map[objID]liveObject{}
	for _, gvk := range tenant.Kinds {
		list := &metav1.PartialObjectMetadataList{}
		list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
		if err := c.List(ctx, list, client.MatchingLabels{tenant.LabelManagedBy: tenant.ManagedBy}); err != nil {
			return nil, fmt.Errorf("listing %s: %w", gvk.Kind, err)
		}
		for _, o := range list.Items {
			id := objID{Kind: gvk.Kind, Namespace: o.Namespace, Name: o.Name}
			out[id] = liveObject{id: id, uid: o.UID, rv: o.ResourceVersion, office: o.Labels[tenant.LabelOffice],
				owners: o.OwnerReferences, deleting: o.DeletionTimestamp != nil}
		}
	}
	return out, nil
}

// inventoryReport compares the cluster's managed objects with what every
// office's status.inventory says and with what the network renders.
type inventoryReport struct {
	offices, objects int
	byKind           map[string]int
	// missing: rendered, not in the cluster. duplicate: a second object of
	// a kind the office renders once (another desk-config-* ConfigMap).
	// unexpected: an object of a kind the office does not render (a PDB of
	// one replica). orphaned: an object whose office is gone or is not its
	// controller. inventory: status.inventory differs from the render.
	// hash: status.tenant.configHash differs from the render's.
	missing, duplicate, unexpected, orphaned, inventory, hash []string
}

// problems lists every problem found.
func (r *inventoryReport) problems() []string {
	var out []string
	for _, p := range []struct {
		what string
		list []string
	}{{"missing", r.missing}, {"duplicate", r.duplicate}, {"unexpected", r.unexpected}, {"orphaned", r.orphaned},
		{"status.inventory", r.inventory}, {"configHash", r.hash}} {
		for _, s := range p.list {
			out = append(out, p.what+": "+s)
		}
	}
	return out
}

func (r *inventoryReport) summary() string {
	kinds := make([]string, 0, len(r.byKind))
	for k := range r.byKind {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	parts := make([]string, len(kinds))
	for i, k := range kinds {
		parts[i] = fmt.Sprintf("%s %d", k, r.byKind[k])
	}
	return fmt.Sprintf("%d offices, %d managed objects (%s); missing %d, duplicate %d, unexpected %d, orphaned %d, status.inventory mismatches %d, configHash mismatches %d",
		r.offices, r.objects, strings.Join(parts, ", "), len(r.missing), len(r.duplicate), len(r.unexpected), len(r.orphaned),
		len(r.inventory), len(r.hash))
}

// checkInventory lists every office, policy, calendar and managed object,
// renders what each office of the network should have (as the operator
// does, through xinfang.Compile and tenant.Render) and compares. Offices
// for which skip holds are left out of the comparison (their objects still
// count as owned).
func checkInventory(ctx context.Context, c client.Client, skip func(*v1alpha1.Office) bool) (*inventoryReport, error) {
	snap := &xinfang.Snapshot{Live: true}
	var offices v1alpha1.OfficeList
	var routing v1alpha1.RoutingPolicyList
	var escalation v1alpha1.EscalationPolicyList
	var calendars v1alpha1.HolidayCalendarList
	var defaults v1alpha1.TenantDefaultsList
	var duty v1alpha1.DutyPeriodList
	for _, l := range []client.ObjectList{&offices, &routing, &escalation, &calendars, &defaults, &duty} {
		if err := c.List(ctx, l); err != nil {
			return nil, err
		}
	}
	snap.Offices, snap.RoutingPolicies, snap.EscalationPolicies, snap.HolidayCalendars = offices.Items, routing.Items, escalation.Items, calendars.Items
	snap.TenantDefaults, snap.DutyPeriods = defaults.Items, duty.Items
	live, err := listManaged(ctx, c)
	if err != nil {
		return nil, err
	}
	r := &inventoryReport{offices: len(offices.Items), objects: len(live), byKind: map[string]int{}}
	byName := map[string]*v1alpha1.Office{}
	for i := range offices.Items {
		byName[offices.Items[i].Name] = &offices.Items[i]
	}
	perOffice := map[string][]liveObject{}
	for _, o := range live {
		r.byKind[o.id.Kind]++
		office, ok := byName[o.office]
		if !ok {
			r.orphaned = append(r.orphaned, fmt.Sprintf("%s: office %q does not exist", o.id, o.office))
			continue
		}
		var controller *metav1.OwnerReference
		for i := range o.owners {
			if o.owners[i].Controller != nil && *o.owners[i].Controller {
				controller = &o.owners[i]
			}
		}
		if controller == nil || controller.Kind != "Office" || controller.Name != office.Name || controller.UID != office.UID {
			r.orphaned = append(r.orphaned, fmt.Sprintf("%s: not controlled by office %s (uid %s): %+v", o.id, office.Name, office.UID, controller))
			continue
		}
		perOffice[office.Name] = append(perOffice[office.Name], o)
	}

	src := snap.Network()
	for i := range offices.Items {
		office := &offices.Items[i]
		if skip != nil && skip(office) {
			continue
		}
		compiled, err := src.Compile(office.Name, xinfang.CompileOptions{TenantImage: tenantImage})
		if err != nil {
			return nil, err
		}
		hash := compiled.Hash
		objs, err := tenant.Render(tenant.InputOf(compiled, "ingress-nginx", nil))
		if err != nil {
			return nil, fmt.Errorf("rendering office %s: %w", office.Name, err)
		}
		want := map[objID]bool{}
		wantKinds := map[string]bool{}
		for _, o := range objs {
			want[objID{Kind: o.GetKind(), Namespace: o.GetNamespace(), Name: o.GetName()}] = true
			wantKinds[o.GetKind()] = true
		}
		have := map[objID]bool{}
		for _, o := range perOffice[office.Name] {
			have[o.id] = true
			if want[o.id] {
				continue
			}
			if wantKinds[o.id.Kind] {
				r.duplicate = append(r.duplicate, fmt.Sprintf("office %s: %s", office.Name, o.id))
			} else {
				r.unexpected = append(r.unexpected, fmt.Sprintf("office %s: %s", office.Name, o.id))
			}
		}
		for id := range want {
			if !have[id] {
				r.missing = append(r.missing, fmt.Sprintf("office %s: %s", office.Name, id))
			}
		}
		inv := map[objID]bool{}
		for _, ref := range office.Status.Inventory {
			inv[objID{Kind: ref.Kind, Namespace: ref.Namespace, Name: ref.Name}] = true
		}
		if !mapsEqual(inv, want) {
			r.inventory = append(r.inventory, fmt.Sprintf("office %s: status.inventory %v, rendered %v", office.Name, sortedIDs(inv), sortedIDs(want)))
		}
		if office.Status.Tenant == nil || office.Status.Tenant.ConfigHash != hash {
			r.hash = append(r.hash, fmt.Sprintf("office %s: status %+v, rendered %s", office.Name, office.Status.Tenant, hash))
		}
	}
	for _, l := range [][]string{r.missing, r.duplicate, r.unexpected, r.orphaned, r.inventory, r.hash} {
		sort.Strings(l)
	}
	return r, nil
}

func mapsEqual(a, b map[objID]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

func sortedIDs(m map[objID]bool) []string {
	out := make([]string, 0, len(m))
	for id := range m {
		out = append(out, id.String())
	}
	slices.Sort(out)
	return out
}

// firstN returns at most the first 30 of list, saying how many were left
// out.
func firstN(list []string) string {
	const n = 30
	if len(list) <= n {
		return strings.Join(list, "\n")
	}
	return strings.Join(list[:n], "\n") + fmt.Sprintf("\n… and %d more", len(list)-n)
}
