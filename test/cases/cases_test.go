// Package cases proves the case registry as the operator runs it, end to
// end, on a real API server and a real PostgreSQL: the sample network and
// the operator (in process), nanyang-city's registry and shifosi-town's
// desk as the processes the images run, petitions filed through the desk,
// and the figures the operator reads back into the offices' status.
package cases

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	. "github.com/onsi/gomega"
	dto "github.com/prometheus/client_model/go"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/cmd/manager/app/apptest"
	"github.com/xinfang/petition-operator/controllers"
	"github.com/xinfang/petition-operator/internal/casestore"
	"github.com/xinfang/petition-operator/internal/pgtest"
	"github.com/xinfang/petition-operator/internal/pii"
	"github.com/xinfang/petition-operator/internal/testenv"
	"github.com/xinfang/petition-operator/internal/testhttp"
)

const (
	city           = "nanyang-city"
	casesNamespace = "petition-system"
	operatorSA     = "petition-operator"
)

var server *pgtest.Server

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	var err error
	if server, err = pgtest.Start(pgtest.Options{}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = server.Stop() }()
	return m.Run()
}

// process is a command of the suite, its output kept for a failure.
type process struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	logs bytes.Buffer
	addr chan string
}

func (p *process) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.logs.Write(b)
}

func (p *process) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.logs.String()
}

// start runs bin with args until the test ends; with listening, it returns
// once the process logs "listening on <addr>" and gives that address.
func start(t *testing.T, bin string, args []string, listening bool) string {
	t.Helper()
	p := &process{cmd: exec.Command(bin, args...), addr: make(chan string, 1)}
	pr, pw := io.Pipe()
	p.cmd.Stdout, p.cmd.Stderr = io.MultiWriter(p, pw), io.MultiWriter(p, pw)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if _, after, ok := strings.Cut(sc.Text(), "listening on "); ok {
				select {
				case p.addr <- strings.FieldsFunc(after, func(r rune) bool { return r == '"' || r == ' ' })[0]:
				default:
				}
			}
		}
	}()
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = p.cmd.Process.Signal(os.Interrupt)
		_ = p.cmd.Wait()
		_ = pw.Close()
		if t.Failed() {
			t.Logf("%s:\n%s", filepath.Base(bin), p.output())
		}
	})
	if !listening {
		return ""
	}
	select {
	case addr := <-p.addr:
		return addr
	case <-time.After(60 * time.Second):
		t.Fatalf("%s did not listen within 60 s:\n%s", filepath.Base(bin), p.output())
	}
	return ""
}

// call makes an HTTP request and decodes a JSON answer into out (when not
// nil); it returns the status code and the body.
func call(t *testing.T, method, url string, headers map[string]string, body string, out any) (int, string) {
	t.Helper()
	a := testhttp.Do(t, method, url, headers, body)
	if out != nil && a.Code < 300 {
		if err := json.Unmarshal(a.Body, out); err != nil {
			t.Fatalf("%s %s: %d %s: %v", method, url, a.Code, a.Body, err)
		}
	}
	return a.Code, string(a.Body)
}

func bearer(token string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + token}
}

