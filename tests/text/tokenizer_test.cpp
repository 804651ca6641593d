// Tokenizer on the real assets: llama.cpp vectors, special tokens, HH-RLHF round trips,
// stories260K decoding, loading errors and batch encoding.
#include "dpok/text/tokenizer.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "dpok/core/error.h"
#include "support/testing.h"
#include "text/text_fixtures.h"

namespace dpok::text {
namespace {

using testing::cached_tokenizer;

std::string ids_string(const std::vector<int32_t>& ids) {
  std::string s;
  for (const int32_t id : ids) {
    s += ' ';
    s += std::to_string(id);
  }
  return s;
}

void expect_vectors(const Tokenizer& tokenizer, const std::filesystem::path& inp,
                    const std::filesystem::path& out) {
  const testing::VocabVectors v = testing::read_vocab_vectors(inp, out);
  ASSERT_EQ(v.inputs.size(), 46u);
  ASSERT_EQ(v.expected.size(), 46u);
  int matches = 0;
  for (size_t i = 0; i < v.inputs.size(); ++i) {
    const auto ids = tokenizer.encode(v.inputs[i], /*add_special_tokens=*/false);
    EXPECT_EQ(ids_string(ids), ids_string(v.expected[i]))
        << "vector " << i << ": \"" << v.inputs[i] << "\"";
    matches += ids == v.expected[i];
  }
  EXPECT_EQ(matches, 46);
}

TEST(TokenizerVectors, Gpt2) {
  DPOK_REQUIRE_ASSET(tok, "tokenizers/gpt2");
  DPOK_REQUIRE_ASSET(inp, "tokenizers/vectors/gpt-2.inp");
  DPOK_REQUIRE_ASSET(out, "tokenizers/vectors/gpt-2.out");
  expect_vectors(cached_tokenizer(tok), inp, out);
}

TEST(TokenizerVectors, Llama3) {
  DPOK_REQUIRE_ASSET(tok, "tokenizers/llama3");
  DPOK_REQUIRE_ASSET(inp, "tokenizers/vectors/llama-bpe.inp");
  DPOK_REQUIRE_ASSET(out, "tokenizers/vectors/llama-bpe.out");
  expect_vectors(cached_tokenizer(tok), inp, out);
}

TEST(TokenizerVectors, Qwen3) {
  DPOK_REQUIRE_ASSET(tok, "tokenizers/qwen3");
  DPOK_REQUIRE_ASSET(inp, "tokenizers/vectors/qwen2.inp");
  DPOK_REQUIRE_ASSET(out, "tokenizers/vectors/qwen2.out");
  expect_vectors(cached_tokenizer(tok), inp, out);
}

// llama.cpp's llama-spm vectors carry no BOS: they are encode(text, add_special_tokens=false).
TEST(TokenizerVectors, Llama2SentencePiece) {
  DPOK_REQUIRE_ASSET(tok, "tokenizers/llama2-sentencepiece.model");
  DPOK_REQUIRE_ASSET(inp, "tokenizers/vectors/llama-spm.inp");
  DPOK_REQUIRE_ASSET(out, "tokenizers/vectors/llama-spm.out");
  expect_vectors(cached_tokenizer(tok), inp, out);
}

TEST(TokenizerSpecial, Llama3BeginOfText) {
  DPOK_REQUIRE_ASSET(dir, "tokenizers/llama3");
  const Tokenizer& tok = cached_tokenizer(dir);
  EXPECT_EQ(tok.bos_id(), 128000);
  EXPECT_EQ(tok.eos_id(), 128001);
  EXPECT_EQ(tok.bos_token(), "<|begin_of_text|>");
  // This tokenizer.json's post-processor is ByteLevel only and its config has no add_bos_token,
  // so transformers adds nothing; the text of the token is still parsed as the token.
  EXPECT_FALSE(tok.adds_bos());
  EXPECT_EQ(tok.encode("Hello", true), tok.encode("Hello", false));
  EXPECT_EQ(tok.encode("<|begin_of_text|>Hello"), (std::vector<int32_t>{128000, 9906}));
  const auto plain = tok.encode("<|begin_of_text|>Hello", true, /*parse_special=*/false);
  EXPECT_GT(plain.size(), 2u);
  EXPECT_EQ(std::count(plain.begin(), plain.end(), 128000), 0);
  EXPECT_EQ(tok.decode(plain), "<|begin_of_text|>Hello");
  EXPECT_EQ(tok.decode(std::vector<int32_t>{128000, 9906}), "<|begin_of_text|>Hello");
  EXPECT_EQ(tok.decode(std::vector<int32_t>{128000, 9906}, /*skip_special_tokens=*/true), "Hello");
}

TEST(TokenizerSpecial, Llama3AddBosFromConfig) {
  DPOK_REQUIRE_ASSET(dir, "tokenizers/llama3");
  ::dpok::testing::TempDir tmp;
  std::filesystem::create_symlink(dir / "tokenizer.json", tmp / "tokenizer.json");
  testing::write_text(tmp / "tokenizer_config.json",
                      R"({"bos_token": "<|begin_of_text|>", "eos_token": "<|end_of_text|>",
                          "add_bos_token": true, "add_eos_token": true})");
  const auto tok = Tokenizer::load(tmp.path());
  EXPECT_TRUE(tok->adds_bos());
  EXPECT_TRUE(tok->adds_eos());
  EXPECT_EQ(tok->encode("Hello"), (std::vector<int32_t>{128000, 9906, 128001}));
  EXPECT_EQ(tok->encode("Hello", false), (std::vector<int32_t>{9906}));
}

TEST(TokenizerSpecial, Qwen3ImStart) {
  DPOK_REQUIRE_ASSET(dir, "tokenizers/qwen3");
  const Tokenizer& tok = cached_tokenizer(dir);
  EXPECT_FALSE(tok.bos_id().has_value());
  EXPECT_EQ(tok.eos_id(), 151645);
  EXPECT_EQ(tok.pad_id(), 151643);
  EXPECT_EQ(tok.vocab_size(), 151669);
  EXPECT_FALSE(tok.adds_bos());
  EXPECT_TRUE(tok.has_chat_template());
  const std::string text = "<|im_start|>user\nHi<|im_end|>";
  const auto ids = tok.encode(text);
  ASSERT_GE(ids.size(), 4u);
  EXPECT_EQ(ids.front(), 151644);
  EXPECT_EQ(ids.back(), 151645);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), 151644), 1);
  const auto plain = tok.encode(text, true, /*parse_special=*/false);
  EXPECT_EQ(std::count(plain.begin(), plain.end(), 151644), 0);
  EXPECT_EQ(std::count(plain.begin(), plain.end(), 151645), 0);
  EXPECT_EQ(tok.decode(plain), text);
  EXPECT_EQ(tok.decode(ids), text);
  EXPECT_EQ(tok.decode(ids, /*skip_special_tokens=*/true), "user\nHi");
  // <think> is an added but not special token: matched even without special parsing.
  EXPECT_EQ(tok.encode("<think>", true, false), (std::vector<int32_t>{151667}));
  EXPECT_EQ(tok.token_to_id("<|im_start|>"), 151644);
  EXPECT_EQ(tok.id_to_token(151644), "<|im_start|>");
  EXPECT_THROW(tok.id_to_token(tok.vocab_size()), ConfigError);
}

