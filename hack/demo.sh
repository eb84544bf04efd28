#!/usr/bin/env bash
# The demo: brings up the local control plane (or, when KUBECONFIG names
# another cluster, uses that one), installs the CRDs, runs the operator and
# applies the sample network of config/samples, then shows it.
#
#   hack/demo.sh        run the demo (again: on a fresh local control plane, with the operator rebuilt)
#   hack/demo.sh down   stop the operator and, if it was started here, the local control plane
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
local_kubeconfig="${root}/bin/local-cluster/kubeconfig"
state="${root}/bin/demo"
GO="${GO:-go}"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
# shellcheck source=hack/process.sh
source "${root}/hack/process.sh"

# stop_cases stops the demo's desk, registry and PostgreSQL (which then
# removes its data: the demo's cases live as long as the demo).
stop_cases() {
	local name pid
	for name in desk registry localpg; do
		if [[ -f "${state}/${name}.pid" ]]; then
			pid="$(cat "${state}/${name}.pid")"
			if kill -0 "${pid}" 2>/dev/null; then
				kill "${pid}"
				local deadline=$((SECONDS + 30))
				while kill -0 "${pid}" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
			fi
			rm -f "${state}/${name}.pid"
		fi
	done
}

stop_manager() {
	if [[ -f "${state}/manager.pid" ]] && kill -0 "$(cat "${state}/manager.pid")" 2>/dev/null; then
		# On SIGTERM the operator removes the webhook configurations it installed.
		kill "$(cat "${state}/manager.pid")"
		local deadline=$((SECONDS + 30))
		while kill -0 "$(cat "${state}/manager.pid")" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
	fi
	rm -f "${state}/manager.pid"
}

if [[ "${1:-}" == "down" ]]; then
	stop_cases
	stop_manager
	"${root}/hack/cluster.sh" down
	exit 0
fi

mkdir -p "${state}"
# Stop an operator an earlier run left, then take ports nothing else holds:
# a probe port held by another program would answer for the operator.
stop_cases
stop_manager
metrics_port="$(free_port 18080)"
probe_port="$(free_port 18081 "${metrics_port}")"
webhook_port="$(free_port 18443 "${metrics_port}" "${probe_port}")"
# The local control plane reaches the operator's webhooks on 127.0.0.1; a
# remote cluster cannot, so there the demo runs without them.
webhook_flags=(--webhook-local-url "https://127.0.0.1:${webhook_port}" --webhook-cert-dir "${state}/webhook-certs")
if [[ -z "${KUBECONFIG:-}" || "${KUBECONFIG}" == "${local_kubeconfig}" ]]; then
	say "Local control plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler and 3 simulated nodes, built from Go modules)"
	# The demo changes the network as it goes: each run starts afresh.
	stop_manager
	"${root}/hack/cluster.sh" down >/dev/null
	export KUBECONFIG="$("${root}/hack/cluster.sh" up)"
else
	say "Using the cluster of KUBECONFIG=${KUBECONFIG} (its API server cannot call webhooks on this machine: they stay off)"
	webhook_flags=(--enable-webhooks=false)
fi
bin="$("${root}/hack/controlplane.sh")"
kubectl() { "${bin}/kubectl" "$@"; }

say "Building the operator, petitionctl, the case registry and the desk"
(cd "${root}" && "${GO}" build -o bin/manager ./cmd/manager && "${GO}" build -o bin/petitionctl ./cmd/petitionctl &&
	"${GO}" build -o bin/registry ./cmd/registry && "${GO}" build -o bin/desk ./cmd/desk && "${GO}" build -o bin/localpg ./hack/localpg)

say "Installing the CRDs"
kubectl apply --server-side --force-conflicts -f "${root}/config/crd/bases"
kubectl wait --for condition=Established --timeout=60s -f "${root}/config/crd/bases" >/dev/null

say "Starting the operator with its admission webhooks (log: bin/demo/manager.log; metrics :${metrics_port}, probes :${probe_port}, webhooks :${webhook_port})"
stop_manager
# The City's case registry runs on this machine (below), where the
# operator reads its figures every 10 s with the token of its
# ServiceAccount for the registries' audience.
registry_port="$(free_port 18090 "${metrics_port}" "${probe_port}" "${webhook_port}")"
"${root}/bin/manager" --metrics-bind-address "127.0.0.1:${metrics_port}" --health-probe-bind-address "127.0.0.1:${probe_port}" \
	--cases-namespace petition-system --registry-url "http://127.0.0.1:${registry_port}" \
	--registry-token-file "${state}/operator-token" --case-figures-interval 10s \
	"${webhook_flags[@]}" >"${state}/manager.log" 2>&1 </dev/null &
manager_pid=$!
echo "${manager_pid}" >"${state}/manager.pid"
deadline=$((SECONDS + 60))
until curl -sf "http://127.0.0.1:${probe_port}/readyz" >/dev/null 2>&1 && kill -0 "${manager_pid}" 2>/dev/null; do
	if ! kill -0 "${manager_pid}" 2>/dev/null; then
		died "the operator" "${state}/manager.log" || exit 1
	fi
	if ((SECONDS >= deadline)); then
		echo "the operator did not become ready within 60s; the last lines of its log:" >&2
		tail -n 30 "${state}/manager.log" >&2
		exit 1
	fi
	sleep 0.2
done
# Every wait from here on stops at once, with the operator's log, if the
# operator exits.
watched() { guard "the operator" "${manager_pid}" "${state}/manager.log" "$@"; }
# alive stops the demo, with the operator's log, if the operator exited.
alive() { kill -0 "${manager_pid}" 2>/dev/null || { died "the operator" "${state}/manager.log" || exit 1; }; }

