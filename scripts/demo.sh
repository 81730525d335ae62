#!/usr/bin/env bash
# Sets up (if needed), starts `kontinue dev` with the examples' worker, runs the deployment
# pipeline (children per stage, a durable sleep, an approval given from the CLI) and shows its
# tree, then walks through a kubectl session against the embedded API server.
# The server keeps running afterwards for you to explore; Ctrl-C stops it.
# DEMO_NONINTERACTIVE=1 stops the server at the end instead (used by the tests).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/setup.sh
data_dir=${KONTINUE_DEMO_DIR:-$(mktemp -d -t kontinue-demo-XXXX)}
port=${KONTINUE_DEMO_PORT:-0}
.venv/bin/kontinue dev --data-dir "$data_dir" --port "$port" --worker examples.workers:worker \
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
# The newest kubectl of the machine image (kubectl.1.NN), else the project's kubectl 1.20.
kubectl_bin=$(ls /usr/lib/google-cloud-sdk/bin/kubectl.1.* 2>/dev/null | sort -V | tail -1 || true)
[ -x "${kubectl_bin:-}" ] || kubectl_bin="$root/.tools/bin/kubectl"
kubectl() { "$kubectl_bin" "$@"; }
step() { printf '\n$ kubectl %s\n' "$*"; kubectl "$@"; }
step version
kontinue() { "$root/.venv/bin/kontinue" "$@"; }
run() { printf '\n$ kontinue %s\n' "$*"; kontinue "$@"; }
phase() { kontinue get "$1" -o json | "$root/.venv/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["status"].get("phase", "Pending"))'; }
waiting() { kontinue suspensions "$1" -o name; }
wait_suspension() { for _ in $(seq 600); do waiting "$1" | grep -qx "$2" && return 0; sleep 0.1; done; echo "timed out waiting for suspension $2"; return 1; }
wait_phase() { for _ in $(seq 300); do [ "$(phase "$1")" = "$2" ] && return 0; sleep 0.1; done; echo "timed out waiting for $1 to be $2"; return 1; }
printf '\n# Durable workflows (examples/), run by the worker inside kontinue dev:\n'
run functions
run execute hello --arg name=kontinue --wait
printf '\n$ kontinue execute deploy-pipeline --arg service=checkout --arg soak_seconds=3 -o name\n'
pipeline=$(kontinue execute deploy-pipeline --arg service=checkout --arg soak_seconds=3 -o name)
echo "$pipeline"
# The pipeline is Suspended twice: in its soak (a durable sleep) and then for the approval. Wait
# for the approval Suspension itself, so the demo never resumes the soak by mistake.
approval="$pipeline-approval"
wait_suspension "$pipeline" "$approval"
run tree "$pipeline"
run suspensions
printf '\n# Approve the production deploy from the CLI:\n'
run resume "$approval" --data '{"approved": true, "approver": "you", "comment": "ship it"}' --by you
wait_phase "$pipeline" Completed
run tree "$pipeline"
run get "$pipeline"
printf '\n# kubectl sees the same resources:\n'
step get executions
step wait --for=condition=Ready "execution/$pipeline" --timeout=60s
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
step explain widget.spec
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
