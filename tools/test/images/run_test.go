package images

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/objfiles"
	"github.com/xinfang/petition-operator/internal/testenv"
)

// The operator's image, run from its own root filesystem as 65532 against
// the local control plane, with its webhooks, converges the sample network:
// every office Ready.
func TestManagerImageConvergesSamples(t *testing.T) {
	requireRoot(t)
	img, cfg := image(t, "manager")
	root := unpack(t, img)

	env, err := testenv.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	testenv.SetLogger()
	k8s, err := client.New(env.Config, client.Options{Scheme: testenv.Scheme})
	if err != nil {
		t.Fatal(err)
	}

	// The kubeconfig inside the root, readable by the image's user only.
	kubeconfig := filepath.Join(root, "home", "nonroot", "kubeconfig")
	if err := env.WriteKubeconfig("petition-operator-image", kubeconfig); err != nil {
		t.Fatal(err)
	}
	c := credential(t, cfg)
	if err := os.Chown(kubeconfig, int(c.Uid), int(c.Gid)); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(t.TempDir(), "manager.log")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	m, err := testenv.StartManager(ctx, testenv.ManagerOptions{
		Bin:         cfg.Config.Entrypoint[0],
		Kubeconfig:  "/home/nonroot/kubeconfig",
		LogPath:     logPath,
		LogLevel:    "info",
		CertDir:     "/tmp/webhook-certs",
		SysProcAttr: &syscall.SysProcAttr{Chroot: root, Credential: c},
	})
	if err != nil {
		if log, rerr := os.ReadFile(logPath); rerr == nil {
			t.Logf("manager log:\n%s", log)
		}
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.Stop(); err != nil {
			t.Errorf("stopping the manager: %v", err)
		}
		if t.Failed() {
			for _, path := range []string{logPath, logPath + ".goroutines"} {
				if data, err := os.ReadFile(path); err == nil {
					t.Logf("%s:\n%s", filepath.Base(path), data)
				}
			}
		}
	})
	// The webhook certificate it made, in the root, as its user.
	info, err := os.Stat(filepath.Join(root, "tmp", "webhook-certs", "tls.crt"))
	if err != nil {
		t.Fatalf("no webhook certificate in the image's /tmp: %v", err)
	}
	if st, ok := info.Sys().(*syscall.Stat_t); !ok || st.Uid != c.Uid {
		t.Errorf("the webhook certificate is owned by %v, want uid %d", info.Sys(), c.Uid)
	}

	offices := applySamples(t, k8s, env.Root)
	called, err := testenv.WebhooksCalled(ctx, env.Config)
	if err != nil {
		t.Fatal(err)
	}
	if !called {
		t.Error("the API server did not call the webhooks of the manager in its image")
	}
	g := NewWithT(t)
	for _, name := range offices {
		g.Eventually(func(g Gomega) {
			o := &v1alpha1.Office{}
			g.Expect(k8s.Get(context.Background(), client.ObjectKey{Name: name}, o)).To(Succeed())
			g.Expect(o.Status.ObservedGeneration).To(Equal(o.Generation))
			g.Expect(readyStatus(o)).To(Equal(metav1.ConditionTrue), "office %s: %+v", name, o.Status.Conditions)
		}).WithTimeout(2 * time.Minute).WithPolling(250 * time.Millisecond).Should(Succeed())
	}
	if len(offices) < 10 {
		t.Errorf("the samples hold %d offices; want the whole network", len(offices))
	}
}

func readyStatus(o *v1alpha1.Office) metav1.ConditionStatus {
	for _, c := range o.Status.Conditions {
		if c.Type == v1alpha1.ConditionReady {
			return c.Status
		}
	}
	return ""
}

