#include "dpok/objective/token_penalty.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "dpok/core/error.h"
#include "dpok/objective/divergences.h"
#include "gradcheck.h"

namespace dpok::objective {
namespace {

using testing::all_finite;
using testing::expect_gradients_match;
using testing::leaf;

const std::vector<Divergence> kAll = {
    Divergence::kKl,        Divergence::kReverseKl,     Divergence::kJs,
    Divergence::kHellinger, Divergence::kBhattacharyya, Divergence::kRenyi,
    Divergence::kTv,        Divergence::kWasserstein};

TokenDivergenceOptions options_for(Divergence d, int64_t topk = 4) {
  TokenDivergenceOptions o;
  o.divergence = d;
  o.topk = topk;
  return o;
}

// Final hidden states and lm_head weights of policy and reference, and their full logits
// (hidden · Wᵀ, what the plain references take).
struct Sequences {
  LmHeadStates policy_states, ref_states;
  at::Tensor policy, ref, mask, embeddings;  // policy / ref: logits [R, T, V]
};

// R = 4 sequences (2 pairs) of T = 6 positions, H = 5, V = 11 tokens; row 3 has no completion.
Sequences random_sequences(uint64_t seed) {
  at::manual_seed(seed);
  Sequences s;
  s.policy_states = {at::randn({4, 6, 5}, at::kDouble), at::randn({11, 5}, at::kDouble)};
  s.ref_states = {at::randn({4, 6, 5}, at::kDouble), at::randn({11, 5}, at::kDouble)};
  s.policy = s.policy_states.hidden.matmul(s.policy_states.weight.t());
  s.ref = s.ref_states.hidden.matmul(s.ref_states.weight.t());
  s.mask = at::tensor({0, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0},
                      at::kLong)
               .reshape({4, 6});
  s.embeddings = at::randn({11, 5}, at::kDouble);
  return s;
}

LmHeadStates leaves(const LmHeadStates& states) {
  return {leaf(states.hidden), leaf(states.weight)};
}

// Values and gradients (w.r.t. hidden states and weight, fp64) of the chunked hidden-state path
// against the plain path through full logits, for several chunk sizes.
template <typename Chunked, typename Plain>
void expect_chunked_matches_plain(const LmHeadStates& states, Chunked&& chunked, Plain&& plain,
                                  const std::string& what) {
  const auto w = at::tensor({1.0, 2.0, 3.0, 4.0}, at::kDouble);
  auto p_plain = leaves(states);
  const at::Tensor want = plain(p_plain.hidden.matmul(p_plain.weight.t()));
  EXPECT_EQ(want[3].item<double>(), 0.0) << what;  // no completion positions
  (want * w).sum().backward();
  for (const int64_t chunk : {1, 3, 100}) {
    auto p = leaves(states);
    const at::Tensor got = chunked(p, chunk);
    EXPECT_TRUE(at::allclose(got, want, 1e-12, 1e-14)) << what << " chunk " << chunk << "\n"
                                                       << got << want;
    (got * w).sum().backward();
    EXPECT_TRUE(at::allclose(p.hidden.grad(), p_plain.hidden.grad(), 1e-10, 1e-13))
        << what << " chunk " << chunk;
    EXPECT_TRUE(at::allclose(p.weight.grad(), p_plain.weight.grad(), 1e-10, 1e-13))
        << what << " chunk " << chunk;
  }
}

TEST(TokenPenalty, ChunkedEqualsUnchunkedForEveryDivergence) {
  const auto s = random_sequences(0);
  for (const Divergence d : kAll) {
    const auto o = options_for(d);
    expect_chunked_matches_plain(
        s.policy_states,
        [&](const LmHeadStates& p, int64_t chunk) {
          return sequence_token_divergence(p, s.ref_states, s.mask, o, chunk, s.embeddings);
        },
        [&](const at::Tensor& logits) {
          return sequence_token_divergence_reference(logits, s.ref, s.mask, o, s.embeddings);
        },
        to_string(d));
  }
}

TEST(TokenPenalty, CachedTopkChunkedEqualsUnchunked) {
  const auto s = random_sequences(8);
  const auto [vals, ids] = at::log_softmax(s.ref, -1).topk(3, -1);
  for (const Divergence d : {Divergence::kKl, Divergence::kJs, Divergence::kWasserstein}) {
    const auto o = options_for(d, 3);
    expect_chunked_matches_plain(
        s.policy_states,
        [&](const LmHeadStates& p, int64_t chunk) {
          return sequence_token_divergence_topk(p, ids, vals, s.mask, o, chunk, s.embeddings);
        },
        [&](const at::Tensor& logits) {
          return sequence_token_divergence_topk_reference(logits, ids, vals, s.mask, o,
                                                          s.embeddings);
        },
        to_string(d));
  }
}

TEST(TokenPenalty, GradientsMatchFiniteDifferencesThroughHiddenStates) {
  auto s = random_sequences(1);
  const LmHeadStates policy{leaf(s.policy_states.hidden.narrow(1, 0, 3).narrow(0, 0, 2)),
                            leaf(s.policy_states.weight)};
  const LmHeadStates ref{s.ref_states.hidden.narrow(1, 0, 3).narrow(0, 0, 2), s.ref_states.weight};
  const auto mask = at::ones({2, 3}, at::kLong);
  for (const Divergence d : kAll) {
    auto o = options_for(d);
    o.sinkhorn_epsilon = 0.5;  // smooth enough for finite differences
    expect_gradients_match(
        [&] { return sequence_token_divergence(policy, ref, mask, o, 2, s.embeddings); },
        {policy.hidden, policy.weight}, 1e-6, 1e-6, to_string(d));
  }
}

TEST(TokenPenalty, NoGradientReachesTheReference) {
  const auto s = random_sequences(9);
  const auto ref = leaves(s.ref_states);
  const auto policy = leaves(s.policy_states);
  sequence_token_divergence(policy, ref, s.mask, options_for(Divergence::kKl), 2).sum().backward();
  EXPECT_TRUE(policy.hidden.grad().defined());
  EXPECT_FALSE(ref.hidden.grad().defined());
  EXPECT_FALSE(ref.weight.grad().defined());
}

TEST(TokenPenalty, FullTopkSupportEqualsTheFullDivergence) {
  at::manual_seed(2);
  const auto lp = at::log_softmax(at::randn({5, 9}, at::kDouble), -1);
  const auto lq = at::log_softmax(at::randn({5, 9}, at::kDouble), -1);
  for (const Divergence d : kAll) {
    if (d == Divergence::kWasserstein) continue;
    const auto full = distribution_divergence(d, lp, lq);
    const auto support = topk_support(lp, lq, 9);
    EXPECT_TRUE(at::allclose(distribution_divergence(d, support.policy_logps, support.ref_logps),
                             full, 1e-10, 1e-12))
        << to_string(d);
    const auto [vals, ids] = lq.topk(9, -1);
    EXPECT_TRUE(
        at::allclose(token_divergence_topk(lp, ids, vals, options_for(d)), full, 1e-10, 1e-12))
        << to_string(d);
  }
  // Supports are distributions: entries plus tail sum to 1.
  const auto small = topk_support(lp, lq, 2);
  EXPECT_TRUE(at::allclose(small.policy_logps.exp().sum(-1), at::ones({5}, at::kDouble)));
  EXPECT_TRUE(at::allclose(small.ref_logps.exp().sum(-1), at::ones({5}, at::kDouble)));
}

// In fp32, Σp over all V entries misses 1 by rounding noise; with k = V the cached support must
// not turn that noise into a tail bucket (it once added ~1e-4 of divergence per position).
TEST(TokenPenalty, Fp32CachedTopkWithEveryTokenEqualsTheFullDivergence) {
  at::manual_seed(4);
  const auto lp = at::log_softmax(at::randn({6, 512}) * 3, -1);
  const auto lq = at::log_softmax(at::randn({6, 512}) * 3, -1);
  const auto [vals, ids] = lq.topk(512, -1);
  for (const Divergence d : {Divergence::kKl, Divergence::kJs, Divergence::kHellinger}) {
    const auto full = distribution_divergence(d, lp, lq);
    const auto cached = token_divergence_topk(lp, ids, vals, options_for(d, 512));
    EXPECT_LE((cached - full).abs().max().item<double>(), 1e-5) << to_string(d);
  }
}

TEST(TokenPenalty, CachedTopkConvergesToTheFullDivergenceAsKGrows) {
  at::manual_seed(3);
  const int64_t v = 64;
  // Peaked, LM-like distributions: most mass on a few tokens.
  const auto lp = at::log_softmax(at::randn({8, v}, at::kDouble) * 3, -1);
  const auto lq = at::log_softmax(lp + at::randn({8, v}, at::kDouble) * 0.5, -1);
  for (const Divergence d : kAll) {
    if (d == Divergence::kWasserstein) continue;
    const auto full = distribution_divergence(d, lp, lq, 0.9);
    std::vector<double> errors;
    for (const int64_t k : {2, 8, 32, 64}) {
      const auto [vals, ids] = lq.topk(k, -1);
      const auto approx = token_divergence_topk(lp, ids, vals, options_for(d, k));
      errors.push_back((approx - full).abs().mean().item<double>());
    }
    EXPECT_LT(errors[3], 1e-10) << to_string(d);
    EXPECT_LT(errors[2], errors[0]) << to_string(d);
    EXPECT_LT(errors[2], 0.1 * (full.abs().mean().item<double>() + 1e-3)) << to_string(d);
  }
}

TEST(TokenPenalty, CachedTopkSequencePathMatchesPerChunkCalls) {
  const auto s = random_sequences(4);
  const auto ref_logps = at::log_softmax(s.ref, -1);
  const auto [vals, ids] = ref_logps.topk(3, -1);
  for (const Divergence d : {Divergence::kKl, Divergence::kWasserstein}) {
    const auto o = options_for(d, 3);
    const auto seq =
        sequence_token_divergence_topk(s.policy_states, ids, vals, s.mask, o, 2, s.embeddings);
    // Row 1 by hand: positions 2..5.
    const auto lp = at::log_softmax(s.policy[1], -1).narrow(0, 2, 4);
    const auto per_position =
        token_divergence_topk(lp, ids[1].narrow(0, 2, 4), vals[1].narrow(0, 2, 4), o, s.embeddings);
    EXPECT_NEAR(seq[1].item<double>(), per_position.mean().item<double>(), 1e-12) << to_string(d);
  }
}

TEST(TokenPenalty, IdenticalDistributionsGiveZeroForEveryDivergence) {
  const auto s = random_sequences(5);
  for (const Divergence d : kAll) {
    const auto value = sequence_token_divergence(s.policy_states, s.policy_states, s.mask,
                                                 options_for(d), 2, s.embeddings);
    EXPECT_TRUE(at::allclose(value, at::zeros_like(value), 0, 1e-12)) << to_string(d) << value;
  }
}

TEST(TokenPenalty, AccumulatorAndReduction) {
  TokenPenaltyAccumulator acc(4, at::TensorOptions().dtype(at::kDouble));
  acc.add(at::tensor({1.0, 3.0}, at::kDouble), at::tensor({0, 2}, at::kLong));
  acc.add(at::tensor({5.0, 2.0}, at::kDouble), at::tensor({0, 1}, at::kLong));
  const auto per = acc.per_sequence();
  EXPECT_TRUE(at::equal(per, at::tensor({3.0, 2.0, 3.0, 0.0}, at::kDouble)));
  EXPECT_DOUBLE_EQ(token_penalty(per, PenaltyOn::kChosen).item<double>(), 2.5);
  EXPECT_DOUBLE_EQ(token_penalty(per, PenaltyOn::kBoth).item<double>(), 2.5 + 1.5);
  EXPECT_THROW(token_penalty(at::ones({3}, at::kDouble), PenaltyOn::kChosen), ConfigError);
}

TEST(TokenPenalty, ErrorsNameTheProblem) {
  const auto s = random_sequences(6);
  try {
    sequence_token_divergence(s.policy_states, s.ref_states, s.mask,
                              options_for(Divergence::kWasserstein), 4);
    FAIL() << "wasserstein without embeddings accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("needs the token embedding matrix [V = 11, H]; got none"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(sequence_token_divergence(s.policy_states, s.ref_states, s.mask.narrow(1, 0, 5),
                                         options_for(Divergence::kKl), 4),
               ConfigError);
  EXPECT_THROW(sequence_token_divergence({s.policy_states.hidden, s.policy_states.weight.t()},
                                         s.ref_states, s.mask, options_for(Divergence::kKl), 4),
               ConfigError);
  EXPECT_THROW(token_divergence(at::zeros({2, 3}), at::zeros({2, 4}), options_for(Divergence::kKl)),
               ConfigError);
}

TEST(TokenPenalty, HalfPrecisionLogitsAreUpcastToFp32) {
  const auto s = random_sequences(7);
  const auto bf16 = [](const LmHeadStates& x) {
    return LmHeadStates{x.hidden.to(at::kBFloat16), x.weight.to(at::kBFloat16)};
  };
  const auto value = sequence_token_divergence(bf16(s.policy_states), bf16(s.ref_states), s.mask,
                                               options_for(Divergence::kJs), 3);
  EXPECT_EQ(value.scalar_type(), at::kFloat);
  EXPECT_TRUE(all_finite(value));
}

}  // namespace
}  // namespace dpok::objective
