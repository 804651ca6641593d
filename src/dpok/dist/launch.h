// Where this process stands in a multi-process launch: torchrun's standard environment variables.
//
// What it does: reads RANK, LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE, MASTER_ADDR and MASTER_PORT
// (set by `torchrun --nproc-per-node N --no-python dpok ...`, by multi-node launches with
// --nnodes / --rdzv-endpoint, or by hand) and checks them. With none of them set the process is a
// world of one, exactly the single-process behaviour. What it doesn't do: connect anywhere
// (group.h does).
#pragma once

#include <c10/core/Device.h>

#include <string>

namespace dpok::dist {

struct Launch {
  int rank = 0;
  int local_rank = 0;
  int world_size = 1;
  int local_world_size = 1;
  std::string master_addr = "127.0.0.1";
  int master_port = 0;

  bool distributed() const { return world_size > 1; }
};

// The launch this process belongs to. Throws ConfigError naming the variable and its value when
// one is not an integer in range, or when WORLD_SIZE > 1 and MASTER_ADDR / MASTER_PORT / RANK are
// missing ("[dist] environment variable RANK=2 is invalid: expected 0 <= RANK < WORLD_SIZE = 2").
Launch launch_from_environment();

// The device a rank computes on: `configured` itself on one process or on the CPU; on CUDA with
// several ranks, cuda:LOCAL_RANK (a configured "cuda:N" with N != LOCAL_RANK is a ConfigError:
// two ranks would share a GPU).
c10::Device rank_device(c10::Device configured, const Launch& launch);

}  // namespace dpok::dist
