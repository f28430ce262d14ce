#include "trainer/distributed.h"

#include <cmath>
#include <cstdlib>
#include <optional>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/version.h>
#ifdef USE_C10D_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include "core/environment.h"
#include "core/error.h"

namespace lab {
namespace {

// LibTorch 2 split the process group into a front end and per-device Backends (Gloo, NCCL); 1.13's
// ProcessGroupGloo is itself the process group. Both offer the collectives used here.
#if TORCH_VERSION_MAJOR >= 2
using Backend = c10d::Backend;
#else
using Backend = c10d::ProcessGroup;
#endif

constexpr std::int64_t kBucketBytes = 25 << 20;  // DDP's default bucket size

// The message of a c10d failure without LibTorch's C++ backtrace.
std::string describe(const std::exception& e) {
  if (const auto* c10_error = dynamic_cast<const c10::Error*>(&e)) return c10_error->what_without_backtrace();
  return e.what();
}

// Consecutive runs of same-dtype tensors of at most kBucketBytes (a larger tensor gets a bucket of its
// own). Shapes: every tensor is flattened, so a bucket is one 1-D buffer of the summed sizes.
std::vector<std::vector<std::size_t>> make_buckets(const std::vector<torch::Tensor>& tensors) {
  std::vector<std::vector<std::size_t>> buckets;
  std::int64_t bytes = 0;
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const std::int64_t size = tensors[i].numel() * static_cast<std::int64_t>(tensors[i].element_size());
    const bool fits = !buckets.empty() && bytes + size <= kBucketBytes &&
                      tensors[buckets.back().front()].scalar_type() == tensors[i].scalar_type();
    if (!fits) {
      buckets.emplace_back();
      bytes = 0;
    }
    buckets.back().push_back(i);
    bytes += size;
  }
  return buckets;
}

// Returns once something accepts TCP connections at host:port, or at the deadline. A TCPStore client
// that finds no server sleeps a whole second before trying again; workers start within milliseconds
// of each other, so polling first saves that second (and the tests several).
void wait_until_listening(const std::string& host, int port, std::chrono::steady_clock::time_point deadline) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) != 0)
    return;  // TCPStore says why
  while (std::chrono::steady_clock::now() < deadline) {
    bool listening = false;
    for (addrinfo* a = found; a != nullptr && !listening; a = a->ai_next) {
      const int fd = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
      if (fd < 0) continue;
      listening = connect(fd, a->ai_addr, a->ai_addrlen) == 0;
      close(fd);
    }
    if (listening) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  freeaddrinfo(found);
}

}  // namespace

