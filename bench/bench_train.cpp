// A full DPO step, by default on a ~110M-parameter Llama shape (vocab 32000, hidden 768, 12 layers,
// 12 heads, SwiGLU 2048, tied embeddings), 2 pairs × 256 tokens, 2 threads: dpok's step (chunked
// log-probs from hidden states, objective, backward, clip, AdamW) with an online reference, with
// cached reference log-probs, with the HMK semantic term, and with the token penalty (peak memory);
// and in the same run the real TRL DPOTrainer step on transformers' LlamaForCausalLM with SDPA
// (bench/python/trl_dpo_step.py, run by the project environment's Python, DPOK_PYTHON); LoRA
// (r 16, alpha 32, no dropout, every projection; the reference is the base with the adapters off)
// in dpok, on a Q4_0 base in dpok (QLoRA-style), and through TRL + peft; then the cached/online
// and HMK/online ratios again from steps taken in turns (BM_DpokPairedRatios).
//
//   build/bench/bench_train
// Environment: DPOK_BENCH_STEPS timed steps per variant (default 3); DPOK_BENCH_SHAPE 110m |
// llama-3.2-1b | small (a quick smoke run); DPOK_BENCH_PAIRS (2), DPOK_BENCH_TOKENS (256);
// DPOK_BENCH_DEVICE cpu | cuda; DPOK_BENCH_DTYPE fp32 | bf16 (bf16 compute, fp32 master weights,
// as `dtype: bf16` trains). On CUDA each step also reports its model FLOPs utilisation (MFU).
//
// Results and the command are recorded in docs/benchmarks.md, section "train".
#include <ATen/cuda/CUDAContext.h>
#include <benchmark/benchmark.h>
#include <torch/cuda.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "bench_util.h"
#include "dpok/core/torch/runtime.h"
#include "dpok/io/gguf_quants.h"
#include "dpok/model/causal_lm.h"
#include "dpok/model/lora.h"
#include "dpok/model/quantized_base.h"
#include "dpok/model/scoring.h"
#include "dpok/objective/objective.h"
#include "dpok/objective/semantic.h"
#include "dpok/train/metrics_log.h"
#include "dpok/train/mixed_precision.h"
#include "dpok/train/optim.h"