// figuresRead is how many readings of the Cities' figures the operator has
// made and taken.
func figuresRead(t *testing.T) float64 {
	t.Helper()
	families, err := crmetrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "petition_case_figures_reads_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			if labelOf(m, "result") == "ok" {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

// figuresWritten is how many status writes the figures have made.
func figuresWritten(t *testing.T) float64 {
	t.Helper()
	families, err := crmetrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == "petition_case_figures_status_writes_total" {
			for _, m := range f.GetMetric() {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

func labelOf(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

const petition = `{"office":%q,"type":"Appeal","category":"land-acquisition","channel":"Online",` +
	`"description":"征地补偿款至今未发放到户","petitioner":{"name":"张三","phone":"138 0013 8000"}}`

// TestPetitionsThroughDesksReachStatus: a petition filed at a township's
// desk reaches its City's registry with the township's identity, a forged
// intake is refused, the registry's figures reach the township's and the
// City's status, and nothing is written while nothing changes.
func TestPetitionsThroughDesksReachStatus(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	testenv.SetLogger()
	env, err := testenv.Start()
	g.Expect(err).NotTo(HaveOccurred())
	t.Cleanup(func() { _ = env.Stop() })
	r, err := testenv.SetUpRegistry(ctx, env)
	g.Expect(err).NotTo(HaveOccurred())
	admin := r.Admin
	token := func(namespace, name string, audiences ...string) string {
		t.Helper()
		tok, err := testenv.ServiceAccountToken(ctx, admin, r.Kube, namespace, name, audiences...)
		g.Expect(err).NotTo(HaveOccurred())
		return tok
	}
	dir := t.TempDir()
	write := func(name, data string) string {
		path := filepath.Join(dir, name)
		g.Expect(os.WriteFile(path, []byte(data), 0o600)).To(Succeed())
		return path
	}

	// The binaries the images run.
	registryBin, deskBin := filepath.Join(dir, "registry"), filepath.Join(dir, "desk")
	built := make(chan error, 1)
	go func() { built <- testenv.BuildCommand(env.Root, "./cmd/desk", deskBin) }()
	g.Expect(testenv.BuildCommand(env.Root, "./cmd/registry", registryBin)).To(Succeed())
	g.Expect(<-built).To(Succeed())

	// nanyang-city's registry, in cluster mode, as its ServiceAccount.
	kc := clientcmdapi.NewConfig()
	kc.Clusters["test"] = &clientcmdapi.Cluster{Server: env.Config.Host, CertificateAuthorityData: env.Config.CAData}
	kc.AuthInfos["registry"] = &clientcmdapi.AuthInfo{Token: r.Token}
	kc.Contexts["test"] = &clientcmdapi.Context{Cluster: "test", AuthInfo: "registry"}
	kc.CurrentContext = "test"
	kubeconfig := filepath.Join(dir, "kubeconfig")
	g.Expect(clientcmd.WriteToFile(*kc, kubeconfig)).To(Succeed())
	var keys bytes.Buffer
	g.Expect(pii.Generate(&keys, "k1")).To(Succeed())
	database := server.Database(t, "")
	addr := start(t, registryBin, []string{"--database-url", database, "--kubeconfig", kubeconfig, "--city", city,
		"--key-file", write("keys", keys.String()), "--listen", "127.0.0.1:0",
		"--operator-account", "system:serviceaccount:" + casesNamespace + ":" + operatorSA}, true)
	registry := "http://" + addr

	// nanyang-city's cases live in the suite's database, declared
	// before the operator starts so that the network renders once.
	g.Expect(admin.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: casesNamespace, Name: "cases-db"},
		StringData: map[string]string{"uri": database}})).To(Succeed())
	cityOffice := &v1alpha1.Office{}
	g.Expect(admin.Get(ctx, client.ObjectKey{Name: city}, cityOffice)).To(Succeed())
	patch := client.MergeFrom(cityOffice.DeepCopy())
	cityOffice.Spec.Cases = &v1alpha1.OfficeCases{External: &v1alpha1.ExternalCases{SecretRef: v1alpha1.SecretKeyRef{Name: "cases-db", Key: "uri"}}}
	g.Expect(admin.Patch(ctx, cityOffice, patch)).To(Succeed())

	// The operator, reading the figures every second with its token for
	// the registries' audience.
	operatorToken := write("operator-token", token(casesNamespace, operatorSA, casestore.Audience))
	op, err := apptest.StartOperator(env.Config, apptest.OperatorOptions{Reconcilers: true, TenantImage: "ghcr.io/xinfang/petition-desk:test",
		NoWebhooks: true, RollOutDeployments: true, CasesNamespace: casesNamespace,
		Figures:     controllers.FiguresOptions{Interval: time.Second, TokenFile: operatorToken},
		RegistryURL: func(string) string { return registry }})
	g.Expect(err).NotTo(HaveOccurred())
	t.Cleanup(func() { _ = op.Stop() })

	// shifosi-town's desk: its compiled configuration from its ConfigMap,
	// its token for the registries' audience as the kubelet projects it.
	var desk appsv1.Deployment
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		var list v1alpha1.OfficeList
		if err := admin.List(ctx, &list); err == nil {
			for _, o := range list.Items {
				t.Logf("office %s: %+v", o.Name, o.Status.Conditions)
			}
		}
	})
	g.Eventually(func(g Gomega) {
		g.Expect(admin.Get(ctx, client.ObjectKey{Namespace: "office-shifosi-town", Name: "desk"}, &desk)).To(Succeed())
		g.Expect(desk.Spec.Template.Spec.Containers[0].Args).To(ContainElement("--registry-url="+registry),
			"the desk of a City with cases forwards to its registry (here the one on this machine)")
	}).WithTimeout(60 * time.Second).Should(Succeed())
	var configMap string
	for _, v := range desk.Spec.Template.Spec.Volumes {
		if v.Name == "config" && v.ConfigMap != nil {
			configMap = v.ConfigMap.Name
		}
	}
	var cm corev1.ConfigMap
	g.Expect(admin.Get(ctx, client.ObjectKey{Namespace: "office-shifosi-town", Name: configMap}, &cm)).To(Succeed())
	deskToken := token("office-shifosi-town", "desk", casestore.Audience)
	ports, err := testenv.FreePorts(3)
	g.Expect(err).NotTo(HaveOccurred())
	deskURL := "http://127.0.0.1:" + strconv.Itoa(ports[0])
	start(t, deskBin, []string{"--addr", "127.0.0.1:" + strconv.Itoa(ports[0]), "--peer-addr", "127.0.0.1:" + strconv.Itoa(ports[1]),
		"--probe-addr", "127.0.0.1:" + strconv.Itoa(ports[2]), "--config", write("office.json", cm.Data["office.json"]),
		"--registry-url", registry, "--registry-token-file", write("desk-token", deskToken)}, false)
	g.Eventually(func() int {
		res, err := http.Get("http://127.0.0.1:" + strconv.Itoa(ports[2]) + "/readyz")
		if err != nil {
			return 0
		}
		_ = res.Body.Close()
		return res.StatusCode
	}).WithTimeout(30 * time.Second).Should(Equal(http.StatusOK))

	// A petition through the desk reaches the registry as shifosi-town's.
	var filed struct {
		CaseNo    string `json:"caseNo"`
		QueryCode string `json:"queryCode"`
	}
	code, body := call(t, "POST", deskURL+"/v1/petitions", map[string]string{"Idempotency-Key": "e2e-1", "Content-Type": "application/json"},
		fmt.Sprintf(petition, "shifosi-town"), &filed)
	g.Expect(code).To(Equal(http.StatusCreated), body)
	clerk := token("office-shifosi-town", "clerk", casestore.Audience)
	var got struct {
		Office string `json:"office"`
		State  string `json:"state"`
	}
	code, body = call(t, "GET", registry+"/v1/cases/"+filed.CaseNo, bearer(clerk), "", &got)
	g.Expect(code).To(Equal(http.StatusOK), body)
	g.Expect(got.Office).To(Equal("shifosi-town"))
	code, body = call(t, "GET", deskURL+"/v1/petitions/"+filed.CaseNo+"?code="+filed.QueryCode, nil, "", nil)
	g.Expect(code).To(Equal(http.StatusOK), "the petitioner's progress through the desk: %s", body)

	// Forged intakes are refused.
	for _, f := range []struct {
		what    string
		headers map[string]string
		office  string
		want    int
	}{
		{"no token, a header naming the City", map[string]string{"X-Petition-Office": city, "X-Remote-User": "system:serviceaccount:office-nanyang-city:desk"}, city, http.StatusUnauthorized},
		{"shifosi-town's desk filing for zhenping-county", bearer(deskToken), "zhenping-county", http.StatusForbidden},
		{"a token of the namespace default", bearer(token("default", "desk", casestore.Audience)), "shifosi-town", http.StatusUnauthorized},
		{"the desk's token for the API server", bearer(token("office-shifosi-town", "desk")), "shifosi-town", http.StatusUnauthorized},
	} {
		f.headers["Idempotency-Key"] = "forged-" + strings.ReplaceAll(f.what, " ", "-")
		code, body := call(t, "POST", registry+"/v1/petitions", f.headers, fmt.Sprintf(petition, f.office), nil)
		g.Expect(code).To(Equal(f.want), "%s: %s", f.what, body)
	}
	code, body = call(t, "GET", registry+"/v1/figures", bearer(deskToken), "", nil)
	g.Expect(code).To(Equal(http.StatusForbidden), "a desk reads no figures: %s", body)

	// The figures reach the township's and the City's status, as the
	// registry counts them.
	var stats struct {
		Open    int64 `json:"open"`
		Overdue int64 `json:"overdue"`
	}
	code, body = call(t, "GET", registry+"/v1/offices/shifosi-town/stats", bearer(clerk), "", &stats)
	g.Expect(code).To(Equal(http.StatusOK), body)
	g.Expect(stats.Open).To(BeNumerically("==", 1))
	office := func(g Gomega, name string) *v1alpha1.Office {
		o := &v1alpha1.Office{}
		g.Expect(admin.Get(ctx, client.ObjectKey{Name: name}, o)).To(Succeed())
		return o
	}
	g.Eventually(func(g Gomega) {
		town := office(g, "shifosi-town").Status.Cases
		g.Expect(town).NotTo(BeNil())
		g.Expect(town.Open).To(Equal(stats.Open))
		g.Expect(town.Overdue).To(Equal(stats.Overdue))
		top := office(g, city).Status.Cases
		g.Expect(top).NotTo(BeNil())
		g.Expect(top.Subtree).NotTo(BeNil())
		g.Expect(top.Subtree.Open).To(Equal(stats.Open))
	}).WithTimeout(60 * time.Second).Should(Succeed())

	// Nothing changes: once the City's case store is ready, three more
	// readings write nothing.
	g.Eventually(func(g Gomega) {
		c := office(g, city)
		ready := apimeta.FindStatusCondition(c.Status.Conditions, v1alpha1.ConditionCasesReady)
		g.Expect(ready).NotTo(BeNil())
		g.Expect(ready.Status).To(Equal(metav1.ConditionTrue), ready.Message)
	}).WithTimeout(60 * time.Second).Should(Succeed())
	// Every office reconciled (the figures of one without a status yet
	// are written all the same, but these tests want the network still).
	g.Eventually(func(g Gomega) {
		var list v1alpha1.OfficeList
		g.Expect(admin.List(ctx, &list)).To(Succeed())
		for _, o := range list.Items {
			ready := apimeta.FindStatusCondition(o.Status.Conditions, v1alpha1.ConditionReady)
			g.Expect(ready).NotTo(BeNil(), o.Name)
			g.Expect(ready.Status).To(Equal(metav1.ConditionTrue), "%s: %s", o.Name, ready.Message)
			g.Expect(ready.ObservedGeneration).To(Equal(o.Generation), o.Name)
			if o.Status.Tenant != nil {
				g.Expect(o.Status.Tenant.RolledOut).To(BeTrue(), "%s's desk rolled out", o.Name)
			}
		}
		// And every staged rollout at its end: a stage reached later
		// writes the offices it reaches (wage-arrears reaches the
		// City's departments after the City).
		var policies v1alpha1.RoutingPolicyList
		g.Expect(admin.List(ctx, &policies)).To(Succeed())
		for _, p := range policies.Items {
			if r := p.Status.Rollout; r != nil {
				g.Expect(r.Phase).To(Equal(v1alpha1.RolloutComplete), "RoutingPolicy %s's rollout", p.Name)
			}
		}
		var defaults v1alpha1.TenantDefaultsList
		g.Expect(admin.List(ctx, &defaults)).To(Succeed())
		for _, d := range defaults.Items {
			if r := d.Status.Rollout; r != nil {
				g.Expect(r.Phase).To(Equal(v1alpha1.RolloutComplete), "TenantDefaults %s's rollout", d.Name)
			}
		}
	}).WithTimeout(60 * time.Second).Should(Succeed())
	// A reading counts before it writes: two more, and one has written
	// every office's figures.
	settled := figuresRead(t)
	g.Eventually(func() float64 { return figuresRead(t) }).WithTimeout(30 * time.Second).Should(BeNumerically(">=", settled+2))
	var offices v1alpha1.OfficeList
	g.Expect(admin.List(ctx, &offices)).To(Succeed())
	for _, o := range offices.Items {
		g.Expect(o.Status.Cases).NotTo(BeNil(), "%s has no case figures", o.Name)
	}
	before, written := figuresRead(t), figuresWritten(t)
	g.Eventually(func() float64 { return figuresRead(t) }).WithTimeout(30 * time.Second).Should(BeNumerically(">=", before+3))
	g.Expect(figuresWritten(t)).To(Equal(written), "figures written while nothing changed")
	for _, o := range offices.Items {
		now := office(g, o.Name)
		g.Expect(now.ResourceVersion).To(Equal(o.ResourceVersion), "%s was written while nothing changed: %s", o.Name, cmp.Diff(o, *now))
	}
}
