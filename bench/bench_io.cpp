// Checkpoint I/O: open+validate time of the real safetensors and GGUF fixtures, and throughput
// (GB/s) of writing and reading a ~400 MB synthetic safetensors file. Baselines in the same run:
// write() + fsync of the same bytes (what write_safetensors must also do for atomicity), and a
// plain fread of the whole file into memory (what reading through the mapping is compared with).
// The read benchmarks run with the file in the page cache (warm); cold-cache numbers depend on
// the disk and are not measured here.
//
//   build/bench_io
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench_util.h"
#include "dpok/io/gguf.h"
#include "dpok/io/safetensors.h"

namespace {

namespace fs = std::filesystem;
using dpok::io::DType;

using dpok::bench::asset;

// ---------------------------------------------------------------------------------------------
// Open + validate the fixtures (every tensor's header entry is checked; no data is touched).

void BM_OpenSafetensorsFixture(benchmark::State& state) {
  auto path = asset("models/stories260k/hf/model.safetensors");
  for (auto _ : state) {
    auto file = dpok::io::SafetensorsFile::open(path);
    benchmark::DoNotOptimize(file.tensors().data());
  }
}
BENCHMARK(BM_OpenSafetensorsFixture)->Unit(benchmark::kMicrosecond);

void BM_OpenGgufFixture(benchmark::State& state) {
  auto path = asset("models/stories260k/stories260k-f32.gguf");
  for (auto _ : state) {
    auto file = dpok::io::GgufFile::open(path);
    benchmark::DoNotOptimize(file.tensors().data());
  }
}
BENCHMARK(BM_OpenGgufFixture)->Unit(benchmark::kMicrosecond);

// ---------------------------------------------------------------------------------------------
// ~400 MB synthetic checkpoint: 100 F32 tensors of 1024 x 1024 (4 MiB each).

constexpr int kTensors = 100;
constexpr int64_t kRows = 1024, kCols = 1024;
constexpr size_t kTensorBytes = kRows * kCols * sizeof(float);
constexpr size_t kTotalBytes = kTensors * kTensorBytes;

struct Synthetic {
  std::vector<std::byte> source;
  std::vector<dpok::io::TensorToWrite> writes;
  fs::path dir;
  fs::path file;

  Synthetic() : source(kTotalBytes) {
    for (size_t i = 0; i < source.size(); ++i) source[i] = static_cast<std::byte>(i * 131 + 7);
    for (int t = 0; t < kTensors; ++t) {
      writes.push_back(
          {"layers." + std::to_string(t) + ".weight",
           DType::F32,
           {kRows, kCols},
           std::span<const std::byte>(source.data() + t * kTensorBytes, kTensorBytes)});
    }
    dir = fs::temp_directory_path() / ("dpok-bench-io-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    file = dir / "model.safetensors";
    dpok::io::write_safetensors(file, writes);
  }
  ~Synthetic() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

Synthetic& synthetic() {
  static Synthetic instance;
  return instance;
}

void BM_WriteSafetensors400MB(benchmark::State& state) {
  auto& s = synthetic();
  for (auto _ : state) dpok::io::write_safetensors(s.dir / "out.safetensors", s.writes);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kTotalBytes));
}
BENCHMARK(BM_WriteSafetensors400MB)->Unit(benchmark::kMillisecond)->UseRealTime();

// Baseline: the same bytes through write(2) to one file, then fsync.
void BM_BaselineWriteFsync400MB(benchmark::State& state) {
  auto& s = synthetic();
  auto path = s.dir / "baseline.bin";
  for (auto _ : state) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) throw std::runtime_error("cannot create " + path.string());
    for (const auto& w : s.writes) {
      if (::write(fd, w.data.data(), w.data.size()) != static_cast<ssize_t>(w.data.size())) {
        throw std::runtime_error("short write");
      }
    }
    ::fsync(fd);
    ::close(fd);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kTotalBytes));
}
BENCHMARK(BM_BaselineWriteFsync400MB)->Unit(benchmark::kMillisecond)->UseRealTime();

// Open, validate, and copy every tensor out of the mapping into a resident buffer (what a loader
// does when it fills model parameters).
void BM_ReadSafetensors400MB(benchmark::State& state) {
  auto& s = synthetic();
  std::vector<std::byte> destination(kTotalBytes);
  for (auto _ : state) {
    auto file = dpok::io::SafetensorsFile::open(s.file);
    std::byte* out = destination.data();
    for (const auto& view : file.tensors()) {
      std::memcpy(out, view.data, view.nbytes);
      out += view.nbytes;
    }
    benchmark::DoNotOptimize(destination.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kTotalBytes));
}
BENCHMARK(BM_ReadSafetensors400MB)->Unit(benchmark::kMillisecond)->UseRealTime();

// Baseline: fread of the whole file into a resident buffer.
void BM_BaselineFread400MB(benchmark::State& state) {
  auto& s = synthetic();
  const size_t size = fs::file_size(s.file);
  std::vector<std::byte> destination(size);
  for (auto _ : state) {
    std::FILE* f = std::fopen(s.file.c_str(), "rb");
    if (f == nullptr) throw std::runtime_error("cannot open " + s.file.string());
    size_t n = std::fread(destination.data(), 1, size, f);
    std::fclose(f);
    if (n != size) throw std::runtime_error("short read");
    benchmark::DoNotOptimize(destination.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * size));
}
BENCHMARK(BM_BaselineFread400MB)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
