package tenant

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/xinfang/petition-operator/api/v1alpha1"
)

// deploymentPatch is a strategic merge patch of the desk Deployment.
func deploymentPatch(body string) v1alpha1.TenantPatch {
	return v1alpha1.TenantPatch{Patch: "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: desk\n" + body}
}

func json6902(kind, name, ops string) v1alpha1.TenantPatch {
	return v1alpha1.TenantPatch{Patch: ops, Target: &v1alpha1.PatchTarget{Kind: kind, Name: name}}
}

// anchorBomb is a strategic merge patch whose annotations expand, through
// nested aliases, to 10^depth strings.
func anchorBomb(depth int) v1alpha1.TenantPatch {
	var b strings.Builder
	b.WriteString("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: desk\n  annotations:\n")
	b.WriteString(`    a0: &a0 ["xxxxxxxxxxxxxxxxxxxxxxxxxx","xxxxxxxxxxxxxxxxxxxxxxxxxx","xxxxxxxxxxxxxxxxxxxxxxxxxx","xxxxxxxxxxxxxxxxxxxxxxxxxx","xxxxxxxxxxxxxxxxxxxxxxxxxx","xxxxxxxxxxxxxxxxxxxxxxxxxx","xxxxxxxxxxxxxxxxxxxxxxxxxx","xxxxxxxxxxxxxxxxxxxxxxxxxx","xxxxxxxxxxxxxxxxxxxxxxxxxx","xxxxxxxxxxxxxxxxxxxxxxxxxx"]` + "\n")
	for i := 1; i < depth; i++ {
		a := fmt.Sprintf("*a%d", i-1)
		fmt.Fprintf(&b, "    a%d: &a%d [%s]\n", i, i, strings.Repeat(a+",", 9)+a)
	}
	return v1alpha1.TenantPatch{Patch: b.String()}
}

// copyBomb is a JSON 6902 patch whose copies double the Deployment's spec
// n times.
func copyBomb(n int) v1alpha1.TenantPatch {
	ops := []string{`{"op": "add", "path": "/spec/template/spec/containers/0/env", "value": [{"name": "A", "value": "` + strings.Repeat("x", 512) + `"}]}`}
	for range n {
		ops = append(ops, `{"op": "copy", "from": "/spec/template/spec/containers/0/env", "path": "/spec/template/spec/containers/0/env/-"}`)
	}
	return json6902("Deployment", "desk", "["+strings.Join(ops, ",")+"]")
}

