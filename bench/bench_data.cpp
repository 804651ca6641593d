// Data pipeline benchmarks: tokenization throughput of the full HH-RLHF test set (pairs/s, all
// cores against one core as the baseline, llama3 tokenizer) and batch assembly per training step
// (BatchIterator::next: shuffle order + collate into [2B, T] tensors) against the bare cost of
// allocating the same tensors.
//
//   build/bench_data --benchmark_counters_tabular=true
// Assets from assets/ (or DPOK_ASSETS); results in docs/benchmarks.md ("data").
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <thread>

#include "bench_util.h"
#include "dpok/data/dataset.h"
#include "dpok/data/torch/batch_iterator.h"
#include "dpok/text/tokenizer.h"

namespace {

namespace fs = std::filesystem;

std::vector<fs::path> hh_files() {
  using dpok::bench::asset;
  return {asset("hh-rlhf/harmless-base-test.jsonl.gz"), asset("hh-rlhf/helpful-base-test.jsonl.gz"),
          asset("hh-rlhf/helpful-online-test.jsonl.gz"),
          asset("hh-rlhf/helpful-rejection-sampled-test.jsonl.gz")};
}

const dpok::text::Tokenizer& llama3() {
  static const auto tok = dpok::text::Tokenizer::load(dpok::bench::asset("tokenizers/llama3"));
  return *tok;
}

// Reads, parses and tokenizes all 9,552 pairs (no cache) on `threads` threads (0 = all cores).
void BM_TokenizeHh(benchmark::State& state) {
  dpok::data::DataConfig config;
  config.cache = false;
  config.num_threads = static_cast<int>(state.range(0));
  int64_t pairs = 0;
  for (auto _ : state) {
    const auto d = dpok::data::load_preference_files(hh_files(), config, llama3());
    pairs += d.summary.records_read;
    benchmark::DoNotOptimize(d.records.data());
  }
  state.counters["pairs_per_s"] =
      benchmark::Counter(static_cast<double>(pairs), benchmark::Counter::kIsRate);
  state.counters["threads"] =
      config.num_threads > 0 ? config.num_threads : std::thread::hardware_concurrency();
}
BENCHMARK(BM_TokenizeHh)->Arg(1)->Arg(0)->Unit(benchmark::kMillisecond)->UseRealTime();

const dpok::data::PreferenceDataset& hh_dataset() {
  static const auto d = [] {
    dpok::data::DataConfig config;
    config.cache = false;
    return dpok::data::load_preference_files(hh_files(), config, llama3());
  }();
  return d;
}

// One training step's batch: next() of a shuffled (optionally length-grouped) iterator.
void BM_BatchIteratorNext(benchmark::State& state) {
  const auto& d = hh_dataset();
  dpok::data::BatchIterator it(d, state.range(0), /*seed=*/1, /*shuffle=*/true,
                               /*group_by_length=*/state.range(1) != 0, /*pad_id=*/0);
  int64_t cells = 0;
  for (auto _ : state) {
    auto batch = it.next();
    if (!batch) batch = it.next();
    cells += batch->input_ids.numel();
    benchmark::DoNotOptimize(batch->input_ids.data_ptr());
  }
  state.counters["tokens_per_batch"] =
      benchmark::Counter(static_cast<double>(cells), benchmark::Counter::kAvgIterations);
}
BENCHMARK(BM_BatchIteratorNext)->Args({8, 0})->Args({8, 1})->Unit(benchmark::kMicrosecond);

// Baseline: allocating and filling the four [2B, T] tensors of an average batch, no data.
void BM_BatchAllocationBaseline(benchmark::State& state) {
  const auto& d = hh_dataset();
  dpok::data::BatchIterator it(d, state.range(0), 1, true, false, 0);
  int64_t t = 0, n = 0;
  while (auto b = it.next()) {
    t += b->input_ids.size(1);
    ++n;
  }
  const int64_t width = t / n, rows = 2 * state.range(0);
  for (auto _ : state) {
    auto ids = at::full({rows, width}, 0, at::kLong);
    auto attention = at::zeros({rows, width}, at::kLong);
    auto completion = at::zeros({rows, width}, at::kBool);
    auto prompt = at::zeros({rows, width}, at::kBool);
    benchmark::DoNotOptimize(ids.data_ptr());
    benchmark::DoNotOptimize(attention.data_ptr());
    benchmark::DoNotOptimize(completion.data_ptr());
    benchmark::DoNotOptimize(prompt.data_ptr());
  }
  state.counters["tokens_per_batch"] = static_cast<double>(rows * width);
}
BENCHMARK(BM_BatchAllocationBaseline)->Arg(8)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
