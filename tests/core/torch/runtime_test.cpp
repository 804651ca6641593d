#include "dpok/core/torch/runtime.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <new>
#include <sstream>
#include <stdexcept>

#include "dpok/core/error.h"
#include "dpok/core/torch/torch_compat.h"

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

// The OpenMP policy is set from .preinit_array (runtime.cpp) and must not show in the environment
// main() and child processes see: the environment is the one this process was started with.
TEST(Runtime, WaitPolicyIsNotLeftInTheEnvironment) {
  std::ifstream in("/proc/self/environ");
  const std::string block =
      std::string(1, '\0') + std::string{std::istreambuf_iterator<char>(in), {}};
  const bool started_with_policy =
      block.find(std::string("\0OMP_WAIT_POLICY=", 17)) != std::string::npos;
  EXPECT_EQ(std::getenv("OMP_WAIT_POLICY") != nullptr, started_with_policy);
}

TEST(Compat, CausalAttentionMatchesExplicitMask) {
  at::manual_seed(0);
  auto q = at::randn({2, 3, 5, 4});
  auto k = at::randn({2, 3, 5, 4});
  auto v = at::randn({2, 3, 5, 4});
  auto causal = compat::scaled_dot_product_attention(q, k, v, std::nullopt, /*is_causal=*/true);
  auto keep = at::ones({5, 5}, at::kBool).tril();
  auto mask = at::zeros({5, 5}).masked_fill(keep.logical_not(), -INFINITY);
  auto masked = compat::scaled_dot_product_attention(q, k, v, mask, /*is_causal=*/false);
  EXPECT_TRUE(at::allclose(causal, masked, 1e-5, 1e-6));
}

// A batch whose scores exceed the per-call budget (5 × 4 heads × 512² fp32 = 21 MB) is computed
// in batch slices on LibTorch 1.13; with a per-sequence padding mask the result must equal the
// plain formula over the whole batch.
TEST(Compat, LargeBatchAttentionEqualsPlainFormula) {
  at::manual_seed(0);
  const int64_t b = 5, h = 4, t = 512, d = 16;
  auto q = at::randn({b, h, t, d}), k = at::randn({b, h, t, d}), v = at::randn({b, h, t, d});
  auto keep = at::ones({t, t}, at::kBool).tril().view({1, 1, t, t}).repeat({b, 1, 1, 1});
  keep.narrow(0, 3, 1).narrow(3, t - 7, 7).fill_(false);  // sequence 3: 7 padded keys
  auto mask = at::zeros({b, 1, t, t}).masked_fill(keep.logical_not(), -INFINITY);
  auto ours = compat::scaled_dot_product_attention(q, k, v, mask, /*is_causal=*/false);
  auto scores = at::matmul(q, k.transpose(-2, -1)) / std::sqrt(static_cast<double>(d)) + mask;
  auto plain = at::matmul(at::softmax(scores, -1), v);
  EXPECT_TRUE(at::allclose(ours, plain, 1e-5, 1e-6));
}

}  // namespace
}  // namespace dpok
