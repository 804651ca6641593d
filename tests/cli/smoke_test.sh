#!/usr/bin/env bash
# End-to-end checks of the `dpok` command line on the bundled assets (run by CTest as cli.smoke).
#   tests/cli/smoke_test.sh path/to/dpok
# Each check runs a real subcommand and compares its output with an oracle from the assets.
set -euo pipefail
DPOK="$1"
ASSETS="$(cd "$(dirname "$0")/../../assets" && pwd)"
STORIES="$ASSETS/models/stories260k"
if [[ ! -d "$STORIES" ]]; then
  if [[ "${CI:-}" == "true" ]]; then echo "missing assets under $ASSETS" >&2; exit 1; fi
  echo "SKIP: assets not found under $ASSETS"; exit 0
fi
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
failures=0
check() {  # check NAME EXPECTED ACTUAL
  if [[ "$2" == "$3" ]]; then echo "ok   $1"; else
    echo "FAIL $1"; echo "  expected: ${2:0:300}"; echo "  actual:   ${3:0:300}"; failures=$((failures + 1)); fi
}

# info: architecture and parameter count of stories260K.
info=$("$DPOK" info "$STORIES/hf")
check "info architecture" "1" "$(grep -c 'LlamaForCausalLM' <<<"$info")"
check "info parameters" "1" "$(grep -c '^parameters *260032' <<<"$info")"
check "info tensors" "1" "$(grep -c '^tensors *47 (47 F32' <<<"$info")"
gguf_info=$("$DPOK" info "$STORIES/stories260k-f32.gguf")
check "info gguf tensors" "1" "$(grep -c '^tensors *48 (48 F32' <<<"$gguf_info")"

# generate: 200 greedy tokens from BOS equal the llama2.c oracle ids, from both formats.
expected_ids=$(/usr/bin/env python3 -c "import json,sys; print(' '.join(map(str, json.load(open(sys.argv[1]))['greedy_ids'])))" "$STORIES/hf/greedy.json" 2>/dev/null || true)
if [[ -n "$expected_ids" ]]; then
  for model in "$STORIES/hf" "$STORIES/stories260k-f32.gguf"; do
    ids=$("$DPOK" generate "$model" --prompt-ids 1 --max-new-tokens 200 --print-ids | tail -n 1)
    check "generate greedy-200 $(basename "$model")" "$expected_ids" "$ids"
  done
fi

# generate with a text prompt decodes to the oracle text's continuation.
text=$("$DPOK" generate "$STORIES/hf" --prompt "Once upon a time" --max-new-tokens 20 | head -n 1)
check "generate text prompt" "Once upon a time, there was a little girl" "${text:0:41}"

# A real instruction-tuned model from one GGUF file (weights, tokenizer, chat template), when
# scripts/fetch_models.sh has fetched it (setup does; CI requires it).
SMOLLM2="${DPOK_MODELS:-$(dirname "$0")/../../models}/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf"
if [[ -f "$SMOLLM2" ]]; then
  reply=$("$DPOK" generate "$SMOLLM2" --chat --prompt "What is the capital of France?" --max-new-tokens 40)
  check "generate chat smollm2" "1" "$(grep -c "Paris" <<<"$reply")"
elif [[ "${CI:-}" == "true" ]]; then
  echo "FAIL missing $SMOLLM2 (scripts/fetch_models.sh)"; failures=$((failures + 1))
fi

# tokenize / detokenize round trip with the llama3 tokenizer.
ids=$("$DPOK" tokenize "$ASSETS/tokenizers/llama3" --text "Hello world")
check "tokenize llama3" "9906 1917" "$ids"
check "detokenize llama3" "Hello world" "$("$DPOK" detokenize "$ASSETS/tokenizers/llama3" --ids "$ids")"

# data stats: exact record counts on one HH-RLHF split.
stats=$("$DPOK" data stats --data "$ASSETS/hh-rlhf/helpful-online-test.jsonl.gz" \
  --tokenizer "$STORIES/tok512.model" --no-cache --json)
check "data stats records_read" "1137" "$(python3 -c "import json,sys; print(json.loads(sys.stdin.read())['records_read'])" <<<"$stats")"

