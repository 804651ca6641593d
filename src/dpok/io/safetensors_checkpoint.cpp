// safetensors checkpoints on disk: a single file, a directory with model.safetensors, or a
// sharded directory described by model.safetensors.index.json.
#include <nlohmann/json.hpp>

#include "dpok/core/error.h"
#include "dpok/core/file_util.h"
#include "dpok/io/json_util.h"
#include "dpok/io/safetensors.h"

namespace dpok::io {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr std::string_view kSingleFileName = "model.safetensors";
constexpr std::string_view kIndexFileName = "model.safetensors.index.json";
// An index nests three levels ({"weight_map": {...}, "metadata": {...}}); allow some slack.
constexpr size_t kMaxIndexDepth = 8;

template <typename... Args>
[[noreturn]] void index_error(const fs::path& path, fmt::format_string<Args...> format,
                              Args&&... args) {
  DPOK_THROW(FormatError, "safetensors", "{}: {}", path.string(),
             fmt::format(format, std::forward<Args>(args)...));
}

// weight_map as (tensor, shard file name) pairs, validated.
std::vector<std::pair<std::string, std::string>> read_weight_map(const fs::path& index_path) {
  std::string text = read_file(index_path);
  if (size_t depth = detail::json_nesting_depth(text); depth > kMaxIndexDepth) {
    index_error(index_path, "JSON nests {} levels deep (limit {})", depth, kMaxIndexDepth);
  }
  json index;
  try {
    index = json::parse(text);
  } catch (const json::exception& e) {
    index_error(index_path, "not valid JSON: {}", e.what());
  }
  if (!index.is_object())
    index_error(index_path, "expected a JSON object, got {}", index.type_name());
  auto it = index.find("weight_map");
  if (it == index.end() || !it->is_object()) {
    index_error(index_path, "'weight_map' must be an object");
  }
  std::vector<std::pair<std::string, std::string>> entries;
  for (const auto& [name, shard] : it->items()) {
    if (!shard.is_string()) {
      index_error(index_path, "weight_map['{}'] must be a string, got {}", name, shard.type_name());
    }
    const auto& file = shard.get_ref<const std::string&>();
    // Shards live next to the index: refuse paths that could point anywhere else.
    if (file.empty() || file == "." || file == ".." || file.find('/') != std::string::npos ||
        file.find('\0') != std::string::npos) {
      index_error(index_path, "weight_map['{}'] = '{}' is not a plain file name", name, file);
    }
    entries.emplace_back(name, file);
  }
  if (entries.empty()) index_error(index_path, "'weight_map' is empty");
  return entries;
}

}  // namespace

SafetensorsCheckpoint SafetensorsCheckpoint::open(const std::filesystem::path& dir_or_file) {
  SafetensorsCheckpoint result;
  result.path_ = dir_or_file;
  std::error_code ec;
  fs::path single = dir_or_file;
  if (fs::is_directory(dir_or_file, ec)) {
    single = dir_or_file / kSingleFileName;
    if (!fs::exists(single, ec)) {
      fs::path index_path = dir_or_file / kIndexFileName;
      if (!fs::exists(index_path, ec)) {
        DPOK_THROW(IoError, "safetensors", "{}: neither {} nor {} found", dir_or_file.string(),
                   kSingleFileName, kIndexFileName);
      }
      std::map<std::string, size_t> shard_positions;
      for (const auto& [name, shard] : read_weight_map(index_path)) {
        auto [pos, inserted] = shard_positions.emplace(shard, result.files_.size());
        if (inserted) result.files_.push_back(SafetensorsFile::open(dir_or_file / shard));
        const SafetensorsFile& file = result.files_[pos->second];
        if (!file.contains(name)) {
          index_error(index_path, "weight_map names tensor '{}' in shard {}, which lacks it", name,
                      shard);
        }
        auto position = static_cast<size_t>(&file.at(name) - file.tensors().data());
        result.index_.emplace(name, std::pair{pos->second, position});
      }
      return result;
    }
  }
  result.files_.push_back(SafetensorsFile::open(single));
  const auto& views = result.files_.front().tensors();
  for (size_t i = 0; i < views.size(); ++i) result.index_.emplace(views[i].name, std::pair{0, i});
  return result;
}

std::vector<std::string> SafetensorsCheckpoint::names() const {
  std::vector<std::string> names;
  names.reserve(index_.size());
  for (const auto& entry : index_) names.push_back(entry.first);
  return names;
}

bool SafetensorsCheckpoint::contains(std::string_view name) const {
  return index_.count(name) != 0;
}

const TensorView& SafetensorsCheckpoint::at(std::string_view name) const {
  auto it = index_.find(name);
  if (it == index_.end()) {
    DPOK_THROW(FormatError, "safetensors", "{}: no tensor named '{}'", path_.string(), name);
  }
  return files_[it->second.first].tensors()[it->second.second];
}

}  // namespace dpok::io
