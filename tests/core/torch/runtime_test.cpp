#include "dpok/core/torch/runtime.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <new>
#include <sstream>
#include <stdexcept>

#include "dpok/core/error.h"

namespace dpok {
namespace {

TEST(Runtime, ParsesDtypes) {
  EXPECT_EQ(parse_dtype("bf16"), c10::kBFloat16);
  EXPECT_EQ(parse_dtype("float32"), c10::kFloat);
  EXPECT_EQ(dtype_name(parse_dtype("fp16")), "fp16");
  EXPECT_THROW(parse_dtype("int7"), ConfigError);
}

TEST(Runtime, ParsesDevices) {
  EXPECT_TRUE(parse_device("cpu").is_cpu());
  EXPECT_THROW(parse_device("tpu:9"), ConfigError);
}

// The exit code and the line main() prints for an exception.
std::pair<int, std::string> report(const std::exception_ptr& error) {
  std::ostringstream out;
  const int code = report_exception(error, out);
  return {code, out.str()};
}

template <typename E>
std::exception_ptr thrown(E error) {
  return std::make_exception_ptr(std::move(error));
}

TEST(Runtime, UserErrorsExitOneAndSayError) {
  for (const auto& error :
       {thrown(ConfigError("[train.config] unknown key 'betaa'")), thrown(FormatError("[x] y")),
        thrown(IoError("[x] y")), thrown(UnsupportedError("[x] y"))}) {
    const auto [code, line] = report(error);
    EXPECT_EQ(code, kExitUserError);
    EXPECT_EQ(line.rfind("dpok: error: [", 0), 0u) << line;
  }
  EXPECT_EQ(report(thrown(ConfigError("[train.config] unknown key 'betaa'"))).second,
            "dpok: error: [train.config] unknown key 'betaa'\n");
}

TEST(Runtime, OutOfMemoryIsAUserError) {
  const c10::SourceLocation where{__func__, __FILE__, __LINE__};
  for (const auto& error :
       {thrown(std::bad_alloc()), thrown(c10::OutOfMemoryError(where, "CUDA out of memory"))}) {
    const auto [code, line] = report(error);
    EXPECT_EQ(code, kExitUserError);
    EXPECT_EQ(line.rfind("dpok: error: out of memory", 0), 0u) << line;
  }
}

TEST(Runtime, BugsAndEscapedLibraryErrorsAreInternalErrors) {
  std::exception_ptr check;
  try {
    DPOK_CHECK(1 > 2, "one is not above {}", 2);
  } catch (...) {
    check = std::current_exception();
  }
  std::exception_ptr torch_error;
  try {
    at::ones({2}).view({3});  // a c10::Error that no boundary turned into a dpok::Error
  } catch (...) {
    torch_error = std::current_exception();
  }
  for (const auto& error : {check, torch_error, thrown(std::out_of_range("map::at")), thrown(42)}) {
    const auto [code, line] = report(error);
    EXPECT_EQ(code, kExitInternal);
    EXPECT_EQ(line.rfind("dpok: internal error (a bug in dpok; please report it", 0), 0u) << line;
  }
  EXPECT_NE(report(check).second.find("one is not above 2"), std::string::npos);
}

}  // namespace
}  // namespace dpok