# Errors (README "Exit status"): 1 and "dpok: error:" naming the input for a problem in a file,
# configuration or value; 2 for a command line that does not parse.
run() { set +e; out=$("$@" 2>&1); rc=$?; set -e; }
run "$DPOK" info "$WORK/no-such-model"
check "missing model exit code" "1" "$rc"
check "missing model message" "1" "$(grep -c "^dpok: error: .*no-such-model" <<<"$out")"
printf 'betaa: 0.1\n' >"$WORK/typo.yaml"
run "$DPOK" train --config "$WORK/typo.yaml"
check "config typo exit code" "1" "$rc"
check "config typo message" "1" "$(grep -c "^dpok: error: .*'betaa'" <<<"$out")"
printf 'beta: [0.1\n' >"$WORK/broken.yaml"
run "$DPOK" train --config "$WORK/broken.yaml"
check "broken YAML exit code" "1" "$rc"
check "broken YAML message" "1" "$(grep -c "^dpok: error: .*broken.yaml" <<<"$out")"
# A checkpoint whose weights are empty or cut short is not described as healthy.
for damage in empty truncated; do
  mkdir -p "$WORK/$damage"
  cp "$STORIES/hf/config.json" "$WORK/$damage/"
  if [[ $damage == empty ]]; then : >"$WORK/$damage/model.safetensors"; else
    head -c 500000 "$STORIES/hf/model.safetensors" >"$WORK/$damage/model.safetensors"; fi
  run "$DPOK" info "$WORK/$damage"
  check "info $damage weights exit code" "1" "$rc"
  check "info $damage weights message" "1" "$(grep -c "^dpok: error: .*$damage/model.safetensors" <<<"$out")"
done
# A training configuration whose model does not exist says so (not "set 'tokenizer'").
printf 'model: %s\ndata:\n  train_files: [x.jsonl]\n' "$WORK/no-such-model" >"$WORK/missing.yaml"
run "$DPOK" train --config "$WORK/missing.yaml"
check "train missing model message" "1" "$(grep -c "^dpok: error: .*no-such-model' does not exist" <<<"$out")"
run "$DPOK" info --no-such-flag
check "unknown flag exit code" "2" "$rc"

# --resume from a checkpoint whose trainer_state.json was cut short: exit 1 naming the file.
ckpt="$WORK/run/checkpoint-1"
mkdir -p "$ckpt"
cp -r "$STORIES/hf/." "$ckpt/"
printf '{"global_step": 1, "num_tok' >"$ckpt/trainer_state.json"
for _ in 1 2 3 4; do
  echo '{"prompt": "Once upon a time", "chosen": " there was a cat.", "rejected": " cat a was."}'
done >"$WORK/pairs.jsonl"
printf 'model: %s\noutput_dir: %s\nmax_steps: 2\ndata:\n  train_files: [%s]\n' \
  "$STORIES/hf" "$WORK/run" "$WORK/pairs.jsonl" >"$WORK/resume.yaml"
run "$DPOK" train --config "$WORK/resume.yaml" --resume
check "corrupt trainer state exit code" "1" "$rc"
check "corrupt trainer state message" "1" \
  "$(grep -c "^dpok: error: .*$ckpt/trainer_state.json: not valid JSON" <<<"$out")"

# A LoRA checkpoint trained on a 4-bit base: train says what it quantized; dpok info describes
# the adapter, then its base.
printf 'model: %s\noutput_dir: %s\nmax_steps: 1\nuse_peft: true\nload_in_4bit: true\nlora_target_modules: all-linear\ndata:\n  train_files: [%s]\n  eval_fraction: 0\n' \
  "$STORIES/hf" "$WORK/qlora" "$WORK/pairs.jsonl" >"$WORK/qlora.yaml"
run "$DPOK" train --config "$WORK/qlora.yaml"
check "qlora train exit code" "0" "$rc"
check "qlora quantized base" "1" "$(grep -c '^base: 35 projections kept quantized (Q4_0 ×35)' <<<"$out")"
run "$DPOK" info "$WORK/qlora/checkpoint-1"
check "info adapter" "1" "$(grep -c '^adapter  *LoRA r 16, alpha 32 (scaling 2)' <<<"$out")"
check "info adapter weights" "1" "$(grep -c 'adapter_model.safetensors: 70 tensors' <<<"$out")"
check "info adapter base" "1" "$(grep -c '^parameters *260032' <<<"$out")"

echo "smoke: $failures check(s) failed"
exit $((failures > 0))
