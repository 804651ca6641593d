// `dpok forward MODEL --inputs in.safetensors --out out.safetensors`: runs the model on
// input_ids [B, T] (int64 or int32) and the optional attention_mask [B, T] (1 = token, 0 = right
// padding), and writes `logits` [B, T, V] and `last_hidden_state` [B, T, H] in fp32.
#include <iostream>

#include "dpok/cli/command.h"
#include "dpok/cli/options.h"
#include "dpok/core/error.h"
#include "dpok/core/torch/runtime.h"
#include "dpok/io/safetensors.h"
#include "dpok/model/loader.h"
#include "dpok/model/weights.h"

namespace dpok::cli {
namespace {

struct ForwardArgs {
  std::string model, inputs, out, dtype = "fp32", device = "cpu";
};

at::Tensor read_ids(const io::SafetensorsFile& file, const std::string& name) {
  const auto& view = file.at(name);  // FormatError naming the file when absent
  if (view.dtype != io::DType::I64 && view.dtype != io::DType::I32 &&
      view.dtype != io::DType::BOOL && view.dtype != io::DType::U8) {
    DPOK_THROW(FormatError, "forward", "{}: '{}' must be an integer tensor, got {}",
               file.path().string(), name, io::dtype_name(view.dtype));
  }
  if (view.shape.size() != 2) {
    DPOK_THROW(FormatError, "forward", "{}: '{}' must be [B, T], got {}", file.path().string(),
               name, io::shape_string(view.shape));
  }
  return model::tensor_from_view(view).to(at::kLong);
}

io::TensorToWrite to_write(const std::string& name, const at::Tensor& t) {
  return {name, io::DType::F32, t.sizes().vec(),
          std::span<const std::byte>(static_cast<const std::byte*>(t.data_ptr()), t.nbytes())};
}

int run_forward(const ForwardArgs& a) {
  const auto inputs = io::SafetensorsFile::open(a.inputs);
  const auto ids = read_ids(inputs, "input_ids");
  at::Tensor mask;
  if (inputs.contains("attention_mask")) mask = read_ids(inputs, "attention_mask");
  auto lm =
      model::load_model(a.model, {.dtype = parse_dtype(a.dtype), .device = parse_device(a.device)});
  at::NoGradGuard no_grad;
  auto out = lm->forward(ids, mask);
  auto logits = out.logits.to(at::kCPU, at::kFloat).contiguous();
  auto hidden = out.hidden.to(at::kCPU, at::kFloat).contiguous();
  io::write_safetensors(a.out, {to_write("logits", logits), to_write("last_hidden_state", hidden)},
                        {{"format", "pt"}});
  std::cout << fmt::format("wrote logits [{}, {}, {}] and last_hidden_state to {}\n",
                           logits.size(0), logits.size(1), logits.size(2), a.out);
  return 0;
}

std::function<int()> setup_forward(CLI::App& app) {
  app.description("Run a forward pass and write fp32 logits and last hidden states");
  auto a = std::make_shared<ForwardArgs>();
  app.add_option("model", a->model, "model directory, .gguf or llama2.c .bin")->required();
  app.add_option("--inputs", a->inputs, "safetensors with input_ids [+ attention_mask]")
      ->required();
  app.add_option("--out", a->out, "output safetensors")->required();
  app.add_option("--dtype", a->dtype, "compute dtype: fp32, bf16 or fp16")->capture_default_str();
  add_device_option(app, a->device);
  return [a]() { return run_forward(*a); };
}

}  // namespace

DPOK_REGISTER_COMMAND("forward", setup_forward);

}  // namespace dpok::cli