// TestHostileTenantPatches: each attack of an Office author on the network
// is refused before or at render, naming the patch and what it touched.
func TestHostileTenantPatches(t *testing.T) {
	cases := map[string]struct {
		patch v1alpha1.TenantPatch
		want  string
	}{
		"anchor bomb":    {anchorBomb(6), "YAML anchors and aliases are not allowed"},
		"merge key":      {deploymentPatch("spec:\n  template:\n    <<: {}\n"), "merge keys are not allowed"},
		"copy bomb":      {copyBomb(20), "more than 8 copy operations"},
		"copy growth":    {copyBomb(8), "accumulated size increase of copy"},
		"too many ops":   {json6902("Deployment", "desk", "["+strings.Repeat(`{"op": "test", "path": "/kind", "value": "Deployment"},`, 64)+`{"op": "test", "path": "/kind", "value": "Deployment"}]`), "65 operations; at most 64"},
		"unknown op":     {json6902("Deployment", "desk", `[{"op": "eval", "path": "/spec"}]`), "op must be one of"},
		"json no target": {v1alpha1.TenantPatch{Patch: `[{"op": "remove", "path": "/spec/replicas"}]`}, "needs a target"},
		"deep nesting":   {deploymentPatch("spec: " + strings.Repeat("{x: ", 40) + "1" + strings.Repeat("}", 40) + "\n"), "nests deeper than 32"},
		"widen the desk policy": {json6902("NetworkPolicy", "desk", `[{"op": "replace", "path": "/spec/podSelector", "value": {}}, {"op": "add", "path": "/spec/ingress/-", "value": {}}]`),
			"NetworkPolicy desk: spec.ingress: may not be changed"},
		"service external IPs":  {json6902("Service", "desk", `[{"op": "add", "path": "/spec/externalIPs", "value": ["203.0.113.7"]}]`), "Service desk: spec.externalIPs: may not be changed"},
		"service load balancer": {json6902("Service", "desk", `[{"op": "add", "path": "/spec/type", "value": "LoadBalancer"}]`), "Service desk: spec.type: may not be changed"},
		"service external name": {v1alpha1.TenantPatch{Patch: "apiVersion: v1\nkind: Service\nmetadata:\n  name: desk\nspec:\n  type: ExternalName\n  externalName: evil.example\n"}, "Service desk: spec.externalName"},
		"privileged": {deploymentPatch("spec:\n  template:\n    spec:\n      containers:\n      - name: desk\n        securityContext:\n          privileged: true\n"),
			"spec.template.spec.containers.0.securityContext.privileged: may not be changed"},
		"host path":               {deploymentPatch("spec:\n  template:\n    spec:\n      volumes:\n      - name: root\n        hostPath: {path: /}\n"), "spec.template.spec.volumes: may not be changed"},
		"host network":            {deploymentPatch("spec:\n  template:\n    spec:\n      hostNetwork: true\n"), "spec.template.spec.hostNetwork"},
		"node name":               {deploymentPatch("spec:\n  template:\n    spec:\n      nodeName: control-plane-1\n"), "spec.template.spec.nodeName"},
		"node selector":           {deploymentPatch("spec:\n  template:\n    spec:\n      nodeSelector: {role: ingress}\n"), "spec.template.spec.nodeSelector"},
		"tolerate all":            {deploymentPatch("spec:\n  template:\n    spec:\n      tolerations:\n      - operator: Exists\n"), "spec.template.spec.tolerations"},
		"priority":                {deploymentPatch("spec:\n  template:\n    spec:\n      priorityClassName: system-node-critical\n"), "spec.template.spec.priorityClassName"},
		"token":                   {deploymentPatch("spec:\n  template:\n    spec:\n      automountServiceAccountToken: true\n"), "spec.template.spec.automountServiceAccountToken"},
		"service account":         {deploymentPatch("spec:\n  template:\n    spec:\n      serviceAccountName: default\n"), "spec.template.spec.serviceAccountName"},
		"sa token on the account": {v1alpha1.TenantPatch{Patch: "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: desk\nautomountServiceAccountToken: true\n"}, "ServiceAccount desk: automountServiceAccountToken"},
		"pod security version": {v1alpha1.TenantPatch{Patch: "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: office-zhenping-county\n  labels:\n    pod-security.kubernetes.io/enforce-version: v1.0\n"},
			"pod-security.kubernetes.io/enforce-version must stay latest"},
		"pod security warn": {v1alpha1.TenantPatch{Patch: "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: office-zhenping-county\n  labels:\n    pod-security.kubernetes.io/warn: privileged\n"},
			"pod-security.kubernetes.io/warn must stay restricted"},
		"remove limits":            {json6902("Deployment", "desk", `[{"op": "remove", "path": "/spec/template/spec/containers/0/resources/limits"}]`), "limits.memory may not be removed"},
		"huge limits":              {deploymentPatch("spec:\n  template:\n    spec:\n      containers:\n      - name: desk\n        resources:\n          limits: {memory: 64Gi}\n"), "limits.memory: 64Gi must be at most 2Gi"},
		"gpu":                      {deploymentPatch("spec:\n  template:\n    spec:\n      containers:\n      - name: desk\n        resources:\n          limits: {nvidia.com/gpu: 1}\n"), "only cpu, memory and ephemeral-storage"},
		"second container":         {deploymentPatch("spec:\n  template:\n    spec:\n      containers:\n      - name: miner\n        image: evil\n"), "spec.template.spec.containers: may not be changed"},
		"image":                    {deploymentPatch("spec:\n  template:\n    spec:\n      containers:\n      - name: desk\n        image: evil\n"), "containers.0.image: may not be changed"},
		"probe elsewhere":          {deploymentPatch("spec:\n  template:\n    spec:\n      containers:\n      - name: desk\n        livenessProbe:\n          httpGet: {host: 169.254.169.254, path: /, port: 80}\n"), "httpGet.host may not be set"},
		"node affinity":            {deploymentPatch("spec:\n  template:\n    spec:\n      affinity:\n        nodeAffinity:\n          requiredDuringSchedulingIgnoredDuringExecution:\n            nodeSelectorTerms: [{matchExpressions: [{key: role, operator: In, values: [ingress]}]}]\n"), "nodeAffinity may not be set"},
		"anti-affinity to others":  {deploymentPatch("spec:\n  template:\n    spec:\n      affinity:\n        podAntiAffinity:\n          requiredDuringSchedulingIgnoredDuringExecution:\n          - labelSelector: {matchLabels: {app: payments}}\n            namespaceSelector: {}\n            topologyKey: kubernetes.io/hostname\n"), "must select the desk's own pods"},
		"reserved label":           {deploymentPatch("  labels:\n    topology.kubernetes.io/zone: a\n"), `the key "topology.kubernetes.io/zone" is reserved`},
		"load balancer annotation": {v1alpha1.TenantPatch{Patch: "apiVersion: v1\nkind: Service\nmetadata:\n  name: desk\n  annotations:\n    service.beta.kubernetes.io/aws-load-balancer-internal: \"false\"\n"}, "is reserved"},
		"quota":                    {json6902("ResourceQuota", "tenant", `[{"op": "replace", "path": "/spec/hard/pods", "value": "100000"}]`), "ResourceQuota tenant: spec.hard.pods: may not be changed"},
		"limit range":              {json6902("LimitRange", "tenant", `[{"op": "remove", "path": "/spec/limits"}]`), "LimitRange tenant: spec.limits"},
		"pdb":                      {v1alpha1.TenantPatch{Patch: "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata:\n  name: desk\nspec:\n  maxUnavailable: 0\n"}, "no resource matches"},
		"config":                   {v1alpha1.TenantPatch{Patch: "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: desk-config\ndata:\n  office.json: '{}'\n"}, "patches may not add, rename or move objects"},
		"replicas bound":           {deploymentPatch("spec:\n  minReadySeconds: 99999\n"), "spec.minReadySeconds: must be a whole number from 0 to 3600"},
		"grace period":             {deploymentPatch("spec:\n  template:\n    spec:\n      terminationGracePeriodSeconds: 86400\n"), "from 0 to 300"},
		"default-deny without spec": {json6902("NetworkPolicy", "default-deny", `[{"op": "remove", "path": "/spec"}]`),
			"the default-deny NetworkPolicy must select every pod"},
		"default-deny spec a string": {json6902("NetworkPolicy", "default-deny", `[{"op": "replace", "path": "/spec", "value": "open"}]`),
			"the default-deny NetworkPolicy must select every pod"},
		"default-deny types a string": {json6902("NetworkPolicy", "default-deny", `[{"op": "replace", "path": "/spec/policyTypes", "value": "Ingress"}]`),
			"the default-deny NetworkPolicy must select every pod"},
		"zero memory limit": {deploymentPatch("spec:\n  template:\n    spec:\n      containers:\n      - name: desk\n        resources:\n          limits: {memory: \"0\"}\n"),
			"limits.memory: 0 must be greater than 0: a limit of 0 is no limit"},
		"zero cpu limit": {deploymentPatch("spec:\n  template:\n    spec:\n      containers:\n      - name: desk\n        resources:\n          limits: {memory: 64Mi, cpu: 0m}\n"),
			"limits.cpu: 0 must be greater than 0"},
		"probe grace period": {deploymentPatch("spec:\n  template:\n    spec:\n      containers:\n      - name: desk\n        livenessProbe:\n          terminationGracePeriodSeconds: 86400\n"),
			"livenessProbe: terminationGracePeriodSeconds must be a whole number from 1 to 300"},
		"replicas": {json6902("Deployment", "desk", `[{"op": "replace", "path": "/spec/replicas", "value": 3}]`),
			"Deployment desk: spec.replicas: may not be changed by a tenant patch: set spec.tenant.replicas instead"},
		"replicas merged": {deploymentPatch("spec:\n  replicas: 0\n"), "spec.replicas: may not be changed by a tenant patch: set spec.tenant.replicas instead"},
		"multus network": {deploymentPatch("spec:\n  template:\n    metadata:\n      annotations:\n        k8s.v1.cni.cncf.io/networks: macvlan-host\n"),
			`spec.template.metadata.annotations.k8s.v1.cni.cncf.io/networks: the annotation key "k8s.v1.cni.cncf.io/networks" is not allowed: patches may set annotations under office.petition.xinfang.io/ or without a prefix, and those TenantDefaults spec.tenantMetadata.allowedAnnotations lists`},
		"calico ip pool":  {deploymentPatch("spec:\n  template:\n    metadata:\n      annotations:\n        cni.projectcalico.org/ipv4pools: '[\"infra\"]'\n"), `"cni.projectcalico.org/ipv4pools" is not allowed`},
		"kube2iam role":   {deploymentPatch("spec:\n  template:\n    metadata:\n      annotations:\n        iam.amazonaws.com/role: admin\n"), `"iam.amazonaws.com/role" is not allowed`},
		"eks identity":    {v1alpha1.TenantPatch{Patch: "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: desk\n  annotations:\n    eks.amazonaws.com/role-arn: arn:aws:iam::1:role/admin\n"}, `"eks.amazonaws.com/role-arn" is not allowed`},
		"azure identity":  {deploymentPatch("spec:\n  template:\n    metadata:\n      labels:\n        azure.workload.identity/use: \"true\"\n"), `the label key "azure.workload.identity/use" is not allowed`},
		"gke identity":    {v1alpha1.TenantPatch{Patch: "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: desk\n  annotations:\n    iam.gke.io/gcp-service-account: admin@p.iam.gserviceaccount.com\n"}, `"iam.gke.io/gcp-service-account" is not allowed`},
		"ambassador":      {v1alpha1.TenantPatch{Patch: "apiVersion: v1\nkind: Service\nmetadata:\n  name: desk\n  annotations:\n    getambassador.io/config: x\n"}, `"getambassador.io/config" is not allowed`},
		"datadog check":   {deploymentPatch("spec:\n  template:\n    metadata:\n      annotations:\n        ad.datadoghq.com/desk.checks: '{}'\n"), `"ad.datadoghq.com/desk.checks" is not allowed`},
		"sidecar":         {deploymentPatch("spec:\n  template:\n    metadata:\n      annotations:\n        sidecar.istio.io/inject: \"false\"\n"), `"sidecar.istio.io/inject" is not allowed`},
		"rancher project": {v1alpha1.TenantPatch{Patch: "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: office-zhenping-county\n  annotations:\n    field.cattle.io/projectId: c-1:p-system\n"}, `"field.cattle.io/projectId" is not allowed`},
		"selector label":  {deploymentPatch("spec:\n  template:\n    metadata:\n      labels:\n        role: payments-client\n"), `the label key "role" is not allowed: patches may set labels under office.petition.xinfang.io/, and those`},
		"spread on a chosen key": {deploymentPatch("spec:\n  template:\n    spec:\n      topologySpreadConstraints:\n      - maxSkew: 1\n        topologyKey: gpu.example.com/pool\n        whenUnsatisfiable: DoNotSchedule\n        labelSelector: {matchLabels: {app.kubernetes.io/name: desk}}\n"),
			"topologySpreadConstraints: 0: whenUnsatisfiable must be ScheduleAnyway, unless topologyKey is topology.kubernetes.io/zone or kubernetes.io/hostname"},
		"spread by default DoNotSchedule": {deploymentPatch("spec:\n  template:\n    spec:\n      topologySpreadConstraints:\n      - maxSkew: 1\n        topologyKey: dedicated\n        labelSelector: {matchLabels: {app.kubernetes.io/name: desk}}\n"),
			"whenUnsatisfiable must be ScheduleAnyway"},
		"new object": {v1alpha1.TenantPatch{Patch: "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\n"}, "no resource matches"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := RenderContext(t.Context(), input(func(o *v1alpha1.Office) {
				o.Spec.Tenant.Patches = []v1alpha1.TenantPatch{deploymentPatch("  annotations:\n    team: land\n"), tc.patch}
			}))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want an error containing %q, got %v", tc.want, err)
			}
			// The benign first patch is not blamed.
			if !strings.HasPrefix(err.Error(), "spec.tenant.patches[1]: ") {
				t.Errorf("want the second patch blamed, got %v", err)
			}
		})
	}
}

