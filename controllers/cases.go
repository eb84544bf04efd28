package controllers

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/casestore"
	"github.com/xinfang/petition-operator/internal/ssa"
)

// The operator's rights for a City's case store (docs/cases.md, "In the
// cluster: what the operator runs"). The registry's Deployment, Service, NetworkPolicy and
// PodDisruptionBudget are tenant kinds (setup.go). The rest it needs in
// its own namespace only, which a Role there grants, written by hand
// (config/rbac/cases_role.yaml, the chart's rbac.yaml) since the markers
// make a ClusterRole: CloudNativePG's Cluster (get, create, patch: never
// delete) and ScheduledBackup, and Secrets, read by name and created, never
// listed nor watched (the key Secret, created once; an external database's
// Secret, read to see that its key is there). Who it is, it asks the API
// server with a SelfSubjectReview, which every authenticated user may
// create (the built-in ClusterRole system:basic-user).

// How soon a City whose case store is not ready looks again when nothing
// it watches changes: the CloudNativePG Cluster and the Secrets are not
// watched (nor is CloudNativePG's installation).
const (
	casesPoll         = 30 * time.Second
	casesMissingRetry = 3 * time.Minute
	casesConflictWait = 5 * time.Minute
)

// casesState is the CasesReady condition a reconcile found.
type casesState struct {
	status          metav1.ConditionStatus
	reason, message string
	// retry is how soon to look again; zero when something watched will
	// say.
	retry time.Duration
}

func casesNotReady(reason, message string, retry time.Duration) casesState {
	return casesState{status: metav1.ConditionFalse, reason: reason, message: message, retry: retry}
}

// reconcileCases is the cases phase of a City: it runs the case store of
// spec.cases (casestore) and reports it in the CasesReady condition and
// status.casesStore, or removes the registry when spec.cases is gone. It
// never changes Ready, and a case store that is not ready does not end the
// reconcile: the City still runs its desks. Only a failure to reach the
// API server ends it, as an error (retried with back-off).
func (r *officeReconciler) reconcileCases(ctx context.Context, s *officeScope) (bool, error) {
	o := s.office
	if o.Spec.Level != v1alpha1.LevelCity {
		return false, nil
	}
	if o.Spec.Cases == nil {
		return false, r.removeCases(ctx, s)
	}
	state, err := r.runCases(ctx, o)
	if err != nil {
		return true, err
	}
	if state.retry > 0 {
		s.lookAgainWithin(state.retry)
	}
	r.setCasesReady(o, state)
	return false, nil
}

// setCasesReady sets the CasesReady condition and records an event when its
// status or reason changed.
func (r *officeReconciler) setCasesReady(o *v1alpha1.Office, state casesState) {
	old := apimeta.FindStatusCondition(o.Status.Conditions, v1alpha1.ConditionCasesReady)
	apimeta.SetStatusCondition(&o.Status.Conditions, metav1.Condition{Type: v1alpha1.ConditionCasesReady, Status: state.status,
		Reason: state.reason, Message: state.message, ObservedGeneration: o.Generation})
	if old != nil && old.Status == state.status && old.Reason == state.reason {
		return
	}
	eventType := corev1.EventTypeNormal
	if state.status != metav1.ConditionTrue {
		eventType = corev1.EventTypeWarning
	}
	r.recorder.Eventf(o, nil, eventType, state.reason, "Cases", "%s", state.message)
}

// caseObject is an object of a City's case store, rendered, with what the
// API server holds of it.
type caseObject struct {
	rendered *unstructured.Unstructured
	// owned objects are controlled by the City (the registry's); the
	// others outlive it (the database's).
	owned bool
	// live is the object as read, nil when it does not exist.
	live map[string]any
	// managed says the live object carries the case store's labels.
	managed bool
}

func (c *caseObject) describe() string {
	return fmt.Sprintf("%s %s/%s", c.rendered.GetKind(), c.rendered.GetNamespace(), c.rendered.GetName())
}

