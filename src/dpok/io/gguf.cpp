// GGUF reader: header, metadata and tensor-info parsing with full validation.
#include "dpok/io/gguf.h"

#include <algorithm>
#include <array>
#include <limits>
#include <set>

#include "dpok/core/error.h"
#include "dpok/io/byte_reader.h"
#include "dpok/io/gguf_quants.h"

namespace dpok::io {
namespace {

namespace fs = std::filesystem;

constexpr uint32_t kMinVersion = 1;
constexpr uint32_t kMaxVersion = 3;
constexpr uint64_t kDefaultAlignment = 32;
constexpr uint32_t kMaxDims = 4;  // GGML_MAX_DIMS
// ggml itself rejects nested arrays; allow a little nesting, but bound the recursion.
constexpr int kMaxArrayDepth = 4;
constexpr std::string_view kAlignmentKey = "general.alignment";

constexpr std::array<GgmlTypeInfo, 32> kGgmlTypes = {{
    {0, "F32", 1, 4, DType::F32},  {1, "F16", 1, 2, DType::F16},    {2, "Q4_0", 32, 18, {}},
    {3, "Q4_1", 32, 20, {}},       {6, "Q5_0", 32, 22, {}},         {7, "Q5_1", 32, 24, {}},
    {8, "Q8_0", 32, 34, {}},       {9, "Q8_1", 32, 36, {}},         {10, "Q2_K", 256, 84, {}},
    {11, "Q3_K", 256, 110, {}},    {12, "Q4_K", 256, 144, {}},      {13, "Q5_K", 256, 176, {}},
    {14, "Q6_K", 256, 210, {}},    {15, "Q8_K", 256, 292, {}},      {16, "IQ2_XXS", 256, 66, {}},
    {17, "IQ2_XS", 256, 74, {}},   {18, "IQ3_XXS", 256, 98, {}},    {19, "IQ1_S", 256, 50, {}},
    {20, "IQ4_NL", 32, 18, {}},    {21, "IQ3_S", 256, 110, {}},     {22, "IQ2_S", 256, 82, {}},
    {23, "IQ4_XS", 256, 136, {}},  {24, "I8", 1, 1, DType::I8},     {25, "I16", 1, 2, DType::I16},
    {26, "I32", 1, 4, DType::I32}, {27, "I64", 1, 8, DType::I64},   {28, "F64", 1, 8, DType::F64},
    {29, "IQ1_M", 256, 56, {}},    {30, "BF16", 1, 2, DType::BF16}, {34, "TQ1_0", 256, 54, {}},
    {35, "TQ2_0", 256, 66, {}},    {39, "MXFP4", 32, 17, {}},
}};

constexpr std::array<std::string_view, 13> kValueTypeNames = {
    "U8", "I8", "U16", "I16", "U32", "I32", "F32", "BOOL", "STRING", "ARRAY", "U64", "I64", "F64"};

template <typename... Args>
[[noreturn]] void gguf_error(const fs::path& path, fmt::format_string<Args...> format,
                             Args&&... args) {
  DPOK_THROW(FormatError, "gguf", "{}: {}", path.string(),
             fmt::format(format, std::forward<Args>(args)...));
}

// Reads GGUF primitives with the version's widths, naming the file in every error.
class Parser {
 public:
  explicit Parser(const MappedFile& file)
      : reader_(file.data(), file.size(), "gguf", file.path().string()) {}

  detail::ByteReader& reader() { return reader_; }
  void set_version(uint32_t version) { version_ = version; }
  // Width of counts and lengths: 4 bytes in v1, 8 after.
  size_t count_size() const { return version_ == 1 ? 4 : 8; }

  uint64_t read_count(std::string_view what) {
    if (version_ == 1) return reader_.read<uint32_t>(what);
    return reader_.read<uint64_t>(what);
  }
  std::string read_string(std::string_view what) {
    uint64_t length = read_count(what);
    return reader_.read_string(length, what);
  }
  GgufValue read_value(GgufType type, const std::string& key, int depth);

