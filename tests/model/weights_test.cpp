// View → tensor conversion and the Meta ↔ rotate-half RoPE row permutation.
#include "dpok/model/weights.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "dpok/core/error.h"
#include "support/testing.h"

namespace dpok::model {
namespace {

TEST(Weights, ViewToTensorHandlesUnalignedData) {
  std::vector<std::byte> buffer(4 * 6 + 1);
  std::vector<float> values = {1, 2, 3, 4, 5, 6};
  std::memcpy(buffer.data() + 1, values.data(), 24);
  io::TensorView view{"w", io::DType::F32, {2, 3}, buffer.data() + 1, 24};
  auto t = tensor_from_view(view);
  EXPECT_TRUE(at::equal(t, at::arange(1, 7, at::kFloat).view({2, 3})));

  auto param = at::zeros({2, 3}, at::kBFloat16);
  load_parameter(param, view, "buffer");
  EXPECT_EQ(param[1][2].item<float>(), 6.0f);
  auto wrong = at::zeros({3, 2});
  EXPECT_TRUE(::dpok::testing::throws_with<FormatError>(
      [&] { load_parameter(wrong, view, "buffer.safetensors"); },
      {"buffer.safetensors", "'w'", "[2, 3]"}));
}

TEST(Weights, RopePermutationMatchesDefinitionAndInverts) {
  // One head of 4 rows: Meta order (pair0.re, pair0.im, pair1.re, pair1.im) becomes rotate-half
  // order (pair0.re, pair1.re, pair0.im, pair1.im).
  auto meta = at::arange(8, at::kFloat).view({4, 2});
  auto hf = meta_to_hf_rope_rows(meta, 1);
  auto rows = at::tensor({0, 2, 1, 3}, at::kLong);
  EXPECT_TRUE(at::equal(hf, meta.index_select(0, rows)));
  auto w = at::randn({3 * 8, 5});
  EXPECT_TRUE(at::equal(hf_to_meta_rope_rows(meta_to_hf_rope_rows(w, 3), 3), w));
  EXPECT_EQ(to_io_dtype(to_scalar_type(io::DType::BF16)), io::DType::BF16);
}

}  // namespace
}  // namespace dpok::model