say "Applying the sample network (config/samples)"
kubectl apply --server-side -k "${root}/config/samples"
watched kubectl wait --for condition=Ready --timeout=60s offices,escalationpolicies,holidaycalendars --all >/dev/null
# A Staged policy is Ready once its last stage's tenants have rolled out.
watched kubectl wait --for condition=Ready --timeout=300s routingpolicies,dutyperiods,tenantdefaults --all >/dev/null

say "kubectl get petition   (every kind of the petition category)"
kubectl get petition
say "kubectl get offices -o wide"
kubectl get offices -o wide
say "petitionctl tree"
"${root}/bin/petitionctl" tree
say "Tenant namespaces: kubectl get namespaces -l app.kubernetes.io/managed-by=petition-operator"
kubectl get namespaces -l app.kubernetes.io/managed-by=petition-operator -L pod-security.kubernetes.io/enforce
say "One office's tenant stack: kubectl get deploy,rs,pods,svc,cm,netpol,pdb -n office-nanyang-city"
kubectl get deployments,replicasets,pods,services,configmaps,networkpolicies,poddisruptionbudgets -n office-nanyang-city -o wide
echo
echo "(The pods run on simulated nodes: kwok plays their kubelet. On a real cluster"
echo "they run the desk image given by --tenant-image or the TenantDefaults.)"

say "A staged rule change: wage-arrears also takes pension-arrears petitions"
kubectl patch rp wage-arrears --type json \
	-p '[{"op": "add", "path": "/spec/rules/0/match/categories/-", "value": "pension-arrears"}]'
say "petitionctl rollout status wage-arrears   (follows it stage by stage)"
watched "${root}/bin/petitionctl" rollout status wage-arrears --timeout 3m
say "kubectl get rp"
kubectl get rp

say "A broken stage halts the next change: zhenping-county's new pods fit no node (spread over zones; these nodes have none)"
kubectl patch office zhenping-county --type merge -p '{"spec": {"tenant": {"patches": [{"patch": "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: desk}\nspec: {template: {spec: {topologySpreadConstraints: [{maxSkew: 1, topologyKey: topology.kubernetes.io/zone, whenUnsatisfiable: DoNotSchedule, labelSelector: {matchLabels: {app.kubernetes.io/name: desk}}}]}}}\n"}]}}}'
kubectl patch rp wage-arrears --type json -p '[
  {"op": "add", "path": "/spec/rules/0/match/categories/-", "value": "severance-pay"},
  {"op": "add", "path": "/spec/rollout/progressDeadline", "value": "20s"}]'
watched "${root}/bin/petitionctl" rollout status wage-arrears --timeout 3m || alive
say "kubectl get rp wage-arrears; the townships, not reached, answer with the stable rules"
kubectl get rp wage-arrears
"${root}/bin/petitionctl" route --office shifosi-town --category severance-pay --type Appeal
say "Fixed, and the deadline raised: the halted stage is tried again and the rollout completes"
kubectl patch office zhenping-county --type json -p '[{"op": "remove", "path": "/spec/tenant/patches"}]'
kubectl patch rp wage-arrears --type merge -p '{"spec": {"rollout": {"progressDeadline": "5m"}}}'
watched "${root}/bin/petitionctl" rollout status wage-arrears --timeout 3m
"${root}/bin/petitionctl" route --office shifosi-town --category severance-pay --type Appeal
say "kubectl get events --field-selector involvedObject.name=wage-arrears"
kubectl get events --field-selector involvedObject.name=wage-arrears --sort-by .metadata.creationTimestamp

if "${root}/hack/postgres.sh" >/dev/null 2>&1; then
	source "${root}/hack/demo-cases.sh"
else
	say "Cases: skipped (no PostgreSQL 15 here: hack/postgres.sh says what to install)"
fi

if [[ "${webhook_flags[0]}" != "--enable-webhooks=false" ]]; then
	say "Admission: kubectl delete office neixiang-county   (it has children: refused)"
	kubectl delete office neixiang-county 2>&1 || true
	say "Admission: a Township under the City   (wrong level: refused)"
	printf 'apiVersion: petition.xinfang.io/v1alpha1\nkind: Office\nmetadata: {name: wolong-town}\nspec: {level: Township, parent: nanyang-city}\n' |
		kubectl apply --server-side -f - 2>&1 || true
	say "Admission: a tenant patch that opens the desk to every source   (refused: docs/security.md)"
	kubectl patch office zhenping-county --type merge -p '{"spec": {"tenant": {"patches": [{"target": {"kind": "NetworkPolicy", "name": "desk"}, "patch": "[{\"op\": \"replace\", \"path\": \"/spec/ingress/0/from\", \"value\": [{}]}]"}]}}}' 2>&1 || true
fi
say "The operator's metrics: curl -s http://127.0.0.1:${metrics_port}/metrics | grep '^petition_'"
# The gauges are read from the operator's cache at scrape time.
curl -s http://127.0.0.1:${metrics_port}/metrics | grep -E '^petition_(offices|office_routing_rules|routingpolicy_offices)' || true
say "petitionctl validate -f config/samples   (what CI runs before a merge)"
"${root}/bin/petitionctl" validate -f "${root}/config/samples" && echo "config/samples: valid"

cat <<EOF

The operator keeps running in the background. Try:
  export KUBECONFIG=${KUBECONFIG}
  bin/kubectl explain office.spec.receptionWindows
  bin/kubectl get ofc zhenping-county -o yaml
  bin/kubectl get configmaps -n office-zhenping-county -o yaml   # the compiled office configuration
  bin/petitionctl tree
  bin/petitionctl rollout status td/default
  tail -f bin/demo/manager.log
  curl -s http://127.0.0.1:${metrics_port}/metrics | grep ^petition_   # docs/observability.md

Stop the operator and the local control plane with: make demo-down
EOF
