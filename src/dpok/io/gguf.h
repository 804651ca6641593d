// GGUF reader (versions 1 to 3): metadata key/values and tensor views into a memory mapping.
//
// Format (ggml's docs/gguf.md): "GGUF", u32 version, tensor count, key/value count, the key/value
// pairs, the tensor infos (name, n_dims, ne[n_dims], ggml type, offset), padding to
// general.alignment (default 32), then the data region. Version 1 stores counts, string lengths,
// array lengths and ne[] as 32-bit values; versions 2 and 3 use 64-bit ones. Little-endian only
// (a byte-swapped version number is reported as a big-endian file).
//
// Validation before trust: version known, counts sane relative to the file size before anything
// is allocated, string and array lengths bounded by the remaining bytes, array nesting depth
// bounded, no duplicate keys or tensor names, general.alignment a power of two, at most 4
// dimensions with no overflow in the element count, rows a whole number of quantization blocks,
// offsets aligned, inside the data region and not overlapping. Defects throw FormatError naming
// the file, the key or tensor, and the defect; a file that cannot be read throws IoError.
//
// Tensors: shapes are given in row-major (PyTorch) order, i.e. GGUF's ne[] reversed, so
// token_embd.weight with ne = [64, 512] has shape [512, 64]. F32, F16, BF16, F64, I64, I32, I16
// and I8 tensors become TensorViews; quantized ones (Q4_0, Q8_0, K-quants, ...) are listed by
// tensor_infos() but at() throws UnsupportedError naming their type; dequantize() turns the
// common ones into float32 (gguf_quants.h). Names stay GGUF's
// (blk.N.attn_q.weight); q/k weights of llama-architecture files are in Meta's interleaved RoPE
// layout, which the model subsystem permutes to Hugging Face's rotate-half layout.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "dpok/io/dtype.h"
#include "dpok/io/mapped_file.h"

namespace dpok::io {

// GGUF metadata value types; values are the file's type ids.
enum class GgufType : uint32_t {
  U8 = 0,
  I8 = 1,
  U16 = 2,
  I16 = 3,
  U32 = 4,
  I32 = 5,
  F32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
  U64 = 10,
  I64 = 11,
  F64 = 12,
};

// "U32", "STRING", ... for messages.
std::string_view gguf_type_name(GgufType type);

// One metadata value. Accessors throw FormatError ("[gguf] expected ..., got ...") on a type
// mismatch; GgufFile's get_* helpers add the file and key to that message.
class GgufValue {
 public:
  using Array = std::vector<GgufValue>;
  using Storage = std::variant<uint8_t, int8_t, uint16_t, int16_t, uint32_t, int32_t, float, bool,
                               std::string, Array, uint64_t, int64_t, double>;

  GgufValue() = default;
  GgufValue(GgufType type, Storage value, GgufType element_type = GgufType::U8)
      : type_(type), element_type_(element_type), value_(std::move(value)) {}

  GgufType type() const { return type_; }
  // For arrays: the declared element type (meaningful even when the array is empty).
  GgufType element_type() const { return element_type_; }
  bool is_integer() const;
  bool is_float() const { return type_ == GgufType::F32 || type_ == GgufType::F64; }
  bool is_string() const { return type_ == GgufType::STRING; }
  bool is_array() const { return type_ == GgufType::ARRAY; }

  // Any integer type (a U64 above INT64_MAX throws). BOOL is not an integer.
  int64_t as_int() const;
  // F32 or F64, or an integer converted to double.
  double as_float() const;
  bool as_bool() const;
  const std::string& as_string() const;
  const Array& as_array() const;
  const Storage& storage() const { return value_; }

 private:
  GgufType type_ = GgufType::U8;
  GgufType element_type_ = GgufType::U8;
  Storage value_ = uint8_t{0};
};

// Everything GGUF says about one tensor, including types dpok cannot view.
struct GgufTensorInfo {
  std::string name;
  uint32_t ggml_type = 0;      // ggml_type id (0 = F32, 1 = F16, 30 = BF16, 2 = Q4_0, ...)
  std::vector<int64_t> shape;  // row-major: ne[] reversed
  uint64_t offset = 0;         // relative to the data region
  size_t nbytes = 0;           // bytes occupied in the data region
  std::optional<DType> dtype;  // set when the type maps to a DType (viewable)
};

// ggml's type traits for one ggml_type id: block size in elements and block size in bytes (1 and
// the element size for plain types), and the DType when the type is viewable as it is.
struct GgmlTypeInfo {
  uint32_t id;
  std::string_view name;
  uint32_t block_size;
  uint32_t type_size;
  std::optional<DType> dtype;
};

// nullptr for an id ggml does not define.
const GgmlTypeInfo* find_ggml_type(uint32_t id);

// ggml's name for a ggml_type id ("F32", "Q4_K", ...), or "type <id>" if unknown.
std::string ggml_type_name(uint32_t ggml_type);

class GgufFile {
 public:
  // Maps and validates `path`. Throws IoError / FormatError / UnsupportedError (an unknown ggml
  // type id, whose size cannot be validated) as described above.
  static GgufFile open(const std::filesystem::path& path);

  uint32_t version() const { return version_; }
  // The key/value pairs, sorted by key.
  const std::map<std::string, GgufValue, std::less<>>& metadata() const { return metadata_; }
  // nullptr when absent.
  const GgufValue* find(std::string_view key) const;
  // Typed lookups that throw FormatError naming the file and key when the key is absent or of
  // the wrong type.
  int64_t get_int(std::string_view key) const;
  double get_float(std::string_view key) const;
  const std::string& get_string(std::string_view key) const;
  const GgufValue::Array& get_array(std::string_view key) const;

  // Viewable tensors (see above), in file order.
  const std::vector<TensorView>& tensors() const { return views_; }
  // Every tensor, viewable or not, in file order.
  const std::vector<GgufTensorInfo>& tensor_infos() const { return infos_; }
  // True for every tensor in the file, viewable or not.
  bool contains(std::string_view name) const;
  // Throws FormatError naming the file and tensor when absent, UnsupportedError naming the
  // ggml type when it is quantized.
  const TensorView& at(std::string_view name) const;
  // The info of tensor `name`, viewable or not; throws FormatError naming the file when absent.
  const GgufTensorInfo& info(std::string_view name) const;
  // The tensor's bytes in the data region, in its ggml type (quantized blocks as stored).
  std::span<const std::byte> bytes(const GgufTensorInfo& info) const;
  // Tensor `name` as float32 in row-major order, dequantized as gguf_quants.h describes. Throws
  // UnsupportedError naming the tensor and its type when that type cannot be dequantized.
  std::vector<float> dequantize(std::string_view name) const;
  // general.alignment, or 32.
  uint64_t alignment() const { return alignment_; }
  // Offset of the data region from the start of the file.
  uint64_t data_offset() const { return data_offset_; }
  std::shared_ptr<const MappedFile> mapping() const { return mapping_; }
  const std::filesystem::path& path() const { return mapping_->path(); }

 private:
  GgufFile() = default;
  // Computes the data region, validates every tensor's placement and builds the views.
  void place_tensors(uint64_t header_end);

  std::shared_ptr<const MappedFile> mapping_;
  uint32_t version_ = 0;
  uint64_t alignment_ = 32;
  uint64_t data_offset_ = 0;
  std::map<std::string, GgufValue, std::less<>> metadata_;
  std::vector<GgufTensorInfo> infos_;
  std::vector<TensorView> views_;
  // name -> (position in infos_, position in views_ or npos)
  std::map<std::string, std::pair<size_t, size_t>, std::less<>> index_;
};

}  // namespace dpok::io
