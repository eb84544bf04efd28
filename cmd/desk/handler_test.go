package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/testhttp"
	"github.com/xinfang/petition-operator/internal/xinfang"
)

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	a := testhttp.Do(t, http.MethodGet, url, nil, "")
	return a.Code, string(a.Body)
}

func TestServesAndReloadsConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "office.json")
	const v1 = `{"office":"zhenping-county","path":["nanyang-city","zhenping-county"]}`
	writeFile(t, path, v1)
	d, err := newDesk(path, defaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(d.handler())
	defer srv.Close()

	for p, want := range map[string]string{"/v1/office": v1} {
		if code, body := get(t, srv.URL+p); code != http.StatusOK || body != want {
			t.Errorf("GET %s = %d %q, want 200 %q", p, code, body, want)
		}
	}
	resp, err := http.Post(srv.URL+"/v1/office", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /v1/office = %d, want 405", resp.StatusCode)
	}

	// Unchanged file: no reload.
	if changed, err := d.reload(); changed || err != nil {
		t.Errorf("reload of an unchanged file = %v, %v", changed, err)
	}
	// A new configuration is served after a reload.
	const v2 = `{"office":"zhenping-county","displayName":"镇平县信访局"}`
	writeFile(t, path, v2)
	if changed, err := d.reload(); !changed || err != nil {
		t.Fatalf("reload = %v, %v", changed, err)
	}
	if _, body := get(t, srv.URL+"/v1/office"); body != v2 {
		t.Errorf("after reload: %q", body)
	}
	// A broken file keeps the last good configuration.
	writeFile(t, path, "not json")
	if _, err := d.reload(); err == nil {
		t.Error("a broken file reloaded")
	}
	if _, body := get(t, srv.URL+"/v1/office"); body != v2 {
		t.Errorf("after a broken reload: %q", body)
	}
}

