// Package ssa holds the comparison that lets the operator skip a
// server-side apply: whether a live object already holds every field of the
// rendered one.
//
// Applying an object that is already in sync still costs a write to the API
// server on each reconcile; comparing with the object in the cache costs
// nothing. The package only compares; reading the live object is the
// caller's.
package ssa

import "reflect"

// InSync reports whether live, an object as read back from the cluster in
// its unstructured form, holds every field of rendered, the object about to
// be applied: live may hold more (defaults, status, other managers' fields),
// never less or other.
//
// Maps must hold rendered's keys, each with a value that holds rendered's;
// lists must have rendered's length and hold its items in the same order;
// numbers compare by value (an int64 equals a float64 of the same value, as
// JSON decoding and a typed object's conversion yield either); other values
// must be equal. An empty map or list in rendered is held by a missing
// field. apiVersion and kind are not compared: a typed object read from the
// cache does not carry them.
//
// Holding every rendered field does not prove that an apply would change
// nothing: a field applied before and rendered no more is still in live. The
// caller stamps rendered with a hash of the rendering (an annotation, so
// compared like any field) to see such a change.
func InSync(live, rendered map[string]any) bool {
	for k, v := range rendered {
		if k == "apiVersion" || k == "kind" {
			continue
		}
		if !contains(live[k], v) {
			return false
		}
	}
	return true
}

// contains reports whether live holds every field of want: maps hold want's
// keys, lists have want's length and hold its items in order, scalars are
// equal (numbers compared by value).
func contains(live, want any) bool {
	switch w := want.(type) {
	case map[string]any:
		l, ok := live.(map[string]any)
		if !ok {
			return len(w) == 0 && live == nil
		}
		for k, v := range w {
			if !contains(l[k], v) {
				return false
			}
		}
		return true
	case []any:
		l, ok := live.([]any)
		if !ok || len(l) != len(w) {
			return len(w) == 0 && live == nil
		}
		for i := range w {
			if !contains(l[i], w[i]) {
				return false
			}
		}
		return true
	case int64, float64, int:
		return number(live) == number(want) && number(live) != nil
	default:
		return reflect.DeepEqual(live, want)
	}
}

// number returns v as a float64 when it is one of the number types an
// unstructured object holds, nil otherwise.
func number(v any) any {
	switch n := v.(type) {
	case int64:
		return float64(n)
	case int:
		return float64(n)
	case int32:
		return float64(n)
	case float64:
		return n
	}
	return nil
}
