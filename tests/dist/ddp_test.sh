#!/usr/bin/env bash
# Multi-process data-parallel training end to end on loopback (run by CTest as dist.ddp):
#   tests/dist/ddp_test.sh path/to/dpok path/to/python3
# stories260K on 64 HH-RLHF pairs, one thread per process:
#   - 2 ranks x batch 4 (bare RANK/WORLD_SIZE/... variables) == 1 process x batch 8: parameters
#     within 1e-6 and losses within 1e-5 after 3 updates, and the same held-out metrics; the same
#     for `dpok sft` (through torchrun) and for DPO with an sft term, whose token means span ranks;
#   - zero_stage 1 through torchrun == plain data parallel (same tolerance);
#   - zero_stage 1 stopped after 2 updates and resumed to 4 == 4 updates in one go, bit for bit;
#   - the same checkpoint resumed by one process (another world size) regathers the shards;
#   - SIGKILL of rank 1 mid-run: rank 0 exits non-zero within ddp_timeout, naming rank 1, and the
#     last checkpoint written before it resumes;
#   - SIGTERM to one rank: all ranks checkpoint after the same update and exit 130;
#   - the reference caches built by 2 ranks are byte-identical to one process's;
#   - dpok eval through torchrun reports exactly what one process reports.
set -euo pipefail
DPOK="$(realpath "$1")"
PYTHON="$2"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
ASSETS="$ROOT/assets"
TORCHRUN="$(dirname "$PYTHON")/torchrun"
if [[ ! -d "$ASSETS/models/stories260k" || ! -x "$PYTHON" ]]; then
  if [[ "${CI:-}" == "true" ]]; then echo "missing assets or $PYTHON" >&2; exit 1; fi
  echo "SKIP: assets or the project environment not found"; exit 0
fi
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
export OMP_NUM_THREADS=1 DPOK_THREADS=1
passes=0 failures=0
check() {  # check NAME CONDITION-OUTPUT (empty = ok)
  if [[ -z "$2" ]]; then echo "ok   $1"; passes=$((passes + 1)); else echo "FAIL $1: $2"; failures=$((failures + 1)); fi
}

"$PYTHON" - "$ASSETS/hh-rlhf/helpful-online-test.jsonl.gz" "$WORK/pairs.jsonl" <<'EOF'
import gzip, sys
with gzip.open(sys.argv[1], "rt") as src, open(sys.argv[2], "w") as out:
    for i, line in enumerate(src):
        if i == 64: break
        out.write(line)
EOF
cat >"$WORK/base.yaml" <<EOF
model: $ASSETS/models/stories260k/hf
loss_type: sigmoid
beta: 0.1
max_length: 64
truncation_mode: keep_end
learning_rate: 0.0001
lr_scheduler_type: constant
max_grad_norm: 1.0
per_device_eval_batch_size: 4
logging_steps: 1
save_steps: 0
seed: 7
threads: 1
ddp_timeout: 20
data:
  train_files: [$WORK/pairs.jsonl]
  eval_fraction: 0.25
  cache: false
EOF

free_port() { "$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# run_ranks OUT_DIR ARGS...: two ranks through the bare environment variables; waits for both.
run_ranks() {
  local out="$1"; shift
  local port; port=$(free_port)
  local pids=()
  for rank in 0 1; do
    RANK=$rank LOCAL_RANK=$rank WORLD_SIZE=2 LOCAL_WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 \
      MASTER_PORT=$port "$DPOK" train --config "$WORK/base.yaml" output_dir="$out" "$@" \
      >"$out.rank$rank.log" 2>&1 &
    pids+=($!); PIDS+=($!)
  done
  local status=0
  for pid in "${pids[@]}"; do wait "$pid" || status=$?; done
  return $status
}

# compare A B TOLERANCE: max |a - b| over every tensor of the final checkpoints (0 = bit-exact),
# and of the per-update losses in metrics.jsonl.
compare() {
  "$PYTHON" - "$1" "$2" "$3" <<'EOF'
import json, pathlib, sys
from safetensors.numpy import load_file
a, b, tol = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), float(sys.argv[3])
def last(d): return max(d.glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[1]))
ta, tb = load_file(last(a) / "model.safetensors"), load_file(last(b) / "model.safetensors")
problems = []
if ta.keys() != tb.keys(): problems.append("tensor names differ")
worst = max(float(abs(ta[k].astype("float64") - tb[k]).max()) for k in ta)
if worst > tol: problems.append(f"parameters differ by {worst:.3g} > {tol}")
def losses(d):
    rows = [json.loads(l) for l in open(d / "metrics.jsonl")]
    train = [r for r in rows if "loss" in r]
    return [r["loss"] for r in train], [r["grad_norm"] for r in train], [r for r in rows if "eval_loss" in r]
