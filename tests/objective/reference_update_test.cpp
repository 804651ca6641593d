#include "dpok/objective/reference_update.h"

#include <gtest/gtest.h>

#include <vector>

#include "dpok/core/error.h"
#include "support/testing.h"

namespace dpok::objective {
namespace {

std::vector<at::Tensor> parameters(uint64_t seed) {
  at::manual_seed(seed);
  std::vector<at::Tensor> params = {at::randn({3, 4}, at::kDouble), at::randn({4}, at::kDouble)};
  for (auto& p : params) p.requires_grad_(true);
  return params;
}

std::vector<at::Tensor> copies(const std::vector<at::Tensor>& params) {
  std::vector<at::Tensor> out;
  for (const auto& p : params) out.push_back(p.detach().clone());
  return out;
}

TEST(ReferenceUpdate, MixesPolicyIntoReferenceInPlace) {
  auto reference = parameters(0);
  const auto policy = parameters(1);
  const auto before = copies(reference);
  const auto storage = reference[0].data_ptr();
  soft_update_reference(reference, policy, 0.6);
  for (size_t i = 0; i < reference.size(); ++i) {
    const auto want = 0.6 * policy[i].detach() + 0.4 * before[i];
    EXPECT_TRUE(at::allclose(reference[i].detach(), want, 0, 1e-15)) << i;
    EXPECT_TRUE(reference[i].is_leaf());  // no autograd history
  }
  EXPECT_EQ(reference[0].data_ptr(), storage);
}

TEST(ReferenceUpdate, AlphaOneCopiesThePolicyAndZeroKeepsTheReference) {
  auto reference = parameters(2);
  const auto policy = parameters(3);
  const auto before = copies(reference);
  soft_update_reference(reference, policy, 0.0);
  for (size_t i = 0; i < reference.size(); ++i) EXPECT_TRUE(at::equal(reference[i], before[i]));
  soft_update_reference(reference, policy, 1.0);
  for (size_t i = 0; i < reference.size(); ++i) EXPECT_TRUE(at::equal(reference[i], policy[i]));
}

TEST(ReferenceUpdate, MismatchedParameterListsAreInternalErrors) {
  auto reference = parameters(4);
  auto policy = parameters(5);
  policy.pop_back();
  EXPECT_TRUE(::dpok::testing::throws_with<InternalError>(
      [&] { soft_update_reference(reference, policy, 0.5); }, {"2 parameter tensors", "has 1"}));
  policy = {at::zeros({4, 3}, at::kDouble), at::zeros({4}, at::kDouble)};
  EXPECT_TRUE(::dpok::testing::throws_with<InternalError>(
      [&] { soft_update_reference(reference, policy, 0.5); }, {"parameter 0"}));
}

}  // namespace
}  // namespace dpok::objective
