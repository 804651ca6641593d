// Streaming atomic file writer: bytes go to a temporary file next to the target, which replaces
// the target only on commit() (fsync, rename, fsync the directory).
//
// Internal to dpok::io; core's write_file_atomic covers the in-memory case, this one streams
// large payloads (checkpoints) without building them in memory. If the writer is destroyed
// without commit() (an exception), the temporary file is removed and the target is untouched.
#pragma once

#include <cstddef>
#include <filesystem>
#include <span>
#include <string_view>

namespace dpok::io::detail {

class AtomicFileWriter {
 public:
  // Creates `<target>.tmp-<pid>-<n>`. Throws IoError naming it.
  explicit AtomicFileWriter(std::filesystem::path target);
  ~AtomicFileWriter();
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

  // Appends bytes. Throws IoError naming the temporary file.
  void write(std::span<const std::byte> bytes);
  void write(std::string_view text);
  // Flushes, renames over the target and syncs the directory. Throws IoError.
  void commit();

  const std::filesystem::path& temp_path() const { return temp_; }

 private:
  std::filesystem::path target_;
  std::filesystem::path temp_;
  int fd_ = -1;
  bool committed_ = false;
};

}  // namespace dpok::io::detail
