// GGUF checkpoints of the llama architecture (llama.* metadata, F32/F16/BF16 tensors). q/k
// weights are stored in Meta's interleaved RoPE layout and permuted to rotate-half on load.
#include <array>

#include "dpok/core/error.h"
#include "dpok/io/gguf.h"
#include "dpok/model/loader.h"
#include "dpok/model/weights.h"

namespace dpok::model {
namespace {

constexpr const char* kComponent = "model.gguf";

enum class RopeRows { kNone, kQuery, kKey };

struct TensorName {
  std::string_view gguf, hf;
  RopeRows rope = RopeRows::kNone;
};

// GGUF (llama.cpp) ↔ Hugging Face names. Per-layer names get "blk.N." / "model.layers.N.".
constexpr std::array<TensorName, 3> kGlobalNames = {{
    {"token_embd.weight", "model.embed_tokens.weight"},
    {"output_norm.weight", "model.norm.weight"},
    {"output.weight", "lm_head.weight"},
}};
constexpr std::array<TensorName, 9> kLayerNames = {{
    {"attn_norm.weight", "input_layernorm.weight"},
    {"attn_q.weight", "self_attn.q_proj.weight", RopeRows::kQuery},
    {"attn_k.weight", "self_attn.k_proj.weight", RopeRows::kKey},
    {"attn_v.weight", "self_attn.v_proj.weight"},
    {"attn_output.weight", "self_attn.o_proj.weight"},
    {"ffn_norm.weight", "post_attention_layernorm.weight"},
    {"ffn_gate.weight", "mlp.gate_proj.weight"},
    {"ffn_down.weight", "mlp.down_proj.weight"},
    {"ffn_up.weight", "mlp.up_proj.weight"},
}};

std::string torch_dtype_name(io::DType dtype) {
  switch (dtype) {
    case io::DType::F16:
      return "float16";
    case io::DType::BF16:
      return "bfloat16";
    case io::DType::F64:
      return "float64";
    default:
      return "float32";
  }
}

std::optional<int64_t> optional_int(const io::GgufFile& file, std::string_view key) {
  if (file.find(key) == nullptr) return std::nullopt;
  return file.get_int(key);
}

void check_llama(const io::GgufFile& file) {
  const std::string& arch = file.get_string("general.architecture");
  if (arch != "llama") {
    DPOK_THROW(UnsupportedError, kComponent,
               "{}: GGUF architecture '{}' is not supported (only 'llama')", file.path().string(),
               arch);
  }
  if (file.contains("rope_freqs.weight")) {
    DPOK_THROW(UnsupportedError, kComponent,
               "{}: per-frequency RoPE factors (rope_freqs.weight, Llama 3.1 GGUF) are not "
               "supported; load the Hugging Face checkpoint instead",
               file.path().string());
  }
}

ModelConfig config_from_gguf(const io::GgufFile& file) {
  check_llama(file);
  const std::string source = file.path().string();
  ModelConfig c;
  c.architecture = "LlamaForCausalLM";
  c.model_type = "llama";
  c.hidden_size = file.get_int("llama.embedding_length");
  c.intermediate_size = file.get_int("llama.feed_forward_length");
  c.num_hidden_layers = file.get_int("llama.block_count");
  c.num_attention_heads = file.get_int("llama.attention.head_count");
  c.num_key_value_heads =
      optional_int(file, "llama.attention.head_count_kv").value_or(c.num_attention_heads);
  c.max_position_embeddings = file.get_int("llama.context_length");
  if (c.num_attention_heads <= 0) {
    DPOK_THROW(FormatError, kComponent, "{}: llama.attention.head_count must be > 0", source);
  }
  c.head_dim = optional_int(file, "llama.rope.dimension_count")
                   .value_or(c.hidden_size / c.num_attention_heads);
  c.rms_norm_eps = file.get_float("llama.attention.layer_norm_rms_epsilon");
  if (file.find("llama.rope.freq_base") != nullptr)
    c.rope.theta = file.get_float("llama.rope.freq_base");
  if (const auto* type = file.find("llama.rope.scaling.type"); type && type->is_string()) {
    if (type->as_string() == "linear") {
      c.rope.type = "linear";
      c.rope.factor = file.get_float("llama.rope.scaling.factor");
    } else if (type->as_string() != "none") {
      DPOK_THROW(UnsupportedError, kComponent, "{}: RoPE scaling '{}' is not supported", source,
                 type->as_string());
    }
  }
  const auto& embed = file.at("token_embd.weight");
  if (embed.shape.size() != 2) {
    DPOK_THROW(FormatError, kComponent, "{}: token_embd.weight must be 2-D, got {}", source,
               io::shape_string(embed.shape));
  }
  c.vocab_size = embed.shape[0];
  c.tie_word_embeddings = !file.contains("output.weight");
  c.bos_token_id = optional_int(file, "tokenizer.ggml.bos_token_id");
  c.pad_token_id = optional_int(file, "tokenizer.ggml.padding_token_id");
  if (auto eos = optional_int(file, "tokenizer.ggml.eos_token_id")) c.eos_token_ids = {*eos};
  c.torch_dtype = torch_dtype_name(embed.dtype);
  c.validate(source);
  return c;
}

void load_tensor(torch::OrderedDict<std::string, at::Tensor>& params, const ModelConfig& config,
                 const io::GgufFile& file, const std::string& gguf_name, const std::string& hf_name,
                 RopeRows rope) {
  auto* param = params.find(hf_name);
  DPOK_CHECK(param != nullptr, "model has no parameter {}", hf_name);
  const auto& view = file.at(gguf_name);  // throws FormatError naming the file when absent
  if (rope == RopeRows::kNone) return load_parameter(*param, view, file.path().string());
  const int64_t heads =
      rope == RopeRows::kQuery ? config.num_attention_heads : config.num_key_value_heads;
  auto value = tensor_from_view(view);
  if (value.dim() != 2 || value.size(0) != param->size(0)) {
    DPOK_THROW(FormatError, kComponent, "{}: tensor '{}' has shape {}, expected [{}, {}]",
               file.path().string(), gguf_name, io::shape_string(view.shape), param->size(0),
               param->size(1));
  }
  load_parameter(*param, meta_to_hf_rope_rows(value, heads), gguf_name, file.path().string());
  release_view_pages(view);
}

}  // namespace

ModelConfig read_gguf_config(const std::filesystem::path& path) {
  return config_from_gguf(io::GgufFile::open(path));
}

CausalLM load_gguf(const std::filesystem::path& path, const LoadOptions& options) {
  const auto file = io::GgufFile::open(path);
  const auto config = config_from_gguf(file);
  CausalLM model(config, at::TensorOptions().dtype(options.dtype).device(options.device),
                 /*initialize=*/false);
  auto params = model->named_parameters();
  for (const auto& name : kGlobalNames) {
    if (name.hf == "lm_head.weight" && config.tie_word_embeddings) continue;
    load_tensor(params, config, file, std::string(name.gguf), std::string(name.hf), name.rope);
  }
  for (int64_t layer = 0; layer < config.num_hidden_layers; ++layer) {
    const std::string gguf_prefix = "blk." + std::to_string(layer) + ".";
    const std::string hf_prefix = "model.layers." + std::to_string(layer) + ".";
    for (const auto& name : kLayerNames) {
      load_tensor(params, config, file, gguf_prefix + std::string(name.gguf),
                  hf_prefix + std::string(name.hf), name.rope);
    }
  }
  model->eval();
  return model;
}

}  // namespace dpok::model
