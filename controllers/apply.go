package controllers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/client-go/util/csaupgrade"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/inventory"
	"github.com/xinfang/petition-operator/internal/ssa"
	"github.com/xinfang/petition-operator/internal/tenant"
)

// FieldOwner is the server-side apply field manager of everything the
// operator writes.
const FieldOwner = "petition-operator"

// invalidObjectError is an apply the API server refused as invalid: retrying
// the same object cannot succeed.
type invalidObjectError struct{ err error }

func (e *invalidObjectError) Error() string { return e.err.Error() }
func (e *invalidObjectError) Unwrap() error { return e.err }

// applier writes rendered objects under FieldOwner: it creates those the
// cache does not hold, applies with server-side apply those whose live state
// lacks a rendered field, skips the rest, and prunes what is no longer
// rendered.
type applier struct {
	// types gives the structure of the built-in kinds (which lists are
	// keyed, and by what), to know the fields of a rendered object.
	types  managedfields.TypeConverter
	client client.Client
	// reader reads the API server directly, for what the label-scoped
	// caches cannot see: a namespace the operator did not make.
	reader client.Reader
	scheme *runtime.Scheme
}

// namespaceConflictRetry is how often an office whose namespace is someone
// else's looks again: the deletion of a namespace the operator does not
// manage is not watched.
const namespaceConflictRetry = 5 * time.Minute

// namespaceConflictError is a tenant namespace that exists and is not the
// office's: the operator neither writes into it nor deletes it.
type namespaceConflictError struct{ name, why string }

func (e *namespaceConflictError) Error() string {
	return fmt.Sprintf("namespace %s already exists and %s; the operator neither adopts nor deletes it: delete or rename it, or rename the office", e.name, e.why)
}

// ownsNamespace reports whether ns is the office's tenant namespace: it
// carries the office's label and names the office (this UID) as its
// controller.
func ownsNamespace(office *v1alpha1.Office, ns *corev1.Namespace) (bool, string) {
	if !metav1.IsControlledBy(ns, office) {
		if ref := metav1.GetControllerOf(ns); ref != nil {
			return false, fmt.Sprintf("is controlled by %s %s (uid %s)", ref.Kind, ref.Name, ref.UID)
		}
		return false, "was not made by the operator for this office"
	}
	if ns.Labels[tenant.LabelOffice] != office.Name {
		return false, fmt.Sprintf("does not carry the label %s=%s", tenant.LabelOffice, office.Name)
	}
	return true, ""
}

// claimNamespace makes sure the rendered namespace obj is the office's
// before anything is written into it. A namespace that does not exist is
// created (not applied: an apply would adopt one made meanwhile); one that
// exists must be the office's. It reports whether it created it.
func (a *applier) claimNamespace(ctx context.Context, owner *v1alpha1.Office, obj *unstructured.Unstructured) (bool, error) {
	live := &corev1.Namespace{}
	key := client.ObjectKeyFromObject(obj)
	err := a.client.Get(ctx, key, live)
	if apierrors.IsNotFound(err) {
		// The cache holds only the namespaces the operator labelled.
		err = a.reader.Get(ctx, key, live)
	}
	switch {
	case apierrors.IsNotFound(err):
		created := obj.DeepCopy()
		if err := a.stampFields(created); err != nil {
			return false, err
		}
		if err := a.client.Create(ctx, created, client.FieldOwner(FieldOwner)); err != nil {
			return false, fmt.Errorf("creating namespace %s: %w", key.Name, err)
		}
		return true, nil
	case err != nil:
		return false, fmt.Errorf("reading namespace %s: %w", key.Name, err)
	}
	if ok, why := ownsNamespace(owner, live); !ok {
		return false, &namespaceConflictError{name: key.Name, why: why}
	}
	return false, nil
}

