// Sentence-encoder embeddings of preference records (embedding_source = encoder, objective.md §3
// with the paper's frozen encoder).
//
// Each record's prompt, chosen and rejected completions are decoded from their token ids with the
// policy's tokenizer (special tokens skipped), tokenized with the encoder's own tokenizer
// ([CLS] … [SEP], cut to the encoder's max_seq_length with [SEP] kept, as sentence-transformers
// does) and encoded; the embeddings go into the records' embedding columns, where the trainer
// reads them as it reads precomputed ones. They are computed once per record and cached on disk
// (enc-<key>.bin), keyed by every record's token ids, the encoder's files and the layout version.
#pragma once

#include <filesystem>
#include <string>

#include "dpok/data/record.h"
#include "dpok/model/sentence_encoder.h"
#include "dpok/text/tokenizer.h"

namespace dpok::train {

inline constexpr uint32_t kEncoderCacheVersion = 1;

struct EncoderEmbeddingResult {
  bool from_cache = false;
  int64_t texts_encoded = 0;  // 0 when read from the cache
};

// Fills prompt_embedding / chosen_embedding / rejected_embedding of every record of `dataset`
// with the encoder at `encoder_dir` (model::SentenceEncoder, its tokenizer.json), reading or
// writing the cache in `cache_dir` (none when empty). Throws what loading the encoder throws,
// and FormatError naming a corrupt cache file.
EncoderEmbeddingResult fill_encoder_embeddings(data::PreferenceDataset& dataset,
                                               const text::Tokenizer& policy_tokenizer,
                                               const std::filesystem::path& encoder_dir,
                                               const std::filesystem::path& cache_dir,
                                               int64_t batch_size = 32);

// The embeddings of `texts` [N, d] (fp32, CPU), in batches of `batch_size` texts of similar length.
at::Tensor encode_texts(const model::SentenceEncoder& encoder, const text::Tokenizer& tokenizer,
                        const std::vector<std::string>& texts, int64_t batch_size = 32);

}  // namespace dpok::train
