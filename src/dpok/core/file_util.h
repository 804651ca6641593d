// Small file helpers shared by readers and writers: whole-file reads and atomic writes.
//
// Atomic writes follow the rule "temporary file, fsync, rename" (style.md, "What to avoid"):
// a crash at any moment leaves either the old file or the new one, never a torn mix.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace dpok {

// Reads a whole file into a string. Throws IoError naming the path.
std::string read_file(const std::filesystem::path& path);

// Writes `contents` to `path` atomically (path.tmp-<pid>, fsync, rename, fsync the directory).
// Throws IoError naming the path.
void write_file_atomic(const std::filesystem::path& path, std::string_view contents);

// fsyncs a file or directory. Throws IoError naming the path.
void fsync_path(const std::filesystem::path& path);

}  // namespace dpok
