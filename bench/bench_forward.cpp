// Forward throughput of a ~110M-parameter Llama-shaped model (hidden 768, 12 layers, 12 heads,
// intermediate 2048, vocab 32000, tied embeddings), CPU fp32, batch 4 × 256 tokens, against
// transformers' LlamaForCausalLM with SDPA of the same shape (bench/python/transformers_forward.py,
// run by the project environment's Python, DPOK_PYTHON, with the same thread count) in the same
// run; plus the peak RSS of loading a saved checkpoint of it.
//
//   build/bench_forward [--benchmark_filter=...]     (threads: DPOK_THREADS, else all cores)
//
// The load measurement re-executes this binary as `bench_forward --load-rss DIR` so the peak RSS
// (VmHWM) belongs to a fresh process that does nothing but load.
#include <ATen/Parallel.h>
#include <benchmark/benchmark.h>
#include <c10/core/InferenceMode.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "bench_util.h"
#include "dpok/core/torch/runtime.h"
#include "dpok/model/loader.h"
#include "dpok/model/save.h"

namespace {

using dpok::model::CausalLM;

constexpr int64_t kBatch = 4, kSeq = 256;
constexpr int kTimedIterations = 5;  // best of, after one warm-up, for dpok and Python alike

dpok::model::ModelConfig bench_config() {
  dpok::model::ModelConfig c;
  c.architecture = "LlamaForCausalLM";
  c.model_type = "llama";
  c.vocab_size = 32000;
  c.hidden_size = 768;
  c.intermediate_size = 2048;
  c.num_hidden_layers = 12;
  c.num_attention_heads = 12;
  c.num_key_value_heads = 12;
  c.head_dim = 64;
  c.max_position_embeddings = 2048;
  c.tie_word_embeddings = true;
  c.bos_token_id = 1;
  c.eos_token_ids = {2};
  return c;
}

CausalLM& bench_model() {
  static CausalLM model = [] {
    CausalLM m(bench_config());
    m->eval();
    return m;
  }();
  return model;
}

at::Tensor bench_ids() {
  return at::randint(0, 32000, {kBatch, kSeq}, at::kLong);
}

// kB value of a /proc/self/status line ("VmHWM:", "VmRSS:", ...).
int64_t status_kb(const std::string& key) {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(key, 0) == 0) return std::atoll(line.c_str() + key.size());
  }
  return -1;
}

// Best tokens/s over the timed iterations, by wall clock and by process CPU time (all threads).
// The CPU-time figure is the steadier one on a machine shared with other jobs.
struct Throughput {
  double wall = 0, cpu = 0;
};
struct Summary {
  Throughput dpok_full, dpok_lean, transformers;
} summary;

void time_forward(benchmark::State& state, bool lean, Throughput& result) {
  auto& model = bench_model();
  const auto ids = bench_ids();
  c10::InferenceMode inference;
  if (lean) {
    model->forward_hidden(ids);  // warm-up
  } else {
    model->forward(ids);
  }
  double best = 1e30, best_cpu = 1e30;
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    const double cpu_start = dpok::bench::process_cpu_seconds();
    if (lean) {
      benchmark::DoNotOptimize(model->forward_hidden(ids));
    } else {
      benchmark::DoNotOptimize(model->forward(ids));
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    state.SetIterationTime(seconds);
    best = std::min(best, seconds);
    best_cpu = std::min(best_cpu, dpok::bench::process_cpu_seconds() - cpu_start);
  }
  result = {kBatch * kSeq / best, kBatch * kSeq / best_cpu};
  state.counters["tokens_per_cpu_s"] = result.cpu;
  state.counters["tokens_per_s"] =
      benchmark::Counter(static_cast<double>(kBatch * kSeq), benchmark::Counter::kIsRate);
  state.counters["best_tokens_per_s"] = result.wall;
  state.counters["threads"] = at::get_num_threads();
}

void BM_DpokForwardLogits(benchmark::State& state) {
  time_forward(state, false, summary.dpok_full);
}
void BM_DpokForwardHidden(benchmark::State& state) {
  time_forward(state, true, summary.dpok_lean);
}