DistributedEnv distributed_env_from_environment() {
  DistributedEnv env;
  // torchrun sets RANK and WORLD_SIZE; srun sets SLURM_PROCID and SLURM_NTASKS for every task.
  std::optional<std::string> rank = env_text("RANK"), world = env_text("WORLD_SIZE");
  const char* rank_name = "RANK";
  const char* world_name = "WORLD_SIZE";
  // Slurm's variables count only with MASTER_ADDR and MASTER_PORT, which Slurm does not set: without
  // them, tasks that srun starts side by side (`srun -n 4 lab run --shard ...`) are independent jobs.
  if (!rank && !world && env_text("SLURM_PROCID") && env_text("SLURM_NTASKS") && env_text("MASTER_ADDR") &&
      env_text("MASTER_PORT")) {
    rank = env_text("SLURM_PROCID");
    world = env_text("SLURM_NTASKS");
    rank_name = "SLURM_PROCID";
    world_name = "SLURM_NTASKS";
  }
  if (rank && !world) fail("RANK={} is set but WORLD_SIZE is not: set both (or neither)", *rank);
  if (!world) return env;
  env.world_size = static_cast<int>(env_integer(world_name, *world, 1, 1 << 20));
  if (!rank) fail("{}={} is set but RANK is not: set both (or neither)", world_name, *world);
  env.rank = static_cast<int>(env_integer(rank_name, *rank, 0, 1 << 20));
  if (env.rank >= env.world_size)
    fail("{}={} must be smaller than {}={}", rank_name, env.rank, world_name, env.world_size);
  if (auto local = env_text("LOCAL_RANK") ? env_text("LOCAL_RANK") : env_text("SLURM_LOCALID"))
    env.local_rank = static_cast<int>(env_integer("LOCAL_RANK", *local, 0, 1 << 20));
  if (auto timeout = env_text("LAB_DIST_TIMEOUT_S")) {
    char* end = nullptr;
    const double seconds = std::strtod(timeout->c_str(), &end);
    if (end == timeout->c_str() || *end != '\0' || !(seconds > 0) || !std::isfinite(seconds))
      fail("LAB_DIST_TIMEOUT_S={}: expected a positive number of seconds", *timeout);
    env.timeout = std::chrono::milliseconds(static_cast<std::int64_t>(std::ceil(seconds * 1000)));
  }
  env.agent_store = env_text("TORCHELASTIC_USE_AGENT_STORE") == std::optional<std::string>("True");
  if (env.world_size == 1) return env;

  std::optional<std::string> addr = env_text("MASTER_ADDR"), port = env_text("MASTER_PORT");
  if (!addr || !port) {
    fail(
        "{}={} asks for data-parallel training, but {} is not set: set MASTER_ADDR and MASTER_PORT to "
        "where rank 0 listens (torchrun sets them; `lab train --nproc N` does it all on one machine)",
        world_name, env.world_size, !addr ? "MASTER_ADDR" : "MASTER_PORT");
  }
  env.master_addr = *addr;
  env.master_port = static_cast<int>(env_integer("MASTER_PORT", *port, 1, 65535));
  return env;
}

struct Distributed::Group {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<Backend> backend;
  std::vector<std::vector<std::size_t>> gradient_buckets;  // built on the first sum_gradients
};

Distributed::Distributed(const DistributedEnv& env, torch::Device device) : env_(env), device_(device) {
  if (env.world_size <= 1) return;
  group_ = std::make_unique<Group>();
  const std::string where = fmt::format("{}:{}", env.master_addr, env.master_port);
  try {
    c10d::TCPStoreOptions options;
    options.port = static_cast<std::uint16_t>(env.master_port);
    options.isServer = env.rank == 0 && !env.agent_store;
    options.numWorkers = static_cast<std::size_t>(env.world_size);
    options.waitWorkers = false;  // the process group's own rendezvous waits for every rank
    options.timeout = env.timeout;
    if (!options.isServer)
      wait_until_listening(env.master_addr, env.master_port, std::chrono::steady_clock::now() + env.timeout);
    group_->store = c10::make_intrusive<c10d::TCPStore>(env.master_addr, options);
  } catch (const std::exception& e) {
    // The address is the user's: a wrong MASTER_ADDR / MASTER_PORT, a port in use, or rank 0 not started.
    fail(
        "rank {}: cannot {} the rendezvous store at {} (MASTER_ADDR:MASTER_PORT): {}; check the address, "
        "that the port is free on rank 0's host and that rank 0 is running",
        env.rank, env.rank == 0 ? "open" : "reach", where, describe(e));
  }
  try {
    if (device.is_cuda()) {
#ifdef USE_C10D_NCCL
      auto options = c10d::ProcessGroupNCCL::Options::create();
      options->timeout = env.timeout;
      group_->backend =
          c10::make_intrusive<c10d::ProcessGroupNCCL>(group_->store, env.rank, env.world_size, options);
#if TORCH_VERSION_MAJOR >= 2
      // 2.x: the communicator is bound to this worker's GPU (LOCAL_RANK's) when it is made, not guessed
      // from the global rank at the first collective.
      group_->backend->setBoundDeviceId(device);
#endif
#else
      fail("--device cuda with WORLD_SIZE={} needs a LibTorch built with NCCL; this one has none",
           env.world_size);
#endif
    } else {
      auto options = c10d::ProcessGroupGloo::Options::create(env.timeout);
      // Gloo binds to this host's address; on one machine (MASTER_ADDR on loopback) to loopback, which
      // works without a resolvable hostname. GLOO_SOCKET_IFNAME picks the interface, as in PyTorch.
      const bool loopback = env.master_addr == "localhost" || env.master_addr.starts_with("127.");
      if (auto interface = env_text("GLOO_SOCKET_IFNAME")) {
        options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(*interface));
      } else if (loopback) {
        options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
      } else {
        options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
      }
      options->threads = 2;
      group_->backend =
          c10::make_intrusive<c10d::ProcessGroupGloo>(group_->store, env.rank, env.world_size, options);
    }
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    // This process is fine; another worker never arrived (not started, crashed, or a different WORLD_SIZE).
    throw PeerFailure(fmt::format(
        "rank {}: the {} workers did not all join through {} within {} s (LAB_DIST_TIMEOUT_S): {}; check "
        "that every rank was started with the same WORLD_SIZE",
        env.rank, env.world_size, where, env.timeout.count() / 1000.0, describe(e)));
  }
}