func TestRejectsBadConfig(t *testing.T) {
	for name, content := range map[string]string{
		"not json":   "office: zhenping",
		"json array": `["zhenping"]`,
		"empty":      "",
		"too large":  `{"x":"` + strings.Repeat("a", maxConfigBytes) + `"}`,
	} {
		path := filepath.Join(t.TempDir(), "office.json")
		writeFile(t, path, content)
		if _, err := newDesk(path, defaultOptions()); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := newDesk(filepath.Join(t.TempDir(), "missing.json"), defaultOptions()); err == nil {
		t.Error("missing file: accepted")
	}
}

func TestDeadlinesAndEscalation(t *testing.T) {
	office := func(name string, level v1alpha1.Level, parent string) v1alpha1.Office {
		return v1alpha1.Office{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: v1alpha1.OfficeSpec{Level: level, Parent: v1alpha1.OfficeName(parent), CalendarRef: "national-day"}}
	}
	snap := &xinfang.Snapshot{
		Offices: []v1alpha1.Office{office("nanyang-city", v1alpha1.LevelCity, ""), office("zhenping-county", v1alpha1.LevelCounty, "nanyang-city"),
			office("shifosi-town", v1alpha1.LevelTownship, "zhenping-county")},
		HolidayCalendars: []v1alpha1.HolidayCalendar{{ObjectMeta: metav1.ObjectMeta{Name: "national-day"},
			Spec: v1alpha1.HolidayCalendarSpec{Holidays: []v1alpha1.Holiday{{Name: "国庆节", From: "2026-10-01", To: "2026-10-07"}}}}},
	}
	cfg, err := snap.OfficeConfig("shifosi-town")
	if err != nil {
		t.Fatal(err)
	}
	srv := serve(t, cfg)

	code, body := get(t, srv.URL+"/v1/deadlines?received=2026-09-16")
	if code != http.StatusOK {
		t.Fatalf("GET /v1/deadlines = %d %s", code, body)
	}
	var got struct {
		Stages []xinfang.StageDeadline `json:"stages"`
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	// 09-16 + 15d = 10-01, National Day → 10-08; Review at the county.
	if len(got.Stages) != 4 || got.Stages[0].Due != "2026-10-08" || got.Stages[2].Office != "zhenping-county" ||
		got.Stages[1].DueWithExtension == "" {
		t.Errorf("deadlines = %+v", got.Stages)
	}
	code, body = get(t, srv.URL+"/v1/escalation")
	if code != http.StatusOK || !strings.Contains(body, `"supervisor":"zhenping-county"`) || !strings.Contains(body, `"office":"nanyang-city"`) {
		t.Errorf("GET /v1/escalation = %d %s", code, body)
	}
	for _, q := range []string{"", "?received=2026-02-30", "?received=16/09/2026"} {
		if code, body := get(t, srv.URL+"/v1/deadlines"+q); code != http.StatusBadRequest || !strings.Contains(body, "want YYYY-MM-DD") {
			t.Errorf("GET /v1/deadlines%s = %d %s", q, code, body)
		}
	}
}

// TestDeadlinesOfAPetition: the desk routes the petition with the office's
// table and follows the handler's chain from its configuration alone.
func TestDeadlinesOfAPetition(t *testing.T) {
	office := func(name string, level v1alpha1.Level, parent string) v1alpha1.Office {
		return v1alpha1.Office{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: v1alpha1.OfficeSpec{Level: level, Parent: v1alpha1.OfficeName(parent), CalendarRef: "cn-2026"}}
	}
	city := office("nanyang-city", v1alpha1.LevelCity, "")
	city.Spec.Escalation.Above = []v1alpha1.ExternalBody{{DisplayName: "河南省信访局"}}
	county := office("zhenping-county", v1alpha1.LevelCounty, "nanyang-city")
	county.Spec.Routing.Rules = []v1alpha1.RoutingRule{{Name: "wages", Match: v1alpha1.RouteMatch{Categories: []string{"wage-arrears"}},
		RouteTo: v1alpha1.RouteTarget{Department: "HumanResources"}}}
	hr := office("nanyang-human-resources", v1alpha1.LevelDepartment, "nanyang-city")
	hr.Spec.Department = "HumanResources"
	snap := &xinfang.Snapshot{
		Offices: []v1alpha1.Office{city, county, hr},
		HolidayCalendars: []v1alpha1.HolidayCalendar{{ObjectMeta: metav1.ObjectMeta{Name: "cn-2026"},
			Spec: v1alpha1.HolidayCalendarSpec{Holidays: []v1alpha1.Holiday{{Name: "国庆节", From: "2026-10-01", To: "2026-10-07"}},
				Workdays: []v1alpha1.Date{"2026-10-10"}}}},
	}
	cfg, err := snap.OfficeConfig("zhenping-county")
	if err != nil {
		t.Fatal(err)
	}
	srv := serve(t, cfg)
	answer := func(query string) xinfang.DeadlineAnswer {
		t.Helper()
		code, body := get(t, srv.URL+"/v1/deadlines?"+query)
		if code != http.StatusOK {
			t.Fatalf("GET /v1/deadlines?%s = %d %s", query, code, body)
		}
		var ans xinfang.DeadlineAnswer
		dec := json.NewDecoder(strings.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&ans); err != nil {
			t.Fatal(err)
		}
		return ans
	}
	line := func(s xinfang.StageDeadline) string {
		return strings.Join([]string{string(s.Name), s.Office, s.External, s.RequestBy, s.Due}, " ")
	}
	// The wage case goes to the City's department: the county transfers it
	// by 08-03 + 15d = 08-18, the department accepts it by + 15d = 09-02
	// and handles it by + 60d = 11-01 (Sunday) → 11-02; its Review is at
	// the City, its ReReview above it. Replied 09-01: request by + 30d =
	// 10-01, National Day → 10-08; due + 30d = 11-07 (Saturday) → 11-09.
	// ReReview: request by 12-09, due 2027-01-08.
	ans := answer("received=2026-08-03&category=wage-arrears&type=Appeal&channel=Visit&replied=2026-09-01")
	want := []string{"Transfer zhenping-county   2026-08-18", "Acceptance nanyang-human-resources   2026-09-02",
		"Handling nanyang-human-resources   2026-11-02",
		"Review nanyang-city  2026-10-08 2026-11-09", "ReReview  河南省信访局 2026-12-09 2027-01-08"}
	var got []string
	for _, s := range ans.Stages {
		got = append(got, line(s))
	}
	if ans.Handler != "nanyang-human-resources" || strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("handler %s, stages %q; want %q", ans.Handler, got, want)
	}
	if len(ans.Warnings) != 2 || !strings.HasPrefix(ans.Warnings[0], "ReReview.due 2027-01-08: HolidayCalendar cn-2026 does not cover 2027") {
		t.Errorf("warnings = %q", ans.Warnings)
	}
	// The same answer as the configuration gives, for a Report too: three
	// stages.
	for _, query := range []string{"received=2026-08-03&category=wage-arrears&type=Report", "received=2026-08-03"} {
		v, _ := url.ParseQuery(query)
		q, _, err := deadlineQuery(v)
		if err != nil {
			t.Fatal(err)
		}
		want, err := cfg.Deadlines(q)
		if err != nil {
			t.Fatal(err)
		}
		if got := answer(query); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: desk %+v, configuration %+v", query, got, want)
		}
	}
	if n := len(answer("received=2026-08-03&category=wage-arrears&type=Report").Stages); n != 3 {
		t.Errorf("a Report has %d stages, want 3", n)
	}
	for q, want := range map[string]string{
		"received=2026-08-03&type=Appeal":                                   "category: required",
		"received=2026-08-03&category=wage-arrears&type=Complaint":          `type: "Complaint" is not one of Report, Appeal, Inquiry`,
		"received=2026-08-03&category=wage-arrears&type=Appeal&channel=X":   `channel: "X" is not one of Visit, Letter, Phone, Online`,
		"received=2026-08-03&replied=2026-08-02":                            "replied: 2026-08-02 is before received 2026-08-03",
		"received=2026-08-03&replied=tomorrow":                              `replied: "tomorrow" is not a date; want YYYY-MM-DD`,
		"received=2026-08-03&replied=9999-01-01":                            "replied: year 9999 is outside 1900 to 9998",
		"received=2026-08-03&locality=zhenping-county":                      "locality: needs the petition",
		"received=2026-08-03&category=land&type=Appeal&locality=Zhenping":   `locality: "Zhenping" is not an office name`,
		"received=2026-08-03&office=zhenping-county":                        `"office": unknown parameter; want received, replied, category, type, channel, locality`,
		"received=2026-08-03&received=2026-08-04":                           "received: given 2 times, want once",
		"received=2026-08-03&category=" + strings.Repeat("a", 64):           "category: " + `"` + strings.Repeat("a", 64) + `" is longer than 63 bytes`,
		"received=2026-08-03&category=wage-arrears&type=AppealAppealAppeal": `type: "AppealAppealAppeal" is longer than 16 bytes`,
	} {
		code, body := get(t, srv.URL+"/v1/deadlines?"+q)
		var e struct{ Error string }
		_ = json.Unmarshal([]byte(body), &e)
		if code != http.StatusBadRequest || !strings.HasPrefix(e.Error, want) {
			t.Errorf("GET /v1/deadlines?%s = %d %s, want 400 %q", q, code, body, want)
		}
	}
}

