// GGUF checkpoints of the llama, qwen2 and qwen3 architectures (<arch>.* metadata), with tensors
// in any type io::GgufFile::dequantize handles (F32/F16/BF16 copied as they are, quantized blocks
// dequantized to float32 first, as transformers' GGUF loading does). llama files store q/k
// weights in Meta's interleaved RoPE layout (llama.cpp's converter permutes them), which is
// permuted back to rotate-half on load; qwen2/qwen3 files keep Hugging Face's layout.
#include <array>

#include "dpok/core/error.h"
#include "dpok/io/gguf.h"
#include "dpok/model/architecture.h"
#include "dpok/model/loader.h"
#include "dpok/model/quantized_base.h"
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
constexpr std::array<TensorName, 15> kLayerNames = {{
    {"attn_norm.weight", "input_layernorm.weight"},
    {"attn_q.weight", "self_attn.q_proj.weight", RopeRows::kQuery},
    {"attn_k.weight", "self_attn.k_proj.weight", RopeRows::kKey},
    {"attn_v.weight", "self_attn.v_proj.weight"},
    {"attn_output.weight", "self_attn.o_proj.weight"},
    {"ffn_norm.weight", "post_attention_layernorm.weight"},
    {"ffn_gate.weight", "mlp.gate_proj.weight"},
    {"ffn_down.weight", "mlp.down_proj.weight"},
    {"ffn_up.weight", "mlp.up_proj.weight"},
    // Present only where the architecture has them (Qwen2's q/k/v bias, Qwen3's q/k norm).
    {"attn_q.bias", "self_attn.q_proj.bias", RopeRows::kQuery},
    {"attn_k.bias", "self_attn.k_proj.bias", RopeRows::kKey},
    {"attn_v.bias", "self_attn.v_proj.bias"},
    {"attn_output.bias", "self_attn.o_proj.bias"},
    {"attn_q_norm.weight", "self_attn.q_norm.weight"},
    {"attn_k_norm.weight", "self_attn.k_norm.weight"},
}};

// general.architecture → Hugging Face model_type. The q/k rows of llama files are permuted.
struct GgufArchitecture {
  std::string_view gguf, model_type;
  bool meta_rope_rows;
};
constexpr std::array<GgufArchitecture, 3> kArchitectures = {{
    {"llama", "llama", true},
    {"qwen2", "qwen2", false},
    {"qwen3", "qwen3", false},
}};

