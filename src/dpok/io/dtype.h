// Element types and read-only tensor views shared by every checkpoint reader in dpok::io.
//
// dpok::io is deliberately free of LibTorch: readers hand out TensorView, a name + dtype + shape +
// pointer into a memory-mapped file, and the model subsystem turns views into tensors. A view
// does not own its bytes; the reader object (or the MappedFile it shares) must outlive it.
//
// Layout conventions for every view: row-major (the last dimension is contiguous, as in PyTorch),
// little-endian, and no alignment guarantee (safetensors only promises byte offsets), so copy the
// bytes with memcpy rather than dereferencing `data` as a float*.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dpok::io {

// Element types dpok reads and writes. Values are persisted nowhere (files use names), but keep
// them stable anyway.
enum class DType : uint8_t {
  F64 = 0,
  F32 = 1,
  F16 = 2,
  BF16 = 3,
  I64 = 4,
  I32 = 5,
  I16 = 6,
  I8 = 7,
  U8 = 8,
  BOOL = 9,
};

// Size of one element in bytes (BOOL is one byte, as in safetensors and PyTorch).
size_t dtype_size(DType dtype);

// The safetensors spelling: "F64", "F32", "F16", "BF16", "I64", "I32", "I16", "I8", "U8", "BOOL".
std::string_view dtype_name(DType dtype);

// Inverse of dtype_name (exact, case-sensitive); nullopt for any other spelling.
std::optional<DType> dtype_from_name(std::string_view name);

// A read-only view of one tensor's bytes inside a mapped file.
struct TensorView {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;       // row-major; empty for a scalar
  const std::byte* data = nullptr;  // nbytes bytes, possibly unaligned
  size_t nbytes = 0;                // == numel() * dtype_size(dtype), checked by the readers

  // Product of the shape (1 for a scalar). Readers guarantee it does not overflow.
  int64_t numel() const;
};

// Multiplies the dimensions of `shape` times `element_size`, or nullopt when a dimension is
// negative or the product overflows size_t. Readers use it to validate untrusted shapes.
std::optional<size_t> checked_nbytes(const std::vector<int64_t>& shape, size_t element_size);

// "[2, 3, 4]": for error messages.
std::string shape_string(const std::vector<int64_t>& shape);

}  // namespace dpok::io
