package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/testenv"
)

// sampleCluster is a control plane of its own (the other tests' offices,
// some broken on purpose, would be in the sample policies' stages) with
// workloads, the manager and the sample network.
type sampleCluster struct {
	t   *testing.T
	env *testenv.Env
	c   client.Client
	ctl ctl
}

// ctl runs petitionctl against the control plane and returns its output.
type ctl struct {
	t          *testing.T
	kubeconfig string
}

func (c ctl) run(args ...string) (string, error) {
	c.t.Helper()
	cmd := exec.Command(petitionctl, append([]string{"--kubeconfig", c.kubeconfig}, args...)...)
	out, err := cmd.CombinedOutput()
	c.t.Logf("$ petitionctl %s\n%s", strings.Join(args, " "), out)
	return string(out), err
}

// route returns the office that handles a wage-arrears appeal the office
// receives, as petitionctl answers from the cluster.
func (c ctl) route(g Gomega, office string) string {
	out, err := c.run("route", "--office", office, "--category", "wage-arrears", "--type", "Appeal", "-o", "json")
	g.Expect(err).NotTo(HaveOccurred())
	var answer struct {
		Office string `json:"office"`
	}
	g.Expect(json.Unmarshal([]byte(out), &answer)).To(Succeed())
	return answer.Office
}

// applySamples applies config/samples as `kubectl apply --server-side` does.
func (s *sampleCluster) applySamples() []string {
	s.t.Helper()
	names, err := testenv.ApplySamples(context.Background(), s.c, s.env.Root)
	if err != nil {
		s.t.Fatal(err)
	}
	return names
}

