package main

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestRolloutStatusOffline(t *testing.T) {
	out, err := runCLI(t, "rollout", "status", "wage-arrears", "-f", "../../config/samples", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Strategy string `json:"strategy"`
		Revision string `json:"revision"`
		Phase    string `json:"phase"`
		Stages   []struct {
			Stage       int    `json:"stage"`
			Description string `json:"description"`
			Offices     int    `json:"offices"`
		} `json:"stages"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	if rep.Strategy != "Staged" || len(rep.Revision) != 16 || rep.Phase != "" {
		t.Errorf("strategy %q, revision %q, phase %q", rep.Strategy, rep.Revision, rep.Phase)
	}
	// The sample network has 17 offices with a desk (its villages are in no
	// rollout), each in exactly one stage, the City alone in the first.
	total := 0
	for i, s := range rep.Stages {
		if s.Stage != i+1 || s.Offices == 0 {
			t.Errorf("stage %d: %+v", i+1, s)
		}
		total += s.Offices
	}
	if len(rep.Stages) != 3 || rep.Stages[0].Offices != 1 || rep.Stages[0].Description != "levels City" || total != 17 {
		t.Errorf("stages %+v, want 3 holding the City first and all 17 offices", rep.Stages)
	}

	out, err = runCLI(t, "rollout", "status", "land-disputes", "-f", "../../config/samples")
	if err != nil || !strings.Contains(out, "Immediate: every office at once") {
		t.Errorf("an Immediate policy: %v\n%s", err, out)
	}
	if _, err := runCLI(t, "rollout", "status", "no-such-policy", "-f", "../../config/samples"); err == nil || err.Error() != "RoutingPolicy/no-such-policy: not found" {
		t.Errorf("a missing policy: %v", err)
	}
}

func TestRolloutStatusOfTheTenantImageOffline(t *testing.T) {
	out, err := runCLI(t, "rollout", "status", "td/default", "-f", "../../config/samples")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"TenantDefaults/default: revision the operator's --tenant-image, Staged in 4 stages",
		"1 levels City  ", "4 levels Township  "} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in:\n%s", want, out)
		}
	}
	if _, err := runCLI(t, "rollout", "status", "widget/x", "-f", "../../config/samples"); err == nil || !strings.Contains(err.Error(), `unknown kind "widget"`) {
		t.Errorf("an unknown kind: %v", err)
	}
}
