package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestLocalityIsAPlace: a Department is no locality: every desk refuses it
// (422) with the message petitionctl gives, whether the department's desk
// answered or the department is the desk's own office.
func TestLocalityIsAPlace(t *testing.T) {
	n := newSampleNetwork(t, "nanyang-city", "zhenping-natural-resources", "nanyang-human-resources")
	const want = `locality: locality \"zhenping-natural-resources\" is a Department; a locality is the place the matter arose: a City, County, Township or Village`
	code, body := n.route(t, "nanyang-city", `{"category":"x","type":"Appeal","channel":"Visit","locality":"zhenping-natural-resources"}`)
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, want) {
		t.Errorf("POST /v1/route with a Department's locality = %d %s, want 422 %s", code, body, want)
	}
	code, body = get(t, n.srv.URL+"/nanyang-city/v1/deadlines?received=2026-09-16&category=x&type=Appeal&locality=zhenping-natural-resources")
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, want) {
		t.Errorf("GET /v1/deadlines with a Department's locality = %d %s, want 422 %s", code, body, want)
	}
	code, body = n.route(t, "nanyang-human-resources", `{"category":"x","type":"Appeal","locality":"nanyang-human-resources"}`)
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, `locality \"nanyang-human-resources\" is a Department`) {
		t.Errorf("a Department's own desk with itself as locality = %d %s, want 422", code, body)
	}
	// The City is a place.
	if code, body := n.route(t, "nanyang-human-resources", `{"category":"x","type":"Appeal","locality":"nanyang-city"}`); code != http.StatusOK {
		t.Errorf("the City as locality = %d %s", code, body)
	}
}

// TestVillageLocality: the township's desk serves its villages: a matter
// that arose in one routes as the township's, without asking another desk;
// a desk that does not serve the village cannot reach it (a Village has no
// desk) and says so.
func TestVillageLocality(t *testing.T) {
	n := newSampleNetwork(t, "nanyang-city", "shifosi-town")
	for _, p := range []string{
		`"category":"land-acquisition","type":"Appeal","channel":"Visit"`,
		`"category":"road-repair","type":"Appeal","channel":"Visit"`,
	} {
		before := n.calls.Load()
		vc, village := n.route(t, "shifosi-town", `{`+p+`,"locality":"shifosi-village"}`)
		tc, town := n.route(t, "shifosi-town", `{`+p+`}`)
		if vc != http.StatusOK || tc != http.StatusOK || village != town {
			t.Errorf("%s: from the village %d %s, at the township %d %s", p, vc, village, tc, town)
		}
		if calls := n.calls.Load() - before; calls != 0 {
			t.Errorf("%s: %d calls to other desks for the township's own village", p, calls)
		}
	}
	code, body := n.route(t, "nanyang-city", `{"category":"x","type":"Appeal","locality":"hezhuang-village"}`)
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, "hezhuang-village") {
		t.Errorf("a village the desk does not serve = %d %s, want 422", code, body)
	}
}

// TestWindowsOfAJointReceptionCentre: the City's desk answers the windows
// of the departments stationed at its joint reception centre beside its
// own; a desk that is no centre answers its own alone.
func TestWindowsOfAJointReceptionCentre(t *testing.T) {
	srv := sampleDesk(t, "nanyang-city")
	// A Tuesday morning.
	code, body := get(t, srv.URL+"/v1/windows?channel=Visit&at=2026-10-13T09:30:00%2B08:00")
	if code != http.StatusOK {
		t.Fatalf("%d %s", code, body)
	}
	var ans windowsAnswer
	if err := json.Unmarshal([]byte(body), &ans); err != nil {
		t.Fatal(err)
	}
	if !ans.Open || ans.Window != "weekday-visits" || len(ans.Stationed) != 3 {
		t.Fatalf("answer %s", body)
	}
	for i, office := range []string{"nanyang-human-resources", "nanyang-natural-resources", "zhenping-natural-resources"} {
		s := ans.Stationed[i]
		if s.Office != office || s.Department == "" || s.DisplayName == "" || !s.Open || s.Window != "weekday-visits" || s.NextOpening == "" {
			t.Errorf("stationed[%d] = %+v, want %s open at its weekday window", i, s, office)
		}
	}
	// On National Day the stationed departments are closed like the City's
	// calendar says.
	_, body = get(t, srv.URL+"/v1/windows?channel=Visit&at=2026-10-02T09:30:00%2B08:00")
	if err := json.Unmarshal([]byte(body), &ans); err != nil {
		t.Fatal(err)
	}
	for _, s := range ans.Stationed {
		if s.Open {
			t.Errorf("%s is open on National Day: %s", s.Office, body)
		}
	}
	county := sampleDesk(t, "zhenping-county")
	if _, body := get(t, county.URL+"/v1/windows?channel=Visit&at=2026-10-13T09:30:00%2B08:00"); strings.Contains(body, "stationed") {
		t.Errorf("a desk that is no joint centre lists stationed windows: %s", body)
	}
}
