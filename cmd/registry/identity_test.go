package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// xinyang is a second City, with a county, beside config/samples' nanyang-city.
const xinyang = `apiVersion: petition.xinfang.io/v1alpha1
kind: Office
metadata:
  name: xinyang-city
spec:
  level: City
  calendarRef: cn-2026
---
apiVersion: petition.xinfang.io/v1alpha1
kind: Office
metadata:
  name: shihe-county
spec:
  level: County
  parent: xinyang-city
  calendarRef: cn-2026
`

// twoCitiesDir is a copy of config/samples with the second City added.
func twoCitiesDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "network")
	if err := os.CopyFS(dir, os.DirFS(filepath.Join("..", "..", "config", "samples"))); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "office-xinyang.yaml"), []byte(xinyang), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestCityInFileMode: with --city, the registry of a network of two
// Cities serves its City alone: a petition for the other City's county is
// refused naming the registry's City, that county's stats are not found;
// the figures, without an operator account, answer 403 to everyone.
// --city naming an office that is no City stops the registry at start.
func TestCityInFileMode(t *testing.T) {
	dir := twoCitiesDir(t)
	l := start(t, "--network-dir", dir, "--city", "nanyang-city")
	key := func(k string) map[string]string { return map[string]string{"Idempotency-Key": k} }
	var a answer
	if code, _ := l.call(t, "POST", "/v1/petitions", key("c-1"), strings.Replace(petition, "shifosi-town", "shihe-county", 1), &a); code != http.StatusUnprocessableEntity ||
		!strings.Contains(a.Error, `office: office "shihe-county" is not in this registry's City "nanyang-city"`) {
		t.Errorf("a petition for another City's county: %d %q; want 422 naming the registry's City", code, a.Error)
	}
	if code, _ := l.call(t, "POST", "/v1/petitions", key("c-2"), petition, &a); code != http.StatusCreated {
		t.Errorf("a petition for shifosi-town: %d %q; want 201", code, a.Error)
	}
	if code, _ := l.call(t, "GET", "/v1/offices/shihe-county/stats", bearer(cityToken), "", nil); code != http.StatusNotFound {
		t.Errorf("another City's county's stats: %d; want 404", code)
	}
	for _, headers := range []map[string]string{nil, bearer(cityToken), bearer("garbage")} {
		code, _, body := l.do(t, "GET", "/v1/figures", headers, "")
		if code != http.StatusForbidden || !strings.Contains(string(body), "--operator-account") {
			t.Errorf("the figures without an operator account (%v): %d %s; want 403 naming --operator-account", headers, code, body)
		}
	}

	// The network is read before the database is reached.
	err := run(context.Background(), []string{"--database-url", "postgres://nowhere.invalid/x", "--network-dir", dir, "--staff-tokens", writeTokens(t),
		"--key-file", writeKeys(t), "--city", "zhenping-county"}, io.Discard, slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), `--city: office "zhenping-county" is a County, not a City`) {
		t.Errorf("--city zhenping-county: %v; want an error saying it is no City", err)
	}
}

// TestIdentityOnlyFromTheToken: headers that name an office or a user
// give no identity: the staff API refuses them without a token, and a
// petition filed with them is the public's (its key is the public's, not
// the office's). With --public-intake=false, a petition needs a token.
func TestIdentityOnlyFromTheToken(t *testing.T) {
	forged := map[string]string{"X-Petition-Office": "shifosi-town", "X-Forwarded-For": "10.0.0.7", "X-Remote-User": "clerk",
		"X-Forwarded-User": "clerk", "Impersonate-User": "staff@shifosi-town", "Idempotency-Key": "f-1"}
	l := start(t)
	for _, path := range []string{"/v1/offices/shifosi-town/stats", "/v1/events", "/v1/offices/shifosi-town/cases"} {
		if code, _ := l.call(t, "GET", path, forged, "", nil); code != http.StatusUnauthorized {
			t.Errorf("GET %s with headers naming the office: %d; want 401", path, code)
		}
	}
	var public, staff answer
	if code, _ := l.call(t, "POST", "/v1/petitions", forged, petition, &public); code != http.StatusCreated {
		t.Fatalf("a public petition with forged headers: %d %q", code, public.Error)
	}
	// The staff's key of the same name is another key: the forged
	// petition was not filed as the office's.
	withToken := map[string]string{"Idempotency-Key": "f-1", "Authorization": "Bearer " + townToken}
	if code, _ := l.call(t, "POST", "/v1/petitions", withToken, petition, &staff); code != http.StatusCreated || staff.CaseNo == public.CaseNo {
		t.Errorf("the staff's petition under the forged petition's key: %d %+v; want 201, another case than %s", code, staff, public.CaseNo)
	}

	closed := start(t, "--public-intake=false")
	var a answer
	if code, _ := closed.call(t, "POST", "/v1/petitions", forged, petition, &a); code != http.StatusUnauthorized || !strings.Contains(a.Error, "desk's token") {
		t.Errorf("--public-intake=false, no token: %d %q; want 401 asking for a desk's token", code, a.Error)
	}
	var open311 []map[string]any
	if code, _ := closed.call(t, "POST", "/open311/v2/requests.json", map[string]string{"X-Petition-Office": "jiasong-town"},
		"jurisdiction_id=jiasong-town&service_code=road-repair&description=pothole&first_name=Li&phone=13900139000", &open311); code != http.StatusUnauthorized || len(open311) != 1 {
		t.Errorf("--public-intake=false, Open311 without a token: %d %v; want 401 as GeoReport's error list", code, open311)
	}
	if code, _ := closed.call(t, "POST", "/v1/petitions", withToken, petition, &a); code != http.StatusCreated {
		t.Errorf("--public-intake=false, the staff's petition: %d %q; want 201", code, a.Error)
	}
	if code, _ := closed.call(t, "POST", "/v1/petitions", map[string]string{"Idempotency-Key": "f-2", "Authorization": "Bearer " + townToken},
		strings.Replace(petition, "shifosi-town", "jiasong-town", 1), &a); code != http.StatusForbidden {
		t.Errorf("--public-intake=false, the township's staff filing for another township: %d %q; want 403", code, a.Error)
	}
}

// TestFiguresSince: since is the first of the year by default, may be
// today or ten years back to the day, and nothing else; a refusal names
// since and the dates allowed.
func TestFiguresSince(t *testing.T) {
	today := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	for v, want := range map[string]string{
		"":           "2026-01-01",
		"2026-12-07": "2026-12-07",
		"2016-12-07": "2016-12-07",
		"2016-12-06": "",
		"2026-12-08": "",
		"2026-02-30": "",
		"2026-1-01":  "",
		"today":      "",
	} {
		got, err := figuresSince(v, today)
		switch {
		case want == "" && (err == nil || !strings.Contains(err.Error(), "since: ") || !strings.Contains(err.Error(), "from 2016-12-07 to today, 2026-12-07")):
			t.Errorf("since %q: %v, %v; want an error naming since and the dates allowed", v, got, err)
		case want != "" && (err != nil || got.Format(time.DateOnly) != want):
			t.Errorf("since %q: %v, %v; want %s", v, got, err, want)
		}
	}
}
