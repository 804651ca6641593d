// Tokenizers from GGUF metadata against transformers' own GGUF tokenizer loading
// (tests/text/gguf_tokenizer_reference.py) on the edge cases and every HH-RLHF text: SmolLM2's
// byte-level BPE (gpt2) when fetched, and a SentencePiece vocabulary written into a GGUF (llama)
// by the gguf package; plus the errors for malformed metadata.
#include "dpok/text/gguf_tokenizer.h"

#include <fmt/format.h>

#include <cstdlib>
#include <fstream>

#include "dpok/core/error.h"
#include "dpok/io/gguf.h"
#include "dpok/text/tokenizer_path.h"
#include "support/python_oracle.h"
#include "support/testing.h"

namespace dpok::text {
namespace {

namespace fs = std::filesystem;
using ::dpok::testing::throws_with;
using Ids = std::vector<int32_t>;

const fs::path kTestDir = fs::path(__FILE__).parent_path();

// The GGUF files the reference script writes (llama vocabulary and malformed variants).
nlohmann::json make_files(const ::dpok::testing::TempDir& dir) {
  const std::string command =
      fmt::format("{} '{}' make '{}' '{}' > '{}'", ::dpok::testing::python(),
                  (kTestDir / "gguf_tokenizer_reference.py").string(), dir.path().string(),
                  (::dpok::testing::assets_dir() / "models/stories260k/tok512.model").string(),
                  (dir / "files.json").string());
  EXPECT_EQ(std::system(command.c_str()), 0) << command;
  std::ifstream in(dir / "files.json");
  return nlohmann::json::parse(in);
}

void expect_matches_transformers(const fs::path& gguf) {
  ::dpok::testing::TempDir tmp;
  const fs::path out = tmp / "reference.jsonl";
  const std::string command =
      fmt::format("{} '{}' encode '{}' '{}' '{}'", ::dpok::testing::python(),
                  (kTestDir / "gguf_tokenizer_reference.py").string(), gguf.string(),
                  ::dpok::testing::assets_dir().string(), out.string());
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  const auto tokenizer = Tokenizer::load(gguf);
  std::ifstream in(out);
  std::string line;
  int texts = 0, chats = 0, failures = 0;
  while (std::getline(in, line) && failures < 5) {
    const auto record = nlohmann::json::parse(line);
    if (record.contains("chat")) {
      EXPECT_EQ(tokenizer->apply_chat_template(record.at("chat"), true),
                record.at("rendered").get<std::string>());
      ++chats;
      continue;
    }
    const std::string text = record.at("text");
    const Ids ids = tokenizer->encode(text, true);
    const Ids plain = tokenizer->encode(text, false);
    const bool ok = ids == record.at("ids").get<Ids>() && plain == record.at("plain").get<Ids>() &&
                    tokenizer->decode(plain) == record.at("decoded").get<std::string>();
    EXPECT_TRUE(ok) << "text " << texts << ": " << nlohmann::json(text).dump() << "\n ids "
                    << nlohmann::json(ids).dump() << "\n expected " << record.at("ids").dump()
                    << "\n decoded " << nlohmann::json(tokenizer->decode(plain)).dump() << " vs "
                    << record.at("decoded").dump();
    failures += ok ? 0 : 1;
    ++texts;
  }
  EXPECT_GT(texts, 17000) << "reference file too short";
  EXPECT_EQ(chats, tokenizer->has_chat_template() ? 2 : 0);
}

TEST(GgufTokenizer, SmolLM2MatchesTransformersOnAllHhTexts) {
  DPOK_REQUIRE_PYTHON("transformers gguf");
  DPOK_REQUIRE_MODEL(model, "smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf");
  EXPECT_EQ(find_tokenizer(model), model);  // the file carries its own tokenizer
  const auto tokenizer = Tokenizer::load(model);
  EXPECT_EQ(tokenizer->vocab_size(), 49152);
  EXPECT_EQ(tokenizer->eos_token(), "<|im_end|>");
  EXPECT_FALSE(tokenizer->adds_bos());
  expect_matches_transformers(model);
}

TEST(GgufTokenizer, SentencePieceVocabularyMatchesTransformersOnAllHhTexts) {
  DPOK_REQUIRE_PYTHON("transformers gguf sentencepiece");
  ::dpok::testing::TempDir dir;
  const auto files = make_files(dir);
  const fs::path gguf = files.at("llama").get<std::string>();
  const auto tokenizer = Tokenizer::load(gguf);
  EXPECT_TRUE(tokenizer->adds_bos());
  EXPECT_EQ(tokenizer->bos_token(), "<s>");
  expect_matches_transformers(gguf);
}

TEST(GgufTokenizer, MalformedMetadataNamesTheKey) {
  DPOK_REQUIRE_PYTHON("gguf sentencepiece");
  ::dpok::testing::TempDir dir;
  const auto files = make_files(dir);
  const auto load = [&](const char* name) {
    return [&files, name] { Tokenizer::load(files.at(name).get<std::string>()); };
  };
  EXPECT_TRUE(throws_with<FormatError>(load("gpt2_no_merges"),
                                       {"gpt2-no-merges.gguf", "tokenizer.ggml.merges"}));
  EXPECT_TRUE(throws_with<FormatError>(load("gpt2_bad_merge"),
                                       {"tokenizer.ggml.merges", "\"a c\"", "two tokens"}));
  EXPECT_TRUE(throws_with<FormatError>(load("types_length"),
                                       {"tokenizer.ggml.token_type", "511 values for 512 tokens"}));
  EXPECT_TRUE(throws_with<FormatError>(load("bos_range"),
                                       {"tokenizer.ggml.padding_token_id", "517", "512 tokens"}));
  EXPECT_TRUE(throws_with<FormatError>(load("template"), {"tokenizer.chat_template", "line 1"}));
  EXPECT_TRUE(throws_with<UnsupportedError>(load("unigram"), {"t5", "gpt2, llama"}));
}

}  // namespace
}  // namespace dpok::text