namespace {

using namespace dpok;

std::string env_or(const char* name, const std::string& fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : fallback;
}

// What runs, from the environment (the defaults are docs/benchmarks.md's CPU figures).
struct Setup {
  std::string shape = env_or("DPOK_BENCH_SHAPE", "110m");
  int64_t pairs = std::atoll(env_or("DPOK_BENCH_PAIRS", "2").c_str());
  int64_t tokens = std::atoll(env_or("DPOK_BENCH_TOKENS", "256").c_str());
  c10::Device device = parse_device(env_or("DPOK_BENCH_DEVICE", "cpu"));
  c10::ScalarType dtype = parse_dtype(env_or("DPOK_BENCH_DTYPE", "fp32"));
  int threads = 2;
  bool mixed() const { return dtype != c10::kFloat; }
};

const Setup& setup() {
  static const Setup s;
  return s;
}

// Timed steps per variant (after one warmup step): DPOK_BENCH_STEPS, default 3.
int64_t timed_steps() {
  const char* env = std::getenv("DPOK_BENCH_STEPS");
  return env != nullptr ? std::max<int64_t>(1, std::atoll(env)) : 3;
}

model::ModelConfig llama_config() {
  struct Shape {
    int64_t vocab, hidden, intermediate, layers, heads, kv_heads;
  };
  const auto& name = setup().shape;
  const Shape shape = name == "small"          ? Shape{512, 64, 128, 2, 4, 4}
                      : name == "llama-3.2-1b" ? Shape{128256, 2048, 8192, 16, 32, 8}
                      : name == "110m"         ? Shape{32000, 768, 2048, 12, 12, 12}
                                       : throw std::invalid_argument("DPOK_BENCH_SHAPE " + name);
  model::ModelConfig c;
  c.architecture = "LlamaForCausalLM";
  c.model_type = "llama";
  c.vocab_size = shape.vocab;
  c.hidden_size = shape.hidden;
  c.intermediate_size = shape.intermediate;
  c.num_hidden_layers = shape.layers;
  c.num_attention_heads = shape.heads;
  c.num_key_value_heads = shape.kv_heads;
  c.head_dim = c.hidden_size / c.num_attention_heads;
  c.max_position_embeddings = std::max<int64_t>(2048, setup().tokens);
  c.rms_norm_eps = 1e-5;
  c.tie_word_embeddings = true;
  return c;
}

// Model FLOPs of one step (PaLM's accounting: 2 FLOPs per weight per token in the matrix products,
// attention scores and values over the whole sequence; the backward costs twice the forward): the
// policy's forward and backward and, with an online reference, its forward. Embedding lookups and
// norms are left out.
double model_flops_per_step(const model::ModelConfig& c, int64_t pairs, int64_t tokens,
                            bool online_reference) {
  const double h = static_cast<double>(c.hidden_size), kv = c.num_key_value_heads * c.head_dim;
  const double per_layer = h * h * 2 + h * kv * 2 + 3 * h * c.intermediate_size;
  const double weights = c.num_hidden_layers * per_layer + h * c.vocab_size;
  const double forward_per_token = 2 * weights + 4.0 * c.num_hidden_layers * tokens * h;
  return (online_reference ? 4 : 3) * forward_per_token * 2.0 * pairs * tokens;
}

// Dense bf16 peak of the GPU, from its name; 0 when not known (no MFU then).
double bf16_peak_flops(c10::Device device) {
  if (!device.is_cuda()) return 0;
  const std::string name =
      at::cuda::getDeviceProperties(device.index() < 0 ? 0 : device.index())->name;
  if (name.find("H100") != std::string::npos || name.find("H200") != std::string::npos)
    return 989e12;
  if (name.find("A100") != std::string::npos) return 312e12;
  return 0;
}

// Full fine-tune, or LoRA adapters on a float or a Q4_0 base (the trainer's use_peft and
// load_in_4bit).
enum class Adapters { kNone, kLora, kQLora };

struct Step {
  // `policy` holds the fp32 master weights; `compute` runs forward and backward: the policy itself,
  // or its bf16 copy under mixed precision (train/mixed_precision.h), as the trainer does.
  model::CausalLM policy{nullptr}, compute{nullptr}, reference{nullptr};
  objective::Objective objective{nullptr};
  std::unique_ptr<train::Optimizer> optimizer;
  torch::Tensor ids, mask, completion, prompt;
  torch::Tensor cached_chosen, cached_rejected;
  torch::Tensor ref_hidden;
  bool full_logits = false;

  // A cached-reference step keeps no reference model, as the trainer does. `penalty`: the §6
  // token penalty (KL, chosen completions, α = 0.1) against the online reference, from hidden
  // states, or with `full_logits` as the trainer computed it before (the memory baseline).
  // With adapters (fp32 only) the online reference is the policy with its adapters off.
  Step(bool hmk, bool cached, bool penalty = false, bool full_logits_baseline = false,
       Adapters adapters = Adapters::kNone)
      : full_logits(full_logits_baseline) {
    torch::manual_seed(0);
    const auto config = llama_config();
    const auto& run = setup();
    const auto options = torch::TensorOptions().device(run.device);
    policy = model::CausalLM(config, options);
    compute = run.mixed() ? model::CausalLM(config, options.dtype(run.dtype)) : policy;
    if (run.mixed()) train::copy_master_to_compute(policy->parameters(), compute->parameters());
    if (adapters != Adapters::kNone) {
      if (adapters == Adapters::kQLora) {
        const model::ProjectionQuantizer quantizer(*policy, io::kQ4_0);
        for (auto& item : policy->named_parameters()) {
          if (quantizer.target(item.key()) != nullptr) {
            quantizer.quantize_loaded(item.key(), item.value());
          }
        }
      }
      model::LoraSettings lora;
      lora.dropout = 0.0;
      lora.target_modules = model::resolve_target_modules({"all-linear"}, "lora_target_modules");
      model::apply_lora(policy, lora);
      cached = true;  // no reference copy: run() switches the adapters off instead
    }
    if (!cached) {
      reference = model::CausalLM(config, options.dtype(run.dtype));
      torch::NoGradGuard no_grad;
      auto src = policy->parameters();
      auto dst = reference->parameters();
      for (size_t i = 0; i < src.size(); ++i) dst[i].copy_(src[i]).requires_grad_(false);
    }
    objective::ObjectiveConfig oc;
    if (penalty) oc.penalty_alpha = 0.1;
    if (hmk) {
      oc.gamma = 0.1;
      oc.kernel = objective::KernelType::kHmk;
      oc.kernel_options.learn = true;
    }
    objective = objective::Objective(oc, config.hidden_size);
    objective->to(run.device);
    std::vector<std::pair<std::string, torch::Tensor>> named;
    for (const auto& p : policy->named_parameters()) named.emplace_back(p.key(), p.value());
    optimizer = std::make_unique<train::Optimizer>(named, objective->kernel_parameters(),
                                                   train::AdamWSettings{1e-6});
    const int64_t rows = 2 * run.pairs, t = run.tokens;
    ids = torch::randint(0, config.vocab_size, {rows, t}, options.dtype(torch::kLong));
    mask = torch::ones({rows, t}, options.dtype(torch::kLong));
    completion = torch::zeros({rows, t}, options.dtype(torch::kBool));
    completion.narrow(1, t / 2, t / 2).fill_(true);
    prompt = completion.logical_not();
    cached_chosen = torch::zeros({run.pairs}, options);
    cached_rejected = torch::zeros({run.pairs}, options);
  }

