// safetensors checkpoints: a validating memory-mapped reader, a sharded-directory reader, and
// atomic writers (single file, or Hugging Face shards + model.safetensors.index.json).
//
// Format (https://github.com/huggingface/safetensors): 8-byte little-endian header length N, N
// bytes of JSON {name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {str:
// str}}, then the data region; offsets are relative to the data region.
//
// The reader trusts nothing before checking it: N <= 100 MB and <= file size - 8, JSON
// well-formed (nesting depth bounded) with the right types, dtype known, shape non-negative with
// no overflow in numel x size, begin <= end inside the data region, end - begin == dtype size x
// numel, and no two tensors overlapping. Every defect throws FormatError (UnsupportedError for a
// dtype safetensors knows but dpok does not read, e.g. F8_E4M3) naming the file, the tensor or
// key, and the defect; a file that cannot be read throws IoError. Gaps in the data region are
// accepted. Tensor data is not copied: views point into the mapping (see dtype.h for layout).
//
// Not here: conversion to torch tensors or other dtypes (the model subsystem does that).
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dpok/io/dtype.h"
#include "dpok/io/mapped_file.h"

namespace dpok::io {

// Largest header accepted, as in the reference implementation (100 MB).
inline constexpr size_t kMaxSafetensorsHeaderBytes = 100'000'000;

// One .safetensors file, validated on open. Copies share the mapping.
class SafetensorsFile {
 public:
  // Maps and validates `path`. Throws IoError / FormatError / UnsupportedError as described above.
  static SafetensorsFile open(const std::filesystem::path& path);

  // All tensors, in file order (ascending data offset, ties by name).
  const std::vector<TensorView>& tensors() const { return tensors_; }
  bool contains(std::string_view name) const;
  // Throws FormatError naming the file and the tensor when it is absent.
  const TensorView& at(std::string_view name) const;
  // The "__metadata__" object (empty when absent).
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  // Holding this keeps every view's bytes alive.
  std::shared_ptr<const MappedFile> mapping() const { return mapping_; }
  const std::filesystem::path& path() const { return mapping_->path(); }

 private:
  SafetensorsFile() = default;

  std::shared_ptr<const MappedFile> mapping_;
  std::vector<TensorView> tensors_;
  std::map<std::string, size_t, std::less<>> index_;  // name -> position in tensors_
  std::map<std::string, std::string> metadata_;
};

// A checkpoint: a single .safetensors file, or a directory holding either model.safetensors or
// model.safetensors.index.json ({"weight_map": {tensor: shard file}}) and its shards. As in
// transformers, model.safetensors wins when both exist. Shard names must be plain file names in
// the same directory; every tensor the index names must exist in its shard (FormatError naming
// the index, the tensor and the shard otherwise). Only the tensors the index names are exposed.
class SafetensorsCheckpoint {
 public:
  static SafetensorsCheckpoint open(const std::filesystem::path& dir_or_file);

  // Tensor names, sorted.
  std::vector<std::string> names() const;
  bool contains(std::string_view name) const;
  // The view inside the right shard. Throws FormatError naming the checkpoint and the tensor.
  const TensorView& at(std::string_view name) const;
  // The opened files (one, or one per shard in index order of first use).
  const std::vector<SafetensorsFile>& files() const { return files_; }
  const std::filesystem::path& path() const { return path_; }

 private:
  SafetensorsCheckpoint() = default;

  std::filesystem::path path_;
  std::vector<SafetensorsFile> files_;
  // name -> (position in files_, position in that file's tensors()); indices keep copies valid.
  std::map<std::string, std::pair<size_t, size_t>, std::less<>> index_;
};

// A tensor to write: `data` must hold exactly numel(shape) x dtype_size(dtype) bytes,
// row-major, little-endian.
struct TensorToWrite {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  std::span<const std::byte> data;
};

// Writes one file atomically (temporary file in the same directory, fsync, rename, fsync the
// directory; the temporary is removed if anything fails). Tensors are laid out contiguously,
// sorted by element size (largest first) then name, after a header padded to 8 bytes, so every
// tensor starts aligned to its element size, as the reference writer does. Throws FormatError
// naming the tensor for a byte count that does not match its shape, an empty, duplicate or
// reserved ("__metadata__") name or a negative dimension; IoError naming the path on I/O failure.
void write_safetensors(const std::filesystem::path& path, const std::vector<TensorToWrite>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

// Writes a checkpoint into `dir` (created if needed): model.safetensors when the tensors' total
// size is at most max_shard_bytes, else model-0000i-of-0000N.safetensors shards (filled greedily
// in the given order; a tensor larger than max_shard_bytes gets its own shard) plus
// model.safetensors.index.json ({"metadata": {"total_size": bytes}, "weight_map": {name:
// shard}}), written last. Each file is atomic; `metadata` goes into every file's __metadata__.
// Leftovers of a previous save into `dir` are removed once the new checkpoint is complete: a
// model.safetensors or index of the other layout (so open() cannot pick up stale weights), and
// shards named by the previous index that the new save did not overwrite.
void write_safetensors_checkpoint(const std::filesystem::path& dir,
                                  const std::vector<TensorToWrite>& tensors,
                                  size_t max_shard_bytes = size_t{5} << 30,
                                  const std::map<std::string, std::string>& metadata = {
                                      {"format", "pt"}});

}  // namespace dpok::io
