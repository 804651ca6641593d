// GGUF metadata → tokenizer.json + tokenizer_config.json → HfTokenizer (see gguf_tokenizer.h).
#include "dpok/text/gguf_tokenizer.h"

#include <algorithm>
#include <array>
#include <fstream>
#include <unordered_map>

#include "dpok/core/error.h"
#include "dpok/io/gguf.h"
#include "dpok/text/chat_template.h"
#include "dpok/text/hf_tokenizer.h"
#include "dpok/text/utf8.h"

namespace dpok::text {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kComponent = "tokenizer.gguf";

// llama.cpp's token types (tokenizer.ggml.token_type).
constexpr int64_t kControl = 3;
constexpr int64_t kUserDefined = 4;

// The split regex of each tokenizer.ggml.pre value whose merges were learned on another split
// than GPT-2's (llama.cpp's pre-tokenizer names; the expressions are the models' own).
constexpr std::string_view kLlama3Split =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr std::string_view kQwen2Split =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr std::string_view kQwen35Split =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr std::string_view kTekkenSplit =
    R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr std::string_view kGpt4oSplit =
    R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

struct PreSplit {
  std::string_view pre, regex;
};
constexpr std::array<PreSplit, 23> kPreSplits = {{
    {"llama3", kLlama3Split},       {"llama-v3", kLlama3Split},
    {"llama-bpe", kLlama3Split},    {"falcon3", kLlama3Split},
    {"falcon-h1", kLlama3Split},    {"pixtral", kLlama3Split},
    {"midm-2.0", kLlama3Split},     {"lfm2", kLlama3Split},
    {"jina-v5-nano", kLlama3Split}, {"dbrx", kLlama3Split},
    {"smaug-bpe", kLlama3Split},    {"tekken", kTekkenSplit},
    {"qwen2", kQwen2Split},         {"deepseek-r1-qwen", kQwen2Split},
    {"kormo", kQwen2Split},         {"f2llmv2", kQwen2Split},
    {"megrez", kQwen2Split},        {"qwen35", kQwen35Split},
    {"gpt-4o", kGpt4oSplit},        {"llama4", kGpt4oSplit},
    {"kanana2", kGpt4oSplit},       {"talkie", kGpt4oSplit},
    {"minimax-m2", kGpt4oSplit},
}};

[[noreturn]] void fail(const io::GgufFile& file, std::string_view key, const std::string& what) {
  DPOK_THROW(FormatError, kComponent, "{}: key '{}': {}", file.path().string(), key, what);
}

std::vector<std::string> string_array(const io::GgufFile& file, std::string_view key) {
  std::vector<std::string> out;
  const auto& values = file.get_array(key);  // FormatError naming file and key
  out.reserve(values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    if (!values[i].is_string()) fail(file, key, fmt::format("element {} is not a string", i));
    out.push_back(values[i].as_string());
  }
  return out;
}

// An optional per-token array; empty when absent, else exactly one value per token.
template <typename Get>
auto per_token(const io::GgufFile& file, std::string_view key, size_t n_tokens, Get get) {
  std::vector<decltype(get(io::GgufValue{}))> out;
  if (file.find(key) == nullptr) return out;
  const auto& values = file.get_array(key);
  if (values.size() != n_tokens) {
    fail(file, key, fmt::format("{} values for {} tokens", values.size(), n_tokens));
  }
  for (size_t i = 0; i < values.size(); ++i) {
    try {
      out.push_back(get(values[i]));
    } catch (const FormatError& e) {
      fail(file, key, fmt::format("element {}: {}", i, e.what()));
    }
  }
  return out;
}

std::optional<int64_t> token_id(const io::GgufFile& file, std::string_view key, size_t n_tokens) {
  if (file.find(key) == nullptr) return std::nullopt;
  const int64_t id = file.get_int(key);
  if (id < 0 || static_cast<size_t>(id) >= n_tokens) {
    fail(file, key, fmt::format("id {} is outside the vocabulary of {} tokens", id, n_tokens));
  }
  return id;
}

bool in_byte_alphabet(std::string_view token) {
  const auto& table = ByteLevelTable::instance();
  for (size_t pos = 0; pos < token.size();) {
    if (table.decode(next_code_point(token, pos)) < 0) return false;
  }
  return true;
}

// A token as the byte-level vocabulary spells it: as it is when every character is in GPT-2's
// byte alphabet, else each UTF-8 byte mapped (transformers' byte_level_tokenizer does the same).
std::string byte_level_spelling(const std::string& token) {
  if (in_byte_alphabet(token)) return token;
  std::string out;
  for (unsigned char byte : token) out += ByteLevelTable::instance().encode(byte);
  return out;
}

json added_token(int64_t id, const std::string& content, bool special) {
  return {{"id", id},        {"content", content},  {"single_word", false}, {"lstrip", false},
          {"rstrip", false}, {"normalized", false}, {"special", special}};
}

json bpe_model(json vocab, json merges, bool sentencepiece) {
  return {{"type", "BPE"},
          {"dropout", nullptr},
          {"unk_token", nullptr},
          {"continuing_subword_prefix", sentencepiece ? json(nullptr) : json("")},
          {"end_of_word_suffix", sentencepiece ? json(nullptr) : json("")},
          {"fuse_unk", sentencepiece},
          {"byte_fallback", sentencepiece},
          {"ignore_merges", false},
          {"vocab", std::move(vocab)},
          {"merges", std::move(merges)}};
}

// Merges implied by a SentencePiece vocabulary, as transformers' generate_merges(vocab, scores):
// every split of a token into two known tokens, ordered by the token's score (best first), then
// by the lengths of the left and right pieces (longer first), ties in vocabulary order.
json merges_from_scores(const std::vector<std::string>& tokens, const std::vector<float>& scores) {
  std::unordered_map<std::string_view, int64_t> id_of;
  std::unordered_map<std::string_view, float> score_of;
  std::vector<std::string_view> order;  // first occurrence order of each distinct token
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (!score_of.count(tokens[i])) order.push_back(tokens[i]);
    id_of[tokens[i]] = static_cast<int64_t>(i);
    score_of[tokens[i]] = scores[i];
  }
  struct Merge {
    std::string_view left, right;
    float score;
  };
  std::vector<Merge> merges;
  for (std::string_view token : order) {
    std::vector<Merge> local;
    // Python slices code points; so do we.
    for (size_t pos = 0; pos < token.size();) {
      next_code_point(token, pos);
      if (pos >= token.size()) break;
      const auto left = token.substr(0, pos), right = token.substr(pos);
      if (id_of.count(left) && id_of.count(right)) local.push_back({left, right, score_of[token]});
    }
    std::stable_sort(local.begin(), local.end(), [&](const Merge& a, const Merge& b) {
      return std::pair(id_of[a.left], id_of[a.right]) < std::pair(id_of[b.left], id_of[b.right]);
    });
    merges.insert(merges.end(), local.begin(), local.end());
  }
  const auto length = [](std::string_view s) {
    size_t n = 0;
    for (size_t pos = 0; pos < s.size(); ++n) next_code_point(s, pos);
    return n;
  };
  std::stable_sort(merges.begin(), merges.end(), [&](const Merge& a, const Merge& b) {
    return std::tuple(a.score, length(a.left), length(a.right)) >
           std::tuple(b.score, length(b.left), length(b.right));
  });
  json out = json::array();
  for (const auto& merge : merges) out.push_back({merge.left, merge.right});
  return out;
}

