// The one header of dpok's on-disk caches (tokenized datasets: data/cache.h; reference log-prob
// tables: train/ref_cache.h; top-k reference tables: train/ref_topk.h).
//
// Layout: a 64-byte header, then the payload (whatever the cache stores), little-endian:
//   char[8] magic (one per kind of cache), u32 format version, u32 key length (at most 32),
//   u64 payload bytes, u64 payload checksum (StreamChecksum, core/hash.h), char[32] key
//   (the cache key the file was written for, zero-padded).
// Reading checks all of it before a byte of payload is trusted: a file of another kind, of an
// older layout, written for another key, truncated or extended, or with any payload bit flipped
// is a FormatError naming the file, never misread. Writing is atomic (core/file_util.h).
// What it doesn't do: interpret the payload, choose file names, or evict old files.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>

#include "dpok/core/file_util.h"
#include "dpok/core/hash.h"

namespace dpok::io {

inline constexpr size_t kCacheHeaderBytes = 64;
inline constexpr size_t kMaxCacheKeyBytes = 32;

// What identifies one kind of cache file. Bump `version` when the payload's layout changes (and
// make the cache key change with it, so files of the old layout are rebuilt rather than opened).
struct CacheFormat {
  const char* component;      // error prefix, e.g. "data.cache"
  const char* name;           // in messages, e.g. "dpok data cache"
  std::array<char, 8> magic;  // e.g. {'D','P','O','K','D','A','T','A'}
  uint32_t version;
};

// Header + payload as one string, for caches built in memory.
std::string encode_cache_file(const CacheFormat& format, std::string_view key,
                              std::string_view payload);

// Writes header + payload to `file` atomically, creating its directory first. Throws IoError
// (component format.component) naming the directory or file that cannot be written.
void write_cache_file(const std::filesystem::path& file, const CacheFormat& format,
                      std::string_view key, std::string_view payload);

// The payload of a whole cache file held in memory (read or mapped), after checking the header
// against `format` and `key` and the payload against its size and checksum. Throws FormatError
// naming `file` and what disagrees.
std::span<const std::byte> cache_payload(std::span<const std::byte> bytes,
                                         const CacheFormat& format, std::string_view key,
                                         const std::filesystem::path& file);
std::string_view cache_payload(std::string_view bytes, const CacheFormat& format,
                               std::string_view key, const std::filesystem::path& file);

// Streams a cache file too large to build in memory: a placeholder header, the payload as it
// comes, then on commit() the real header, and the atomic rename.
class CacheFileWriter {
 public:
  // Throws IoError naming the temporary file when it cannot be created.
  CacheFileWriter(const std::filesystem::path& file, const CacheFormat& format, std::string key);

  // Appends payload bytes. Throws IoError.
  void write(const void* data, size_t size);
  // Writes the header and publishes the file. Throws IoError.
  void commit();

 private:
  AtomicFileWriter out_;
  CacheFormat format_;
  std::string key_;
  StreamChecksum checksum_;
  uint64_t payload_bytes_ = 0;
};

}  // namespace dpok::io
