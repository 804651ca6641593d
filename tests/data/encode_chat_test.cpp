// Conversational records through real chat templates (qwen3, llama3): rendered text equals
// Debian python3-jinja2's rendering (fixtures/chat_expected.json, made by
// render_chat_reference.py), and the prompt's ids are a prefix of the full ids.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>

#include "dpok/core/file_util.h"
#include "dpok/data/dataset.h"
#include "dpok/data/encode.h"
#include "dpok/data/formats.h"
#include "dpok/text/tokenizer.h"
#include "support/testing.h"

namespace dpok::data {
namespace {

const std::filesystem::path kHere = std::filesystem::path(__FILE__).parent_path();

std::vector<std::string> record_lines() {
  std::ifstream in(kHere / "fixtures" / "chat_records.jsonl");
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

void check_tokenizer(const std::string& name) {
  const auto dir = dpok::testing::find_asset("tokenizers/" + name);
  if (dir.empty()) {
    if (dpok::testing::running_in_ci()) FAIL() << "missing asset tokenizers/" << name;
    GTEST_SKIP() << "tokenizers/" << name << " not found";
  }
  const auto tok = text::Tokenizer::load(dir);
  ASSERT_TRUE(tok->has_chat_template());
  const auto expected =
      nlohmann::json::parse(read_file(kHere / "fixtures" / "chat_expected.json")).at(name);
  const auto lines = record_lines();
  ASSERT_EQ(expected.size(), lines.size());
  const RecordParser parser{DataConfig{}};
  const PairEncoder encoder(*tok, EncodeOptions{});
  for (size_t i = 0; i < lines.size(); ++i) {
    SCOPED_TRACE(name + " record " + std::to_string(i));
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
  check_tokenizer("qwen3");
}
TEST(EncodeChat, Llama3TemplateMatchesJinja2AndPrefixHolds) {
  check_tokenizer("llama3");
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
}

TEST(EncodeChat, ReferenceRegeneratesIdentically) {
  if (!std::filesystem::exists("/usr/bin/python3") ||
      std::system("/usr/bin/python3 -c 'import jinja2' 2>/dev/null") != 0) {
    if (dpok::testing::running_in_ci()) FAIL() << "/usr/bin/python3 with jinja2 is required in CI";
    GTEST_SKIP() << "/usr/bin/python3 with jinja2 not available";
  }
  DPOK_REQUIRE_ASSET(assets_tok, "tokenizers/qwen3");
  dpok::testing::TempDir tmp;
  const auto out = tmp / "expected.json";
  const std::string command =
      "DPOK_ASSETS='" + dpok::testing::assets_dir().string() + "' /usr/bin/python3 '" +
      (kHere / "render_chat_reference.py").string() + "' --out '" + out.string() + "'";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  EXPECT_EQ(read_file(out), read_file(kHere / "fixtures" / "chat_expected.json"));
}

}  // namespace
}  // namespace dpok::data
