// A read-only memory mapping of one whole file, shared by the readers and the views they hand out.
//
// MappedFile only maps bytes; it does not interpret them (safetensors.h, gguf.h and llama2c.h do).
// It is always held through std::shared_ptr<const MappedFile>, so any object that keeps a view
// into the bytes can keep the mapping alive by holding the pointer. The mapping is private and
// read-only: pages are loaded lazily by the kernel and never written back.
#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>

namespace dpok::io {

class MappedFile {
  // Only open() can name the Key, so only open() can construct (the constructor is public for
  // std::make_shared).
  struct Key {
    explicit Key() = default;
  };

 public:
  // Maps `path` read-only. An empty file gives size() == 0 and data() == nullptr.
  // Throws IoError naming the path when it cannot be opened, stat'ed or mapped (including when
  // it is a directory).
  static std::shared_ptr<const MappedFile> open(const std::filesystem::path& path);

  MappedFile(Key, std::filesystem::path path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  // Tells the kernel the pages covering [begin, begin + nbytes) are not needed any more, so they
  // leave this process's resident set (they stay in the page cache). The bytes remain readable:
  // touching them again faults them back in from the file. Loaders call this after copying a
  // tensor out, so a checkpoint is never resident twice. The range must lie inside the mapping
  // (InternalError otherwise); failures of the advice itself are ignored (it is only a hint).
  void release(const std::byte* begin, size_t nbytes) const;

  const std::byte* data() const { return data_; }
  size_t size() const { return size_; }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  const std::byte* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace dpok::io
