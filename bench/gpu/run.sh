#!/usr/bin/env bash
# The GPU check, for a machine with an NVIDIA GPU and PyTorch 2.x (with transformers and TRL)
# installed, and no internet. In under 10 minutes it
#   1. builds dpok against that PyTorch (the Debian -dev packages of scripts/setup.sh must be there);
#   2. runs the model, objective and trainer tests with the CUDA tests enabled: fp32 logits on CUDA
#      within 1e-4 of the CPU, bf16 within 2%, a short DPO run on CUDA following the CPU's loss
#      curve (tests/model/cuda_test.cpp, tests/train/trainer_cuda_test.cpp);
#   3. benchmarks the DPO step at the Llama-3.2-1B shape, 4 pairs × 1024 tokens, bf16 with fp32
#      master weights: dpok's step against TRL's DPOTrainer step in the same run, with MFU
#      (bench/bench_train.cpp).
# Everything it prints is also written under $OUT (default runs/gpu).
#   bench/gpu/run.sh                    DPOK_PYTHON=/path/to/python3 bench/gpu/run.sh
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT="${OUT:-runs/gpu}"
mkdir -p "$OUT"
PYTHON="${DPOK_PYTHON:-$(command -v python3)}"
BUILD=build-gpu
exec > >(tee "$OUT/run.log") 2>&1

stage() { echo; echo "=== $* ($(date +%T))"; }

stage "machine"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
"$PYTHON" -c "import torch, transformers, trl; print('torch', torch.__version__, 'cuda', torch.version.cuda, \
'transformers', transformers.__version__, 'trl', trl.__version__, 'gpu', torch.cuda.get_device_name(0))"

stage "build"
GENERATOR="Unix Makefiles"; command -v ninja > /dev/null && GENERATOR=Ninja
cmake -S . -B "$BUILD" -G "$GENERATOR" -DCMAKE_BUILD_TYPE=Release -DDPOK_PYTHON="$PYTHON" || exit 1
timeout 300 cmake --build "$BUILD" -j "$(nproc)" --target dpok_model_tests dpok_objective_tests \
  dpok_train_tests bench_train || exit 1

stage "tests (CUDA tests included)"
timeout 200 ctest --test-dir "$BUILD" -L 'model|objective|train' -j 8 --timeout 180 \
  --output-on-failure | tail -25
for tests in dpok_model_tests dpok_train_tests; do  # the CUDA tests by name, with their results
  timeout 120 "$BUILD/$tests" --gtest_filter='*Cuda*'
done

stage "DPO step, Llama-3.2-1B shape, 4 pairs x 1024 tokens, bf16 + fp32 master weights"
DPOK_BENCH_SHAPE=llama-3.2-1b DPOK_BENCH_DEVICE=cuda DPOK_BENCH_DTYPE=bf16 DPOK_BENCH_PAIRS=4 \
  DPOK_BENCH_TOKENS=1024 DPOK_BENCH_STEPS=5 timeout 240 "$BUILD/bench/bench_train" \
  --benchmark_filter='BM_(DpokStepOnline|DpokStepCachedRef|PythonStepOnline|PythonStepCachedRef)/' \
  --benchmark_counters_tabular=true --benchmark_out="$OUT/bench_train.json" --benchmark_out_format=json
stage "done"
