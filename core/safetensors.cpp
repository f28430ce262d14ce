#include "core/safetensors.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace lab {
namespace {

constexpr std::uint64_t kMaxHeaderBytes = 100ull << 20;  // the Rust reference refuses beyond 100 MB

// product(shape) * element size, or nullopt-like max() when it overflows.
std::uint64_t byte_count(const std::vector<std::int64_t>& shape, std::size_t element_size) {
  std::uint64_t n = element_size;
  for (std::int64_t d : shape) {
    const auto u = static_cast<std::uint64_t>(d);
    if (u != 0 && n > std::numeric_limits<std::uint64_t>::max() / u) {
      return std::numeric_limits<std::uint64_t>::max();
    }
    n *= u;
  }
  return n;
}

}  // namespace

std::size_t safetensors_dtype_size(std::string_view dtype) {
  if (dtype == "F64" || dtype == "I64" || dtype == "U64") return 8;
  if (dtype == "F32" || dtype == "I32" || dtype == "U32") return 4;
  if (dtype == "BF16" || dtype == "F16" || dtype == "I16" || dtype == "U16") return 2;
  if (dtype == "I8" || dtype == "U8" || dtype == "BOOL") return 1;
  return 0;
}

void SafetensorsWriter::add(std::string name, std::string dtype, std::vector<std::int64_t> shape,
                            const void* data, std::size_t bytes) {
  const std::size_t element = safetensors_dtype_size(dtype);
  if (element == 0) throw std::invalid_argument("safetensors: unknown dtype " + dtype);
  if (name == "__metadata__")
    throw std::invalid_argument("safetensors: a tensor cannot be called __metadata__");
  for (std::int64_t d : shape) {
    if (d < 0) throw std::invalid_argument("safetensors: negative dimension in " + name);
  }
  if (byte_count(shape, element) != bytes) {
    throw std::invalid_argument("safetensors: " + name + ": the bytes do not match the shape and dtype");
  }
  Entry e{std::move(name), std::move(dtype), std::move(shape),
          std::string(static_cast<const char*>(data), bytes)};
  entries_.push_back(std::move(e));
}

std::string SafetensorsWriter::serialize() const {
  nlohmann::json header = nlohmann::json::object();
  std::uint64_t offset = 0;
  for (const Entry& e : entries_) {
    header[e.name] = {
        {"dtype", e.dtype}, {"shape", e.shape}, {"data_offsets", {offset, offset + e.bytes.size()}}};
    offset += e.bytes.size();
  }
  if (!metadata_.empty()) header["__metadata__"] = metadata_;
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  std::string out(8, '\0');
  const std::uint64_t length = text.size();
  for (int i = 0; i < 8; ++i)
    out[static_cast<std::size_t>(i)] = static_cast<char>((length >> (8 * i)) & 0xFF);
  out.reserve(8 + text.size() + offset);
  out += text;
  for (const Entry& e : entries_) out += e.bytes;
  return out;
}

const SafetensorsTensor* SafetensorsFile::find(std::string_view name) const {
  for (const SafetensorsTensor& t : tensors) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

SafetensorsFile parse_safetensors(std::string_view bytes, const std::string& source) {
  if (bytes.size() < 8)
    fail("{}: {} bytes is too short for a safetensors file (no header length)", source, bytes.size());
  std::uint64_t length = 0;
  for (int i = 0; i < 8; ++i)
    length |= static_cast<std::uint64_t>(static_cast<unsigned char>(bytes[static_cast<std::size_t>(i)]))
              << (8 * i);
  if (length > kMaxHeaderBytes || length > bytes.size() - 8) {
    fail(
        "{}: the safetensors header claims {} bytes but the file has {} after the length: truncated or not "
        "safetensors",
        source, length, bytes.size() - 8);
  }
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(bytes.substr(8, static_cast<std::size_t>(length)));
  } catch (const nlohmann::json::exception& e) {
    fail("{}: the safetensors header is not valid JSON ({})", source, e.what());
  }
  if (!header.is_object()) fail("{}: the safetensors header is not a JSON object", source);
  const std::string_view data = bytes.substr(8 + static_cast<std::size_t>(length));

  SafetensorsFile file;
  struct Span {
    std::uint64_t begin, end;
    std::size_t tensor;
  };
  std::vector<Span> spans;
  for (const auto& [name, value] : header.items()) {
    if (name == "__metadata__") {
      if (!value.is_object()) fail("{}: __metadata__ must be an object of strings", source);
      for (const auto& [key, text] : value.items()) {
        if (!text.is_string()) fail("{}: __metadata__ entry '{}' is not a string", source, key);
        file.metadata[key] = text.get<std::string>();
      }
      continue;
    }
    const std::string tensor_name = name;  // clang 14 cannot capture a structured binding
    auto bad = [&](const char* what) { fail("{}: tensor '{}': {}", source, tensor_name, what); };
    if (!value.is_object()) bad("its entry is not an object");
    const auto dtype = value.find("dtype");
    const auto shape = value.find("shape");
    const auto offsets = value.find("data_offsets");
    if (dtype == value.end() || shape == value.end() || offsets == value.end())
      bad("needs dtype, shape and data_offsets");
    if (!dtype->is_string() || safetensors_dtype_size(dtype->get<std::string>()) == 0)
      bad("unknown or missing dtype");
    if (!shape->is_array()) bad("shape is not an array");
    SafetensorsTensor tensor;
    tensor.name = name;
    tensor.dtype = dtype->get<std::string>();
    for (const auto& d : *shape) {
      if (!d.is_number_unsigned() || d.get<std::uint64_t>() > (std::uint64_t{1} << 62))
        bad("a dimension is not a non-negative integer");
      tensor.shape.push_back(d.get<std::int64_t>());
    }
    if (!offsets->is_array() || offsets->size() != 2 || !(*offsets)[0].is_number_unsigned() ||
        !(*offsets)[1].is_number_unsigned())
      bad("data_offsets is not two non-negative integers");
    const auto begin = (*offsets)[0].get<std::uint64_t>(), end = (*offsets)[1].get<std::uint64_t>();
    if (begin > end || end > data.size()) bad("data_offsets lie outside the file's data");
    if (end - begin != byte_count(tensor.shape, safetensors_dtype_size(tensor.dtype)))
      bad("data_offsets do not span shape x dtype bytes");
    tensor.bytes = data.substr(static_cast<std::size_t>(begin), static_cast<std::size_t>(end - begin));
    spans.push_back({begin, end, file.tensors.size()});
    file.tensors.push_back(std::move(tensor));
  }
  // The tensors tile the data exactly: no gap, no overlap (what the reference implementation checks).
  std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  std::uint64_t at = 0;
  for (const Span& s : spans) {
    if (s.begin != at) {
      fail(
          "{}: tensor '{}' starts at byte {} of the data where {} was expected: the tensors overlap or leave "
          "a gap",
          source, file.tensors[s.tensor].name, s.begin, at);
    }
    at = s.end;
  }
  if (at != data.size()) {
    fail("{}: the tensors end at byte {} of {} data bytes: trailing bytes or a truncated file", source, at,
         data.size());
  }
  std::vector<SafetensorsTensor> ordered;
  ordered.reserve(spans.size());
  for (const Span& s : spans) ordered.push_back(std::move(file.tensors[s.tensor]));
  file.tensors = std::move(ordered);
  return file;
}

}  // namespace lab
