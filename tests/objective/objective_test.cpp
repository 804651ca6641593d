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

namespace dpok::objective {
namespace {

using testing::all_finite;
using testing::expect_gradients_match;
using testing::leaf;
using testing::with_grad;

const std::vector<std::string> kKernelNames = {"linear",   "rbf",         "polynomial",
                                               "spectral", "mahalanobis", "hmk"};
const std::vector<std::string> kPenaltyNames = {
    "kl", "reverse_kl", "js", "hellinger", "bhattacharyya", "renyi", "tv", "wasserstein"};

PairInputs random_inputs(int64_t b, int64_t d, uint64_t seed) {
  at::manual_seed(seed);
  PairInputs in;
  in.policy_chosen_logps = at::randn({b}, at::kDouble) * 10 - 40;
  in.policy_rejected_logps = at::randn({b}, at::kDouble) * 10 - 40;
  in.ref_chosen_logps = at::randn({b}, at::kDouble) * 10 - 40;
  in.ref_rejected_logps = at::randn({b}, at::kDouble) * 10 - 40;
  in.chosen_lengths = at::randint(1, 30, {b}, at::kLong);
  in.rejected_lengths = at::randint(1, 30, {b}, at::kLong);
  in.chosen_nll_mean = at::rand({b}, at::kDouble) * 3;
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

TEST(Objective, GammaAndAlphaZeroReproducePlainDpoBitForBit) {
  const auto in = random_inputs(8, 4, 0);
  const auto plain = dpo_loss(in.policy_chosen_logps, in.policy_rejected_logps, in.ref_chosen_logps,
                              in.ref_rejected_logps, 0.1)
                         .mean();
  for (const auto& kernel : kKernelNames) {
    for (const auto& divergence : kPenaltyNames) {
      ObjectiveConfig config;
      config.kernel = parse_enum<KernelType>(kernel, "kernel");
      config.penalty_divergence = parse_enum<Divergence>(divergence, "penalty_divergence");
      auto objective = make(config);
      EXPECT_FALSE(objective->needs_embeddings());
      EXPECT_FALSE(objective->needs_token_penalty());
      EXPECT_TRUE(objective->kernel_parameters().empty());
      const auto out = objective->forward(in);
      EXPECT_TRUE(at::equal(out.loss, plain)) << kernel << "/" << divergence;
    }
  }
}

TEST(Objective, PolicyEqualToReferenceGivesLogTwoForEveryKernelAtGammaZero) {
  auto in = random_inputs(6, 4, 1);
  in.ref_chosen_logps = in.policy_chosen_logps.clone();
  in.ref_rejected_logps = in.policy_rejected_logps.clone();
  for (const auto& kernel : kKernelNames) {
    ObjectiveConfig config;
    config.kernel = parse_enum<KernelType>(kernel, "kernel");
    const auto out = make(config)->forward(in);
    EXPECT_DOUBLE_EQ(out.loss.item<double>(), std::log(2.0)) << kernel;
    EXPECT_DOUBLE_EQ(out.metrics.at("rewards/margins").item<double>(), 0.0);
  }
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
  EXPECT_NEAR(m.at("nll_loss").item<double>(), in.chosen_nll_mean.mean().item<double>(), 1e-12);
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
  const auto policy = at::randn({4, 5, 7}, at::kDouble), ref = at::randn({4, 5, 7}, at::kDouble);
  const auto mask = at::ones({4, 5}, at::kLong);
  const auto per_seq = sequence_token_divergence_reference(policy, ref, mask, {});
  EXPECT_NEAR(objective->penalty(policy, ref, mask).item<double>(),
              per_seq.narrow(0, 0, 2).mean().item<double>(), 1e-12);
  config.penalty_on = PenaltyOn::kBoth;
  EXPECT_NEAR(make(config)->penalty(policy, ref, mask).item<double>(),
              (per_seq.narrow(0, 0, 2).mean() + per_seq.narrow(0, 2, 2).mean()).item<double>(),
              1e-12);
  const auto [vals, ids] = at::log_softmax(ref, -1).topk(7, -1);
  EXPECT_NEAR(objective->penalty_topk(policy, ids, vals, mask).item<double>(),
              per_seq.narrow(0, 0, 2).mean().item<double>(), 1e-10);
}

TEST(Objective, GradientsMatchFiniteDifferencesForEveryKernel) {
  for (const auto& kernel : kKernelNames) {
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
  for (const auto& kernel : kKernelNames) {
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
  try {
    Objective objective(config, 0);
    FAIL() << "mahalanobis without dimension accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("kernel 'mahalanobis' needs the embedding dimension"),
              std::string::npos);
  }
  config.loss_type = {LossType::kBcoPair};
  EXPECT_THROW(Objective(config, 4), ConfigError);
  config = {};
  config.gamma = 0.1;
  auto objective = make(config);
  auto in = random_inputs(4, 4, 8);
  in.chosen_embedding = at::Tensor();
  try {
    objective->forward(in);
    FAIL() << "missing embedding accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("gamma > 0 needs PairInputs.chosen_embedding as [B = 4, "
                                         "d]; got none"),
              std::string::npos)
        << e.what();
  }
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
