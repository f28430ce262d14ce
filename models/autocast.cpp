#include "models/autocast.h"

#include <ATen/autocast_mode.h>  // not part of <torch/torch.h>; only this file needs it

namespace lab {
namespace {

// LibTorch 2.4 replaced the per-device functions by ones taking the device type.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
bool get_enabled(torch::DeviceType t) { return at::autocast::is_autocast_enabled(t); }
void set_enabled(torch::DeviceType t, bool on) { at::autocast::set_autocast_enabled(t, on); }
torch::Dtype get_dtype(torch::DeviceType t) { return at::autocast::get_autocast_dtype(t); }
void set_dtype(torch::DeviceType t, torch::Dtype d) { at::autocast::set_autocast_dtype(t, d); }
#else
bool get_enabled(torch::DeviceType t) {
  return t == torch::kCPU ? at::autocast::is_cpu_enabled() : at::autocast::is_enabled();
}
void set_enabled(torch::DeviceType t, bool on) {
  if (t == torch::kCPU) {
    at::autocast::set_cpu_enabled(on);
  } else {
    at::autocast::set_enabled(on);
  }
}
torch::Dtype get_dtype(torch::DeviceType t) {
  return t == torch::kCPU ? at::autocast::get_autocast_cpu_dtype() : at::autocast::get_autocast_gpu_dtype();
}
void set_dtype(torch::DeviceType t, torch::Dtype d) {
  if (t == torch::kCPU) {
    at::autocast::set_autocast_cpu_dtype(d);
  } else {
    at::autocast::set_autocast_gpu_dtype(d);
  }
}
#endif

}  // namespace

AutocastGuard::AutocastGuard(torch::DeviceType device_type, torch::Dtype dtype, bool enabled)
    : device_type_(device_type),
      previous_enabled_(get_enabled(device_type)),
      previous_dtype_(get_dtype(device_type)) {
  at::autocast::increment_nesting();
  set_enabled(device_type_, enabled);
  set_dtype(device_type_, dtype);
}

AutocastGuard::~AutocastGuard() {
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  set_enabled(device_type_, previous_enabled_);
  set_dtype(device_type_, previous_dtype_);
}

NoAutocastGuard::NoAutocastGuard(torch::DeviceType device_type)
    : device_type_(device_type), previous_enabled_(get_enabled(device_type)) {
  set_enabled(device_type_, false);
}

NoAutocastGuard::~NoAutocastGuard() { set_enabled(device_type_, previous_enabled_); }

bool autocast_enabled(torch::DeviceType device_type) { return get_enabled(device_type); }
torch::Dtype autocast_dtype(torch::DeviceType device_type) { return get_dtype(device_type); }

torch::Dtype compute_dtype(const torch::Tensor& x) {
  const torch::DeviceType t = x.device().type();
  if (x.is_floating_point() && (t == torch::kCPU || t == torch::kCUDA) && get_enabled(t)) return get_dtype(t);
  return x.scalar_type();
}

}  // namespace lab
