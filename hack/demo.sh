#!/usr/bin/env bash
# The demo: brings up the local control plane (or, when KUBECONFIG names
# another cluster, uses that one), installs the CRDs, runs the operator and
# applies the sample network of config/samples, then shows it.
#
#   hack/demo.sh        run the demo (again: it rebuilds and restarts the operator)
#   hack/demo.sh down   stop the operator and, if it was started here, the local control plane
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
local_kubeconfig="${root}/bin/local-cluster/kubeconfig"
state="${root}/bin/demo"
GO="${GO:-go}"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

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
	stop_manager
	"${root}/hack/cluster.sh" down
	exit 0
fi

mkdir -p "${state}"
# The local control plane reaches the operator's webhooks on 127.0.0.1; a
# remote cluster cannot, so there the demo runs without them.
webhook_flags=(--webhook-local-url https://127.0.0.1:18443 --webhook-cert-dir "${state}/webhook-certs")
if [[ -z "${KUBECONFIG:-}" || "${KUBECONFIG}" == "${local_kubeconfig}" ]]; then
	say "Local control plane (etcd, kube-apiserver, kube-controller-manager built from Go modules)"
	export KUBECONFIG="$("${root}/hack/cluster.sh" up)"
else
	say "Using the cluster of KUBECONFIG=${KUBECONFIG} (its API server cannot call webhooks on this machine: they stay off)"
	webhook_flags=(--enable-webhooks=false)
fi
bin="$("${root}/hack/controlplane.sh")"
kubectl() { "${bin}/kubectl" "$@"; }

say "Building the operator and petitionctl"
(cd "${root}" && "${GO}" build -o bin/manager ./cmd/manager && "${GO}" build -o bin/petitionctl ./cmd/petitionctl)

say "Installing the CRDs"
kubectl apply --server-side --force-conflicts -f "${root}/config/crd/bases"
kubectl wait --for condition=Established --timeout=60s -f "${root}/config/crd/bases" >/dev/null

say "Starting the operator with its admission webhooks (log: bin/demo/manager.log)"
stop_manager
"${root}/bin/manager" --metrics-bind-address 127.0.0.1:18080 --health-probe-bind-address 127.0.0.1:18081 \
	"${webhook_flags[@]}" >"${state}/manager.log" 2>&1 </dev/null &
echo $! >"${state}/manager.pid"
deadline=$((SECONDS + 60))
until curl -sf http://127.0.0.1:18081/readyz >/dev/null 2>&1; do
	if ! kill -0 "$(cat "${state}/manager.pid")" 2>/dev/null || ((SECONDS >= deadline)); then
		echo "the operator did not become ready; its log:" >&2
		tail -n 30 "${state}/manager.log" >&2
		exit 1
	fi
	sleep 0.2
done

say "Applying the sample network (config/samples)"
kubectl apply --server-side -k "${root}/config/samples"
kubectl wait --for condition=Ready --timeout=60s offices,escalationpolicies,holidaycalendars --all >/dev/null
# A Staged policy is Ready once its last stage is healthy, which takes tenants
# that roll out; every policy reports its rollout at once.
kubectl wait --for=jsonpath='{.status.rollout.phase}' --timeout=60s routingpolicies --all >/dev/null

say "kubectl get petition   (every kind of the petition category)"
kubectl get petition
say "kubectl get offices -o wide"
kubectl get offices -o wide
say "petitionctl tree"
"${root}/bin/petitionctl" tree
say "kubectl get routingpolicies   (rp)"
kubectl get routingpolicies
say "petitionctl rollout status wage-arrears --watch=false   (a Staged policy)"
"${root}/bin/petitionctl" rollout status wage-arrears --watch=false
echo
echo "(Stage 1 waits for the City's tenant to roll out, which takes nodes to run its"
echo "pods. A new policy reaches the offices of later stages only then.)"
say "Tenant namespaces: kubectl get namespaces -l app.kubernetes.io/managed-by=petition-operator"
kubectl get namespaces -l app.kubernetes.io/managed-by=petition-operator -L pod-security.kubernetes.io/enforce
say "One office's tenant stack: kubectl get deploy,rs,pods,svc,cm,netpol,pdb -n office-nanyang-city"
kubectl get deployments,replicasets,pods,services,configmaps,networkpolicies,poddisruptionbudgets -n office-nanyang-city
echo
echo "(The tenant pods stay Pending: the local control plane has no scheduler and no"
echo "nodes. On a real cluster they run the desk image given by --tenant-image.)"

if [[ "${webhook_flags[0]}" != "--enable-webhooks=false" ]]; then
	say "Admission: kubectl delete office neixiang-county   (it has children: refused)"
	kubectl delete office neixiang-county 2>&1 || true
	say "Admission: a Township under the City   (wrong level: refused)"
	printf 'apiVersion: petition.xinfang.io/v1alpha1\nkind: Office\nmetadata: {name: wolong-town}\nspec: {level: Township, parent: nanyang-city}\n' |
		kubectl apply --server-side -f - 2>&1 || true
fi
say "The operator's metrics: curl -s http://127.0.0.1:18080/metrics | grep '^petition_'"
# The gauges are read from the operator's cache at scrape time.
curl -s http://127.0.0.1:18080/metrics | grep -E '^petition_(offices|office_routing_rules|routingpolicy_offices)' || true
say "petitionctl validate -f config/samples   (what CI runs before a merge)"
"${root}/bin/petitionctl" validate -f "${root}/config/samples" && echo "config/samples: valid"

cat <<EOF

The operator keeps running in the background. Try:
  export KUBECONFIG=${KUBECONFIG}
  bin/kubectl explain office.spec.receptionWindows
  bin/kubectl get ofc zhenping-county -o yaml
  bin/kubectl get configmaps -n office-zhenping-county -o yaml   # the compiled office configuration
  bin/petitionctl tree
  tail -f bin/demo/manager.log
  curl -s http://127.0.0.1:18080/metrics | grep ^petition_   # docs/observability.md

Stop the operator and the local control plane with: make demo-down
EOF
