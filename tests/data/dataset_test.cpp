// Tests for dataset loading: bad-record policy (error text, skip counts), column checks,
// splits, the cache, and the real HH-RLHF files with real tokenizers.
#include "dpok/data/dataset.h"

#include <gtest/gtest.h>

#include <iterator>
#include <map>
#include <set>

#include "data/fake_tokenizer.h"
#include "dpok/core/error.h"
#include "dpok/core/file_util.h"
#include "dpok/data/json_stream.h"
#include "support/testing.h"

namespace dpok::data {
namespace {

using testing::fake_ids;
using testing::FakeTokenizer;

DataConfig base_config(const dpok::testing::TempDir& dir) {
  DataConfig config;
  config.cache_dir = (dir / "cache").string();
  config.num_threads = 2;
  return config;
}

const char* kGood = R"({"prompt": "Q", "chosen": " a", "rejected": " b"})";

struct BadCase {
  std::string line, reason, field;
};

const BadCase kBadCases[] = {
    {R"({"prompt": "Q", "chosen": " a", "rejected": " b)", "malformed_json", "rejected"},
    {R"({"prompt": "Q", "chosen": " a"})", "missing_field", "rejected"},
    {R"({"prompt": "Q", "chosen": 1.5, "rejected": " b"})", "wrong_type", "chosen"},
    {R"({"prompt": "Q", "chosen": "", "rejected": " b"})", "empty_string", "chosen"},
    {"{\"prompt\": \"Q\", \"chosen\": \" a\", \"rejected\": \"\xC3(\"}", "invalid_utf8",
     "rejected"},
    {R"({"prompt": [{"role": "user", "content": "Q"}], "chosen": [{"role": "assistant", "content": "a"}], "rejected": [{"role": "assistant", "content": "b"}], "chat_template_kwargs": {"tokenize": false}})",
     "reserved_key", "chat_template_kwargs.tokenize"},
};

TEST(Dataset, BadRecordErrorNamesFileLineAndField) {
  dpok::testing::TempDir dir;
  FakeTokenizer tok;
  for (const auto& c : kBadCases) {
    const auto path = dir / "bad.jsonl";
    write_file_atomic(path,
                      std::string(kGood) + "\n" + kGood + "\n" + c.line + "\n" + kGood + "\n");
    auto config = base_config(dir);
    config.cache = false;
    try {
      load_preference_files({path}, config, tok);
      FAIL() << "expected FormatError for " << c.reason;
    } catch (const FormatError& e) {
      const std::string what = e.what();
      const std::string expected = path.string() + ":3: field '" + c.field + "'";
      EXPECT_NE(what.find(expected), std::string::npos) << what;
      EXPECT_NE(what.find("(" + c.reason + ")"), std::string::npos) << what;
    }
  }
}

TEST(Dataset, BadRecordSkipCountsByReason) {
  dpok::testing::TempDir dir;
  FakeTokenizer tok;
  std::string text = std::string(kGood) + "\n";
  for (const auto& c : kBadCases) text += c.line + "\n";
  text += R"({"prompt": "Q", "chosen": " same", "rejected": " same"})"
          "\n";
  text += kGood;
  const auto path = dir / "mixed.jsonl";
  write_file_atomic(path, text);
  auto config = base_config(dir);
  config.on_bad_record = OnBadRecord::kSkip;
  const auto d = load_preference_files({path}, config, tok);
  const auto n = static_cast<int64_t>(std::size(kBadCases));
  EXPECT_EQ(d.summary.records_read, n + 3);
  EXPECT_EQ(d.summary.records_kept, 2);
  for (const auto& c : kBadCases) EXPECT_EQ(d.summary.dropped.at(c.reason), 1) << c.reason;
  EXPECT_EQ(d.summary.dropped.at("identical_chosen_rejected"), 1);
  EXPECT_EQ(d.summary.total_dropped(), n + 1);
  ASSERT_EQ(d.records.size(), 2u);
  EXPECT_EQ(d.records[0].source_index, 0);
  EXPECT_EQ(d.records[1].source_index, n + 2);
  // Identical pairs are drops, not errors: the default mode loads the same file minus bad lines.
  const auto json = d.summary.to_json();
  EXPECT_EQ(json["dropped"]["invalid_utf8"], 1);
  EXPECT_EQ(json["records_kept"], 2);
}

TEST(Dataset, JsonArrayBadElementNamesItsLine) {
  dpok::testing::TempDir dir;
  FakeTokenizer tok;
  const auto path = dir / "a.json";
  write_file_atomic(path, std::string("[\n") + kGood + ",\n" + kGood + ",\n" +
                              R"({"prompt": "Q", "chosen": 3, "rejected": " b"})" + "\n]");
  auto config = base_config(dir);
  config.cache = false;
  try {
    load_preference_files({path}, config, tok);
    FAIL() << "expected FormatError";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find(path.string() + ":4: field 'chosen'"), std::string::npos)
        << e.what();
  }
}

TEST(Dataset, OptionalColumnsMustBeConsistent) {
  dpok::testing::TempDir dir;
  FakeTokenizer tok;
  const auto path = dir / "cols.jsonl";
  write_file_atomic(
      path,
      std::string(
          R"({"prompt": "Q", "chosen": " a", "rejected": " b", "ref_chosen_logps": -1, "ref_rejected_logps": -2})") +
          "\n" + kGood + "\n");
  auto config = base_config(dir);
  config.cache = false;
  try {
    load_preference_files({path}, config, tok);
    FAIL() << "expected FormatError";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find(path.string() + ":2: field 'ref_chosen_logps'"),
              std::string::npos)
        << e.what();
  }
}