// decode(encode(x)) == x on every HH-RLHF text, for the three byte-level tokenizers.
TEST(TokenizerRoundTrip, HhRlhfByteLevel) {
  DPOK_REQUIRE_ASSET(data, "hh-rlhf");
  std::vector<std::string> texts;
  for (const char* name :
       {"harmless-base-test.jsonl.gz", "helpful-base-test.jsonl.gz", "helpful-online-test.jsonl.gz",
        "helpful-rejection-sampled-test.jsonl.gz"}) {
    const auto file_texts = testing::read_hh_rlhf_texts(data / name);
    texts.insert(texts.end(), file_texts.begin(), file_texts.end());
  }
  ASSERT_EQ(texts.size(), 2u * (2312 + 2354 + 1137 + 2749));
#if !defined(NDEBUG) || defined(__SANITIZE_ADDRESS__)
  // Debug and sanitizer builds (the ASan CI job) are ~20x slower: every 16th text there.
  std::vector<std::string> subset;
  for (size_t i = 0; i < texts.size(); i += 16) subset.push_back(texts[i]);
  texts.swap(subset);
#endif
  for (const char* name : {"tokenizers/gpt2", "tokenizers/llama3", "tokenizers/qwen3"}) {
    DPOK_REQUIRE_ASSET(dir, name);
    const Tokenizer& tok = cached_tokenizer(dir);
    const auto encoded = tok.encode_batch(texts, /*add_special_tokens=*/false);
    ASSERT_EQ(encoded.size(), texts.size());
    size_t mismatches = 0;
    for (size_t i = 0; i < texts.size(); ++i) {
      if (tok.decode(encoded[i]) != texts[i]) {
        if (++mismatches <= 3) ADD_FAILURE() << name << ": text " << i << " does not round-trip";
      }
    }
    EXPECT_EQ(mismatches, 0u) << name;
  }
}

