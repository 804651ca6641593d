// Reader for Karpathy's llama2.c model checkpoints (the legacy .bin written by export.py's
// legacy_export and read by run.c), e.g. the tinyllamas stories models.
//
// Layout: seven int32 (dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len; a
// negative vocab_size means the classifier is untied and stored at the end), then fp32 weights in
// this order, each stacked over layers where it has an [L, ...] shape:
//   token_embedding_table [vocab, dim]      rms_att_weight [L, dim]
//   wq [L, dim, dim]   wk [L, kv_dim, dim]   wv [L, kv_dim, dim]   wo [L, dim, dim]
//   rms_ffn_weight [L, dim]   w1 [L, hidden, dim]   w2 [L, dim, hidden]   w3 [L, hidden, dim]
//   rms_final_weight [dim]   freq_cis_real, freq_cis_imag [seq_len, head_size / 2] (skipped)
//   wcls [vocab, dim] (only when untied)
// with kv_dim = n_kv_heads * head_size and head_size = dim / n_heads. Matrices are [out, in]
// like torch.nn.Linear weights. The views keep llama2.c's names and these stacked shapes;
// layer_slice() cuts out one layer. As in GGUF, wq and wk are in Meta's interleaved RoPE layout
// (the model subsystem permutes them to Hugging Face's rotate-half layout). When the classifier
// is tied there is no wcls view: use token_embedding_table.
//
// Validation: positive dimensions, n_heads divisible by n_kv_heads, dim by n_heads, an even
// head_size, no overflow, and a file size exactly matching the header (a truncated or padded file
// is rejected). The newer "ak42" export formats are refused with UnsupportedError. Errors name
// the file and the defect.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string_view>
#include <vector>

#include "dpok/io/dtype.h"
#include "dpok/io/mapped_file.h"

namespace dpok::io {

struct Llama2cConfig {
  int64_t dim = 0;
  int64_t hidden_dim = 0;
  int64_t n_layers = 0;
  int64_t n_heads = 0;
  int64_t n_kv_heads = 0;
  int64_t vocab_size = 0;  // always positive here; see shared_classifier
  int64_t seq_len = 0;
  bool shared_classifier = true;  // the file's vocab_size was positive

  int64_t head_size() const { return dim / n_heads; }
  int64_t kv_dim() const { return n_kv_heads * head_size(); }
};

class Llama2cFile {
 public:
  // Maps and validates `path`. Throws IoError / FormatError / UnsupportedError.
  static Llama2cFile open(const std::filesystem::path& path);

  const Llama2cConfig& config() const { return config_; }
  // The F32 views listed above, in file order.
  const std::vector<TensorView>& tensors() const { return tensors_; }
  bool contains(std::string_view name) const;
  // Throws FormatError naming the file and the tensor when absent.
  const TensorView& at(std::string_view name) const;
  std::shared_ptr<const MappedFile> mapping() const { return mapping_; }
  const std::filesystem::path& path() const { return mapping_->path(); }

 private:
  Llama2cFile() = default;

  std::shared_ptr<const MappedFile> mapping_;
  Llama2cConfig config_;
  std::vector<TensorView> tensors_;
  std::map<std::string, size_t, std::less<>> index_;
};

// Layer `layer` of a stacked view with shape [L, ...]: shape [...], named "<name>[<layer>]".
// Throws InternalError (a caller bug) when the view is not stacked or layer is out of range.
TensorView layer_slice(const TensorView& stacked, int64_t layer);

}  // namespace dpok::io