Distributed::~Distributed() {
#if TORCH_VERSION_MAJOR >= 2
  // 2.x NCCL wants its communicators shut down before the process group goes (it warns otherwise):
  // gracefully after the final barrier, which waits for pending work; aborted after a failure, where
  // waiting for a peer that is gone would hang. Gloo's shutdown and abort do nothing.
  if (group_ && group_->backend) {
    try {
      if (finished_cleanly_) {
        group_->backend->shutdown();
      } else {
        group_->backend->abort();
      }
    } catch (const std::exception&) {  // nothing left to close cleanly
    }
  }
#endif
}

namespace {

// Waits for every started collective; a failure (a worker died, closed its sockets, or did not answer
// within the timeout) becomes an error that names this rank, not a hang.
void wait_all(std::vector<c10::intrusive_ptr<c10d::Work>>& works, int rank, const char* what) {
  try {
    for (auto& work : works) work->wait();
  } catch (const std::exception& e) {
    throw PeerFailure(fmt::format("rank {}: {} failed: another worker stopped or cannot be reached ({})",
                                  rank, what, describe(e)));
  }
}

c10d::AllreduceOptions reduce_with(c10d::ReduceOp::RedOpType op) {
  c10d::AllreduceOptions options;
  options.reduceOp = c10d::ReduceOp(op);
  return options;
}

}  // namespace

int Distributed::sum_gradients(const std::vector<torch::Tensor>& parameters, int signal) {
  if (!group_) return signal;
  torch::NoGradGuard no_grad;
  std::vector<std::vector<std::size_t>>& buckets = group_->gradient_buckets;
  if (buckets.empty()) buckets = make_buckets(parameters);

  // control: [1 + P] int64 = [signal, has_gradient of each parameter], reduced with max.
  std::vector<std::int64_t> control_values(parameters.size() + 1, 0);
  control_values[0] = signal;
  for (std::size_t i = 0; i < parameters.size(); ++i) control_values[i + 1] = parameters[i].grad().defined();
  // Each collective gets its own vector: c10d takes the tensors by reference until the work is done.
  std::vector<std::vector<torch::Tensor>> buffers;
  buffers.reserve(buckets.size() + 1);
  buffers.push_back({torch::tensor(control_values, torch::kInt64).to(device_)});
  std::vector<c10::intrusive_ptr<c10d::Work>> works;
  works.push_back(group_->backend->allreduce(buffers.back(), reduce_with(c10d::ReduceOp::MAX)));
  for (const auto& bucket : buckets) {
    std::vector<torch::Tensor> pieces;  // each [numel] of one parameter
    for (std::size_t i : bucket) {
      const torch::Tensor& grad = parameters[i].grad();
      pieces.push_back(grad.defined() ? grad.reshape(-1)
                                      : torch::zeros({parameters[i].numel()}, parameters[i].options()));
    }
    buffers.push_back({torch::cat(pieces)});  // [sum of numel]
    works.push_back(group_->backend->allreduce(buffers.back(), reduce_with(c10d::ReduceOp::SUM)));
  }
  wait_all(works, env_.rank, "the gradient all-reduce");

  torch::Tensor control = buffers[0][0].cpu();
  const std::int64_t* reduced = control.data_ptr<std::int64_t>();
  for (std::size_t b = 0; b < buckets.size(); ++b) {
    const torch::Tensor& flat = buffers[b + 1][0];
    std::int64_t offset = 0;
    for (std::size_t i : buckets[b]) {
      torch::Tensor& param = const_cast<torch::Tensor&>(parameters[i]);
      const std::int64_t numel = param.numel();
      torch::Tensor summed = flat.narrow(0, offset, numel).view_as(param);
      offset += numel;
      if (reduced[i + 1] == 0) continue;  // no rank had a gradient: leave it undefined, as one worker would
      if (param.grad().defined()) {
        param.mutable_grad().copy_(summed);
      } else {
        param.mutable_grad() = summed.clone();
      }
    }
  }
  return static_cast<int>(reduced[0]);
}

