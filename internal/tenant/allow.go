package tenant

import (
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/xinfang/petition-operator/api/v1alpha1"
)

// Allowed says in a line what tenant patches may change; the errors of the
// allow-list end with it.
const Allowed = "patches may change only the desk container's env, args (not the --registry-* ones, which are the operator's), probes and resources, " +
	"labels under office.petition.xinfang.io/ and annotations under it or without a prefix (and those TenantDefaults spec.tenantMetadata allows) of any object and the pod template, " +
	"topology spread and pod anti-affinity among the desk's own pods, strategy, minReadySeconds, " +
	"progressDeadlineSeconds and terminationGracePeriodSeconds (replicas: spec.tenant.replicas)"

// allowRule is a field a patch may change: its path from the object's root,
// "*" matching any one key or index, and a check of the value the patch
// leaves there (nil when the patch removed it), or of the change from the
// value rendered without patches.
type allowRule struct {
	path   []string
	check  func(l Limits, after any) error
	change func(l Limits, before, after any) error
}

func rule(path string, check func(Limits, any) error) allowRule {
	return allowRule{path: strings.Split(path, "."), check: check}
}

// changeRule is a rule whose check sees the value before the patches too.
func changeRule(path string, change func(l Limits, before, after any) error) allowRule {
	return allowRule{path: strings.Split(path, "."), change: change}
}

var (
	anyValue = func(Limits, any) error { return nil }
	metaKeys = []allowRule{
		rule("metadata.labels.*", nil),
		rule("metadata.annotations.*", nil),
	}
	deskContainer = "spec.template.spec.containers.0."
	// allowList is, per kind, what a patch may change beyond metaKeys.
	allowList = map[string][]allowRule{
		"Deployment": {
			rule("spec.minReadySeconds", intWithin(0, 3600)),
			rule("spec.progressDeadlineSeconds", intWithin(1, 3600)),
			rule("spec.strategy", anyValue),
			rule("spec.template.metadata.labels.*", nil),
			rule("spec.template.metadata.annotations.*", nil),
			rule("spec.template.spec.terminationGracePeriodSeconds", intWithin(0, 300)),
			rule("spec.template.spec.topologySpreadConstraints", ownPodsSpread),
			rule("spec.template.spec.affinity", ownPodsAntiAffinity),
			rule(deskContainer+"env", anyValue),
			changeRule(deskContainer+"args", keepRegistryArgs),
			rule(deskContainer+"readinessProbe", probe),
			rule(deskContainer+"livenessProbe", probe),
			rule(deskContainer+"startupProbe", probe),
			rule(deskContainer+"resources", containerResources),
		},
	}
)

// reservedKey reports whether a label or annotation key is in a prefix
// that tenants may not write: Kubernetes' own (Pod Security, node
// placement, cloud load balancers …) and the operator's.
func reservedKey(key string) bool {
	prefix, _, ok := strings.Cut(key, "/")
	if !ok {
		return false
	}
	for _, domain := range []string{"kubernetes.io", "k8s.io", "xinfang.io"} {
		if prefix == domain || strings.HasSuffix(prefix, "."+domain) {
			return true
		}
	}
	return false
}

// OfficeKeyPrefix is the prefix of the label and annotation keys that
// tenant patches may always set: the office's own, which neither the
// operator nor other software reads.
const OfficeKeyPrefix = "office.petition.xinfang.io/"

// allowedKey says why a patch may not set, change or remove the label (of
// is "labels") or annotation (of is "annotations") key, or nil: a key is
// allowed under OfficeKeyPrefix, an annotation key without a prefix, and
// what TenantDefaults spec.tenantMetadata lists, never under the reserved
// prefixes. Other software acts on labels and annotations (networks, IP
// pools, cloud identities, sidecars, checks, other namespaces'
// NetworkPolicy selectors), so the list is of what is allowed.
func allowedKey(l Limits, of, key string) error {
	if strings.HasPrefix(key, OfficeKeyPrefix) {
		return nil
	}
	if reservedKey(key) {
		return fmt.Errorf("the key %q is reserved (kubernetes.io, k8s.io and xinfang.io prefixes): patches may not set, change or remove it", key)
	}
	var keys *v1alpha1.MetadataKeys
	what, field := "annotation", "allowedAnnotations"
	if of == "labels" {
		what, field = "label", "allowedLabels"
		if l.Metadata != nil {
			keys = l.Metadata.AllowedLabels
		}
	} else {
		if !strings.Contains(key, "/") {
			return nil
		}
		if l.Metadata != nil {
			keys = l.Metadata.AllowedAnnotations
		}
	}
	if keys != nil {
		if slices.Contains(keys.Keys, key) {
			return nil
		}
		for _, p := range keys.Prefixes {
			if strings.HasPrefix(key, p) {
				return nil
			}
		}
	}
	builtin := OfficeKeyPrefix
	if what == "annotation" {
		builtin += " or without a prefix"
	}
	return fmt.Errorf("the %s key %q is not allowed: patches may set %ss under %s, and those TenantDefaults spec.tenantMetadata.%s lists", what, key, what, builtin, field)
}