// runCases renders, checks and writes a City's case store, and says what
// state it is in. Nothing is written when an object of its names exists
// and is not the operator's (CasesConflict).
func (r *officeReconciler) runCases(ctx context.Context, o *v1alpha1.Office) (casesState, error) {
	cases, ns := o.Spec.Cases, r.opts.CasesNamespace
	var readyReplicas int32
	if o.Status.CasesStore != nil {
		readyReplicas = o.Status.CasesStore.ReadyReplicas
	}
	o.Status.CasesStore = &v1alpha1.CasesStoreStatus{Database: "external", Registry: r.opts.registryURL(o.Name), ReadyReplicas: readyReplicas}
	if cases.CloudNativePG != nil {
		o.Status.CasesStore.Database = casestore.DatabaseName(o.Name)
		if _, err := r.client.RESTMapper().RESTMapping(casestore.ClusterGVK.GroupKind(), casestore.ClusterGVK.Version); err != nil {
			if !apimeta.IsNoMatchError(err) {
				return casesState{}, fmt.Errorf("looking up CloudNativePG's Cluster kind: %w", err)
			}
			return casesNotReady(v1alpha1.ReasonCloudNativePGMissing, fmt.Sprintf(
				"spec.cases.cloudNativePG: the cluster has no %s (install CloudNativePG, or use spec.cases.external); looked again every %s",
				casestore.ClusterGVK, casesMissingRetry), casesMissingRetry), nil
		}
	}
	account, err := r.operatorAccount(ctx)
	if err != nil {
		return casesState{}, err
	}
	in := casestore.Input{City: o.Name, Cases: cases, Namespace: ns, Image: r.opts.RegistryImage, OperatorAccount: account,
		ServiceAccount: r.opts.RegistryServiceAccount, Labels: r.opts.shardLabels(o)}
	database, err := casestore.Database(in)
	if err != nil {
		return casesNotReady(v1alpha1.ReasonDatabaseNotReady, err.Error(), 0), nil
	}
	registry, err := casestore.Registry(in)
	if err != nil {
		return casesNotReady(v1alpha1.ReasonRegistryNotReady, err.Error(), 0), nil
	}
	var objs []*caseObject
	for _, u := range database {
		objs = append(objs, &caseObject{rendered: u})
	}
	ref := metav1.NewControllerRef(o, v1alpha1.GroupVersion.WithKind("Office"))
	for _, u := range registry {
		u.SetOwnerReferences([]metav1.OwnerReference{*ref})
		objs = append(objs, &caseObject{rendered: u, owned: true})
	}

	// Read everything first: nothing is written beside an object that is
	// not the operator's.
	var conflicts []string
	for _, c := range objs {
		if err := stampRendered(c.rendered); err != nil {
			return casesState{}, err
		}
		if err := r.readCaseObject(ctx, c); err != nil {
			return casesState{}, err
		}
		if c.live != nil && !c.managed {
			conflicts = append(conflicts, c.describe())
		}
	}
	key := &metav1.PartialObjectMetadata{}
	key.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
	keyName := types.NamespacedName{Namespace: ns, Name: casestore.KeySecretName(o.Name)}
	keyExists := true
	if err := r.applier.reader.Get(ctx, keyName, key); apierrors.IsNotFound(err) {
		keyExists = false
	} else if err != nil {
		return casesState{}, fmt.Errorf("reading Secret %s: %w", keyName, err)
	} else if !casestore.Managed(key, o.Name) {
		conflicts = append(conflicts, "Secret "+keyName.String())
	}
	if len(conflicts) > 0 {
		return casesNotReady(v1alpha1.ReasonCasesConflict, fmt.Sprintf(
			"%s already exist(s) without the labels %s=%s and %s=%s: the operator neither adopts nor changes what it did not make; "+
				"delete or rename it, or label it if it is this City's", strings.Join(conflicts, ", "),
			casestore.LabelManagedBy, casestore.ManagedBy, casestore.LabelCity, o.Name), casesConflictWait), nil
	}

	// The key Secret: created once, never updated.
	if !keyExists {
		secret, err := casestore.KeySecret(o.Name, ns, rand.Reader)
		if err != nil {
			return casesState{}, err
		}
		switch err := r.client.Create(ctx, secret, client.FieldOwner(FieldOwner)); {
		case apierrors.IsNotFound(err):
			// No namespace: nothing of the case store can be made, and
			// the rest of the City goes on.
			return casesNotReady(v1alpha1.ReasonRegistryNotReady, fmt.Sprintf(
				"the namespace %s of the case stores (the manager's --cases-namespace) does not exist; looked again every %s", ns, casesPoll), casesPoll), nil
		case err != nil && !apierrors.IsAlreadyExists(err):
			return casesState{}, fmt.Errorf("creating Secret %s: %w", keyName, err)
		}
		ctrl.LoggerFrom(ctx).Info("created the key Secret of the City's cases", "secret", keyName.String())
	}
	for _, c := range objs {
		if err := r.writeCaseObject(ctx, c); err != nil {
			var invalid *invalidObjectError
			if !errors.As(err, &invalid) {
				return casesState{}, err
			}
			reason := v1alpha1.ReasonRegistryNotReady
			if !c.owned {
				reason = v1alpha1.ReasonDatabaseNotReady
			}
			return casesNotReady(reason, err.Error(), 0), nil
		}
	}
	if err := r.pruneCases(ctx, o, cases, registry); err != nil {
		return casesState{}, err
	}

	var deploy appsv1.Deployment
	if err := r.client.Get(ctx, types.NamespacedName{Namespace: ns, Name: casestore.RegistryName(o.Name)}, &deploy); err != nil {
		if !apierrors.IsNotFound(err) {
			return casesState{}, err
		}
		// Made a moment ago: its event brings the City back.
	}
	o.Status.CasesStore.ReadyReplicas = deploy.Status.ReadyReplicas
	if state, ok, err := r.databaseReady(ctx, o, objs); err != nil || !ok {
		return state, err
	}
	want := casestore.Replicas(cases)
	if deploy.Status.ReadyReplicas < want {
		// The Deployment's status changes bring the City back.
		return casesNotReady(v1alpha1.ReasonRegistryNotReady, fmt.Sprintf("Deployment %s/%s has %d of %d replicas ready",
			ns, deploy.Name, deploy.Status.ReadyReplicas, want), 0), nil
	}
	return casesState{status: metav1.ConditionTrue, reason: v1alpha1.ReasonReconciled,
		message: fmt.Sprintf("database %s ready; registry %s serves with %d replicas", o.Status.CasesStore.Database, o.Status.CasesStore.Registry, deploy.Status.ReadyReplicas)}, nil
}

