// Errors: the two kinds dpok distinguishes (style.md rule 8).
//
// - dpok::Error and its subclasses are thrown at boundaries (files, configs, user input). Their
//   message reads "[component] what: detail" and names the file, record/offset, key, and the
//   expected versus actual value, so a user can fix the input without a debugger.
// - DPOK_CHECK(cond, ...) guards internal invariants. It always carries a message and throws
//   dpok::InternalError with the source location. Never use it on untrusted input.
// Only main() turns an exception into an exit code.
#pragma once

#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace dpok {

// Base of every error dpok throws on purpose.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A file could not be opened, read, written or renamed.
class IoError : public Error {
 public:
  using Error::Error;
};

// A file or record is malformed (bad header, out-of-range offset, wrong JSON type, ...).
class FormatError : public Error {
 public:
  using Error::Error;
};

// A configuration value or command-line option is invalid.
class ConfigError : public Error {
 public:
  using Error::Error;
};

// A feature the input asks for is not implemented (named, never approximated silently).
class UnsupportedError : public Error {
 public:
  using Error::Error;
};

// An internal invariant failed: a bug in dpok, not in the input.
class InternalError : public Error {
 public:
  using Error::Error;
};

// Builds "[component] message" with fmt-style formatting.
template <typename... Args>
std::string error_message(const char* component, fmt::format_string<Args...> format,
                          Args&&... args) {
  return fmt::format("[{}] {}", component, fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace dpok

// Throws ErrorType("[component] message") built with fmt formatting.
#define DPOK_THROW(ErrorType, component, ...) \
  throw ErrorType(::dpok::error_message(component, __VA_ARGS__))

// Internal invariant with a mandatory fmt-style message.
#define DPOK_CHECK(cond, ...)                                                              \
  do {                                                                                     \
    if (!(cond)) {                                                                         \
      throw ::dpok::InternalError(fmt::format("[internal] {}:{}: check '{}' failed: {}",   \
                                              __FILE__, __LINE__, #cond,                   \
                                              fmt::format(__VA_ARGS__)));                  \
    }                                                                                      \
  } while (false)
