# shellcheck shell=bash
# The demo's cases, sourced by hack/demo.sh once the sample network is
# Ready: nanyang-city's cases live in a PostgreSQL on this machine (run as
# the tests run theirs), its registry runs here in cluster mode, and
# shifosi-town's desk runs here too, forwarding petitions to the registry
# with the token of its ServiceAccount for the registries' audience. The
# operator reads the figures into the offices' status.
# Uses from hack/demo.sh: say, kubectl, watched, root, state, registry_port.

say "Cases: nanyang-city's cases in PostgreSQL 15 on this machine (bin/demo/localpg.log)"
"${root}/bin/localpg" --url-file "${state}/database-url" >"${state}/localpg.log" 2>&1 </dev/null &
echo $! >"${state}/localpg.pid"
rm -f "${state}/database-url"
deadline=$((SECONDS + 60))
until [[ -s "${state}/database-url" ]]; do
	kill -0 "$(cat "${state}/localpg.pid")" 2>/dev/null || { died "PostgreSQL" "${state}/localpg.log" || exit 1; }
	((SECONDS < deadline)) || { echo "PostgreSQL did not start within 60s" >&2; tail -n 20 "${state}/localpg.log" >&2; exit 1; }
	sleep 0.2
done

say "spec.cases of nanyang-city: an external database, its URI in a Secret of the operator's namespace"
kubectl create namespace petition-system --dry-run=client -o yaml | kubectl apply --server-side -f - >/dev/null
kubectl create secret generic nanyang-cases-db -n petition-system --from-file=uri="${state}/database-url" \
	--dry-run=client -o yaml | kubectl apply --server-side -f - >/dev/null
kubectl patch office nanyang-city --type merge -p '{"spec": {"cases": {"external": {"secretRef": {"name": "nanyang-cases-db", "key": "uri"}}}}}'
# The identities: the operator's ServiceAccount, the registries' (which
# config/ and the chart create), and a clerk of shifosi-town.
kubectl create serviceaccount petition-operator -n petition-system --dry-run=client -o yaml | kubectl apply --server-side -f - >/dev/null
kubectl create serviceaccount petition-registry -n petition-system --dry-run=client -o yaml | kubectl apply --server-side -f - >/dev/null
kubectl create serviceaccount clerk -n office-shifosi-town --dry-run=client -o yaml | kubectl apply --server-side -f - >/dev/null
kubectl create token petition-operator -n petition-system --audience petition-registry --duration 24h >"${state}/operator-token"
kubectl create token desk -n office-shifosi-town --audience petition-registry --duration 24h >"${state}/desk-token"
clerk_token="$(kubectl create token clerk -n office-shifosi-town --audience petition-registry --duration 1h)"
"${root}/bin/registry" keygen >"${state}/cases.key"

say "The registry of nanyang-city (cluster mode: the network from the API server, tokens by TokenReview; log bin/demo/registry.log)"
"${root}/bin/registry" --kubeconfig "${KUBECONFIG}" --city nanyang-city --database-url-file "${state}/database-url" \
	--key-file "${state}/cases.key" --listen "127.0.0.1:${registry_port}" --sweep-interval 5s \
	--operator-account system:serviceaccount:petition-system:petition-operator >"${state}/registry.log" 2>&1 </dev/null &
echo $! >"${state}/registry.pid"
registry="http://127.0.0.1:${registry_port}"
watched_registry() {
	local deadline=$((SECONDS + 60))
	until curl -sf "${registry}/readyz" >/dev/null 2>&1; do
		kill -0 "$(cat "${state}/registry.pid")" 2>/dev/null || { died "the registry" "${state}/registry.log" || exit 1; }
		((SECONDS < deadline)) || { echo "the registry was not ready within 60s" >&2; tail -n 20 "${state}/registry.log" >&2; exit 1; }
		sleep 0.2
	done
}
watched_registry
watched kubectl wait --for condition=CasesReady --timeout 60s office/nanyang-city >/dev/null || true
say "kubectl get office nanyang-city -o jsonpath='{.status.casesStore}'; its CasesReady condition"
kubectl get office nanyang-city -o jsonpath='{.status.casesStore}{"\n"}{.status.conditions[?(@.type=="CasesReady")]}{"\n"}'

