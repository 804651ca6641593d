// Corrupt-input fuzzing of the data pipeline's readers (the counterpart of io/corruption_test.cpp):
// plain, gzip and zstd JSON Lines files and a JSON array file, truncated, bit-flipped and with
// bytes overwritten at seeded random offsets, are loaded end to end (decompression, record
// scanning, JSON parsing, field checks, tokenization) under both bad-record policies. Each copy
// must either load or throw dpok::Error naming the file; never crash, hang or read out of bounds
// (the AddressSanitizer / UBSan CI job runs this file).
#include <gtest/gtest.h>

#include <fstream>
#include <random>

#include "data/compression.h"
#include "data/fake_tokenizer.h"
#include "dpok/core/error.h"
#include "dpok/data/dataset.h"
#include "dpok/data/json_stream.h"
#include "support/testing.h"

namespace dpok::data {
namespace {

namespace fs = std::filesystem;

constexpr uint32_t kSeed = 20261203;
constexpr int kCopiesPerKind = 60;  // per fixture and kind of damage: 3 × 60 × 4 loads × 2 policies

// Standard-format records with escapes, non-ASCII text and an optional column, so that damage can
// reach every check: JSON syntax, UTF-8, field types, empty strings, column consistency.
std::string jsonl_fixture() {
  std::string out;
  for (int i = 0; i < 40; ++i) {
    out += "{\"prompt\": \"Question " + std::to_string(i) + ": caf\xC3\xA9 \\\"quoted\\\"\\n?\", ";
    out += "\"chosen\": \" answer " + std::to_string(i * 7) + " \xE2\x9C\x93\", ";
    out += "\"rejected\": \" other " + std::to_string(i * 13) + "\", ";
    out += "\"ref_chosen_logps\": -1." + std::to_string(i) + ", ";
    out += "\"ref_rejected_logps\": -2." + std::to_string(i) + "}\n";
  }
  return out;
}

// The same records as one JSON array.
std::string array_fixture(const std::string& jsonl) {
  std::string out = "[\n";
  size_t start = 0;
  while (start < jsonl.size()) {
    const size_t nl = jsonl.find('\n', start);
    if (start > 0) out += ",\n";
    out += jsonl.substr(start, nl - start);
    start = nl + 1;
  }
  return out + "\n]\n";
}

// Plain write (no fsync: these files are throwaway and there are hundreds of them).
void write_plain(const fs::path& path, const std::string& bytes) {
  fs::remove(path);
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << path;
}

struct Tally {
  int loaded = 0, rejected = 0;
};

// Loads `bytes` as `path` under both policies; a rejection must name the file.
void load_both_ways(const fs::path& path, const std::string& bytes, Tally& tally) {
  write_plain(path, bytes);
  const testing::FakeTokenizer tok;
  for (const OnBadRecord policy : {OnBadRecord::kError, OnBadRecord::kSkip}) {
    DataConfig config;
    config.cache = false;
    config.num_threads = 1;
    config.on_bad_record = policy;
    try {
      const auto d = load_preference_files({path}, config, tok);
      EXPECT_LE(d.summary.records_kept, d.summary.records_read);
      ++tally.loaded;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(path.string()), std::string::npos) << e.what();
      ++tally.rejected;
    }
  }
}

void fuzz(const fs::path& path, const std::string& good) {
  std::mt19937 rng(kSeed);
  Tally tally;
  load_both_ways(path, good, tally);
  ASSERT_EQ(tally.loaded, 2) << path << ": the undamaged file must load";
  for (int i = 0; i < kCopiesPerKind; ++i) {
    load_both_ways(path, good.substr(0, rng() % good.size()), tally);
    auto flipped = good;
    const size_t at = rng() % flipped.size();
    flipped[at] = static_cast<char>(flipped[at] ^ (1 << (rng() % 8)));
    load_both_ways(path, flipped, tally);
    auto overwritten = good;
    const size_t from = rng() % overwritten.size();
    for (size_t j = from; j < std::min(overwritten.size(), from + 1 + rng() % 16); ++j) {
      overwritten[j] = static_cast<char>(rng());
    }
    load_both_ways(path, overwritten, tally);
  }
  // The damage must actually reach the checks: some copies are rejected.
  EXPECT_GT(tally.rejected, 0) << path;
}

TEST(DataCorruption, PlainJsonLines) {
  dpok::testing::TempDir dir;
  fuzz(dir / "d.jsonl", jsonl_fixture());
}

TEST(DataCorruption, GzipJsonLines) {
  dpok::testing::TempDir dir;
  fuzz(dir / "d.jsonl.gz", testing::gzip(jsonl_fixture()));
}

TEST(DataCorruption, ZstdJsonLines) {
  dpok::testing::TempDir dir;
  fuzz(dir / "d.jsonl.zst", testing::zstd(jsonl_fixture()));
}

TEST(DataCorruption, JsonArray) {
  dpok::testing::TempDir dir;
  fuzz(dir / "d.json", array_fixture(jsonl_fixture()));
}

// Malformed data specifications (unbalanced brackets, stray escapes, empty items): each expands
// to existing files or throws dpok::Error.
TEST(DataCorruption, MalformedGlobPatterns) {
  dpok::testing::TempDir dir;
  for (const char* name : {"a.jsonl", "b.jsonl.gz", "[c].json"}) write_plain(dir / name, "{}\n");
  const std::string alphabet = "*?[]!^-\\,/.abcj";
  std::mt19937 rng(kSeed);
  Tally tally;
  for (int i = 0; i < 300; ++i) {
    std::string spec = dir.path().string() + "/";
    if (i == 0) spec += "[ab]*";  // known to match, then random
    for (size_t n = i == 0 ? 0 : 1 + rng() % 8; n > 0; --n) {
      spec += alphabet[rng() % alphabet.size()];
    }
    try {  // anything but dpok::Error escapes and fails the test
      for (const auto& file : expand_data_spec(spec)) EXPECT_TRUE(fs::exists(file)) << spec;
      ++tally.loaded;
    } catch (const Error&) {
      ++tally.rejected;
    }
  }
  EXPECT_GT(tally.loaded, 0);
  EXPECT_GT(tally.rejected, 0);
}

}  // namespace
}  // namespace dpok::data