(la, ga, ea), (lb, gb, eb) = losses(a), losses(b)
close = lambda xs, ys: len(xs) == len(ys) and all(
    abs(x - y) <= max(tol, 1e-5) * max(1, abs(x)) for x, y in zip(xs, ys))
if not close(la, lb):
    problems.append(f"losses differ: {la} vs {lb}")
if not close(ga, gb):
    problems.append(f"gradient norms differ: {ga} vs {gb}")
for x, y in zip(ea, eb):
    for k in ("eval_loss", "eval_rewards/accuracies", "eval_rewards/margins", "eval_num_pairs"):
        if abs(x[k] - y[k]) > max(tol, 1e-5) * max(1, abs(x[k])):
            problems.append(f"{k} differs: {x[k]} vs {y[k]}")
print("; ".join(problems))
EOF
}

# 1 process x batch 8 == 2 ranks x batch 4.
"$DPOK" train --config "$WORK/base.yaml" output_dir="$WORK/single" per_device_train_batch_size=8 \
  max_steps=3 >"$WORK/single.log" 2>&1 || { cat "$WORK/single.log"; exit 1; }
run_ranks "$WORK/ddp" per_device_train_batch_size=4 max_steps=3 ||
  { cat "$WORK/ddp.rank0.log" "$WORK/ddp.rank1.log"; exit 1; }
check "2 ranks x 4 == 1 process x 8" "$(compare "$WORK/single" "$WORK/ddp" 1e-6)"
check "only rank 0 writes metrics" "$([[ -s "$WORK/ddp/metrics.jsonl" ]] && grep -c . "$WORK/ddp/metrics.jsonl" | grep -qv '^0$' && echo || echo missing)"

# The sft loss is a token mean over the whole batch: with 2 ranks each divides by the global
# chosen-token count / 2, so `dpok sft` and an sft term next to DPO's (RPO) match one process too.
run_sft() {  # run_sft OUT_DIR RANKS ARGS...: dpok sft, one process or two through torchrun
  local out="$1" ranks="$2"; shift 2
  if [[ $ranks -eq 1 ]]; then
    "$DPOK" sft --config "$WORK/base.yaml" output_dir="$out" "$@" >"$out.log" 2>&1
  else
    "$TORCHRUN" --nproc-per-node 2 --master-addr 127.0.0.1 --master-port "$(free_port)" --no-python \
      "$DPOK" sft --config "$WORK/base.yaml" output_dir="$out" "$@" >"$out.log" 2>&1
  fi
}
run_sft "$WORK/sft-1" 1 per_device_train_batch_size=8 max_steps=3 data.eval_fraction=0 ||
  { cat "$WORK/sft-1.log"; exit 1; }
run_sft "$WORK/sft-2" 2 per_device_train_batch_size=4 max_steps=3 data.eval_fraction=0 ||
  { cat "$WORK/sft-2.log"; exit 1; }
# Parameters within 1e-5 here: AdamW's first updates, lr·g/(|g| + ε), turn fp32 reduction-order
# noise in near-zero gradient elements into differences of up to a few 1e-6 after 3 updates; the
# gradient norms agree to 1e-7 (a per-rank token mean was 3e-4 off).
check "dpok sft: 2 ranks x 4 == 1 process x 8" "$(compare "$WORK/sft-1" "$WORK/sft-2" 1e-5)"
rpo=(loss_type=[sigmoid,sft] loss_weights=[1.0,0.5] max_steps=3 data.eval_fraction=0)
"$DPOK" train --config "$WORK/base.yaml" output_dir="$WORK/rpo-1" per_device_train_batch_size=8 \
  "${rpo[@]}" >"$WORK/rpo-1.log" 2>&1 || { cat "$WORK/rpo-1.log"; exit 1; }
run_ranks "$WORK/rpo-2" per_device_train_batch_size=4 "${rpo[@]}" ||
  { cat "$WORK/rpo-2.rank0.log"; exit 1; }
check "sigmoid + sft: 2 ranks x 4 == 1 process x 8" "$(compare "$WORK/rpo-1" "$WORK/rpo-2" 1e-5)"

