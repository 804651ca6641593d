// File helpers shared by every reader and writer: whole-file reads and the one implementation of
// atomic writes.
//
// Atomic writes follow the rule "temporary file, fsync, rename" (style.md, "What to avoid"):
// a crash at any moment leaves either the old file or the new one, never a torn mix.
// AtomicFileWriter streams large payloads (checkpoint shards, top-k caches) without building them
// in memory; write_file_atomic is its in-memory shorthand.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>

namespace dpok {

// Reads a whole file into a string. Throws IoError naming the path.
std::string read_file(const std::filesystem::path& path);

// Writes `contents` to `path` atomically (an AtomicFileWriter committed at once).
// Throws IoError naming the path.
void write_file_atomic(const std::filesystem::path& path, std::string_view contents);

// fsyncs a file or directory. Throws IoError naming the path.
void fsync_path(const std::filesystem::path& path);

// Bytes go to `<target>.tmp-<pid>-<n>` next to the target, which they replace only on commit()
// (fsync, rename, fsync the directory). Destroyed without commit() (an exception), the writer
// removes the temporary file and leaves the target untouched.
class AtomicFileWriter {
 public:
  // Creates the temporary file. Throws IoError naming it.
  explicit AtomicFileWriter(std::filesystem::path target);
  ~AtomicFileWriter();
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

  // Appends bytes. Throws IoError naming the temporary file.
  void write(std::span<const std::byte> bytes);
  void write(std::string_view text);
  // Overwrites bytes already written at `offset` (a header whose checksum is known only at the
  // end). The range must lie inside what was written (InternalError otherwise).
  void write_at(uint64_t offset, std::span<const std::byte> bytes);
  // Flushes, renames over the target and syncs the directory. Throws IoError.
  void commit();

  const std::filesystem::path& temp_path() const { return temp_; }
  uint64_t size() const { return size_; }

 private:
  std::filesystem::path target_;
  std::filesystem::path temp_;
  int fd_ = -1;
  uint64_t size_ = 0;
  bool committed_ = false;
};

}  // namespace dpok