// editPolicy changes the wage-arrears policy.
func (s *sampleCluster) editPolicy(fn func(*v1alpha1.RoutingPolicy)) {
	t := s.t
	t.Helper()
	p := &v1alpha1.RoutingPolicy{}
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := s.c.Get(context.Background(), client.ObjectKey{Name: "wage-arrears"}, p); err != nil {
			return err
		}
		fn(p)
		return s.c.Update(context.Background(), p)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func (s *sampleCluster) editOffice(name string, fn func(*v1alpha1.Office)) {
	t := s.t
	t.Helper()
	o := &v1alpha1.Office{}
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := s.c.Get(context.Background(), client.ObjectKey{Name: name}, o); err != nil {
			return err
		}
		fn(o)
		return s.c.Update(context.Background(), o)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func routeTo(office string) v1alpha1.RouteTarget {
	return v1alpha1.RouteTarget{Office: v1alpha1.OfficeName(office)}
}

// TestStagedRolloutOnNodes runs the sample network on the local control
// plane with kube-controller-manager, kube-scheduler and simulated nodes
// (kwok), so that tenant Deployments roll out as in a cluster, and follows
// a staged change of the wage-arrears policy and of the default tenant
// image: stage by stage, paused, halted on a tenant that cannot roll out,
// superseded — with offices outside the reached stages answering with the
// stable rules, as petitionctl route says from the cluster.
func TestStagedRolloutOnNodes(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	ctx := context.Background()
	dir := filepath.Join(workDir, "rollout")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	e, err := testenv.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Stop() })
	c, err := client.New(e.Config, client.Options{Scheme: testenv.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	s := &sampleCluster{t: t, env: e, c: c, ctl: ctl{t: t, kubeconfig: filepath.Join(dir, "admin.kubeconfig")}}
	if err := e.WriteKubeconfig("e2e-admin", s.ctl.kubeconfig); err != nil {
		t.Fatal(err)
	}
	w, err := e.StartWorkloads(dir, 3)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	startManagerOn(t, e, "rollout", testenv.ManagerOptions{LogLevel: "info"})
	k8s, cl := s.c, s.ctl
	names := s.applySamples()
	// Every tenant rolls out on the nodes, and the new Staged policy with
	// them.
	g.Eventually(func(g Gomega) {
		for _, n := range names {
			o := &v1alpha1.Office{}
			g.Expect(k8s.Get(ctx, client.ObjectKey{Name: n}, o)).To(Succeed())
			g.Expect(readyStatus(o)).To(Equal(metav1.ConditionTrue), "office %s", n)
			if !o.Spec.Level.HasTenant() {
				continue // a Village: its township's desk serves it
			}
			g.Expect(o.Status.Tenant).NotTo(BeNil())
			g.Expect(o.Status.Tenant.RolledOut).To(BeTrue(), "office %s: tenant not rolled out", n)
		}
		p := policy(g, k8s)
		g.Expect(p.Status.Rollout.Phase).To(Equal(v1alpha1.RolloutComplete))
	}).WithTimeout(4 * time.Minute).WithPolling(2 * time.Second).Should(Succeed())
	var pods corev1.PodList
	g.Expect(k8s.List(ctx, &pods, client.InNamespace("office-shifosi-town"))).To(Succeed())
	g.Expect(pods.Items).NotTo(BeEmpty())
	g.Expect(w.Nodes).To(ContainElement(pods.Items[0].Spec.NodeName))
	g.Expect(cl.route(g, "shifosi-town")).To(Equal("nanyang-human-resources"))
	// The shell completes offices, categories and rollouts from the
	// cluster.
	out, err := cl.run("__complete", "route", "zhenping-")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(out).To(ContainSubstring("zhenping-county\tCounty "))
	g.Expect(out).To(ContainSubstring("zhenping-procuratorate\tDepartment "))
	g.Expect(out).NotTo(ContainSubstring("nanyang-city"))
	out, err = cl.run("__complete", "route", "shifosi-town", "--category", "wage")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(out).To(ContainSubstring("wage-arrears\t"))
	out, err = cl.run("__complete", "rollout", "pause", "")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(out).To(And(ContainSubstring("wage-arrears\tRoutingPolicy, Staged"), ContainSubstring("td/default\tTenantDefaults")))

	// Paused by petitionctl (an annotation, not the spec a GitOps tool
	// owns), a change reaches the City only; the townships answer with the
	// stable rules.
	out, err = cl.run("rollout", "pause", "wage-arrears")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(out).To(ContainSubstring("RoutingPolicy/wage-arrears: rollout paused (annotation petition.xinfang.io/rollout-paused)"))
	s.editPolicy(func(p *v1alpha1.RoutingPolicy) { p.Spec.Rules[0].RouteTo = routeTo("nanyang-city") })
	g.Eventually(func(g Gomega) {
		p := policy(g, k8s)
		g.Expect(p.Status.Rollout.Phase).To(Equal(v1alpha1.RolloutPaused))
		ready := apimeta.FindStatusCondition(p.Status.Conditions, v1alpha1.ConditionReady)
		g.Expect(ready).NotTo(BeNil())
		g.Expect(ready.Reason).To(Equal(v1alpha1.ReasonRolloutPaused))
		g.Expect(ready.Message).To(HavePrefix("paused (annotation petition.xinfang.io/rollout-paused): stage 1 of 3"))
		g.Expect(cl.route(g, "nanyang-city")).To(Equal("nanyang-city"))
	}).WithTimeout(time.Minute).Should(Succeed())
	g.Expect(policy(g, k8s).Spec.Rollout.Paused).To(BeFalse())
	g.Expect(cl.route(g, "shifosi-town")).To(Equal("nanyang-human-resources"))
	g.Expect(cl.route(g, "tuandong-town")).To(Equal("neixiang-human-resources"))
	// Nothing is halted: there is nothing to retry.
	out, err = cl.run("rollout", "retry", "wage-arrears")
	g.Expect(err).To(HaveOccurred())
	g.Expect(out).To(ContainSubstring("the rollout is not halted (phase Paused): nothing to retry"))

	// Resumed, petitionctl follows it stage by stage to the end.
	_, err = cl.run("rollout", "resume", "wage-arrears")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(policy(g, k8s).Annotations).NotTo(HaveKey(v1alpha1.AnnotationRolloutPaused))
	out, err = cl.run("rollout", "status", "wage-arrears", "--timeout", "4m")
	g.Expect(err).NotTo(HaveOccurred())
	stage2 := strings.Index(out, "stage 2 of 3")
	stage3 := strings.Index(out, "stage 3 of 3")
	g.Expect(stage2).To(BeNumerically(">=", 0), "the watch never showed stage 2")
	g.Expect(stage3).To(BeNumerically(">", stage2), "stage 3 before stage 2")
	g.Expect(out).To(ContainSubstring("runs on every office"))
	g.Expect(cl.route(g, "shifosi-town")).To(Equal("nanyang-city"))

	// A County whose tenant cannot roll out (its new pods fit no node)
	// halts the next change at stage 2; the townships keep the stable rules.
	s.editOffice("zhenping-county", func(o *v1alpha1.Office) {
		// Spread over zones, which the simulated nodes do not have: the
		// new pods fit nowhere.
		o.Spec.Tenant.Patches = []v1alpha1.TenantPatch{{Patch: "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: desk\nspec:\n  template:\n    spec:\n      topologySpreadConstraints:\n      - maxSkew: 1\n        topologyKey: topology.kubernetes.io/zone\n        whenUnsatisfiable: DoNotSchedule\n        labelSelector: {matchLabels: {app.kubernetes.io/name: desk}}\n"}}
	})
	g.Eventually(func(g Gomega) {
		o := &v1alpha1.Office{}
		g.Expect(k8s.Get(ctx, client.ObjectKey{Name: "zhenping-county"}, o)).To(Succeed())
		g.Expect(o.Status.ObservedGeneration).To(Equal(o.Generation))
		g.Expect(readyStatus(o)).To(Equal(metav1.ConditionTrue))
		g.Expect(o.Status.Tenant.RolledOut).To(BeFalse())
	}).WithTimeout(time.Minute).Should(Succeed())
	s.editPolicy(func(p *v1alpha1.RoutingPolicy) {
		p.Spec.Rules[0].RouteTo = v1alpha1.RouteTarget{Department: "HumanResources"}
		p.Spec.Rollout.ProgressDeadline = &metav1.Duration{Duration: 20 * time.Second}
	})
	out, err = cl.run("rollout", "status", "wage-arrears", "--timeout", "3m")
	var exit *exec.ExitError
	g.Expect(errors.As(err, &exit)).To(BeTrue(), "petitionctl rollout status did not fail on a halt: %v", err)
	g.Expect(out).To(ContainSubstring("halted"))
	g.Expect(out).To(ContainSubstring("zhenping-county"))
	p := policy(g, k8s)
	g.Expect(p.Status.Rollout.Phase).To(Equal(v1alpha1.RolloutHalted))
	g.Expect(p.Status.Stage).To(BeEquivalentTo(1))
	g.Expect(apimeta.IsStatusConditionTrue(p.Status.Conditions, v1alpha1.ConditionStalled)).To(BeTrue())
	g.Expect(cl.route(g, "shifosi-town")).To(Equal("nanyang-city"))
	g.Expect(cl.route(g, "nanyang-city")).To(Equal("nanyang-human-resources"))

	// Fixed, and retried by petitionctl with no edit of the policy: the
	// halted stage is tried again and the rollout completes.
	s.editOffice("zhenping-county", func(o *v1alpha1.Office) { o.Spec.Tenant.Patches = nil })
	generation := p.Generation
	out, err = cl.run("rollout", "retry", "wage-arrears")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(out).To(ContainSubstring("RoutingPolicy/wage-arrears: stage 2 of 3 will be tried again"))
	_, err = cl.run("rollout", "status", "wage-arrears", "--timeout", "4m")
	g.Expect(err).NotTo(HaveOccurred())
	p = policy(g, k8s)
	g.Expect(p.Generation).To(Equal(generation))
	g.Expect(p.Status.Rollout.Retried).To(Equal(p.Annotations[v1alpha1.AnnotationRolloutRetry]))
	g.Expect(cl.route(g, "shifosi-town")).To(Equal("nanyang-human-resources"))

	// Superseded by a new edit, which rolls out to the end.
	s.editPolicy(func(p *v1alpha1.RoutingPolicy) {
		p.Spec.Rules[0].RouteTo = routeTo("nanyang-human-resources")
		p.Spec.Rollout.ProgressDeadline = nil
	})
	_, err = cl.run("rollout", "status", "wage-arrears", "--timeout", "4m")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(cl.route(g, "tuandong-town")).To(Equal("nanyang-human-resources"))

	// A new default image rolls out level by level, the tenants' pods
	// running it on the nodes.
	const image = "registry.example/petition-desk:e2e"
	td := &v1alpha1.TenantDefaults{}
	g.Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := k8s.Get(ctx, client.ObjectKey{Name: v1alpha1.DefaultTenantDefaults}, td); err != nil {
			return err
		}
		td.Spec.Image = image
		return k8s.Update(ctx, td)
	})).To(Succeed())
	out, err = cl.run("rollout", "status", "td/default", "--timeout", "5m")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(out).To(ContainSubstring("stage 4 of 4"))
	var d appsv1.Deployment
	g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: "office-shifosi-town", Name: "desk"}, &d)).To(Succeed())
	g.Expect(d.Spec.Template.Spec.Containers[0].Image).To(Equal(image))
	g.Expect(d.Status.AvailableReplicas).To(BeNumerically(">=", 1))
}

// policy returns the wage-arrears policy once it reports a rollout.
func policy(g Gomega, k8s client.Client) *v1alpha1.RoutingPolicy {
	p := &v1alpha1.RoutingPolicy{}
	g.Expect(k8s.Get(context.Background(), client.ObjectKey{Name: "wage-arrears"}, p)).To(Succeed())
	g.Expect(p.Status.Rollout).NotTo(BeNil())
	return p
}
