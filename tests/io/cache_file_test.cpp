// The cache header: round trips (in memory and streamed), and every kind of damage (wrong magic,
// older version, other key, truncation, extension, any flipped bit) is a FormatError naming the
// file, never a misread payload.
#include "dpok/io/cache_file.h"

#include <gtest/gtest.h>

#include <random>

#include "dpok/core/error.h"
#include "dpok/core/file_util.h"
#include "support/testing.h"

namespace dpok::io {
namespace {

const CacheFormat kFormat{"test.cache", "test cache", {'D', 'P', 'O', 'K', 'T', 'E', 'S', 'T'}, 3};
constexpr std::string_view kKey = "0123456789abcdef";
constexpr const char* kFile = "/caches/some.bin";

std::string payload() {
  std::string p;
  for (int i = 0; i < 301; ++i) p += static_cast<char>(i * 7);
  return p;
}

// The message of the FormatError that reading `bytes` throws ("" when it reads).
std::string rejection(const std::string& bytes, const CacheFormat& format = kFormat,
                      std::string_view key = kKey) {
  try {
    cache_payload(std::string_view(bytes), format, key, kFile);
  } catch (const FormatError& e) {
    return e.what();
  }
  return "";
}

void expect_rejected(const std::string& bytes, const std::string& detail,
                     const CacheFormat& format = kFormat, std::string_view key = kKey) {
  const auto what = rejection(bytes, format, key);
  EXPECT_NE(what.find(std::string("[test.cache] ") + kFile + ": "), std::string::npos) << what;
  EXPECT_NE(what.find(detail), std::string::npos) << what;
}

TEST(CacheFile, RoundTripsInMemory) {
  const auto file = encode_cache_file(kFormat, kKey, payload());
  EXPECT_EQ(file.size(), kCacheHeaderBytes + payload().size());
  EXPECT_EQ(cache_payload(std::string_view(file), kFormat, kKey, kFile), payload());
  const auto empty = encode_cache_file(kFormat, "", "");
  EXPECT_EQ(cache_payload(std::string_view(empty), kFormat, "", kFile), "");
}

TEST(CacheFile, StreamedWriterWritesTheSameBytes) {
  testing::TempDir dir;
  {
    CacheFileWriter out(dir / "c.bin", kFormat, std::string(kKey));
    const auto p = payload();
    for (size_t pos = 0; pos < p.size(); pos += 13) {
      out.write(p.data() + pos, std::min<size_t>(13, p.size() - pos));
    }
    EXPECT_FALSE(std::filesystem::exists(dir / "c.bin"));
    out.commit();
  }
  EXPECT_EQ(read_file(dir / "c.bin"), encode_cache_file(kFormat, kKey, payload()));
}

TEST(CacheFile, WrongMagicVersionOrKey) {
  const auto file = encode_cache_file(kFormat, kKey, payload());
  auto other = kFormat;
  other.magic[7] = 'X';
  expect_rejected(file, "not a test cache (bad magic at offset 0)", other);
  other = kFormat;
  other.version = 4;
  expect_rejected(file, "test cache format version 3, this build reads version 4; delete", other);
  expect_rejected(file, "written for key '0123456789abcdef', expected 'fedcba'", kFormat, "fedcba");
}

TEST(CacheFile, TruncatedOrExtended) {
  const auto file = encode_cache_file(kFormat, kKey, payload());
  expect_rejected(file.substr(0, 63), "63 bytes, shorter than the 64-byte header");
  expect_rejected("", "0 bytes, shorter than the 64-byte header");
  expect_rejected(file.substr(0, file.size() - 1),
                  "header says 301 payload bytes, the file holds 300 (truncated?)");
  expect_rejected(file + "x", "header says 301 payload bytes, the file holds 302");
}

TEST(CacheFile, ChecksumMismatch) {
  auto file = encode_cache_file(kFormat, kKey, payload());
  file[200] ^= 0x10;
  expect_rejected(file, "checksum mismatch (stored ");
}

// Seeded: every single-bit flip, at 400 random positions of header and payload, is rejected.
TEST(CacheFile, EveryFlippedBitIsRejected) {
  const auto file = encode_cache_file(kFormat, kKey, payload());
  std::mt19937 rng(20261203);
  for (int trial = 0; trial < 400; ++trial) {
    auto bad = file;
    const size_t pos = trial < 64 ? static_cast<size_t>(trial) : rng() % bad.size();
    bad[pos] = static_cast<char>(bad[pos] ^ (1 << (rng() % 8)));
    const auto what = rejection(bad);
    ASSERT_NE(what.find(kFile), std::string::npos) << "byte " << pos << ": " << what;
  }
}

}  // namespace
}  // namespace dpok::io
