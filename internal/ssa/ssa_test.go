package ssa_test

import (
	"encoding/json"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"

	"github.com/xinfang/petition-operator/internal/ssa"
	"github.com/xinfang/petition-operator/internal/tenant"
)

type m = map[string]any
type l = []any

// field wraps v as the value of spec.field, so that each case compares one
// value below the top level.
func field(v any) m { return m{"spec": m{"field": v}} }

// missing is an object whose spec lacks the field.
func missing() m { return m{"spec": m{}} }

func TestInSync(t *testing.T) {
	for _, tc := range []struct {
		name           string
		live, rendered m
		want           bool
	}{
		// Whole objects.
		{name: "both empty", live: m{}, rendered: m{}, want: true},
		{name: "nothing rendered", live: m{"spec": m{"a": "b"}}, rendered: m{}, want: true},
		{name: "nil live, something rendered", live: nil, rendered: m{"spec": m{}}, want: true},
		{name: "nil live, a value rendered", live: nil, rendered: field("x"), want: false},
		{name: "a missing top-level key", live: m{"metadata": m{"name": "desk"}}, rendered: m{"metadata": m{"name": "desk"}, "data": m{"k": "v"}}, want: false},
		{
			name:     "apiVersion and kind are not compared",
			live:     m{"spec": m{"a": int64(1)}},
			rendered: m{"apiVersion": "apps/v1", "kind": "Deployment", "spec": m{"a": int64(1)}},
			want:     true,
		},
		{
			name:     "apiVersion and kind are not compared even when live differs",
			live:     m{"apiVersion": "v1", "kind": "ConfigMap"},
			rendered: m{"apiVersion": "apps/v1", "kind": "Deployment"},
			want:     true,
		},

		// Nested maps.
		{
			name:     "nested maps equal",
			live:     m{"spec": m{"a": m{"b": m{"c": "d"}}}},
			rendered: m{"spec": m{"a": m{"b": m{"c": "d"}}}},
			want:     true,
		},
		{
			name:     "nested value differs",
			live:     m{"spec": m{"a": m{"b": m{"c": "e"}}}},
			rendered: m{"spec": m{"a": m{"b": m{"c": "d"}}}},
			want:     false,
		},
		{
			name:     "nested key missing",
			live:     m{"spec": m{"a": m{"b": m{}}}},
			rendered: m{"spec": m{"a": m{"b": m{"c": "d"}}}},
			want:     false,
		},
		{
			name:     "extra live fields at every level are allowed",
			live:     m{"status": m{"x": "y"}, "spec": m{"extra": true, "a": m{"b": m{"c": "d", "defaulted": int64(1)}}}},
			rendered: m{"spec": m{"a": m{"b": m{"c": "d"}}}},
			want:     true,
		},
		{name: "a map where live holds a string", live: field("x"), rendered: field(m{"a": "x"}), want: false},
		{name: "a map where live holds a list", live: field(l{"a"}), rendered: field(m{"a": "x"}), want: false},

		// Lists.
		{name: "lists equal", live: field(l{"a", "b"}), rendered: field(l{"a", "b"}), want: true},
		{name: "live list longer", live: field(l{"a", "b", "c"}), rendered: field(l{"a", "b"}), want: false},
		{name: "live list shorter", live: field(l{"a"}), rendered: field(l{"a", "b"}), want: false},
		{name: "list order differs", live: field(l{"b", "a"}), rendered: field(l{"a", "b"}), want: false},
		{
			name:     "list items are compared as objects: extra fields allowed",
			live:     field(l{m{"name": "http", "port": int64(80), "protocol": "TCP"}, m{"name": "metrics", "port": int64(9090), "protocol": "TCP"}}),
			rendered: field(l{m{"name": "http", "port": int64(80)}, m{"name": "metrics", "port": int64(9090)}}),
			want:     true,
		},
		{
			name:     "list items are compared as objects: a field differs",
			live:     field(l{m{"name": "http", "port": int64(8080)}}),
			rendered: field(l{m{"name": "http", "port": int64(80)}}),
			want:     false,
		},
		{name: "a list where live holds a map", live: field(m{"0": "a"}), rendered: field(l{"a"}), want: false},
		{name: "a list where live holds a string", live: field("a"), rendered: field(l{"a"}), want: false},

		// Numbers.
		{name: "int64 equal", live: field(int64(3)), rendered: field(int64(3)), want: true},
		{name: "int64 differs", live: field(int64(4)), rendered: field(int64(3)), want: false},
		{name: "rendered int64, live float64 of the same value", live: field(float64(3)), rendered: field(int64(3)), want: true},
		{name: "rendered float64, live int64 of the same value", live: field(int64(3)), rendered: field(float64(3)), want: true},
		{name: "rendered int64, live int32 of the same value", live: field(int32(3)), rendered: field(int64(3)), want: true},
		{name: "rendered float64, live int32 of the same value", live: field(int32(3)), rendered: field(float64(3)), want: true},
		{name: "rendered int, live int64 of the same value", live: field(int64(3)), rendered: field(3), want: true},
		{name: "rendered int64, live int of the same value", live: field(3), rendered: field(int64(3)), want: true},
		{name: "rendered float64 with a fraction, live int64", live: field(int64(1)), rendered: field(1.5), want: false},
		{name: "float64 equal", live: field(0.25), rendered: field(0.25), want: true},
		{name: "rendered int64, live int32 of another value", live: field(int32(2)), rendered: field(int64(3)), want: false},
		{name: "rendered number, live string of it", live: field("3"), rendered: field(int64(3)), want: false},
		{name: "rendered number, live missing", live: missing(), rendered: field(int64(0)), want: false},
		{name: "rendered zero, live nil", live: field(nil), rendered: field(int64(0)), want: false},
		// Rendered objects come from JSON or YAML, so never hold an
		// int32: one is compared as any other value, not widened.
		{name: "rendered int32, live int64", live: field(int64(3)), rendered: field(int32(3)), want: false},
		{name: "rendered int32, live int32", live: field(int32(3)), rendered: field(int32(3)), want: true},

		// Other scalars.
		{name: "strings equal", live: field("a"), rendered: field("a"), want: true},
		{name: "strings differ", live: field("A"), rendered: field("a"), want: false},
		{name: "empty string, live missing", live: missing(), rendered: field(""), want: false},
		{name: "bools equal", live: field(false), rendered: field(false), want: true},
		{name: "bool, live string of it", live: field("true"), rendered: field(true), want: false},
		{name: "bool false, live missing", live: missing(), rendered: field(false), want: false},

		// nil and empty.
		{name: "empty map, live missing", live: missing(), rendered: field(m{}), want: true},
		{name: "empty map, live nil", live: field(nil), rendered: field(m{}), want: true},
		{name: "empty map, live empty", live: field(m{}), rendered: field(m{}), want: true},
		{name: "empty map, live not empty", live: field(m{"a": "b"}), rendered: field(m{}), want: true},
		{name: "empty map, live a string", live: field(""), rendered: field(m{}), want: false},
		{name: "empty map, live an empty list", live: field(l{}), rendered: field(m{}), want: false},
		{name: "nil map, live missing", live: missing(), rendered: field(m(nil)), want: true},
		{name: "empty list, live missing", live: missing(), rendered: field(l{}), want: true},
		{name: "empty list, live nil", live: field(nil), rendered: field(l{}), want: true},
		{name: "empty list, live empty", live: field(l{}), rendered: field(l{}), want: true},
		{name: "empty list, live not empty", live: field(l{"a"}), rendered: field(l{}), want: false},
		{name: "empty list, live an empty map", live: field(m{}), rendered: field(l{}), want: false},
		{name: "nil list, live missing", live: missing(), rendered: field(l(nil)), want: true},
		{name: "a map with a key, live missing", live: missing(), rendered: field(m{"a": "b"}), want: false},
		{name: "a list with an item, live missing", live: missing(), rendered: field(l{"a"}), want: false},
		{name: "rendered null, live missing", live: missing(), rendered: field(nil), want: true},
		{name: "rendered null, live a value", live: field("a"), rendered: field(nil), want: false},
		{name: "rendered null, live an empty map", live: field(m{}), rendered: field(nil), want: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ssa.InSync(tc.live, tc.rendered); got != tc.want {
				t.Errorf("InSync(\n  live     %#v,\n  rendered %#v) = %v, want %v", tc.live, tc.rendered, got, tc.want)
			}
		})
	}
}

