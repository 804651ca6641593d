// Element type names and sizes, and the checked size arithmetic every reader relies on.
#include "dpok/io/dtype.h"

#include <fmt/ranges.h>

#include <array>

#include "dpok/core/error.h"

namespace dpok::io {
namespace {

struct DTypeInfo {
  DType dtype;
  std::string_view name;
  size_t size;
};

// One row per DType, indexed by its value.
constexpr std::array<DTypeInfo, 10> kDTypes = {{
    {DType::F64, "F64", 8},
    {DType::F32, "F32", 4},
    {DType::F16, "F16", 2},
    {DType::BF16, "BF16", 2},
    {DType::I64, "I64", 8},
    {DType::I32, "I32", 4},
    {DType::I16, "I16", 2},
    {DType::I8, "I8", 1},
    {DType::U8, "U8", 1},
    {DType::BOOL, "BOOL", 1},
}};

const DTypeInfo& info(DType dtype) {
  auto index = static_cast<size_t>(dtype);
  DPOK_CHECK(index < kDTypes.size() && kDTypes[index].dtype == dtype, "invalid DType value {}",
             index);
  return kDTypes[index];
}

}  // namespace

size_t dtype_size(DType dtype) {
  return info(dtype).size;
}

std::string_view dtype_name(DType dtype) {
  return info(dtype).name;
}

std::optional<DType> dtype_from_name(std::string_view name) {
  for (const auto& row : kDTypes) {
    if (row.name == name) return row.dtype;
  }
  return std::nullopt;
}

int64_t TensorView::numel() const {
  int64_t n = 1;
  for (int64_t dim : shape) n *= dim;
  return n;
}

std::optional<size_t> checked_nbytes(const std::vector<int64_t>& shape, size_t element_size) {
  // Bound the product of the non-zero dimensions, so that numel() cannot overflow in any order
  // of multiplication even when a zero dimension makes the true count 0.
  size_t nonzero_count = 1;
  bool has_zero = false;
  for (int64_t dim : shape) {
    if (dim < 0) return std::nullopt;
    if (dim == 0) {
      has_zero = true;
      continue;
    }
    if (__builtin_mul_overflow(nonzero_count, static_cast<size_t>(dim), &nonzero_count)) {
      return std::nullopt;
    }
  }
  size_t bytes = 0;
  if (nonzero_count > static_cast<size_t>(INT64_MAX) ||
      __builtin_mul_overflow(nonzero_count, element_size, &bytes)) {
    return std::nullopt;
  }
  return has_zero ? 0 : bytes;
}

std::string shape_string(const std::vector<int64_t>& shape) {
  return fmt::format("[{}]", fmt::join(shape, ", "));
}

}  // namespace dpok::io