// deleteNamespace deletes the office's tenant namespace, only when the
// office controls it, on the precondition that it is still that one.
func (a *applier) deleteNamespace(ctx context.Context, office *v1alpha1.Office) error {
	ns := &corev1.Namespace{}
	name := tenant.Namespace(office.Name)
	if err := a.client.Get(ctx, client.ObjectKey{Name: name}, ns); err != nil {
		// Not in the cache: the operator did not label it, so it is not
		// the office's to delete.
		return client.IgnoreNotFound(err)
	}
	if ok, why := ownsNamespace(office, ns); !ok {
		ctrl.LoggerFrom(ctx).Info("leaving a namespace the office does not control", "namespace", name, "why", why)
		return nil
	}
	uid := ns.UID
	err := a.client.Delete(ctx, ns, client.Preconditions{UID: &uid}, client.PropagationPolicy(metav1.DeletePropagationBackground))
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return fmt.Errorf("deleting namespace %s: %w", name, err)
	}
	return nil
}

// apply makes owner the controller of each object and applies those that
// differ from the live state. It returns the inventory of the objects.
func (a *applier) apply(ctx context.Context, owner *v1alpha1.Office, objs []*unstructured.Unstructured) ([]v1alpha1.ObjectRef, error) {
	ref := metav1.NewControllerRef(owner, v1alpha1.GroupVersion.WithKind("Office"))
	inv := inventory.New(objs)
	// What the office's last reconcile recorded having written.
	recorded := sets.New(owner.Status.Inventory...)
	for i, obj := range objs {
		obj.SetOwnerReferences([]metav1.OwnerReference{*ref})
		if err := stampRendered(obj); err != nil {
			return nil, err
		}
		id := inv[i]
		if id.Kind == "Namespace" && id.APIVersion == "v1" {
			created, err := a.claimNamespace(ctx, owner, obj)
			if err != nil {
				return nil, err
			}
			if created {
				continue
			}
		}
		seen, err := a.observe(ctx, obj)
		if err != nil {
			return nil, err
		}
		if !seen.exists && (id.Kind == "Namespace" || recorded.Has(id)) {
			// Written before, and gone from the cache: deleted, or no
			// longer labelled, when a create would find the name taken.
			// The API server says which.
			if seen, err = a.observeLive(ctx, obj); err != nil {
				return nil, err
			}
		}
		if seen.current {
			continue
		}
		// Set after the comparison: an object written before the operator
		// stamped its fields is not rewritten for that alone.
		if err := a.stampFields(obj); err != nil {
			return nil, err
		}
		if !seen.exists {
			created, err := a.create(ctx, obj)
			if err != nil {
				if refused(err) {
					return nil, &invalidObjectError{fmt.Errorf("%s %s: %w", id.Kind, id.Name, err)}
				}
				return nil, fmt.Errorf("creating %s %s/%s: %w", id.Kind, id.Namespace, id.Name, err)
			}
			if created {
				continue
			}
			// Made since the cache was filled: applied below.
			if seen, err = a.observeLive(ctx, obj); err != nil {
				return nil, err
			}
		}
		if seen.fields != obj.GetAnnotations()[tenant.AnnotationRenderedFields] {
			// The rendering's fields changed: the apply may drop one.
			if err := a.upgradeFields(ctx, obj, seen.live); err != nil {
				return nil, err
			}
		}
		err = a.client.Apply(ctx, client.ApplyConfigurationFromUnstructured(obj), client.FieldOwner(FieldOwner), client.ForceOwnership)
		if refused(err) {
			err = a.replace(ctx, owner, obj, err)
		}
		if err != nil {
			if refused(err) {
				return nil, &invalidObjectError{fmt.Errorf("%s %s: %w", id.Kind, id.Name, err)}
			}
			return nil, fmt.Errorf("applying %s %s/%s: %w", id.Kind, id.Namespace, id.Name, err)
		}
	}
	return inv, nil
}

// create creates obj, which the cache does not hold, under FieldOwner, and
// reports false when the name is taken. The API server takes a create for
// about a third of a server-side apply of the same object, and most tenant
// objects are written once. The fields of a create belong to FieldOwner's
// Update entry, not to its Apply entry, so an apply could not remove one
// the rendering drops: upgradeFields hands them over before the first apply
// of a rendering with other fields.
func (a *applier) create(ctx context.Context, obj *unstructured.Unstructured) (created bool, err error) {
	err = a.client.Create(ctx, obj.DeepCopy(), client.FieldOwner(FieldOwner))
	if apierrors.IsAlreadyExists(err) {
		return false, nil
	}
	return err == nil, err
}