json byte_level_pre_tokenizer(const io::GgufFile& file) {
  const auto* pre = file.find("tokenizer.ggml.pre");
  const std::string name = pre != nullptr && pre->is_string() ? pre->as_string() : "";
  for (const auto& row : kPreSplits) {
    if (row.pre != name) continue;
    return {{"type", "Sequence"},
            {"pretokenizers",
             {{{"type", "Split"},
               {"pattern", {{"Regex", row.regex}}},
               {"behavior", "Isolated"},
               {"invert", false}},
              {{"type", "ByteLevel"},
               {"add_prefix_space", false},
               {"trim_offsets", true},
               {"use_regex", false}}}}};
  }
  return {{"type", "ByteLevel"},
          {"add_prefix_space", false},
          {"trim_offsets", true},
          {"use_regex", true}};
}

}  // namespace

bool gguf_has_tokenizer(const fs::path& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return false;
  char magic[4] = {};
  std::ifstream(path, std::ios::binary).read(magic, sizeof magic);
  if (std::string_view(magic, 4) != "GGUF") return false;
  return io::GgufFile::open(path).find("tokenizer.ggml.model") != nullptr;
}

GgufTokenizerFiles gguf_tokenizer_files(const io::GgufFile& file) {
  const std::string model = file.get_string("tokenizer.ggml.model");
  if (model != "gpt2" && model != "llama") {
    DPOK_THROW(UnsupportedError, kComponent,
               "{}: tokenizer.ggml.model '{}' is not supported (gpt2, llama)", file.path().string(),
               model);
  }
  const bool sentencepiece = model == "llama";
  const auto tokens = string_array(file, "tokenizer.ggml.tokens");
  if (tokens.empty()) fail(file, "tokenizer.ggml.tokens", "the vocabulary is empty");
  const auto types = per_token(file, "tokenizer.ggml.token_type", tokens.size(),
                               [](const io::GgufValue& v) { return v.as_int(); });

  GgufTokenizerFiles out;
  json& config = out.config;
  std::vector<std::string> spelled(tokens.size());
  json vocab = json::object();
  for (size_t i = 0; i < tokens.size(); ++i) {
    spelled[i] = sentencepiece ? tokens[i] : byte_level_spelling(tokens[i]);
    vocab[spelled[i]] = i;
  }
  json merges;
  if (sentencepiece) {
    auto scores =
        per_token(file, "tokenizer.ggml.scores", tokens.size(),
                  [](const io::GgufValue& v) { return static_cast<float>(v.as_float()); });
    if (scores.empty()) scores.assign(tokens.size(), 0.0F);
    if (file.find("tokenizer.ggml.merges") != nullptr) {
      merges = json::array();
      for (const auto& line : string_array(file, "tokenizer.ggml.merges")) merges.push_back(line);
    } else {
      merges = merges_from_scores(tokens, scores);
    }
  } else {
    merges = json::array();
    const std::string_view key = "tokenizer.ggml.merges";
    for (const auto& line : string_array(file, key)) {
      const auto space = line.find(' ');
      if (space == std::string::npos || line.find(' ', space + 1) != std::string::npos ||
          !vocab.contains(line.substr(0, space)) || !vocab.contains(line.substr(space + 1))) {
        fail(file, key, fmt::format("merge {:?} is not two tokens of the vocabulary", line));
      }
      merges.push_back(line);
    }
  }

  // Added tokens: CONTROL ones special (in a byte-level vocabulary only those spelled in its
  // alphabet: others are llama.cpp mislabels), USER_DEFINED ones plain; then the named special
  // tokens the file points at, as the tokenizer class adds them.
  json added = json::array();
  std::vector<bool> is_added(tokens.size(), false);
  const auto add = [&](size_t id, bool special) {
    if (is_added[id]) return;
    is_added[id] = true;
    added.push_back(added_token(static_cast<int64_t>(id), spelled[id], special));
  };
  for (size_t i = 0; i < types.size(); ++i) {
    const bool spelled_as_is = sentencepiece || spelled[i] == tokens[i];
    if (types[i] == kControl && spelled_as_is) add(i, true);
  }
  for (const auto& [role, key] : std::initializer_list<std::pair<const char*, const char*>>{
           {"bos_token", "tokenizer.ggml.bos_token_id"},
           {"eos_token", "tokenizer.ggml.eos_token_id"},
           {"unk_token", "tokenizer.ggml.unknown_token_id"},
           {"pad_token", "tokenizer.ggml.padding_token_id"}}) {
    auto id = token_id(file, key, tokens.size());
    // LlamaTokenizer's unk_token defaults to "<unk>".
    if (!id && sentencepiece && std::string_view(role) == "unk_token") {
      const auto it = std::find(tokens.begin(), tokens.end(), "<unk>");
      if (it != tokens.end()) id = it - tokens.begin();
    }
    if (!id) continue;
    config[role] = spelled[static_cast<size_t>(*id)];
    if (sentencepiece && std::string_view(role) != "pad_token") add(static_cast<size_t>(*id), true);
  }
  for (size_t i = 0; i < types.size(); ++i) {
    if (types[i] == kUserDefined && spelled[i] == tokens[i]) add(i, false);
  }
  std::stable_sort(added.begin(), added.end(),
                   [](const json& a, const json& b) { return a["id"] < b["id"]; });

  json& spec = out.tokenizer;
  spec = {{"version", "1.0"},
          {"truncation", nullptr},
          {"padding", nullptr},
          {"added_tokens", added},
          {"normalizer", nullptr}};
  if (sentencepiece) {
    spec["pre_tokenizer"] = {{"type", "Metaspace"},
                             {"replacement", "\u2581"},
                             {"prepend_scheme", "first"},
                             {"split", false}};
    spec["decoder"] = {
        {"type", "Sequence"},
        {"decoders",
         {{{"type", "Replace"}, {"pattern", {{"String", "\u2581"}}}, {"content", " "}},
          {{"type", "ByteFallback"}},
          {{"type", "Fuse"}},
          {{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}}}}};
  } else {
    spec["pre_tokenizer"] = byte_level_pre_tokenizer(file);
    spec["decoder"] = {{"type", "ByteLevel"},
                       {"add_prefix_space", true},
                       {"trim_offsets", true},
                       {"use_regex", true}};
  }
  spec["post_processor"] = nullptr;  // BOS/EOS come from add_bos_token / add_eos_token
  spec["model"] = bpe_model(std::move(vocab), std::move(merges), sentencepiece);

  // LlamaTokenizer adds BOS unless told otherwise; GPT2Tokenizer does not.
  config["add_bos_token"] = sentencepiece;
  config["add_eos_token"] = false;
  for (const char* flag : {"add_bos_token", "add_eos_token"}) {
    const std::string key = std::string("tokenizer.ggml.") + flag;
    const auto* value = file.find(key);
    if (value == nullptr) continue;
    if (value->type() != io::GgufType::BOOL) fail(file, key, "expected BOOL");
    config[flag] = value->as_bool();
  }
  if (file.find("tokenizer.chat_template") != nullptr) {
    const std::string& source = file.get_string("tokenizer.chat_template");
    try {
      ChatTemplate parsed(source);  // fail at load, naming the key, not at the first render
    } catch (const Error& e) {
      fail(file, "tokenizer.chat_template", e.what());
    }
    config["chat_template"] = source;
  }
  return out;
}

std::unique_ptr<Tokenizer> load_gguf_tokenizer(const io::GgufFile& file) {
  const auto files = gguf_tokenizer_files(file);
  const std::string source = file.path().string();
  return std::make_unique<HfTokenizer>(files.tokenizer, source, &files.config, source);
}

}  // namespace dpok::text
