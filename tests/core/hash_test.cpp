// FNV-1a against the published test vectors; StreamChecksum equals one add_words call however the
// stream is cut.
#include "dpok/core/hash.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace dpok {
namespace {

uint64_t fnv(std::string_view s) {
  Fnv1a h;
  h.add(s.data(), s.size());
  return h.value();
}

TEST(Fnv1a, PublishedVectors) {
  EXPECT_EQ(fnv(""), 0xcbf29ce484222325ull);
  EXPECT_EQ(fnv("a"), 0xaf63dc4c8601ec8cull);
  EXPECT_EQ(fnv("foobar"), 0x85944171f73967e8ull);
}

TEST(Fnv1a, StringsCarryTheirLength) {
  Fnv1a ab_c, a_bc;
  ab_c.add(std::string_view("ab"));
  ab_c.add(std::string_view("c"));
  a_bc.add(std::string_view("a"));
  a_bc.add(std::string_view("bc"));
  EXPECT_NE(ab_c.value(), a_bc.value());
}

TEST(StreamChecksum, IndependentOfPieceBoundaries) {
  std::mt19937 rng(7);
  std::string bytes(1000, '\0');
  for (auto& c : bytes) c = static_cast<char>(rng());
  Fnv1a whole;
  whole.add_words(bytes.data(), bytes.size());
  for (int trial = 0; trial < 50; ++trial) {
    StreamChecksum streamed;
    size_t pos = 0;
    while (pos < bytes.size()) {
      const size_t n = std::min<size_t>(rng() % 20, bytes.size() - pos);
      streamed.add(bytes.data() + pos, n);
      pos += n;
    }
    ASSERT_EQ(streamed.value(), whole.value()) << "trial " << trial;
  }
  // One flipped bit changes it.
  bytes[500] ^= 1;
  StreamChecksum flipped;
  flipped.add(bytes.data(), bytes.size());
  EXPECT_NE(flipped.value(), whole.value());
}

}  // namespace
}  // namespace dpok
