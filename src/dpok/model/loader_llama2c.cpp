// llama2.c .bin checkpoints. Interim: the reader (dpok/io/llama2c.h) is being written by the io
// subsystem; until it lands, these entry points refuse the format by name.
#include "dpok/core/error.h"
#include "dpok/model/loader.h"

namespace dpok::model {

ModelConfig read_llama2c_config(const std::filesystem::path& path) {
  DPOK_THROW(UnsupportedError, "model.llama2c",
             "{}: llama2.c .bin checkpoints are not supported yet (needs dpok/io/llama2c.h)",
             path.string());
}

CausalLM load_llama2c(const std::filesystem::path& path, const LoadOptions&) {
  read_llama2c_config(path);
  return nullptr;
}

}  // namespace dpok::model