// TestBenignTenantPatches: what an office's team may change still renders.
func TestBenignTenantPatches(t *testing.T) {
	cases := map[string]v1alpha1.TenantPatch{
		"env and args":  deploymentPatch("spec:\n  template:\n    spec:\n      containers:\n      - name: desk\n        env: [{name: LOG_LEVEL, value: debug}]\n        args: [--addr=:8080, --config=/etc/desk/office.json, --reload-interval=5s]\n"),
		"annotations":   deploymentPatch("  annotations:\n    team: land\nspec:\n  template:\n    metadata:\n      annotations:\n        office.petition.xinfang.io/owner: land\n"),
		"labels":        {Patch: "apiVersion: v1\nkind: Service\nmetadata:\n  name: desk\n  labels:\n    office.petition.xinfang.io/team: land\n"},
		"resources":     deploymentPatch("spec:\n  template:\n    spec:\n      containers:\n      - name: desk\n        resources:\n          requests: {cpu: 100m, memory: 64Mi}\n          limits: {memory: 256Mi}\n"),
		"probe":         deploymentPatch("spec:\n  template:\n    spec:\n      containers:\n      - name: desk\n        readinessProbe:\n          periodSeconds: 5\n"),
		"spread":        deploymentPatch("spec:\n  template:\n    spec:\n      topologySpreadConstraints:\n      - maxSkew: 1\n        topologyKey: topology.kubernetes.io/zone\n        whenUnsatisfiable: ScheduleAnyway\n        labelSelector: {matchLabels: {app.kubernetes.io/name: desk}}\n"),
		"anti-affinity": deploymentPatch("spec:\n  template:\n    spec:\n      affinity:\n        podAntiAffinity:\n          preferredDuringSchedulingIgnoredDuringExecution:\n          - weight: 100\n            podAffinityTerm:\n              labelSelector: {matchLabels: {app.kubernetes.io/name: desk}}\n              topologyKey: kubernetes.io/hostname\n"),
		"strategy":      deploymentPatch("spec:\n  strategy:\n    rollingUpdate: {maxSurge: 0, maxUnavailable: 1}\n"),
	}
	for name, p := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := RenderContext(t.Context(), input(func(o *v1alpha1.Office) { o.Spec.Tenant.Patches = []v1alpha1.TenantPatch{p} })); err != nil {
				t.Fatal(err)
			}
			if errs := CheckTenant(t.Context(), input(nil).Office, DefaultLimits()); len(errs) > 0 {
				t.Fatal(errs)
			}
		})
	}
}

