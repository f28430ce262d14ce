#pragma once
// Data-parallel training on LibTorch's distributed engine, c10d: every worker (rank) holds the whole
// model, trains on its slice of each global batch, and the gradients are summed over the workers
// before the optimizer step, so every rank takes the same step and the weights stay identical.
//
// The group is described by the variables torchrun and Slurm set:
//   RANK (or SLURM_PROCID)        this worker, 0 .. WORLD_SIZE - 1
//   WORLD_SIZE (or SLURM_NTASKS)  workers in the group; unset or 1 = a single worker, no c10d at all.
//                                 SLURM_* are read only when RANK and WORLD_SIZE are not set and
//                                 MASTER_ADDR and MASTER_PORT are (Slurm does not set those), so that
//                                 independent tasks of one srun (sharded sweeps) stay single workers
//   MASTER_ADDR, MASTER_PORT      where rank 0 hosts the rendezvous TCPStore
//   LOCAL_RANK (or SLURM_LOCALID) the CUDA device of this worker (CUDA builds only)
//   LAB_DIST_TIMEOUT_S            seconds a collective (or the rendezvous) may wait for the other
//                                 workers before failing; default 300. A worker that dies closes its
//                                 sockets, so the others usually fail at once; the timeout bounds the
//                                 wait for one that hangs.
// Backend: Gloo on CPU; NCCL for CUDA devices when LibTorch was built with it (USE_C10D_NCCL).

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

namespace lab {

struct DistributedEnv {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;
  std::string master_addr;
  int master_port = 0;
  std::chrono::milliseconds timeout{300'000};  // LAB_DIST_TIMEOUT_S
  bool agent_store = false;  // torchrun's agent hosts the store (TORCHELASTIC_USE_AGENT_STORE=True)
};

// Reads the variables above; lab::Error naming the variable for a bad or missing value (WORLD_SIZE
// without MASTER_ADDR / MASTER_PORT, RANK >= WORLD_SIZE, ...).
DistributedEnv distributed_env_from_environment();

class Distributed {
 public:
  // world_size 1: no process group, and every function below is free (returns its input).
  // Otherwise rendezvous through the TCPStore and build the process group: lab::Error naming
  // MASTER_ADDR:MASTER_PORT if the store cannot be opened or reached, lab::PeerFailure if the other
  // workers do not all join within the timeout.
  Distributed(const DistributedEnv& env, torch::Device device);
  ~Distributed();
  Distributed(const Distributed&) = delete;
  Distributed& operator=(const Distributed&) = delete;

  int rank() const { return env_.rank; }
  int world_size() const { return env_.world_size; }
  bool is_main() const { return env_.rank == 0; }

  // Sums every parameter's gradient over the ranks, in flat buckets of about 25 MB (as DDP does: one
  // collective per bucket instead of one per tensor). A gradient a rank does not have (an expert no
  // token of its slice reached) counts as zeros so that every rank reduces the same buckets; it stays
  // undefined only if it is undefined on every rank, as it would be for a single worker. The same
  // round trip carries `signal` (a pending Ctrl-C / SIGTERM, 0 if none): returns the largest over the
  // ranks, so that all of them stop after the same step.
  int sum_gradients(const std::vector<torch::Tensor>& parameters, int signal);

  // Copies rank 0's values into every rank's tensors (initial weights).
  void broadcast(const std::vector<torch::Tensor>& tensors);

  // Element-wise sum / max over the ranks of a few numbers (losses, token counts, flags).
  std::vector<double> sum(std::vector<double> values);
  std::vector<std::int64_t> max(std::vector<std::int64_t> values);

  // Returns once every rank has called it.
  void barrier();

 private:
  struct Group;  // the c10d store and process group; kept out of this header (c10d and Gloo headers)
  DistributedEnv env_;
  torch::Device device_;
  std::unique_ptr<Group> group_;
  bool finished_cleanly_ = false;  // the final barrier passed: the backend may shut down gracefully
};

}  // namespace lab
