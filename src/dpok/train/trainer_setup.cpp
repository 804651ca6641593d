// Trainer construction (tokenizer, data, models, reference values, objective, optimizer,
// schedule), resuming from a checkpoint, and writing checkpoints.
#include <torch/serialize.h>

#include <algorithm>
#include <cmath>
#include <iostream>

#include "dpok/core/error.h"
#include "dpok/core/file_util.h"
#include "dpok/core/torch/cpu_check.h"
#include "dpok/core/torch/runtime.h"
#include "dpok/data/dataset.h"
#include "dpok/model/adapter.h"
#include "dpok/model/loader.h"
#include "dpok/model/quantized_base.h"
#include "dpok/model/save.h"
#include "dpok/objective/semantic.h"
#include "dpok/train/checkpoint.h"
#include "dpok/train/encoder_embeddings.h"
#include "dpok/train/mixed_precision.h"
#include "dpok/train/ref_cache.h"
#include "dpok/train/ref_topk.h"
#include "dpok/train/setup.h"
#include "dpok/train/trainer_impl.h"

namespace dpok::train {
namespace fs = std::filesystem;
namespace {

constexpr const char* kComponent = "train";

void freeze(model::CausalLM& m) {
  for (auto& p : m->parameters()) p.requires_grad_(false);
  m->eval();
}

fs::path reference_cache_dir(const TrainerImpl& t) {
  return t.config.ref_cache_dir.empty() ? t.output_dir / "ref_cache"
                                        : fs::path(t.config.ref_cache_dir);
}

// Sequence log-probs of `dataset` from the frozen reference: from the disk cache when
// `use_cache` (`key` as in ref_cache.h), else computed, shared out over the ranks (and stored by
// rank 0 when `use_cache`). `source` becomes "cache" or "computed".
torch::Tensor reference_table(TrainerImpl& t, model::CausalLM& reference,
                              const data::PreferenceDataset& dataset, bool use_cache,
                              const std::string& key, std::string& source) {
  const auto compute = [&] {
    return compute_reference_logps(reference, dataset, t.config.per_device_eval_batch_size,
                                   t.pad_id, t.config.logprob_chunk_rows, t.dp.group.get());
  };
  source = "computed";
  if (!use_cache) return compute();
  const fs::path dir = reference_cache_dir(t);
  auto n = static_cast<int64_t>(dataset.records.size());
  if (auto cached = load_reference_cache(dir, key, n); cached.defined()) {
    source = "cache";
    return cached;
  }
  auto table = compute();
  if (t.dp.is_main()) store_reference_cache(dir, key, table);
  return table;
}

// With precompute_ref_topk: the sequence table (when `need_table`) and the penalty's top-k cache
// (ref_topk.h) of one split, from disk when present; when both are missing one reference pass
// computes both. `source` becomes "cache" / "computed", `status` "hit" / "built".
void cached_split_reference(TrainerImpl& t, model::CausalLM& reference,
                            const data::PreferenceDataset& dataset, const std::string& key,
                            bool need_table, SplitReference& out, std::string& source,
                            std::string& status) {
  const fs::path dir = reference_cache_dir(t);
  const int64_t vocab = reference->config().vocab_size;
  const int64_t k = std::min(t.config.objective.topk, vocab);
  const int64_t rows = t.plan.topk_rows;
  const auto n = static_cast<int64_t>(dataset.records.size());
  const fs::path file = topk_cache_file(dir, key, k, rows);
  if (need_table) {
    out.table = load_reference_cache(dir, key, n);
    source = "cache";
  }
  status = "hit";
  if (!fs::exists(file)) {
    torch::Tensor table;
    if (need_table && !out.table.defined()) table = torch::zeros({n, 2}, torch::kFloat);
    build_topk_cache(reference, dataset, k, rows, t.config.per_device_eval_batch_size, t.pad_id,
                     file, key, t.config.logprob_chunk_rows, table.defined() ? &table : nullptr,
                     t.dp.group.get());
    status = "built";
    if (table.defined()) {
      if (t.dp.is_main()) store_reference_cache(dir, key, table);
      out.table = table;
      source = "computed";
    }
  }
  if (need_table && !out.table.defined()) {
    out.table = reference_table(t, reference, dataset, true, key, source);
  }
  out.topk = std::make_unique<RefTopkCache>(file, key, dataset, k, rows, vocab);
}

// One line (two with a dataset-supplied table and an online penalty) saying where the reference
// values come from.
void report_reference(const TrainerImpl& t) {
  const auto& info = t.reference_info;
  const auto n_train = t.splits.train.records.size(), n_eval = t.splits.eval.records.size();
  if (info.train_logps == "dataset" || info.eval_logps == "dataset") {
    std::cerr << fmt::format(
        "reference log-probs: from the dataset ({} train / {} eval records){}\n",
        info.train_logps == "dataset" ? n_train : 0, info.eval_logps == "dataset" ? n_eval : 0,
        n_eval > 0 && info.eval_logps != "dataset" ? "; eval computed by the reference model" : "");
  } else {
    std::cerr << fmt::format("reference log-probs: train {}, eval {}\n", info.train_logps,
                             info.eval_logps.empty() ? "none" : info.eval_logps);
  }
  if (!info.train_topk.empty()) {
    std::cerr << fmt::format("reference top-{} cache ({}): train {}{}; reference model released\n",
                             t.train_ref.topk->k(), name_of(t.config.objective.penalty_on),
                             info.train_topk,
                             info.eval_topk.empty() ? "" : ", eval " + info.eval_topk);
  } else if (t.needs.token_distributions != objective::TokenNeed::kNone &&
             t.plan.train.logps == LogpsSource::kDataset) {
    std::cerr << "reference: the token penalty (penalty_alpha > 0) needs the reference's "
                 "next-token distributions, which dataset log-probs do not carry: running the "
                 "reference model online (precompute_ref_log_probs + precompute_ref_topk cache "
                 "them instead)\n";
  }
}

// Loads a module's parameters saved by torch::save in a checkpoint. Throws FormatError naming the
// file (missing, truncated or saved from another configuration).
template <typename Module>
void load_module(Module& module, const fs::path& file) {
  try {
    torch::load(module, file.string());
  } catch (const c10::Error& e) {
    DPOK_THROW(FormatError, kComponent, "cannot load {}: {}", file.string(),
               e.what_without_backtrace());
  }
}

// The reference values of one split as the plan says: its top-k cache (with the sequence table
// when the dataset does not supply it), or a sequence table computed before step 0.
void fill_split_reference(TrainerImpl& t, model::CausalLM& reference,
                          const data::PreferenceDataset& dataset, const SplitPlan& plan,
                          const std::string& key, SplitReference& out, std::string& source,
                          std::string& topk_status) {
  const bool cached_table = plan.logps == LogpsSource::kCachedTable;
  if (plan.topk_cache) {
    cached_split_reference(t, reference, dataset, key, cached_table, out, source, topk_status);
  } else if (cached_table || plan.logps == LogpsSource::kTable) {
    out.table = reference_table(t, reference, dataset, cached_table, key, source);
  }
}

// The reference for training and evaluation (trainer.h), following plan_reference: dataset
// tables first, then what still needs the reference model; the model is kept only for online use.
void setup_reference(TrainerImpl& t) {
  const auto& c = t.config;
  auto& info = t.reference_info;
  t.train_ref.table = dataset_reference_logps(t.splits.train, "train");
  t.eval_ref.table = dataset_reference_logps(t.splits.eval, "eval");
  t.plan = plan_reference(
      t.needs, reference_settings(c),
      {t.train_ref.table.defined(), !t.splits.eval.records.empty(), t.eval_ref.table.defined()});
  const auto& plan = t.plan;
  if (plan.eval.logps == LogpsSource::kOnline) t.eval_ref.table = at::Tensor();  // LD-DPO
  info.train_logps = plan.train.logps == LogpsSource::kDataset ? "dataset" : "";
  info.eval_logps = plan.eval.logps == LogpsSource::kDataset ? "dataset" : "";
  if (plan.load_model) {
    // The reference is always the *initial* weights (or ref_model), also after a resume. With
    // LoRA it is the policy's compute model with its adapters off: the frozen base, no copy.
    const bool shared = c.use_peft && c.ref_model.empty();
    const fs::path ref_path = c.ref_model.empty() ? fs::path(c.model) : fs::path(c.ref_model);
    auto reference = shared ? t.compute : model::load_model(ref_path, {t.compute_dtype, t.device});
    if (!shared) freeze(reference);
    reference->set_padding_free(c.padding_free);
    const model::AdaptersDisabled base_only(*reference);
    info.model_loaded = !shared;
    // Keys hash every record and weight, so only splits that use a disk cache compute one.
    const auto key = [&](const data::PreferenceDataset& d, const SplitPlan& s) {
      return s.topk_cache || s.logps == LogpsSource::kCachedTable
                 ? reference_cache_key(d, reference, c.data.max_length)
                 : std::string();
    };
    fill_split_reference(t, reference, t.splits.train, plan.train, key(t.splits.train, plan.train),
                         t.train_ref, info.train_logps, info.train_topk);
    fill_split_reference(t, reference, t.splits.eval, plan.eval, key(t.splits.eval, plan.eval),
                         t.eval_ref, info.eval_logps, info.eval_topk);
    if (plan.train.logps == LogpsSource::kOnline) info.train_logps = "online";
    if (plan.eval.logps == LogpsSource::kOnline) info.eval_logps = "online";
    if (plan.keep_model) t.reference = reference;
    info.model_kept = plan.keep_model;
  }
  report_reference(t);
}

model::LoraSettings lora_settings(const TrainConfig& c) {
  model::LoraSettings s;
  s.r = c.lora_r;
  s.alpha = static_cast<double>(c.lora_alpha);
  s.dropout = c.lora_dropout;
  s.use_rslora = c.use_rslora;
  s.target_modules = model::resolve_target_modules(c.lora_target_modules, "lora_target_modules");
  s.modules_to_save = c.lora_modules_to_save;
  return s;
}

// use_peft: adapters on the frozen policy (and on its low-precision compute copy, which starts
// from the same adapter values), restored from `resume_dir` when resuming. The compute model runs
// in training mode so that lora_dropout applies to forwards with gradients.
void setup_lora(TrainerImpl& t, const fs::path& resume_dir) {
  const auto settings = lora_settings(t.config);
  model::apply_lora(t.policy, settings);
  if (!resume_dir.empty()) model::load_adapter_weights(*t.policy, resume_dir);
  if (t.mixed_precision()) {
    model::apply_lora(t.compute, settings);
    copy_master_to_compute(t.policy->parameters(), t.compute->parameters());
  }
  t.compute->train();
}

// The policy: the model, or with a resumed full fine-tune the checkpoint's weights; with LoRA
// always the base model (a checkpoint holds only the adapter), its projections quantized with
// load_in_4bit / load_in_8bit (the compute copy quantizes the same weights to the same blocks).
void setup_models(TrainerImpl& t, const fs::path& resume_dir) {
  const auto& c = t.config;
  if (model::is_adapter_dir(c.model)) {
    DPOK_THROW(ConfigError, kComponent,
               "model {} is a LoRA adapter: set model to its base ({}) or write the merged model "
               "first (dpok merge)",
               c.model, model::read_adapter_config(c.model).base_model_name_or_path);
  }
  const fs::path policy_path = c.use_peft || resume_dir.empty() ? fs::path(c.model) : resume_dir;
  const auto quantization = c.base_quantization();
  t.policy = model::load_model(policy_path, {c10::kFloat, t.device, quantization});
  t.compute = t.policy;
  if (t.compute_dtype != c10::kFloat) {
    t.compute = model::load_model(policy_path, {t.compute_dtype, t.device, quantization});
  }
  if (const auto line = model::describe_quantized(*t.compute); !line.empty()) {
    std::cerr << "base: " << line << "\n";
  }
  t.compute->set_padding_free(c.padding_free);
  t.compute->set_gradient_checkpointing(c.gradient_checkpointing);
  if (c.use_peft) setup_lora(t, resume_dir);
  if (t.needs.preference_pairs) setup_reference(t);  // SFT alone needs no reference
}

// objective.md §3: an additive semantic term over frozen embeddings with a fixed kernel adds a
// constant to the loss; say so once, before training, rather than let a run look hybrid.
void warn_constant_semantic_term(const TrainerImpl& t) {
  if (!t.objective->semantic_term_is_constant()) return;
  std::cerr << fmt::format(
      "warning: the semantic term cannot change training: placement = additive with "
      "embedding_source = {} (no gradient) and a fixed kernel ({}) add a constant to the loss "
      "(objective.md section 3); use placement = logit, embedding_source = policy or "
      "learn_kernel = true\n",
      name_of(t.config.objective.embedding_source), name_of(t.config.objective.kernel));
}

// embedding_source = encoder: both splits' embedding columns from the sentence encoder, computed
// once and cached next to the reference log-probs (encoder_embeddings.h).
void setup_encoder_embeddings(TrainerImpl& t) {
  const fs::path encoder = t.config.sentence_encoder;
  std::string sources;
  for (auto* split : {&t.splits.train, &t.splits.eval}) {
    const auto result = fill_encoder_embeddings(
        *split, *t.tokenizer, encoder, reference_cache_dir(t), t.config.per_device_eval_batch_size);
    const char* name = split == &t.splits.train ? "train" : "eval";
    sources +=
        fmt::format("{}{} {}", sources.empty() ? "" : ", ", name,
                    result.from_cache        ? "cache"
                    : split->records.empty() ? "empty"
                                             : fmt::format("{} texts", result.texts_encoded));
  }
  std::cerr << fmt::format("encoder embeddings ({}): {}\n", encoder.string(), sources);
}

void setup_objective(TrainerImpl& t, const objective::ObjectiveConfig& objective_config) {
  int64_t dim = t.policy->config().hidden_size;
  const bool dataset_embeddings = t.needs.embeddings == objective::EmbeddingNeed::kDataset;
  if (dataset_embeddings && !t.splits.train.records.empty()) {
    dim = static_cast<int64_t>(t.splits.train.records.front().prompt_embedding.size());
  }
  t.objective = objective::Objective(objective_config, dim);
  t.objective->to(t.device);
  warn_constant_semantic_term(t);
  if (t.needs.embeddings != objective::EmbeddingNeed::kNone && !dataset_embeddings &&
      objective_config.kernel_options.mahalanobis_init == objective::MahalanobisInit::kData) {
    // objective.md §4 `init = data`: the embedding covariance of a sample of training pairs.
    torch::NoGradGuard no_grad;
    data::BatchIterator sample(t.splits.train, 64, t.config.seed, false, false, t.pad_id);
    auto batch = sample.next();
    auto hidden = t.compute->forward_hidden(batch->input_ids.to(t.device),
                                            batch->attention_mask.to(t.device));
    auto e =
        objective::pool_pair_embeddings(hidden.to(torch::kFloat), batch->prompt_mask.to(t.device),
                                        batch->completion_mask.to(t.device));
    t.objective->init_kernel_from_data(torch::cat({e.prompt, e.chosen, e.rejected}));
  }
}

void setup_schedule(TrainerImpl& t) {
  const auto& c = t.config;
  const int64_t batches = t.batches->batches_per_epoch();
  t.updates_per_epoch = std::max<int64_t>(
      1, (batches + c.gradient_accumulation_steps - 1) / c.gradient_accumulation_steps);
  t.total_steps = c.max_steps > 0
                      ? c.max_steps
                      : static_cast<int64_t>(std::ceil(c.num_train_epochs *
                                                       static_cast<double>(t.updates_per_epoch)));
  t.warmup_steps = resolve_warmup_steps(c.warmup_steps, c.warmup_ratio, t.total_steps);
  t.schedule = c.lr_scheduler_type;
}

void restore_checkpoint(TrainerImpl& t, const fs::path& dir) {
  const TrainerState state = read_trainer_state(dir);
  t.global_step = state.global_step;
  t.num_tokens = state.num_tokens;
  t.skipped = state.skipped_steps;
  t.consecutive_bad = 0;
  // The iterator checks that the state belongs to this data and batching (a ConfigError when
  // they changed since the checkpoint); a value of the wrong type inside is a corrupt file.
  const std::string where = trainer_state_file(dir).string() + ": key 'data'";
  try {
    t.batches->restore(state.data);
  } catch (const ConfigError& e) {
    DPOK_THROW(ConfigError, kComponent, "{}: {}", where, e.what());
  } catch (const nlohmann::json::exception& e) {
    DPOK_THROW(FormatError, kComponent, "{}: {}", where, e.what());
  }
  load_optimizer_state(t, dir);  // optimizer.pt, or this rank's ZeRO-1 shard
  if (fs::exists(dir / "objective.pt")) load_module(t.objective, dir / "objective.pt");
  // TR-DPO: the reference has moved towards the policy since step 0; resume from where it was.
  if (t.config.sync_ref_model && !t.reference.is_empty()) {
    load_module(t.reference, dir / "reference.pt");
  }
  load_rng_state(dir / "rng_state.pt");
}

}  // namespace

void setup_trainer(TrainerImpl& t) {
  auto& c = t.config;
  t.sft = t.options.mode == TrainMode::kSft;
  t.device = parse_device(c.device);
  t.compute_dtype = parse_dtype(c.dtype);
  t.output_dir = c.output_dir;
  setup_data_parallel(t);  // torchrun: join the other ranks; the device becomes cuda:LOCAL_RANK
  if (c.threads > 0) init_threads(static_cast<int>(c.threads));
  // The console header says whether the CPU's matrix kernels fit it (core/torch/cpu_check.h).
  if (t.device.is_cpu() && t.options.show_progress) std::cerr << describe(check_cpu_kernels());
  fs::create_directories(t.output_dir);
  seed_everything(static_cast<uint64_t>(c.seed));

  fs::path resume_dir;
  if (t.options.resume.has_value()) {
    resume_dir = resolve_resume_dir(t.output_dir, *t.options.resume);
    t.resumed = true;
  }
  t.tokenizer_dir = tokenizer_path(c);
  t.tokenizer = text::Tokenizer::load(t.tokenizer_dir);
  t.pad_id = t.tokenizer->pad_id().value_or(t.tokenizer->eos_id().value_or(0));
  t.splits = data::load_preference_data(c.data, *t.tokenizer, static_cast<uint64_t>(c.seed));
  if (t.splits.train.records.empty()) {
    DPOK_THROW(ConfigError, kComponent, "the training split is empty (check data.train_files)");
  }
  const auto objective_config = to_objective_config(c, t.sft);
  t.needs = objective::requirements(objective_config);
  setup_models(t, resume_dir);
  if (c.objective.embedding_source == objective::EmbeddingSource::kEncoder) {
    setup_encoder_embeddings(t);
  }
  setup_objective(t, objective_config);

  AdamWSettings settings{c.learning_rate, c.objective.kernel_learning_rate,
                         c.weight_decay,  c.adam_beta1,
                         c.adam_beta2,    c.adam_epsilon};
  std::vector<std::pair<std::string, torch::Tensor>> named;
  for (const auto& item : t.policy->named_parameters())
    named.emplace_back(item.key(), item.value());
  t.optimizer = std::make_unique<Optimizer>(named, t.objective->kernel_parameters(), settings);
  // Batches of the global order, per_device_train_batch_size pairs from each rank.
  const int world = t.dp.group->world_size();
  t.batches = std::make_unique<data::BatchIterator>(
      t.splits.train, c.per_device_train_batch_size * world, static_cast<uint64_t>(c.seed),
      /*shuffle=*/true, c.group_by_length, t.pad_id, c.dataloader_drop_last,
      c.data.pad_to_multiple_of.value_or(0));
  t.batches->set_shard(t.dp.group->rank(), world);
  setup_schedule(t);
  setup_gradient_sync(t);
  if (t.resumed) restore_checkpoint(t, resume_dir);

  if (!t.dp.is_main()) return;
  write_file_atomic(t.output_dir / "config.yaml", c.to_yaml_string());
  t.log = std::make_unique<MetricsLog>(t.output_dir / "metrics.jsonl", /*truncate=*/!t.resumed);
}

fs::path write_trainer_checkpoint(TrainerImpl& t) {
  const TrainerState state{.global_step = t.global_step,
                           .num_tokens = t.num_tokens,
                           .skipped_steps = t.skipped,
                           .data = t.batches->state(),
                           .epoch = static_cast<double>(t.global_step) / t.updates_per_epoch,
                           .total_steps = t.total_steps,
                           .mode = t.sft ? "sft" : "dpo"};
  auto write = [&](const fs::path& tmp) {
    if (t.config.use_peft) {
      model::save_adapter(*t.policy, {lora_settings(t.config), t.config.model}, tmp);
    } else {
      model::save_pretrained(t.policy, tmp);
    }
    copy_tokenizer_files(t.tokenizer_dir, tmp);
    save_optimizer_state(t, tmp);  // optimizer.pt, or every rank's ZeRO-1 shard
    if (!t.objective->parameters().empty()) {
      torch::save(t.objective, (tmp / "objective.pt").string());
    }
    if (t.config.sync_ref_model && !t.reference.is_empty()) {
      torch::save(t.reference, (tmp / "reference.pt").string());
    }
    save_rng_state(tmp / "rng_state.pt");
    write_file_atomic(tmp / "dpok_config.yaml", t.config.to_yaml_string());
    // Written last: its presence marks a complete checkpoint (list_checkpoints).
    write_trainer_state(tmp, state);
  };
  return write_checkpoint_all_ranks(t, write);
}

}  // namespace dpok::train
