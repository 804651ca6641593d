// ZeRO-1 partition of the parameters over ranks (src/dpok/dist/shard.h).
#include "dpok/dist/shard.h"

#include <gtest/gtest.h>

namespace dpok::dist {
namespace {

TEST(Shard, PartitionIsContiguousAndBalancedByElements) {
  std::vector<at::Tensor> params;
  for (int64_t n : {100, 10, 10, 60, 20}) params.push_back(at::zeros({n}));
  EXPECT_EQ(partition_parameters(params, 1), (std::vector<int>{0, 0, 0, 0, 0}));
  // Starts at element 0, 100, 110, 120, 180 of 200.
  EXPECT_EQ(partition_parameters(params, 2), (std::vector<int>{0, 1, 1, 1, 1}));
  EXPECT_EQ(partition_parameters(params, 4), (std::vector<int>{0, 2, 2, 2, 3}));
}

TEST(Shard, AWorldOfOneBroadcastsNothing) {
  Group group;
  std::vector<at::Tensor> params{at::ones({3})};
  broadcast_from_owners(group, params, {0});
  EXPECT_TRUE(at::equal(params[0], at::ones({3})));
}

}  // namespace
}  // namespace dpok::dist