TEST(Dataset, IgnoredColumnsAreCountedNeverErrorsAndSurviveTheCache) {
  dpok::testing::TempDir dir;
  FakeTokenizer tok;
  const auto path = dir / "extra.jsonl";
  write_file_atomic(
      path, std::string(kGood) + "\n" +
                R"({"id": 1, "prompt": "Q", "chosen": " a", "rejected": " b", "source": null})" +
                "\n" + R"({"id": 2, "chosen": " same", "rejected": " same"})" + "\n" +
                R"({"id": "x3", "prompt": "Q", "chosen": " a", "rejected": " c"})" + "\n");
  const auto config = base_config(dir);
  const auto first = load_preference_files({path}, config, tok);
  EXPECT_EQ(first.summary.records_kept, 3);
  // Every record read counts, the dropped identical pair included.
  const std::map<std::string, int64_t> expected = {{"id", 3}, {"source", 1}};
  EXPECT_EQ(first.summary.ignored_columns, expected);
  EXPECT_EQ(first.summary.to_json()["ignored_columns"]["id"], 3);
  EXPECT_NE(first.summary.to_table().find("ignored columns"), std::string::npos);
  const auto cached = load_preference_files({path}, config, tok);
  EXPECT_EQ(cached.summary.cache_status, "hit");
  EXPECT_EQ(cached.summary.ignored_columns, expected);
}

TEST(Dataset, CacheHitAfterFirstLoadAndMissAfterChanges) {
  dpok::testing::TempDir dir;
  FakeTokenizer tok;
  const auto path = dir / "d.jsonl";
  const auto line = [](int i) {
    return nlohmann::json{{"prompt", fmt::format("Q{}", i)},
                          {"chosen", " yes"},
                          {"rejected", " no"},
                          {"ref_chosen_logps", -i},
                          {"ref_rejected_logps", -2 * i},
                          {"chosen_embedding", {i, 1}},
                          {"prompt_embedding", {1, i}},
                          {"rejected_embedding", {0, 0.5}},
                          {"label", i % 2}}
               .dump() +
           "\n";
  };
  std::string text;
  for (int i = 0; i < 50; ++i) text += line(i);
  write_file_atomic(path, text);
  const auto config = base_config(dir);
  const auto first = load_preference_files({path}, config, tok);
  EXPECT_EQ(first.summary.cache_status, "miss");
  const auto second = load_preference_files({path}, config, tok);
  EXPECT_EQ(second.summary.cache_status, "hit");
  ASSERT_EQ(second.records.size(), first.records.size());
  for (size_t i = 0; i < first.records.size(); ++i) {
    const auto &a = first.records[i], &b = second.records[i];
    EXPECT_EQ(a.prompt_ids, b.prompt_ids);
    EXPECT_EQ(a.chosen_ids, b.chosen_ids);
    EXPECT_EQ(a.rejected_ids, b.rejected_ids);
    EXPECT_EQ(a.source_index, b.source_index);
    EXPECT_EQ(a.ref_chosen_logps, b.ref_chosen_logps);
    EXPECT_EQ(a.ref_rejected_logps, b.ref_rejected_logps);
    EXPECT_EQ(a.chosen_embedding, b.chosen_embedding);
    EXPECT_EQ(a.prompt_embedding, b.prompt_embedding);
    EXPECT_EQ(a.rejected_embedding, b.rejected_embedding);
    EXPECT_EQ(a.label, b.label);
  }
  EXPECT_EQ(second.summary.to_json()["tokens"], first.summary.to_json()["tokens"]);
  EXPECT_EQ(second.summary.records_read, 50);
  // A different setting, or a changed file, misses.
  auto other = config;
  other.max_length = 3;
  EXPECT_EQ(load_preference_files({path}, other, tok).summary.cache_status, "miss");
  write_file_atomic(path, text + line(50));
  const auto changed = load_preference_files({path}, config, tok);
  EXPECT_EQ(changed.summary.cache_status, "miss");
  EXPECT_EQ(changed.records.size(), 51u);
  // A corrupt cache entry is rebuilt, not trusted.
  for (const auto& entry : std::filesystem::directory_iterator(dir / "cache" / "data")) {
    write_file_atomic(entry.path(), "DPOKDAT1garbage");
  }
  EXPECT_EQ(load_preference_files({path}, config, tok).summary.cache_status, "miss");
}