// encode_batch on several threads equals encode one by one, in order.
TEST(TokenizerBatch, MatchesSequential) {
  DPOK_REQUIRE_ASSET(dir, "tokenizers/qwen3");
  DPOK_REQUIRE_ASSET(data, "hh-rlhf/helpful-online-test.jsonl.gz");
  const Tokenizer& tok = cached_tokenizer(dir);
  auto texts = testing::read_hh_rlhf_texts(data);
  texts.resize(300);
  const auto batch = tok.encode_batch(texts, true, 4);
  for (size_t i = 0; i < texts.size(); ++i) ASSERT_EQ(batch[i], tok.encode(texts[i])) << i;
  texts.push_back(std::string("bad \xC3\x28 utf-8"));
  EXPECT_THROW(tok.encode_batch(texts, true, 3), FormatError);
}

// The 200 greedy stories260K ids decode to llama2.c's oracle text byte for byte. llama2.c
// starts from BOS and strips the leading space of the first piece after it, which is exactly
// what SentencePiece's decoder does for the first piece, so no adjustment is needed.
TEST(TokenizerSentencePiece, Stories260kGreedyText) {
  DPOK_REQUIRE_ASSET(model, "models/stories260k/tok512.model");
  DPOK_REQUIRE_ASSET(greedy, "models/stories260k/hf/greedy.json");
  DPOK_REQUIRE_ASSET(expected, "models/stories260k/expected-greedy-200.txt");
  const auto tok = Tokenizer::load(model);
  EXPECT_EQ(tok->bos_id(), 1);
  EXPECT_EQ(tok->eos_id(), 2);
  EXPECT_EQ(tok->vocab_size(), 512);
  EXPECT_TRUE(tok->adds_bos());
  const auto ids =
      nlohmann::json::parse(read_file(greedy)).at("greedy_ids").get<std::vector<int32_t>>();
  ASSERT_EQ(ids.size(), 200u);
  const std::string oracle = read_file(expected);
  EXPECT_EQ(tok->decode(ids), oracle);
  std::vector<int32_t> with_bos{1};
  with_bos.insert(with_bos.end(), ids.begin(), ids.end());
  EXPECT_EQ(tok->decode(with_bos, /*skip_special_tokens=*/true), oracle);
  EXPECT_EQ(tok->decode(with_bos), "<s>" + oracle);
  // The same directory layout through the HF copy (tokenizer.model only).
  DPOK_REQUIRE_ASSET(hf, "models/stories260k/hf");
  EXPECT_EQ(Tokenizer::load(hf)->decode(ids), oracle);
  const auto encoded = tok->encode("Once upon a time");
  ASSERT_FALSE(encoded.empty());
  EXPECT_EQ(encoded.front(), 1);
  EXPECT_EQ(std::vector<int32_t>(encoded.begin() + 1, encoded.end()),
            tok->encode("Once upon a time", false));
  EXPECT_EQ(tok->encode("<s>Once", true, true)[1], 1);
}

TEST(TokenizerLoad, MissingPathsAndInvalidText) {
  ::dpok::testing::TempDir tmp;
  EXPECT_TRUE(::dpok::testing::throws_with<IoError>([&] { Tokenizer::load(tmp.path()); },
                                                    {"no tokenizer.json or tokenizer.model"}));
  EXPECT_THROW(Tokenizer::load(tmp / "nope.json"), IoError);
  testing::write_text(tmp / "bad.model", "not a protobuf");
  EXPECT_THROW(Tokenizer::load(tmp / "bad.model"), FormatError);
  DPOK_REQUIRE_ASSET(spm, "tokenizers/llama2-sentencepiece.model");
  EXPECT_TRUE(::dpok::testing::throws_with<FormatError>(
      [&] { cached_tokenizer(spm).encode("ok \xFF"); }, {"invalid UTF-8 at byte 3"}));
}

}  // namespace
}  // namespace dpok::text