  template <typename... Args>
  [[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) const {
    DPOK_THROW(FormatError, "gguf", "{}: {}", reader_.file(),
               fmt::format(format, std::forward<Args>(args)...));
  }

 private:
  // Smallest number of bytes one value of `type` can occupy; bounds array counts.
  size_t min_value_size(GgufType type) const;
  GgufValue read_array(const std::string& key, int depth);

  detail::ByteReader reader_;
  uint32_t version_ = 0;
};

size_t Parser::min_value_size(GgufType type) const {
  switch (type) {
    case GgufType::U8:
    case GgufType::I8:
    case GgufType::BOOL:
      return 1;
    case GgufType::U16:
    case GgufType::I16:
      return 2;
    case GgufType::U32:
    case GgufType::I32:
    case GgufType::F32:
      return 4;
    case GgufType::U64:
    case GgufType::I64:
    case GgufType::F64:
      return 8;
    case GgufType::STRING:
      return count_size();
    case GgufType::ARRAY:
      return 4 + count_size();
  }
  return 1;
}

GgufType checked_value_type(Parser& parser, uint32_t raw, const std::string& key) {
  if (raw >= kValueTypeNames.size()) parser.fail("key '{}': unknown value type {}", key, raw);
  return static_cast<GgufType>(raw);
}

GgufValue Parser::read_array(const std::string& key, int depth) {
  if (depth >= kMaxArrayDepth) fail("key '{}': arrays nested deeper than {}", key, kMaxArrayDepth);
  GgufType element = checked_value_type(*this, reader_.read<uint32_t>("array type"), key);
  uint64_t count = read_count("array length");
  // Check the count against the bytes left before reserving anything.
  if (count > reader_.remaining() / min_value_size(element)) {
    fail("key '{}': array of {} {} values cannot fit in the {} bytes left at offset {}", key, count,
         gguf_type_name(element), reader_.remaining(), reader_.offset());
  }
  GgufValue::Array values;
  values.reserve(static_cast<size_t>(count));
  for (uint64_t i = 0; i < count; ++i) values.push_back(read_value(element, key, depth + 1));
  return GgufValue(GgufType::ARRAY, std::move(values), element);
}

GgufValue Parser::read_value(GgufType type, const std::string& key, int depth) {
  switch (type) {
    case GgufType::U8:
      return {type, reader_.read<uint8_t>(key)};
    case GgufType::I8:
      return {type, reader_.read<int8_t>(key)};
    case GgufType::U16:
      return {type, reader_.read<uint16_t>(key)};
    case GgufType::I16:
      return {type, reader_.read<int16_t>(key)};
    case GgufType::U32:
      return {type, reader_.read<uint32_t>(key)};
    case GgufType::I32:
      return {type, reader_.read<int32_t>(key)};
    case GgufType::F32:
      return {type, reader_.read<float>(key)};
    case GgufType::U64:
      return {type, reader_.read<uint64_t>(key)};
    case GgufType::I64:
      return {type, reader_.read<int64_t>(key)};
    case GgufType::F64:
      return {type, reader_.read<double>(key)};
    case GgufType::BOOL: {
      // Read as a byte: loading any other value into a bool is undefined behaviour.
      auto byte = reader_.read<uint8_t>(key);
      if (byte > 1) fail("key '{}': bool value {} at offset {}", key, byte, reader_.offset() - 1);
      return {type, byte == 1};
    }
    case GgufType::STRING:
      return {type, read_string(key)};
    case GgufType::ARRAY:
      return read_array(key, depth);
  }
  fail("key '{}': unknown value type {}", key, static_cast<uint32_t>(type));
}

uint32_t read_version(Parser& parser, detail::ByteReader& reader) {
  auto magic = reader.read_string(4, "magic");
  if (magic != "GGUF") {
    parser.fail("bad magic {:?} (expected \"GGUF\")", magic);
  }
  auto version = reader.read<uint32_t>("version");
  if (version < kMinVersion || version > kMaxVersion) {
    if (uint32_t swapped = __builtin_bswap32(version);
        swapped >= kMinVersion && swapped <= kMaxVersion) {
      DPOK_THROW(UnsupportedError, "gguf", "{}: big-endian GGUF (version {}) is not supported",
                 reader.file(), swapped);
    }
    parser.fail("unsupported version {} (expected {} to {})", version, kMinVersion, kMaxVersion);
  }
  return version;
}

// Reads one tensor info and validates its shape and type (not yet its placement).
GgufTensorInfo read_tensor_info(Parser& parser, size_t index) {
  auto& reader = parser.reader();
  GgufTensorInfo info;
  info.name = parser.read_string("tensor name");
  auto n_dims = reader.read<uint32_t>("tensor dimension count");
  if (n_dims > kMaxDims) {
    parser.fail("tensor '{}' (#{}): {} dimensions (at most {})", info.name, index, n_dims,
                kMaxDims);
  }
  std::vector<int64_t> ne(n_dims);
  for (auto& dim : ne) {
    uint64_t value = parser.read_count("tensor dimension");
    if (value > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      parser.fail("tensor '{}': dimension {} out of range", info.name, value);
    }
    dim = static_cast<int64_t>(value);
  }
  info.shape.assign(ne.rbegin(), ne.rend());
  info.ggml_type = reader.read<uint32_t>("tensor type");
  info.offset = reader.read<uint64_t>("tensor offset");
  const GgmlTypeInfo* type = find_ggml_type(info.ggml_type);
  if (type == nullptr) {
    DPOK_THROW(UnsupportedError, "gguf", "{}: tensor '{}': unknown ggml type {}", reader.file(),
               info.name, info.ggml_type);
  }
  info.dtype = type->dtype;
  int64_t row = ne.empty() ? 1 : ne[0];
  if (row % type->block_size != 0) {
    parser.fail("tensor '{}': row of {} elements is not a multiple of the {} block size {}",
                info.name, row, type->name, type->block_size);
  }
  auto numel = checked_nbytes(info.shape, 1);
  if (!numel || *numel / type->block_size > std::numeric_limits<size_t>::max() / type->type_size) {
    parser.fail("tensor '{}': shape {} overflows", info.name, shape_string(info.shape));
  }
  info.nbytes = *numel / type->block_size * type->type_size;
  return info;
}

uint64_t read_alignment(Parser& parser, const std::map<std::string, GgufValue, std::less<>>& kv) {
  auto it = kv.find(kAlignmentKey);
  if (it == kv.end()) return kDefaultAlignment;
  if (it->second.type() != GgufType::U32) {
    parser.fail("key '{}' must be U32, got {}", kAlignmentKey, gguf_type_name(it->second.type()));
  }
  auto alignment = std::get<uint32_t>(it->second.storage());
  if (alignment == 0 || (alignment & (alignment - 1)) != 0) {
    parser.fail("key '{}' = {} is not a power of two", kAlignmentKey, alignment);
  }
  return alignment;
}

}  // namespace

std::string_view gguf_type_name(GgufType type) {
  auto index = static_cast<size_t>(type);
  return index < kValueTypeNames.size() ? kValueTypeNames[index] : "unknown";
}

const GgmlTypeInfo* find_ggml_type(uint32_t id) {
  for (const auto& row : kGgmlTypes) {
    if (row.id == id) return &row;
  }
  return nullptr;
}

std::string ggml_type_name(uint32_t ggml_type) {
  const GgmlTypeInfo* type = find_ggml_type(ggml_type);
  return type != nullptr ? std::string(type->name) : fmt::format("type {}", ggml_type);
}

// ---------------------------------------------------------------------------------------------
// GgufValue

bool GgufValue::is_integer() const {
  switch (type_) {
    case GgufType::U8:
    case GgufType::I8:
    case GgufType::U16:
    case GgufType::I16:
    case GgufType::U32:
    case GgufType::I32:
    case GgufType::U64:
    case GgufType::I64:
      return true;
    default:
      return false;
  }
}

int64_t GgufValue::as_int() const {
  if (!is_integer()) {
    DPOK_THROW(FormatError, "gguf", "expected an integer value, got {}", gguf_type_name(type_));
  }
  if (type_ == GgufType::U64) {
    auto value = std::get<uint64_t>(value_);
    if (value > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      DPOK_THROW(FormatError, "gguf", "U64 value {} does not fit in int64", value);
    }
    return static_cast<int64_t>(value);
  }
  return std::visit(
      [](const auto& v) -> int64_t {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
          return static_cast<int64_t>(v);
        } else {
          return 0;  // unreachable: is_integer() checked the type
        }
      },
      value_);
}

double GgufValue::as_float() const {
  if (type_ == GgufType::F32) return std::get<float>(value_);
  if (type_ == GgufType::F64) return std::get<double>(value_);
  if (is_integer()) return static_cast<double>(as_int());
  DPOK_THROW(FormatError, "gguf", "expected a number, got {}", gguf_type_name(type_));
}

bool GgufValue::as_bool() const {
  if (type_ != GgufType::BOOL) {
    DPOK_THROW(FormatError, "gguf", "expected BOOL, got {}", gguf_type_name(type_));
  }
  return std::get<bool>(value_);
}

const std::string& GgufValue::as_string() const {
  if (type_ != GgufType::STRING) {
    DPOK_THROW(FormatError, "gguf", "expected STRING, got {}", gguf_type_name(type_));
  }
  return std::get<std::string>(value_);
}

const GgufValue::Array& GgufValue::as_array() const {
  if (type_ != GgufType::ARRAY) {
    DPOK_THROW(FormatError, "gguf", "expected ARRAY, got {}", gguf_type_name(type_));
  }
  return std::get<Array>(value_);
}

// ---------------------------------------------------------------------------------------------
// GgufFile

GgufFile GgufFile::open(const std::filesystem::path& path) {
  GgufFile result;
  result.mapping_ = MappedFile::open(path);
  const MappedFile& file = *result.mapping_;
  Parser parser(file);
  auto& reader = parser.reader();
  result.version_ = read_version(parser, reader);
  parser.set_version(result.version_);

  const uint64_t n_tensors = parser.read_count("tensor count");
  const uint64_t n_kv = parser.read_count("key/value count");
  // Bound both counts by the smallest encoding of an entry before allocating anything.
  const size_t min_kv_bytes = parser.count_size() + 4 + 1;
  const size_t min_tensor_bytes = parser.count_size() + 4 + 4 + 8;
  if (n_kv > reader.remaining() / min_kv_bytes) {
    parser.fail("{} key/value pairs cannot fit in the {} bytes after the header", n_kv,
                reader.remaining());
  }
  if (n_tensors > reader.remaining() / min_tensor_bytes) {
    parser.fail("{} tensors cannot fit in the {} bytes after the header", n_tensors,
                reader.remaining());
  }
  for (uint64_t i = 0; i < n_kv; ++i) {
    std::string key = parser.read_string("key");
    GgufType type = checked_value_type(parser, reader.read<uint32_t>("value type"), key);
    GgufValue value = parser.read_value(type, key, 0);
    if (!result.metadata_.emplace(key, std::move(value)).second) {
      parser.fail("duplicate key '{}'", key);
    }
  }
  result.alignment_ = read_alignment(parser, result.metadata_);

  result.infos_.reserve(static_cast<size_t>(n_tensors));
  for (uint64_t i = 0; i < n_tensors; ++i) {
    GgufTensorInfo info = read_tensor_info(parser, static_cast<size_t>(i));
    if (!result.index_.emplace(info.name, std::pair{result.infos_.size(), std::string::npos})
             .second) {
      parser.fail("duplicate tensor name '{}'", info.name);
    }
    result.infos_.push_back(std::move(info));
  }
  result.place_tensors(reader.offset());
  return result;
}

void GgufFile::place_tensors(uint64_t header_end) {
  const MappedFile& file = *mapping_;
  const fs::path& path = file.path();
  // header_end <= file size, so this cannot overflow.
  data_offset_ = (header_end + alignment_ - 1) / alignment_ * alignment_;
  if (!infos_.empty() && data_offset_ > file.size()) {
    gguf_error(path, "data region starts at offset {}, past the end of the {}-byte file",
               data_offset_, file.size());
  }
  const uint64_t data_size = data_offset_ <= file.size() ? file.size() - data_offset_ : 0;
  for (const auto& info : infos_) {
    if (info.offset % alignment_ != 0) {
      gguf_error(path, "tensor '{}': offset {} is not a multiple of the alignment {}", info.name,
                 info.offset, alignment_);
    }
    if (info.offset > data_size || info.nbytes > data_size - info.offset) {
      gguf_error(path, "tensor '{}': {} bytes at offset {} exceed the data region of {} bytes",
                 info.name, info.nbytes, info.offset, data_size);
    }
  }
  std::vector<const GgufTensorInfo*> order;
  for (const auto& info : infos_) order.push_back(&info);
  std::sort(order.begin(), order.end(), [](const auto* a, const auto* b) {
    return a->offset != b->offset ? a->offset < b->offset : a->nbytes < b->nbytes;
  });
  for (size_t i = 1; i < order.size(); ++i) {
    if (order[i]->offset < order[i - 1]->offset + order[i - 1]->nbytes) {
      gguf_error(path, "tensor '{}' at offset {} overlaps tensor '{}' at [{}, {})", order[i]->name,
                 order[i]->offset, order[i - 1]->name, order[i - 1]->offset,
                 order[i - 1]->offset + order[i - 1]->nbytes);
    }
  }
  for (size_t i = 0; i < infos_.size(); ++i) {
    const auto& info = infos_[i];
    if (!info.dtype) continue;
    index_.find(info.name)->second.second = views_.size();
    views_.push_back(TensorView{info.name, *info.dtype, info.shape,
                                file.data() + data_offset_ + info.offset, info.nbytes});
  }
}

const GgufValue* GgufFile::find(std::string_view key) const {
  auto it = metadata_.find(key);
  return it == metadata_.end() ? nullptr : &it->second;
}

namespace {

// Looks `key` up and applies `get`, rethrowing a type mismatch with the file and key named.
template <typename Get>
decltype(auto) typed_get(const GgufFile& file, std::string_view key, Get get) {
  const GgufValue* value = file.find(key);
  if (value == nullptr) {
    DPOK_THROW(FormatError, "gguf", "{}: missing key '{}'", file.path().string(), key);
  }
  try {
    return get(*value);
  } catch (const FormatError& e) {
    DPOK_THROW(FormatError, "gguf", "{}: key '{}': {}", file.path().string(), key, e.what());
  }
}

}  // namespace

int64_t GgufFile::get_int(std::string_view key) const {
  return typed_get(*this, key, [](const GgufValue& v) { return v.as_int(); });
}

double GgufFile::get_float(std::string_view key) const {
  return typed_get(*this, key, [](const GgufValue& v) { return v.as_float(); });
}

const std::string& GgufFile::get_string(std::string_view key) const {
  return typed_get(*this, key,
                   [](const GgufValue& v) -> const std::string& { return v.as_string(); });
}

const GgufValue::Array& GgufFile::get_array(std::string_view key) const {
  return typed_get(*this, key,
                   [](const GgufValue& v) -> const GgufValue::Array& { return v.as_array(); });
}

bool GgufFile::contains(std::string_view name) const {
  return index_.count(name) != 0;
}

const GgufTensorInfo& GgufFile::info(std::string_view name) const {
  auto it = index_.find(name);
  if (it == index_.end()) {
    DPOK_THROW(FormatError, "gguf", "{}: no tensor named '{}'", path().string(), name);
  }
  return infos_[it->second.first];
}

std::span<const std::byte> GgufFile::bytes(const GgufTensorInfo& info) const {
  return {mapping_->data() + data_offset_ + info.offset, info.nbytes};
}

std::vector<float> GgufFile::dequantize(std::string_view name) const {
  const GgufTensorInfo& tensor = info(name);
  if (!can_dequantize(tensor.ggml_type)) {
    DPOK_THROW(UnsupportedError, "gguf",
               "{}: tensor '{}' has ggml type {}, which dpok cannot dequantize (supported: {})",
               path().string(), name, ggml_type_name(tensor.ggml_type), dequantizable_type_names());
  }
  std::vector<float> values(*checked_nbytes(tensor.shape, 1));
  io::dequantize(tensor.ggml_type, bytes(tensor), values);
  return values;
}

const TensorView& GgufFile::at(std::string_view name) const {
  auto it = index_.find(name);
  if (it == index_.end()) {
    DPOK_THROW(FormatError, "gguf", "{}: no tensor named '{}'", path().string(), name);
  }
  if (it->second.second == std::string::npos) {
    DPOK_THROW(UnsupportedError, "gguf", "{}: tensor '{}' has ggml type {}, which dpok cannot read",
               path().string(), name, ggml_type_name(infos_[it->second.first].ggml_type));
  }
  return views_[it->second.second];
}

}  // namespace dpok::io
