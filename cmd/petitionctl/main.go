// Command petitionctl inspects a petition network, offline from the YAML of a
// GitOps repository (-f, -k) or from the cluster of the current kubeconfig.
// It is also a kubectl plugin: installed as kubectl-petition it runs as
// `kubectl petition`.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	// Time zones work the same in minimal images without zoneinfo.
	_ "time/tzdata"

	// The kubeconfig auth providers kubectl knows (OIDC); exec plugins
	// (cloud logins) are built into client-go.
	_ "k8s.io/client-go/plugin/pkg/client/auth"
)

// The exit codes of petitionctl (docs/cli.md).
const (
	// exitOK: the command did what it was asked and found nothing wrong.
	exitOK = 0
	// exitFindings: the command ran and found something wrong in the
	// network: validate's problems, an office that does not compile, a
	// rollout that halted.
	exitFindings = 1
	// exitUsage: the command could not do what it was asked: a wrong
	// flag, argument or output format, a file that cannot be read or
	// parsed, an object that does not exist, a cluster it cannot reach.
	exitUsage = 2
	// exitChanges: plan --exit-code found a clean change, as terraform
	// plan -detailed-exitcode; every error of plan is then exitFindings.
	exitChanges = 2
)

// exitError ends petitionctl with code. When quiet, the output already
// said why and no error line is printed.
type exitError struct {
	code  int
	err   error
	quiet bool
	// change marks plan --exit-code's exitChanges.
	change bool
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// finding marks err as a finding: exit 1.
func finding(err error) error { return &exitError{code: exitFindings, err: err} }

// errProblems makes petitionctl exit 1 without a message of its own: the
// problems are already printed.
var errProblems = &exitError{code: exitFindings, err: errors.New("problems found"), quiet: true}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run runs petitionctl with args and returns its exit code.
func run(args []string, out, errw io.Writer) int {
	root := newRootCommand(out, errw)
	root.SetArgs(args)
	err := root.Execute()
	code := exitCode(err, errw)
	var e *exitError
	change := errors.As(err, &e) && e.change
	if code == exitUsage && !change && detailedExitCode(root, args) {
		// plan --exit-code: 2 is a clean change, so that a CI job may
		// take it for success; a misspelt flag, a bad -o or a file that
		// cannot be read must not pass as one.
		return exitFindings
	}
	return code
}

// detailedExitCode reports whether args run plan with --exit-code, whose
// exit codes are terraform's: 0 no change, 1 an error, 2 a clean change.
// It reads args itself, since a flag error stops cobra before it has
// parsed the flags.
func detailedExitCode(root *cobra.Command, args []string) bool {
	cmd, _, err := root.Find(args)
	if err != nil || cmd.Name() != "plan" {
		return false
	}
	on := false
	for _, a := range args {
		if a == "--" {
			break
		}
		if v, ok := strings.CutPrefix(a, "--exit-code"); ok {
			switch {
			case v == "":
				on = true
			case strings.HasPrefix(v, "="):
				on, _ = strconv.ParseBool(v[1:])
			}
		}
	}
	return on
}

// exitCode prints err (unless it is quiet) and returns the exit code for
// it: an exitError's code, else 2.
func exitCode(err error, errw io.Writer) int {
	if err == nil {
		return exitOK
	}
	var e *exitError
	if !errors.As(err, &e) {
		e = &exitError{code: exitUsage, err: err}
	}
	if !e.quiet {
		_, _ = fmt.Fprintln(errw, "error:", printableLines(err.Error()))
	}
	return e.code
}
