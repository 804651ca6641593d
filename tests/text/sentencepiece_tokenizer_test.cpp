// SentencePieceTokenizer: LlamaTokenizer-style BOS, special-token splitting, decoding of control
// pieces, config overrides, and errors.
#include "dpok/text/sentencepiece_tokenizer.h"

#include <gtest/gtest.h>

#include <random>

#include "dpok/core/error.h"
#include "dpok/core/file_util.h"
#include "support/testing.h"
#include "text/text_fixtures.h"

namespace dpok::text {
namespace {

using Ids = std::vector<int32_t>;

TEST(SentencePieceTokenizer, Llama2Basics) {
  DPOK_REQUIRE_ASSET(model, "tokenizers/llama2-sentencepiece.model");
  const Tokenizer& tok = testing::cached_tokenizer(model);
  EXPECT_EQ(tok.vocab_size(), 32000);
  EXPECT_EQ(tok.bos_token(), "<s>");
  EXPECT_EQ(tok.eos_token(), "</s>");
  EXPECT_TRUE(tok.adds_bos());
  EXPECT_FALSE(tok.adds_eos());
  EXPECT_FALSE(tok.pad_id().has_value());  // Llama-2's model has no pad piece
  const Ids hello = tok.encode("Hello world", false);
  EXPECT_EQ(hello, (Ids{15043, 3186}));
  EXPECT_EQ(tok.encode("Hello world"), (Ids{1, 15043, 3186}));
  // Special text is split out and each remaining chunk gets the dummy prefix (legacy mode).
  EXPECT_EQ(tok.encode("Hello world</s>Hello world", false), (Ids{15043, 3186, 2, 15043, 3186}));
  const Ids plain = tok.encode("</s>", false, /*parse_special=*/false);
  EXPECT_EQ(std::count(plain.begin(), plain.end(), 2), 0);
  EXPECT_EQ(tok.decode(Ids{1, 15043, 3186, 2}), "<s>Hello world</s>");
  EXPECT_EQ(tok.decode(Ids{1, 15043, 3186, 2}, true), "Hello world");
  EXPECT_EQ(tok.decode(Ids{15043, 99999, -4}), "Hello");  // unknown ids are skipped
  EXPECT_EQ(tok.token_to_id("▁Hello"), 15043);
  EXPECT_EQ(tok.token_to_id("<unk>"), 0);
  EXPECT_FALSE(tok.token_to_id("not-a-piece").has_value());
  EXPECT_EQ(tok.id_to_token(15043), "▁Hello");
  EXPECT_THROW(tok.id_to_token(32000), ConfigError);
  EXPECT_TRUE(tok.encode("", false).empty());
}

TEST(SentencePieceTokenizer, ConfigOverridesBosEos) {
  DPOK_REQUIRE_ASSET(model, "tokenizers/llama2-sentencepiece.model");
  ::dpok::testing::TempDir tmp;
  std::filesystem::create_symlink(model, tmp / "tokenizer.model");
  testing::write_text(tmp / "tokenizer_config.json",
                      R"({"add_bos_token": false, "add_eos_token": true,
                                                        "pad_token": "<unk>", "chat_template": "x"})");
  const auto tok = Tokenizer::load(tmp.path());
  EXPECT_FALSE(tok->adds_bos());
  EXPECT_TRUE(tok->adds_eos());
  EXPECT_EQ(tok->pad_id(), 0);
  EXPECT_EQ(tok->bos_id(), 1);
  EXPECT_EQ(tok->encode("Hello world"), (Ids{15043, 3186, 2}));
  EXPECT_TRUE(tok->has_chat_template());
}

TEST(SentencePieceTokenizer, Errors) {
  ::dpok::testing::TempDir tmp;
  testing::write_text(tmp / "broken.model", std::string("\x0a\xff\xff\xff\x0f", 5));
  EXPECT_TRUE(::dpok::testing::throws_with<FormatError>(
      [&] { Tokenizer::load(tmp / "broken.model"); }, {"broken.model: not a SentencePiece model"}));
  DPOK_REQUIRE_ASSET(model, "models/stories260k/tok512.model");
  EXPECT_THROW(testing::cached_tokenizer(model).encode("\xE2\x82"), FormatError);
}

// Seeded corruption of tok512.model: loading either works or throws a dpok::Error, never crashes.
TEST(SentencePieceTokenizer, CorruptedModelsNeverCrash) {
  DPOK_REQUIRE_ASSET(model, "models/stories260k/tok512.model");
  const std::string bytes = read_file(model);
  ::dpok::testing::TempDir tmp;
  std::mt19937 rng(4321);
  int loaded = 0, rejected = 0;
  for (int round = 0; round < 300; ++round) {
    std::string corrupt = bytes;
    for (int k = 0, edits = 1 + static_cast<int>(rng() % 6); k < edits && !corrupt.empty(); ++k) {
      const size_t at = rng() % corrupt.size();
      switch (rng() % 3) {
        case 0:
          corrupt[at] = static_cast<char>(rng());
          break;
        case 1:
          corrupt.erase(at, 1 + rng() % 16);
          break;
        default:
          corrupt.resize(at);
          break;
      }
    }
    testing::write_text(tmp / "fuzz.model", corrupt);
    try {
      const auto tok = Tokenizer::load(tmp / "fuzz.model");
      ++loaded;
      const auto ids = tok->encode("Once upon a time, é \xF0\x9F\xA6\x99!");
      (void)tok->decode(ids);
    } catch (const Error&) {
      ++rejected;
    }
  }
  EXPECT_GT(loaded, 0);
  EXPECT_GT(rejected, 0);
}

}  // namespace
}  // namespace dpok::text
