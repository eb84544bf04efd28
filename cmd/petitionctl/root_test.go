package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestDisplayName checks that help and version name the command as it was
// invoked: `kubectl petition` when run as the plugin kubectl-petition.
func TestDisplayName(t *testing.T) {
	for _, tc := range []struct{ arg0, want string }{
		{"petitionctl", "petitionctl"},
		{"/usr/local/bin/petitionctl", "petitionctl"},
		{"/home/u/.krew/bin/kubectl-petition", "kubectl petition"},
		{"kubectl-petition.exe", "kubectl petition"},
		{"kubectl-petitionx", "petitionctl"},
	} {
		if got := displayName(tc.arg0); got != tc.want {
			t.Errorf("displayName(%q) = %q, want %q", tc.arg0, got, tc.want)
		}
	}
	var out bytes.Buffer
	root := newRootCommandAs("kubectl petition", &out, &out)
	root.SetArgs([]string{"tree", "--help"})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "kubectl petition tree [flags]") {
		t.Errorf("tree --help does not say `kubectl petition tree`:\n%s", out.String())
	}
	out.Reset()
	root = newRootCommandAs("kubectl petition", &out, &out)
	root.SetArgs([]string{"version"})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "kubectl petition ") {
		t.Errorf("version = %q, want it to start with `kubectl petition `", out.String())
	}
}
