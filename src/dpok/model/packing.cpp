#include "dpok/model/packing.h"

#include <algorithm>
#include <limits>
#include <numeric>
#include <vector>

#include "dpok/core/error.h"

namespace dpok::model {
namespace {

struct Slot {
  int64_t sequence, row, offset, length;
};

// First-fit decreasing: longest sequence first, into the first row with room.
std::vector<Slot> plan_slots(const std::vector<int64_t>& lengths, int64_t capacity, int64_t* rows) {
  std::vector<int64_t> order(lengths.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t a, int64_t b) { return lengths[a] > lengths[b]; });
  std::vector<int64_t> used;  // tokens per row so far
  std::vector<Slot> slots;
  for (const auto n : order) {
    if (lengths[n] == 0) continue;
    auto row = std::find_if(used.begin(), used.end(),
                            [&](int64_t u) { return u + lengths[n] <= capacity; });
    if (row == used.end()) row = used.insert(used.end(), 0);
    slots.push_back({n, row - used.begin(), *row, lengths[n]});
    *row += lengths[n];
  }
  *rows = static_cast<int64_t>(used.size());
  return slots;
}

}  // namespace

PackedRows pack_rows(const at::Tensor& input_ids, const at::Tensor& attention_mask) {
  DPOK_CHECK(input_ids.dim() == 2 && attention_mask.sizes() == input_ids.sizes(),
             "pack_rows: input_ids and attention_mask must both be [B, T]");
  const int64_t batch = input_ids.size(0), length = input_ids.size(1);
  const auto mask = attention_mask.to(at::kCPU, at::kLong).contiguous();
  const auto lengths_tensor = mask.sum(1);
  std::vector<int64_t> lengths(lengths_tensor.data_ptr<int64_t>(),
                               lengths_tensor.data_ptr<int64_t>() + batch);
  for (int64_t n = 0; n < batch; ++n) {
    DPOK_CHECK(lengths[n] == 0 || mask[n].narrow(0, 0, lengths[n]).all().item<bool>(),
               "pack_rows: row {} is not right-padded", n);
  }
  PackedRows out;
  out.row_length = length;
  const auto slots = plan_slots(lengths, length, &out.rows);
  out.tokens = std::accumulate(lengths.begin(), lengths.end(), int64_t{0});

  const auto cpu_long = at::TensorOptions().dtype(at::kLong);
  auto positions = at::zeros({out.rows, length}, cpu_long);
  auto segments = at::full({out.rows, length}, -1, cpu_long);
  auto packed_index = at::empty({out.tokens}, cpu_long);
  auto padded_index = at::empty({out.tokens}, cpu_long);
  auto* pos = positions.data_ptr<int64_t>();
  auto* seg = segments.data_ptr<int64_t>();
  auto* to = packed_index.data_ptr<int64_t>();
  auto* from = padded_index.data_ptr<int64_t>();
  std::vector<int64_t> slots_in_row(out.rows, 0);
  int64_t k = 0;
  for (const auto& s : slots) {
    const int64_t slot = slots_in_row[s.row]++;
    for (int64_t t = 0; t < s.length; ++t, ++k) {
      const int64_t packed = s.row * length + s.offset + t;
      pos[packed] = t;
      seg[packed] = slot;
      to[k] = packed;
      from[k] = s.sequence * length + t;
    }
  }
  const auto device = input_ids.device();
  out.positions = positions.to(device);
  out.segments = segments.to(device);
  out.packed_index = packed_index.to(device);
  out.padded_index = padded_index.to(device);
  out.input_ids = at::zeros({out.rows * length}, input_ids.options())
                      .index_copy_(0, out.packed_index,
                                   input_ids.reshape({-1}).index_select(0, out.padded_index))
                      .view({out.rows, length});
  return out;
}

AttentionBias segment_attention_bias(const at::Tensor& segments, const at::TensorOptions& options) {
  const int64_t length = segments.size(1);
  auto query = segments.unsqueeze(2), key = segments.unsqueeze(1);  // [R, L, 1], [R, 1, L]
  auto causal = at::ones({length, length}, options.dtype(at::kBool)).tril();
  auto keep = query.eq(key).logical_and(key.ge(0)).logical_and(causal);
  // Empty slots after a row's last sequence see themselves, so no query row is all -inf (NaN).
  keep = keep.logical_or(at::eye(length, options.dtype(at::kBool)));
  auto mask = at::zeros(keep.sizes(), options)
                  .masked_fill(keep.logical_not(), -std::numeric_limits<double>::infinity());
  return {mask.unsqueeze(1), false};
}

at::Tensor unpack_rows(const at::Tensor& packed_hidden, const PackedRows& rows, int64_t batch,
                       int64_t length) {
  const int64_t hidden = packed_hidden.size(-1);
  auto tokens = packed_hidden.reshape({-1, hidden}).index_select(0, rows.packed_index);
  return at::zeros({batch * length, hidden}, packed_hidden.options())
      .index_copy(0, rows.padded_index, tokens)
      .view({batch, length, hidden});
}

}  // namespace dpok::model
