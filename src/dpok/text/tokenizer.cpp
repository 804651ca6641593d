// Tokenizer loading, tokenizer_config.json handling and batch encoding (see tokenizer.h).
#include "dpok/text/tokenizer.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <thread>

#include "dpok/core/error.h"
#include "dpok/core/file_util.h"
#include "dpok/io/gguf.h"
#include "dpok/text/gguf_tokenizer.h"
#include "dpok/text/hf_tokenizer.h"
#include "dpok/text/json_util.h"
#include "dpok/text/sentencepiece_tokenizer.h"

namespace dpok::text {
namespace {

namespace fs = std::filesystem;

// A special token in tokenizer_config.json: a string, an AddedToken object, or null.
std::string config_token(const nlohmann::json& config, const char* key, const JsonPath& path) {
  const nlohmann::json* value = json_find(config, key, path);
  if (value == nullptr) return "";
  if (value->is_object())
    return json_string(json_require(*value, "content", path.child(key)),
                       path.child(key).child("content"));
  return json_string(*value, path.child(key));
}

// chat_template: a string, or a list of {name, template} of which "default" is used.
std::string config_chat_template(const nlohmann::json& config, const JsonPath& path) {
  const nlohmann::json* value = json_find(config, "chat_template", path);
  if (value == nullptr) return "";
  const JsonPath where = path.child("chat_template");
  if (value->is_string()) return value->get<std::string>();
  json_require_array(*value, where);
  for (size_t i = 0; i < value->size(); ++i) {
    const nlohmann::json& entry = (*value)[i];
    if (json_string(json_require(entry, "name", where.child(i)), where.child(i).child("name")) ==
        "default") {
      return json_string(json_require(entry, "template", where.child(i)),
                         where.child(i).child("template"));
    }
  }
  DPOK_THROW(FormatError, "tokenizer", "{}: a list of templates without one named \"default\"",
             where.where());
}

nlohmann::json read_json_file(const fs::path& file) {
  return parse_json_text(read_file(file), file.string());
}

}  // namespace

Tokenizer::~Tokenizer() = default;

void Tokenizer::read_config(const nlohmann::json& config, const JsonPath& path) {
  bos_token_ = config_token(config, "bos_token", path);
  eos_token_ = config_token(config, "eos_token", path);
  pad_token_ = config_token(config, "pad_token", path);
  unk_token_ = config_token(config, "unk_token", path);
  if (const nlohmann::json* v = json_find(config, "add_bos_token", path)) {
    config_add_bos_ = json_bool(*v, path.child("add_bos_token"));
  }
  if (const nlohmann::json* v = json_find(config, "add_eos_token", path)) {
    config_add_eos_ = json_bool(*v, path.child("add_eos_token"));
  }
  tokenizer_class_ = json_string_or(config, "tokenizer_class", path, "");
  chat_template_ = config_chat_template(config, path);
}

void Tokenizer::resolve_special_ids() {
  const auto resolve = [&](const std::string& token, const char* role) -> std::optional<int32_t> {
    if (token.empty()) return std::nullopt;
    const auto id = token_to_id(token);
    if (!id) {
      DPOK_THROW(FormatError, "tokenizer",
                 "tokenizer_config.json: {} \"{}\" is not in the vocabulary", role, token);
    }
    return id;
  };
  bos_id_ = resolve(bos_token_, "bos_token");
  eos_id_ = resolve(eos_token_, "eos_token");
  pad_id_ = resolve(pad_token_, "pad_token");
}

std::unique_ptr<Tokenizer> Tokenizer::load(const fs::path& path) {
  fs::path tokenizer_file = path;
  fs::path directory = path.parent_path();
  if (fs::is_directory(path)) {
    directory = path;
    if (fs::exists(path / "tokenizer.json")) {
      tokenizer_file = path / "tokenizer.json";
    } else if (fs::exists(path / "tokenizer.model")) {
      tokenizer_file = path / "tokenizer.model";
    } else {
      DPOK_THROW(IoError, "tokenizer", "{}: no tokenizer.json or tokenizer.model in this directory",
                 path.string());
    }
  } else if (!fs::exists(path)) {
    DPOK_THROW(IoError, "tokenizer", "{}: no such file or directory", path.string());
  } else if (gguf_has_tokenizer(path)) {
    return load_gguf_tokenizer(io::GgufFile::open(path));
  }
  std::optional<nlohmann::json> config;
  const fs::path config_file = directory / "tokenizer_config.json";
  if (fs::exists(config_file)) config = read_json_file(config_file);
  std::unique_ptr<Tokenizer> tokenizer;
  if (tokenizer_file.extension() == ".model") {
    tokenizer = std::make_unique<SentencePieceTokenizer>(
        tokenizer_file, config ? &*config : nullptr, config_file.string());
  } else {
    tokenizer =
        std::make_unique<HfTokenizer>(read_json_file(tokenizer_file), tokenizer_file.string(),
                                      config ? &*config : nullptr, config_file.string());
  }
  // transformers >= 4.43 saves the template as chat_template.jinja, which takes precedence.
  if (fs::exists(directory / "chat_template.jinja")) {
    tokenizer->chat_template_ = read_file(directory / "chat_template.jinja");
  }
  return tokenizer;
}

std::vector<std::vector<int32_t>> Tokenizer::encode_batch(const std::vector<std::string>& texts,
                                                          bool add_special_tokens,
                                                          int threads) const {
  std::vector<std::vector<int32_t>> results(texts.size());
  if (threads <= 0) threads = static_cast<int>(std::max(1U, std::thread::hardware_concurrency()));
  threads = static_cast<int>(
      std::min<size_t>(static_cast<size_t>(threads), std::max<size_t>(texts.size(), 1)));
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::exception_ptr error;
  std::mutex error_mutex;
  const auto worker = [&] {
    for (size_t i = next++; i < texts.size() && !failed; i = next++) {
      try {
        results[i] = encode(texts[i], add_special_tokens);
      } catch (...) {
        std::lock_guard lock(error_mutex);
        if (!error) error = std::current_exception();
        failed = true;
      }
    }
  };
  if (threads == 1) {
    worker();
  } else {
    std::vector<std::jthread> pool;
    for (int t = 0; t < threads; ++t) pool.emplace_back(worker);
  }
  if (error) std::rethrow_exception(error);
  return results;
}

}  // namespace dpok::text