// TestPatchBombsStayBounded: the bombs of the tenant-safety report are
// refused with little memory: the judge never expands them.
func TestPatchBombsStayBounded(t *testing.T) {
	for name, p := range map[string]v1alpha1.TenantPatch{"anchors depth 9": anchorBomb(9), "copies 20": copyBomb(20), "copies 8": copyBomb(8)} {
		t.Run(name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			errs := CheckTenant(t.Context(), input(func(o *v1alpha1.Office) { o.Spec.Tenant.Patches = []v1alpha1.TenantPatch{p} }).Office, DefaultLimits())
			runtime.ReadMemStats(&after)
			if len(errs) != 1 || errs[0].Field != "spec.tenant.patches[0]" {
				t.Fatalf("want one error on spec.tenant.patches[0], got %v", errs)
			}
			if grew := after.TotalAlloc - before.TotalAlloc; grew > 256<<20 {
				t.Errorf("judging allocated %d MiB", grew>>20)
			}
		})
	}
}

// TestTenantResourcesBounded: spec.tenant.resources and quota are held to
// the limits, the same way at admission and in the operator.
func TestTenantResourcesBounded(t *testing.T) {
	o := input(func(o *v1alpha1.Office) {
		o.Spec.Tenant.Resources.Limits = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("8Gi")}
		o.Spec.Tenant.Resources.Limits[corev1.ResourceCPU] = resource.MustParse("0")
		o.Spec.Tenant.Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m")}
		o.Spec.Tenant.Quota = corev1.ResourceList{corev1.ResourcePods: resource.MustParse("1000")}
	}).Office
	errs := CheckTenant(t.Context(), o, DefaultLimits())
	got := errs.ToAggregate().Error()
	for _, want := range []string{
		`spec.tenant.quota[pods]: Invalid value: "1k": must be at most 120`,
		`spec.tenant.resources.limits[memory]: Invalid value: "8Gi": must be at most 2Gi`,
		`spec.tenant.resources.limits[cpu]: Invalid value: "0": must be greater than 0: a limit of 0 is no limit`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("want %q in %s", want, got)
		}
	}
	// A platform team may allow more in TenantDefaults.
	td := &v1alpha1.TenantDefaults{Spec: v1alpha1.TenantDefaultsSpec{Limits: &v1alpha1.TenantLimits{
		MaxQuota:     corev1.ResourceList{corev1.ResourcePods: resource.MustParse("1000")},
		ContainerMax: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("8Gi")},
	}}}
	o.Spec.Tenant.Resources.Limits[corev1.ResourceCPU] = resource.MustParse("1")
	if errs := CheckTenant(t.Context(), o, LimitsOf(td)); len(errs) > 0 {
		t.Fatalf("within TenantDefaults' limits, got %v", errs)
	}
	// The quota rendered is the office's over the defaults.
	objs, err := RenderContext(t.Context(), Input{Office: o, Config: []byte("{}"), ConfigHash: "x", DefaultImage: "desk", IngressNamespace: "i", Limits: ptrTo(LimitsOf(td))})
	if err != nil {
		t.Fatal(err)
	}
	q := byID(t, objs)["ResourceQuota/tenant"]
	if pods := str(t, q, "spec", "hard", "pods"); pods != "1k" && pods != "1000" {
		t.Errorf("quota pods = %q, want 1000", pods)
	}
	if mem := str(t, q, "spec", "hard", "requests.memory"); mem != "4Gi" {
		t.Errorf("quota requests.memory = %q, want the default 4Gi", mem)
	}
}