# ZeRO-1 through torchrun == plain data parallel.
"$TORCHRUN" --nproc-per-node 2 --master-addr 127.0.0.1 --master-port "$(free_port)" --no-python \
  "$DPOK" train --config "$WORK/base.yaml" output_dir="$WORK/zero" per_device_train_batch_size=4 \
  max_steps=3 zero_stage=1 >"$WORK/zero.log" 2>&1 || { cat "$WORK/zero.log"; exit 1; }
check "torchrun zero_stage 1 == plain data parallel" "$(compare "$WORK/ddp" "$WORK/zero" 1e-6)"
check "zero_stage 1 writes a shard per rank" "$(ls "$WORK"/zero/checkpoint-3/optimizer-rank-{0,1}.pt "$WORK/zero/checkpoint-3/optimizer_shards.json" >/dev/null 2>&1 || echo missing)"

# Resume at the same world size is bit-exact (a constant learning rate: max_steps may change).
run_ranks "$WORK/straight" per_device_train_batch_size=4 max_steps=4 zero_stage=1 data.eval_fraction=0 ||
  { cat "$WORK/straight.rank0.log"; exit 1; }
run_ranks "$WORK/resumed" per_device_train_batch_size=4 max_steps=2 zero_stage=1 data.eval_fraction=0 ||
  { cat "$WORK/resumed.rank0.log"; exit 1; }
run_ranks "$WORK/resumed" per_device_train_batch_size=4 max_steps=4 zero_stage=1 data.eval_fraction=0 --resume ||
  { cat "$WORK/resumed.rank0.log" "$WORK/resumed.rank1.log"; exit 1; }
check "zero_stage 1 resume is bit-exact" "$(compare "$WORK/straight" "$WORK/resumed" 0)"

# Resume at another world size: a zero_stage 1 checkpoint of 2 ranks continued by one process with
# the same global batch regathers the moments (a console note) and matches 2 ranks throughout.
run_ranks "$WORK/regather" per_device_train_batch_size=4 max_steps=2 zero_stage=1 data.eval_fraction=0 ||
  { cat "$WORK/regather.rank0.log"; exit 1; }
"$DPOK" train --config "$WORK/base.yaml" output_dir="$WORK/regather" per_device_train_batch_size=8 \
  max_steps=4 data.eval_fraction=0 --resume >"$WORK/regather.log" 2>&1 ||
  { cat "$WORK/regather.log"; exit 1; }
check "resume on 1 process regathers 2 ranks' shards" "$(compare "$WORK/straight" "$WORK/regather" 1e-6)"
check "the regathering is reported" "$(grep -q 'sharded over 2 ranks was regathered' "$WORK/regather.log" || tail -n 3 "$WORK/regather.log")"

# Fault injection: rank 1 is killed mid-run; rank 0 must stop within ddp_timeout naming it.
port=$(free_port)
for rank in 0 1; do
  RANK=$rank LOCAL_RANK=$rank WORLD_SIZE=2 LOCAL_WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 \
    MASTER_PORT=$port "$DPOK" train --config "$WORK/base.yaml" output_dir="$WORK/fault" \
    per_device_train_batch_size=4 max_steps=100000 save_steps=1 >"$WORK/fault.rank$rank.log" 2>&1 &
  PIDS+=($!)
done
rank0=${PIDS[-2]} rank1=${PIDS[-1]}
for _ in $(seq 600); do
  [[ -s "$WORK/fault/metrics.jsonl" ]] && [[ $(grep -c '"loss"' "$WORK/fault/metrics.jsonl") -ge 2 ]] && break
  sleep 0.1
done
kill -9 "$rank1" 2>/dev/null
start=$SECONDS
status=0
wait "$rank0" || status=$?
elapsed=$((SECONDS - start))
check "rank 0 exits non-zero after rank 1 died" "$([[ $status -ne 0 ]] || echo "exit status 0")"
check "rank 0 stops within ddp_timeout" "$([[ $elapsed -le 40 ]] || echo "took ${elapsed}s")"
check "rank 0 names rank 1" "$(grep -q 'rank 1 did not answer' "$WORK/fault.rank0.log" || tail -n 3 "$WORK/fault.rank0.log")"
grep -m1 'dpok: error' "$WORK/fault.rank0.log" || true
# The last checkpoint written before the failure is intact: one process resumes from it.
last=$(ls -d "$WORK"/fault/checkpoint-* 2>/dev/null | sed 's/.*checkpoint-//' | sort -n | tail -n 1)
status=0
"$DPOK" train --config "$WORK/base.yaml" output_dir="$WORK/fault" per_device_train_batch_size=8 \
  max_steps=$((${last:-0} + 1)) --resume >"$WORK/fault-resume.log" 2>&1 || status=$?
