// GGUF quantization, bit for bit against the gguf package's numpy quantizers
// (tests/io/gguf_quantize_reference.py) on rows of every kind (Gaussian at scales from 1e-9 to
// 3e5, zeros, constants, outliers, exact rounding ties, sign ties); float → half rounding checked
// exhaustively; and the round trip dequantize(quantize(x)) within each format's error bound (the
// only check of dpok's own Q4_K quantizer, which has no reference to match).
#include "dpok/io/gguf_quantize.h"

#include <bit>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "dpok/core/file_util.h"
#include "dpok/io/gguf.h"
#include "dpok/io/gguf_quants.h"
#include "support/python_oracle.h"
#include "support/testing.h"

namespace dpok::io {
namespace {

namespace fs = std::filesystem;
using ::dpok::testing::throws_with;

const fs::path kTestDir = fs::path(__FILE__).parent_path();
constexpr uint32_t kF16 = 1, kQ4_0 = 2, kQ4_1 = 3, kQ5_0 = 6, kQ5_1 = 7, kQ8_0 = 8, kQ4_K = 12,
                   kQ6_K = 14;
constexpr size_t kCols = 256;

// Rows of every kind a weight matrix (or an adversary) may hold, kCols wide.
std::vector<float> test_matrix() {
  std::mt19937 rng(1234);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> m;
  auto row = [&](auto value) {
    for (size_t i = 0; i < kCols; ++i) m.push_back(value(i));
  };
  for (float scale : {1e-9f, 1e-6f, 1e-3f, 0.02f, 0.1f, 1.0f, 7.0f, 1e3f, 3e5f}) {
    for (int r = 0; r < 3; ++r) row([&](size_t) { return scale * normal(rng); });
  }
  row([](size_t) { return 0.0f; });                                            // all zeros
  row([](size_t i) { return i < 128 ? 0.25f : -3.0f; });                       // constant blocks
  row([&](size_t i) { return i % 32 == 5 ? 50.0f : 0.01f * normal(rng); });    // outliers
  row([&](size_t i) { return i % 32 == 9 ? -50.0f : 0.01f * normal(rng); });   // negative ones
  row([](size_t i) { return 0.125f * static_cast<float>(int(i % 17) - 8); });  // ties
  row([](size_t i) { return static_cast<float>(int(i % 255) - 127) / 127.0f; });
  row([](size_t i) { return i % 2 ? 1.0f : -1.0f; });  // |max| ties of both signs
  row([&](size_t i) { return i % 32 == 0 ? 0.0f : std::fabs(normal(rng)); });
  row([&](size_t) { return -std::fabs(normal(rng)) - 100.0f; });  // far from zero
  return m;
}

std::vector<std::byte> quantized(uint32_t type, std::span<const float> values) {
  std::vector<std::byte> blocks(quantized_nbytes(type, values.size()));
  quantize(type, values, blocks);
  return blocks;
}

TEST(GgufQuantize, BitExactWithGgufPackage) {
  DPOK_REQUIRE_PYTHON("gguf numpy");
  ::dpok::testing::TempDir out;
  const std::vector<float> matrix = test_matrix();
  std::string bytes(reinterpret_cast<const char*>(matrix.data()), matrix.size() * sizeof(float));
  write_file_atomic(out / "input.f32", bytes);

  // Float → half: random finite bit patterns of every magnitude, incl. overflow to infinity.
  std::mt19937 rng(99);
  std::vector<float> halves;
  while (halves.size() < 200000) {
    const float value = std::bit_cast<float>(static_cast<uint32_t>(rng()));
    if (std::isfinite(value)) halves.push_back(value);
  }
  write_file_atomic(out / "halves.f32", std::string(reinterpret_cast<const char*>(halves.data()),
                                                    halves.size() * sizeof(float)));

  const std::vector<std::string> names = {"F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0"};
  const nlohmann::json request = {{"input", (out / "input.f32").string()},
                                  {"cols", kCols},
                                  {"types", names},
                                  {"halves", (out / "halves.f32").string()},
                                  {"out", out.path().string()}};
  const auto result =
      ::dpok::testing::run_python(read_file(kTestDir / "gguf_quantize_reference.py"), request);
  ASSERT_TRUE(result.has_value()) << "gguf_quantize_reference.py failed";
  ASSERT_EQ(result->at("types").size(), names.size());

  for (const std::string& name : names) {
    uint32_t type = 0;
    while (ggml_type_name(type) != name) ++type;
    const std::string want = read_file(out / (name + ".blocks"));
    const std::vector<std::byte> got = quantized(type, matrix);
    ASSERT_EQ(want.size(), got.size()) << name;
    const GgmlTypeInfo& info = *find_ggml_type(type);
    size_t mismatches = 0, first = 0;
    for (size_t block = 0; block < got.size() / info.type_size; ++block) {
      if (std::memcmp(want.data() + block * info.type_size, got.data() + block * info.type_size,
                      info.type_size) != 0 &&
          mismatches++ == 0) {
        first = block;
      }
    }
    EXPECT_EQ(mismatches, 0u) << name << ": first differing block " << first << " (row "
                              << first * info.block_size / kCols << ")";
  }

  const std::string want_halves = read_file(out / "halves.f16");
  ASSERT_EQ(want_halves.size(), halves.size() * 2);
  size_t mismatches = 0;
  for (size_t i = 0; i < halves.size(); ++i) {
    uint16_t want = 0;
    std::memcpy(&want, want_halves.data() + 2 * i, 2);
    if (float_to_half(halves[i]) != want && mismatches++ < 5) {
      ADD_FAILURE() << std::hexfloat << halves[i] << ": " << float_to_half(halves[i]) << " vs "
                    << want;
    }
  }
  EXPECT_EQ(mismatches, 0u);
}

TEST(GgufQuantize, FloatToHalfRoundsToNearestEven) {
  // Every finite half survives the round trip; values just off a midpoint go to the nearer
  // neighbour and the midpoint itself to the even one.
  for (uint32_t bits = 0; bits < 0x7C00; ++bits) {
    const auto h = static_cast<uint16_t>(bits);
    ASSERT_EQ(float_to_half(half_to_float(h)), h);
    ASSERT_EQ(float_to_half(-half_to_float(h)), h | 0x8000);
    if (bits == 0x7BFF) break;  // the next one up is infinity
    const float lo = half_to_float(h), hi = half_to_float(static_cast<uint16_t>(h + 1));
    const float mid = lo + (hi - lo) / 2;  // exact: halves have 11 significant bits
    ASSERT_EQ(float_to_half(mid), (h & 1) ? h + 1 : h) << bits;
    ASSERT_EQ(float_to_half(std::nextafter(mid, 0.0f)), h) << bits;
    ASSERT_EQ(float_to_half(std::nextafter(mid, 1e9f)), h + 1) << bits;
  }
  EXPECT_EQ(float_to_half(65520.0f), 0x7C00);  // the midpoint above 65504 rounds to infinity
  EXPECT_EQ(float_to_half(1e30f), 0x7C00);
  EXPECT_EQ(float_to_half(std::ldexp(1.0f, -25)), 0x0000);  // half the smallest subnormal: even
  EXPECT_EQ(float_to_half(std::nextafter(std::ldexp(1.0f, -25), 1.0f)), 0x0001);
  EXPECT_EQ(float_to_half(std::numeric_limits<float>::infinity()), 0x7C00);
  EXPECT_EQ(float_to_half(-std::numeric_limits<float>::infinity()), 0xFC00);
  const uint16_t nan = float_to_half(std::numeric_limits<float>::quiet_NaN());
  EXPECT_TRUE(std::isnan(half_to_float(nan)));
}

// max |x − dequantize(quantize(x))| per block within each format's bound: half a step (a whole
// step at Q4_0's clipped end), plus the fp16 rounding of the scale (2^-11 relative) times the
// largest code, plus Q4_1/Q5_1's rounded minimum.
TEST(GgufQuantize, RoundTripErrorWithinBounds) {
  std::mt19937 rng(5);
  std::normal_distribution<float> normal(0.0f, 0.05f);
  std::vector<float> x(64 * 1024);
  for (float& v : x) v = normal(rng);
  for (size_t i = 0; i < x.size(); i += 977) x[i] *= 40.0f;  // outliers
  const float half_eps = std::ldexp(1.0f, -11);
  for (uint32_t type : {kQ4_0, kQ4_1, kQ5_0, kQ5_1, kQ8_0, kF16, kQ4_K}) {
    const std::vector<std::byte> blocks = quantized(type, x);
    std::vector<float> y(x.size());
    dequantize(type, blocks, y);
    double sq_err = 0, sq = 0;
    float dmin = 0, d = 0;  // Q4_K: upper bounds of the super-block's scales
    for (size_t b = 0; b < x.size(); b += 32) {
      if (type == kQ4_K && b % 256 == 0) {
        float offset = 0, range = 0;
        for (size_t i = b; i < b + 256; i += 32) {
          float lo = 0, hi = 0;
          for (size_t j = i; j < i + 32; ++j) lo = std::min(lo, x[j]), hi = std::max(hi, x[j]);
          offset = std::max(offset, -lo);
          range = std::max(range, hi - lo);
        }
        dmin = offset / 63 * 1.001f;
        d = (range + dmin) / 15 / 63 * 1.001f;
      }
      float amax = 0, min = x[b], max = x[b];
      for (size_t i = b; i < b + 32; ++i) {
        amax = std::max(amax, std::fabs(x[i]));
        min = std::min(min, x[i]);
        max = std::max(max, x[i]);
      }
      float bound = 0;
      switch (type) {
        case kQ4_0:
          bound = amax / 8 * (1 + 8 * half_eps);
          break;
        case kQ5_0:
          bound = amax / 16 * (1 + 16 * half_eps);
          break;
        case kQ8_0:
          bound = amax / 127 * (0.5f + 127 * half_eps);
          break;
        case kQ4_1:
          bound = (max - min) / 15 * (0.5f + 15 * half_eps) + std::fabs(min) * half_eps;
          break;
        case kQ5_1:
          bound = (max - min) / 31 * (0.5f + 31 * half_eps) + std::fabs(min) * half_eps;
          break;
        case kQ4_K:  // half a step of at most (range + dmin)/15 + d
          bound = 0.5f * ((std::max(max, 0.0f) - std::min(min, 0.0f) + dmin) / 15 + d) * 1.001f;
          break;
        default:
          bound = amax * half_eps;
      }
      bound = bound * 1.0001f + 1e-7f;
      for (size_t i = b; i < b + 32; ++i) {
        ASSERT_LE(std::fabs(x[i] - y[i]), bound) << ggml_type_name(type) << " element " << i;
        sq_err += double(x[i] - y[i]) * (x[i] - y[i]);
        sq += double(x[i]) * x[i];
      }
    }
    const double relative_rms = std::sqrt(sq_err / sq);
    std::printf("%-5s %5.2f bits/weight, relative RMS error %.4f\n",
                std::string(ggml_type_name(type)).c_str(),
                8.0 * double(blocks.size()) / double(x.size()), relative_rms);
    EXPECT_LT(relative_rms, type == kQ8_0 ? 0.015 : (type == kF16 ? 1e-3 : 0.15));
  }
}

// Q4_K on the rows of test_matrix() whose scales fp16 holds: zeros stay zeros, constant, all
// negative and outlier rows are covered without clipping (within half the largest step).
TEST(GgufQuantize, Q4KCoversEveryRow) {
  const std::vector<float> matrix = test_matrix();
  const std::vector<std::byte> blocks = quantized(kQ4_K, matrix);
  std::vector<float> y(matrix.size());
  dequantize(kQ4_K, blocks, y);
  for (size_t row = 0; row < matrix.size() / kCols; ++row) {
    float lo = 0, hi = 0;
    for (size_t i = row * kCols; i < (row + 1) * kCols; ++i) {
      lo = std::min(lo, matrix[i]);
      hi = std::max(hi, matrix[i]);
    }
    if (hi - lo > 1e5f || (hi - lo < 1e-4f && hi - lo > 0)) continue;  // beyond fp16's scales
    const float step = (hi - lo - lo) / 15 * 1.01f + (-lo) / 63 / 15 + (hi - lo) / 15 / 63 * 2;
    for (size_t i = row * kCols; i < (row + 1) * kCols; ++i) {
      ASSERT_LE(std::fabs(matrix[i] - y[i]), 0.5f * step) << "row " << row << " element " << i;
    }
  }
}

TEST(GgufQuantize, UnsupportedTypesAreRefusedByName) {
  std::vector<float> in(256);
  std::vector<std::byte> out(144);
  EXPECT_TRUE(can_quantize(kQ8_0) && can_quantize(kF16));
  EXPECT_TRUE(can_quantize(kQ4_K));
  EXPECT_FALSE(can_quantize(kQ6_K));
  EXPECT_TRUE(throws_with<UnsupportedError>([&] { quantize(kQ6_K, in, out); }, {"Q6_K", "Q4_K"}));
  EXPECT_TRUE(throws_with<UnsupportedError>([&] { quantized_nbytes(99, 256); }, {"type 99"}));
  EXPECT_THROW(quantized_nbytes(kQ4_0, 48), InternalError);  // not whole blocks
  EXPECT_THROW(quantize(kQ4_0, std::span(in).first(32), std::span(out).first(17)), InternalError);
}

}  // namespace
}  // namespace dpok::io