func TestDeadlinesWithoutChain(t *testing.T) {
	file := filepath.Join(t.TempDir(), "office.json")
	writeFile(t, file, `{"office":"old"}`)
	d, err := newDesk(file, defaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(d.handler())
	defer srv.Close()
	if code, _ := get(t, srv.URL+"/v1/deadlines?received=2026-09-16"); code != http.StatusNotFound {
		t.Errorf("deadlines without a chain = %d, want 404", code)
	}
}

// sampleDesk serves the configuration the real compiler builds for an office
// of config/samples.
func sampleDesk(t *testing.T, office string) *httptest.Server {
	t.Helper()
	return serve(t, sampleConfig(t, office))
}

// loadDesk writes the compiled configuration to a file and loads a desk
// from it with opts.
func loadDesk(t testing.TB, cfg *xinfang.OfficeConfig, opts options) *desk {
	t.Helper()
	data, _, err := cfg.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "office.json")
	writeFile(t, file, string(data))
	d, err := newDesk(file, opts)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// serve runs a desk on the compiled configuration.
func serve(t *testing.T, cfg *xinfang.OfficeConfig) *httptest.Server {
	t.Helper()
	d := loadDesk(t, cfg, defaultOptions())
	srv := httptest.NewServer(d.handler())
	t.Cleanup(srv.Close)
	return srv
}

func post(t *testing.T, url, body string) (int, string) {
	t.Helper()
	a := testhttp.Do(t, http.MethodPost, url, map[string]string{"Content-Type": "application/json"}, body)
	return a.Code, string(a.Body)
}

func TestRouteOnSampleConfig(t *testing.T) {
	srv := sampleDesk(t, "shifosi-town")
	cases := []struct{ body, want string }{
		{`{"category":"land-acquisition","type":"Appeal","channel":"Visit"}`,
			`{"office":"zhenping-natural-resources","rule":"land-to-natural-resources","policy":"land-disputes","fallback":false,"copies":[],"skipLevel":false,"redirectTo":""}`},
		{`{"category":"wage-arrears","type":"Report"}`,
			`{"office":"nanyang-human-resources","rule":"wages-to-human-resources","policy":"wage-arrears","fallback":false,"copies":[],"skipLevel":false,"redirectTo":""}`},
		{`{"category":"road-repair","type":"Inquiry"}`,
			`{"office":"shifosi-town","rule":"","policy":"","fallback":false,"copies":[],"skipLevel":false,"redirectTo":""}`},
	}
	for _, tc := range cases {
		code, body := post(t, srv.URL+"/v1/route", tc.body)
		if code != http.StatusOK || strings.TrimSpace(body) != tc.want {
			t.Errorf("POST /v1/route %s = %d %s, want %s", tc.body, code, body, tc.want)
		}
	}
	for body, want := range map[string]string{
		`{"type":"Appeal"}`:                                  "category: required",
		`{"category":"land","type":"Complaint"}`:             `type: \"Complaint\" is not one of`,
		`{"category":"land","type":"Appeal","channel":"X"}`:  `channel: \"X\" is not one of`,
		`{"category":"land","type":"Appeal","priority":"1"}`: `unknown field \"priority\"`,
		`not json`: "body: want a JSON object",
	} {
		if code, got := post(t, srv.URL+"/v1/route", body); code != http.StatusBadRequest || !strings.Contains(got, want) {
			t.Errorf("POST /v1/route %s = %d %s, want 400 with %q", body, code, got, want)
		}
	}
}

func TestWindowsOnSampleConfig(t *testing.T) {
	srv := sampleDesk(t, "zhenping-county")
	cases := []struct{ query, want string }{
		// National Day: closed; open again on the first working day.
		{"channel=Visit&at=2026-10-01T09:00:00%2B08:00", `{"open":false,"window":"","nextOpening":"2026-10-08T08:30:00+08:00"}`},
		// A Tuesday morning: open; next opening after the lunch break.
		{"channel=Visit&at=2026-10-13T09:00:00%2B08:00", `{"open":true,"window":"weekday-visits","nextOpening":"2026-10-13T14:30:00+08:00"}`},
		// The same instant given in UTC.
		{"channel=Visit&at=2026-10-13T01:00:00Z", `{"open":true,"window":"weekday-visits","nextOpening":"2026-10-13T14:30:00+08:00"}`},
		// Online is always open, holidays included (网上信访 does not stop):
		// it never closes, so there is no next opening.
		{"channel=Online&at=2026-10-13T23:00:00%2B08:00", `{"open":true,"window":"online","nextOpening":""}`},
		{"channel=Online&at=2026-10-02T12:00:00%2B08:00", `{"open":true,"window":"online","nextOpening":""}`},
	}
	for _, tc := range cases {
		code, body := get(t, srv.URL+"/v1/windows?"+tc.query)
		if code != http.StatusOK || strings.TrimSpace(body) != tc.want {
			t.Errorf("GET /v1/windows?%s = %d %s, want %s", tc.query, code, body, tc.want)
		}
	}
	for q, want := range map[string]string{
		"channel=Visit": "at: \\\"\\\" is not an RFC 3339 time",
		"channel=Fax&at=2026-10-13T09:00:00%2B08:00": `channel: \"Fax\" is not one of`,
		"channel=Visit&at=2026-10-13":                "is not an RFC 3339 time",
		"at=2026-10-13T09:00:00%2B08:00":             `channel: \"\" is not one of`,
	} {
		if code, got := get(t, srv.URL+"/v1/windows?"+q); code != http.StatusBadRequest || !strings.Contains(got, want) {
			t.Errorf("GET /v1/windows?%s = %d %s, want 400 with %q", q, code, got, want)
		}
	}
}

func TestOpen311Services(t *testing.T) {
	srv := sampleDesk(t, "shifosi-town")
	code, body := get(t, srv.URL+"/open311/v2/services.json")
	if code != http.StatusOK {
		t.Fatalf("GET services.json = %d %s", code, body)
	}
	var services []map[string]any
	if err := json.Unmarshal([]byte(body), &services); err != nil {
		t.Fatal(err)
	}
	var codes []string
	for _, s := range services {
		codes = append(codes, s["service_code"].(string))
		if s["type"] != "realtime" || s["metadata"] != false {
			t.Errorf("service %v", s)
		}
	}
	want := "land-acquisition,housing-demolition,court-judgment,law-enforcement,official-misconduct,cadre-appointment,pollution,noise,waste-dumping,wage-arrears,social-insurance,labour-contract"
	if strings.Join(codes, ",") != want {
		t.Errorf("services = %v, want %s", codes, want)
	}
}