// observeLive reads from the API server what observe reads from the cache,
// for an object the cache does not hold: its metadata, which tells whether
// it exists and the fields it was last written with. It is taken as not
// current: an object of the operator that the caches lack has lost a label
// (or was made a moment ago, and applying it again changes nothing).
func (a *applier) observeLive(ctx context.Context, obj *unstructured.Unstructured) (observed, error) {
	live, err := a.readMetadata(ctx, obj)
	if err != nil || live == nil {
		return observed{}, err
	}
	return observed{exists: true, fields: live.GetAnnotations()[tenant.AnnotationRenderedFields], live: live}, nil
}

// readMetadata reads obj's live metadata, managedFields included, from the
// API server; nil when it does not exist.
func (a *applier) readMetadata(ctx context.Context, obj *unstructured.Unstructured) (*metav1.PartialObjectMetadata, error) {
	live := &metav1.PartialObjectMetadata{}
	live.SetGroupVersionKind(obj.GroupVersionKind())
	if err := a.reader.Get(ctx, client.ObjectKeyFromObject(obj), live); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("reading %s %s/%s: %w", obj.GetKind(), obj.GetNamespace(), obj.GetName(), err)
	}
	return live, nil
}

// upgradeFields hands the fields that FieldOwner owns through an Update
// entry — the create of the object (create), or an operator before
// server-side apply — to its Apply entry (csaupgrade), so that the apply
// that follows owns every field the operator wrote and removes those it no
// longer renders. Only a rendering whose set of fields differs from the
// last written one (tenant.AnnotationRenderedFields) can drop a field, so
// apply calls it then: a rollout that changes values (the ConfigMap a
// Deployment mounts) and an apply that restores a hand edit cost one write.
// The caches drop managedFields, so live is the object as read from the
// API server (observeLive), or nil to read it now; it writes once in an
// object's life.
func (a *applier) upgradeFields(ctx context.Context, obj *unstructured.Unstructured, live *metav1.PartialObjectMetadata) error {
	if live == nil {
		var err error
		if live, err = a.readMetadata(ctx, obj); err != nil || live == nil {
			return err
		}
	}
	patch, err := csaupgrade.UpgradeManagedFieldsPatch(live, sets.New(FieldOwner), FieldOwner)
	if err != nil || patch == nil {
		return err
	}
	// The patch tests the resourceVersion it was computed from.
	if err := a.client.Patch(ctx, live, client.RawPatch(types.JSONPatchType, patch)); err != nil {
		return fmt.Errorf("%s %s/%s: handing its fields to the field owner %s: %w", obj.GetKind(), obj.GetNamespace(), obj.GetName(), FieldOwner, err)
	}
	return nil
}

// refused reports an error by which the API server refuses an object as
// invalid: sending it again cannot succeed.
func refused(err error) bool {
	return apierrors.IsInvalid(err) || apierrors.IsBadRequest(err)
}

