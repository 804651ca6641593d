"""All-reduce of the ~110M Llama shape's gradients between 2 ranks with c10d's Gloo on loopback.

The collective dpok's data parallelism runs (dist/grad_sync.h: 25 MiB fp32 buckets, one
all-reduce each, Gloo on the CPU), timed through torch.distributed, which calls the same c10d
ProcessGroupGloo in the same LibTorch; one Gloo thread, as dpok creates it.

    .venv/bin/python3 bench/python/allreduce_gloo.py [PARAMS (109_500_000)] [STEPS (3)]

Prints seconds per full gradient all-reduce and the algorithm bandwidth. Results:
docs/benchmarks.md, "dist".
"""
import os
import sys
import time

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

BUCKET = 25 << 20  # bytes, as dpok and PyTorch's DDP


def worker(rank, world, params, steps, port, out):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    per_bucket = BUCKET // 4
    buckets = [torch.randn(min(per_bucket, params - i)) for i in range(0, params, per_bucket)]
    dist.barrier()
    times = []
    for _ in range(steps + 1):
        start = time.perf_counter()
        works = [dist.all_reduce(b, async_op=True) for b in buckets]
        for w in works:
            w.wait()
        times.append(time.perf_counter() - start)
    if rank == 0:
        out.put(sum(times[1:]) / steps)
    dist.destroy_process_group()


def main():
    params = int(sys.argv[1]) if len(sys.argv) > 1 else 109_500_000
    steps = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    procs = [ctx.Process(target=worker, args=(r, 2, params, steps, port, out)) for r in range(2)]
    for p in procs:
        p.start()
    seconds = out.get()
    for p in procs:
        p.join()
    gbytes = params * 4 / 1e9
    print(f"2 ranks, {params} fp32 gradients ({gbytes:.2f} GB) in 25 MiB buckets: "
          f"{seconds:.2f} s per all-reduce, algorithm bandwidth {gbytes / seconds:.2f} GB/s")


if __name__ == "__main__":
    main()