func ptrTo[T any](v T) *T { return &v }

// TestPatchSetBounded: the patches of an office are held together to the
// bounds of a set before any render, and the patch past a bound is named.
func TestPatchSetBounded(t *testing.T) {
	var report, spread, annotations []v1alpha1.TenantPatch
	for i := range 16 {
		report = append(report, envPatch(i, 900))
		spread = append(spread, envPatch(i, 10))
		annotations = append(annotations, annotationsPatch(i, 64))
	}
	cases := map[string]struct {
		patches []v1alpha1.TenantPatch
		want    []string
	}{
		// The container's list counts too: 901 entries.
		"the report's sixteen patches of 900 env entries": {report, []string{"spec.tenant.patches[0]: Forbidden: the patches up to this one hold 901 list entries (env, args, operations …); all patches together may hold at most 128"}},
		"ten env entries in each of sixteen patches":      {spread, []string{"spec.tenant.patches[11]: Forbidden: the patches up to this one hold 132 list entries"}},
		"64 annotations in each of sixteen patches": {annotations, []string{"spec.tenant.patches[14]: Forbidden: the patches up to this one hold ",
			" YAML nodes; all patches together may hold at most 2048"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			o := input(func(o *v1alpha1.Office) { o.Spec.Tenant.Patches = tc.patches }).Office
			errs := CheckTenant(t.Context(), o, DefaultLimits())
			if len(errs) != 1 {
				t.Fatalf("want one error, got %v", errs)
			}
			for _, want := range tc.want {
				if !strings.Contains(errs[0].Error(), want) {
					t.Errorf("want %q in %v", want, errs[0])
				}
			}
		})
	}
	// The bytes of all patches, each within the CRD's 32 KiB.
	big := func(i int) v1alpha1.TenantPatch {
		return deploymentPatch(fmt.Sprintf("  annotations:\n    note-%d: %s\n", i, strings.Repeat("x", 30<<10)))
	}
	o := input(func(o *v1alpha1.Office) { o.Spec.Tenant.Patches = []v1alpha1.TenantPatch{big(0), big(1), big(2)} }).Office
	errs := CheckTenant(t.Context(), o, DefaultLimits())
	if len(errs) != 1 || errs[0].Field != "spec.tenant.patches[2]" || !strings.Contains(errs[0].Detail, "all patches together may hold at most 65536") {
		t.Fatalf("want the third patch over the bytes of a set, got %v", errs)
	}
	// Within the bounds, the same patches are admitted.
	o = input(func(o *v1alpha1.Office) { o.Spec.Tenant.Patches = spread[:11] }).Office
	if errs := CheckTenant(t.Context(), o, DefaultLimits()); len(errs) > 0 {
		t.Fatal(errs)
	}
}