// replace handles an apply the API server refused. When the rendered object
// is valid on its own, the refusal comes from what a hand edit left in the
// live object: server-side apply merges with fields that other managers own,
// and it cannot remove them (a Service port whose number, the key of the
// list, was changed by hand leaves two ports named alike). The live object
// is then deleted, on the precondition that it is still the one that was
// refused, and the rendered one created. A Namespace is never replaced:
// deleting it would delete the whole tenant. When the rendered object is
// invalid itself, applyErr is returned and the live object is left alone.
func (a *applier) replace(ctx context.Context, owner *v1alpha1.Office, obj *unstructured.Unstructured, applyErr error) error {
	if obj.GetNamespace() == "" {
		return applyErr
	}
	live := &unstructured.Unstructured{}
	live.SetGroupVersionKind(obj.GroupVersionKind())
	if err := a.client.Get(ctx, client.ObjectKeyFromObject(obj), live); err != nil {
		return applyErr
	}
	if !metav1.IsControlledBy(live, owner) {
		// Not the office's: its owner decides.
		return applyErr
	}
	// A dry-run create validates the rendered object alone: AlreadyExists
	// means it passed validation and only the name is taken.
	if err := a.client.Create(ctx, obj.DeepCopy(), client.DryRunAll, client.FieldOwner(FieldOwner)); !apierrors.IsAlreadyExists(err) {
		return applyErr
	}
	uid := live.GetUID()
	if err := a.client.Delete(ctx, live, client.Preconditions{UID: &uid}, client.PropagationPolicy(metav1.DeletePropagationBackground)); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("replacing %s %s/%s, whose apply was refused: %w", obj.GetKind(), obj.GetNamespace(), obj.GetName(), errors.Join(applyErr, err))
	}
	ctrl.LoggerFrom(ctx).Info("replaced a drifted object that could not be applied",
		"kind", obj.GetKind(), "namespace", obj.GetNamespace(), "name", obj.GetName(), "refusal", applyErr.Error())
	return a.client.Apply(ctx, client.ApplyConfigurationFromUnstructured(obj), client.FieldOwner(FieldOwner), client.ForceOwnership)
}

// stampRendered sets tenant.AnnotationRendered on obj to the hash of obj.
// The live object holding every rendered field does not mean it is in sync:
// a field the operator applied before and renders no more (a patch removed
// from spec.tenant.patches) is still there until an apply leaves it out. The
// hash changes with any change of the rendering, so inSync sees such a
// change, and the apply removes the field.
func stampRendered(obj *unstructured.Unstructured) error {
	data, err := json.Marshal(obj.Object)
	if err != nil {
		return fmt.Errorf("hashing %s %s: %w", obj.GetKind(), obj.GetName(), err)
	}
	sum := sha256.Sum256(data)
	annotations := obj.GetAnnotations()
	if annotations == nil {
		annotations = map[string]string{}
	}
	annotations[tenant.AnnotationRendered] = hex.EncodeToString(sum[:8])
	obj.SetAnnotations(annotations)
	return nil
}

// stampFields sets tenant.AnnotationRenderedFields on obj to a hash of the
// set of its fields as server-side apply counts them (a keyed list's items
// by their keys), values left out. Its objects are built-in kinds.
func (a *applier) stampFields(obj *unstructured.Unstructured) error {
	typed, err := a.types.ObjectToTyped(obj)
	if err != nil {
		return fmt.Errorf("the fields of %s %s: %w", obj.GetKind(), obj.GetName(), err)
	}
	set, err := typed.ToFieldSet()
	if err != nil {
		return fmt.Errorf("the fields of %s %s: %w", obj.GetKind(), obj.GetName(), err)
	}
	data, err := set.ToJSON()
	if err != nil {
		return fmt.Errorf("the fields of %s %s: %w", obj.GetKind(), obj.GetName(), err)
	}
	sum := sha256.Sum256(data)
	annotations := obj.GetAnnotations()
	annotations[tenant.AnnotationRenderedFields] = hex.EncodeToString(sum[:8])
	obj.SetAnnotations(annotations)
	return nil
}

// observed is what the cache holds of a rendered object.
type observed struct {
	// exists is whether it exists: in the cache, or for observeLive on
	// the API server.
	exists bool
	// current is whether the live object holds every field of the
	// rendered one, tenant.AnnotationRendered included.
	current bool
	// fields is the live object's tenant.AnnotationRenderedFields: the
	// hash of the fields of the rendering it was last written from.
	fields string
	// live is the object's metadata as read from the API server
	// (observeLive), nil when read from the cache.
	live *metav1.PartialObjectMetadata
}

