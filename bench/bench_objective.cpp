// Cost of the DPO-Kernels objective (dpok::objective) next to one forward+backward of a
// ~110M-parameter Llama-shaped model on the same batch, on CPU.
//
// Batch: B = 8 pairs (16 sequences) × T = 512 tokens, V = 32,000; semantic embeddings of width
// 2,048. Every objective benchmark runs forward + backward. Each reports `pct_step_wall` and
// `pct_step_cpu`: its mean wall / process-CPU time as a percentage of the baseline step measured
// first in the same run (BM_BaselineStep must therefore run; do not filter it out).
//
// The baseline is a STAND-IN built from plain torch ops, not dpok::model (src/dpok/model/llama.h
// did not exist when this was written): token embedding + 12 × (RMSNorm, q/k/v/o projections,
// causal softmax attention, RMSNorm, SwiGLU MLP 768→2048→768) + final RMSNorm + tied lm_head with
// log_softmax and the target log-prob gather, fp32; no RoPE (elementwise, <1% of the step).
// Parameters: 24.6M embedding (tied) + 12 × 7.08M = 109.5M.
#include <benchmark/benchmark.h>

#include <chrono>
#include <string>
#include <vector>

#include "bench_util.h"
#include "dpok/core/torch/runtime.h"
#include "dpok/objective/losses.h"
#include "dpok/objective/objective.h"

namespace {

namespace obj = dpok::objective;

constexpr int64_t kPairs = 8, kSeq = 512, kVocab = 32000, kEmbeddingWidth = 2048;
constexpr int64_t kModel = 768, kLayers = 12, kHeads = 12, kFfn = 2048;

// Baseline step time (set by BM_BaselineStep): wall seconds and process CPU seconds (all threads).
// The CPU figure is the robust one on a shared machine: other processes inflate wall time.
double g_baseline_wall = 0, g_baseline_cpu = 0;

using Clock = std::chrono::steady_clock;

// Runs `body` per iteration with manual (wall) timing; reports process CPU seconds per iteration
// and both times as a percentage of the baseline step.
template <typename Body>
void timed(benchmark::State& state, Body&& body, bool is_baseline = false) {
  double wall = 0, cpu = 0;
  for (auto _ : state) {
    const auto start = Clock::now();
    const double cpu_start = dpok::bench::process_cpu_seconds();
    body();
    cpu += dpok::bench::process_cpu_seconds() - cpu_start;
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    state.SetIterationTime(seconds);
    wall += seconds;
  }
  const double n = static_cast<double>(state.iterations());
  state.counters["cpu_s"] = cpu / n;
  if (is_baseline) {
    g_baseline_wall = wall / n;
    g_baseline_cpu = cpu / n;
  } else if (g_baseline_wall > 0) {
    state.counters["pct_step_wall"] = 100.0 * wall / n / g_baseline_wall;
    state.counters["pct_step_cpu"] = 100.0 * cpu / n / g_baseline_cpu;
  }
}

struct StandIn {
  at::Tensor embedding;
  std::vector<at::Tensor> weights;  // per layer: norm1, q, k, v, o, norm2, gate, up, down
  at::Tensor final_norm;
};

// A trainable leaf: N(0, scale²) entries, or ones for norm weights (scale = 0).
at::Tensor param(std::vector<int64_t> shape, double scale) {
  at::Tensor t = scale > 0 ? at::randn(shape) * scale : at::ones(shape);
  t.requires_grad_(true);
  return t;
}

StandIn make_stand_in() {
  StandIn m;
  m.embedding = param({kVocab, kModel}, 0.02);
  for (int64_t l = 0; l < kLayers; ++l) {
    for (auto shape : std::vector<std::vector<int64_t>>{{kModel},
                                                        {kModel, kModel},
                                                        {kModel, kModel},
                                                        {kModel, kModel},
                                                        {kModel, kModel},
                                                        {kModel},
                                                        {kModel, kFfn},
                                                        {kModel, kFfn},
                                                        {kFfn, kModel}}) {
      m.weights.push_back(param(shape, shape.size() == 1 ? 0.0 : 0.02));
    }
  }
  m.final_norm = param({kModel}, 0.0);
  return m;
}

at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& w) {
  return x * at::rsqrt(x.square().mean(-1, true) + 1e-5) * w;
}