// checkAllowed compares each object a patch changed with the same object
// rendered without patches: the same objects, and every difference on the
// allow-list.
func checkAllowed(base, patched []*unstructured.Unstructured, limits Limits) error {
	index := map[string]*unstructured.Unstructured{}
	for _, o := range base {
		index[objectID(o)] = o
	}
	if len(base) != len(patched) {
		return fmt.Errorf("patches may not add or remove objects of the tenant stack (%d rendered, %d without patches)", len(patched), len(base))
	}
	for _, o := range patched {
		b, ok := index[objectID(o)]
		if !ok {
			return fmt.Errorf("%s: patches may not add, rename or move objects of the tenant stack", objectID(o))
		}
		rules := append(append([]allowRule{}, metaKeys...), allowList[o.GetKind()]...)
		if err := diff(nil, b.Object, o.Object, rules, limits); err != nil {
			return fmt.Errorf("%s %s: %w", o.GetKind(), o.GetName(), err)
		}
	}
	return nil
}

func objectID(o *unstructured.Unstructured) string {
	return o.GetAPIVersion() + " " + o.GetKind() + " " + o.GetNamespace() + "/" + o.GetName()
}

// diff walks before and after together. Where they differ, the path must
// be one of rules (then its check judges the new value) or lead to one.
func diff(path []string, before, after any, rules []allowRule, limits Limits) error {
	if reflect.DeepEqual(before, after) {
		return nil
	}
	if exact := match(path, rules); exact != nil {
		if exact.change != nil {
			if err := exact.change(limits, before, after); err != nil {
				return fmt.Errorf("%s: %w", show(path), err)
			}
			return nil
		}
		if exact.check == nil { // a label or annotation key
			if err := allowedKey(limits, path[len(path)-2], path[len(path)-1]); err != nil {
				return fmt.Errorf("%s: %w", show(path), err)
			}
			return nil
		}
		if err := exact.check(limits, after); err != nil {
			return fmt.Errorf("%s: %w", show(path), err)
		}
		return nil
	}
	// Off the allow-list: walk down to the first field that differs, so
	// that the error names it. A map added or removed as a whole is
	// compared key by key with an empty one where the allow-list reaches
	// below it (an empty metadata.annotations is no change); elsewhere even
	// an empty map is a change.
	if before == nil {
		if a, ok := after.(map[string]any); ok && (len(a) > 0 || ruleBelow(path, rules)) {
			before = map[string]any{}
		}
	}
	if after == nil {
		if b, ok := before.(map[string]any); ok && (len(b) > 0 || ruleBelow(path, rules)) {
			after = map[string]any{}
		}
	}
	switch b := before.(type) {
	case map[string]any:
		if a, ok := after.(map[string]any); ok {
			for _, k := range slices.Sorted(maps.Keys(union(b, a))) {
				if err := diff(slices.Concat(path, []string{k}), b[k], a[k], rules, limits); err != nil {
					return err
				}
			}
			return nil
		}
	case []any:
		// Lists are compared item by item when only items changed: the
		// desk container stays the only container.
		if a, ok := after.([]any); ok && len(a) == len(b) {
			for i := range b {
				if err := diff(slices.Concat(path, []string{strconv.Itoa(i)}), b[i], a[i], rules, limits); err != nil {
					return err
				}
			}
			return nil
		}
	}
	if hint, ok := hints[show(path)]; ok {
		return fmt.Errorf("%s: may not be changed by a tenant patch: %s", show(path), hint)
	}
	return fmt.Errorf("%s: may not be changed by a tenant patch; %s", show(path), Allowed)
}

// hints say, for a field off the allow-list that has a field of the Office
// of its own, where to set it instead.
var hints = map[string]string{
	"spec.replicas": "set spec.tenant.replicas instead, from which the operator sets the Deployment's replicas and its PodDisruptionBudget",
}

// match returns the rule whose path is path, or nil.
func match(path []string, rules []allowRule) *allowRule {
	for i := range rules {
		if len(rules[i].path) == len(path) && rules[i].startsWith(path) {
			return &rules[i]
		}
	}
	return nil
}

// ruleBelow reports whether some rule lies below path.
func ruleBelow(path []string, rules []allowRule) bool {
	for _, r := range rules {
		if len(r.path) > len(path) && r.startsWith(path) {
			return true
		}
	}
	return false
}

// startsWith reports whether the rule's path begins with path, "*"
// matching any one segment.
func (r allowRule) startsWith(path []string) bool {
	if len(r.path) < len(path) {
		return false
	}
	for j, seg := range path {
		if r.path[j] != "*" && r.path[j] != seg {
			return false
		}
	}
	return true
}

func union(a, b map[string]any) map[string]bool {
	keys := make(map[string]bool, len(a)+len(b))
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	return keys
}

func show(path []string) string {
	if len(path) == 0 {
		return "the object"
	}
	return strings.Join(path, ".")
}

