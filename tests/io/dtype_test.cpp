// DType names/sizes and the checked size arithmetic readers rely on.
#include "dpok/io/dtype.h"

#include <gtest/gtest.h>

#include <cstdint>

namespace dpok::io {
namespace {

TEST(DType, NamesAndSizesRoundTrip) {
  const std::pair<DType, size_t> all[] = {
      {DType::F64, 8}, {DType::F32, 4}, {DType::F16, 2}, {DType::BF16, 2}, {DType::I64, 8},
      {DType::I32, 4}, {DType::I16, 2}, {DType::I8, 1},  {DType::U8, 1},   {DType::BOOL, 1}};
  for (auto [dtype, size] : all) {
    EXPECT_EQ(dtype_size(dtype), size) << dtype_name(dtype);
    EXPECT_EQ(dtype_from_name(dtype_name(dtype)), dtype);
  }
  EXPECT_EQ(dtype_name(DType::BF16), "BF16");
  EXPECT_FALSE(dtype_from_name("f32").has_value());
  EXPECT_FALSE(dtype_from_name("F8_E4M3").has_value());
  EXPECT_FALSE(dtype_from_name("").has_value());
}

TEST(DType, CheckedNbytesRejectsNegativeAndOverflow) {
  EXPECT_EQ(checked_nbytes({2, 3}, 4), 24u);
  EXPECT_EQ(checked_nbytes({}, 8), 8u);
  EXPECT_EQ(checked_nbytes({0, 5}, 4), 0u);
  EXPECT_FALSE(checked_nbytes({-1}, 4).has_value());
  EXPECT_FALSE(checked_nbytes({int64_t{1} << 32, int64_t{1} << 32}, 4).has_value());
  EXPECT_FALSE(checked_nbytes({INT64_MAX, 2}, 1).has_value());
  // A zero dimension must not hide an overflowing product that numel() would compute.
  EXPECT_FALSE(checked_nbytes({int64_t{1} << 40, int64_t{1} << 40, 0}, 1).has_value());
}

TEST(TensorView, NumelAndShapeString) {
  TensorView view;
  view.shape = {2, 3, 4};
  EXPECT_EQ(view.numel(), 24);
  view.shape = {};
  EXPECT_EQ(view.numel(), 1);
  EXPECT_EQ(shape_string({2, 3}), "[2, 3]");
  EXPECT_EQ(shape_string({}), "[]");
}

}  // namespace
}  // namespace dpok::io
