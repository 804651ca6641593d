// Tests for the cache file format and key: round trip, corruption, key sensitivity.
#include "dpok/data/cache.h"

#include <gtest/gtest.h>

#include <random>

#include "data/fake_tokenizer.h"
#include "dpok/core/error.h"
#include "dpok/core/file_util.h"
#include "support/testing.h"

namespace dpok::data {
namespace {

PreferenceDataset sample() {
  PreferenceDataset d;
  PreferenceRecord a;
  a.prompt_ids = {1, 2, 3};
  a.chosen_ids = {4, 2};
  a.rejected_ids = {5};
  a.source_index = 3;
  a.ref_chosen_logps = -1.25f;
  a.label = 2;
  a.chosen_embedding = {0.5f, -0.5f};
  d.records.push_back(a);
  d.summary.records_read = 4;
  d.summary.dropped["empty_string"] = 1;
  d.summary.files = {"x.jsonl"};
  return d;
}

TEST(Cache, RoundTripsRecordsAndCounts) {
  const auto bytes = serialize_dataset(sample(), "k1");
  const auto d = parse_dataset(bytes, "k1", "mem");
  ASSERT_EQ(d.records.size(), 1u);
  const auto& r = d.records[0];
  EXPECT_EQ(r.prompt_ids, (std::vector<int32_t>{1, 2, 3}));
  EXPECT_EQ(r.source_index, 3);
  EXPECT_EQ(r.ref_chosen_logps, -1.25f);
  EXPECT_FALSE(r.ref_rejected_logps.has_value());
  EXPECT_EQ(r.label, 2);
  EXPECT_EQ(r.chosen_embedding, (std::vector<float>{0.5f, -0.5f}));
  EXPECT_TRUE(r.prompt_embedding.empty());
  EXPECT_EQ(d.summary.records_read, 4);
  EXPECT_EQ(d.summary.records_kept, 1);
  EXPECT_EQ(d.summary.dropped.at("empty_string"), 1);
}

// The message of the FormatError parse_dataset throws for `bytes` ("" when it parses).
std::string rejection(const std::string& bytes, const std::string& key = "k1") {
  try {
    parse_dataset(bytes, key, "/c/cache.bin");
  } catch (const FormatError& e) {
    return e.what();
  }
  return "";
}

TEST(Cache, CorruptFilesAreFormatErrorsNamingTheFile) {
  const auto bytes = serialize_dataset(sample(), "k1");
  const std::string prefix = "[data.cache] /c/cache.bin: ";
  EXPECT_NE(rejection(bytes, "k2").find(prefix + "written for key 'k1', expected 'k2'"),
            std::string::npos);
  EXPECT_NE(rejection(bytes.substr(0, bytes.size() - 3)).find(prefix + "header says"),
            std::string::npos);
  EXPECT_NE(rejection(bytes + "x").find(prefix + "header says"), std::string::npos);
  EXPECT_NE(rejection(bytes.substr(0, 20)).find(prefix + "20 bytes, shorter than the 64-byte"),
            std::string::npos);
  // A file of the first layout (magic "DPOKDAT1", no checksum) is never misread.
  EXPECT_NE(rejection("DPOKDAT1" + bytes.substr(64)).find(prefix + "not a dpok data cache"),
            std::string::npos);
  auto flipped = bytes;
  flipped[bytes.size() - 5] ^= 0x40;  // inside the last record
  EXPECT_NE(rejection(flipped).find(prefix + "checksum mismatch"), std::string::npos);
}

// Seeded fuzz: truncations and bit flips anywhere give a FormatError naming the file, never a
// crash or a dataset read from damaged bytes (the sanitizer job runs this).
TEST(Cache, FuzzedFilesAreRejected) {
  const auto bytes = serialize_dataset(sample(), "k1");
  std::mt19937 rng(20261203);
  for (int trial = 0; trial < 300; ++trial) {
    auto bad = bytes;
    if (trial % 2 == 0) {
      bad.resize(rng() % bytes.size());
    } else {
      const size_t pos = rng() % bad.size();
      bad[pos] = static_cast<char>(bad[pos] ^ (1 << (rng() % 8)));
    }
    ASSERT_NE(rejection(bad).find("/c/cache.bin"), std::string::npos) << "trial " << trial;
  }
}

TEST(Cache, KeyDependsOnFilesSettingsAndTokenizer) {
  dpok::testing::TempDir dir;
  write_file_atomic(dir / "a.jsonl", "{}\n");
  testing::FakeTokenizer tok, no_bos(false);
  DataConfig config;
  const auto key = cache_key({dir / "a.jsonl"}, config, tok);
  EXPECT_EQ(key, cache_key({dir / "a.jsonl"}, config, tok));
  EXPECT_NE(key, cache_key({dir / "a.jsonl"}, config, no_bos));
  auto other = config;
  other.truncation_mode = TruncationMode::kKeepEnd;
  EXPECT_NE(key, cache_key({dir / "a.jsonl"}, other, tok));
  other = config;
  other.field_map["prompt"] = "question";
  EXPECT_NE(key, cache_key({dir / "a.jsonl"}, other, tok));
  write_file_atomic(dir / "a.jsonl", "{}\n{}\n");
  EXPECT_NE(key, cache_key({dir / "a.jsonl"}, config, tok));
  // Settings that do not change the records (threads, cache dir) keep the key.
  other = config;
  other.num_threads = 7;
  other.cache_dir = "/elsewhere";
  EXPECT_EQ(cache_key({dir / "a.jsonl"}, config, tok), cache_key({dir / "a.jsonl"}, other, tok));
}

TEST(Cache, StoreAndLoad) {
  dpok::testing::TempDir dir;
  EXPECT_FALSE(load_cached(dir.path(), "abc").has_value());
  store_cached(dir.path(), "abc", sample());
  const auto loaded = load_cached(dir.path(), "abc");
  ASSERT_TRUE(loaded.has_value());
  EXPECT_EQ(loaded->records.size(), 1u);
  // A damaged entry is rebuilt rather than trusted.
  auto bytes = read_file(dir / "data" / "abc.bin");
  bytes[bytes.size() - 1] ^= 1;
  write_file_atomic(dir / "data" / "abc.bin", bytes);
  EXPECT_FALSE(load_cached(dir.path(), "abc").has_value());
}

}  // namespace
}  // namespace dpok::data