// databaseReady says whether the City's database is ready: the
// CloudNativePG Cluster has a ready instance, or the external database's
// Secret holds its key. The Secret's value is not looked at.
func (r *officeReconciler) databaseReady(ctx context.Context, o *v1alpha1.Office, objs []*caseObject) (casesState, bool, error) {
	cases, ns := o.Spec.Cases, r.opts.CasesNamespace
	if ext := cases.External; ext != nil {
		var secret corev1.Secret
		name := types.NamespacedName{Namespace: ns, Name: ext.SecretRef.Name}
		err := r.applier.reader.Get(ctx, name, &secret)
		switch {
		case apierrors.IsNotFound(err):
			return casesNotReady(v1alpha1.ReasonDatabaseNotReady, fmt.Sprintf("spec.cases.external.secretRef: Secret %s does not exist", name), casesPoll), false, nil
		case err != nil:
			return casesState{}, false, fmt.Errorf("reading Secret %s: %w", name, err)
		}
		if _, ok := secret.Data[ext.SecretRef.Key]; !ok {
			return casesNotReady(v1alpha1.ReasonDatabaseNotReady, fmt.Sprintf("spec.cases.external.secretRef: Secret %s has no key %q", name, ext.SecretRef.Key), casesPoll), false, nil
		}
		return casesState{}, true, nil
	}
	for _, c := range objs {
		if c.rendered.GroupVersionKind() != casestore.ClusterGVK {
			continue
		}
		// Read again: the write may have made it.
		if err := r.readCaseObject(ctx, c); err != nil {
			return casesState{}, false, err
		}
		readyInstances, _, _ := unstructured.NestedInt64(c.live, "status", "readyInstances")
		phase, _, _ := unstructured.NestedString(c.live, "status", "phase")
		if readyInstances >= 1 || phase == "Cluster in healthy state" {
			return casesState{}, true, nil
		}
		msg := fmt.Sprintf("CloudNativePG Cluster %s/%s has no ready instance yet", ns, c.rendered.GetName())
		if phase != "" {
			msg += " (phase: " + phase + ")"
		}
		return casesNotReady(v1alpha1.ReasonDatabaseNotReady, msg, casesPoll), false, nil
	}
	return casesState{}, false, errors.New("no CloudNativePG Cluster rendered")
}

