// Package argocd proves the Argo CD health check of docs/argocd/health.lua:
// it runs the script the way Argo CD runs a custom check from argocd-cm, on
// statuses made up here and on the objects the operator writes (live_test.go),
// and checks that docs/gitops.md installs exactly this script, once, for
// every kind.
package argocd

import (
	"encoding/json"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/tools/internal/repo"
)

// healthKey is the one entry of argocd-cm's resource.customizations the
// script is installed under: a wildcard over the API group's kinds.
var healthKey = v1alpha1.GroupVersion.Group + "/*"

// health is what a health check returns.
type health struct{ Status, Message string }

// runHealth runs script the way Argo CD runs a health check configured in
// argocd-cm (util/lua in argoproj/argo-cd): a state without the standard
// libraries but package, base and table (Argo CD adds a reduced os, which
// the script does not use), the object as the global obj, and the table the
// chunk returns.
func runHealth(t *testing.T, script string, obj map[string]any) health {
	t.Helper()
	l := lua.NewState(lua.Options{SkipOpenLibs: true})
	defer l.Close()
	for name, open := range map[string]lua.LGFunction{
		lua.LoadLibName: lua.OpenPackage, lua.BaseLibName: lua.OpenBase, lua.TabLibName: lua.OpenTable,
	} {
		if err := l.CallByParam(lua.P{Fn: l.NewFunction(open), Protect: true}, lua.LString(name)); err != nil {
			t.Fatalf("opening %s: %v", name, err)
		}
	}
	l.SetGlobal("obj", toLua(l, obj))
	if err := l.DoString(script); err != nil {
		t.Fatalf("running the health check: %v", err)
	}
	tbl, ok := l.Get(-1).(*lua.LTable)
	if !ok {
		t.Fatalf("the health check returned %s, not a table", l.Get(-1).Type())
	}
	h := health{Status: lua.LVAsString(tbl.RawGetString("status")), Message: lua.LVAsString(tbl.RawGetString("message"))}
	switch h.Status {
	case "Healthy", "Progressing", "Degraded", "Suspended", "Missing", "Unknown":
	default:
		t.Fatalf("the health check returned status %q, which Argo CD turns into Unknown", h.Status)
	}
	return h
}

// toLua converts an unstructured value to Lua as Argo CD does: objects and
// arrays to tables, every number to a Lua number, json.Number to a string.
func toLua(l *lua.LState, v any) lua.LValue {
	switch v := v.(type) {
	case map[string]any:
		t := l.CreateTable(0, len(v))
		for k, item := range v {
			t.RawSetH(lua.LString(k), toLua(l, item))
		}
		return t
	case []any:
		t := l.CreateTable(len(v), 0)
		for _, item := range v {
			t.Append(toLua(l, item))
		}
		return t
	case string:
		return lua.LString(v)
	case json.Number:
		return lua.LString(v)
	case bool:
		return lua.LBool(v)
	case int:
		return lua.LNumber(v)
	case int32:
		return lua.LNumber(v)
	case int64:
		return lua.LNumber(v)
	case float64:
		return lua.LNumber(v)
	}
	return lua.LNil
}

// docPath is the path of a file under the repository's docs/.
func docPath(t *testing.T, elem ...string) string {
	t.Helper()
	root, err := repo.Root()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(append([]string{root, "docs"}, elem...)...)
}

