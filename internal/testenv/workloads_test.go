package testenv

import (
	"context"
	"os"
	"slices"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// TestWorkloads proves that Deployments roll out on the simulated nodes as on
// a cluster, and that a pod no node fits stays Pending rather than being
// made to run.
func TestWorkloads(t *testing.T) {
	// Like `make test`, which builds the control plane and the nodes first
	// and names them in KUBEBUILDER_ASSETS and NODES_ASSETS: a plain `go test`
	// should not start minutes of builds for this one test.
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		t.Skip("KUBEBUILDER_ASSETS is not set; `make test` sets it (and NODES_ASSETS)")
	}
	env, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := env.Stop(); err != nil {
			t.Logf("stopping the control plane: %v", err)
		}
	})
	w, err := env.StartWorkloads(t.TempDir(), 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	if len(w.Nodes) != 2 {
		t.Fatalf("nodes: got %v, want 2", w.Nodes)
	}

	ctx := context.Background()
	c, err := client.New(env.Config, client.Options{Scheme: Scheme})
	if err != nil {
		t.Fatal(err)
	}
	g := NewWithT(t)
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "workloads"}}
	g.Expect(c.Create(ctx, ns)).To(Succeed())
	// Pods of a namespace are admitted once its default ServiceAccount
	// exists; waiting here keeps the ReplicaSet controller out of backoff.
	g.Eventually(func() error {
		return c.Get(ctx, client.ObjectKey{Namespace: ns.Name, Name: "default"}, &corev1.ServiceAccount{})
	}).WithTimeout(time.Minute).Should(Succeed())

	web := deployment(ns.Name, "web", 3, nil)
	nowhere := deployment(ns.Name, "nowhere", 2, map[string]string{"no-such": "node"})
	g.Expect(c.Create(ctx, web)).To(Succeed())
	g.Expect(c.Create(ctx, nowhere)).To(Succeed())

	g.Eventually(func(g Gomega) {
		g.Expect(c.Get(ctx, client.ObjectKeyFromObject(web), web)).To(Succeed())
		g.Expect(web.Status.ObservedGeneration).To(Equal(web.Generation))
		g.Expect(web.Status.UpdatedReplicas).To(BeEquivalentTo(3))
		g.Expect(web.Status.ReadyReplicas).To(BeEquivalentTo(3))
		g.Expect(web.Status.AvailableReplicas).To(BeEquivalentTo(3))
		g.Expect(web.Status.UnavailableReplicas).To(BeZero())
	}).WithTimeout(2 * time.Minute).Should(Succeed())

	var pods corev1.PodList
	g.Expect(c.List(ctx, &pods, client.InNamespace(ns.Name), client.MatchingLabels{"app": "web"})).To(Succeed())
	g.Expect(pods.Items).To(HaveLen(3))
	for _, pod := range pods.Items {
		g.Expect(w.Nodes).To(ContainElement(pod.Spec.NodeName), "pod %s", pod.Name)
		g.Expect(pod.Status.Phase).To(Equal(corev1.PodRunning), "pod %s", pod.Name)
		ready := podCondition(&pod, corev1.PodReady)
		g.Expect(ready).NotTo(BeNil(), "pod %s has no Ready condition", pod.Name)
		g.Expect(ready.Status).To(Equal(corev1.ConditionTrue), "pod %s", pod.Name)
	}

	// The scheduler has tried the nowhere pods and found no node: they are
	// Pending and Unschedulable, for good.
	g.Eventually(func(g Gomega) {
		var pods corev1.PodList
		g.Expect(c.List(ctx, &pods, client.InNamespace(ns.Name), client.MatchingLabels{"app": "nowhere"})).To(Succeed())
		g.Expect(pods.Items).To(HaveLen(2))
		for _, pod := range pods.Items {
			g.Expect(pod.Spec.NodeName).To(BeEmpty(), "pod %s", pod.Name)
			g.Expect(pod.Status.Phase).To(Equal(corev1.PodPending), "pod %s", pod.Name)
			scheduled := podCondition(&pod, corev1.PodScheduled)
			g.Expect(scheduled).NotTo(BeNil(), "pod %s has no PodScheduled condition", pod.Name)
			g.Expect(scheduled.Status).To(Equal(corev1.ConditionFalse), "pod %s", pod.Name)
			g.Expect(scheduled.Reason).To(Equal(corev1.PodReasonUnschedulable), "pod %s", pod.Name)
		}
	}).WithTimeout(time.Minute).Should(Succeed())
	g.Consistently(func(g Gomega) {
		g.Expect(c.Get(ctx, client.ObjectKeyFromObject(nowhere), nowhere)).To(Succeed())
		g.Expect(nowhere.Status.AvailableReplicas).To(BeZero())
		g.Expect(nowhere.Status.ReadyReplicas).To(BeZero())
	}).WithTimeout(3 * time.Second).Should(Succeed())
}

func deployment(namespace, name string, replicas int32, nodeSelector map[string]string) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					NodeSelector: nodeSelector,
					Containers: []corev1.Container{{
						Name:  "app",
						Image: "registry.example/app:1",
					}},
				},
			},
		},
	}
}

func podCondition(pod *corev1.Pod, t corev1.PodConditionType) *corev1.PodCondition {
	i := slices.IndexFunc(pod.Status.Conditions, func(c corev1.PodCondition) bool { return c.Type == t })
	if i < 0 {
		return nil
	}
	return &pod.Status.Conditions[i]
}
