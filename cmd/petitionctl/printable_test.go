package main

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"
	"unicode"
)

func TestPrintable(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"", ""},
		{"zhenping-county", "zhenping-county"},
		{"镇平县信访局", "镇平县信访局"},
		{"镇平县　信访局 (county)", "镇平县　信访局 (county)"},
		{"evil\x1b[2J", `"evil\x1b[2J"`},
		{"\x1b]0;title\x07", `"\x1b]0;title\a"`},
		{"a\tb", `"a\tb"`},
		{"line\nnext", `"line\nnext"`},
		{"\r", `"\r"`},
		{"\u202eevil", `"\u202eevil"`},
		{"\u009b2J", `"\u009b2J"`},
		{"bad \xff utf-8", `"bad \xff utf-8"`},
		{`a "quoted" \ name`, `a "quoted" \ name`},
	} {
		got := printable(tt.in)
		if got != tt.want {
			t.Errorf("printable(%q) = %s, want %s", tt.in, got, tt.want)
		}
		if again := printable(got); again != got {
			t.Errorf("printable(%s) = %s, want it unchanged", got, again)
		}
	}
	if got := row("a\tb", "镇平县信访局", "-"); got != "\"a\\tb\"\t镇平县信访局\t-" {
		t.Errorf("row = %q", got)
	}
}

// hostileNetwork is a small valid network whose names, display names,
// window, rule and policy names hold terminal escapes (YAML's "\e" is ESC),
// and a display name in Chinese that must print as it is.
const hostileNetwork = officeHeader + `metadata: {name: nanyang-city}
spec: {level: City, displayName: 南阳市信访局}
---
` + officeHeader + `metadata: {name: zhenping-county}
spec: {level: County, parent: nanyang-city, displayName: 镇平县信访局}
---
` + officeHeader + `metadata: {name: "evil\e[2J"}
spec:
  level: Township
  parent: zhenping-county
  displayName: "\e]0;pwned\a"
  receptionWindows:
  - {name: "win\e[31m", channels: [Online], always: true}
  routing:
    rules:
    - name: "rule\e[5m"
      match: {categories: [land]}
      routeTo: {office: zhenping-county}
---
apiVersion: petition.xinfang.io/v1alpha1
kind: RoutingPolicy
metadata: {name: "rp\e[2J"}
spec:
  priority: 10
  rules:
  - name: r
    match: {categories: [wage]}
    routeTo: {office: zhenping-county}
  rollout:
    strategy: Staged
    stages:
    - {subtreeOf: "evil\e[2J"}
    - {percent: 100}
`

// assertPrintable fails when out holds a control character other than the
// newlines and tabs of a table, or lacks one of want.
func assertPrintable(t *testing.T, what, out string, want ...string) {
	t.Helper()
	for _, r := range out {
		if r != '\n' && r != '\t' && (unicode.IsControl(r) || unicode.Is(unicode.Cf, r)) {
			t.Errorf("%s printed control character %U:\n%s", what, r, out)
			break
		}
	}
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("%s printed no %q:\n%s", what, w, out)
		}
	}
}

func TestTablesPrintNamesSafely(t *testing.T) {
	dir := t.TempDir()
	writeYAML(t, dir, "network.yaml", hostileNetwork)
	empty := t.TempDir()
	evil := "evil\x1b[2J"
	for _, tt := range []struct {
		args []string
		want []string
	}{
		{[]string{"tree"}, []string{`"evil\x1b[2J"`, `"\x1b]0;pwned\a"`, "镇平县信访局", "南阳市信访局"}},
		{[]string{"route", "--office", evil, "--category", "land", "--type", "Appeal"}, []string{`"rule\x1b[5m"`}},
		{[]string{"windows", "--office", evil, "--channel", "Online", "--at", "2026-10-08T09:00:00+08:00"}, []string{`"win\x1b[31m"`}},
		{[]string{"deadlines", "--office", evil, "--received", "2026-10-08"}, []string{`"evil\x1b[2J"`}},
		{[]string{"rollout", "status", "rp\x1b[2J"}, []string{`RoutingPolicy "rp\x1b[2J": revision`, `"subtree of evil\x1b[2J"`}},
	} {
		out, err := runCLI(t, append(tt.args, "-f", dir)...)
		if err != nil {
			t.Errorf("%q: %v", tt.args, err)
			continue
		}
		assertPrintable(t, tt.args[0], out, tt.want...)
	}

	out, err := runCLI(t, "plan", "--before", empty, "--after", dir)
	if err != nil {
		t.Fatal(err)
	}
	assertPrintable(t, "plan", out, `"evil\x1b[2J"`, "added")

	// validate: a missing calendar names the office in its problem line.
	writeYAML(t, dir, "calendar.yaml", officeHeader+`metadata: {name: "cal\e[2J"}
spec: {level: County, parent: nanyang-city, calendarRef: "\e[2Jmissing"}
`)
	out, errOut, err := runValidate(t, "validate", "-f", dir)
	if err == nil {
		t.Fatal("validate = nil, want problems")
	}
	assertPrintable(t, "validate", out+errOut, `Office/"cal\x1b[2J": `)
}

// TestErrorLinePrintable runs main in a child process: its error line
// escapes what the error quotes from the input.
func TestErrorLinePrintable(t *testing.T) {
	if os.Getenv("PETITIONCTL_TEST_ERROR_LINE") != "" {
		os.Args = []string{"petitionctl", "route", "-f", samples, "--office", "ghost\x1b[2J", "--category", "x", "--type", "Appeal"}
		main()
		os.Exit(0)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestErrorLinePrintable$")
	cmd.Env = append(os.Environ(), "PETITIONCTL_TEST_ERROR_LINE=1")
	var errw bytes.Buffer
	cmd.Stderr = &errw
	if err := cmd.Run(); err == nil {
		t.Fatal("route to a missing office exited 0, want 1")
	}
	if want := "error: \"Office/ghost\\x1b[2J: not found\"\n"; errw.String() != want {
		t.Errorf("stderr = %q, want %q", errw.String(), want)
	}
}
