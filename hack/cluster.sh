#!/usr/bin/env bash
# Runs a local Kubernetes control plane on loopback from the binaries that
# hack/controlplane.sh builds: etcd, kube-apiserver and kube-controller-manager
# (garbage collection, namespace deletion, Deployments → ReplicaSets → Pods),
# and the ones hack/nodes.sh builds to run those pods: kube-scheduler, and kwok,
# which simulates nodes (kwok-node-0, …) and makes the pods bound to them
# Running and Ready at once. No container runs and no image is pulled; pods
# that no node fits stay Pending, as on a cluster.
#
#   hack/cluster.sh up      start (or keep) the control plane; prints the kubeconfig path
#   hack/cluster.sh down    stop it and remove its data
#   hack/cluster.sh status  say whether it runs
#
# Both up and down are idempotent. State lives in bin/local-cluster/.
# Ports can be changed with LOCAL_ETCD_PORT and LOCAL_APISERVER_PORT, the
# number of nodes (3) with LOCAL_NODES.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="${root}/bin/local-cluster"
kubeconfig="${dir}/kubeconfig"
etcd_port="${LOCAL_ETCD_PORT:-23790}"
etcd_peer_port="$((etcd_port + 10))"
api_port="${LOCAL_APISERVER_PORT:-26443}"
node_count="${LOCAL_NODES:-3}"
# In the order down stops them: the simulated nodes first, etcd last.
components=(kwok kube-scheduler kube-controller-manager kube-apiserver etcd)

log() { echo "cluster: $*" >&2; }

running() { # component
	local pidfile="${dir}/$1.pid"
	[[ -f "${pidfile}" ]] && kill -0 "$(cat "${pidfile}")" 2>/dev/null
}

start() { # component args...
	local name="$1"
	shift
	if running "${name}"; then
		return
	fi
	local exe="${bin}/${name}"
	[[ "${name}" == kube-scheduler || "${name}" == kwok ]] && exe="${nodes_bin}/${name}"
	setsid "${exe}" "$@" >"${dir}/${name}.log" 2>&1 </dev/null &
	echo $! >"${dir}/${name}.pid"
}

kubectl() { "${bin}/kubectl" --kubeconfig "${kubeconfig}" "$@"; }

healthy() { kubectl get --raw=/readyz >/dev/null 2>&1; }

wait_for() { # description seconds command...
	local what="$1" secs="$2"
	shift 2
	local deadline=$((SECONDS + secs))
	until "$@"; do
		if ((SECONDS >= deadline)); then
			log "${what} not ready after ${secs}s; logs in ${dir#"${root}/"}/"
			return 1
		fi
		sleep 0.2
	done
}

write_kubeconfig() {
	local ca
	ca="$(base64 -w0 <"${dir}/pki/apiserver.crt")"
	umask 077
	cat >"${kubeconfig}.tmp" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: local
  cluster:
    server: https://127.0.0.1:${api_port}
    certificate-authority-data: ${ca}
users:
- name: admin
  user:
    token: $(cut -d, -f1 "${dir}/tokens.csv")
contexts:
- name: local
  context: {cluster: local, user: admin}
current-context: local
EOF
	mv "${kubeconfig}.tmp" "${kubeconfig}"
}

up() {
	bin="$("${root}/hack/controlplane.sh")"
	nodes_bin="$("${root}/hack/nodes.sh")"
	mkdir -p "${dir}/pki" "${dir}/etcd"
	if running kube-apiserver && [[ -f "${kubeconfig}" ]] && healthy; then
		start_controller_manager
		start_nodes
		log "already running"
		echo "${kubeconfig}"
		return
	fi
	command -v openssl >/dev/null || { log "openssl is needed to create the service-account key"; exit 1; }
	if [[ ! -f "${dir}/sa.key" ]]; then
		openssl genrsa -out "${dir}/sa.key" 2048 2>/dev/null
		openssl rsa -in "${dir}/sa.key" -pubout -out "${dir}/sa.pub" 2>/dev/null
	fi
	if [[ ! -f "${dir}/tokens.csv" ]]; then
		(umask 077 && echo "$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n'),admin,admin,system:masters" >"${dir}/tokens.csv")
	fi

	start etcd --name local --data-dir "${dir}/etcd" \
		--listen-client-urls "http://127.0.0.1:${etcd_port}" --advertise-client-urls "http://127.0.0.1:${etcd_port}" \
		--listen-peer-urls "http://127.0.0.1:${etcd_peer_port}" --initial-advertise-peer-urls "http://127.0.0.1:${etcd_peer_port}" \
		--initial-cluster "local=http://127.0.0.1:${etcd_peer_port}" --unsafe-no-fsync --log-level warn

	start kube-apiserver --etcd-servers "http://127.0.0.1:${etcd_port}" \
		--bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "${api_port}" \
		--cert-dir "${dir}/pki" --token-auth-file "${dir}/tokens.csv" --authorization-mode RBAC \
		--service-account-key-file "${dir}/sa.pub" --service-account-signing-key-file "${dir}/sa.key" \
		--service-account-issuer https://kubernetes.default.svc.cluster.local \
		--service-cluster-ip-range 10.0.0.0/24 --allow-privileged=false

	wait_for "kube-apiserver certificate" 60 test -s "${dir}/pki/apiserver.crt"
	write_kubeconfig
	wait_for kube-apiserver 120 healthy
	start_controller_manager
	start_nodes
	log "control plane is up: kube-apiserver https://127.0.0.1:${api_port}, ${node_count} kwok nodes"
	echo "${kubeconfig}"
}