// observe compares the rendered object with the live one in the cache. Of a
// kind cached as metadata only (metadataOnly) it compares the metadata.
func (a *applier) observe(ctx context.Context, obj *unstructured.Unstructured) (observed, error) {
	gvk := obj.GroupVersionKind()
	var live client.Object
	rendered := obj.Object
	if metadataOnly(gvk) {
		m := &metav1.PartialObjectMetadata{}
		m.SetGroupVersionKind(gvk)
		live, rendered = m, map[string]any{"metadata": obj.Object["metadata"]}
	} else {
		typed, err := a.scheme.New(gvk)
		if err != nil {
			return observed{}, fmt.Errorf("%s is not a known kind: %w", gvk, err)
		}
		live = typed.(client.Object)
	}
	if err := a.client.Get(ctx, client.ObjectKeyFromObject(obj), live); err != nil {
		if apierrors.IsNotFound(err) {
			return observed{}, nil
		}
		return observed{}, err
	}
	seen := observed{exists: true, fields: live.GetAnnotations()[tenant.AnnotationRenderedFields]}
	liveMap, err := runtime.DefaultUnstructuredConverter.ToUnstructured(live)
	if err != nil {
		return seen, err
	}
	seen.current = ssa.InSync(liveMap, rendered)
	return seen, nil
}

// metadataOnly reports whether the operator caches the tenant objects of a
// kind as metadata only: ConfigMaps, which are named by the hash of their
// content and immutable (internal/tenant), so that their names and
// tenant.AnnotationRendered say all there is to compare, and their data,
// the bulk of a tenant, stays out of the operator's memory.
func metadataOnly(gvk schema.GroupVersionKind) bool {
	return gvk.Group == "" && gvk.Kind == "ConfigMap"
}

// prune deletes what the office's tenant no longer renders: the objects of
// the old inventory that the new one lacks, and any other object in the
// tenant namespace that the office controls and the new inventory lacks. The
// second catches an object applied by a reconcile that stopped (a crash, a
// lost leader election) before its status recorded the inventory. Which
// objects, and in what order, is inventory.Stale's.
func (a *applier) prune(ctx context.Context, owner *v1alpha1.Office, namespace string, old, current []v1alpha1.ObjectRef) error {
	unrecorded, err := a.controlled(ctx, owner, namespace)
	if err != nil {
		return err
	}
	stale := inventory.Stale(old, current, unrecorded)
	for _, r := range stale {
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(schema.FromAPIVersionAndKind(r.APIVersion, r.Kind))
		u.SetNamespace(r.Namespace)
		u.SetName(r.Name)
		if err := a.client.Delete(ctx, u, client.PropagationPolicy(metav1.DeletePropagationBackground)); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("pruning %s %s/%s: %w", r.Kind, r.Namespace, r.Name, err)
		}
	}
	return nil
}

// controlled lists, from the cache, the objects of the namespaced tenant
// kinds in namespace that carry the office's label and name it as their
// controller.
func (a *applier) controlled(ctx context.Context, owner *v1alpha1.Office, namespace string) ([]v1alpha1.ObjectRef, error) {
	var out []v1alpha1.ObjectRef
	for _, obj := range tenantObjects() {
		gvk, err := apiutil.GVKForObject(obj, a.scheme)
		if err != nil {
			return nil, err
		}
		if gvk.Kind == "Namespace" {
			continue
		}
		var list client.ObjectList
		if metadataOnly(gvk) {
			m := &metav1.PartialObjectMetadataList{}
			m.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
			list = m
		} else {
			typed, err := a.scheme.New(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
			if err != nil {
				return nil, err
			}
			list = typed.(client.ObjectList)
		}
		if err := a.client.List(ctx, list, client.InNamespace(namespace),
			client.MatchingLabels{tenant.LabelOffice: owner.Name}, client.UnsafeDisableDeepCopy); err != nil {
			return nil, fmt.Errorf("listing %s in %s: %w", gvk.Kind, namespace, err)
		}
		err = meta.EachListItem(list, func(o runtime.Object) error {
			m := o.(client.Object)
			if metav1.IsControlledBy(m, owner) {
				out = append(out, v1alpha1.ObjectRef{APIVersion: gvk.GroupVersion().String(), Kind: gvk.Kind, Namespace: m.GetNamespace(), Name: m.GetName()})
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}
