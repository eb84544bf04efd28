// Command petitionctl inspects a petition network, offline from the YAML of a
// GitOps repository (-f) or from the cluster of the current kubeconfig. It is
// also a kubectl plugin: installed as kubectl-petition it runs as
// `kubectl petition`.
package main

import (
	"errors"
	"fmt"
	"os"

	// Time zones work the same in minimal images without zoneinfo.
	_ "time/tzdata"

	// The kubeconfig auth providers kubectl knows (OIDC); exec plugins
	// (cloud logins) are built into client-go.
	_ "k8s.io/client-go/plugin/pkg/client/auth"
)

func main() {
	if err := newRootCommand(os.Stdout, os.Stderr).Execute(); err != nil {
		if !errors.Is(err, errProblems) {
			fmt.Fprintln(os.Stderr, "error:", printable(err.Error()))
		}
		var usage usageError
		if errors.As(err, &usage) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}
