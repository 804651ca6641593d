// llama2.c legacy .bin checkpoints (dpok/io/llama2c.h): Llama 2 shapes, fp32, q/k weights in
// Meta's interleaved RoPE layout (permuted to rotate-half on load).
#include <array>

#include "dpok/core/error.h"
#include "dpok/io/llama2c.h"
#include "dpok/model/loader.h"
#include "dpok/model/quantized_base.h"
#include "dpok/model/weights.h"

namespace dpok::model {
namespace {

enum class RopeRows { kNone, kQuery, kKey };

struct TensorName {
  std::string_view llama2c, hf;
  RopeRows rope = RopeRows::kNone;
};

// llama2.c ↔ Hugging Face names. Per-layer views are stacked [L, ...] in the file.
constexpr std::array<TensorName, 2> kGlobalNames = {{
    {"token_embedding_table", "model.embed_tokens.weight"},
    {"rms_final_weight", "model.norm.weight"},
}};
constexpr std::array<TensorName, 9> kLayerNames = {{
    {"rms_att_weight", "input_layernorm.weight"},
    {"wq", "self_attn.q_proj.weight", RopeRows::kQuery},
    {"wk", "self_attn.k_proj.weight", RopeRows::kKey},
    {"wv", "self_attn.v_proj.weight"},
    {"wo", "self_attn.o_proj.weight"},
    {"rms_ffn_weight", "post_attention_layernorm.weight"},
    {"w1", "mlp.gate_proj.weight"},
    {"w2", "mlp.down_proj.weight"},
    {"w3", "mlp.up_proj.weight"},
}};
constexpr std::string_view kClassifier = "wcls";

// llama2.c's run.c hard-codes these; the .bin header does not carry them.
constexpr double kRmsNormEps = 1e-5;
constexpr int64_t kBosId = 1, kEosId = 2;

ModelConfig config_from_llama2c(const io::Llama2cFile& file) {
  const auto& h = file.config();
  ModelConfig c;
  c.architecture = "LlamaForCausalLM";
  c.model_type = "llama";
  c.vocab_size = h.vocab_size;
  c.hidden_size = h.dim;
  c.intermediate_size = h.hidden_dim;
  c.num_hidden_layers = h.n_layers;
  c.num_attention_heads = h.n_heads;
  c.num_key_value_heads = h.n_kv_heads;
  c.head_dim = h.head_size();
  c.max_position_embeddings = h.seq_len;
  c.rms_norm_eps = kRmsNormEps;
  c.tie_word_embeddings = h.shared_classifier;
  c.bos_token_id = kBosId;
  c.eos_token_ids = {kEosId};
  c.validate(file.path().string());
  return c;
}

void load_view(at::Tensor& param, const io::TensorView& view, RopeRows rope,
               const ModelConfig& config, const std::string& source) {
  if (rope == RopeRows::kNone) return load_parameter(param, view, source);
  const int64_t heads =
      rope == RopeRows::kQuery ? config.num_attention_heads : config.num_key_value_heads;
  auto value = tensor_from_view(view);
  if (value.dim() != 2 || value.size(0) != param.size(0)) {
    DPOK_THROW(FormatError, "model.llama2c", "{}: tensor '{}' has shape {}, expected [{}, {}]",
               source, view.name, io::shape_string(view.shape), param.size(0), param.size(1));
  }
  load_parameter(param, meta_to_hf_rope_rows(value, heads), view.name, source);
  release_view_pages(view);
}

}  // namespace

ModelConfig read_llama2c_config(const std::filesystem::path& path) {
  return config_from_llama2c(io::Llama2cFile::open(path));
}

CausalLM load_llama2c(const std::filesystem::path& path, const LoadOptions& options) {
  const auto file = io::Llama2cFile::open(path);
  const auto config = config_from_llama2c(file);
  const std::string source = file.path().string();
  CausalLM model(config, at::TensorOptions().dtype(options.dtype).device(options.device),
                 /*initialize=*/false);
  auto params = model->named_parameters();
  auto param = [&](const std::string& name) -> at::Tensor& {
    auto* found = params.find(name);
    DPOK_CHECK(found != nullptr, "model has no parameter {}", name);
    return *found;
  };
  for (const auto& name : kGlobalNames) {
    load_view(param(std::string(name.hf)), file.at(name.llama2c), name.rope, config, source);
  }
  if (!config.tie_word_embeddings) {
    load_view(param("lm_head.weight"), file.at(kClassifier), RopeRows::kNone, config, source);
  }
  const ProjectionQuantizer quantizer(*model, options.quantize_projections);
  for (const auto& name : kLayerNames) {
    const auto& stacked = file.at(name.llama2c);
    for (int64_t layer = 0; layer < config.num_hidden_layers; ++layer) {
      const std::string hf = "model.layers." + std::to_string(layer) + "." + std::string(name.hf);
      load_view(param(hf), io::layer_slice(stacked, layer), name.rope, config, source);
      if (quantizer.target(hf) != nullptr) quantizer.quantize_loaded(hf, param(hf));
    }
  }
  model->eval();
  return model;
}

}  // namespace dpok::model