// TestRenderHonoursContext: a render whose context is done stops between
// steps, and the judge refuses the office on its patches rather than go
// on after its caller stopped waiting.
func TestRenderHonoursContext(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	in := input(func(o *v1alpha1.Office) { o.Spec.Tenant.Patches = []v1alpha1.TenantPatch{envPatch(0, 8)} })
	if _, err := RenderContext(ctx, in); !errors.Is(err, context.Canceled) {
		t.Fatalf("want the context's error, got %v", err)
	}
	errs := CheckTenant(ctx, in.Office, DefaultLimits())
	if len(errs) != 1 || errs[0].Field != "spec.tenant.patches" {
		t.Fatalf("want one error on spec.tenant.patches, got %v", errs)
	}
	// Without patches there is nothing to judge, and the operator's own
	// stack renders whatever the context.
	if errs := CheckTenant(ctx, input(nil).Office, DefaultLimits()); len(errs) > 0 {
		t.Fatal(errs)
	}
}

// TestTenantMetadataAllowList: the labels and annotations a platform team
// allows in TenantDefaults spec.tenantMetadata may be set, the others not,
// and the reserved prefixes never.
func TestTenantMetadataAllowList(t *testing.T) {
	td := &v1alpha1.TenantDefaults{Spec: v1alpha1.TenantDefaultsSpec{TenantMetadata: &v1alpha1.TenantMetadata{
		AllowedLabels:      &v1alpha1.MetadataKeys{Prefixes: []string{"team.example.com/"}, Keys: []string{"cost-center"}},
		AllowedAnnotations: &v1alpha1.MetadataKeys{Keys: []string{"prometheus.io/scrape"}, Prefixes: []string{"node-role.kubernetes.io/"}},
	}}}
	cases := []struct {
		name, patch, want string
	}{
		{"allowed label prefix", "  labels:\n    team.example.com/owner: land\n", ""},
		{"allowed label key", "  labels:\n    cost-center: \"42\"\n", ""},
		{"allowed annotation key", "spec:\n  template:\n    metadata:\n      annotations:\n        prometheus.io/scrape: \"true\"\n", ""},
		{"a subdomain is another prefix", "  labels:\n    a.team.example.com/owner: land\n", `the label key "a.team.example.com/owner" is not allowed`},
		{"another annotation of the same domain", "  annotations:\n    prometheus.io/port: \"9090\"\n", `the annotation key "prometheus.io/port" is not allowed`},
		{"reserved whatever TenantDefaults says", "  annotations:\n    node-role.kubernetes.io/infra: \"\"\n", `the key "node-role.kubernetes.io/infra" is reserved`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := input(func(o *v1alpha1.Office) { o.Spec.Tenant.Patches = []v1alpha1.TenantPatch{deploymentPatch(tc.patch)} }).Office
			errs := CheckTenant(t.Context(), o, LimitsOf(td))
			if tc.want == "" {
				if len(errs) > 0 {
					t.Fatal(errs)
				}
				// Without the TenantDefaults, refused.
				if errs := CheckTenant(t.Context(), o, DefaultLimits()); len(errs) != 1 || !strings.Contains(errs[0].Detail, "is not allowed") {
					t.Fatalf("without TenantDefaults: %v", errs)
				}
				return
			}
			if len(errs) != 1 || errs[0].Field != "spec.tenant.patches[0]" || !strings.Contains(errs[0].Detail, tc.want) {
				t.Fatalf("want %q on spec.tenant.patches[0], got %v", tc.want, errs)
			}
		})
	}
}