// readCaseObject reads c's live object: an owned one from the cache, which
// holds the operator's objects only, and from the API server when the
// cache lacks it (one that is not the operator's, or made a moment ago); a
// database object from the API server (its kind is not cached).
func (r *officeReconciler) readCaseObject(ctx context.Context, c *caseObject) error {
	c.live, c.managed = nil, false
	city := c.rendered.GetLabels()[casestore.LabelCity]
	key := client.ObjectKeyFromObject(c.rendered)
	if c.owned {
		typed, err := r.applier.scheme.New(c.rendered.GroupVersionKind())
		if err != nil {
			return err
		}
		obj := typed.(client.Object)
		err = r.client.Get(ctx, key, obj)
		if err == nil {
			if c.live, err = runtime.DefaultUnstructuredConverter.ToUnstructured(obj); err != nil {
				return err
			}
			c.managed = casestore.Managed(obj, city)
			return nil
		}
		if !apierrors.IsNotFound(err) {
			return err
		}
		live, err := r.applier.readMetadata(ctx, c.rendered)
		if err != nil || live == nil {
			return err
		}
		// Labelled, and not yet in the cache: written below from the
		// API server's metadata.
		c.live, c.managed = map[string]any{"metadata": map[string]any{}}, casestore.Managed(live, city)
		return nil
	}
	live := &unstructured.Unstructured{}
	live.SetGroupVersionKind(c.rendered.GroupVersionKind())
	if err := r.applier.reader.Get(ctx, key, live); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("reading %s: %w", c.describe(), err)
	}
	c.live, c.managed = live.Object, casestore.Managed(live, city)
	return nil
}

// writeCaseObject creates c when it does not exist (a create, which never
// takes over an object made meanwhile) and applies it when its live state
// lacks a rendered field.
func (r *officeReconciler) writeCaseObject(ctx context.Context, c *caseObject) error {
	obj := c.rendered
	if c.live == nil {
		err := r.client.Create(ctx, obj.DeepCopy(), client.FieldOwner(FieldOwner))
		switch {
		case err == nil:
			return nil
		case refused(err):
			return &invalidObjectError{fmt.Errorf("%s: %w", c.describe(), err)}
		case apierrors.IsAlreadyExists(err):
			// Made meanwhile: judged at the next reconcile.
			return fmt.Errorf("creating %s: it was made meanwhile", c.describe())
		default:
			return fmt.Errorf("creating %s: %w", c.describe(), err)
		}
	}
	if ssa.InSync(c.live, obj.Object) {
		return nil
	}
	// The fields of the create belong to the operator's Update entry: hand
	// them to its Apply entry, so that the apply drops a field no longer
	// rendered (once in an object's life).
	if err := r.applier.upgradeFields(ctx, obj, nil); err != nil {
		return err
	}
	err := r.client.Apply(ctx, client.ApplyConfigurationFromUnstructured(obj), client.FieldOwner(FieldOwner), client.ForceOwnership)
	if refused(err) {
		return &invalidObjectError{fmt.Errorf("%s: %w", c.describe(), err)}
	}
	if err != nil {
		return fmt.Errorf("applying %s: %w", c.describe(), err)
	}
	return nil
}

// pruneCases deletes what the case store no longer renders and the
// operator made: the registry's PodDisruptionBudget at one replica, the
// ScheduledBackup without spec.cases.cloudNativePG.backup.
func (r *officeReconciler) pruneCases(ctx context.Context, o *v1alpha1.Office, cases *v1alpha1.OfficeCases, registry []*unstructured.Unstructured) error {
	ns, name := r.opts.CasesNamespace, casestore.RegistryName(o.Name)
	rendered := map[string]bool{}
	for _, u := range registry {
		rendered[u.GetKind()] = true
	}
	for _, gvk := range casestore.RegistryKinds {
		if !rendered[gvk.Kind] {
			if err := r.deleteOwned(ctx, o, gvk.Kind, types.NamespacedName{Namespace: ns, Name: name}); err != nil {
				return err
			}
		}
	}
	if cases.CloudNativePG == nil || cases.CloudNativePG.Backup == nil {
		if cases.CloudNativePG == nil {
			// Whether CloudNativePG is installed is not known: a backup
			// of an earlier spec is left.
			return nil
		}
		backup := &unstructured.Unstructured{}
		backup.SetGroupVersionKind(casestore.ScheduledBackupGVK)
		key := types.NamespacedName{Namespace: ns, Name: casestore.DatabaseName(o.Name)}
		if err := r.applier.reader.Get(ctx, key, backup); err != nil {
			if apierrors.IsNotFound(err) {
				return nil
			}
			return fmt.Errorf("reading ScheduledBackup %s: %w", key, err)
		}
		if !casestore.Managed(backup, o.Name) {
			return nil
		}
		uid := backup.GetUID()
		if err := r.client.Delete(ctx, backup, client.Preconditions{UID: &uid}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("deleting ScheduledBackup %s: %w", key, err)
		}
	}
	return nil
}

