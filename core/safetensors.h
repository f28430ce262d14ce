#pragma once
// The safetensors format (Hugging Face; what torchtitan, OLMo-core and `safetensors.torch.load_file`
// read): an 8-byte little-endian header length N, N bytes of a JSON header, then the tensors' bytes.
// The header maps each tensor name to {"dtype", "shape", "data_offsets": [begin, end]} (offsets into
// the bytes after the header) and may hold "__metadata__", a map of strings. The tensors are
// contiguous and in no particular order; the header is padded with spaces to a multiple of 8 bytes.
//
// The writer is deterministic: header keys sorted (nlohmann::json), tensors in the order added, so
// the same tensors give the same bytes and `cmp` can check a reproduction. The reader validates
// everything a damaged or hostile file could get wrong (lengths, offsets, overlaps, gaps, shapes that
// overflow) and reports it as a lab::Error naming the file. No LibTorch here: bytes and names only.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace lab {

struct SafetensorsTensor {
  std::string name;
  std::string dtype;  // "F32", "BF16", "F16", "F64", "I64", "I32", "I16", "U16", "I8", "U8", "BOOL"
  std::vector<std::int64_t> shape;
  std::string_view bytes;  // little-endian, row-major; points into the parsed buffer
};

// Bytes per element of a dtype name; 0 for one this lab does not know.
std::size_t safetensors_dtype_size(std::string_view dtype);

class SafetensorsWriter {
 public:
  // `bytes` must hold exactly product(shape) elements of `dtype` (checked); copied.
  void add(std::string name, std::string dtype, std::vector<std::int64_t> shape, const void* data,
           std::size_t bytes);
  void set_metadata(const std::string& key, std::string value) { metadata_[key] = std::move(value); }
  std::string serialize() const;  // the whole file

 private:
  struct Entry {
    std::string name, dtype;
    std::vector<std::int64_t> shape;
    std::string bytes;
  };
  std::vector<Entry> entries_;
  std::map<std::string, std::string> metadata_;
};

struct SafetensorsFile {
  std::map<std::string, std::string> metadata;
  std::vector<SafetensorsTensor> tensors;  // in the order of their offsets

  const SafetensorsTensor* find(std::string_view name) const;  // nullptr if absent
};

// Parses a whole file's bytes; the views in the result point into `bytes`, which must outlive it.
// Throws lab::Error naming `source` and what is wrong.
SafetensorsFile parse_safetensors(std::string_view bytes, const std::string& source);

}  // namespace lab