// TestRegistryPatchesRefused: no patch changes where the desk forwards
// petitions or the identity it presents there: the token's volume, its
// audience and mount, the registry flags, the NetworkPolicy rule to the
// registry, the ServiceAccount and the namespace's City. Each refusal
// names the patch and the field.
func TestRegistryPatchesRefused(t *testing.T) {
	cases := map[string]struct {
		patch v1alpha1.TenantPatch
		want  string
	}{
		"another registry": {deploymentPatch("spec:\n  template:\n    spec:\n      containers:\n      - name: desk\n        args: [--addr=:8080, --registry-url=http://evil.example:8080]\n"),
			"Deployment desk: spec.template.spec.containers.0.args: the --registry-url and --registry-token-file arguments are the operator's"},
		"another registry, appended": {json6902("Deployment", "desk", `[{"op": "add", "path": "/spec/template/spec/containers/0/args/-", "value": "-registry-url=http://evil.example"}]`),
			"spec.template.spec.containers.0.args: the --registry-url and --registry-token-file arguments are the operator's"},
		"another token file, as two arguments": {json6902("Deployment", "desk", `[{"op": "add", "path": "/spec/template/spec/containers/0/args/-", "value": "--registry-token-file"}, {"op": "add", "path": "/spec/template/spec/containers/0/args/-", "value": "/tmp/token"}]`),
			"spec.template.spec.containers.0.args: the --registry-url and --registry-token-file arguments are the operator's"},
		"flags cut short before the registry's": {deploymentPatch("spec:\n  template:\n    spec:\n      containers:\n      - name: desk\n        args: [--config=/etc/desk/office.json, --]\n"),
			`spec.template.spec.containers.0.args: 1: "--" comes before the operator's --registry-url arguments`},
		"a value apart before the registry's": {deploymentPatch("spec:\n  template:\n    spec:\n      containers:\n      - name: desk\n        args: [--reload-interval, 5s]\n"),
			`spec.template.spec.containers.0.args: 0: "--reload-interval" comes before the operator's --registry-url arguments: arguments before them must be --name=value flags`},
		"args not strings": {json6902("Deployment", "desk", `[{"op": "replace", "path": "/spec/template/spec/containers/0/args", "value": "--registry-url=http://evil.example"}]`),
			`"/spec/template/spec/containers/0/args/-": missing value (the operator adds the City's registry: its token's volume and mount, the desk's --registry-* arguments and the NetworkPolicy rule, after the office's patches)`},
		"the token's audience": {deploymentPatch("spec:\n  template:\n    spec:\n      volumes:\n      - name: registry-token\n        projected:\n          sources:\n          - serviceAccountToken: {audience: https://kubernetes.default.svc, path: token}\n"),
			"Deployment desk: spec.template.spec.volumes: may not be changed by a tenant patch"},
		"the token's audience, by path": {json6902("Deployment", "desk", `[{"op": "replace", "path": "/spec/template/spec/volumes/1/projected/sources/0/serviceAccountToken/audience", "value": "kube-apiserver"}]`),
			"/spec/template/spec/volumes/1/projected/sources/0/serviceAccountToken/audience"},
		"the token's volume removed": {json6902("Deployment", "desk", `[{"op": "remove", "path": "/spec/template/spec/volumes"}]`),
			`"/spec/template/spec/volumes/-": missing value`},
		"args not strings, kept a list": {json6902("Deployment", "desk", `[{"op": "add", "path": "/spec/template/spec/containers/0/args/0", "value": 8080}]`),
			"spec.template.spec.containers.0.args: must be a list of strings"},
		"the token mounted elsewhere": {deploymentPatch("spec:\n  template:\n    spec:\n      containers:\n      - name: desk\n        volumeMounts:\n        - {name: config, mountPath: /var/run/secrets/petition-registry}\n"),
			"Deployment desk: spec.template.spec.containers.0.volumeMounts: may not be changed"},
		"another service account": {deploymentPatch("spec:\n  template:\n    spec:\n      serviceAccountName: default\n"),
			"Deployment desk: spec.template.spec.serviceAccountName: may not be changed"},
		"the account's token mounted": {deploymentPatch("spec:\n  template:\n    spec:\n      automountServiceAccountToken: true\n"),
			"Deployment desk: spec.template.spec.automountServiceAccountToken: may not be changed"},
		"the egress rule widened": {json6902("NetworkPolicy", "desk", `[{"op": "replace", "path": "/spec/egress", "value": [{}]}]`),
			"NetworkPolicy desk: spec.egress"},
		"egress to a registry elsewhere": {json6902("NetworkPolicy", "desk", `[{"op": "add", "path": "/spec/egress/-", "value": {"to": [{"namespaceSelector": {}, "podSelector": {"matchLabels": {"app.kubernetes.io/name": "petition-registry"}}}]}}]`),
			"NetworkPolicy desk: spec.egress: may not be changed"},
		"the namespace's City": {v1alpha1.TenantPatch{Patch: "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: office-zhenping-county\n  labels:\n    petition.xinfang.io/city: xinyang-city\n"},
			`Namespace office-zhenping-county: metadata.labels.petition.xinfang.io/city: the key "petition.xinfang.io/city" is reserved`},
		"the namespace's City removed": {json6902("Namespace", "office-zhenping-county", `[{"op": "remove", "path": "/metadata/labels/petition.xinfang.io~1city"}]`),
			`metadata.labels.petition.xinfang.io/city: the key "petition.xinfang.io/city" is reserved`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := RenderContext(t.Context(), withRegistry(func(o *v1alpha1.Office) {
				o.Spec.Tenant.Patches = []v1alpha1.TenantPatch{deploymentPatch("  annotations:\n    team: land\n"), tc.patch}
			}))
			if err == nil || !strings.Contains(err.Error(), "spec.tenant.patches[1]: ") || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want spec.tenant.patches[1] refused with %q, got %v", tc.want, err)
			}
			// Refused at admission too, where the City is not known.
			o := withRegistry(func(o *v1alpha1.Office) { o.Spec.Tenant.Patches = []v1alpha1.TenantPatch{tc.patch} }).Office
			if errs := CheckTenant(t.Context(), o, DefaultLimits()); len(errs) != 1 || errs[0].Field != "spec.tenant.patches[0]" {
				t.Fatalf("admission: want one error on spec.tenant.patches[0], got %v", errs)
			}
		})
	}
}

