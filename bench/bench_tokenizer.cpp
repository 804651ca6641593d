// Tokenizer encoding throughput (MB/s of UTF-8 input) on the HH-RLHF test texts with the llama3
// and qwen3 tokenizer.json files, on one thread and on all cores (encode_batch). Baseline in
// the same run: the Llama-2 SentencePiece .model (SentencePiece BPE, a different algorithm on
// the same interface) encoding the same texts on one thread.
//
//   build/bench_tokenizer
#include <benchmark/benchmark.h>
#include <zlib.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "bench_util.h"
#include "dpok/text/tokenizer.h"

namespace {

namespace fs = std::filesystem;

using dpok::bench::asset;

std::string gunzip(const fs::path& path) {
  gzFile file = gzopen(path.c_str(), "rb");
  if (file == nullptr)
    throw std::runtime_error("cannot open " + path.string() + " (set DPOK_ASSETS)");
  std::string data;
  char buffer[1 << 16];
  for (int n = 0; (n = gzread(file, buffer, sizeof(buffer))) > 0;) data.append(buffer, n);
  gzclose(file);
  return data;
}

// chosen + rejected texts of all four HH-RLHF test files (about 17k texts).
const std::vector<std::string>& texts() {
  static const std::vector<std::string> all = [] {
    std::vector<std::string> out;
    for (const char* name :
         {"harmless-base-test.jsonl.gz", "helpful-base-test.jsonl.gz",
          "helpful-online-test.jsonl.gz", "helpful-rejection-sampled-test.jsonl.gz"}) {
      std::istringstream lines(gunzip(asset("hh-rlhf/" + std::string(name))));
      for (std::string line; std::getline(lines, line);) {
        if (line.empty()) continue;
        const auto record = nlohmann::json::parse(line);
        out.push_back(record.at("chosen").get<std::string>());
        out.push_back(record.at("rejected").get<std::string>());
      }
    }
    return out;
  }();
  return all;
}

int64_t total_bytes() {
  int64_t bytes = 0;
  for (const auto& t : texts()) bytes += static_cast<int64_t>(t.size());
  return bytes;
}

const dpok::text::Tokenizer& tokenizer(const std::string& relative) {
  static std::map<std::string, std::unique_ptr<dpok::text::Tokenizer>> cache;
  auto& slot = cache[relative];
  if (!slot) slot = dpok::text::Tokenizer::load(asset(relative));
  return *slot;
}

// One thread, text by text. The first pass warms the word cache, as in any long run.
void encode_one_thread(benchmark::State& state, const std::string& relative) {
  const auto& tok = tokenizer(relative);
  int64_t tokens = 0;
  for (auto _ : state) {
    for (const auto& t : texts()) tokens += static_cast<int64_t>(tok.encode(t, false).size());
  }
  state.SetBytesProcessed(state.iterations() * total_bytes());
  state.counters["tokens/s"] =
      benchmark::Counter(static_cast<double>(tokens), benchmark::Counter::kIsRate);
}

void encode_all_threads(benchmark::State& state, const std::string& relative) {
  const auto& tok = tokenizer(relative);
  for (auto _ : state) benchmark::DoNotOptimize(tok.encode_batch(texts(), false, 0));
  state.SetBytesProcessed(state.iterations() * total_bytes());
  state.counters["threads"] = static_cast<double>(std::thread::hardware_concurrency());
}

void BM_Llama3_OneThread(benchmark::State& s) {
  encode_one_thread(s, "tokenizers/llama3");
}
void BM_Qwen3_OneThread(benchmark::State& s) {
  encode_one_thread(s, "tokenizers/qwen3");
}
void BM_Llama3_AllThreads(benchmark::State& s) {
  encode_all_threads(s, "tokenizers/llama3");
}
void BM_Qwen3_AllThreads(benchmark::State& s) {
  encode_all_threads(s, "tokenizers/qwen3");
}
void BM_Baseline_SentencePieceLlama2_OneThread(benchmark::State& s) {
  encode_one_thread(s, "tokenizers/llama2-sentencepiece.model");
}

BENCHMARK(BM_Baseline_SentencePieceLlama2_OneThread)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(2.0);
BENCHMARK(BM_Llama3_OneThread)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2.0);
BENCHMARK(BM_Qwen3_OneThread)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2.0);
BENCHMARK(BM_Llama3_AllThreads)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2.0);
BENCHMARK(BM_Qwen3_AllThreads)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2.0);

}  // namespace

BENCHMARK_MAIN();