  // The trainer's order: gradients are released before the forward, not after it.
  void run(bool cached) {
    optimizer->zero_grad();
    auto pol = model::score_sequences(compute, ids, mask, completion, 0);
    objective::PairInputs in;
    in.policy_chosen_logps = pol.logps.narrow(0, 0, setup().pairs);
    in.policy_rejected_logps = pol.logps.narrow(0, setup().pairs, setup().pairs);
    if (cached) {
      in.ref_chosen_logps = cached_chosen;
      in.ref_rejected_logps = cached_rejected;
    } else if (compute->has_adapters()) {
      torch::NoGradGuard no_grad;
      const model::AdaptersDisabled base_only(*compute);
      auto ref = model::score_sequences(compute, ids, mask, completion, 0);
      in.ref_chosen_logps = ref.logps.narrow(0, 0, setup().pairs);
      in.ref_rejected_logps = ref.logps.narrow(0, setup().pairs, setup().pairs);
    } else {
      torch::NoGradGuard no_grad;
      auto ref = model::score_sequences(reference, ids, mask, completion, 0);
      in.ref_chosen_logps = ref.logps.narrow(0, 0, setup().pairs);
      in.ref_rejected_logps = ref.logps.narrow(0, setup().pairs, setup().pairs);
      ref_hidden = ref.hidden;
    }
    if (objective->needs_token_penalty()) {
      in.token_penalty = full_logits
                             ? full_logits_penalty(pol)
                             : objective->penalty({pol.hidden, compute->lm_head_weight()},
                                                  {ref_hidden, reference->lm_head_weight()},
                                                  pol.targets >= 0, compute->model->embed_tokens);
    }
    if (objective->needs_embeddings()) {
      auto e = objective::pool_pair_embeddings(pol.hidden, prompt, completion);
      in.prompt_embedding = e.prompt;
      in.chosen_embedding = e.chosen;
      in.rejected_embedding = e.rejected;
    }
    objective->forward(in).loss.backward();
    if (setup().mixed()) train::move_grads_to_master(compute->parameters(), policy->parameters());
    train::clip_grad_norm(optimizer->parameters(), 1.0);
    optimizer->step();
    if (setup().mixed()) train::copy_master_to_compute(policy->parameters(), compute->parameters());
    if (setup().device.is_cuda()) torch::cuda::synchronize();  // the step's time is its kernels'
  }