func script(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(docPath(t, "argocd", "health.lua"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// statusOf is the status the operator writes (controllers/status.go): Ready
// always, the companion condition (Reconciling or Stalled) when not Ready and
// not idle, observedGeneration on the status and on every condition.
func statusOf(observed int64, ready metav1.ConditionStatus, reason, message, companion string) v1alpha1.StatusCommon {
	st := v1alpha1.StatusCommon{ObservedGeneration: observed}
	at := metav1.Unix(1790000000, 0)
	st.Conditions = append(st.Conditions, metav1.Condition{
		Type: v1alpha1.ConditionReady, Status: ready, Reason: reason, Message: message, ObservedGeneration: observed, LastTransitionTime: at,
	})
	if companion != "" {
		st.Conditions = append(st.Conditions, metav1.Condition{
			Type: companion, Status: metav1.ConditionTrue, Reason: reason, Message: message, ObservedGeneration: observed, LastTransitionTime: at,
		})
	}
	return st
}

func office(name string, generation int64, st v1alpha1.StatusCommon) runtime.Object {
	o := &v1alpha1.Office{
		TypeMeta:   metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion.String(), Kind: "Office"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Generation: generation},
		Spec:       v1alpha1.OfficeSpec{Level: v1alpha1.LevelCity},
	}
	o.Status.StatusCommon = st
	return o
}

// unstructuredOf converts obj as the API machinery does for Argo CD's live
// objects: integers stay int64.
func unstructuredOf(t *testing.T, obj runtime.Object) map[string]any {
	t.Helper()
	u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

const (
	readyOffice   = "tenant stack applied in office-nanyang-city; office at nanyang-city"
	parentMissing = `parent office "nanyang-city" does not exist`
	renderFailed  = "Namespace office-nanyang-city: the label pod-security.kubernetes.io/enforce must stay restricted"
	suspended     = "spec.suspend is true: the tenant stack is left as it is"
)

// rolloutObject is a RoutingPolicy or the TenantDefaults, objects with a
// staged rollout, at generation with status st.
func rolloutObject(kind string, generation int64, st v1alpha1.StatusCommon) runtime.Object {
	meta := metav1.ObjectMeta{Name: "default", Generation: generation}
	tm := metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion.String(), Kind: kind}
	if kind == "RoutingPolicy" {
		return &v1alpha1.RoutingPolicy{TypeMeta: tm, ObjectMeta: meta, Status: v1alpha1.RoutingPolicyStatus{StatusCommon: st}}
	}
	return &v1alpha1.TenantDefaults{TypeMeta: tm, ObjectMeta: meta, Status: v1alpha1.TenantDefaultsStatus{StatusCommon: st}}
}

func TestHealth(t *testing.T) {
	lua := script(t)
	cases := []struct {
		name string
		obj  runtime.Object
		want health
	}{{
		name: "ready office",
		obj:  office("nanyang-city", 3, statusOf(3, metav1.ConditionTrue, v1alpha1.ReasonReconciled, readyOffice, "")),
		want: health{"Healthy", readyOffice},
	}, {
		name: "office waiting for its parent",
		obj:  office("zhenping-county", 1, statusOf(1, metav1.ConditionFalse, v1alpha1.ReasonParentMissing, parentMissing, v1alpha1.ConditionReconciling)),
		want: health{"Progressing", parentMissing},
	}, {
		name: "stalled office",
		obj:  office("nanyang-city", 2, statusOf(2, metav1.ConditionFalse, v1alpha1.ReasonRenderFailed, renderFailed, v1alpha1.ConditionStalled)),
		want: health{"Degraded", renderFailed},
	}, {
		name: "spec change not observed yet",
		obj:  office("nanyang-city", 4, statusOf(3, metav1.ConditionTrue, v1alpha1.ReasonReconciled, readyOffice, "")),
		want: health{"Progressing", "Office generation is 4, but latest observed generation is 3"},
	}, {
		// A fix to a stalled spec is Progressing until the operator has
		// looked at it, not Degraded.
		name: "stalled office whose spec changed",
		obj:  office("nanyang-city", 3, statusOf(2, metav1.ConditionFalse, v1alpha1.ReasonRenderFailed, renderFailed, v1alpha1.ConditionStalled)),
		want: health{"Progressing", "Office generation is 3, but latest observed generation is 2"},
	}, {
		name: "office without status",
		obj:  office("nanyang-city", 1, v1alpha1.StatusCommon{}),
		want: health{"Progressing", "Waiting for the operator to observe generation 1"},
	}, {
		name: "suspended office",
		obj:  office("nanyang-city", 2, statusOf(2, metav1.ConditionFalse, v1alpha1.ReasonSuspended, suspended, "")),
		want: health{"Suspended", suspended},
	}, {
		name: "paused routing policy",
		obj:  rolloutObject("RoutingPolicy", 3, statusOf(3, metav1.ConditionFalse, v1alpha1.ReasonRolloutPaused, "rollout paused at stage 2 of 3", "")),
		want: health{"Suspended", "rollout paused at stage 2 of 3"},
	}, {
		name: "tenant defaults rolling out",
		obj: rolloutObject("TenantDefaults", 2, statusOf(2, metav1.ConditionFalse, v1alpha1.ReasonRolloutProgressing,
			"stage 1 of 3: 1 of 1 offices updated", v1alpha1.ConditionReconciling)),
		want: health{"Progressing", "stage 1 of 3: 1 of 1 offices updated"},
	}, {
		name: "paused tenant defaults",
		obj:  rolloutObject("TenantDefaults", 3, statusOf(3, metav1.ConditionFalse, v1alpha1.ReasonRolloutPaused, "rollout paused at stage 1 of 3", "")),
		want: health{"Suspended", "rollout paused at stage 1 of 3"},
	}, {
		name: "ready routing policy",
		obj: &v1alpha1.RoutingPolicy{
			TypeMeta:   metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion.String(), Kind: "RoutingPolicy"},
			ObjectMeta: metav1.ObjectMeta{Name: "land", Generation: 1},
			Status: v1alpha1.RoutingPolicyStatus{StatusCommon: statusOf(1, metav1.ConditionTrue, v1alpha1.ReasonReconciled,
				"1 rules for 0 offices", "")},
		},
		want: health{"Healthy", "1 rules for 0 offices"},
	}, {
		name: "ready escalation policy",
		obj: &v1alpha1.EscalationPolicy{
			TypeMeta:   metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion.String(), Kind: "EscalationPolicy"},
			ObjectMeta: metav1.ObjectMeta{Name: "statutory", Generation: 1},
			Status: v1alpha1.EscalationPolicyStatus{StatusCommon: statusOf(1, metav1.ConditionTrue, v1alpha1.ReasonReconciled,
				"4 stages accepted", "")},
		},
		want: health{"Healthy", "4 stages accepted"},
	}, {
		name: "ready holiday calendar",
		obj: &v1alpha1.HolidayCalendar{
			TypeMeta:   metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion.String(), Kind: "HolidayCalendar"},
			ObjectMeta: metav1.ObjectMeta{Name: "cn-2026", Generation: 2},
			Status: v1alpha1.HolidayCalendarStatus{StatusCommon: statusOf(2, metav1.ConditionTrue, v1alpha1.ReasonReconciled,
				"2 holidays over 16 days", "")},
		},
		want: health{"Healthy", "2 holidays over 16 days"},
	}, {
		name: "holiday calendar with an impossible date",
		obj: &v1alpha1.HolidayCalendar{
			TypeMeta:   metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion.String(), Kind: "HolidayCalendar"},
			ObjectMeta: metav1.ObjectMeta{Name: "feb-30", Generation: 1},
			Status: v1alpha1.HolidayCalendarStatus{StatusCommon: statusOf(1, metav1.ConditionFalse, v1alpha1.ReasonInvalidDate,
				`spec.holidays[0].to: "2026-02-30" is not a valid date (YYYY-MM-DD)`, v1alpha1.ConditionStalled)},
		},
		want: health{"Degraded", `spec.holidays[0].to: "2026-02-30" is not a valid date (YYYY-MM-DD)`},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			u := unstructuredOf(t, tc.obj)
			if got := runHealth(t, lua, u); got != tc.want {
				t.Errorf("health = %+v, want %+v", got, tc.want)
			}
			// The same object decoded from JSON, where every number is a
			// float64, gives the same answer.
			b, err := json.Marshal(u)
			if err != nil {
				t.Fatal(err)
			}
			var fromJSON map[string]any
			if err := json.Unmarshal(b, &fromJSON); err != nil {
				t.Fatal(err)
			}
			if got := runHealth(t, lua, fromJSON); got != tc.want {
				t.Errorf("from JSON: health = %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestGitOpsDocInstallsThisScript checks that the argocd-cm of
// docs/gitops.md holds health.lua, byte for byte, under the one wildcard
// key.
func TestGitOpsDocInstallsThisScript(t *testing.T) {
	doc, err := os.ReadFile(docPath(t, "gitops.md"))
	if err != nil {
		t.Fatal(err)
	}
	var cm *corev1.ConfigMap
	for _, m := range regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllSubmatch(doc, -1) {
		var c corev1.ConfigMap
		if err := yaml.Unmarshal(m[1], &c); err != nil || c.Kind != "ConfigMap" || c.Name != "argocd-cm" {
			continue
		}
		if cm != nil {
			t.Fatal("docs/gitops.md has more than one argocd-cm")
		}
		cm = &c
	}
	if cm == nil {
		t.Fatal("docs/gitops.md has no argocd-cm in a yaml block")
	}
	// A key with a character a ConfigMap key may not hold would be refused
	// by the API server.
	for key := range cm.Data {
		for _, msg := range validation.IsConfigMapKey(key) {
			t.Errorf("argocd-cm key %q: %s", key, msg)
		}
	}
	if len(cm.Data) != 1 {
		t.Errorf("argocd-cm has %d keys, want resource.customizations alone", len(cm.Data))
	}
	var customizations map[string]struct {
		HealthLua string `json:"health.lua"`
	}
	if err := yaml.UnmarshalStrict([]byte(cm.Data["resource.customizations"]), &customizations); err != nil {
		t.Fatalf("argocd-cm's resource.customizations: %v", err)
	}
	if got, ok := customizations[healthKey]; !ok {
		t.Errorf("argocd-cm's resource.customizations has no %s", healthKey)
	} else if got.HealthLua != script(t) {
		t.Errorf("argocd-cm's %s health.lua differs from docs/argocd/health.lua", healthKey)
	}
	if len(customizations) != 1 {
		t.Errorf("resource.customizations has %d entries, want the one wildcard %s", len(customizations), healthKey)
	}
}

// TestHealthKeyCoversEveryKind checks that the wildcard key matches every
// kind of the API group as Argo CD matches an entry against <group>/<kind>
// (a glob), and nothing of another group.
func TestHealthKeyCoversEveryKind(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	pattern := healthKey
	var kinds []string
	for gvk := range scheme.AllKnownTypes() {
		if gvk.Group != v1alpha1.GroupVersion.Group || strings.HasSuffix(gvk.Kind, "List") {
			continue
		}
		kinds = append(kinds, gvk.Kind)
		if ok, err := path.Match(pattern, gvk.Group+"/"+gvk.Kind); err != nil || !ok {
			t.Errorf("%s does not match %s/%s", pattern, gvk.Group, gvk.Kind)
		}
	}
	if len(kinds) < 6 {
		t.Errorf("the API group has %d kinds (%v), want at least 6", len(kinds), kinds)
	}
	if ok, _ := path.Match(pattern, "apps/Deployment"); ok {
		t.Errorf("%s matches apps/Deployment", pattern)
	}
}