void Distributed::broadcast(const std::vector<torch::Tensor>& tensors) {
  if (!group_) return;
  torch::NoGradGuard no_grad;
  const auto buckets = make_buckets(tensors);
  std::vector<std::vector<torch::Tensor>> buffers;
  buffers.reserve(buckets.size());
  std::vector<c10::intrusive_ptr<c10d::Work>> works;
  for (const auto& bucket : buckets) {
    std::vector<torch::Tensor> pieces;
    for (std::size_t i : bucket) pieces.push_back(tensors[i].detach().reshape(-1));
    buffers.push_back({torch::cat(pieces)});
    c10d::BroadcastOptions options;
    options.rootRank = 0;
    works.push_back(group_->backend->broadcast(buffers.back(), options));
  }
  wait_all(works, env_.rank, "the broadcast of the initial weights");
  for (std::size_t b = 0; b < buckets.size(); ++b) {
    std::int64_t offset = 0;
    for (std::size_t i : buckets[b]) {
      torch::Tensor target = tensors[i].detach();
      target.copy_(buffers[b][0].narrow(0, offset, target.numel()).view_as(target));
      offset += target.numel();
    }
  }
}

std::vector<double> Distributed::sum(std::vector<double> values) {
  if (!group_ || values.empty()) return values;
  std::vector<std::vector<torch::Tensor>> buffer = {{torch::tensor(values, torch::kFloat64).to(device_)}};
  std::vector<c10::intrusive_ptr<c10d::Work>> works = {
      group_->backend->allreduce(buffer[0], reduce_with(c10d::ReduceOp::SUM))};
  wait_all(works, env_.rank, "an all-reduce of the logged losses");
  torch::Tensor reduced = buffer[0][0].cpu();
  return {reduced.data_ptr<double>(), reduced.data_ptr<double>() + reduced.numel()};
}

std::vector<std::int64_t> Distributed::max(std::vector<std::int64_t> values) {
  if (!group_ || values.empty()) return values;
  std::vector<std::vector<torch::Tensor>> buffer = {{torch::tensor(values, torch::kInt64).to(device_)}};
  std::vector<c10::intrusive_ptr<c10d::Work>> works = {
      group_->backend->allreduce(buffer[0], reduce_with(c10d::ReduceOp::MAX))};
  wait_all(works, env_.rank, "an all-reduce of the workers' status");
  torch::Tensor reduced = buffer[0][0].cpu();
  return {reduced.data_ptr<std::int64_t>(), reduced.data_ptr<std::int64_t>() + reduced.numel()};
}

void Distributed::barrier() {
  if (!group_) return;
  c10d::BarrierOptions options;
  if (device_.is_cuda()) options.device_ids = {device_.index()};  // NCCL: this worker's GPU, not a guess
  std::vector<c10::intrusive_ptr<c10d::Work>> works = {group_->backend->barrier(options)};
  wait_all(works, env_.rank, "the final barrier");
  finished_cleanly_ = true;
}

}  // namespace lab