func intWithin(lo, hi int64) func(Limits, any) error {
	return func(_ Limits, v any) error {
		if v == nil {
			return nil
		}
		n, ok := v.(int64)
		if !ok || n < lo || n > hi {
			return fmt.Errorf("must be a whole number from %d to %d", lo, hi)
		}
		return nil
	}
}

// probe allows any probe of the desk that the kubelet sends to the pod
// itself: no other host.
func probe(_ Limits, v any) error {
	if v == nil {
		return nil
	}
	p, ok := v.(map[string]any)
	if !ok {
		return errors.New("must be a probe")
	}
	if err := intWithin(1, 300)(Limits{}, p["terminationGracePeriodSeconds"]); err != nil {
		return fmt.Errorf("terminationGracePeriodSeconds %w", err)
	}
	for _, handler := range []string{"httpGet", "tcpSocket"} {
		if h, ok := p[handler].(map[string]any); ok {
			if _, set := h["host"]; set {
				return fmt.Errorf("%s.host may not be set: a probe checks the desk's own pod", handler)
			}
		}
	}
	return nil
}

// containerResources allows resources within limits.ContainerMax, with a
// memory limit kept.
func containerResources(l Limits, v any) error {
	m, _ := v.(map[string]any)
	limitsMap, _ := m["limits"].(map[string]any)
	if _, ok := limitsMap["memory"]; !ok {
		return errors.New("limits.memory may not be removed")
	}
	for k := range m {
		if k != "limits" && k != "requests" {
			return fmt.Errorf("%s may not be set; limits and requests may", k)
		}
	}
	for _, part := range []string{"limits", "requests"} {
		list, _ := m[part].(map[string]any)
		for name, raw := range list {
			s := fmt.Sprint(raw)
			q, err := resource.ParseQuantity(s)
			if err != nil {
				return fmt.Errorf("%s.%s: %q is not a quantity", part, name, s)
			}
			rn := corev1.ResourceName(name)
			if rn != corev1.ResourceCPU && rn != corev1.ResourceMemory && rn != corev1.ResourceEphemeralStorage {
				return fmt.Errorf("%s.%s: only cpu, memory and ephemeral-storage may be set", part, name)
			}
			if msg := l.containerValue(part, rn, q); msg != "" {
				return fmt.Errorf("%s.%s: %s %s", part, name, q.String(), msg)
			}
		}
	}
	return nil
}

// deskSelector reports whether a label selector (as unstructured) selects
// the desk's own pods: it requires app.kubernetes.io/name=desk.
func deskSelector(v any) bool {
	sel, _ := v.(map[string]any)
	labels, _ := sel["matchLabels"].(map[string]any)
	return labels["app.kubernetes.io/name"] == "desk"
}

// ownPodsSpread allows topology spread constraints among the desk's pods.
func ownPodsSpread(_ Limits, v any) error {
	if v == nil {
		return nil
	}
	list, ok := v.([]any)
	if !ok || len(list) > 8 {
		return errors.New("must be a list of at most 8 constraints")
	}
	for i, c := range list {
		m, _ := c.(map[string]any)
		if !deskSelector(m["labelSelector"]) {
			return fmt.Errorf("%d: labelSelector must select the desk's own pods (matchLabels app.kubernetes.io/name: desk)", i)
		}
		// DoNotSchedule (the default) keeps pods off nodes without the
		// key: on a key of the tenant's choosing, that is node placement.
		when, _ := m["whenUnsatisfiable"].(string)
		key, _ := m["topologyKey"].(string)
		if when != string(corev1.ScheduleAnyway) && key != corev1.LabelTopologyZone && key != corev1.LabelHostname {
			return fmt.Errorf("%d: whenUnsatisfiable must be ScheduleAnyway, unless topologyKey is %s or %s", i, corev1.LabelTopologyZone, corev1.LabelHostname)
		}
	}
	return nil
}

// ownPodsAntiAffinity allows pod anti-affinity among the desk's pods, and
// no other affinity: node placement is the platform's.
func ownPodsAntiAffinity(_ Limits, v any) error {
	if v == nil {
		return nil
	}
	m, _ := v.(map[string]any)
	for k := range m {
		if k != "podAntiAffinity" {
			return fmt.Errorf("%s may not be set: only podAntiAffinity among the desk's own pods may", k)
		}
	}
	anti, _ := m["podAntiAffinity"].(map[string]any)
	for kind, raw := range anti {
		terms, ok := raw.([]any)
		if !ok || len(terms) > 8 {
			return fmt.Errorf("podAntiAffinity.%s must be a list of at most 8 terms", kind)
		}
		for i, t := range terms {
			term, _ := t.(map[string]any)
			if inner, ok := term["podAffinityTerm"].(map[string]any); ok {
				term = inner
			}
			_, ns := term["namespaces"]
			_, nsSel := term["namespaceSelector"]
			if ns || nsSel || !deskSelector(term["labelSelector"]) {
				return fmt.Errorf("podAntiAffinity.%s[%d]: must select the desk's own pods (labelSelector matchLabels app.kubernetes.io/name: desk, no namespaces or namespaceSelector)", kind, i)
			}
		}
	}
	return nil
}
