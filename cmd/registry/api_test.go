package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const petition = `{"office":"shifosi-town","type":"Appeal","category":"land-acquisition","description":"征地补偿款未到位",
	"petitioner":{"name":"张三","phone":"13800138000"}}`

type answer struct {
	CaseNo, QueryCode, State, Handler string
	Deadlines                         []struct{ Name, Office, Due string }
	Error                             string
}

// TestPetitionThroughTheAPI: the public intake's codes (422 without a key,
// 201, 200 on a replay, 409 for another body under the key), the
// petitioner's progress (404 for a wrong code), Open311, and the staff API:
// 401 without a token, 403 for another county, the ETag and If-Match (428
// without, 412 stale), 409 for an action the state does not allow, the
// feed and the statistics. No personal data in the metrics or the feed.
func TestPetitionThroughTheAPI(t *testing.T) {
	l := start(t, "--count-interval", "100ms")
	key := func(k string) map[string]string { return map[string]string{"Idempotency-Key": k} }

	var a answer
	if code, _ := l.call(t, "POST", "/v1/petitions", nil, petition, &a); code != http.StatusUnprocessableEntity || !strings.Contains(a.Error, "Idempotency-Key") {
		t.Errorf("no key: %d %q; want 422 naming Idempotency-Key", code, a.Error)
	}
	if code, _ := l.call(t, "POST", "/v1/petitions", key("k1"), `{"office":"shifosi-town","type":"Appeal","category":"land-acquisition","description":"x","petitioner":{"name":"a","phone":"13800138000"},"extra":1}`, &a); code != http.StatusUnprocessableEntity || !strings.Contains(a.Error, "extra") {
		t.Errorf("an unknown field: %d %q; want 422 naming it", code, a.Error)
	}
	code, hdr := l.call(t, "POST", "/v1/petitions", key("k1"), petition, &a)
	if code != http.StatusCreated || a.QueryCode == "" || a.State != "Registered" || len(a.Deadlines) < 2 || hdr.Get("Location") != "/v1/petitions/"+a.CaseNo {
		t.Fatalf("intake: %d %+v", code, a)
	}
	var again answer
	if code, _ := l.call(t, "POST", "/v1/petitions", key("k1"), petition, &again); code != http.StatusOK || again.CaseNo != a.CaseNo || again.QueryCode != a.QueryCode {
		t.Errorf("replay: %d %+v; want 200 and case %s", code, again, a.CaseNo)
	}
	if code, _ := l.call(t, "POST", "/v1/petitions", key("k1"), strings.Replace(petition, "land-acquisition", "wage-arrears", 1), &again); code != http.StatusConflict {
		t.Errorf("another body under the key: %d; want 409", code)
	}

	var progress struct {
		State, Office, Due string
		Timeline           []struct{ Action string }
	}
	if code, _ := l.call(t, "GET", "/v1/petitions/"+a.CaseNo+"?code="+a.QueryCode, nil, "", &progress); code != http.StatusOK || progress.State != "Registered" || progress.Due != a.Deadlines[0].Due {
		t.Errorf("progress: %d %+v", code, progress)
	}
	if code, _ := l.call(t, "GET", "/v1/petitions/"+a.CaseNo+"?code=ZZZZZZZZZZ", nil, "", nil); code != http.StatusNotFound {
		t.Errorf("a wrong query code: %d; want 404", code)
	}

	// Open311: a service request, then its status by its id.
	var created []map[string]any
	if code, _ := l.call(t, "POST", "/open311/v2/requests.json", map[string]string{"Content-Type": "application/x-www-form-urlencoded"},
		"jurisdiction_id=jiasong-town&service_code=road-repair&description=pothole&first_name=Li&phone=13900139000", &created); code != http.StatusCreated || len(created) != 1 {
		t.Fatalf("open311 create: %d %v", code, created)
	}
	var got []map[string]any
	id, _ := created[0]["service_request_id"].(string)
	if code, _ := l.call(t, "GET", "/open311/v2/requests/"+id+".json", nil, "", &got); code != http.StatusOK || len(got) != 1 || got[0]["status"] != "open" {
		t.Errorf("open311 get %s: %d %v", id, code, got)
	}

	// Staff.
	if code, _ := l.call(t, "GET", "/v1/cases/"+a.CaseNo, nil, "", nil); code != http.StatusUnauthorized {
		t.Errorf("no token: %d; want 401", code)
	}
	if code, _ := l.call(t, "GET", "/v1/cases/"+a.CaseNo, bearer(otherToken), "", nil); code != http.StatusForbidden {
		t.Errorf("another county: %d; want 403", code)
	}
	var c struct {
		Version    int
		Petitioner struct{ Name, Phone string }
	}
	code, hdr = l.call(t, "GET", "/v1/cases/"+a.CaseNo, bearer(countyToken), "", &c)
	if code != http.StatusOK || c.Petitioner.Name != "张三" || hdr.Get("ETag") != strconv.Quote(strconv.Itoa(c.Version)) {
		t.Fatalf("staff read: %d %+v etag %q", code, c, hdr.Get("ETag"))
	}
	move := func(token, version, body string) (int, string) {
		h := bearer(token)
		if version != "" {
			h["If-Match"] = version
		}
		var out struct{ State, Error string }
		code, _ := l.call(t, "POST", "/v1/cases/"+a.CaseNo+"/transitions", h, body, &out)
		return code, out.State + out.Error
	}
	if code, msg := move(townToken, "", `{"action":"forward","office":"zhenping-natural-resources"}`); code != http.StatusPreconditionRequired {
		t.Errorf("no If-Match: %d %s; want 428", code, msg)
	}
	if code, msg := move(townToken, `"1"`, `{"action":"reply","result":"Support"}`); code != http.StatusConflict || !strings.Contains(msg, "Registered") || !strings.Contains(msg, "reply") {
		t.Errorf("reply when Registered: %d %s; want 409 naming the state and the action", code, msg)
	}
	if code, msg := move(townToken, `"1"`, `{"action":"forward","office":"zhenping-natural-resources"}`); code != http.StatusOK || msg != "Transferred" {
		t.Errorf("forward: %d %s", code, msg)
	}
	if code, msg := move(deptToken, `"1"`, `{"action":"accept"}`); code != http.StatusPreconditionFailed {
		t.Errorf("a stale version: %d %s; want 412", code, msg)
	}
	if code, msg := move(deptToken, `"2"`, `{"action":"accept"}`); code != http.StatusOK || msg != "Accepted" {
		t.Errorf("accept: %d %s", code, msg)
	}

	var list struct {
		Cases []struct{ CaseNo, State string }
	}
	if code, _ := l.call(t, "GET", "/v1/offices/zhenping-county/cases?scope=subtree", bearer(countyToken), "", &list); code != http.StatusOK || len(list.Cases) != 2 {
		t.Errorf("the county's list: %d %+v; want both of its cases", code, list)
	}
	var stats struct{ Received, Accepted, Open int }
	if code, _ := l.call(t, "GET", "/v1/offices/zhenping-county/stats?scope=subtree", bearer(countyToken), "", &stats); code != http.StatusOK || stats.Received != 2 || stats.Accepted != 1 || stats.Open != 2 {
		t.Errorf("the county's stats: %d %+v; want received 2, accepted 1, open 2", code, stats)
	}
	if code, _ := l.call(t, "GET", "/v1/offices/zhenping-county/stats?scope=everything", bearer(countyToken), "", nil); code != http.StatusUnprocessableEntity {
		t.Errorf("a bad scope: %d; want 422", code)
	}
	var feed struct {
		Events []struct{ Type, CaseNo string }
		Next   string
	}
	if code, _ := l.call(t, "GET", "/v1/events", bearer(countyToken), "", &feed); code != http.StatusOK || len(feed.Events) < 4 {
		t.Errorf("the feed: %d %+v", code, feed)
	}
	for _, path := range []string{"/metrics", "/v1/events"} {
		body := l.raw(t, path, bearer(countyToken))
		for _, pii := range []string{"张三", "13800138000", "征地补偿款"} {
			if strings.Contains(body, pii) {
				t.Errorf("%s shows %q", path, pii)
			}
		}
	}
	// Which version runs.
	if m := l.raw(t, "/metrics", nil); !strings.Contains(m, `petition_registry_build_info{goversion="`+runtime.Version()+`",revision="`) {
		t.Errorf("/metrics has no petition_registry_build_info of this Go version:\n%s", m)
	}
	// The leader counts the open cases every --count-interval.
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(l.raw(t, "/metrics", nil), "petition_registry_open_cases 2") {
		if time.Now().After(deadline) {
			t.Fatal("petition_registry_open_cases never says the 2 open cases")
		}
		time.Sleep(50 * time.Millisecond)
	}
	// And each office's, whose open cases add up to the registry's.
	deadline = time.Now().Add(20 * time.Second)
	for {
		sum := 0.0
		for _, line := range strings.Split(l.raw(t, "/metrics", nil), "\n") {
			if strings.HasPrefix(line, `petition_registry_office_cases{figure="open",office="`) {
				var v float64
				if _, err := fmt.Sscan(line[strings.LastIndexByte(line, ' ')+1:], &v); err == nil {
					sum += v
				}
			}
		}
		if sum == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("petition_registry_office_cases{figure=\"open\"} adds up to %v; want the 2 open cases", sum)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if strings.Contains(l.logs.String(), "13800138000") || strings.Contains(l.logs.String(), "张三") {
		t.Errorf("the logs show personal data:\n%s", l.logs.String())
	}
}

// TestSinkGetsEveryEventAtLeastOnce: a webhook that fails its first
// deliveries gets every event in the end, each under the id it had the
// first time, as CloudEvents.
func TestSinkGetsEveryEventAtLeastOnce(t *testing.T) {
	var mu sync.Mutex
	calls, ids := 0, map[string]int{}
	var types []string
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		calls++
		var batch []struct{ SpecVersion, ID, Type, Subject string }
		if err := json.NewDecoder(r.Body).Decode(&batch); err != nil || r.Header.Get("Content-Type") != "application/cloudevents-batch+json" {
			t.Errorf("a delivery that is no CloudEvents batch: %v %s", err, r.Header.Get("Content-Type"))
		}
		for _, e := range batch {
			if e.SpecVersion != "1.0" || e.Subject == "" {
				t.Errorf("event %+v", e)
			}
			ids[e.ID]++
			if calls > 2 {
				types = append(types, e.Type)
			}
		}
		if calls <= 2 {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer sink.Close()
	l := start(t, "--sink-url", sink.URL)
	for i := range 3 {
		if code, _ := l.call(t, "POST", "/v1/petitions", map[string]string{"Idempotency-Key": fmt.Sprint("sink-", i)}, petition, nil); code != http.StatusCreated {
			t.Fatalf("intake %d: %d", i, code)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		n, c := len(types), calls
		mu.Unlock()
		if n >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %d deliveries the sink acknowledged %d events; want 3", c, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	redelivered := 0
	for _, n := range ids {
		if n > 1 {
			redelivered++
		}
	}
	if len(ids) != 3 || redelivered == 0 {
		t.Errorf("%d distinct event ids (%d redelivered) over %d deliveries; want the same 3 ids, redelivered after the failures", len(ids), redelivered, calls)
	}
	if !strings.Contains(l.raw(t, "/metrics", nil), `petition_registry_events_delivered_total{result="failed"}`) {
		t.Error("the failed deliveries are not counted")
	}
}

// TestPublicIntakeRateLimited: one client past its burst gets 429 with
// Retry-After, and nothing is stored for the refused petition; a petition
// with a token is not paced by its address.
func TestPublicIntakeRateLimited(t *testing.T) {
	l := start(t, "--public-rate", "0.01", "--public-burst", "2")
	codes := map[int]int{}
	var retry string
	for i := range 4 {
		code, hdr := l.call(t, "POST", "/v1/petitions", map[string]string{"Idempotency-Key": fmt.Sprint("rate-", i)}, petition, nil)
		codes[code]++
		if code == http.StatusTooManyRequests {
			retry = hdr.Get("Retry-After")
		}
	}
	if codes[http.StatusCreated] != 2 || codes[http.StatusTooManyRequests] != 2 || retry == "" {
		t.Errorf("answers %v, Retry-After %q; want 2 created, 2 refused with Retry-After", codes, retry)
	}
	// A desk or staff forwards many petitioners' petitions from one
	// address, with its token: not paced by the address.
	if code, _ := l.call(t, "POST", "/v1/petitions", map[string]string{"Idempotency-Key": "rate-staff", "Authorization": "Bearer " + townToken}, petition, nil); code != http.StatusCreated {
		t.Errorf("a petition with a staff token past the address's limit: %d; want 201", code)
	}
}

// TestStaffRegistersASkipLevelVisit: the City's reception registers a
// visit about a township's road (越级访): the case is registered with its
// redirectTo and its first stage at the township; a receivedAt in the
// future, a Visit filed by the public and a township's staff registering
// at the City are refused.
func TestStaffRegistersASkipLevelVisit(t *testing.T) {
	l := start(t)
	yesterday := time.Now().Add(-24 * time.Hour).Format(time.DateOnly)
	visit := `{"office":"nanyang-city","type":"Report","category":"road-repair","channel":"Visit","locality":"jiasong-town",
		"receivedAt":"` + yesterday + `","description":"村道塌陷","petitioner":{"name":"李四","phone":"13900139000"}}`
	var a struct {
		CaseNo, RedirectTo string
		SkipLevel          bool
		Deadlines          []struct{ Name, Office string }
		Error              string
	}
	code, _ := l.call(t, "POST", "/v1/cases", map[string]string{"Authorization": "Bearer " + cityToken, "Idempotency-Key": "visit-1"}, visit, &a)
	if code != http.StatusCreated || !a.SkipLevel || a.RedirectTo != "jiasong-town" || len(a.Deadlines) == 0 || a.Deadlines[0].Office != "jiasong-town" {
		t.Fatalf("a skip-level visit: %d %+v", code, a)
	}
	var c struct{ Received, Channel, RedirectTo string }
	if code, _ := l.call(t, "GET", "/v1/cases/"+a.CaseNo, bearer(cityToken), "", &c); code != http.StatusOK || c.Received != yesterday || c.Channel != "Visit" || c.RedirectTo != "jiasong-town" {
		t.Errorf("the registered visit: %d %+v; want received %s, Visit, redirectTo jiasong-town", code, c, yesterday)
	}
	future := strings.Replace(visit, yesterday, time.Now().Add(72*time.Hour).Format(time.DateOnly), 1)
	if code, _ := l.call(t, "POST", "/v1/cases", map[string]string{"Authorization": "Bearer " + cityToken, "Idempotency-Key": "visit-2"}, future, &a); code != http.StatusUnprocessableEntity || !strings.Contains(a.Error, "receivedAt") {
		t.Errorf("a visit received in the future: %d %q; want 422 naming receivedAt", code, a.Error)
	}
	if code, _ := l.call(t, "POST", "/v1/cases", map[string]string{"Authorization": "Bearer " + townToken, "Idempotency-Key": "visit-3"}, visit, &a); code != http.StatusForbidden {
		t.Errorf("a township registering at the City: %d; want 403", code)
	}
	public := strings.Replace(visit, `"receivedAt":"`+yesterday+`",`, "", 1)
	if code, _ := l.call(t, "POST", "/v1/petitions", map[string]string{"Idempotency-Key": "visit-4"}, public, &a); code != http.StatusUnprocessableEntity || !strings.Contains(a.Error, "channel") {
		t.Errorf("a Visit filed by the public: %d %q; want 422 naming channel", code, a.Error)
	}
}
