package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/cases"
	"github.com/xinfang/petition-operator/internal/pii"
	"github.com/xinfang/petition-operator/internal/testenv"
)

// TestUsageErrors: contradictory or missing flags are usage errors (exit
// 2) that name the flags, before anything is read or reached.
func TestUsageErrors(t *testing.T) {
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	for _, tc := range []struct {
		args []string
		env  string
		want string
	}{
		{[]string{"--network-dir", "net", "--kubeconfig", "kc", "--key-file", "k"}, "", "--network-dir and --kubeconfig"},
		{[]string{"--network-dir", "net", "--staff-tokens", "t", "--token-audience", "a", "--key-file", "k"}, "", "--token-audience is for cluster mode"},
		{[]string{"--network-dir", "net", "--key-file", "k"}, "", "--staff-tokens is required with --network-dir"},
		{[]string{"--key-file", "k"}, "", "--network-dir (the network's YAML) or --kubeconfig (a cluster) is required"},
		{[]string{"--kubeconfig", "kc", "--token-audience", "", "--key-file", "k"}, "", "--token-audience: want an audience"},
		{[]string{"--kubeconfig", "kc", "--network-reload-interval", "1m", "--key-file", "k"}, "", "--network-reload-interval is for --network-dir"},
		{[]string{"--network-dir", "net", "--staff-tokens", "t", "--operator-account", "system:serviceaccount:ns:op", "--key-file", "k"}, "", "--operator-account is for cluster mode"},
		{[]string{"--kubeconfig", "kc", "--operator-account", "petition-operator", "--key-file", "k"}, "", "not a ServiceAccount's user name"},
		{[]string{"--kubeconfig", "kc", "--city", "Nanyang City", "--key-file", "k"}, "", "--city"},
		// In a Pod the in-cluster config is the cluster: only the key is
		// missing.
		{[]string{"--database-url", "postgres://x"}, "10.0.0.1", "--key-file is required"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			t.Setenv("KUBERNETES_SERVICE_HOST", tc.env)
			err := run(context.Background(), tc.args, io.Discard, slog.New(slog.DiscardHandler))
			var usage usageError
			if !errors.As(err, &usage) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("run %q: %v; want a usage error saying %q", tc.args, err, tc.want)
			}
		})
	}
}