// TestRegistryArgsKept: an office's own args, which replace the list, and
// args appended after the registry's, render with the registry flags kept;
// without a registry a patch may not add them.
func TestRegistryArgsKept(t *testing.T) {
	replace := deploymentPatch("spec:\n  template:\n    spec:\n      containers:\n      - name: desk\n        args: [--addr=:8080, --config=/etc/desk/office.json, --reload-interval=5s]\n")
	appendArgs := json6902("Deployment", "desk", `[{"op": "add", "path": "/spec/template/spec/containers/0/args/-", "value": "--peer-timeout=1s"}]`)
	for name, p := range map[string]v1alpha1.TenantPatch{"replaced": replace, "appended": appendArgs} {
		t.Run(name, func(t *testing.T) {
			objs, err := RenderContext(t.Context(), withRegistry(func(o *v1alpha1.Office) { o.Spec.Tenant.Patches = []v1alpha1.TenantPatch{p} }))
			if err != nil {
				t.Fatal(err)
			}
			args := anyStrings(container(t, byID(t, objs)["Deployment/desk"])["args"])
			var reg []string
			for _, a := range args {
				if isRegistryArg(a) {
					reg = append(reg, a)
				}
			}
			if want := registryArgs(withRegistry(nil).Registry); !slices.Equal(reg, want) {
				t.Errorf("args %q: registry arguments %q, want %q", args, reg, want)
			}
		})
	}
	_, err := RenderContext(t.Context(), input(func(o *v1alpha1.Office) {
		o.Spec.Tenant.Patches = []v1alpha1.TenantPatch{json6902("Deployment", "desk", `[{"op": "add", "path": "/spec/template/spec/containers/0/args/-", "value": "--registry-url=http://evil.example"}]`)}
	}))
	if err == nil || !strings.Contains(err.Error(), "spec.template.spec.containers.0.args: the --registry-url and --registry-token-file arguments are the operator's") {
		t.Fatalf("a registry flag added without a registry: got %v", err)
	}
}