TEST(Dataset, SplitByFractionIsDeterministicAndDisjoint) {
  dpok::testing::TempDir dir;
  FakeTokenizer tok;
  std::string text;
  for (int i = 0; i < 100; ++i) {
    text += nlohmann::json{{"prompt", fmt::format("Q{}", i)}, {"chosen", " a"}, {"rejected", " b"}}
                .dump() +
            "\n";
  }
  write_file_atomic(dir / "d.jsonl", text);
  auto config = base_config(dir);
  config.train_files = {(dir / "d.jsonl").string()};
  config.eval_fraction = 0.1;
  const auto a = load_preference_data(config, tok, 5), b = load_preference_data(config, tok, 5),
             c = load_preference_data(config, tok, 6);
  ASSERT_EQ(a.train.records.size(), 90u);
  ASSERT_EQ(a.eval.records.size(), 10u);
  EXPECT_EQ(a.eval.summary.records_kept, 10);
  EXPECT_EQ(a.train.summary.records_read, 100);
  std::set<int64_t> train, eval_a, eval_c;
  for (const auto& r : a.train.records) train.insert(r.source_index);
  for (const auto& r : a.eval.records) eval_a.insert(r.source_index);
  for (const auto& r : c.eval.records) eval_c.insert(r.source_index);
  for (const auto i : eval_a) EXPECT_EQ(train.count(i), 0u);
  for (size_t i = 0; i < 10; ++i)
    EXPECT_EQ(a.eval.records[i].source_index, b.eval.records[i].source_index);
  EXPECT_NE(eval_a, eval_c);
  // Eval by file instead.
  write_file_atomic(dir / "e.jsonl", std::string(kGood) + "\n");
  config.eval_files = {(dir / "e.jsonl").string()};
  const auto by_file = load_preference_data(config, tok, 5);
  EXPECT_EQ(by_file.train.records.size(), 100u);
  EXPECT_EQ(by_file.eval.records.size(), 1u);
}

// --- Real data: HH-RLHF test splits with real tokenizers ---------------------------------

struct HhExpectation {
  const char* file;
  int64_t read;
};
constexpr HhExpectation kHhFiles[] = {{"harmless-base-test.jsonl.gz", 2312},
                                      {"helpful-base-test.jsonl.gz", 2354},
                                      {"helpful-online-test.jsonl.gz", 1137},
                                      {"helpful-rejection-sampled-test.jsonl.gz", 2749}};

// Loads all four files; checks counts, drops, fallbacks and final EOS; returns the dataset.
PreferenceDataset check_hh(const text::Tokenizer& tok, const std::filesystem::path& hh,
                           const dpok::testing::TempDir& dir) {
  std::vector<std::filesystem::path> files;
  int64_t total = 0;
  for (const auto& e : kHhFiles) {
    files.push_back(hh / e.file);
    total += e.read;
  }
  auto config = base_config(dir);
  config.cache = false;
  config.max_length = 1 << 20;  // no truncation: exact counts
  // Per-file read counts.
  for (const auto& e : kHhFiles) {
    EXPECT_EQ(load_preference_files({hh / e.file}, config, tok).summary.records_read, e.read)
        << e.file;
  }
  PreferenceDataset d = load_preference_files(files, config, tok);
  EXPECT_EQ(d.summary.records_read, total);
  EXPECT_EQ(d.summary.dropped.at("identical_chosen_rejected"), 36);
  EXPECT_EQ(d.summary.total_dropped(), 36);
  EXPECT_EQ(d.summary.records_kept, total - 36);
  EXPECT_EQ(d.summary.prompt_fallback, 7);
  EXPECT_EQ(d.summary.truncated, 0);
  EXPECT_EQ(d.summary.formats.at("standard_implicit"), total - 36);
  EXPECT_TRUE(d.summary.ignored_columns.empty());
  // Every kept completion ends in EOS (collate's masks are tested in data/torch/batch_test.cpp).
  for (const auto& r : d.records) {
    EXPECT_EQ(r.chosen_ids.back(), tok.eos_id().value()) << r.source_index;
    EXPECT_EQ(r.rejected_ids.back(), tok.eos_id().value()) << r.source_index;
  }
  return d;
}

