#include "generators/dataset_reader.h"

#include <cstring>
#include <fstream>
#include <unordered_map>

#include <fmt/format.h>

#include "core/crc32c.h"
#include "core/error.h"
#include "core/read_file.h"
#include "generators/dataset_format.h"
#include "generators/dataset_writer.h"
#include "generators/generator.h"
#include "generators/mapped_file.h"

namespace lab {
namespace fs = std::filesystem;
namespace {

constexpr const char* kRegenerate = "regenerate the dataset with `lab gen`";

nlohmann::json read_manifest(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    fail("{}: not a dataset directory (it does not exist or is not a directory)", dir.string());
  fs::path path = dir / kManifestFile;
  const std::optional<std::string> text = read_file(path);
  if (!text) fail("{}: missing; {} is not a complete dataset ({})", path.string(), dir.string(), kRegenerate);
  try {
    return nlohmann::json::parse(*text);
  } catch (const nlohmann::json::exception& e) {
    fail("{}: not valid JSON ({}); {}", path.string(), e.what(), kRegenerate);
  }
}

const IndexRecord* records(const MappedFile& file) {
  return reinterpret_cast<const IndexRecord*>(file.bytes().data());
}
const Token* tokens(const MappedFile& file) { return reinterpret_cast<const Token*>(file.bytes().data()); }

// Sizes, index bounds and token ids of one split: everything a reader relies on, short of checksums.
void check_split(const DatasetSplit& split, const MappedFile& token_file, const MappedFile& index_file,
                 std::uint64_t expected_tokens, std::size_t vocabulary_size) {
  auto where = [](const MappedFile& f) { return f.path().string(); };
  // Compared by division: a (corrupt) count near 2^64 / 16 would wrap the product onto the real size.
  if (index_file.size() % sizeof(IndexRecord) != 0 ||
      index_file.size() / sizeof(IndexRecord) != split.size()) {
    fail("{}: {} bytes, but {} examples need {} (truncated or replaced); {}", where(index_file),
         index_file.size(), split.size(), split.size() * sizeof(IndexRecord), kRegenerate);
  }
  if (token_file.size() % sizeof(Token) != 0 || token_file.size() / sizeof(Token) != expected_tokens) {
    fail("{}: {} bytes, but the manifest records {} tokens = {} bytes (truncated or replaced); {}",
         where(token_file), token_file.size(), expected_tokens, expected_tokens * sizeof(Token), kRegenerate);
  }
  const IndexRecord* index = records(index_file);
  std::uint64_t next = 0;
  for (std::uint64_t i = 0; i < split.size(); ++i) {
    const IndexRecord& r = index[i];
    // Every example is a non-empty prompt and a non-empty answer (at least <eos>).
    if (r.offset != next || r.prompt_length == 0 || r.prompt_length >= r.length ||
        r.length > expected_tokens - next) {
      fail("{}: record {} (offset {}, length {}, prompt {}) is out of bounds of the {} tokens; {}",
           where(index_file), i, r.offset, r.length, r.prompt_length, expected_tokens, kRegenerate);
    }
    next += r.length;
  }
  if (next != expected_tokens) {
    fail("{}: the records cover {} of the {} tokens; {}", where(index_file), next, expected_tokens,
         kRegenerate);
  }
  const Token* data = tokens(token_file);
  Token largest = 0;
  for (std::uint64_t i = 0; i < expected_tokens; ++i) largest = std::max(largest, data[i]);
  if (expected_tokens > 0 && largest >= vocabulary_size) {
    fail("{}: holds token id {} but the vocabulary has {} entries (corrupt file); {}", where(token_file),
         largest, vocabulary_size, kRegenerate);
  }
}

}  // namespace

ExampleView DatasetSplit::example(std::uint64_t i) const {
  if (i >= count_) fail("example {} is out of range: split '{}' has {} examples", i, name_, count_);
  const IndexRecord& r = records(*index_)[i];
  return {{tokens(*tokens_) + r.offset, r.length}, r.prompt_length};
}

Dataset Dataset::open(const fs::path& dir) { return from_manifest(dir, read_manifest(dir)); }

Dataset Dataset::from_manifest(const fs::path& dir, nlohmann::json manifest) {
  Dataset dataset;
  dataset.dir_ = dir;
  const std::string manifest_path = (dir / kManifestFile).string();
  try {
    if (manifest.value("format", "") != "lab-dataset") fail("{}: not a lab dataset manifest", manifest_path);
    int version = manifest.at("format_version").get<int>();
    if (version != kDatasetFormatVersion) {
      fail("{}: format version {}, this lab reads version {}; {}", manifest_path, version,
           kDatasetFormatVersion, kRegenerate);
    }
    std::string recorded = manifest.at("manifest_crc32c").get<std::string>();
    if (recorded != manifest_checksum(manifest)) {
      fail("{}: its checksum does not match its content: the manifest was edited or is corrupt; {}",
           manifest_path, kRegenerate);
    }
    dataset.task_ = parse_task(manifest.at("task").get<std::string>(), manifest_path);
    auto texts = manifest.at("vocabulary").get<std::vector<std::string>>();
    if (texts.size() < special::count || texts.size() > 65536 || texts[0] != "<pad>" || texts[1] != "<bos>" ||
        texts[2] != "<eos>" || texts[3] != "<sep>") {
      fail("{}: the vocabulary must start with <pad> <bos> <eos> <sep> and have at most 65536 entries",
           manifest_path);
    }
    dataset.vocabulary_ =
        Vocabulary(std::move(texts), manifest.at("vocabulary_separator").get<std::string>());

    for (const auto& [name, entry] : manifest.at("splits").items()) {
      const auto& files = entry.at("files");
      for (const char* kind : {"tokens", "index"}) {
        std::string expected = std::string(kind) == "tokens" ? tokens_file(name) : index_file(name);
        if (files.at(kind).at("name").get<std::string>() != expected) {
          fail("{}: split '{}' names its {} file '{}', expected '{}'", manifest_path, name, kind,
               files.at(kind).at("name").get<std::string>(), expected);
        }
      }
      DatasetSplit split;
      split.name_ = name;
      split.count_ = entry.at("count").get<std::uint64_t>();
      split.tokens_crc32c_ = files.at("tokens").at("crc32c").get<std::string>();
      split.index_crc32c_ = files.at("index").at("crc32c").get<std::string>();
      split.max_length_ = entry.at("max_length").get<std::uint32_t>();
      split.tokens_ = std::make_shared<const MappedFile>(dir / tokens_file(name));
      split.index_ = std::make_shared<const MappedFile>(dir / index_file(name));
      check_split(split, *split.tokens_, *split.index_, entry.at("tokens").get<std::uint64_t>(),
                  dataset.vocabulary_.size());
      dataset.splits_.push_back(std::move(split));
    }
  } catch (const nlohmann::json::exception& e) {
    fail("{}: a field is missing or has the wrong type ({}); {}", manifest_path, e.what(), kRegenerate);
  }
  dataset.manifest_ = std::move(manifest);
  return dataset;
}

std::vector<std::string> Dataset::split_names() const {
  std::vector<std::string> names;
  for (const DatasetSplit& split : splits_) names.push_back(split.name());
  return names;
}

const DatasetSplit& Dataset::split(std::string_view name) const {
  for (const DatasetSplit& split : splits_) {
    if (split.name() == name) return split;
  }
  fail("dataset {} has no split '{}' (it has: {})", dir_.string(), name, fmt::join(split_names(), ", "));
}

void Dataset::verify_checksums() const {
  for (const DatasetSplit& split : splits_) {
    for (const auto& [recorded, file] :
         {std::pair{split.tokens_crc32c_, split.tokens_}, std::pair{split.index_crc32c_, split.index_}}) {
      std::string actual = fmt::format("{:08x}", crc32c(0, file->bytes().data(), file->size()));
      if (actual != recorded) {
        fail("{}: checksum {} does not match the manifest's {}: the file is corrupt; {}",
             file->path().string(), actual, recorded, kRegenerate);
      }
    }
  }
}

std::uint64_t count_shared_prompts(const DatasetSplit& split, const DatasetSplit& from) {
  std::unordered_multimap<std::uint64_t, std::uint64_t> by_hash;  // prompt hash -> example of `split`
  by_hash.reserve(split.size());
  for (std::uint64_t i = 0; i < split.size(); ++i) {
    auto prompt = split.example(i).prompt();
    by_hash.emplace(hash_tokens(prompt.data(), prompt.size(), 1), i);
  }
  std::vector<bool> shared(split.size(), false);
  for (std::uint64_t j = 0; j < from.size(); ++j) {
    auto prompt = from.example(j).prompt();
    auto [first, last] = by_hash.equal_range(hash_tokens(prompt.data(), prompt.size(), 1));
    for (auto it = first; it != last; ++it) {
      auto candidate = split.example(it->second).prompt();
      if (std::equal(candidate.begin(), candidate.end(), prompt.begin(), prompt.end()))
        shared[it->second] = true;
    }
  }
  return static_cast<std::uint64_t>(std::count(shared.begin(), shared.end(), true));
}

}  // namespace lab
