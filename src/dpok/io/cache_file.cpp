// Cache file headers: encoding, validation, streamed writing (see cache_file.h).
#include "dpok/io/cache_file.h"

#include <algorithm>
#include <bit>
#include <cstring>

#include "dpok/core/error.h"
#include "dpok/core/file_util.h"

namespace dpok::io {
namespace {

static_assert(std::endian::native == std::endian::little,
              "cache headers are written and read by memcpy; big-endian hosts are not supported");

struct Header {
  char magic[8];
  uint32_t version;
  uint32_t key_bytes;
  uint64_t payload_bytes;
  uint64_t checksum;
  char key[kMaxCacheKeyBytes];
};
static_assert(sizeof(Header) == kCacheHeaderBytes, "the header is 64 bytes on disk");

Header make_header(const CacheFormat& format, std::string_view key, uint64_t payload_bytes,
                   uint64_t checksum) {
  DPOK_CHECK(key.size() <= kMaxCacheKeyBytes, "cache key '{}' longer than {} bytes", key,
             kMaxCacheKeyBytes);
  Header h{};
  std::memcpy(h.magic, format.magic.data(), sizeof(h.magic));
  h.version = format.version;
  h.key_bytes = static_cast<uint32_t>(key.size());
  h.payload_bytes = payload_bytes;
  h.checksum = checksum;
  std::copy(key.begin(), key.end(), h.key);
  return h;
}

std::span<const std::byte> header_bytes(const Header& h) {
  return std::as_bytes(std::span<const Header>(&h, 1));
}

}  // namespace

void write_cache_file(const std::filesystem::path& file, const CacheFormat& format,
                      std::string_view key, std::string_view payload) {
  std::error_code ec;
  std::filesystem::create_directories(file.parent_path(), ec);
  if (ec) {
    DPOK_THROW(IoError, format.component, "cannot create {}: {}", file.parent_path().string(),
               ec.message());
  }
  write_file_atomic(file, encode_cache_file(format, key, payload));
}

std::string encode_cache_file(const CacheFormat& format, std::string_view key,
                              std::string_view payload) {
  StreamChecksum checksum;
  checksum.add(payload.data(), payload.size());
  const Header h = make_header(format, key, payload.size(), checksum.value());
  std::string out(reinterpret_cast<const char*>(&h), sizeof(h));
  out += payload;
  return out;
}

std::span<const std::byte> cache_payload(std::span<const std::byte> bytes,
                                         const CacheFormat& format, std::string_view key,
                                         const std::filesystem::path& file) {
  const auto name = file.string();
  if (bytes.size() < kCacheHeaderBytes) {
    DPOK_THROW(FormatError, format.component, "{}: {} bytes, shorter than the {}-byte header", name,
               bytes.size(), kCacheHeaderBytes);
  }
  Header h;
  std::memcpy(&h, bytes.data(), sizeof(h));
  if (std::memcmp(h.magic, format.magic.data(), sizeof(h.magic)) != 0) {
    DPOK_THROW(FormatError, format.component, "{}: not a {} (bad magic at offset 0)", name,
               format.name);
  }
  if (h.version != format.version) {
    DPOK_THROW(FormatError, format.component,
               "{}: {} format version {}, this build reads version {}; delete the file to "
               "rebuild it",
               name, format.name, h.version, format.version);
  }
  if (h.key_bytes > kMaxCacheKeyBytes) {
    DPOK_THROW(FormatError, format.component, "{}: corrupt header (key length {} at offset 12)",
               name, h.key_bytes);
  }
  const std::string_view stored_key(h.key, h.key_bytes);
  if (std::any_of(h.key + h.key_bytes, h.key + kMaxCacheKeyBytes, [](char c) { return c != 0; })) {
    DPOK_THROW(FormatError, format.component, "{}: corrupt header (key padding is not zero)", name);
  }
  if (stored_key != key) {
    DPOK_THROW(FormatError, format.component, "{}: written for key '{}', expected '{}'", name,
               stored_key, key);
  }
  const auto payload = bytes.subspan(kCacheHeaderBytes);
  if (h.payload_bytes != payload.size()) {
    DPOK_THROW(FormatError, format.component,
               "{}: header says {} payload bytes, the file holds {} (truncated?)", name,
               h.payload_bytes, payload.size());
  }
  StreamChecksum checksum;
  checksum.add(payload.data(), payload.size());
  if (checksum.value() != h.checksum) {
    DPOK_THROW(FormatError, format.component,
               "{}: checksum mismatch (stored {:016x}, computed {:016x}): the file is corrupt; "
               "delete it to rebuild it",
               name, h.checksum, checksum.value());
  }
  return payload;
}

std::string_view cache_payload(std::string_view bytes, const CacheFormat& format,
                               std::string_view key, const std::filesystem::path& file) {
  const auto payload = cache_payload(
      std::as_bytes(std::span<const char>(bytes.data(), bytes.size())), format, key, file);
  return {reinterpret_cast<const char*>(payload.data()), payload.size()};
}

CacheFileWriter::CacheFileWriter(const std::filesystem::path& file, const CacheFormat& format,
                                 std::string key)
    : out_(file), format_(format), key_(std::move(key)) {
  DPOK_CHECK(key_.size() <= kMaxCacheKeyBytes, "cache key '{}' longer than {} bytes", key_,
             kMaxCacheKeyBytes);
  const Header placeholder{};
  out_.write(header_bytes(placeholder));
}

void CacheFileWriter::write(const void* data, size_t size) {
  out_.write(std::span<const std::byte>(static_cast<const std::byte*>(data), size));
  checksum_.add(data, size);
  payload_bytes_ += size;
}

void CacheFileWriter::commit() {
  const Header h = make_header(format_, key_, payload_bytes_, checksum_.value());
  out_.write_at(0, header_bytes(h));
  out_.commit();
}

}  // namespace dpok::io
