// Corrupt-input fuzzing of every reader: truncated, bit-flipped and overwritten copies of real
// fixtures at many seeded random offsets. Each copy must either load (a change inside tensor
// data is legitimately still valid) with every view inside the file, or throw dpok::Error;
// never crash or read out of bounds (the AddressSanitizer CI job runs this file).
#include <cstring>
#include <fstream>
#include <functional>
#include <random>

#include "dpok/core/error.h"
#include "dpok/core/file_util.h"
#include "dpok/io/gguf.h"
#include "dpok/io/llama2c.h"
#include "dpok/io/safetensors.h"
#include "support/testing.h"

namespace dpok::io {
namespace {

namespace fs = std::filesystem;

constexpr uint32_t kSeed = 20260127;
constexpr int kTruncations = 150;
constexpr int kBitFlips = 300;
constexpr int kOverwrites = 150;

enum class Outcome { kLoaded, kRejected };

// Opens a file with one reader and checks the views of a successful load.
using Opener = std::function<void(const fs::path&)>;

void check_views_inside(const std::vector<TensorView>& views, const MappedFile& mapping) {
  const std::byte* begin = mapping.data();
  const std::byte* end = begin + mapping.size();
  for (const auto& v : views) {
    ASSERT_TRUE(v.data >= begin && v.data <= end && v.nbytes <= static_cast<size_t>(end - v.data))
        << v.name;
    ASSERT_EQ(v.nbytes, static_cast<size_t>(v.numel()) * dtype_size(v.dtype)) << v.name;
  }
}

const Opener kOpenSafetensors = [](const fs::path& p) {
  auto file = SafetensorsFile::open(p);
  check_views_inside(file.tensors(), *file.mapping());
};
const Opener kOpenGguf = [](const fs::path& p) {
  auto file = GgufFile::open(p);
  check_views_inside(file.tensors(), *file.mapping());
};
const Opener kOpenLlama2c = [](const fs::path& p) {
  auto file = Llama2cFile::open(p);
  check_views_inside(file.tensors(), *file.mapping());
};

// Plain write (no fsync: these files are throwaway and there are thousands of them). The old
// copy is unlinked rather than truncated: ext4 flushes a truncated-and-rewritten file on close.
void write_plain(const fs::path& path, std::string_view bytes) {
  fs::remove(path);
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << path;
}

Outcome try_open(const Opener& open, const fs::path& path, const std::string& bytes) {
  write_plain(path, bytes);
  try {
    open(path);
    return Outcome::kLoaded;
  } catch (const Error& e) {
    // Every rejection names the file it rejected.
    EXPECT_NE(std::string(e.what()).find(path.string()), std::string::npos) << e.what();
    return Outcome::kRejected;
  }
}

struct Fixture {
  std::string bytes;
  size_t header_end;  // bytes before the data region: where corruption is most interesting
  Opener open;
};

// Runs the three corruption families; returns how many mutated copies were rejected.
int fuzz(const Fixture& fixture) {
  testing::TempDir dir;
  const auto path = dir / "fuzz.bin";
  const std::string& good = fixture.bytes;
  EXPECT_EQ(try_open(fixture.open, path, good), Outcome::kLoaded);
  std::mt19937 rng(kSeed);
  auto pick = [&](size_t limit) {
    return std::uniform_int_distribution<size_t>(0, limit - 1)(rng);
  };
  int rejected = 0;

  // Every fixture's last tensor ends at the end of the file, so any truncation is invalid.
  for (int i = 0; i < kTruncations; ++i) {
    size_t length = i % 2 == 0 ? pick(fixture.header_end + 1) : pick(good.size());
    SCOPED_TRACE(fmt::format("truncated to {} of {} bytes", length, good.size()));
    EXPECT_EQ(try_open(fixture.open, path, good.substr(0, length)), Outcome::kRejected);
    ++rejected;
  }
  for (int i = 0; i < kBitFlips; ++i) {
    size_t offset = i % 2 == 0 ? pick(fixture.header_end) : pick(good.size());
    int bit = static_cast<int>(pick(8));
    SCOPED_TRACE(fmt::format("bit {} flipped at offset {}", bit, offset));
    std::string copy = good;
    copy[offset] = static_cast<char>(copy[offset] ^ (1 << bit));
    Outcome outcome = try_open(fixture.open, path, copy);
    // Tensor data is opaque: a flip there must still load.
    if (offset >= fixture.header_end) {
      EXPECT_EQ(outcome, Outcome::kLoaded);
    }
    rejected += outcome == Outcome::kRejected;
  }
  for (int i = 0; i < kOverwrites; ++i) {
    size_t offset = pick(fixture.header_end);
    size_t width = std::min<size_t>(1 + pick(8), good.size() - offset);
    SCOPED_TRACE(fmt::format("{} bytes overwritten at offset {}", width, offset));
    std::string copy = good;
    for (size_t k = 0; k < width; ++k) copy[offset + k] = static_cast<char>(pick(256));
    rejected += try_open(fixture.open, path, copy) == Outcome::kRejected;
  }
  return rejected;
}

TEST(CorruptInput, SafetensorsFixture) {
  DPOK_REQUIRE_ASSET(path, "models/hf-tiny/llama-gqa-tied/model.safetensors");
  std::string bytes = read_file(path);
  uint64_t header_len = 0;
  std::memcpy(&header_len, bytes.data(), 8);
  int rejected = fuzz({bytes, 8 + static_cast<size_t>(header_len), kOpenSafetensors});
  // Sanity: the fuzzer really produced invalid files beyond the truncations.
  EXPECT_GT(rejected, kTruncations + 50);
}

TEST(CorruptInput, GgufFixture) {
  DPOK_REQUIRE_ASSET(path, "models/stories260k/stories260k-f32.gguf");
  auto file = GgufFile::open(path);
  std::string bytes = read_file(path);
  int rejected = fuzz({bytes, static_cast<size_t>(file.data_offset()), kOpenGguf});
  EXPECT_GT(rejected, kTruncations + 50);
}

TEST(CorruptInput, Llama2cSynthetic) {
  // dim 8, hidden 12, 2 layers, 4 heads, 2 kv heads, vocab 10 (untied), seq_len 6.
  const std::vector<int32_t> header = {8, 12, 2, 4, 2, -10, 6};
  const size_t floats = 10 * 8 * 2 + 2 * 8 * 2 + 2 * 64 * 2 + 2 * 32 * 2 + 3 * 2 * 96 + 8 + 12;
  std::string bytes(28, '\0');
  std::memcpy(bytes.data(), header.data(), 28);
  bytes.append(floats * 4, '\x3f');
  int rejected = fuzz({bytes, 28, kOpenLlama2c});
  EXPECT_GT(rejected, kTruncations + 50);
}

}  // namespace
}  // namespace dpok::io
