// Tokenized-dataset cache (see cache.h).
#include "dpok/data/cache.h"

#include <cstdlib>
#include <cstring>

#include "dpok/core/error.h"
#include "dpok/core/file_util.h"
#include "dpok/core/hash.h"
#include "dpok/io/cache_file.h"
#include "dpok/text/tokenizer.h"

namespace dpok::data {
namespace {

constexpr const char* kComponent = "data.cache";
// Bump when tokenization or the file layout changes: the version is part of the key, so old
// entries stop matching and are rebuilt. 2: the io/cache_file.h header (with a checksum);
// 3: the summary counts ignored columns.
constexpr int kCacheVersion = 3;
const io::CacheFormat kFormat{
    kComponent, "dpok data cache", {'D', 'P', 'O', 'K', 'D', 'A', 'T', 'A'}, kCacheVersion};
constexpr const char* kProbeText =
    "Hello world! Ünïcödé 日本語 🙂 <s></s><|endoftext|><|eot_id|><|im_start|>\n\n  "
    "tabs\tand "
    "12345 "
    "\n\nHuman: What?\n\nAssistant: Fine.";

class Writer {
 public:
  template <typename T>
  void pod(const T& value) {
    out_.append(reinterpret_cast<const char*>(&value), sizeof(value));
  }
  template <typename T>
  void vec(const std::vector<T>& v) {
    pod(static_cast<uint32_t>(v.size()));
    out_.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
  }
  void bytes(const std::string& s) {
    pod(static_cast<uint64_t>(s.size()));
    out_ += s;
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

class Reader {
 public:
  Reader(std::string_view bytes, const std::filesystem::path& path) : bytes_(bytes), path_(path) {}
  void need(size_t n) const {
    if (bytes_.size() - pos_ < n) {
      DPOK_THROW(FormatError, kComponent, "{}: truncated at payload byte {} (needs {} more bytes)",
                 path_.string(), pos_, n);
    }
  }
  template <typename T>
  T pod() {
    need(sizeof(T));
    T value;
    std::memcpy(&value, bytes_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return value;
  }
  template <typename T>
  std::vector<T> vec() {
    const auto n = pod<uint32_t>();
    need(static_cast<size_t>(n) * sizeof(T));
    std::vector<T> v(n);
    if (n > 0) std::memcpy(v.data(), bytes_.data() + pos_, static_cast<size_t>(n) * sizeof(T));
    pos_ += static_cast<size_t>(n) * sizeof(T);
    return v;
  }
  std::string bytes() {
    const auto n = pod<uint64_t>();
    need(n);
    std::string s(bytes_.substr(pos_, n));
    pos_ += n;
    return s;
  }
  size_t pos() const { return pos_; }
  bool done() const { return pos_ == bytes_.size(); }

 private:
  std::string_view bytes_;
  const std::filesystem::path& path_;
  size_t pos_ = 0;
};

std::string hex(uint64_t v) {
  return fmt::format("{:016x}", v);
}

}  // namespace

std::filesystem::path cache_root(const std::string& configured) {
  if (!configured.empty()) return configured;
  if (const char* env = std::getenv("DPOK_CACHE"); env != nullptr && *env != '\0') return env;
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
    return std::filesystem::path(home) / ".cache" / "dpok";
  }
  return ".dpok-cache";
}

uint64_t tokenizer_fingerprint(const text::Tokenizer& tokenizer) {
  Fnv1a h;
  h.add_pod(tokenizer.vocab_size());
  for (const auto& id : {tokenizer.bos_id(), tokenizer.eos_id(), tokenizer.pad_id()}) {
    h.add_pod(id.value_or(-1));
  }
  h.add_pod(tokenizer.adds_bos());
  h.add_pod(tokenizer.adds_eos());
  h.add(tokenizer.chat_template_source());
  for (int32_t id = 0; id < tokenizer.vocab_size(); ++id) {
    try {
      h.add(tokenizer.id_to_token(id));
    } catch (const ConfigError&) {
      h.add_pod(int32_t{-1});  // ids may be non-contiguous (added tokens)
    }
  }
  for (const bool special : {false, true}) {
    for (const int32_t id : tokenizer.encode(kProbeText, special)) h.add_pod(id);
  }
  return h.value();
}

std::string cache_key(const std::vector<std::filesystem::path>& files, const DataConfig& config,
                      const text::Tokenizer& tokenizer) {
  Fnv1a h;
  h.add_pod(kCacheVersion);
  for (const auto& file : files) {
    const auto absolute = std::filesystem::absolute(file).lexically_normal();
    h.add(absolute.string());
    std::error_code ec;
    h.add_pod(static_cast<uint64_t>(std::filesystem::file_size(file, ec)));
    h.add_pod(static_cast<int64_t>(
        std::filesystem::last_write_time(file, ec).time_since_epoch().count()));
  }
  h.add(config.format);
  for (const auto& [k, v] : config.field_map) {
    h.add(k);
    h.add(v);
  }
  h.add_pod(config.max_length);
  h.add(name_of(config.truncation_mode));
  h.add(name_of(config.on_bad_record));
  h.add_pod(tokenizer_fingerprint(tokenizer));
  return hex(h.value());
}

std::string serialize_dataset(const PreferenceDataset& dataset, const std::string& key) {
  const auto& s = dataset.summary;
  nlohmann::json header = {{"records_read", s.records_read},
                           {"truncated", s.truncated},
                           {"prompt_fallback", s.prompt_fallback},
                           {"dropped", s.dropped},
                           {"formats", s.formats},
                           {"ignored_columns", s.ignored_columns},
                           {"files", s.files}};
  Writer w;
  w.bytes(header.dump());
  w.pod(static_cast<uint64_t>(dataset.records.size()));
  for (const auto& r : dataset.records) {
    w.pod(r.source_index);
    w.vec(r.prompt_ids);
    w.vec(r.chosen_ids);
    w.vec(r.rejected_ids);
    const uint8_t flags =
        (r.ref_chosen_logps ? 1 : 0) | (r.ref_rejected_logps ? 2 : 0) | (r.label ? 4 : 0);
    w.pod(flags);
    if (r.ref_chosen_logps) w.pod(*r.ref_chosen_logps);
    if (r.ref_rejected_logps) w.pod(*r.ref_rejected_logps);
    if (r.label) w.pod(static_cast<int32_t>(*r.label));
    w.vec(r.prompt_embedding);
    w.vec(r.chosen_embedding);
    w.vec(r.rejected_embedding);
  }
  return io::encode_cache_file(kFormat, key, w.take());
}

PreferenceDataset parse_dataset(const std::string& bytes, const std::string& expected_key,
                                const std::filesystem::path& path) {
  const auto payload = io::cache_payload(std::string_view(bytes), kFormat, expected_key, path);
  Reader r(payload, path);
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(r.bytes());
  } catch (const nlohmann::json::exception& e) {
    DPOK_THROW(FormatError, kComponent, "{}: corrupt summary ({})", path.string(), e.what());
  }
  PreferenceDataset dataset;
  auto& s = dataset.summary;
  try {
    s.records_read = header.at("records_read").get<int64_t>();
    s.truncated = header.at("truncated").get<int64_t>();
    s.prompt_fallback = header.at("prompt_fallback").get<int64_t>();
    s.dropped = header.at("dropped").get<std::map<std::string, int64_t>>();
    s.formats = header.at("formats").get<std::map<std::string, int64_t>>();
    s.ignored_columns = header.at("ignored_columns").get<std::map<std::string, int64_t>>();
    s.files = header.at("files").get<std::vector<std::string>>();
  } catch (const nlohmann::json::exception& e) {
    DPOK_THROW(FormatError, kComponent, "{}: corrupt summary ({})", path.string(), e.what());
  }
  const auto n = r.pod<uint64_t>();
  r.need(n);  // every record takes at least one byte: rejects absurd counts before reserving
  dataset.records.reserve(n);
  for (uint64_t i = 0; i < n; ++i) {
    PreferenceRecord rec;
    rec.source_index = r.pod<int64_t>();
    rec.prompt_ids = r.vec<int32_t>();
    rec.chosen_ids = r.vec<int32_t>();
    rec.rejected_ids = r.vec<int32_t>();
    const auto flags = r.pod<uint8_t>();
    if (flags & 1) rec.ref_chosen_logps = r.pod<float>();
    if (flags & 2) rec.ref_rejected_logps = r.pod<float>();
    if (flags & 4) rec.label = r.pod<int32_t>();
    rec.prompt_embedding = r.vec<float>();
    rec.chosen_embedding = r.vec<float>();
    rec.rejected_embedding = r.vec<float>();
    dataset.records.push_back(std::move(rec));
  }
  if (!r.done()) {
    DPOK_THROW(FormatError, kComponent, "{}: {} unexpected bytes after the last record",
               path.string(), payload.size() - r.pos());
  }
  update_token_stats(dataset);
  return dataset;
}

std::optional<PreferenceDataset> load_cached(const std::filesystem::path& root,
                                             const std::string& key) {
  const auto path = root / "data" / (key + ".bin");
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return std::nullopt;
  try {
    return parse_dataset(read_file(path), key, path);
  } catch (const InternalError&) {
    throw;  // a bug, not a damaged cache file
  } catch (const Error&) {
    return std::nullopt;
  }
}

void store_cached(const std::filesystem::path& root, const std::string& key,
                  const PreferenceDataset& dataset) {
  const auto dir = root / "data";
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    DPOK_THROW(IoError, kComponent, "cannot create cache directory {}: {}", dir.string(),
               ec.message());
  }
  write_file_atomic(dir / (key + ".bin"), serialize_dataset(dataset, key));
}

}  // namespace dpok::data
