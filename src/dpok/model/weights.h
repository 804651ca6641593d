// Bridges dpok::io tensor views and LibTorch tensors, and converts RoPE weight layouts.
//
// Views point into memory-mapped files; load_parameter copies one view straight into an
// existing parameter (converting dtype and device on the way), so a loaded model never holds a
// second copy of its weights. Meta's checkpoints (GGUF, llama2.c) store q/k projection rows in
// interleaved-pairs RoPE order; Hugging Face uses rotate-half order: the permutations here map
// between them.
#pragma once

#include <ATen/ATen.h>

#include <string>

#include "dpok/io/dtype.h"

namespace dpok::model {

// io::DType ↔ LibTorch. to_scalar_type throws UnsupportedError for dtypes LibTorch lacks.
c10::ScalarType to_scalar_type(io::DType dtype);
io::DType to_io_dtype(c10::ScalarType dtype);

// A CPU tensor over the view's bytes (no copy when the data is aligned to its element size,
// else an aligned copy). The caller keeps the view's mapping alive while the tensor is used.
at::Tensor tensor_from_view(const io::TensorView& view);

// Copies `view` into `param` (shape must match exactly; dtype/device converted), without
// recording autograd history. Throws FormatError naming `source`, the tensor and both shapes.
void load_parameter(at::Tensor& param, const io::TensorView& view, const std::string& source);

// Tells the kernel that the pages lying wholly inside `view`'s bytes are no longer needed, so
// the file-backed pages a load has just copied do not stay resident next to the parameters (peak
// RSS ~ one copy of the weights instead of two). The mapping stays valid: it is private and
// read-only, so a later read simply faults the page in from the file again. No-op off Linux.
void release_view_pages(const io::TensorView& view);

// Same, for a tensor already converted (e.g. permuted). Throws FormatError like load_parameter.
void load_parameter(at::Tensor& param, const at::Tensor& value, const std::string& name,
                    const std::string& source);

// Rows of a q or k projection weight [heads * D, in] (or bias [heads * D]) from Meta's
// interleaved RoPE layout to Hugging Face's rotate-half layout, and back.
at::Tensor meta_to_hf_rope_rows(const at::Tensor& weight, int64_t heads);
at::Tensor hf_to_meta_rope_rows(const at::Tensor& weight, int64_t heads);

}  // namespace dpok::model