start_controller_manager() {
	start kube-controller-manager --kubeconfig "${kubeconfig}" \
		--authentication-kubeconfig "${kubeconfig}" --authorization-kubeconfig "${kubeconfig}" \
		--service-account-private-key-file "${dir}/sa.key" --root-ca-file "${dir}/pki/apiserver.crt" \
		--use-service-account-credentials --leader-elect=false --secure-port 0
}

# start_nodes runs kube-scheduler and kwok, creates the simulated nodes (again,
# if they were deleted) and waits until they are Ready. kwok manages only the
# nodes annotated kwok.x-k8s.io/node=fake and plays on them and their pods the
# Stages of internal/testenv/kwok-stages.yaml, the file the tests use too: the
# kwok binary has none built in.
start_nodes() {
	start kube-scheduler --kubeconfig "${kubeconfig}" \
		--authentication-kubeconfig "${kubeconfig}" --authorization-kubeconfig "${kubeconfig}" \
		--leader-elect=false --secure-port 0
	# A work folder of its own keeps a kwok configuration in the home folder
	# out. Its nodes renew Leases, the heartbeat kube-controller-manager
	# checks; the pod IPs are apart from the Service range.
	mkdir -p "${dir}/kwok"
	KWOK_WORKDIR="${dir}/kwok" start kwok --kubeconfig "${kubeconfig}" \
		--config "${root}/internal/testenv/kwok-stages.yaml" \
		--manage-nodes-with-annotation-selector kwok.x-k8s.io/node=fake \
		--node-lease-duration-seconds 40 --cidr 10.244.0.0/16
	local i
	for ((i = 0; i < node_count; i++)); do
		# A node takes its status on create: room for about a hundred small
		# pods, which kwok keeps when it makes the node Ready. No taint, so
		# that ordinary pods schedule there.
		cat <<EOF
apiVersion: v1
kind: Node
metadata:
  name: kwok-node-${i}
  annotations: {kwok.x-k8s.io/node: fake}
  labels: {type: kwok, kubernetes.io/hostname: kwok-node-${i}, kubernetes.io/os: linux, kubernetes.io/arch: amd64}
status:
  allocatable: {cpu: "32", memory: 128Gi, pods: "110"}
  capacity: {cpu: "32", memory: 128Gi, pods: "110"}
---
EOF
	done | kubectl apply --server-side -f - >/dev/null
	wait_for "kwok nodes" 60 nodes_ready
}

# nodes_ready says whether every kwok node is Ready.
nodes_ready() {
	[[ "$(kubectl get nodes -l type=kwok -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' 2>/dev/null | grep -c '^True$')" -ge "${node_count}" ]]
}

down() {
	for c in "${components[@]}"; do
		if running "${c}"; then
			kill "$(cat "${dir}/${c}.pid")" 2>/dev/null || true
		fi
	done
	for c in "${components[@]}"; do
		local deadline=$((SECONDS + 20))
		while running "${c}" && ((SECONDS < deadline)); do sleep 0.2; done
		if running "${c}"; then kill -9 "$(cat "${dir}/${c}.pid")" 2>/dev/null || true; fi
	done
	rm -rf "${dir}"
	log "stopped and removed ${dir#"${root}/"}"
}

status() {
	for c in "${components[@]}"; do
		if running "${c}"; then echo "${c}: running"; else echo "${c}: stopped"; fi
	done
}

case "${1:-}" in
up) up ;;
down) down ;;
status) status ;;
*)
	echo "usage: $0 up|down|status" >&2
	exit 2
	;;
esac
