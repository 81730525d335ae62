#!/usr/bin/env bash
# A local upstream Kubernetes control plane for the test suite: etcd, kube-apiserver,
# kube-controller-manager and kube-scheduler, built from source at the release pinned in
# tools/controlplane/go.mod.
#
#   scripts/controlplane.sh build             build the binaries into .tools/controlplane/bin
#   scripts/controlplane.sh start DIR         start them on loopback with data, certificates,
#                                             logs and an admin kubeconfig in DIR (DIR/kubeconfig),
#                                             and the local node agent (`kontinue node`, from
#                                             .venv) that runs the pods; NODE=0 leaves it out
#   scripts/controlplane.sh stop DIR          stop them (by the PIDs recorded in DIR)
#   scripts/controlplane.sh status DIR        exit 0 when the API server answers /readyz
#   scripts/controlplane.sh kill DIR PROGRAM  kill -9 one of them (start DIR brings it back)
#
# DIR/node.kubeconfig is for the local node agent (`kontinue node`), as system:node:kontinue-node;
# DIR/pki/node-serving.{crt,key} is its serving certificate, DIR/pki/ca.crt the CA of the API
# server's client certificate.
# Everything listens on 127.0.0.1 only: the API server with TLS, client-certificate and
# service-account-token authentication and RBAC authorization; etcd on plain HTTP loopback ports.
# Ports are picked free at start (CONTROLPLANE_PORT fixes the API server's). Needs Go (the build
# is cached in the Go caches: a warm build only links), openssl and curl.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
module="$root/tools/controlplane"
bin="${CONTROLPLANE_BIN:-$root/.tools/controlplane/bin}"
NODE_NAME=${NODE_NAME:-kontinue-node}
programs=(etcd kube-apiserver kube-controller-manager kube-scheduler)

usage() { sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }

