// View → tensor conversion, parameter loading and RoPE row permutations (see weights.h).
#include "dpok/model/weights.h"

#include <cstdint>
#include <cstring>

#if defined(__linux__)
#include <sys/mman.h>
#include <unistd.h>
#endif

#include "dpok/core/error.h"
#include "dpok/model/shape.h"

namespace dpok::model {

c10::ScalarType to_scalar_type(io::DType dtype) {
  switch (dtype) {
    case io::DType::F64:
      return at::kDouble;
    case io::DType::F32:
      return at::kFloat;
    case io::DType::F16:
      return at::kHalf;
    case io::DType::BF16:
      return at::kBFloat16;
    case io::DType::I64:
      return at::kLong;
    case io::DType::I32:
      return at::kInt;
    case io::DType::I16:
      return at::kShort;
    case io::DType::I8:
      return at::kChar;
    case io::DType::U8:
      return at::kByte;
    case io::DType::BOOL:
      return at::kBool;
  }
  DPOK_THROW(UnsupportedError, "model.weights", "dtype {} has no LibTorch equivalent",
             static_cast<int>(dtype));
}

io::DType to_io_dtype(c10::ScalarType dtype) {
  switch (dtype) {
    case at::kDouble:
      return io::DType::F64;
    case at::kFloat:
      return io::DType::F32;
    case at::kHalf:
      return io::DType::F16;
    case at::kBFloat16:
      return io::DType::BF16;
    case at::kLong:
      return io::DType::I64;
    case at::kInt:
      return io::DType::I32;
    case at::kShort:
      return io::DType::I16;
    case at::kChar:
      return io::DType::I8;
    case at::kByte:
      return io::DType::U8;
    case at::kBool:
      return io::DType::BOOL;
    default:
      break;
  }
  DPOK_THROW(UnsupportedError, "model.weights", "dtype {} cannot be stored in safetensors",
             c10::toString(dtype));
}

at::Tensor tensor_from_view(const io::TensorView& view) {
  const auto dtype = to_scalar_type(view.dtype);
  const auto element = io::dtype_size(view.dtype);
  const auto address = reinterpret_cast<std::uintptr_t>(view.data);
  if (view.nbytes == 0) return at::empty(view.shape, at::TensorOptions(dtype));
  if (address % element == 0) {
    // from_blob never writes through the pointer here: callers only read (copy_ from it).
    return at::from_blob(const_cast<std::byte*>(view.data), view.shape, at::TensorOptions(dtype));
  }
  auto copy = at::empty(view.shape, at::TensorOptions(dtype));
  std::memcpy(copy.data_ptr(), view.data, view.nbytes);
  return copy;
}

void load_parameter(at::Tensor& param, const at::Tensor& value, const std::string& name,
                    const std::string& source) {
  if (param.sizes() != value.sizes()) {
    DPOK_THROW(FormatError, "model.load", "{}: tensor '{}' has shape {}, expected {}", source, name,
               shape_str(value.sizes()), shape_str(param.sizes()));
  }
  at::NoGradGuard no_grad;
  param.copy_(value);
}

void load_parameter(at::Tensor& param, const io::TensorView& view, const std::string& source) {
  load_parameter(param, tensor_from_view(view), view.name, source);
  release_view_pages(view);  // copy_ above is synchronous, also to a device
}

void release_view_pages(const io::TensorView& view) {
#if defined(__linux__)
  const auto page = static_cast<std::uintptr_t>(sysconf(_SC_PAGESIZE));
  const auto begin = reinterpret_cast<std::uintptr_t>(view.data);
  const auto first = (begin + page - 1) / page * page;
  const auto last = (begin + view.nbytes) / page * page;
  if (view.data == nullptr || last <= first) return;
  // Advice only: failure leaves the pages cached, which is harmless.
  madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED);
#else
  (void)view;
#endif
}

at::Tensor meta_to_hf_rope_rows(const at::Tensor& weight, int64_t heads) {
  // Meta row order within a head: (pair i, component c) → index 2i + c; rotate-half: c * D/2 + i.
  const int64_t rows = weight.size(0);
  DPOK_CHECK(rows % (2 * heads) == 0, "{} rows do not split into {} heads of pairs", rows, heads);
  auto rest = weight.sizes().slice(1).vec();
  std::vector<int64_t> shape = {heads, rows / heads / 2, 2};
  shape.insert(shape.end(), rest.begin(), rest.end());
  return weight.reshape(shape).transpose(1, 2).reshape(weight.sizes()).contiguous();
}

at::Tensor hf_to_meta_rope_rows(const at::Tensor& weight, int64_t heads) {
  const int64_t rows = weight.size(0);
  DPOK_CHECK(rows % (2 * heads) == 0, "{} rows do not split into {} heads of pairs", rows, heads);
  auto rest = weight.sizes().slice(1).vec();
  std::vector<int64_t> shape = {heads, 2, rows / heads / 2};
  shape.insert(shape.end(), rest.begin(), rest.end());
  return weight.reshape(shape).transpose(1, 2).reshape(weight.sizes()).contiguous();
}

}  // namespace dpok::model
