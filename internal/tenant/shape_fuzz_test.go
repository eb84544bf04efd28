package tenant

import (
	"maps"
	"reflect"
	"slices"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
)

// shapes are what FuzzCheckStackShapes puts in place of a node of a
// rendered object; nil deletes it.
var shapes = []any{nil, "open", int64(0), int64(-1), 1.5, true, map[string]any{}, []any{}, []any{"x"}, map[string]any{"x": []any{}}}

// reshape returns a copy of objs where, for each step of ops (three bytes:
// the object, the node in a depth-first walk of it, the shape), that node
// is replaced by that shape or deleted.
func reshape(objs []*unstructured.Unstructured, ops []byte) []*unstructured.Unstructured {
	out := make([]*unstructured.Unstructured, len(objs))
	for i, o := range objs {
		out[i] = &unstructured.Unstructured{Object: runtime.DeepCopyJSON(o.Object)}
	}
	for ; len(ops) >= 3; ops = ops[3:] {
		o := out[int(ops[0])%len(out)]
		var slots []func(any)
		var walk func(v any)
		walk = func(v any) {
			switch v := v.(type) {
			case map[string]any:
				for _, k := range slices.Sorted(maps.Keys(v)) {
					slots = append(slots, func(s any) {
						if s == nil {
							delete(v, k)
						} else {
							v[k] = s
						}
					})
					walk(v[k])
				}
			case []any:
				for i := range v {
					slots = append(slots, func(s any) { v[i] = s })
					walk(v[i])
				}
			}
		}
		walk(o.Object)
		if len(slots) == 0 {
			continue
		}
		slots[int(ops[1])%len(slots)](runtime.DeepCopyJSONValue(shapes[int(ops[2])%len(shapes)]))
	}
	return out
}

// FuzzCheckStackShapes gives the judge rendered stacks of any shape: nodes
// of the objects rendered without patches replaced by strings, numbers,
// empty maps or lists, or deleted, as a patch might leave them. The judge
// (check, then the allow-list) must not panic, and must refuse any change
// of the isolation the operator renders: the NetworkPolicies, the
// Service, the quota and the LimitRange.
func FuzzCheckStackShapes(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{7, 0, 0})   // delete a node of default-deny
	f.Add([]byte{7, 40, 1})  // replace one with a string
	f.Add([]byte{5, 200, 6}) // the Deployment: an empty map somewhere
	f.Add([]byte{5, 90, 0, 5, 91, 7, 5, 92, 2})
	base, err := RenderContext(f.Context(), input(nil))
	if err != nil {
		f.Fatal(err)
	}
	ns := Namespace(input(nil).Office.Name)
	f.Fuzz(func(t *testing.T, ops []byte) {
		if len(ops) > 30 {
			ops = ops[:30]
		}
		objs := reshape(base, ops)
		err := check(objs, ns)
		if err == nil {
			err = checkAllowed(base, objs, DefaultLimits())
		}
		if err != nil {
			return
		}
		for i, o := range objs {
			switch base[i].GetKind() {
			case "NetworkPolicy", "Service", "ResourceQuota", "LimitRange":
				if !reflect.DeepEqual(o.Object["spec"], base[i].Object["spec"]) {
					t.Fatalf("admitted a change of the spec of %s", objectID(base[i]))
				}
			}
		}
	})
}
