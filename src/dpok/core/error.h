// Errors: the two kinds dpok distinguishes (style.md rule 8).
//
// - dpok::Error and its subclasses are thrown at boundaries (files, configs, user input). Their
//   message reads "[component] what: detail" and names the file, record/offset, key, and the
//   expected versus actual value, so a user can fix the input without a debugger.
// - DPOK_CHECK(cond, ...) guards internal invariants. It always carries a message and throws
//   dpok::InternalError with the source location. Never use it on untrusted input.
// Only main() turns an exception into an exit code (dpok::report_exception, core/torch/runtime.h).
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

// An internal invariant failed: a bug in dpok, not in the input. Deliberately not a dpok::Error:
// code that catches dpok::Error to add the file or record to a message (data/dataset.cpp) or to
// fall back (a cache read as a miss) must let a bug through, not relabel it as bad input.
class InternalError : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

// Exit codes of the `dpok` command line (README "Exit codes"; report_exception maps to them).
enum ExitCode : int {
  kExitUserError = 1,  // dpok::Error: a file, configuration or value the user can fix
  kExitUsage = 2,      // the command line itself does not parse (unknown flag, missing argument)
  kExitInternal = 70,  // EX_SOFTWARE (sysexits.h): a bug in dpok
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
#define DPOK_CHECK(cond, ...)                                                                      \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      throw ::dpok::InternalError(fmt::format("[internal] {}:{}: check '{}' failed: {}", __FILE__, \
                                              __LINE__, #cond, fmt::format(__VA_ARGS__)));         \
    }                                                                                              \
  } while (false)
