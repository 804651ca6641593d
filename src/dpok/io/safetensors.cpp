// safetensors reader: header validation and tensor views into the mapping.
#include "dpok/io/safetensors.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>

#include "dpok/core/error.h"
#include "dpok/io/json_util.h"

namespace dpok::io {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr size_t kHeaderLengthBytes = 8;
// A valid header nests three levels (root, tensor, shape); leave room for extensions.
constexpr size_t kMaxHeaderDepth = 8;
constexpr std::string_view kMetadataKey = "__metadata__";

// safetensors dtypes that are well-formed but which dpok does not read.
constexpr std::string_view kKnownUnsupportedDTypes[] = {
    "U16", "U32", "U64", "F8_E4M3", "F8_E5M2", "F8_E8M0", "F6_E2M3", "F6_E3M2", "F4", "C64"};

template <typename... Args>
[[noreturn]] void format_error(const fs::path& path, fmt::format_string<Args...> format,
                               Args&&... args) {
  DPOK_THROW(FormatError, "safetensors", "{}: {}", path.string(),
             fmt::format(format, std::forward<Args>(args)...));
}

// Reads the 8-byte length and parses the JSON header that follows it.
json parse_header(const MappedFile& file, size_t* data_begin) {
  const fs::path& path = file.path();
  if (file.size() < kHeaderLengthBytes) {
    format_error(path, "file of {} bytes is shorter than the {}-byte header length", file.size(),
                 kHeaderLengthBytes);
  }
  uint64_t header_len = 0;
  std::memcpy(&header_len, file.data(), sizeof(header_len));
  if (header_len > kMaxSafetensorsHeaderBytes) {
    format_error(path, "header length {} exceeds the {}-byte limit", header_len,
                 kMaxSafetensorsHeaderBytes);
  }
  if (header_len > file.size() - kHeaderLengthBytes) {
    format_error(path, "header length {} exceeds the {} bytes after the length field", header_len,
                 file.size() - kHeaderLengthBytes);
  }
  std::string_view text(reinterpret_cast<const char*>(file.data()) + kHeaderLengthBytes,
                        header_len);
  if (size_t depth = detail::json_nesting_depth(text); depth > kMaxHeaderDepth) {
    format_error(path, "header JSON nests {} levels deep (limit {})", depth, kMaxHeaderDepth);
  }
  json header;
  try {
    header = json::parse(text.begin(), text.end());
  } catch (const json::exception& e) {
    format_error(path, "header is not valid JSON: {}", e.what());
  }
  if (!header.is_object()) {
    format_error(path, "header must be a JSON object, got {}", header.type_name());
  }
  *data_begin = kHeaderLengthBytes + header_len;
  return header;
}

std::map<std::string, std::string> parse_metadata(const fs::path& path, const json& value) {
  if (!value.is_object()) {
    format_error(path, "'{}' must be an object, got {}", kMetadataKey, value.type_name());
  }
  std::map<std::string, std::string> metadata;
  for (const auto& [key, entry] : value.items()) {
    if (!entry.is_string()) {
      format_error(path, "'{}' key '{}' must be a string, got {}", kMetadataKey, key,
                   entry.type_name());
    }
    metadata.emplace(key, entry.get<std::string>());
  }
  return metadata;
}

DType parse_dtype(const fs::path& path, const std::string& name, const json& entry) {
  auto it = entry.find("dtype");
  if (it == entry.end() || !it->is_string()) {
    format_error(path, "tensor '{}': 'dtype' must be a string", name);
  }
  const auto& spelling = it->get_ref<const std::string&>();
  if (auto dtype = dtype_from_name(spelling)) return *dtype;
  for (std::string_view known : kKnownUnsupportedDTypes) {
    if (spelling == known) {
      DPOK_THROW(UnsupportedError, "safetensors", "{}: tensor '{}': dtype {} is not supported",
                 path.string(), name, spelling);
    }
  }
  format_error(path, "tensor '{}': unknown dtype '{}'", name, spelling);
}

std::vector<int64_t> parse_shape(const fs::path& path, const std::string& name, const json& entry) {
  auto it = entry.find("shape");
  if (it == entry.end() || !it->is_array()) {
    format_error(path, "tensor '{}': 'shape' must be an array", name);
  }
  std::vector<int64_t> shape;
  for (const auto& dim : *it) {
    auto value = detail::json_to_u64(dim);
    if (!value || *value > static_cast<uint64_t>(INT64_MAX)) {
      format_error(path, "tensor '{}': shape entry {} is not a non-negative integer", name,
                   dim.dump());
    }
    shape.push_back(static_cast<int64_t>(*value));
  }
  return shape;
}

// Validates one tensor entry and returns its view (data pointer set later by the caller).
TensorView parse_tensor(const fs::path& path, const std::string& name, const json& entry,
                        size_t data_size, std::pair<uint64_t, uint64_t>* range) {
  if (!entry.is_object()) {
    format_error(path, "tensor '{}': expected an object, got {}", name, entry.type_name());
  }
  TensorView view;
  view.name = name;
  view.dtype = parse_dtype(path, name, entry);
  view.shape = parse_shape(path, name, entry);
  auto it = entry.find("data_offsets");
  if (it == entry.end() || !it->is_array() || it->size() != 2) {
    format_error(path, "tensor '{}': 'data_offsets' must be an array of two integers", name);
  }
  auto begin = detail::json_to_u64((*it)[0]);
  auto end = detail::json_to_u64((*it)[1]);
  if (!begin || !end) {
    format_error(path, "tensor '{}': data_offsets {} are not non-negative integers", name,
                 it->dump());
  }
  if (*begin > *end) {
    format_error(path, "tensor '{}': data_offsets [{}, {}] have begin > end", name, *begin, *end);
  }
  if (*end > data_size) {
    format_error(path, "tensor '{}': data_offsets [{}, {}] exceed data region of {} bytes", name,
                 *begin, *end, data_size);
  }
  auto nbytes = checked_nbytes(view.shape, dtype_size(view.dtype));
  if (!nbytes) {
    format_error(path, "tensor '{}': shape {} x {} bytes overflows", name, shape_string(view.shape),
                 dtype_size(view.dtype));
  }
  if (*end - *begin != *nbytes) {
    format_error(path, "tensor '{}': data_offsets [{}, {}] span {} bytes but {} {} needs {}", name,
                 *begin, *end, *end - *begin, dtype_name(view.dtype), shape_string(view.shape),
                 *nbytes);
  }
  view.nbytes = *nbytes;
  *range = {*begin, *end};
  return view;
}

}  // namespace