// The transformers baseline: one run of the script (warm-up + timed forwards); reports its best.
void BM_TransformersForwardLogits(benchmark::State& state) {
  Throughput* result = &summary.transformers;
  const std::string command = DPOK_PYTHON " " DPOK_BENCH_SCRIPTS
                                          "/transformers_forward.py --threads " +
                              std::to_string(at::get_num_threads()) + " --iters " +
                              std::to_string(kTimedIterations) + " 2>&1";
  for (auto _ : state) {
    const auto output = dpok::bench::run_command(command);
    auto parsed = nlohmann::json::parse(output, nullptr, false);
    if (parsed.is_discarded() || !parsed.contains("tokens_per_s")) {
      state.SkipWithError(("python baseline failed: " + output).c_str());
      return;
    }
    state.SetIterationTime(parsed["seconds_min"].get<double>());
    *result = {parsed["tokens_per_s"].get<double>(), parsed["tokens_per_cpu_s"].get<double>()};
  }
  state.counters["best_tokens_per_s"] = result->wall;
  state.counters["tokens_per_cpu_s"] = result->cpu;
}

// Saves the model once, then loads it in a fresh process and reads that process's peak RSS.
void BM_LoadPeakRss(benchmark::State& state) {
  const std::string dir = "/tmp/dpok-bench-forward-" + std::to_string(getpid());
  dpok::model::save_pretrained(bench_model(), dir);
  for (auto _ : state) {
    const auto output =
        dpok::bench::run_command("/proc/" + std::to_string(getpid()) + "/exe --load-rss " + dir);
    auto result = nlohmann::json::parse(output, nullptr, false);
    if (result.is_discarded()) {
      state.SkipWithError(("load child failed: " + output).c_str());
      break;
    }
    state.SetIterationTime(result["seconds"].get<double>());
    for (const auto& [key, value] : result.items()) state.counters[key] = value.get<double>();
  }
  std::filesystem::remove_all(dir);
}

BENCHMARK(BM_TransformersForwardLogits)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1)
    ->UseManualTime();
BENCHMARK(BM_DpokForwardLogits)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(kTimedIterations)
    ->UseManualTime();
BENCHMARK(BM_DpokForwardHidden)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(kTimedIterations)
    ->UseManualTime();
BENCHMARK(BM_LoadPeakRss)->Unit(benchmark::kMillisecond)->Iterations(1)->UseManualTime();

// Child mode: load DIR and print JSON with the memory figures (MB).
int load_rss_child(const std::string& dir) {
  const double before = status_kb("VmRSS:") / 1024.0;
  const auto start = std::chrono::steady_clock::now();
  auto model = dpok::model::load_model(dir);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double weights = static_cast<double>(model->config().num_parameters()) * 4 / (1 << 20);
  nlohmann::json out = {{"seconds", seconds},
                        {"weights_MB", weights},
                        {"rss_before_MB", before},
                        {"peak_rss_MB", status_kb("VmHWM:") / 1024.0},
                        {"rss_after_MB", status_kb("VmRSS:") / 1024.0},
                        {"rss_anon_after_MB", status_kb("RssAnon:") / 1024.0},
                        {"rss_file_after_MB", status_kb("RssFile:") / 1024.0}};
  std::cout << out.dump() << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::string(argv[1]) == "--load-rss") return load_rss_child(argv[2]);
  dpok::configure_process();
  dpok::init_threads();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  const auto& [full, lean, transformers] = summary;
  if (full.wall > 0 && transformers.wall > 0) {
    std::cout << fmt::format(
        "\nthreads {}, best of {}: dpok forward+logits {:.0f} tokens/s ({:.1f} per CPU-s), lean "
        "{:.0f} tokens/s; transformers {:.0f} tokens/s ({:.1f} per CPU-s)\n"
        "ratio dpok/transformers: {:.2f}x wall, {:.2f}x CPU\n",
        at::get_num_threads(), kTimedIterations, full.wall, full.cpu, lean.wall, transformers.wall,
        transformers.cpu, full.wall / transformers.wall, full.cpu / transformers.cpu);
  }
  return 0;
}
