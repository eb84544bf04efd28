package registry_test

import (
	"strings"
	"testing"

	"k8s.io/client-go/rest"

	"github.com/xinfang/petition-operator/internal/registry"
)

// TestOperatorAccountsAreServiceAccounts: an operator account is a
// ServiceAccount's user name, system:serviceaccount:<namespace>:<name>;
// anything else is refused, naming what is wrong, before any token is
// reviewed.
func TestOperatorAccountsAreServiceAccounts(t *testing.T) {
	cfg := &rest.Config{Host: "https://127.0.0.1:1"}
	for account, want := range map[string]string{
		"system:serviceaccount:petition-system:petition-operator": "",
		"petition-operator":                                   "not a ServiceAccount's user name",
		"system:serviceaccount:petition-system":               "not a ServiceAccount's user name",
		"system:serviceaccount:Petition_System:op":            "namespace",
		"system:serviceaccount:petition-system:Op!":           "ServiceAccount",
		"system:serviceaccount:a:" + strings.Repeat("b", 400): "at most 320",
	} {
		_, err := registry.NewTokenReviewer(cfg, registry.Static{}, registry.TokenReviewOptions{Operators: []string{account}})
		if want == "" && err != nil {
			t.Errorf("%.60s: %v; want it taken", account, err)
		}
		if want != "" && (err == nil || !strings.Contains(err.Error(), want)) {
			t.Errorf("%.60s: %v; want an error saying %q", account, err, want)
		}
	}
}