say "shifosi-town's desk on this machine, forwarding petitions to the registry (log bin/demo/desk.log)"
desk_port="$(free_port 18100 "${registry_port}")"
peer_port="$(free_port 18101 "${registry_port}" "${desk_port}")"
desk_probe_port="$(free_port 18102 "${registry_port}" "${desk_port}" "${peer_port}")"
config_map="$(kubectl get deploy desk -n office-shifosi-town -o jsonpath='{.spec.template.spec.volumes[?(@.name=="config")].configMap.name}')"
kubectl get configmap "${config_map}" -n office-shifosi-town -o jsonpath='{.data.office\.json}' >"${state}/shifosi-town.json"
"${root}/bin/desk" --addr "127.0.0.1:${desk_port}" --peer-addr "127.0.0.1:${peer_port}" --probe-addr "127.0.0.1:${desk_probe_port}" \
	--config "${state}/shifosi-town.json" --registry-url "${registry}" --registry-token-file "${state}/desk-token" \
	>"${state}/desk.log" 2>&1 </dev/null &
echo $! >"${state}/desk.pid"
deadline=$((SECONDS + 30))
until curl -sf "http://127.0.0.1:${desk_probe_port}/readyz" >/dev/null 2>&1; do
	kill -0 "$(cat "${state}/desk.pid")" 2>/dev/null || { died "the desk" "${state}/desk.log" || exit 1; }
	((SECONDS < deadline)) || { echo "the desk was not ready within 30s" >&2; exit 1; }
	sleep 0.2
done
desk="http://127.0.0.1:${desk_port}"

say "Three petitions filed at shifosi-town's desk: POST ${desk}/v1/petitions"
for i in 1 2 3; do
	curl -s -X POST "${desk}/v1/petitions" -H "Idempotency-Key: demo-petition-${i}" -H 'Content-Type: application/json' -d '{
	  "office": "shifosi-town", "type": "Appeal", "category": "land-acquisition", "channel": "Online",
	  "description": "征地补偿款至今未发放到户", "petitioner": {"name": "张三", "phone": "138 0013 8000"}}' |
		head -c 300
	echo
done
say "The figures reach the offices' status (read every 10 s, written only when they change)"
watched kubectl wait --for=jsonpath='{.status.cases.open}'=3 office/shifosi-town --timeout 90s >/dev/null
kubectl get office shifosi-town -o jsonpath='{.status.cases}{"\n"}'

say "A letter the clerk registers late: received 2026-10-09, its Transfer stage overdue"
curl -s -X POST "${registry}/v1/cases" -H "Authorization: Bearer ${clerk_token}" -H "Idempotency-Key: demo-letter-1" -d '{
  "office": "shifosi-town", "type": "Appeal", "category": "land-acquisition", "channel": "Letter", "receivedAt": "2026-10-09",
  "description": "宅基地确权纠纷", "petitioner": {"name": "李四", "phone": "139 0013 9000"}}' | head -c 200
echo

say "Forged intakes are refused: no token with a header naming an office; the desk's token for another office"
curl -s -o /dev/null -w '%{http_code} (no token, X-Petition-Office: nanyang-city)\n' -X POST "${registry}/v1/petitions" \
	-H 'X-Petition-Office: nanyang-city' -H 'Idempotency-Key: forged-1' -d '{"office": "nanyang-city", "type": "Appeal", "category": "land-acquisition", "channel": "Online", "description": "x"}'
curl -s -w ' %{http_code} (the desk of shifosi-town filing for zhenping-county)\n' -X POST "${registry}/v1/petitions" \
	-H "Authorization: Bearer $(cat "${state}/desk-token")" -H 'Idempotency-Key: forged-2' \
	-d '{"office": "zhenping-county", "type": "Appeal", "category": "land-acquisition", "channel": "Online", "description": "x", "petitioner": {"name": "王五", "phone": "137 0013 7000"}}'

say "The overdue letter reaches the figures: shifosi-town gets a Warning event, its County and City their totals"
watched kubectl wait --for=jsonpath='{.status.cases.subtree.overdue}'=1 office/nanyang-city --timeout 90s >/dev/null
say "kubectl get offices"
kubectl get offices
say "petitionctl tree   (OPEN, OVERDUE and ON-TIME: subtree totals above the townships)"
"${root}/bin/petitionctl" tree
say "kubectl get events --field-selector reason=OverdueRising"
kubectl get events -A --field-selector reason=OverdueRising
say "Nothing changes, nothing is written: shifosi-town's resourceVersion over 30 s (three readings)"
before="$(kubectl get office shifosi-town -o jsonpath='{.metadata.resourceVersion}')"
sleep 30
after="$(kubectl get office shifosi-town -o jsonpath='{.metadata.resourceVersion}')"
echo "resourceVersion ${before} -> ${after}"