// TestInSyncRenderedHash checks that the hash the applier stamps on the
// rendered object is compared as any annotation: a rendering that changed
// only in a field no longer rendered is seen through it.
func TestInSyncRenderedHash(t *testing.T) {
	meta := func(annotations m) m {
		md := m{"name": "desk", "namespace": "office-city"}
		if annotations != nil {
			md["annotations"] = annotations
		}
		return m{"metadata": md, "data": m{"config.json": "{}"}}
	}
	rendered := meta(m{tenant.AnnotationRendered: "0123456789abcdef"})
	for _, tc := range []struct {
		name string
		live m
		want bool
	}{
		{name: "same hash", live: meta(m{tenant.AnnotationRendered: "0123456789abcdef"}), want: true},
		{name: "same hash, other annotations beside", live: meta(m{tenant.AnnotationRendered: "0123456789abcdef", "deployment.kubernetes.io/revision": "3"}), want: true},
		{name: "hash differs", live: meta(m{tenant.AnnotationRendered: "fedcba9876543210"}), want: false},
		{name: "hash missing", live: meta(m{"deployment.kubernetes.io/revision": "3"}), want: false},
		{name: "no annotations", live: meta(nil), want: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ssa.InSync(tc.live, rendered); got != tc.want {
				t.Errorf("InSync() = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestInSyncTypedLive compares as the applier does: the rendered object as
// decoded from JSON (int64 and float64 numbers) against a typed live object,
// as the cache returns it, turned into its unstructured form (int32 fields
// become int64; defaults, managed fields and status present; apiVersion and
// kind absent).
func TestInSyncTypedLive(t *testing.T) {
	const renderedJSON = `{
  "apiVersion": "apps/v1",
  "kind": "Deployment",
  "metadata": {
    "name": "desk",
    "namespace": "office-city",
    "labels": {"app.kubernetes.io/name": "desk"},
    "annotations": {"` + tenant.AnnotationRendered + `": "0123456789abcdef"}
  },
  "spec": {
    "replicas": 2,
    "selector": {"matchLabels": {"app.kubernetes.io/name": "desk"}},
    "template": {
      "metadata": {"labels": {"app.kubernetes.io/name": "desk"}},
      "spec": {
        "containers": [{
          "name": "desk",
          "image": "registry.example/desk:1.2.3",
          "args": ["--config", "/etc/desk/config.json"],
          "ports": [{"name": "http", "containerPort": 8080}],
          "resources": {"limits": {"memory": "128Mi"}}
        }],
        "volumes": []
      }
    }
  }
}`
	var rendered map[string]any
	if err := json.Unmarshal([]byte(renderedJSON), &rendered); err != nil {
		t.Fatal(err)
	}
	// encoding/json yields float64 numbers; the unstructured decoder the
	// renderer uses yields int64. Either must compare equal to the live
	// int64.
	renderedInt64 := mustDecodeUnstructured(t, renderedJSON)
	if _, ok := renderedInt64["spec"].(map[string]any)["replicas"].(int64); !ok {
		t.Fatalf("spec.replicas decoded as %T, want int64", renderedInt64["spec"].(map[string]any)["replicas"])
	}
	if _, ok := rendered["spec"].(map[string]any)["replicas"].(float64); !ok {
		t.Fatalf("spec.replicas decoded as %T, want float64", rendered["spec"].(map[string]any)["replicas"])
	}

	live := func(edit func(*appsv1.Deployment)) map[string]any {
		d := &appsv1.Deployment{}
		if err := json.Unmarshal([]byte(renderedJSON), d); err != nil {
			t.Fatal(err)
		}
		// What the cache returns: no type meta, and what the API server
		// and the controllers added.
		d.TypeMeta = metav1.TypeMeta{}
		d.UID = "0b6a6c5e-4a57-4c4e-9a3e-000000000001"
		d.Generation = 4
		d.ManagedFields = []metav1.ManagedFieldsEntry{{Manager: "petition-operator", Operation: metav1.ManagedFieldsOperationApply}}
		d.Annotations["deployment.kubernetes.io/revision"] = "4"
		d.Spec.RevisionHistoryLimit = ptr.To[int32](10)
		d.Spec.ProgressDeadlineSeconds = ptr.To[int32](600)
		c := &d.Spec.Template.Spec.Containers[0]
		c.ImagePullPolicy = corev1.PullIfNotPresent
		c.TerminationMessagePath = "/dev/termination-log"
		c.Ports[0].Protocol = corev1.ProtocolTCP
		d.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyAlways
		d.Status.ReadyReplicas = 2
		if edit != nil {
			edit(d)
		}
		u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(d)
		if err != nil {
			t.Fatal(err)
		}
		return u
	}

	for _, tc := range []struct {
		name string
		edit func(*appsv1.Deployment)
		want bool
	}{
		{name: "as applied, with defaults and status", want: true},
		{name: "replicas scaled by hand", edit: func(d *appsv1.Deployment) { d.Spec.Replicas = ptr.To[int32](3) }, want: false},
		{name: "image changed", edit: func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].Image = "registry.example/desk:1.2.4" }, want: false},
		{name: "port changed", edit: func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].Ports[0].ContainerPort = 8081 }, want: false},
		{name: "an arg removed", edit: func(d *appsv1.Deployment) {
			d.Spec.Template.Spec.Containers[0].Args = d.Spec.Template.Spec.Containers[0].Args[:1]
		}, want: false},
		{name: "a container added", edit: func(d *appsv1.Deployment) {
			d.Spec.Template.Spec.Containers = append(d.Spec.Template.Spec.Containers, corev1.Container{Name: "sidecar", Image: "busybox"})
		}, want: false},
		{name: "a label removed", edit: func(d *appsv1.Deployment) { delete(d.Labels, "app.kubernetes.io/name") }, want: false},
		{name: "a label added", edit: func(d *appsv1.Deployment) { d.Labels["team"] = "ops" }, want: true},
		{name: "an older rendering's hash", edit: func(d *appsv1.Deployment) { d.Annotations[tenant.AnnotationRendered] = "fedcba9876543210" }, want: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := live(tc.edit)
			if got := ssa.InSync(l, rendered); got != tc.want {
				t.Errorf("rendered with float64 numbers: InSync() = %v, want %v", got, tc.want)
			}
			if got := ssa.InSync(l, renderedInt64); got != tc.want {
				t.Errorf("rendered with int64 numbers: InSync() = %v, want %v", got, tc.want)
			}
		})
	}
}

// mustDecodeUnstructured decodes data as the renderer does, into int64
// numbers where they are whole.
func mustDecodeUnstructured(t *testing.T, data string) map[string]any {
	t.Helper()
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON([]byte(data)); err != nil {
		t.Fatal(err)
	}
	return u.Object
}
