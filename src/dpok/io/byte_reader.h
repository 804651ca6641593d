// A bounds-checked little-endian cursor over untrusted bytes, for the binary readers (GGUF,
// llama2.c). Every read checks the remaining length first and throws FormatError naming the
// file, the offset and what was being read, so a truncated or lying file can never cause an
// out-of-bounds read. Internal to dpok::io.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>

#include "dpok/core/error.h"

namespace dpok::io::detail {

static_assert(std::endian::native == std::endian::little,
              "dpok::io reads little-endian files by memcpy; big-endian hosts are not supported");

class ByteReader {
 public:
  // `component` is the bracketed error prefix ("gguf"), `file` the path shown in messages.
  ByteReader(const std::byte* data, size_t size, std::string_view component, std::string file)
      : data_(data), size_(size), component_(component), file_(std::move(file)) {}

  size_t offset() const { return offset_; }
  size_t remaining() const { return size_ - offset_; }
  const std::string& file() const { return file_; }

  // Reads one trivially copyable value; `what` names it in the error.
  template <typename T>
  T read(std::string_view what) {
    static_assert(std::is_trivially_copyable_v<T>);
    require(sizeof(T), what);
    T value;
    std::memcpy(&value, data_ + offset_, sizeof(T));
    offset_ += sizeof(T);
    return value;
  }

  // Reads `length` bytes as a string (length already read by the caller).
  std::string read_string(uint64_t length, std::string_view what) {
    require(length, what);
    std::string text(reinterpret_cast<const char*>(data_ + offset_), static_cast<size_t>(length));
    offset_ += static_cast<size_t>(length);
    return text;
  }

  // Throws unless `count` more bytes are available.
  void require(uint64_t count, std::string_view what) const {
    if (count > remaining()) {
      throw FormatError(error_message(
          component_.data(), "{}: truncated at offset {} reading {}: need {} bytes, {} left", file_,
          offset_, what, count, remaining()));
    }
  }

 private:
  const std::byte* data_;
  size_t size_;
  size_t offset_ = 0;
  std::string_view component_;
  std::string file_;
};

}  // namespace dpok::io::detail