  // The penalty before it took hidden states: full fp32 logits [2B, T, V] of policy and
  // reference, then log_softmax over the chosen completion positions in chunks of 256 flattened
  // positions (autograd keeps every chunk's tensors for the backward).
  torch::Tensor full_logits_penalty(const model::SequenceScores& pol) {
    const auto policy_logits = compute->logits(pol.hidden);
    const auto ref_logits = reference->logits(ref_hidden);
    const int64_t vocab = policy_logits.size(2), chunk = 256;
    const auto mask = (pol.targets >= 0).narrow(0, 0, setup().pairs).reshape({-1});
    const auto p = policy_logits.narrow(0, 0, setup().pairs).reshape({-1, vocab}).split(chunk);
    const auto q = ref_logits.narrow(0, 0, setup().pairs).reshape({-1, vocab}).split(chunk);
    objective::TokenPenaltyAccumulator sums(setup().pairs,
                                            torch::TensorOptions().dtype(torch::kFloat));
    for (size_t c = 0; c < p.size(); ++c) {
      const int64_t start = static_cast<int64_t>(c) * chunk;
      const auto local = mask.narrow(0, start, p[c].size(0)).nonzero().reshape({-1});
      if (local.size(0) == 0) continue;
      sums.add(objective::token_divergence(torch::log_softmax(p[c].index_select(0, local), -1),
                                           torch::log_softmax(q[c].index_select(0, local), -1), {}),
               torch::div(local + start, setup().tokens, "floor"));
    }
    return sums.per_sequence().mean();
  }
};

void run_dpok(benchmark::State& state, bool cached, bool hmk, bool penalty = false,
              bool full_logits = false, Adapters adapters = Adapters::kNone) {
  torch::set_num_threads(setup().threads);
  if (adapters != Adapters::kNone && setup().mixed()) {
    state.SkipWithError("the LoRA steps run in fp32 only");
    return;
  }
  Step step(hmk, cached, penalty, full_logits, adapters);
  step.run(cached);  // warmup
  const double cpu_start = bench::process_cpu_seconds();
  for (auto _ : state) step.run(cached);
  state.counters["process_cpu_s_per_step"] =
      (bench::process_cpu_seconds() - cpu_start) / static_cast<double>(state.iterations());
  const double tokens = 2.0 * setup().pairs * setup().tokens;
  state.counters["tokens_per_s"] =
      benchmark::Counter(tokens * state.iterations(), benchmark::Counter::kIsRate);
  state.counters["peak_rss_MiB"] = train::peak_memory_bytes() / 1048576.0;
  // The FLOP count is a full fine-tune's (LoRA computes no weight gradients): no MFU for LoRA.
  const double peak = adapters == Adapters::kNone ? bf16_peak_flops(setup().device) : 0;
  if (peak > 0) {
    const double flops =
        model_flops_per_step(llama_config(), setup().pairs, setup().tokens, !cached);
    state.counters["mfu"] =
        benchmark::Counter(flops * state.iterations() / peak, benchmark::Counter::kIsRate);
  }
  if (setup().device.is_cuda()) {
    state.counters["peak_device_MiB"] = peak_device_memory_bytes(setup().device) / 1048576.0;
  }
}

void BM_DpokStepOnline(benchmark::State& state) {
  run_dpok(state, false, false);
}
void BM_DpokStepCachedRef(benchmark::State& state) {
  run_dpok(state, true, false);
}
void BM_DpokStepHmk(benchmark::State& state) {
  run_dpok(state, false, true);
}
// Peak memory of a penalty step (docs/benchmarks.md): run each alone, peak RSS is per process.
void BM_DpokStepPenalty(benchmark::State& state) {
  run_dpok(state, false, false, true);
}
void BM_DpokStepPenaltyFullLogits(benchmark::State& state) {
  run_dpok(state, false, false, true, true);
}
// LoRA with the online reference (the base, adapters off), on a float and on a Q4_0 base.
void BM_DpokStepLora(benchmark::State& state) {
  run_dpok(state, false, false, false, false, Adapters::kLora);
}
void BM_DpokStepQLora(benchmark::State& state) {
  run_dpok(state, false, false, false, false, Adapters::kQLora);
}

// The two ratio targets (cached / online, HMK / online) from paired measurements: each round
// runs online, cached, online, HMK, and each variant is compared with the online step just
// before it, under the same machine load; reports the median of the per-round ratios.
// Registered last: it holds three models at once.
void BM_DpokPairedRatios(benchmark::State& state) {
  torch::set_num_threads(setup().threads);
  Step online(false, false), cached(false, true), hmk(true, false);
  const auto seconds = [](Step& step, bool use_cache) {
    const auto start = std::chrono::steady_clock::now();
    step.run(use_cache);
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  seconds(online, false), seconds(cached, true), seconds(hmk, false);  // warmup
  std::vector<double> cached_ratio, hmk_ratio;
  for (auto _ : state) {
    const double before_cached = seconds(online, false);
    cached_ratio.push_back(seconds(cached, true) / before_cached);
    const double before_hmk = seconds(online, false);
    hmk_ratio.push_back(seconds(hmk, false) / before_hmk);
  }
  const auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  state.counters["cached_over_online"] = median(cached_ratio);
  state.counters["hmk_over_online"] = median(hmk_ratio);
}

// Runs the Python baseline once (it times its own steps after a warmup) and reports its mean.
void run_python(benchmark::State& state, bool cached, bool peft = false) {
  const auto config = llama_config();
  std::string cmd = fmt::format(
      "{} {}/trl_dpo_step.py --vocab {} --hidden {} --intermediate {} "
      "--layers {} --heads {} --kv-heads {} --pairs {} --tokens {} --threads {} --steps {} "
      "--device {} --dtype {}{}{}",
      DPOK_PYTHON, DPOK_BENCH_SCRIPTS, config.vocab_size, config.hidden_size,
      config.intermediate_size, config.num_hidden_layers, config.num_attention_heads,
      config.num_key_value_heads, setup().pairs, setup().tokens, setup().threads, timed_steps(),
      setup().device.is_cuda() ? "cuda" : "cpu", dtype_name(setup().dtype),
      cached ? " --cached-reference" : "", peft ? " --peft" : "");
  const std::string output = bench::run_command(cmd);
  nlohmann::json result;
  try {
    result = nlohmann::json::parse(output);
  } catch (const nlohmann::json::exception&) {
    state.SkipWithError(("python baseline failed: " + cmd).c_str());
    return;
  }
  double total = 0;
  for (double s : result["seconds_per_step"]) total += s;
  const double mean = total / result["seconds_per_step"].size();
  for (auto _ : state) state.SetIterationTime(mean);
  state.counters["tokens_per_s"] = result["tokens_per_step"].get<double>() / mean;
  double cpu = 0;
  for (double s : result["cpu_seconds_per_step"]) cpu += s;
  state.counters["process_cpu_s_per_step"] = cpu / result["cpu_seconds_per_step"].size();
  state.counters["peak_rss_MiB"] = result["peak_rss_bytes"].get<double>() / 1048576.0;
  if (const double peak = bf16_peak_flops(setup().device); peak > 0) {
    state.counters["mfu"] =
        model_flops_per_step(config, setup().pairs, setup().tokens, !cached) / mean / peak;
  }
  if (result.contains("peak_device_memory_bytes")) {
    state.counters["peak_device_MiB"] =
        result["peak_device_memory_bytes"].get<double>() / 1048576.0;
  }
}

void BM_PythonStepOnline(benchmark::State& state) {
  run_python(state, false);
}
void BM_PythonStepCachedRef(benchmark::State& state) {
  run_python(state, true);
}
void BM_PythonStepLora(benchmark::State& state) {
  run_python(state, false, true);
}

// Peak RSS is per process: online runs first, so its figure is its own; run a single variant
// (--benchmark_filter) for the others' own peaks.
BENCHMARK(BM_DpokStepOnline)->Unit(benchmark::kSecond)->Iterations(timed_steps());
BENCHMARK(BM_DpokStepCachedRef)->Unit(benchmark::kSecond)->Iterations(timed_steps());
BENCHMARK(BM_DpokStepHmk)->Unit(benchmark::kSecond)->Iterations(timed_steps());
BENCHMARK(BM_DpokStepPenalty)->Unit(benchmark::kSecond)->Iterations(timed_steps());
BENCHMARK(BM_DpokStepPenaltyFullLogits)->Unit(benchmark::kSecond)->Iterations(timed_steps());
BENCHMARK(BM_DpokStepLora)->Unit(benchmark::kSecond)->Iterations(timed_steps());
BENCHMARK(BM_DpokStepQLora)->Unit(benchmark::kSecond)->Iterations(timed_steps());
BENCHMARK(BM_PythonStepOnline)->Unit(benchmark::kSecond)->Iterations(1)->UseManualTime();
BENCHMARK(BM_PythonStepCachedRef)->Unit(benchmark::kSecond)->Iterations(1)->UseManualTime();
BENCHMARK(BM_PythonStepLora)->Unit(benchmark::kSecond)->Iterations(1)->UseManualTime();
BENCHMARK(BM_DpokPairedRatios)->Unit(benchmark::kSecond)->Iterations(timed_steps());

}  // namespace

int main(int argc, char** argv) {
  configure_process();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