// applySamples applies config/samples as `kubectl apply --server-side`
// does and returns the offices' names.
func applySamples(t *testing.T, k8s client.Client, repo string) []string {
	t.Helper()
	names, err := testenv.ApplySamples(context.Background(), k8s, repo)
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// The desk's image serves the configuration of an office compiled from the
// samples, and answers from it, in the office's time zone (the zone
// database is in the binary: the image has none).
func TestDeskImageServesConfig(t *testing.T) {
	requireRoot(t)
	img, cfg := image(t, "desk")
	root := unpack(t, img)
	set, err := objfiles.Load(filepath.Join(repoRoot(t), "config", "samples"))
	if err != nil {
		t.Fatal(err)
	}
	office, err := set.OfficeConfig("shifosi-town")
	if err != nil {
		t.Fatal(err)
	}
	data, _, err := office.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	writeAs(t, cfg, filepath.Join(root, "etc", "desk", "office.json"), data)
	ports, err := testenv.FreePorts(3)
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", ports[0])
	peerAddr := fmt.Sprintf("127.0.0.1:%d", ports[1])
	probeAddr := fmt.Sprintf("127.0.0.1:%d", ports[2])
	cmd := inImage(t, root, cfg, "--addr", addr, "--peer-addr", peerAddr, "--probe-addr", probeAddr, "--config", "/etc/desk/office.json")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-done:
			t.Logf("the desk stopped: %v", err)
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			t.Errorf("the desk did not stop within 30s of SIGTERM: %v", <-done)
		}
		if t.Failed() {
			t.Logf("desk output:\n%s", out.String())
		}
	})
	base := "http://" + addr
	waitReady(t, "http://"+probeAddr+"/readyz", done)
	if code, body := get(t, "http://"+peerAddr+"/v1/handler?category=land-acquisition&type=Appeal&channel=Visit"); code != http.StatusOK || !bytes.Contains(body, []byte(`"route":`)) {
		t.Errorf("GET /v1/handler on the peer port = %d %s, want 200 and the handling", code, body)
	}

	code, body := get(t, base+"/v1/office")
	if code != http.StatusOK || !bytes.Equal(body, data) {
		t.Errorf("GET /v1/office = %d, %d bytes; want 200 and the %d bytes of its configuration", code, len(body), len(data))
	}
	resp, err := http.Post(base+"/v1/route", "application/json", strings.NewReader(`{"category":"land-acquisition","type":"Appeal","channel":"Visit"}`))
	if err != nil {
		t.Fatal(err)
	}
	routed, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	var route struct {
		Office string `json:"office"`
		Rule   string `json:"rule"`
	}
	if err := json.Unmarshal(routed, &route); err != nil || route.Office != "zhenping-natural-resources" || route.Rule != "land-to-natural-resources" {
		t.Errorf("POST /v1/route = %d %s (%v); want zhenping-natural-resources by land-to-natural-resources", resp.StatusCode, routed, err)
	}
	// Deadlines count in Asia/Shanghai: this needs the zone database.
	code, body = get(t, base+"/v1/deadlines?received=2026-09-16")
	if code != http.StatusOK || !strings.Contains(string(body), `"name":"Acceptance"`) {
		t.Errorf("GET /v1/deadlines = %d %s; want the stages", code, body)
	}
}

// waitReady polls url until it answers 200, or fails when the process ends.
func waitReady(t *testing.T, url string, done <-chan error) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		resp, err := http.Get(url)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case err := <-done:
			t.Fatalf("the process in the image exited before it was ready: %v", err)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not answer 200 within a minute: %v", url, err)
		}
	}
}

func get(t *testing.T, url string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

// petitionctl's image validates the samples copied into its root and
// refuses a network with an office whose parent does not exist.
func TestPetitionctlImageValidates(t *testing.T) {
	requireRoot(t)
	img, cfg := image(t, "petitionctl")
	root := unpack(t, img)
	samples, err := filepath.Glob(filepath.Join(repoRoot(t), "config", "samples", "*.yaml"))
	if err != nil || len(samples) == 0 {
		t.Fatalf("no samples: %v", err)
	}
	for _, s := range samples {
		data, err := os.ReadFile(s)
		if err != nil {
			t.Fatal(err)
		}
		if filepath.Base(s) == "kustomization.yaml" {
			continue
		}
		writeAs(t, cfg, filepath.Join(root, "samples", filepath.Base(s)), data)
		writeAs(t, cfg, filepath.Join(root, "bad", filepath.Base(s)), data)
	}
	orphan, err := os.ReadFile(filepath.Join(repoRoot(t), "test", "corpus", "044-parent-missing.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	writeAs(t, cfg, filepath.Join(root, "bad", "orphan.yaml"), orphan)

	out, err := inImage(t, root, cfg, "validate", "-f", "/samples").CombinedOutput()
	if err != nil {
		t.Errorf("petitionctl validate -f /samples: %v\n%s", err, out)
	}
	out, err = inImage(t, root, cfg, "validate", "-f", "/bad").CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() == 0 {
		t.Errorf("petitionctl validate -f /bad: %v, want a non-zero exit\n%s", err, out)
	}
	if want := `Office/corpus-orphan-town: spec.parent: Not found`; !strings.Contains(string(out), want) {
		t.Errorf("petitionctl validate -f /bad printed\n%s\nwant a line with %q", out, want)
	}
}