// Sum of target log-probs over [R, T] tokens: the quantity DPO differentiates.
at::Tensor stand_in_logps(const StandIn& m, const at::Tensor& ids) {
  const int64_t r = ids.size(0), t = ids.size(1), hd = kModel / kHeads;
  auto x = at::embedding(m.embedding, ids);  // [R, T, C]
  for (int64_t l = 0; l < kLayers; ++l) {
    const auto* w = &m.weights[static_cast<size_t>(l * 9)];
    const auto h = rms_norm(x, w[0]);
    auto split = [&](const at::Tensor& y) { return y.view({r, t, kHeads, hd}).transpose(1, 2); };
    const auto q = split(at::matmul(h, w[1])), k = split(at::matmul(h, w[2])),
               v = split(at::matmul(h, w[3]));
    const auto attn =
        at::scaled_dot_product_attention(q, k, v, std::nullopt, 0.0, /*is_causal=*/true);
    x = x + at::matmul(attn.transpose(1, 2).reshape({r, t, kModel}), w[4]);
    const auto h2 = rms_norm(x, w[5]);
    x = x + at::matmul(at::silu(at::matmul(h2, w[6])) * at::matmul(h2, w[7]), w[8]);
  }
  const auto logits = at::matmul(rms_norm(x, m.final_norm), m.embedding.t());  // [R, T, V]
  const auto logps = at::log_softmax(logits, -1);
  return logps.narrow(1, 0, t - 1).gather(-1, ids.narrow(1, 1, t - 1).unsqueeze(-1)).sum();
}

void BM_BaselineStep(benchmark::State& state) {
  dpok::init_threads();
  at::manual_seed(0);
  const auto model = make_stand_in();
  const auto ids = at::randint(0, kVocab, {2 * kPairs, kSeq}, at::kLong);
  timed(
      state, [&] { stand_in_logps(model, ids).backward(); }, /*is_baseline=*/true);
  state.counters["threads"] = at::get_num_threads();
}

// ---------------------------------------------------------------------------------------------
// §1 losses on B = 8 pairs.

void BM_Loss(benchmark::State& state, obj::LossType type) {
  at::manual_seed(1);
  auto leafed = [](const at::Tensor& t) {
    at::Tensor c = t.clone();
    c.requires_grad_(true);
    return c;
  };
  obj::LossTerms terms;
  terms.chosen_scores = leafed(at::randn({kPairs}));
  terms.rejected_scores = leafed(at::randn({kPairs}));
  terms.chosen_logratios = terms.chosen_scores;
  terms.rejected_logratios = terms.rejected_scores;
  terms.chosen_lengths = at::full({kPairs}, kSeq / 2);
  terms.rejected_lengths = at::full({kPairs}, kSeq / 2);
  terms.chosen_nll = leafed(at::rand({kPairs}));
  obj::LossOptions options;
  options.label_smoothing = type == obj::LossType::kExoPair ? 1e-3 : 0.0;
  timed(state, [&] { obj::preference_loss(type, terms, options).mean().backward(); });
}

// ---------------------------------------------------------------------------------------------
// §3–§5 the full objective (sigmoid loss + semantic term) per kernel, embeddings [8, 2048].

