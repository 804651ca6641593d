// Random Fourier features, Nyström features and MMD² (objective.md §7).
#include "dpok/select/approx.h"

#include <algorithm>
#include <numbers>
#include <numeric>
#include <random>
#include <vector>

#include "dpok/core/error.h"

namespace dpok::select {
namespace {

// Rows per chunk when expanding n·m pairs, bounding memory at about chunk·m·d values.
constexpr std::int64_t kGramChunkPairs = 1 << 20;

at::Tensor seeded_normal(std::int64_t rows, std::int64_t cols, std::mt19937_64& generator) {
  std::normal_distribution<double> normal(0.0, 1.0);
  std::vector<double> values(static_cast<std::size_t>(rows * cols));
  for (auto& v : values) v = normal(generator);
  return at::tensor(values, at::kDouble).reshape({rows, cols});
}

}  // namespace

GramFn gram_from_log_kernel(LogKernelFn log_kernel) {
  return [log_kernel = std::move(log_kernel)](const at::Tensor& x, const at::Tensor& y) {
    const auto n = x.size(0), m = y.size(0);
    const auto rows_per_chunk =
        std::max<std::int64_t>(1, kGramChunkPairs / std::max<std::int64_t>(m, 1));
    std::vector<at::Tensor> parts;
    for (std::int64_t start = 0; start < n; start += rows_per_chunk) {
      const auto rows = x.slice(0, start, std::min(n, start + rows_per_chunk));
      const auto r = rows.size(0);
      const auto u = rows.repeat_interleave(m, 0);
      const auto v = y.repeat({r, 1});
      parts.push_back(log_kernel(u, v).to(at::kDouble).exp().reshape({r, m}));
    }
    return at::cat(parts, 0);
  };
}

at::Tensor rff_features(const at::Tensor& x, double sigma, std::int64_t features,
                        std::uint64_t seed) {
  if (!(sigma > 0.0) || features < 1) {
    DPOK_THROW(ConfigError, "select",
               "random Fourier features need sigma > 0 and D >= 1, got {} "
               "and {}",
               sigma, features);
  }
  std::mt19937_64 generator(seed);
  const auto w = seeded_normal(x.size(1), features, generator);
  std::uniform_real_distribution<double> phase(0.0, 2.0 * std::numbers::pi);
  std::vector<double> b(static_cast<std::size_t>(features));
  for (auto& value : b) value = phase(generator);
  const auto projected = x.to(at::kDouble).matmul(w) / sigma + at::tensor(b, at::kDouble);
  return std::sqrt(2.0 / static_cast<double>(features)) * projected.cos();
}

at::Tensor nystrom_features(const at::Tensor& x, const GramFn& gram, std::int64_t landmarks,
                            std::uint64_t seed) {
  const auto n = x.size(0);
  if (landmarks < 1 || landmarks > n) {
    DPOK_THROW(ConfigError, "select", "Nystrom needs 1 <= landmarks <= N ({}), got {}", n,
               landmarks);
  }
  std::vector<std::int64_t> index(static_cast<std::size_t>(n));
  std::iota(index.begin(), index.end(), 0);
  std::mt19937_64 generator(seed);
  std::shuffle(index.begin(), index.end(), generator);
  index.resize(static_cast<std::size_t>(landmarks));
  const auto points = x.to(at::kDouble);
  const auto z = points.index_select(0, at::tensor(index, at::kLong));
  const auto k_zz = gram(z, z).to(at::kDouble);
  const auto [eigenvalues, eigenvectors] = at::linalg_eigh(0.5 * (k_zz + k_zz.t()));
  const double floor = 1e-10 * eigenvalues.max().item<double>();
  const auto keep = (eigenvalues > floor).nonzero().squeeze(1);
  DPOK_CHECK(keep.numel() > 0, "Nystrom landmark Gram matrix has no positive eigenvalue");
  const auto basis = eigenvectors.index_select(1, keep) / eigenvalues.index_select(0, keep).sqrt();
  return gram(points, z).to(at::kDouble).matmul(basis);
}

double mmd2_exact(const GramFn& gram, const at::Tensor& x, const at::Tensor& y) {
  return (gram(x, x).mean() + gram(y, y).mean() - 2.0 * gram(x, y).mean()).item<double>();
}

double mmd2_from_features(const at::Tensor& features_x, const at::Tensor& features_y) {
  const auto gap = features_x.to(at::kDouble).mean(0) - features_y.to(at::kDouble).mean(0);
  return gap.dot(gap).item<double>();
}

}  // namespace dpok::select
