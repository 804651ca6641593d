// Conversational records through real chat templates (qwen3, llama3): rendered text equals
// jinja2's rendering (fixtures/chat_expected.json, made by
// render_chat_reference.py with TRL's prompt extraction and the records' chat_template_kwargs),
// and the prompt's ids are a prefix of the full ids. Fixtures: chat_records.jsonl (the four
// formats' conversational shapes) and ultrafeedback_records.jsonl (HuggingFaceH4/
// ultrafeedback_binarized's shape, one record with {"enable_thinking": false}).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>

#include "dpok/core/file_util.h"
#include "dpok/data/dataset.h"
#include "dpok/data/encode.h"
#include "dpok/data/formats.h"
#include "dpok/text/tokenizer.h"
#include "support/python_oracle.h"
#include "support/testing.h"

namespace dpok::data {
namespace {

const std::filesystem::path kHere = std::filesystem::path(__FILE__).parent_path();

std::vector<std::string> record_lines(const std::string& fixture) {
  std::ifstream in(kHere / "fixtures" / (fixture + ".jsonl"));
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

void check_fixture(const std::string& fixture, const std::string& name) {
  const auto dir = dpok::testing::find_asset("tokenizers/" + name);
  if (dir.empty()) {
    if (dpok::testing::running_in_ci()) FAIL() << "missing asset tokenizers/" << name;
    GTEST_SKIP() << "tokenizers/" << name << " not found";
  }
  const auto tok = text::Tokenizer::load(dir);
  ASSERT_TRUE(tok->has_chat_template());
  const auto expected = nlohmann::json::parse(read_file(kHere / "fixtures" / "chat_expected.json"))
                            .at(fixture)
                            .at(name);
  const auto lines = record_lines(fixture);
  ASSERT_EQ(expected.size(), lines.size());
  const RecordParser parser{DataConfig{}};
  const PairEncoder encoder(*tok, EncodeOptions{});
  for (size_t i = 0; i < lines.size(); ++i) {
    SCOPED_TRACE(fixture + " " + name + " record " + std::to_string(i));
    const auto parsed = parser.parse(lines[i]);
    ASSERT_TRUE(parsed.pair.has_value());
    EXPECT_TRUE(is_conversational(parsed.pair->format));
    const auto& want = expected[i];
    const auto prompt = want.at("prompt").get<std::string>();
    const auto chosen_full = want.at("chosen_full").get<std::string>();
    const auto rejected_full = want.at("rejected_full").get<std::string>();
    // Rendered text matches jinja2 byte for byte.
    const auto rendered = encoder.render(*parsed.pair);
    EXPECT_TRUE(rendered.templated);
    EXPECT_EQ(rendered.prompt, prompt);
    EXPECT_EQ(rendered.prompt + rendered.chosen, chosen_full);
    EXPECT_EQ(rendered.prompt + rendered.rejected, rejected_full);
    // Tokenized: prompt ids are a prefix, completion ids are the rest, no special tokens added.
    const auto encoded = encoder.encode(*parsed.pair);
    ASSERT_TRUE(encoded.record.has_value()) << (encoded.issue ? encoded.issue->message : "");
    const auto& r = *encoded.record;
    EXPECT_EQ(r.prompt_ids, tok->encode(prompt, false));
    auto full = r.prompt_ids;
    full.insert(full.end(), r.chosen_ids.begin(), r.chosen_ids.end());
    EXPECT_EQ(full, tok->encode(chosen_full, false));
    full = r.prompt_ids;
    full.insert(full.end(), r.rejected_ids.begin(), r.rejected_ids.end());
    EXPECT_EQ(full, tok->encode(rejected_full, false));
    // The template writes BOS at most once.
    if (tok->bos_id()) {
      EXPECT_LE(std::count(r.prompt_ids.begin(), r.prompt_ids.end(), *tok->bos_id()), 1);
    }
  }
}

TEST(EncodeChat, Qwen3TemplateMatchesJinja2AndPrefixHolds) {
  check_fixture("chat_records", "qwen3");
}
TEST(EncodeChat, Llama3TemplateMatchesJinja2AndPrefixHolds) {
  check_fixture("chat_records", "llama3");
}
TEST(EncodeChat, UltrafeedbackQwen3MatchesJinja2AndPrefixHolds) {
  check_fixture("ultrafeedback_records", "qwen3");
}
TEST(EncodeChat, UltrafeedbackLlama3MatchesJinja2AndPrefixHolds) {
  check_fixture("ultrafeedback_records", "llama3");
}

TEST(EncodeChat, EnableThinkingFalseMovesQwen3sEmptyThinkBlockIntoThePrompt) {
  // Records 0 and 1 of the ultrafeedback fixture differ only in chat_template_kwargs
  // {"enable_thinking": false}. Qwen3's generation prompt then ends with the empty think block,
  // which otherwise opens the rendered answer.
  DPOK_REQUIRE_ASSET(dir, "tokenizers/qwen3");
  const auto tok = text::Tokenizer::load(dir);
  const auto lines = record_lines("ultrafeedback_records");
  const RecordParser parser{DataConfig{}};
  const PairEncoder encoder(*tok, EncodeOptions{});
  const auto plain = parser.parse(lines[0]).pair.value();
  const auto no_thinking = parser.parse(lines[1]).pair.value();
  const auto a = encoder.render(plain), b = encoder.render(no_thinking);
  const std::string think = "<think>\n\n</think>\n\n";
  EXPECT_EQ(b.prompt, a.prompt + think);
  EXPECT_EQ(a.chosen, think + b.chosen);
  EXPECT_EQ(a.prompt + a.chosen, b.prompt + b.chosen);
  EXPECT_EQ(b.chosen, "The capital of France is Paris.<|im_end|>\n");
  const auto ra = encoder.encode(plain).record.value(),
             rb = encoder.encode(no_thinking).record.value();
  EXPECT_GT(rb.prompt_ids.size(), ra.prompt_ids.size());
  EXPECT_EQ(ra.prompt_ids.size() + ra.chosen_ids.size(),
            rb.prompt_ids.size() + rb.chosen_ids.size());
}

TEST(EncodeChat, LoadsConversationalFileThroughTheDataset) {
  DPOK_REQUIRE_ASSET(dir, "tokenizers/qwen3");
  const auto tok = text::Tokenizer::load(dir);
  DataConfig config;
  config.cache = false;
  const auto d = load_preference_files({kHere / "fixtures" / "chat_records.jsonl"}, config, *tok);
  EXPECT_EQ(d.summary.records_kept, 4);
  EXPECT_EQ(d.summary.formats.at("conversational_explicit"), 2);
  EXPECT_EQ(d.summary.formats.at("conversational_implicit"), 2);
  EXPECT_TRUE(d.summary.ignored_columns.empty());
}

TEST(EncodeChat, LoadsUltrafeedbackThroughTheDatasetCountingIgnoredColumns) {
  DPOK_REQUIRE_ASSET(dir, "tokenizers/qwen3");
  const auto tok = text::Tokenizer::load(dir);
  DataConfig config;
  config.cache = false;
  const auto d =
      load_preference_files({kHere / "fixtures" / "ultrafeedback_records.jsonl"}, config, *tok);
  EXPECT_EQ(d.summary.records_kept, 4);
  EXPECT_EQ(d.summary.formats.at("conversational_implicit"), 4);
  const std::map<std::string, int64_t> ignored = {
      {"messages", 4}, {"prompt", 4}, {"prompt_id", 4}, {"score_chosen", 4}, {"score_rejected", 4}};
  EXPECT_EQ(d.summary.ignored_columns, ignored);
  EXPECT_EQ(d.summary.to_json()["ignored_columns"]["prompt_id"], 4);
  EXPECT_NE(d.summary.to_table().find("    score_chosen"), std::string::npos);
}

TEST(EncodeChat, ReferenceRegeneratesIdentically) {
  DPOK_REQUIRE_PYTHON("jinja2");
  DPOK_REQUIRE_ASSET(assets_tok, "tokenizers/qwen3");
  dpok::testing::TempDir tmp;
  const auto out = tmp / "expected.json";
  const std::string command =
      "DPOK_ASSETS='" + dpok::testing::assets_dir().string() + "' " + dpok::testing::python() +
      " '" + (kHere / "render_chat_reference.py").string() + "' --out '" + out.string() + "'";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  EXPECT_EQ(read_file(out), read_file(kHere / "fixtures" / "chat_expected.json"));
}

}  // namespace
}  // namespace dpok::data
