package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/xinfang/petition-operator/internal/xinfang"
)

// TestWindowsThroughADutyPeriod: petitionctl windows, offline from the
// samples, opens the counties through the 两会 period and names it; the
// period leaves the townships and the City as they were.
func TestWindowsThroughADutyPeriod(t *testing.T) {
	for _, tt := range []struct {
		office, channel, at string
		want                xinfang.WindowAnswer
	}{
		// Sunday 03:00 in the period: open, in the period.
		{"zhenping-county", "Visit", "2027-03-07T03:00:00+08:00", xinfang.WindowAnswer{Open: true, Window: "lianghui-2027", NextOpening: "2027-03-15T08:30:00+08:00"}},
		{"neixiang-county", "Phone", "2027-03-07T03:00:00+08:00", xinfang.WindowAnswer{Open: true, Window: "lianghui-2027", NextOpening: "2027-03-15T08:30:00+08:00"}},
		// The evening before it opens, at midnight.
		{"zhenping-county", "Visit", "2027-03-02T23:00:00+08:00", xinfang.WindowAnswer{Open: false, Window: "", NextOpening: "2027-03-03T00:00:00+08:00"}},
		// The first Saturday after it: closed.
		{"zhenping-county", "Visit", "2027-03-13T03:00:00+08:00", xinfang.WindowAnswer{Open: false, Window: "", NextOpening: "2027-03-15T08:30:00+08:00"}},
		// Not a channel of the period: the office's own window.
		{"zhenping-county", "Online", "2027-03-07T03:00:00+08:00", xinfang.WindowAnswer{Open: true, Window: "online", NextOpening: ""}},
		// A township is not selected.
		{"shifosi-town", "Phone", "2027-03-07T03:00:00+08:00", xinfang.WindowAnswer{Open: false}},
	} {
		out, err := runCLI(t, "windows", "-f", samples, "--office", tt.office, "--channel", tt.channel, "--at", tt.at, "-o", "json")
		if err != nil {
			t.Fatalf("%s %s %s: %v", tt.office, tt.channel, tt.at, err)
		}
		var got xinfang.WindowAnswer
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatal(err)
		}
		if tt.office == "shifosi-town" {
			// Whatever its own windows say, never the period.
			if got.Window == "lianghui-2027" {
				t.Errorf("%s: %+v, want the period not to reach a township", tt.office, got)
			}
			continue
		}
		if got != tt.want {
			t.Errorf("%s %s %s: %+v, want %+v", tt.office, tt.channel, tt.at, got, tt.want)
		}
	}
	out, err := runCLI(t, "windows", "-f", samples, "--office", "zhenping-county", "--channel", "Visit", "--at", "2027-03-07T03:00:00+08:00")
	if err != nil {
		t.Fatal(err)
	}
	if want := "true  lianghui-2027  2027-03-15T08:30:00+08:00"; !strings.Contains(out, want) {
		t.Errorf("table:\n%s\nwant a row %q", out, want)
	}
}

// TestValidateRefusesABadDutyPeriod: petitionctl validate reports a period
// over 366 days and a subtree that the files do not hold, naming the object
// and the field.
func TestValidateRefusesABadDutyPeriod(t *testing.T) {
	dir := copySamples(t)
	editDoc(t, dir, "DutyPeriod", "lianghui-2027", `{from: "2027-03-03", to: "2027-03-12"}`, `{from: "2027-03-03", to: "2028-03-12"}`)
	editDoc(t, dir, "DutyPeriod", "lianghui-2027", `levels: [County]`, "levels: [County]\n    subtreeOf: nanyang-cty")
	stdout, _, err := runValidate(t, "validate", "-f", dir)
	if err == nil {
		t.Fatalf("valid; want problems:\n%s", stdout)
	}
	for _, want := range []string{
		"DutyPeriod/lianghui-2027: spec.dateRanges: Invalid value: the period runs 376 days, from 2027-03-03 to 2028-03-12; at most 366 are allowed",
		`DutyPeriod/lianghui-2027: spec.officeSelector.subtreeOf: Not found: Office "nanyang-cty" does not exist`,
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("validate:\n%s\nwant %q", stdout, want)
		}
	}
}
