#pragma once
// LibTorch tensors in and out of safetensors files (core/safetensors.h holds the bytes and names):
// the dtype names, a module's parameters and buffers under a name prefix, and reading a stored tensor
// back checked against the tensor it replaces. Checkpoints (trainer/checkpoint.h) and model files
// (trainer/model_file.h) are both written and read through these.

#include <filesystem>
#include <string>

#include <torch/torch.h>

#include "core/safetensors.h"

namespace lab {

// The safetensors dtype name of a LibTorch dtype ("F32", "BF16", "I64", ...); std::invalid_argument for
// one safetensors cannot hold.
const char* safetensors_dtype(torch::ScalarType type);

// Adds `tensor` (any device, any layout: copied to contiguous CPU memory) as `name`.
void add_tensor(SafetensorsWriter& writer, const std::string& name, const torch::Tensor& tensor);

// Adds every parameter and buffer of `module` as `prefix + name` (named as named_parameters() does).
void add_module_tensors(SafetensorsWriter& writer, torch::nn::Module& module, const std::string& prefix);

// A stored tensor as a new CPU tensor of `type` (its bytes copied: they need not be aligned).
torch::Tensor to_tensor(const SafetensorsTensor& stored, torch::ScalarType type);

// The stored tensor `name`, checked to have `like`'s dtype and shape; lab::Error naming `path` and the
// tensor otherwise.
torch::Tensor read_like(const SafetensorsFile& file, const std::filesystem::path& path,
                        const std::string& name, const torch::Tensor& like);

// Copies `prefix + name` into every parameter and buffer of `module`; each must be stored with its shape
// and dtype, and no other tensor under `prefix` may be: lab::Error naming the file and the tensor (the
// file belongs to another model) otherwise.
void load_module_tensors(const SafetensorsFile& file, const std::filesystem::path& path,
                         torch::nn::Module& module, const std::string& prefix);

// "[2, 3]"
std::string shape_text(c10::IntArrayRef sizes);

// lab::Error: tensor `name` of `file` has shape `stored` where the module has `expected`.
[[noreturn]] void shape_mismatch(const std::filesystem::path& file, const std::string& name,
                                 const std::string& stored, c10::IntArrayRef expected);

}  // namespace lab