// TestClusterMode runs the registry with --kubeconfig as a ServiceAccount
// bound to config/registry's ClusterRole, on PostgreSQL, against a real API
// server holding config/samples and a second City, serving nanyang-city
// (--city) with an operator account: it becomes ready once the network is
// read; petitions come in through desks alone (a petition without a token,
// whatever its headers say, is refused), each desk files for its office
// and the Villages it serves and queries as the petitioner does, but
// never calls the staff API; the staff of an office (any other
// ServiceAccount of its namespace) act on its subtree; the operator reads
// the figures and nothing else; tokens of another audience, of a
// namespace of no office, of the other City's offices, are refused; a
// static token of --staff-tokens acts for its office's subtree, and one of
// an office the cluster does not have is refused. A registry of a City the
// cluster does not have is never ready and says so.
func TestClusterMode(t *testing.T) {
	ctx := context.Background()
	testenv.SetLogger()
	env, err := testenv.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := env.Stop(); err != nil {
			t.Error(err)
		}
	})
	r, err := testenv.SetUpRegistry(ctx, env)
	if err != nil {
		t.Fatal(err)
	}
	admin := r.Admin
	for _, o := range []*v1alpha1.Office{
		{ObjectMeta: metav1.ObjectMeta{Name: "xinyang-city"}, Spec: v1alpha1.OfficeSpec{Level: v1alpha1.LevelCity, CalendarRef: "cn-2026"}},
		{ObjectMeta: metav1.ObjectMeta{Name: "shihe-county"}, Spec: v1alpha1.OfficeSpec{Level: v1alpha1.LevelCounty, Parent: "xinyang-city", CalendarRef: "cn-2026"}},
	} {
		if err := admin.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	token := func(namespace, name string, audiences ...string) string {
		t.Helper()
		tok, err := testenv.ServiceAccountToken(ctx, admin, r.Kube, namespace, name, audiences...)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}

	dir := t.TempDir()
	kubeconfig := filepath.Join(dir, "kubeconfig")
	kc := clientcmdapi.NewConfig()
	kc.Clusters["test"] = &clientcmdapi.Cluster{Server: env.Config.Host, CertificateAuthorityData: env.Config.CAData}
	kc.AuthInfos["registry"] = &clientcmdapi.AuthInfo{Token: r.Token}
	kc.Contexts["test"] = &clientcmdapi.Context{Cluster: "test", AuthInfo: "registry"}
	kc.CurrentContext = "test"
	if err := clientcmd.WriteToFile(*kc, kubeconfig); err != nil {
		t.Fatal(err)
	}
	var keys bytes.Buffer
	if err := pii.Generate(&keys, "k1"); err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(dir, "keys")
	staffTokens := filepath.Join(dir, "staff-tokens")
	for path, data := range map[string]string{keyFile: keys.String(), staffTokens: countyToken + ",zhenping-county\n" + otherToken + ",nowhere-town\n"} {
		if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	l := startWith(t, []string{"--database-url", server.Database(t, "registry"), "--kubeconfig", kubeconfig, "--key-file", keyFile,
		"--staff-tokens", staffTokens, "--listen", "127.0.0.1:0", "--city", "nanyang-city",
		"--operator-account", "system:serviceaccount:petition-system:petition-operator"})
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, _ := l.call(t, "GET", "/readyz", nil, "", nil)
		if code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the registry is not ready within 30 s (%d):\n%s", code, l.logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}

	desk := token("office-shifosi-town", "desk", "petition-registry")
	clerk := token("office-shifosi-town", "clerk", "petition-registry")
	operator := token("petition-system", "petition-operator", "petition-registry")
	with := func(tok, key string, more ...string) map[string]string {
		h := map[string]string{"Idempotency-Key": key}
		if tok != "" {
			h["Authorization"] = "Bearer " + tok
		}
		for i := 0; i+1 < len(more); i += 2 {
			h[more[i]] = more[i+1]
		}
		return h
	}
	forged := []string{"X-Petition-Office", "shifosi-town", "X-Forwarded-For", "10.0.0.7", "X-Remote-User", "system:serviceaccount:office-shifosi-town:desk",
		"X-Forwarded-User", "desk@shifosi-town", "Impersonate-User", "system:serviceaccount:office-shifosi-town:clerk"}

	// Petitions come in through desks: without a token, whatever the
	// headers say, or with a token that is not a desk's or staff's, the
	// intake is refused.
	for _, tc := range []struct {
		what    string
		headers map[string]string
		want    int
	}{
		{"no token", with("", "k-0"), http.StatusUnauthorized},
		{"no token, headers naming the desk", with("", "k-0", forged...), http.StatusUnauthorized},
		{"a token of the namespace default", with(token("default", "desk", "petition-registry"), "k-0"), http.StatusUnauthorized},
		{"the desk's token for another audience", with(token("office-shifosi-town", "desk", "another-service"), "k-0"), http.StatusUnauthorized},
		{"the desk's token for the API server", with(token("office-shifosi-town", "desk"), "k-0"), http.StatusUnauthorized},
		{"the desk of another City's county", with(token("office-shihe-county", "desk", "petition-registry"), "k-0"), http.StatusUnauthorized},
		{"the operator", with(operator, "k-0"), http.StatusForbidden},
	} {
		var a answer
		if code, _ := l.call(t, "POST", "/v1/petitions", tc.headers, petition, &a); code != tc.want {
			t.Errorf("%s: POST /v1/petitions: %d %q; want %d", tc.what, code, a.Error, tc.want)
		}
	}
	var open311 []map[string]any
	if code, _ := l.call(t, "POST", "/open311/v2/requests.json", map[string]string{"X-Petition-Office": "shifosi-town"},
		"jurisdiction_id=shifosi-town&service_code=road-repair&description=pothole&first_name=Li&phone=13900139000", &open311); code != http.StatusUnauthorized {
		t.Errorf("Open311 without a token: %d; want 401", code)
	}

	// The desk files for its office, under keys of its own: another desk's
	// key of the same name is another case.
	var a, again, other answer
	if code, _ := l.call(t, "POST", "/v1/petitions", with(desk, "k-1", "X-Petition-Office", "jiasong-town"), petition, &a); code != http.StatusCreated || len(a.Deadlines) < 2 {
		t.Fatalf("the desk's petition: %d %+v; want 201 with the deadlines", code, a)
	}
	if code, _ := l.call(t, "POST", "/v1/petitions", with(desk, "k-1"), petition, &again); code != http.StatusOK || again.CaseNo != a.CaseNo {
		t.Errorf("the desk's petition again: %d %+v; want 200 and case %s", code, again, a.CaseNo)
	}
	jiasong := strings.Replace(petition, "shifosi-town", "jiasong-town", 1)
	if code, _ := l.call(t, "POST", "/v1/petitions", with(token("office-jiasong-town", "desk", "petition-registry"), "k-1"), jiasong, &other); code != http.StatusCreated || other.CaseNo == a.CaseNo {
		t.Errorf("another desk's petition under the same key: %d %+v; want 201, another case than %s", code, other, a.CaseNo)
	}
	var refused answer
	if code, _ := l.call(t, "POST", "/v1/petitions", with(desk, "k-2"), jiasong, &refused); code != http.StatusForbidden ||
		!strings.Contains(refused.Error, `"shifosi-town"`) || !strings.Contains(refused.Error, `"jiasong-town"`) {
		t.Errorf("the desk of shifosi-town filing for jiasong-town: %d %q; want 403 naming both", code, refused.Error)
	}
	var village answer
	if code, _ := l.call(t, "POST", "/v1/petitions", with(desk, "k-3"), strings.Replace(petition, "shifosi-town", "shifosi-village", 1), &village); code != http.StatusCreated {
		t.Fatalf("the desk filing for its Village: %d %+v; want 201", code, village)
	}
	var c struct{ Receiver, Locality string }
	if code, _ := l.call(t, "GET", "/v1/cases/"+village.CaseNo, bearer(clerk), "", &c); code != http.StatusOK || c.Receiver != "shifosi-town" || c.Locality != "shifosi-village" {
		t.Errorf("the Village's petition: %d %+v; want received at shifosi-town, its locality shifosi-village", code, c)
	}
	if code, _ := l.call(t, "POST", "/open311/v2/requests.json", map[string]string{"Authorization": "Bearer " + desk},
		"jurisdiction_id=shifosi-town&service_code=road-repair&description=pothole&first_name=Li&phone=13900139000", &open311); code != http.StatusCreated {
		t.Errorf("Open311 through the desk: %d %v; want 201", code, open311)
	}
	if code, _ := l.call(t, "GET", "/v1/petitions/"+a.CaseNo+"?code="+a.QueryCode, bearer(desk), "", nil); code != http.StatusOK {
		t.Errorf("the desk's progress query: %d; want 200", code)
	}

	// Who may call what.
	for _, tc := range []struct {
		what, token, path string
		want              int
		says              string
	}{
		{"the desk, the case", desk, "/v1/cases/" + a.CaseNo, http.StatusForbidden, deskOnly},
		{"the desk, its office's stats", desk, "/v1/offices/shifosi-town/stats", http.StatusForbidden, deskOnly},
		{"the desk, the feed", desk, "/v1/events", http.StatusForbidden, deskOnly},
		{"the desk, the figures", desk, "/v1/figures", http.StatusForbidden, deskOnly},
		{"the staff of shifosi-town, the case", clerk, "/v1/cases/" + a.CaseNo, http.StatusOK, ""},
		{"the staff of shifosi-town, its county", clerk, "/v1/offices/zhenping-county/stats", http.StatusForbidden, ""},
		{"the staff of shifosi-town, the figures", clerk, "/v1/figures", http.StatusForbidden, "operator"},
		{"the operator, the case", operator, "/v1/cases/" + a.CaseNo, http.StatusForbidden, operatorOnly},
		{"the operator, a stats", operator, "/v1/offices/shifosi-town/stats", http.StatusForbidden, operatorOnly},
		{"another ServiceAccount of the operator's namespace", token("petition-system", "other", "petition-registry"), "/v1/figures", http.StatusUnauthorized, ""},
		{"no token, headers naming the staff", "", "/v1/offices/shifosi-town/stats", http.StatusUnauthorized, ""},
		{"the staff of another City's county", token("office-shihe-county", "clerk", "petition-registry"), "/v1/offices/shihe-county/stats", http.StatusUnauthorized, ""},
		{"the static token of the county, in its subtree", countyToken, "/v1/offices/shifosi-town/stats", http.StatusOK, ""},
		{"the static token of the county, another City's county", countyToken, "/v1/offices/shihe-county/stats", http.StatusNotFound, ""},
		{"a static token of an office not in the cluster", otherToken, "/v1/offices/shifosi-town/stats", http.StatusUnauthorized, ""},
	} {
		headers := map[string]string{}
		if tc.token != "" {
			headers["Authorization"] = "Bearer " + tc.token
		}
		for i := 0; i+1 < len(forged); i += 2 {
			headers[forged[i]] = forged[i+1]
		}
		code, _, body := l.do(t, "GET", tc.path, headers, "")
		if code != tc.want || !strings.Contains(string(body), tc.says) {
			t.Errorf("%s: GET %s: %d %s; want %d saying %q", tc.what, tc.path, code, body, tc.want, tc.says)
		}
	}

	// The operator's figures: each office's own, from the first of the
	// year by default.
	var figures cases.Figures
	if code, _ := l.call(t, "GET", "/v1/figures", bearer(operator), "", &figures); code != http.StatusOK {
		t.Fatalf("the operator's figures: %d", code)
	}
	today := time.Now().In(time.FixedZone("CST", 8*3600))
	if figures.AsOf != today.Format(time.DateOnly) || figures.Since != today.Format("2006")+"-01-01" {
		t.Errorf("figures since %s as of %s; want since the first of %d, as of %s", figures.Since, figures.AsOf, today.Year(), today.Format(time.DateOnly))
	}
	// Three petitions received at shifosi-town (the Village's a repeat of
	// the first), one at jiasong-town (a repeat too).
	if got := figures.Offices["shifosi-town"]; got.Open != 3 || got.Repeat != 1 {
		t.Errorf("shifosi-town's figures %+v; want 3 open cases, 1 of them a repeat", got)
	}
	if got := figures.Offices["jiasong-town"]; got.Open != 1 || got.Repeat != 1 {
		t.Errorf("jiasong-town's figures %+v; want 1 open case, a repeat", got)
	}
	for since, says := range map[string]string{
		"2026-13-01": "since: want a date",
		today.AddDate(0, 0, 1).Format(time.DateOnly):   "out of range",
		today.AddDate(-11, 0, 0).Format(time.DateOnly): "out of range",
		strings.Repeat("9", 200):                       "since: want a date",
	} {
		code, _, body := l.do(t, "GET", "/v1/figures?since="+since, bearer(operator), "")
		if code != http.StatusUnprocessableEntity || !strings.Contains(string(body), says) {
			t.Errorf("figures since %.20s: %d %s; want 422 saying %q", since, code, body, says)
		}
	}
	if code, _ := l.call(t, "GET", "/v1/figures?since="+today.AddDate(0, -1, 0).Format(time.DateOnly), bearer(operator), "", &figures); code != http.StatusOK {
		t.Errorf("figures since a month ago: %d; want 200", code)
	}

	// A registry of a City the cluster does not have is never ready, and
	// says why.
	lost := startWith(t, []string{"--database-url", server.Database(t, "registry"), "--kubeconfig", kubeconfig, "--key-file", keyFile,
		"--listen", "127.0.0.1:0", "--city", "nowhere-city"})
	deadline = time.Now().Add(30 * time.Second)
	for {
		_, _, body := lost.do(t, "GET", "/readyz", nil, "")
		if strings.Contains(string(body), "--city") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz of a registry of nowhere-city never names --city: %s", body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	code, hdr, body := lost.do(t, "POST", "/v1/petitions", with(desk, "k-9"), petition)
	if code != http.StatusServiceUnavailable || hdr.Get("Retry-After") == "" || !strings.Contains(string(body), `no City \"nowhere-city\" (its Cities: nanyang-city, xinyang-city)`) {
		t.Errorf("a petition to the registry of nowhere-city: %d %s; want 503 with Retry-After naming the Cities there are", code, body)
	}
}

// TestNotReadyUntilTheNetworkIs: until the network is read, the API
// answers 503 with Retry-After and /readyz says why, while /healthz and
// /metrics serve.
func TestNotReadyUntilTheNetworkIs(t *testing.T) {
	notYet := errors.New("the network is not yet read from the cluster")
	a := &api{metrics: newMetrics(), log: slog.New(slog.DiscardHandler), network: func() error { return notYet },
		ready: func(context.Context) error { return notYet }}
	h := a.handler()
	for path, want := range map[string]int{
		"/v1/petitions/2026-000001?code=x": http.StatusServiceUnavailable,
		"/v1/offices/shifosi-town/stats":   http.StatusServiceUnavailable,
		"/readyz":                          http.StatusServiceUnavailable,
		"/healthz":                         http.StatusOK,
		"/metrics":                         http.StatusOK,
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if rec.Code != want {
			t.Errorf("GET %s: %d %s; want %d", path, rec.Code, rec.Body, want)
		}
		if want == http.StatusServiceUnavailable && !strings.Contains(rec.Body.String(), notYet.Error()) {
			t.Errorf("GET %s: %s; want it to say %q", path, rec.Body, notYet)
		}
		if path != "/readyz" && want == http.StatusServiceUnavailable && rec.Header().Get("Retry-After") == "" {
			t.Errorf("GET %s: no Retry-After", path)
		}
	}
}
