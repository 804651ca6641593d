// llama2.c legacy checkpoint reader: header validation and stacked fp32 views.
#include "dpok/io/llama2c.h"

#include <cstring>

#include "dpok/core/error.h"
#include "dpok/io/byte_reader.h"

namespace dpok::io {
namespace {

namespace fs = std::filesystem;

constexpr size_t kHeaderInts = 7;
constexpr size_t kHeaderBytes = kHeaderInts * sizeof(int32_t);
// The magic export.py's versioned formats start with (uint32 0x616b3432, "ak42").
constexpr uint32_t kVersionedMagic = 0x616b3432;

template <typename... Args>
[[noreturn]] void llama2c_error(const fs::path& path, fmt::format_string<Args...> format,
                                Args&&... args) {
  DPOK_THROW(FormatError, "llama2c", "{}: {}", path.string(),
             fmt::format(format, std::forward<Args>(args)...));
}

Llama2cConfig read_config(const MappedFile& file) {
  const fs::path& path = file.path();
  if (file.size() >= sizeof(uint32_t)) {
    uint32_t magic = 0;
    std::memcpy(&magic, file.data(), sizeof(magic));
    if (magic == kVersionedMagic) {
      DPOK_THROW(UnsupportedError, "llama2c",
                 "{}: versioned llama2.c export (magic 0x616b3432, \"ak42\") is not "
                 "supported; use the legacy format run.c reads",
                 path.string());
    }
  }
  detail::ByteReader reader(file.data(), file.size(), "llama2c", path.string());
  int32_t h[kHeaderInts];
  for (auto& field : h) field = reader.read<int32_t>("header");
  Llama2cConfig config;
  config.dim = h[0];
  config.hidden_dim = h[1];
  config.n_layers = h[2];
  config.n_heads = h[3];
  config.n_kv_heads = h[4];
  config.shared_classifier = h[5] > 0;
  config.vocab_size = h[5] > 0 ? int64_t{h[5]} : -int64_t{h[5]};
  config.seq_len = h[6];
  std::string header = fmt::format(
      "dim={} hidden_dim={} n_layers={} n_heads={} n_kv_heads={} vocab_size={} seq_len={}", h[0],
      h[1], h[2], h[3], h[4], h[5], h[6]);
  if (config.dim <= 0 || config.hidden_dim <= 0 || config.n_layers <= 0 || config.n_heads <= 0 ||
      config.n_kv_heads <= 0 || config.vocab_size <= 0 || config.seq_len <= 0) {
    llama2c_error(path, "header {}: every field must be positive (vocab_size may be negative)",
                  header);
  }
  if (config.dim % config.n_heads != 0 || config.n_heads % config.n_kv_heads != 0 ||
      config.head_size() % 2 != 0) {
    llama2c_error(path,
                  "header {}: dim must divide into n_heads, n_heads into n_kv_heads, and the "
                  "head size must be even",
                  header);
  }
  return config;
}

}  // namespace

Llama2cFile Llama2cFile::open(const std::filesystem::path& path) {
  Llama2cFile result;
  result.mapping_ = MappedFile::open(path);
  const MappedFile& file = *result.mapping_;
  result.config_ = read_config(file);
  const Llama2cConfig& c = result.config_;
  const int64_t L = c.n_layers;
  struct Entry {
    std::string_view name;
    std::vector<int64_t> shape;
    bool skipped;
  };
  std::vector<Entry> layout = {
      {"token_embedding_table", {c.vocab_size, c.dim}, false},
      {"rms_att_weight", {L, c.dim}, false},
      {"wq", {L, c.dim, c.dim}, false},
      {"wk", {L, c.kv_dim(), c.dim}, false},
      {"wv", {L, c.kv_dim(), c.dim}, false},
      {"wo", {L, c.dim, c.dim}, false},
      {"rms_ffn_weight", {L, c.dim}, false},
      {"w1", {L, c.hidden_dim, c.dim}, false},
      {"w2", {L, c.dim, c.hidden_dim}, false},
      {"w3", {L, c.hidden_dim, c.dim}, false},
      {"rms_final_weight", {c.dim}, false},
      {"freq_cis_real", {c.seq_len, c.head_size() / 2}, true},
      {"freq_cis_imag", {c.seq_len, c.head_size() / 2}, true},
  };
  if (!c.shared_classifier) layout.push_back({"wcls", {c.vocab_size, c.dim}, false});

  // All sizes are checked before any view is made, so a lying header cannot point past the end.
  size_t offset = kHeaderBytes;
  std::vector<size_t> offsets;
  for (const auto& entry : layout) {
    auto nbytes = checked_nbytes(entry.shape, sizeof(float));
    offsets.push_back(offset);
    if (!nbytes || __builtin_add_overflow(offset, *nbytes, &offset)) {
      llama2c_error(path, "tensor '{}' of shape {} overflows", entry.name,
                    shape_string(entry.shape));
    }
  }
  if (offset != file.size()) {
    llama2c_error(path, "{} (n_layers={}, dim={}, vocab_size={}{}) needs {} bytes, file has {}",
                  offset > file.size() ? "truncated: the header" : "size mismatch: the header",
                  c.n_layers, c.dim, c.vocab_size, c.shared_classifier ? "" : ", untied", offset,
                  file.size());
  }
  for (size_t i = 0; i < layout.size(); ++i) {
    if (layout[i].skipped) continue;
    TensorView view{std::string(layout[i].name), DType::F32, layout[i].shape,
                    file.data() + offsets[i], 0};
    view.nbytes = static_cast<size_t>(view.numel()) * sizeof(float);
    result.index_.emplace(view.name, result.tensors_.size());
    result.tensors_.push_back(std::move(view));
  }
  return result;
}

bool Llama2cFile::contains(std::string_view name) const {
  return index_.count(name) != 0;
}

const TensorView& Llama2cFile::at(std::string_view name) const {
  auto it = index_.find(name);
  if (it == index_.end()) llama2c_error(path(), "no tensor named '{}'", name);
  return tensors_[it->second];
}

TensorView layer_slice(const TensorView& stacked, int64_t layer) {
  DPOK_CHECK(!stacked.shape.empty() && layer >= 0 && layer < stacked.shape[0],
             "layer {} out of range for '{}' of shape {}", layer, stacked.name,
             shape_string(stacked.shape));
  TensorView slice;
  slice.name = fmt::format("{}[{}]", stacked.name, layer);
  slice.dtype = stacked.dtype;
  slice.shape.assign(stacked.shape.begin() + 1, stacked.shape.end());
  slice.nbytes = stacked.nbytes / static_cast<size_t>(stacked.shape[0]);
  slice.data = stacked.data + static_cast<size_t>(layer) * slice.nbytes;
  return slice;
}

}  // namespace dpok::io