check "the last checkpoint before the failure resumes" "$([[ -n "$last" && $status -eq 0 ]] || { echo "checkpoint '${last}', exit $status"; tail -n 3 "$WORK/fault-resume.log"; })"

# SIGTERM to one rank (torchrun sends it to all, not necessarily between the same updates): every
# rank stops after the same update, one checkpoint is written, both exit as interrupted (130).
port=$(free_port)
for rank in 0 1; do
  RANK=$rank LOCAL_RANK=$rank WORLD_SIZE=2 LOCAL_WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 \
    MASTER_PORT=$port "$DPOK" train --config "$WORK/base.yaml" output_dir="$WORK/term" \
    per_device_train_batch_size=4 max_steps=100000 >"$WORK/term.rank$rank.log" 2>&1 &
  PIDS+=($!)
done
rank0=${PIDS[-2]} rank1=${PIDS[-1]}
for _ in $(seq 600); do
  [[ -s "$WORK/term/metrics.jsonl" ]] && [[ $(grep -c '"loss"' "$WORK/term/metrics.jsonl") -ge 2 ]] && break
  sleep 0.1
done
kill -TERM "$rank1"
status0=0 status1=0
wait "$rank0" || status0=$?
wait "$rank1" || status1=$?
check "SIGTERM stops every rank with a checkpoint" "$([[ $status0 -eq 130 && $status1 -eq 130 ]] && ls -d "$WORK"/term/checkpoint-* >/dev/null 2>&1 || echo "exit $status0/$status1")"

# The reference's caches (precompute_ref_log_probs, precompute_ref_topk) computed by 2 ranks, each
# on every other batch: the same bytes as one process's, and no part file left behind.
cache_args=(max_steps=1 precompute_ref_log_probs=true precompute_ref_topk=true penalty_alpha=0.05
  penalty_divergence=kl)
"$DPOK" train --config "$WORK/base.yaml" output_dir="$WORK/cache-single" "${cache_args[@]}" \
  ref_cache_dir="$WORK/cache-1" >"$WORK/cache-single.log" 2>&1 ||
  { cat "$WORK/cache-single.log"; exit 1; }
run_ranks "$WORK/cache-ddp" per_device_train_batch_size=4 "${cache_args[@]}" \
  ref_cache_dir="$WORK/cache-2" ||
  { cat "$WORK/cache-ddp.rank0.log" "$WORK/cache-ddp.rank1.log"; exit 1; }
check "2 ranks build the reference caches of one process" "$(
  cd "$WORK/cache-1" && for f in *; do cmp -s "$f" "$WORK/cache-2/$f" || echo "$f differs"; done
  [[ $(ls "$WORK/cache-1" | wc -l) -ge 3 && $(ls "$WORK/cache-1") == $(ls "$WORK/cache-2") ]] ||
    echo "files: $(ls "$WORK/cache-1") vs $(ls "$WORK/cache-2")")"

# dpok eval through torchrun: each rank scores every other batch; rank 0 reports all of them,
# identical to one process's report.
eval_args=(eval --model "$ASSETS/models/stories260k/hf" --model "$WORK/ddp/checkpoint-3"
  --reference "$ASSETS/models/stories260k/hf" --data "$WORK/pairs.jsonl" --max-length 64
  --truncation-mode keep_end --batch-size 4 --bootstrap 200)
"$DPOK" "${eval_args[@]}" --out "$WORK/eval-1.json" >"$WORK/eval-1.log" 2>&1 ||
  { cat "$WORK/eval-1.log"; exit 1; }
"$TORCHRUN" --nproc-per-node 2 --master-addr 127.0.0.1 --master-port "$(free_port)" --no-python \
  "$DPOK" "${eval_args[@]}" --out "$WORK/eval-2.json" >"$WORK/eval-2.log" 2>&1 ||
  { cat "$WORK/eval-2.log"; exit 1; }
check "torchrun dpok eval == one process" "$("$PYTHON" - "$WORK/eval-1.json" "$WORK/eval-2.json" <<'EOF'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
print("" if a == b else f"reports differ:\n{json.dumps(a)[:600]}\n{json.dumps(b)[:600]}")
EOF
)"
check "torchrun dpok eval reports once" "$([[ $(grep -c '^wrote ' "$WORK/eval-2.log") -eq 1 ]] || echo "$(grep -c '^wrote ' "$WORK/eval-2.log") reports")"

echo "$passes passed, $failures failed"
[[ $failures -eq 0 ]]
