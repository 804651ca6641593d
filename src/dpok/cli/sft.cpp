// `dpok sft --config run.yaml [key=value ...] [--resume [DIR]]`: supervised fine-tuning on the
// chosen completions with the trainer's machinery (the usual stage before DPO). Options are those
// of `dpok train` (train.cpp).
#include "dpok/cli/command.h"

namespace dpok::cli {

std::function<int()> setup_sft_command(CLI::App& app);

DPOK_REGISTER_COMMAND("sft", setup_sft_command);

}  // namespace dpok::cli