std::string torch_dtype_name(std::optional<io::DType> dtype) {
  if (!dtype) return "float32";  // quantized: dequantized to float32
  switch (*dtype) {
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

const GgufArchitecture& gguf_architecture(const io::GgufFile& file) {
  const std::string& arch = file.get_string("general.architecture");
  for (const auto& row : kArchitectures) {
    if (row.gguf == arch) return row;
  }
  DPOK_THROW(UnsupportedError, kComponent,
             "{}: GGUF architecture '{}' is not supported (llama, qwen2, qwen3)",
             file.path().string(), arch);
}

const GgufArchitecture& check_architecture(const io::GgufFile& file) {
  const GgufArchitecture& arch = gguf_architecture(file);
  if (file.contains("rope_freqs.weight")) {
    DPOK_THROW(UnsupportedError, kComponent,
               "{}: per-frequency RoPE factors (rope_freqs.weight, Llama 3.1 GGUF) are not "
               "supported; load the Hugging Face checkpoint instead",
               file.path().string());
  }
  return arch;
}

ModelConfig config_from_gguf(const io::GgufFile& file) {
  const GgufArchitecture& arch = check_architecture(file);
  const std::string source = file.path().string();
  const std::string prefix = std::string(arch.gguf) + ".";
  const auto key = [&](std::string_view name) { return prefix + std::string(name); };
  const ArchitectureSpec& spec = *find_architecture_by_model_type(arch.model_type);
  ModelConfig c;
  c.architecture = std::string(spec.architecture);
  c.model_type = std::string(spec.model_type);
  c.hidden_size = file.get_int(key("embedding_length"));
  c.intermediate_size = file.get_int(key("feed_forward_length"));
  c.num_hidden_layers = file.get_int(key("block_count"));
  c.num_attention_heads = file.get_int(key("attention.head_count"));
  c.num_key_value_heads =
      optional_int(file, key("attention.head_count_kv")).value_or(c.num_attention_heads);
  c.max_position_embeddings = file.get_int(key("context_length"));
  if (c.num_attention_heads <= 0) {
    DPOK_THROW(FormatError, kComponent, "{}: {} must be > 0", source, key("attention.head_count"));
  }
  // Qwen3 stores the head size as the key length; llama as the RoPE dimension.
  c.head_dim = optional_int(file, key("attention.key_length"))
                   .value_or(optional_int(file, key("rope.dimension_count"))
                                 .value_or(c.hidden_size / c.num_attention_heads));
  c.rms_norm_eps = file.get_float(key("attention.layer_norm_rms_epsilon"));
  c.rope.theta = file.find(key("rope.freq_base")) != nullptr ? file.get_float(key("rope.freq_base"))
                                                             : spec.default_rope_theta;
  c.attention_bias = spec.qkv_bias_always || file.contains("blk.0.attn_q.bias");
  c.attention_out_bias = file.contains("blk.0.attn_output.bias");
  c.qk_norm = spec.qk_norm;
  if (const auto* type = file.find(key("rope.scaling.type")); type && type->is_string()) {
    if (type->as_string() == "linear") {
      c.rope.type = "linear";
      c.rope.factor = file.get_float(key("rope.scaling.factor"));
    } else if (type->as_string() != "none") {
      DPOK_THROW(UnsupportedError, kComponent, "{}: RoPE scaling '{}' is not supported", source,
                 type->as_string());
    }
  }
  const auto& embed = file.info("token_embd.weight");
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

// The tensor as float32 (dequantized when quantized) or as stored (F32/F16/BF16/F64 views).
at::Tensor read_tensor(const io::GgufFile& file, const std::string& name) {
  const io::GgufTensorInfo& info = file.info(name);  // FormatError naming the file when absent
  if (info.dtype) return tensor_from_view(file.at(name));
  auto values = std::make_shared<std::vector<float>>(file.dequantize(name));
  return at::from_blob(
      values->data(), info.shape, [values](void*) mutable { values.reset(); }, at::kFloat);
}

// Rows of `value` (a weight, a bias or a weight's quantized blocks: one row per output) from
// Meta's RoPE order to Hugging Face's when `rope` says so. `expected_rows` is the parameter's.
at::Tensor hf_rope_rows(at::Tensor value, RopeRows rope, int64_t expected_rows,
                        const ModelConfig& config, const io::GgufFile& file,
                        const std::string& gguf_name) {
  if (rope == RopeRows::kNone) return value;
  const int64_t heads =
      rope == RopeRows::kQuery ? config.num_attention_heads : config.num_key_value_heads;
  if (value.dim() < 1 || value.size(0) != expected_rows) {
    DPOK_THROW(FormatError, kComponent, "{}: tensor '{}' has shape {}, expected {} rows",
               file.path().string(), gguf_name, io::shape_string(file.info(gguf_name).shape),
               expected_rows);
  }
  return meta_to_hf_rope_rows(value, heads);
}

// Copies GGUF tensor `gguf_name` into parameter `hf_name`, or into its projection's quantized
// weight when `quantizer` asks for it (blocks of a quantized type kept as they are). A parameter
// the model lacks is skipped when the file lacks it too; a tensor the model has no place for is
// an error.
void load_tensor(torch::OrderedDict<std::string, at::Tensor>& params, const ModelConfig& config,
                 const io::GgufFile& file, const std::string& gguf_name, const std::string& hf_name,
                 RopeRows rope, const ProjectionQuantizer& quantizer) {
  auto* param = params.find(hf_name);
  if (param == nullptr) {
    if (!file.contains(gguf_name)) return;
    DPOK_THROW(FormatError, kComponent, "{}: tensor '{}' has no place in a {} model",
               file.path().string(), gguf_name, config.model_type);
  }
  const std::string source = file.path().string();
  const io::GgufTensorInfo& info = file.info(gguf_name);
  ProjectionImpl* projection = quantizer.target(hf_name);
  if (projection != nullptr && !info.dtype) {
    auto blocks = QuantizedWeight::from_gguf(file, gguf_name);
    blocks.blocks = hf_rope_rows(blocks.blocks, rope, param->size(0), config, file, gguf_name);
    projection->keep_quantized(std::move(blocks));
    *param = at::Tensor();
    return;
  }
  if (info.dtype && rope == RopeRows::kNone) {
    const auto& view = file.at(gguf_name);
    load_parameter(*param, view, source);
    release_view_pages(view);
  } else {
    auto value =
        hf_rope_rows(read_tensor(file, gguf_name), rope, param->size(0), config, file, gguf_name);
    load_parameter(*param, value, gguf_name, source);
    if (info.dtype) release_view_pages(file.at(gguf_name));
  }
  if (projection != nullptr) quantizer.quantize_loaded(hf_name, *param);
}

}  // namespace

ModelConfig read_gguf_config(const std::filesystem::path& path) {
  return config_from_gguf(io::GgufFile::open(path));
}

CausalLM load_gguf(const std::filesystem::path& path, const LoadOptions& options) {
  const auto file = io::GgufFile::open(path);
  const auto config = config_from_gguf(file);
  const bool meta_rope_rows = gguf_architecture(file).meta_rope_rows;
  CausalLM model(config, at::TensorOptions().dtype(options.dtype).device(options.device),
                 /*initialize=*/false);
  auto params = model->named_parameters();
  const ProjectionQuantizer quantizer(*model, options.quantize_projections);
  for (const auto& name : kGlobalNames) {
    if (name.hf == "lm_head.weight" && config.tie_word_embeddings) continue;
    load_tensor(params, config, file, std::string(name.gguf), std::string(name.hf),
                meta_rope_rows ? name.rope : RopeRows::kNone, quantizer);
  }
  for (int64_t layer = 0; layer < config.num_hidden_layers; ++layer) {
    const std::string gguf_prefix = "blk." + std::to_string(layer) + ".";
    const std::string hf_prefix = "model.layers." + std::to_string(layer) + ".";
    for (const auto& name : kLayerNames) {
      load_tensor(params, config, file, gguf_prefix + std::string(name.gguf),
                  hf_prefix + std::string(name.hf), meta_rope_rows ? name.rope : RopeRows::kNone,
                  quantizer);
    }
  }
  model->eval();
  return model;
}

}  // namespace dpok::model