build() {
  command -v go >/dev/null || { echo "controlplane: go is not installed (needs Go >= 1.26)" >&2; exit 3; }
  # the release in go.mod, stamped into the binaries as upstream's own build does
  local release minor ldflags="-s -w" pkg
  release=$(awk '$1 == "k8s.io/kubernetes" && $2 ~ /^v/ {print $2; exit}' "$module/go.mod")
  minor=${release#v1.}
  minor=${minor%%.*}
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $pkg.gitVersion=$release -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  local stamp="$bin/.built-from" want
  want=$( (cat "$module/go.mod" "$module/go.sum" "$module/cmd/etcd/main.go"; echo "$ldflags") \
    | sha256sum | cut -c1-16)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && all_built; then
    return 0
  fi
  mkdir -p "$bin"
  local started=$SECONDS
  echo "controlplane: building ${programs[*]} $release (cold: about 10 minutes on 2 cores; cached after)" >&2
  (cd "$module" && go build -ldflags "$ldflags" -o "$bin/" ./cmd/etcd \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kube-scheduler)
  echo "$want" >"$stamp"
  echo "controlplane: built in $((SECONDS - started)) s" >&2
}

all_built() {
  local p
  for p in "${programs[@]}"; do [ -x "$bin/$p" ] || return 1; done
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# certificates: a CA, the API server's serving certificate, client certificates (admin in
# system:masters, the controller manager, the API server towards kubelets) and the
# service-account signing key pair.
certificates() {
  local pki=$1
  mkdir -p "$pki"
  (
    cd "$pki"
    umask 077
    [ -f ca.key ] || {
      openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 3650 \
        -subj "/CN=kontinue-controlplane-ca" 2>/dev/null
    }
    sign() { # name subject [extensions]
      local name=$1 subject=$2 ext=${3:-}
      [ -f "$name.crt" ] && return 0
      openssl req -newkey rsa:2048 -nodes -keyout "$name.key" -out "$name.csr" -subj "$subject" 2>/dev/null
      if [ -n "$ext" ]; then
        printf '%s\n' "$ext" >"$name.ext"
        openssl x509 -req -in "$name.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
          -out "$name.crt" -extfile "$name.ext" 2>/dev/null
      else
        openssl x509 -req -in "$name.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
          -out "$name.crt" 2>/dev/null
      fi
      rm -f "$name.csr" "$name.ext"
    }
    sign apiserver "/CN=kube-apiserver" \
      "subjectAltName=IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local
extendedKeyUsage=serverAuth"
    sign admin "/O=system:masters/CN=kontinue-admin" "extendedKeyUsage=clientAuth"
    sign controller-manager "/CN=system:kube-controller-manager" "extendedKeyUsage=clientAuth"
    sign kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" "extendedKeyUsage=clientAuth"
    sign scheduler "/CN=system:kube-scheduler" "extendedKeyUsage=clientAuth"
    # the local node agent (kontinue node) authenticates as a kubelet: the Node authorizer
    # limits it to its own Node, its pods and what they reference
    sign node "/O=system:nodes/CN=system:node:$NODE_NAME" "extendedKeyUsage=clientAuth"
    # ... and serves pod logs to the API server over TLS with this certificate
    sign node-serving "/CN=$NODE_NAME" "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:$NODE_NAME
extendedKeyUsage=serverAuth"
    [ -f sa.key ] || {
      openssl genrsa -out sa.key 2048 2>/dev/null
      openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
    }
  )
}

kubeconfig() { # file server user
  local file=$1 server=$2 user=$3 pki=$4
  umask 077
  cat >"$file" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: controlplane
  cluster:
    server: $server
    certificate-authority: $pki/ca.crt
users:
- name: $user
  user:
    client-certificate: $pki/$user.crt
    client-key: $pki/$user.key
contexts:
- name: controlplane
  context: {cluster: controlplane, user: $user, namespace: default}
current-context: controlplane
EOF
}

running() { # dir program
  local pidfile="$1/$2.pid"
  [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null
}

launch() { # dir program args...
  local dir=$1 program=$2
  shift 2
  "$bin/$program" "$@" >>"$dir/logs/$program.log" 2>&1 &
  echo $! >"$dir/$program.pid"
}

wait_for() { # what seconds command...
  local what=$1 seconds=$2
  shift 2
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    if [ $SECONDS -ge $deadline ]; then
      echo "controlplane: $what not ready after $seconds s" >&2
      return 1
    fi
    sleep 0.2
  done
}

readyz() { # dir
  local dir=$1
  curl -sf --cacert "$dir/pki/ca.crt" --cert "$dir/pki/admin.crt" --key "$dir/pki/admin.key" \
    "$(cat "$dir/server")/readyz"
}

default_serviceaccount() { # dir: the controller manager's serviceaccount controller has run
  local dir=$1
  curl -sf --cacert "$dir/pki/ca.crt" --cert "$dir/pki/admin.crt" --key "$dir/pki/admin.key" \
    "$(cat "$dir/server")/api/v1/namespaces/default/serviceaccounts/default"
}

# start DIR: whatever of etcd, kube-apiserver, kube-controller-manager, kube-scheduler and the node
# agent is not running in DIR is started, on the ports DIR recorded the first time (so a killed
# kube-apiserver comes back where its clients expect it).
start() {
  local dir
  dir=$(mkdir -p "$1" && cd "$1" && pwd)
  build
  local started=$SECONDS
  mkdir -p "$dir/logs" "$dir/etcd"
  chmod 700 "$dir" "$dir/etcd"
  certificates "$dir/pki"
  if [ ! -f "$dir/ports" ]; then
    printf 'ETCD_PORT=%s\nPEER_PORT=%s\nAPI_PORT=%s\n' "$(free_port)" "$(free_port)" \
      "${CONTROLPLANE_PORT:-$(free_port)}" >"$dir/ports"
  fi
  # shellcheck source=/dev/null
  . "$dir/ports"
  echo "https://127.0.0.1:$API_PORT" >"$dir/server"
  local pki="$dir/pki"

  if ! running "$dir" etcd; then
    launch "$dir" etcd --name controlplane --data-dir "$dir/etcd" \
      --listen-client-urls "http://127.0.0.1:$ETCD_PORT" \
      --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
      --listen-peer-urls "http://127.0.0.1:$PEER_PORT" \
      --initial-advertise-peer-urls "http://127.0.0.1:$PEER_PORT" \
      --initial-cluster "controlplane=http://127.0.0.1:$PEER_PORT" \
      --unsafe-no-fsync --quota-backend-bytes 8589934592 \
      --listen-metrics-urls "" --log-level warn
    wait_for etcd 60 curl -sf "http://127.0.0.1:$ETCD_PORT/health"
  fi

  if ! running "$dir" kube-apiserver; then
    launch "$dir" kube-apiserver \
      --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
      --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$API_PORT" \
      --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
      --client-ca-file "$pki/ca.crt" \
      --service-account-issuer https://kubernetes.default.svc.cluster.local \
      --service-account-key-file "$pki/sa.pub" \
      --service-account-signing-key-file "$pki/sa.key" \
      --api-audiences https://kubernetes.default.svc.cluster.local \
      --authorization-mode Node,RBAC \
      --service-cluster-ip-range 10.0.0.0/24 \
      --kubelet-client-certificate "$pki/kubelet-client.crt" \
      --kubelet-client-key "$pki/kubelet-client.key" \
      --kubelet-certificate-authority "$pki/ca.crt" \
      --kubelet-preferred-address-types InternalIP \
      --allow-privileged=true \
      --enable-admission-plugins NodeRestriction \
      --endpoint-reconciler-type none \
      --profiling=false \
      --v 0
  fi
  wait_for kube-apiserver 120 readyz "$dir"
  local server
  server=$(cat "$dir/server")
  local user
  for user in admin controller-manager scheduler node; do
    kubeconfig "$dir/$user.kubeconfig" "$server" "$user" "$pki"
  done
  mv "$dir/admin.kubeconfig" "$dir/kubeconfig"

  if ! running "$dir" kube-controller-manager; then
    launch "$dir" kube-controller-manager \
      --kubeconfig "$dir/controller-manager.kubeconfig" \
      --authentication-kubeconfig "$dir/controller-manager.kubeconfig" \
      --authorization-kubeconfig "$dir/controller-manager.kubeconfig" \
      --bind-address 127.0.0.1 --secure-port 0 \
      --leader-elect=false \
      --use-service-account-credentials \
      --service-account-private-key-file "$pki/sa.key" \
      --root-ca-file "$pki/ca.crt" \
      --cluster-signing-cert-file "$pki/ca.crt" --cluster-signing-key-file "$pki/ca.key" \
      --controllers "$(controllers)" \
      --concurrent-gc-syncs 20 \
      --v 0
  fi
  wait_for kube-controller-manager 120 default_serviceaccount "$dir"

  if ! running "$dir" kube-scheduler; then
    launch "$dir" kube-scheduler \
      --kubeconfig "$dir/scheduler.kubeconfig" \
      --authentication-kubeconfig "$dir/scheduler.kubeconfig" \
      --authorization-kubeconfig "$dir/scheduler.kubeconfig" \
      --bind-address 127.0.0.1 --secure-port 0 --leader-elect=false --v 0
  fi
  if [ "${NODE:-1}" != 0 ] && ! running "$dir" node; then
    start_node "$dir"
  fi
  echo "controlplane: ready at $server in $((SECONDS - started)) s; KUBECONFIG=$dir/kubeconfig"
}

# The controllers kontinue's tests need: garbage collection of ownerReferences, Jobs and their
# TTL, namespaces, service accounts and their CA bundle, Deployments for the chart tests, and
# the node lifecycle (it lifts the not-ready taint of a new Node once it reports Ready).
controllers() {
  local list=(
    garbage-collector-controller job-controller ttl-after-finished-controller
    namespace-controller serviceaccount-controller serviceaccount-token-controller
    root-ca-certificate-publisher-controller deployment-controller replicaset-controller
    pod-garbage-collector-controller cronjob-controller disruption-controller
    resourcequota-controller node-lifecycle-controller
  )
  local IFS=,
  echo "${list[*]}"
}

# The local node agent: a kubelet of kontinue's (pods run as host processes) with the node's
# credentials; the API server reaches its log port with the kubelet-client certificate.
start_node() {
  local dir=$1 pki=$1/pki kontinue="$root/.venv/bin/kontinue"
  [ -x "$kontinue" ] || { echo "controlplane: $kontinue missing: run scripts/setup.sh (or NODE=0)" >&2; return 1; }
  mkdir -p "$dir/node"
  "$kontinue" node --kubeconfig "$dir/node.kubeconfig" --name "$NODE_NAME" \
    --work-dir "$dir/node" --port 0 \
    --tls-cert-file "$pki/node-serving.crt" --tls-private-key-file "$pki/node-serving.key" \
    --client-ca-file "$pki/ca.crt" >>"$dir/logs/node.log" 2>&1 &
  echo $! >"$dir/node.pid"
  wait_for "node $NODE_NAME" 60 node_schedulable "$dir"
}

node_schedulable() { # dir: Ready and without the not-ready taint
  local dir=$1 body
  body=$(curl -sf --cacert "$dir/pki/ca.crt" --cert "$dir/pki/admin.crt" --key "$dir/pki/admin.key" \
    "$(cat "$dir/server")/api/v1/nodes/$NODE_NAME") || return 1
  python3 -c 'import json, sys
node = json.load(sys.stdin)
ready = any(c["type"] == "Ready" and c["status"] == "True" for c in node["status"].get("conditions", []))
taints = [t for t in node["spec"].get("taints", []) if t["key"].startswith("node.kubernetes.io/")]
sys.exit(0 if ready and not taints else 1)' <<<"$body"
}

stop() {
  local dir=$1 p pid
  for p in node kube-scheduler kube-controller-manager kube-apiserver etcd; do
    [ -f "$dir/$p.pid" ] || continue
    pid=$(cat "$dir/$p.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$dir/$p.pid"
  done
}

# kill DIR PROGRAM: kill -9 one program (the reliability tests crash kube-apiserver this way;
# start brings it back)
kill_one() {
  local dir=$1 program=$2 pid
  [ -f "$dir/$program.pid" ] || { echo "controlplane: no $program in $dir" >&2; return 1; }
  pid=$(cat "$dir/$program.pid")
  kill -9 "$pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
  rm -f "$dir/$program.pid"
}

case "${1:-}" in
  build) build ;;
  start) [ $# -eq 2 ] || usage; start "$2" ;;
  stop) [ $# -eq 2 ] || usage; stop "$2" ;;
  kill) [ $# -eq 3 ] || usage; kill_one "$2" "$3" ;;
  status) [ $# -eq 2 ] || usage; readyz "$2" >/dev/null ;;
  *) usage ;;
esac