void BM_LossPlusSemantic(benchmark::State& state, const std::string& kernel) {
  at::manual_seed(2);
  obj::ObjectiveConfig config;
  config.gamma = 0.1;
  config.kernel = dpok::parse_enum<obj::KernelType>(kernel, "kernel");
  config.kernel_options.learn = true;
  config.kernel_options.sigma_median = kernel == "rbf";
  obj::Objective objective(config, kEmbeddingWidth);
  auto leafed = [](at::Tensor t) {
    t.requires_grad_(true);
    return t;
  };
  obj::PairInputs in;
  in.policy_chosen_logps = leafed(at::randn({kPairs}) - 300);
  in.policy_rejected_logps = leafed(at::randn({kPairs}) - 300);
  in.ref_chosen_logps = at::randn({kPairs}) - 300;
  in.ref_rejected_logps = at::randn({kPairs}) - 300;
  in.prompt_embedding = leafed(at::randn({kPairs, kEmbeddingWidth}));
  in.chosen_embedding = leafed(at::randn({kPairs, kEmbeddingWidth}));
  in.rejected_embedding = leafed(at::randn({kPairs, kEmbeddingWidth}));
  timed(state, [&] { objective->forward(in).loss.backward(); });
}

// ---------------------------------------------------------------------------------------------
// §6 token-level divergences over the chosen completions: 8 × 512 positions × 32,000, from final
// hidden states of width 768 (the penalty projects them through the lm_head weight itself).

void BM_TokenDivergence(benchmark::State& state, const std::string& divergence) {
  at::manual_seed(3);
  obj::ObjectiveConfig config;
  config.penalty_alpha = 0.05;
  config.penalty_divergence = dpok::parse_enum<obj::Divergence>(divergence, "penalty_divergence");
  obj::Objective objective(config);
  at::Tensor hidden = at::randn({2 * kPairs, kSeq, kModel});
  at::Tensor weight = at::randn({kVocab, kModel}) * 0.07;  // logits of std ≈ 2, as before
  hidden.requires_grad_(true);
  weight.requires_grad_(true);
  const obj::LmHeadStates policy{hidden, weight};
  const obj::LmHeadStates ref{hidden.detach() + at::randn({2 * kPairs, kSeq, kModel}) * 0.25,
                              weight.detach()};
  const auto mask = at::ones({2 * kPairs, kSeq}, at::kBool);
  const auto embeddings = at::randn({kVocab, kEmbeddingWidth});
  timed(state, [&] {
    objective->penalty(policy, ref, mask, embeddings).backward();
    hidden.mutable_grad().reset();
    weight.mutable_grad().reset();
  });
}

void register_all() {
  benchmark::RegisterBenchmark("BM_BaselineStep", BM_BaselineStep)
      ->UseManualTime()
      ->Iterations(2)
      ->Unit(benchmark::kSecond);
  for (const std::string name :
       {"sigmoid", "robust", "hinge", "ipo", "sigmoid_norm", "exo_pair", "nca_pair", "bco_pair",
        "sppo_hard", "apo_zero", "apo_down", "discopop", "sft"}) {
    benchmark::RegisterBenchmark(("BM_Loss/" + name).c_str(), BM_Loss,
                                 dpok::parse_enum<obj::LossType>(name, "loss_type"))
        ->UseManualTime()
        ->Unit(benchmark::kMicrosecond);
  }
  for (const std::string kernel :
       {"linear", "rbf", "polynomial", "spectral", "mahalanobis", "hmk"}) {
    benchmark::RegisterBenchmark(("BM_LossPlusSemantic/" + kernel).c_str(), BM_LossPlusSemantic,
                                 kernel)
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond);
  }
  for (const std::string d :
       {"kl", "reverse_kl", "js", "hellinger", "bhattacharyya", "renyi", "tv", "wasserstein"}) {
    benchmark::RegisterBenchmark(("BM_TokenDivergence/" + d).c_str(), BM_TokenDivergence, d)
        ->UseManualTime()
        ->Iterations(2)
        ->Unit(benchmark::kSecond);
  }
}

}  // namespace

int main(int argc, char** argv) {
  dpok::configure_process();
  register_all();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