SafetensorsFile SafetensorsFile::open(const std::filesystem::path& path) {
  SafetensorsFile result;
  result.mapping_ = MappedFile::open(path);
  const MappedFile& file = *result.mapping_;
  size_t data_begin = 0;
  json header = parse_header(file, &data_begin);
  const size_t data_size = file.size() - data_begin;

  struct Entry {
    TensorView view;
    std::pair<uint64_t, uint64_t> range;
  };
  std::vector<Entry> entries;
  for (const auto& [key, value] : header.items()) {
    if (key == kMetadataKey) {
      result.metadata_ = parse_metadata(path, value);
      continue;
    }
    Entry entry;
    entry.view = parse_tensor(path, key, value, data_size, &entry.range);
    entries.push_back(std::move(entry));
  }
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.range != b.range ? a.range < b.range : a.view.name < b.view.name;
  });
  for (size_t i = 1; i < entries.size(); ++i) {
    const Entry& prev = entries[i - 1];
    const Entry& cur = entries[i];
    if (cur.range.first < prev.range.second) {
      format_error(path, "tensor '{}': data_offsets [{}, {}] overlap tensor '{}' at [{}, {}]",
                   cur.view.name, cur.range.first, cur.range.second, prev.view.name,
                   prev.range.first, prev.range.second);
    }
  }
  result.tensors_.reserve(entries.size());
  for (auto& entry : entries) {
    entry.view.data = file.data() + data_begin + entry.range.first;
    result.index_.emplace(entry.view.name, result.tensors_.size());
    result.tensors_.push_back(std::move(entry.view));
  }
  return result;
}

bool SafetensorsFile::contains(std::string_view name) const {
  return index_.count(name) != 0;
}

const TensorView& SafetensorsFile::at(std::string_view name) const {
  auto it = index_.find(name);
  if (it == index_.end()) format_error(path(), "no tensor named '{}'", name);
  return tensors_[it->second];
}

}  // namespace dpok::io