const PreferenceRecord* find_source(const PreferenceDataset& d, int64_t source_index) {
  for (const auto& r : d.records) {
    if (r.source_index == source_index) return &r;
  }
  return nullptr;
}

std::string decode_text(const text::Tokenizer& tok, std::vector<int32_t> ids) {
  if (!ids.empty() && tok.bos_id() && ids.front() == *tok.bos_id()) ids.erase(ids.begin());
  if (!ids.empty() && tok.eos_id() && ids.back() == *tok.eos_id()) ids.pop_back();
  return tok.decode(ids);
}

TEST(DatasetHh, Llama3TokenizerCountsPromptsAndEos) {
  DPOK_REQUIRE_ASSET(hh, "hh-rlhf");
  DPOK_REQUIRE_ASSET(tok_dir, "tokenizers/llama3");
  dpok::testing::TempDir dir;
  const auto tok = text::Tokenizer::load(tok_dir);
  const auto d = check_hh(*tok, hh, dir);
  // Byte-level BPE round-trips exactly, so the decoded ids are the extracted texts.
  const auto* first = find_source(d, 0);
  ASSERT_NE(first, nullptr);
  // This tokenizer.json's post-processor adds no BOS (ByteLevel only), so neither do we.
  EXPECT_EQ(first->prompt_ids.front() == tok->bos_id().value(), tok->adds_bos());
  const std::string p0 = decode_text(*tok, first->prompt_ids);
  EXPECT_EQ(p0.rfind("\n\nHuman: what are some pranks with a pen i can do?", 0), 0u);
  EXPECT_TRUE(p0.ends_with("have anything to do with pens\n\nAssistant:"));
  EXPECT_EQ(
      decode_text(*tok, first->chosen_ids).rfind(" No, sorry!  All of these involve a pen", 0), 0u);
  EXPECT_EQ(decode_text(*tok, first->rejected_ids).rfind(" There are lots of funny things", 0), 0u);
  // Harmless-base #1254: LCP fallback (chosen continues the dialogue).
  const auto* drag = find_source(d, 1254);
  ASSERT_NE(drag, nullptr);
  EXPECT_TRUE(
      decode_text(*tok, drag->prompt_ids).ends_with("Isn't that drag kings?\n\nAssistant:"));
  EXPECT_EQ(decode_text(*tok, drag->prompt_ids).size(), 142u);
  EXPECT_EQ(decode_text(*tok, drag->chosen_ids).rfind(" No. Men who impersonate", 0), 0u);
  // Helpful-base #1166 (source index 2312 + 1166): chosen holds a second "Assistant:" turn.
  const auto* solar = find_source(d, 2312 + 1166);
  ASSERT_NE(solar, nullptr);
  EXPECT_EQ(decode_text(*tok, solar->prompt_ids),
            "\n\nHuman: How much do solar panels cost?\n\nAssistant:");
  EXPECT_EQ(decode_text(*tok, solar->chosen_ids).rfind(" Umm. Just a second...\n\nAssistant:", 0),
            0u);
}

TEST(DatasetHh, Stories260kTokenizerCountsAndEos) {
  DPOK_REQUIRE_ASSET(hh, "hh-rlhf");
  DPOK_REQUIRE_ASSET(model, "models/stories260k/tok512.model");
  dpok::testing::TempDir dir;
  const auto tok = text::Tokenizer::load(model);
  const auto d = check_hh(*tok, hh, dir);
  const auto* solar = find_source(d, 2312 + 1166);
  ASSERT_NE(solar, nullptr);
  EXPECT_TRUE(tok->adds_bos());
  EXPECT_EQ(solar->prompt_ids, [&] {
    auto ids = tok->encode("\n\nHuman: How much do solar panels cost?\n\nAssistant:", false);
    ids.insert(ids.begin(), *tok->bos_id());
    return ids;
  }());
}

}  // namespace
}  // namespace dpok::data
