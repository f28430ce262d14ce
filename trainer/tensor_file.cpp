#include "trainer/tensor_file.h"

#include <cstring>
#include <stdexcept>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/error.h"

namespace lab {
namespace fs = std::filesystem;

std::string shape_text(c10::IntArrayRef sizes) { return fmt::format("[{}]", fmt::join(sizes, ", ")); }

void shape_mismatch(const fs::path& file, const std::string& name, const std::string& stored,
                    c10::IntArrayRef expected) {
  fail(
      "{}: tensor '{}' has shape {} in the file, but the model its run's config.json describes has {}: the "
      "file belongs to another model (was config.json edited?)",
      file.string(), name, stored, shape_text(expected));
}

const char* safetensors_dtype(torch::ScalarType type) {
  switch (type) {
    case torch::kFloat:
      return "F32";
    case torch::kBFloat16:
      return "BF16";
    case torch::kHalf:
      return "F16";
    case torch::kDouble:
      return "F64";
    case torch::kLong:
      return "I64";
    case torch::kInt:
      return "I32";
    case torch::kShort:
      return "I16";
    case torch::kChar:
      return "I8";
    case torch::kByte:
      return "U8";
    case torch::kBool:
      return "BOOL";
    default:
      throw std::invalid_argument(fmt::format("safetensors: no dtype name for {}", c10::toString(type)));
  }
}

void add_tensor(SafetensorsWriter& writer, const std::string& name, const torch::Tensor& tensor) {
  const torch::Tensor t = tensor.detach().to(torch::kCPU).contiguous();
  writer.add(name, safetensors_dtype(t.scalar_type()), t.sizes().vec(), t.data_ptr(), t.nbytes());
}

void add_module_tensors(SafetensorsWriter& writer, torch::nn::Module& module, const std::string& prefix) {
  for (const auto& items : {module.named_parameters(), module.named_buffers()}) {
    for (const auto& item : items) add_tensor(writer, prefix + item.key(), item.value());
  }
}

torch::Tensor to_tensor(const SafetensorsTensor& stored, torch::ScalarType type) {
  torch::Tensor t = torch::empty(stored.shape, torch::TensorOptions().dtype(type));
  if (stored.bytes.size() != t.nbytes())
    throw std::logic_error("safetensors: size mismatch after validation");
  if (!stored.bytes.empty()) std::memcpy(t.data_ptr(), stored.bytes.data(), stored.bytes.size());
  return t;
}

torch::Tensor read_like(const SafetensorsFile& file, const fs::path& path, const std::string& name,
                        const torch::Tensor& like) {
  const SafetensorsTensor* stored = file.find(name);
  if (stored == nullptr) {
    fail(
        "{}: has no tensor '{}', which the model its run's config.json describes needs: the file belongs to "
        "another model (was config.json edited?)",
        path.string(), name);
  }
  if (stored->dtype != safetensors_dtype(like.scalar_type())) {
    fail("{}: tensor '{}' is {} in the file where the model has {}", path.string(), name, stored->dtype,
         safetensors_dtype(like.scalar_type()));
  }
  if (c10::IntArrayRef(stored->shape) != like.sizes()) {
    shape_mismatch(path, name, shape_text(stored->shape), like.sizes());
  }
  return to_tensor(*stored, like.scalar_type());
}

void load_module_tensors(const SafetensorsFile& file, const fs::path& path, torch::nn::Module& module,
                         const std::string& prefix) {
  torch::NoGradGuard no_grad;
  std::size_t expected = 0;
  for (const auto& items : {module.named_parameters(), module.named_buffers()}) {
    for (const auto& item : items) {
      torch::Tensor target = item.value();
      target.copy_(read_like(file, path, prefix + item.key(), target));
      ++expected;
    }
  }
  std::size_t stored = 0;
  for (const SafetensorsTensor& t : file.tensors) stored += t.name.starts_with(prefix) ? 1 : 0;
  if (stored == expected) return;
  for (const SafetensorsTensor& t : file.tensors) {
    if (!t.name.starts_with(prefix)) continue;
    const std::string name = t.name.substr(prefix.size());
    if (module.named_parameters().find(name) == nullptr && module.named_buffers().find(name) == nullptr) {
      fail(
          "{}: tensor '{}' is not in the model its run's config.json describes: the file belongs to another "
          "model (was config.json edited?)",
          path.string(), t.name);
    }
  }
}

}  // namespace lab
