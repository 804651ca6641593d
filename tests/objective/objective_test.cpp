#include "dpok/objective/objective.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "dpok/core/error.h"
#include "dpok/objective/losses.h"
#include "dpok/objective/semantic.h"
#include "dpok/objective/token_penalty.h"
#include "gradcheck.h"
#include "support/testing.h"

namespace dpok::objective {
namespace {

using ::dpok::testing::throws_with;
using testing::all_finite;
using testing::expect_gradients_match;
using testing::leaf;
using testing::with_grad;

// Every kernel, from the objective's own name table, so a new kernel is tested here unasked.
std::vector<std::string> kernel_names() {
  std::vector<std::string> names;
  for (const KernelType type : all_kernel_types()) names.push_back(to_string(type));
  return names;
}

PairInputs random_inputs(int64_t b, int64_t d, uint64_t seed) {
  at::manual_seed(seed);
  PairInputs in;
  in.policy_chosen_logps = at::randn({b}, at::kDouble) * 10 - 40;
  in.policy_rejected_logps = at::randn({b}, at::kDouble) * 10 - 40;
  in.ref_chosen_logps = at::randn({b}, at::kDouble) * 10 - 40;
  in.ref_rejected_logps = at::randn({b}, at::kDouble) * 10 - 40;
  in.chosen_lengths = at::randint(1, 30, {b}, at::kLong);
  in.rejected_lengths = at::randint(1, 30, {b}, at::kLong);
  in.prompt_embedding = at::randn({b, d}, at::kDouble);
  in.chosen_embedding = at::randn({b, d}, at::kDouble);
  in.rejected_embedding = at::randn({b, d}, at::kDouble);
  in.token_penalty = at::scalar_tensor(0.37, at::kDouble);
  return in;
}

Objective make(const ObjectiveConfig& config, int64_t dim = 4) {
  Objective objective(config, dim);
  objective->to(at::kDouble);
  return objective;
}

at::Tensor plain_dpo(const PairInputs& in, double beta = 0.1) {
  return dpo_loss(in.policy_chosen_logps, in.policy_rejected_logps, in.ref_chosen_logps,
                  in.ref_rejected_logps, beta)
      .mean();
}

// With γ = 0 no kernel is built and α = 0 computes no penalty, whatever their settings: one case
// covers the path (the hybrid path is tested below, where a kernel exists).
TEST(Objective, GammaAndAlphaZeroReproducePlainDpoBitForBit) {
  const auto in = random_inputs(8, 4, 0);
  ObjectiveConfig config;
  config.kernel = KernelType::kHmk;
  config.penalty_divergence = Divergence::kWasserstein;
  auto objective = make(config);
  EXPECT_FALSE(objective->needs_embeddings());
  EXPECT_FALSE(objective->needs_token_penalty());
  EXPECT_TRUE(objective->kernel_parameters().empty());
  EXPECT_TRUE(at::equal(objective->forward(in).loss, plain_dpo(in)));
}

// γ > 0 with identical chosen and rejected embeddings: both log-kernels come from the same
// operations on the same values, so m = log K(x, e⁺) − log K(x, e⁻) is exactly +0, γ·m is +0,
// and z = β·Δ + 0 (logit placement) or loss − 0 (additive) is bit-identical to plain DPO. Any
// kernel bug that leaks into the loss (a margin of the wrong shape that broadcasts, a bandwidth
// or parameter that differs between the two sides, a term added outside the margin) breaks the
// equality. The HMK entropy regulariser is a separate term, not a margin (at η = 0 it is 0 only up
// to the rounding of log 2 − H), so it is switched off here and tested in hmk_test.
TEST(Objective, HybridWithIdenticalCompletionEmbeddingsIsPlainDpoBitForBit) {
  auto in = random_inputs(8, 4, 11);
  in.rejected_embedding = in.chosen_embedding.clone();
  const auto plain = plain_dpo(in);
  for (const auto& kernel : kernel_names()) {
    for (const std::string placement : {"logit", "additive"}) {
      for (const bool learned_median : {false, true}) {
        ObjectiveConfig config;
        config.gamma = 0.3;
        config.kernel = parse_enum<KernelType>(kernel, "kernel");
        config.placement = parse_enum<Placement>(placement, "placement");
        config.hmk_entropy_weight = 0.0;
        config.kernel_options.learn = learned_median;
        config.kernel_options.sigma_median = learned_median;
        const auto out = make(config)->forward(in);
        const std::string what = kernel + "/" + placement + (learned_median ? "/learned" : "");
        EXPECT_TRUE(at::equal(out.loss, plain)) << what;
        EXPECT_EQ(out.metrics.at("semantic/margin").item<double>(), 0.0) << what;
      }
    }
  }
}

// log K(u, v) at the default kernel options, written from objective.md §4/§5 (u, v [d], fp64).
double closed_form_log_kernel(const std::string& kernel, const at::Tensor& u, const at::Tensor& v) {
  const double dot = (u * v).sum().item<double>();
  const double d2 = (u - v).square().sum().item<double>();
  if (kernel == "linear") return dot;                          // τ = 1
  if (kernel == "rbf") return -d2 / 2;                         // σ = 1
  if (kernel == "polynomial") return 2 * std::log(dot + 1.0);  // c = 1, p = 2
  if (kernel == "spectral") {  // ω = {0.5, 1, 2}/σ², uniform weights
    return std::log((std::exp(-0.5 * d2) + std::exp(-d2) + std::exp(-2 * d2)) / 3);
  }
  if (kernel == "mahalanobis") return -0.5 * (1 + 1e-4) * d2;  // L = I, ε = 1e-4
  if (kernel == "hmk") {  // all η = 0: each of the four components weighs ¼
    double k = 0;
    for (const char* part : {"rbf", "polynomial", "spectral", "mahalanobis"}) {
      k += 0.25 * std::exp(closed_form_log_kernel(part, u, v));
    }
    return std::log(k);
  }
  ADD_FAILURE() << "no closed form for kernel '" << kernel << "': add it here";
  return NAN;
}

// Each pair alone (B = 1), so the logged semantic/margin is that pair's m, and the loss pins how
// γ·m enters the logit. Kernels keep their hyper-parameters in fp32 (−log 3 for the spectral
// weights, softplus⁻¹ of the learned HMK components' values), hence the 1e-6 tolerance; a kernel
// bug moves m by far more.
TEST(Objective, SemanticMarginOfEveryKernelMatchesItsClosedForm) {
  constexpr double kTol = 1e-6;
  for (const auto& kernel : kernel_names()) {
    for (uint64_t seed = 0; seed < 4; ++seed) {
      const auto in = random_inputs(1, 5, 20 + seed);
      ObjectiveConfig config;
      config.gamma = 0.3;
      config.kernel = parse_enum<KernelType>(kernel, "kernel");
      const auto out = make(config, 5)->forward(in);
      const auto unit = [](const at::Tensor& e) { return e[0] / e[0].norm(); };
      const auto x = unit(in.prompt_embedding);
      const double m = closed_form_log_kernel(kernel, x, unit(in.chosen_embedding)) -
                       closed_form_log_kernel(kernel, x, unit(in.rejected_embedding));
      EXPECT_NEAR(out.metrics.at("semantic/margin").item<double>(), m, kTol * (1 + std::abs(m)))
          << kernel << " seed " << seed;
      const double h = ((in.policy_chosen_logps - in.ref_chosen_logps) -
                        (in.policy_rejected_logps - in.ref_rejected_logps))
                           .item<double>();
      EXPECT_NEAR(out.loss.item<double>(), std::log1p(std::exp(-(0.1 * h + 0.3 * m))), kTol)
          << kernel << " seed " << seed;
    }
  }
}

TEST(Objective, PolicyEqualToReferenceGivesLogTwo) {
  auto in = random_inputs(6, 4, 1);
  in.ref_chosen_logps = in.policy_chosen_logps.clone();
  in.ref_rejected_logps = in.policy_rejected_logps.clone();
  const auto out = make(ObjectiveConfig{})->forward(in);
  EXPECT_DOUBLE_EQ(out.loss.item<double>(), std::log(2.0));
  EXPECT_DOUBLE_EQ(out.metrics.at("rewards/margins").item<double>(), 0.0);
}

// loss_type + loss_weights: Σ_i w_i·loss_i per pair, each term from its §1 formula.
TEST(Objective, LossCombinationIsTheWeightedSumOfItsTerms) {
  const auto in = random_inputs(8, 4, 12);
  ObjectiveConfig config;
  config.loss_type = {LossType::kHinge, LossType::kIpo, LossType::kApoZero};
  config.loss_weights = {0.5, 2.0, 1.5};
  const auto out = make(config)->forward(in);
  const auto rc = in.policy_chosen_logps - in.ref_chosen_logps;
  const auto rr = in.policy_rejected_logps - in.ref_rejected_logps;
  const auto hinge = at::relu(1 - 0.1 * (rc - rr));
  const auto dbar =
      rc / in.chosen_lengths.to(at::kDouble) - rr / in.rejected_lengths.to(at::kDouble);
  const auto ipo = (dbar - 1 / (2 * 0.1)).square();
  const auto apo_zero = (1 - at::sigmoid(0.1 * rc)) + at::sigmoid(0.1 * rr);
  const auto want = (0.5 * hinge + 2.0 * ipo + 1.5 * apo_zero).mean().item<double>();
  EXPECT_NEAR(out.loss.item<double>(), want, 1e-12 * (1 + std::abs(want)));
  EXPECT_NEAR(out.metrics.at("loss/ipo").item<double>(), ipo.mean().item<double>(), 1e-12);
}

TEST(Objective, AotSortsTheBatchsLogRatios) {
  const auto in = random_inputs(8, 4, 13);
  ObjectiveConfig config;
  config.loss_type = {LossType::kAot};
  const auto want = aot_loss(in.policy_chosen_logps - in.policy_rejected_logps,
                             in.ref_chosen_logps - in.ref_rejected_logps, 0.1)
                        .mean();
  EXPECT_TRUE(at::equal(make(config)->forward(in).loss, want));
  config.loss_type = {LossType::kAotUnpaired};
  const auto unpaired = aot_unpaired_loss(in.policy_chosen_logps - in.ref_chosen_logps,
                                          in.policy_rejected_logps - in.ref_rejected_logps, 0.1)
                            .mean();
  EXPECT_TRUE(at::equal(make(config)->forward(in).loss, unpaired));
}

// WPO: TRL multiplies every loss term of a pair by its (detached) weight before the mean.
TEST(Objective, WpoPairWeightsScaleEveryTermOfThePair) {
  auto in = random_inputs(4, 4, 14);
  in.pair_weights = leaf(at::tensor({0.5, 1.0, 0.25, 2.0}, at::kDouble));
  in.policy_chosen_logps = leaf(in.policy_chosen_logps);
  ObjectiveConfig config;
  config.loss_type = {LossType::kSigmoid, LossType::kSft};
  config.loss_weights = {1.0, 0.2};
  const auto out = make(config)->forward(in);
  const auto sigmoid = dpo_loss(in.policy_chosen_logps, in.policy_rejected_logps,
                                in.ref_chosen_logps, in.ref_rejected_logps, 0.1);
  // sft is the batch's token-mean NLL of the chosen completions (chosen_token_nll), one value for
  // every pair.
  const auto nll = chosen_token_nll(in.policy_chosen_logps, in.chosen_lengths);
  const auto want = (in.pair_weights * (sigmoid + 0.2 * nll)).mean();
  EXPECT_NEAR(out.loss.item<double>(), want.item<double>(), 1e-12);
  out.loss.backward();
  EXPECT_FALSE(in.pair_weights.grad().defined());  // weights are constants of the step
  config.loss_type = {LossType::kAot};
  config.loss_weights.clear();
  EXPECT_TRUE(throws_with<ConfigError>([&] { make(config)->forward(in); },
                                       {"use_weighting", "loss 'aot'"}));
}

TEST(Objective, MetricsFollowTrlDefinitions) {
  const auto in = random_inputs(8, 4, 2);
  ObjectiveConfig config;
  config.loss_type = {LossType::kSigmoid, LossType::kSft};
  config.loss_weights = {1.0, 0.2};
  config.beta = 0.2;
  const auto out = make(config)->forward(in);
  const auto rc = (in.policy_chosen_logps - in.ref_chosen_logps) * 0.2;
  const auto rr = (in.policy_rejected_logps - in.ref_rejected_logps) * 0.2;
  const auto& m = out.metrics;
  EXPECT_NEAR(m.at("rewards/chosen").item<double>(), rc.mean().item<double>(), 1e-12);
  EXPECT_NEAR(m.at("rewards/rejected").item<double>(), rr.mean().item<double>(), 1e-12);
  EXPECT_NEAR(m.at("rewards/margins").item<double>(), (rc - rr).mean().item<double>(), 1e-12);
  EXPECT_NEAR(m.at("rewards/accuracies").item<double>(),
              (rc > rr).to(at::kDouble).mean().item<double>(), 1e-12);
  EXPECT_NEAR(m.at("logps/chosen").item<double>(), in.policy_chosen_logps.mean().item<double>(),
              1e-12);
  // TRL's sft: the token mean over the batch's chosen completions, not a mean of per-pair means.
  const double token_mean =
      -in.policy_chosen_logps.sum().item<double>() / in.chosen_lengths.sum().item<double>();
  EXPECT_NEAR(m.at("nll_loss").item<double>(), token_mean, 1e-12);
  EXPECT_NEAR(chosen_token_nll(in.policy_chosen_logps, in.chosen_lengths).item<double>(),
              token_mean, 1e-12);
  // A rank's share of a global batch divides by the global count / world size instead.
  const auto count = at::scalar_tensor(123.0, at::kDouble);
  EXPECT_NEAR(chosen_token_nll(in.policy_chosen_logps, in.chosen_lengths, count).item<double>(),
              -in.policy_chosen_logps.sum().item<double>() / 123.0, 1e-12);
  auto share = in;
  share.chosen_token_count = count;
  const auto shared = make(config)->forward(share).metrics;
  EXPECT_NEAR(shared.at("loss/sft").item<double>(),
              -in.policy_chosen_logps.sum().item<double>() / 123.0, 1e-12);
  const double want = m.at("loss/sigmoid").item<double>() + 0.2 * m.at("loss/sft").item<double>();
  EXPECT_NEAR(out.loss.item<double>(), want, 1e-12);
  for (const auto& [name, value] : m) {
    EXPECT_FALSE(value.requires_grad()) << name;
    EXPECT_EQ(value.dim(), 0) << name;
  }
  EXPECT_EQ(m.count("semantic/margin"), 0u);
}

TEST(Objective, LogitPlacementPutsTheMarginInsideTheLink) {
  const auto in = random_inputs(8, 4, 3);
  ObjectiveConfig config;
  config.gamma = 0.3;
  config.kernel = KernelType::kLinear;
  const auto out = make(config)->forward(in);
  const auto x = l2_normalize(in.prompt_embedding), pos = l2_normalize(in.chosen_embedding),
             neg = l2_normalize(in.rejected_embedding);
  const auto margin = (x * pos).sum(-1) - (x * neg).sum(-1);  // cosine margin, τ = 1
  const auto h = (in.policy_chosen_logps - in.ref_chosen_logps) -
                 (in.policy_rejected_logps - in.ref_rejected_logps);
  const auto want = (-at::log_sigmoid(0.1 * h + 0.3 * margin)).mean();
  EXPECT_NEAR(out.loss.item<double>(), want.item<double>(), 1e-12);
  EXPECT_NEAR(out.metrics.at("semantic/margin").item<double>(), margin.mean().item<double>(),
              1e-12);

  config.placement = Placement::kAdditive;
  EXPECT_FALSE(make(config)->semantic_term_is_constant());  // policy embeddings carry gradient
  config.embedding_source = EmbeddingSource::kPrecomputed;
  EXPECT_TRUE(make(config)->semantic_term_is_constant());
  config.kernel_options.learn = true;
  EXPECT_FALSE(make(config)->semantic_term_is_constant());
  config.kernel_options.learn = false;
  config.embedding_source = EmbeddingSource::kPolicy;
  const auto additive = make(config)->forward(in);
  const auto plain = (-at::log_sigmoid(0.1 * h)).mean() - 0.3 * margin.mean();
  EXPECT_NEAR(additive.loss.item<double>(), plain.item<double>(), 1e-12);
}

TEST(Objective, EmbeddingSourceDecidesWhetherGradientsReachTheEmbeddings) {
  for (const std::string source : {"policy", "reference", "precomputed"}) {
    auto in = random_inputs(4, 4, 4);
    in.chosen_embedding = leaf(in.chosen_embedding);
    in.policy_chosen_logps = leaf(in.policy_chosen_logps);
    ObjectiveConfig config;
    config.gamma = 0.5;
    config.embedding_source = parse_enum<EmbeddingSource>(source, "embedding_source");
    make(config)->forward(in).loss.backward();
    EXPECT_EQ(in.chosen_embedding.grad().defined(), source == "policy") << source;
  }
}

TEST(Objective, HmkAddsTheEntropyTermAndLogsWeights) {
  const auto in = random_inputs(4, 4, 5);
  ObjectiveConfig config;
  config.gamma = 0.2;
  config.kernel = KernelType::kHmk;
  config.hmk_entropy_weight = 0.5;
  auto objective = make(config);
  EXPECT_TRUE(objective->needs_embeddings());
  EXPECT_FALSE(objective->kernel_parameters().empty());
  auto out = objective->forward(in);
  EXPECT_DOUBLE_EQ(out.metrics.at("hmk/weights/top/local").item<double>(), 0.5);
  EXPECT_NEAR(out.metrics.at("hmk/entropy_penalty").item<double>(), 0.0, 1e-15);
  // Skew one mixture: the loss grows by exactly γ_H · (log 2 − H).
  const double before = out.loss.item<double>();
  for (auto& p : objective->named_parameters()) {
    if (p.key() == "hmk.eta_top") p.value().detach().copy_(at::tensor({2.0, 0.0}, at::kDouble));
  }
  out = objective->forward(in);
  const double penalty = out.metrics.at("hmk/entropy_penalty").item<double>();
  EXPECT_GT(penalty, 0);
  config.hmk_entropy_weight = 0;
  auto no_entropy = make(config);
  const auto source = objective->named_parameters();
  for (auto& p : no_entropy->named_parameters()) p.value().detach().copy_(source[p.key()].detach());
  const double without = no_entropy->forward(in).loss.item<double>();
  EXPECT_NEAR(out.loss.item<double>() - without, 0.5 * penalty, 1e-12);
  EXPECT_NE(out.loss.item<double>(), before);
}

TEST(Objective, TokenPenaltyIsAddedWithAlpha) {
  auto in = random_inputs(4, 4, 6);
  ObjectiveConfig config;
  const double plain = make(config)->forward(in).loss.item<double>();
  config.penalty_alpha = 0.05;
  auto objective = make(config);
  EXPECT_TRUE(objective->needs_token_penalty());
  const auto out = objective->forward(in);
  EXPECT_NEAR(out.loss.item<double>(), plain + 0.05 * 0.37, 1e-12);
  EXPECT_DOUBLE_EQ(out.metrics.at("divergence/value").item<double>(), 0.37);
  in.token_penalty = at::Tensor();
  try {
    objective->forward(in);
    FAIL() << "missing token penalty accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("penalty_alpha > 0 needs PairInputs.token_penalty"),
              std::string::npos);
  }
  // penalty(): chosen rows only by default, both with penalty_on = both.
  at::manual_seed(6);
  const LmHeadStates policy{at::randn({4, 5, 3}, at::kDouble), at::randn({7, 3}, at::kDouble)};
  const LmHeadStates ref{at::randn({4, 5, 3}, at::kDouble), at::randn({7, 3}, at::kDouble)};
  const auto policy_logits = policy.hidden.matmul(policy.weight.t());
  const auto ref_logits = ref.hidden.matmul(ref.weight.t());
  const auto mask = at::ones({4, 5}, at::kLong);
  const auto per_seq = sequence_token_divergence_reference(policy_logits, ref_logits, mask, {});
  EXPECT_NEAR(objective->penalty(policy, ref, mask).item<double>(),
              per_seq.narrow(0, 0, 2).mean().item<double>(), 1e-12);
  config.penalty_on = PenaltyOn::kBoth;
  EXPECT_NEAR(make(config)->penalty(policy, ref, mask).item<double>(),
              (per_seq.narrow(0, 0, 2).mean() + per_seq.narrow(0, 2, 2).mean()).item<double>(),
              1e-12);
  const auto [vals, ids] = at::log_softmax(ref_logits, -1).topk(7, -1);
  EXPECT_NEAR(objective->penalty_topk(policy, ids, vals, mask).item<double>(),
              per_seq.narrow(0, 0, 2).mean().item<double>(), 1e-10);
  // With the cache of the chosen rows only (penalty_on = chosen, one row per record).
  EXPECT_NEAR(objective->penalty_topk(policy, ids.narrow(0, 0, 2), vals.narrow(0, 0, 2), mask)
                  .item<double>(),
              per_seq.narrow(0, 0, 2).mean().item<double>(), 1e-10);
}

TEST(Objective, GradientsMatchFiniteDifferencesForEveryKernel) {
  for (const auto& kernel : kernel_names()) {
    auto in = random_inputs(3, 3, 7);
    in.policy_chosen_logps = leaf(in.policy_chosen_logps * 0.05);
    in.policy_rejected_logps = leaf(in.policy_rejected_logps * 0.05);
    in.prompt_embedding = leaf(in.prompt_embedding);
    in.chosen_embedding = leaf(in.chosen_embedding);
    in.rejected_embedding = leaf(in.rejected_embedding);
    ObjectiveConfig config;
    config.gamma = 0.4;
    config.kernel = parse_enum<KernelType>(kernel, "kernel");
    config.kernel_options.learn = true;
    config.divergence = ScoreMap::kJs;
    auto objective = make(config, 3);
    std::vector<at::Tensor> leaves = {in.policy_chosen_logps, in.policy_rejected_logps,
                                      in.prompt_embedding, in.chosen_embedding,
                                      in.rejected_embedding};
    for (const auto& p : objective->kernel_parameters()) leaves.push_back(p);
    expect_gradients_match([&] { return objective->forward(in).loss; }, leaves, 1e-6, 1e-6, kernel);
  }
}

TEST(Objective, ExtremeInputsStayFiniteInFp32) {
  for (const auto& kernel : kernel_names()) {
    for (const std::string divergence : {"reverse_kl", "forward_kl", "js", "alpha"}) {
      PairInputs in;
      in.policy_chosen_logps = with_grad(at::tensor({1e4f, -1e4f, 0.f}));
      in.policy_rejected_logps = with_grad(at::tensor({-1e4f, 1e4f, 0.f}));
      in.ref_chosen_logps = at::zeros({3});
      in.ref_rejected_logps = at::zeros({3});
      in.prompt_embedding = with_grad(at::zeros({3, 4}));  // zero-norm embeddings
      in.chosen_embedding = at::randn({3, 4});
      in.rejected_embedding = at::zeros({3, 4});
      ObjectiveConfig config;
      config.gamma = 0.5;
      config.kernel = parse_enum<KernelType>(kernel, "kernel");
      config.divergence = parse_enum<ScoreMap>(divergence, "divergence");
      config.kernel_options.sigma_median = true;
      Objective objective(config, 4);
      const auto out = objective->forward(in);
      EXPECT_TRUE(all_finite(out.loss)) << kernel << "/" << divergence;
      out.loss.backward();
      EXPECT_TRUE(all_finite(in.policy_chosen_logps.grad())) << kernel << "/" << divergence;
      EXPECT_TRUE(all_finite(in.prompt_embedding.grad())) << kernel << "/" << divergence;
    }
  }
}

TEST(Objective, InputAndConfigurationErrorsAreReported) {
  ObjectiveConfig config;
  config.gamma = 0.1;
  config.kernel = KernelType::kMahalanobis;
  EXPECT_TRUE(throws_with<ConfigError>([&] { Objective(config, 0); },
                                       {"kernel 'mahalanobis' needs the embedding dimension"}));
  config.loss_type = {LossType::kBcoPair};
  EXPECT_THROW(Objective(config, 4), ConfigError);
  config = {};
  config.gamma = 0.1;
  auto objective = make(config);
  auto in = random_inputs(4, 4, 8);
  in.chosen_embedding = at::Tensor();
  EXPECT_TRUE(throws_with<ConfigError>(
      [&] { objective->forward(in); },
      {"gamma > 0 needs PairInputs.chosen_embedding as [B = 4, d]; got none"}));
  in = random_inputs(4, 4, 8);
  in.ref_rejected_logps = at::zeros({3}, at::kDouble);
  EXPECT_THROW(objective->forward(in), ConfigError);
  EXPECT_THROW(make(ObjectiveConfig{})->init_kernel_from_data(at::randn({5, 4})), ConfigError);
}

TEST(Objective, MahalanobisDataInitThroughTheObjective) {
  ObjectiveConfig config;
  config.gamma = 0.1;
  config.kernel = KernelType::kHmk;
  config.kernel_options.mahalanobis_init = MahalanobisInit::kData;
  auto objective = make(config, 4);
  at::manual_seed(9);
  objective->init_kernel_from_data(at::randn({50, 4}, at::kDouble));
  const auto params = objective->named_parameters();
  EXPECT_FALSE(at::equal(params["hmk.mahalanobis.mahalanobis_factor"], at::eye(4, at::kDouble)));
  EXPECT_TRUE(all_finite(objective->forward(random_inputs(4, 4, 10)).loss));
}

}  // namespace
}  // namespace dpok::objective
