#!/usr/bin/env bash
# Sets up (if needed), starts `kontinue dev` with the example worker, runs a durable workflow,
# and walks through a kubectl session against the embedded API server.
# The server keeps running afterwards for you to explore; Ctrl-C stops it.
# DEMO_NONINTERACTIVE=1 stops the server at the end instead (used by the tests).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/setup.sh
data_dir=${KONTINUE_DEMO_DIR:-$(mktemp -d -t kontinue-demo-XXXX)}
port=${KONTINUE_DEMO_PORT:-0}
.venv/bin/kontinue dev --data-dir "$data_dir" --port "$port" --worker examples.hello:worker \
  >"$data_dir/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  grep -q '^kubeconfig:' "$data_dir/server.log" 2>/dev/null && break
  kill -0 $server 2>/dev/null || { cat "$data_dir/server.log"; exit 1; }
  sleep 0.1
done
head -2 "$data_dir/server.log"
export KUBECONFIG="$data_dir/kubeconfig"
kubectl() { "$root/.tools/bin/kubectl" "$@"; }
step() { printf '\n$ kubectl %s\n' "$*"; kubectl "$@"; }
step version --short
printf '\n# A durable workflow (examples/hello.py), run by the worker inside kontinue dev:\n'
step get functions
printf '\n$ kubectl create -f examples/hello-execution.yaml\n'
execution=$(kubectl create -f examples/hello-execution.yaml -o name)
echo "$execution created"
step wait --for=condition=Ready "$execution" --timeout=60s
step get executions
printf '\n$ kubectl get %s -o jsonpath={.status.result}\n' "$execution"
kubectl get "$execution" -o 'jsonpath={.status.result}'; echo
printf '\n# The rest is the plain Kubernetes API of the dev server:\n'
step get namespaces
step apply -f examples/devserver/widgets-crd.yaml
step apply -f examples/devserver/widgets.yaml
step get widgets
step label widget small tier=gold
step get widgets -l tier=gold
printf '\n$ kubectl apply (a widget that violates the schema: rejected by the server)\n'
kubectl apply -f - <<'YAML' || true
apiVersion: demo.kontinue.cloud/v1
kind: Widget
metadata: {name: broken}
spec: {size: 99, color: purple}
YAML
step delete widget large
step get widgets -o wide
printf '\n# Pods run as host processes on this machine (the image is not pulled):\n'
step create job hello --image=busybox -- /bin/sh -c 'echo "hello from a Job"; date'
step wait --for=condition=complete job/hello --timeout=30s
step get jobs,pods
step logs job/hello
if [ -n "${DEMO_NONINTERACTIVE:-}" ] || [ ! -t 0 ]; then
  echo; echo "demo finished"
  exit 0
fi
printf '\nThe dev server is still running. In another terminal:\n  export KUBECONFIG=%s\n' "$KUBECONFIG"
echo "Ctrl-C stops it."
wait $server
