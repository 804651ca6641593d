// safetensors writers: one atomic file, or a Hugging Face sharded checkpoint with its index.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <numeric>
#include <set>

#include "dpok/core/error.h"
#include "dpok/core/file_util.h"
#include "dpok/io/safetensors.h"

namespace dpok::io {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kSingleFileName = "model.safetensors";
constexpr std::string_view kIndexFileName = "model.safetensors.index.json";
// The reference writer pads the header with spaces so the data region starts 8-byte aligned.
constexpr size_t kHeaderAlignment = 8;

// Checks names, shapes and byte counts of everything about to be written, before any file is
// touched. `where` names the destination in messages.
void validate_tensors(const fs::path& where, const std::vector<TensorToWrite>& tensors) {
  std::set<std::string_view> seen;
  for (const auto& tensor : tensors) {
    if (tensor.name.empty() || tensor.name == "__metadata__") {
      DPOK_THROW(FormatError, "safetensors", "{}: invalid tensor name '{}'", where.string(),
                 tensor.name);
    }
    if (!seen.insert(tensor.name).second) {
      DPOK_THROW(FormatError, "safetensors", "{}: duplicate tensor name '{}'", where.string(),
                 tensor.name);
    }
    auto nbytes = checked_nbytes(tensor.shape, dtype_size(tensor.dtype));
    if (!nbytes) {
      DPOK_THROW(FormatError, "safetensors", "{}: tensor '{}': invalid shape {}", where.string(),
                 tensor.name, shape_string(tensor.shape));
    }
    if (*nbytes != tensor.data.size()) {
      DPOK_THROW(FormatError, "safetensors",
                 "{}: tensor '{}': {} {} needs {} bytes but {} were given", where.string(),
                 tensor.name, dtype_name(tensor.dtype), shape_string(tensor.shape), *nbytes,
                 tensor.data.size());
    }
  }
}

// Writes an already validated subset of tensors (pointers) to `path`.
void write_file(const fs::path& path, std::vector<const TensorToWrite*> tensors,
                const std::map<std::string, std::string>& metadata) {
  // Largest element first, then by name: every tensor starts aligned to its element size.
  std::stable_sort(tensors.begin(), tensors.end(), [](const auto* a, const auto* b) {
    size_t sa = dtype_size(a->dtype);
    size_t sb = dtype_size(b->dtype);
    return sa != sb ? sa > sb : a->name < b->name;
  });
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  size_t offset = 0;
  for (const auto* tensor : tensors) {
    header[tensor->name] = {{"dtype", dtype_name(tensor->dtype)},
                            {"shape", tensor->shape},
                            {"data_offsets", {offset, offset + tensor->data.size()}}};
    offset += tensor->data.size();
  }
  std::string text = header.dump();
  size_t padded =
      (sizeof(uint64_t) + text.size() + kHeaderAlignment - 1) / kHeaderAlignment * kHeaderAlignment;
  text.resize(padded - sizeof(uint64_t), ' ');
  uint64_t length = text.size();

  AtomicFileWriter out(path);
  out.write(std::as_bytes(std::span<const uint64_t>(&length, 1)));
  out.write(text);
  for (const auto* tensor : tensors) out.write(tensor->data);
  out.commit();
}

void remove_if_present(const fs::path& path) {
  std::error_code ec;
  fs::remove(path, ec);
  if (ec) {
    DPOK_THROW(IoError, "safetensors", "cannot remove stale {}: {}", path.string(), ec.message());
  }
}

// Shard files named by an existing index in `dir` (plain *.safetensors names only), so a new
// save can remove the ones it does not overwrite. An unreadable index names nothing.
std::set<std::string> previous_shard_files(const fs::path& dir) {
  std::set<std::string> files;
  std::error_code ec;
  if (!fs::exists(dir / kIndexFileName, ec)) return files;
  try {
    auto index = nlohmann::json::parse(read_file(dir / kIndexFileName));
    for (const auto& [name, shard] : index.at("weight_map").items()) {
      if (!shard.is_string()) continue;
      const auto& file = shard.get_ref<const std::string&>();
      if (file.find('/') == std::string::npos && file.size() > 12 &&
          file.ends_with(".safetensors") && file != kSingleFileName) {
        files.insert(file);
      }
    }
  } catch (const std::exception&) {
    // A stale index we cannot parse is simply replaced; its shards stay on disk.
  }
  return files;
}

// Greedy fill in the caller's order, as transformers' shard splitting does; the index is
// written last. Returns the shard file names.
std::set<std::string> write_shards(const fs::path& dir, const std::vector<TensorToWrite>& tensors,
                                   size_t max_shard_bytes, size_t total,
                                   const std::map<std::string, std::string>& metadata) {
  std::vector<std::vector<const TensorToWrite*>> shards(1);
  size_t shard_bytes = 0;
  for (const auto& tensor : tensors) {
    if (!shards.back().empty() && shard_bytes + tensor.data.size() > max_shard_bytes) {
      shards.emplace_back();
      shard_bytes = 0;
    }
    shards.back().push_back(&tensor);
    shard_bytes += tensor.data.size();
  }
  std::set<std::string> names;
  nlohmann::ordered_json weight_map = nlohmann::ordered_json::object();
  for (size_t i = 0; i < shards.size(); ++i) {
    std::string name = fmt::format("model-{:05d}-of-{:05d}.safetensors", i + 1, shards.size());
    for (const auto* tensor : shards[i]) weight_map[tensor->name] = name;
    write_file(dir / name, std::move(shards[i]), metadata);
    names.insert(name);
  }
  nlohmann::ordered_json index = {{"metadata", {{"total_size", total}}},
                                  {"weight_map", std::move(weight_map)}};
  AtomicFileWriter out(dir / kIndexFileName);
  out.write(index.dump(2) + "\n");
  out.commit();
  return names;
}

}  // namespace

void write_safetensors(const std::filesystem::path& path, const std::vector<TensorToWrite>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  validate_tensors(path, tensors);
  std::vector<const TensorToWrite*> all;
  for (const auto& tensor : tensors) all.push_back(&tensor);
  write_file(path, std::move(all), metadata);
}

void write_safetensors_checkpoint(const std::filesystem::path& dir,
                                  const std::vector<TensorToWrite>& tensors, size_t max_shard_bytes,
                                  const std::map<std::string, std::string>& metadata) {
  validate_tensors(dir, tensors);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) DPOK_THROW(IoError, "safetensors", "cannot create {}: {}", dir.string(), ec.message());
  const std::set<std::string> previous = previous_shard_files(dir);

  size_t total = std::accumulate(tensors.begin(), tensors.end(), size_t{0},
                                 [](size_t sum, const auto& t) { return sum + t.data.size(); });
  if (total <= max_shard_bytes) {
    std::vector<const TensorToWrite*> all;
    for (const auto& tensor : tensors) all.push_back(&tensor);
    write_file(dir / kSingleFileName, std::move(all), metadata);
    remove_if_present(dir / kIndexFileName);
    for (const auto& file : previous) remove_if_present(dir / file);
    return;
  }
  std::set<std::string> written = write_shards(dir, tensors, max_shard_bytes, total, metadata);
  remove_if_present(dir / kSingleFileName);
  for (const auto& file : previous) {
    if (written.count(file) == 0) remove_if_present(dir / file);
  }
}

}  // namespace dpok::io
