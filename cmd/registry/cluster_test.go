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

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

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
// server holding config/samples: it becomes ready once the network is
// read; a petition is routed with the cluster's network; a desk's token
// of office-shifosi-town acts for shifosi-town and no other office; tokens
// of another audience or namespace are refused; a static token of
// --staff-tokens acts for its office's subtree, and one of an office the
// cluster does not have is refused.
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
		"--staff-tokens", staffTokens, "--listen", "127.0.0.1:0"})
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

	var a answer
	if code, _ := l.call(t, "POST", "/v1/petitions", map[string]string{"Idempotency-Key": "k-1"}, petition, &a); code != http.StatusCreated || len(a.Deadlines) < 2 {
		t.Fatalf("POST /v1/petitions: %d %+v; want 201 with the deadlines", code, a)
	}

	desk := token("office-shifosi-town", "desk", "petition-registry")
	for _, tc := range []struct {
		what, token, office string
		want                int
	}{
		{"the desk of shifosi-town, its own office", desk, "shifosi-town", http.StatusOK},
		{"the desk of shifosi-town, its county", desk, "zhenping-county", http.StatusForbidden},
		{"the desk's token for another audience", token("office-shifosi-town", "desk", "another-service"), "shifosi-town", http.StatusUnauthorized},
		{"the desk's token for the API server", token("office-shifosi-town", "desk"), "shifosi-town", http.StatusUnauthorized},
		{"a token of the namespace default", token("default", "staff", "petition-registry"), "shifosi-town", http.StatusUnauthorized},
		{"a garbage token", "garbage", "shifosi-town", http.StatusUnauthorized},
		{"the static token of the county, in its subtree", countyToken, "shifosi-town", http.StatusOK},
		{"a static token of an office not in the cluster", otherToken, "shifosi-town", http.StatusUnauthorized},
	} {
		var stats struct{ Received *int }
		if code, _ := l.call(t, "GET", "/v1/offices/"+tc.office+"/stats", bearer(tc.token), "", &stats); code != tc.want || (code == http.StatusOK && (stats.Received == nil || *stats.Received != 1)) {
			t.Errorf("%s: GET /v1/offices/%s/stats: %d, received %v; want %d (received 1)", tc.what, tc.office, code, stats.Received, tc.want)
		}
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
