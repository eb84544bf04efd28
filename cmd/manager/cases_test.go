package main

import "testing"

// --cases-namespace defaults to the pod's namespace, else petition-system.
func TestCasesNamespace(t *testing.T) {
	for env, want := range map[string]string{"": "petition-system", "petition-operator-system": "petition-operator-system"} {
		got := casesNamespace(func(k string) string {
			if k == "POD_NAMESPACE" {
				return env
			}
			return ""
		})
		if got != want {
			t.Errorf("POD_NAMESPACE=%q: %q, want %q", env, got, want)
		}
	}
}