// deleteOwned deletes the registry object of kind and name when the office
// controls it; anything else is left.
func (r *officeReconciler) deleteOwned(ctx context.Context, o *v1alpha1.Office, kind string, key types.NamespacedName) error {
	var obj client.Object
	switch kind {
	case "Deployment":
		obj = &appsv1.Deployment{}
	default:
		for _, gvk := range casestore.RegistryKinds {
			if gvk.Kind == kind {
				typed, err := r.applier.scheme.New(gvk)
				if err != nil {
					return err
				}
				obj = typed.(client.Object)
			}
		}
	}
	if err := r.client.Get(ctx, key, obj); err != nil {
		return client.IgnoreNotFound(err)
	}
	if !metav1.IsControlledBy(obj, o) {
		return nil
	}
	uid := obj.GetUID()
	if err := r.client.Delete(ctx, obj, client.Preconditions{UID: &uid}, client.PropagationPolicy(metav1.DeletePropagationBackground)); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting %s %s: %w", kind, key, err)
	}
	return nil
}

// removeCases deletes the registry of a City whose spec.cases is gone, and
// says that its database and key Secret are kept.
func (r *officeReconciler) removeCases(ctx context.Context, s *officeScope) error {
	o := s.office
	if apimeta.FindStatusCondition(o.Status.Conditions, v1alpha1.ConditionCasesReady) == nil && o.Status.CasesStore == nil {
		return nil
	}
	key := types.NamespacedName{Namespace: r.opts.CasesNamespace, Name: casestore.RegistryName(o.Name)}
	for _, gvk := range casestore.RegistryKinds {
		if err := r.deleteOwned(ctx, o, gvk.Kind, key); err != nil {
			return err
		}
	}
	database := ""
	if o.Status.CasesStore != nil && o.Status.CasesStore.Database != "external" && o.Status.CasesStore.Database != "" {
		database = fmt.Sprintf("CloudNativePG Cluster %s/%s and ", r.opts.CasesNamespace, o.Status.CasesStore.Database)
	}
	r.recorder.Eventf(o, nil, corev1.EventTypeNormal, "CasesRemoved", "Cases", "spec.cases was removed: the registry %s is deleted; the %sthe key Secret %s/%s are kept (docs/cases.md says how to remove them)",
		key, database, r.opts.CasesNamespace, casestore.KeySecretName(o.Name))
	apimeta.RemoveStatusCondition(&o.Status.Conditions, v1alpha1.ConditionCasesReady)
	o.Status.CasesStore = nil
	return nil
}

// operatorAccount is the operator's user name as the API server knows it
// (system:serviceaccount:<namespace>:<name> in a cluster), which the
// registry lets read every office's figures: Options.OperatorAccount, or
// asked of the API server once (a SelfSubjectReview).
func (r *officeReconciler) operatorAccount(ctx context.Context) (string, error) {
	if r.opts.OperatorAccount != "" {
		return r.opts.OperatorAccount, nil
	}
	account := r.opts.account
	account.mu.Lock()
	defer account.mu.Unlock()
	if account.name != "" {
		return account.name, nil
	}
	review := &authenticationv1.SelfSubjectReview{}
	if err := r.client.Create(ctx, review); err != nil {
		return "", fmt.Errorf("asking the API server who the operator is (SelfSubjectReview): %w", err)
	}
	if review.Status.UserInfo.Username == "" {
		return "", errors.New("the API server's SelfSubjectReview names no user")
	}
	account.name = review.Status.UserInfo.Username
	return account.name, nil
}

// accountOnce holds the operator's user name once known.
type accountOnce struct {
	mu   sync.Mutex
	name string
}
