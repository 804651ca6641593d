// Tests for score_sequences: per-sequence completion log-probs, lengths and mean logits against
// one plain full-logit forward of the same rows, with right padding.
#include "dpok/model/scoring.h"

#include <gtest/gtest.h>

#include "model/test_util.h"

namespace dpok::model {
namespace {

TEST(ScoreSequences, MatchesTheFullLogitForward) {
  torch::manual_seed(0);
  CausalLM model(testing::tiny_config());
  model->to(torch::kDouble);
  const auto ids = torch::randint(3, 97, {3, 9}, torch::kLong);
  auto mask = torch::ones({3, 9}, torch::kLong);
  mask.index_put_({2, torch::indexing::Slice(6, 9)}, 0);  // right padding
  auto completion = torch::zeros({3, 9}, torch::kLong);
  completion.index_put_({torch::indexing::Slice(), torch::indexing::Slice(4, 9)}, 1);
  completion = completion * mask;
  const auto scores = score_sequences(model, ids, mask, completion, /*chunk_rows=*/2);

  // [3, 9, V] in fp64 (CausalLM::logits would round to fp32).
  const auto logits = model->forward_hidden(ids, mask).matmul(model->lm_head_weight().t());
  const auto logps = logits.log_softmax(-1);
  for (int64_t r = 0; r < 3; ++r) {
    double want = 0, logit_sum = 0;
    int64_t n = 0;
    for (int64_t t = 0; t + 1 < 9; ++t) {
      if (completion[r][t + 1].item<int64_t>() == 0) continue;
      want += logps[r][t][ids[r][t + 1].item<int64_t>()].item<double>();
      logit_sum += logits[r][t].mean().item<double>();
      ++n;
    }
    EXPECT_NEAR(scores.logps[r].item<double>(), want, 1e-9) << r;
    EXPECT_EQ(scores.lengths[r].item<double>(), static_cast<double>(n)) << r;
    EXPECT_NEAR(scores.logits_mean[r].item<double>(), logit_sum / n, 1e-9) << r;
  }
  EXPECT_EQ(scores.hidden.sizes(), (std::vector<int64_t>{3, 9, 32}));
  EXPECT_EQ(scores.targets[2][5].item<int64_t>(), -1);  // next token is padding
}

}  // namespace
}  // namespace dpok::model
