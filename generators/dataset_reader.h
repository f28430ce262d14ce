#pragma once
// Reads a dataset directory written by write_dataset: the manifest, then each split's token and index
// files memory-mapped. Opening always checks the manifest's own checksum, every file's size and every
// index record's bounds and token ids, so a truncated, replaced or edited file is reported (with its
// name and what is wrong) instead of read out of bounds. verify_checksums() also checks every byte.

#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tasks/task_kind.h"
#include "tasks/vocabulary.h"

namespace lab {

class MappedFile;

struct ExampleView {
  std::span<const Token> tokens;  // prompt ++ answer
  std::size_t prompt_length = 0;

  std::span<const Token> prompt() const { return tokens.first(prompt_length); }
  std::span<const Token> answer() const { return tokens.subspan(prompt_length); }
};

class DatasetSplit {
 public:
  const std::string& name() const { return name_; }
  std::uint64_t size() const { return count_; }
  std::uint32_t max_length() const { return max_length_; }
  ExampleView example(std::uint64_t index) const;  // index < size()

 private:
  friend class Dataset;
  std::string name_;
  std::uint64_t count_ = 0;
  std::uint32_t max_length_ = 0;
  std::shared_ptr<const MappedFile> tokens_;
  std::shared_ptr<const MappedFile> index_;
  std::string tokens_crc32c_, index_crc32c_;  // the manifest's checksums of the two files
};

class Dataset {
 public:
  // Throws lab::Error naming the file and the problem.
  static Dataset open(const std::filesystem::path& dir);
  // Opens the files of `dir` described by an in-memory manifest (the writer's check of its output).
  static Dataset from_manifest(const std::filesystem::path& dir, nlohmann::json manifest);

  const std::filesystem::path& dir() const { return dir_; }
  const nlohmann::json& manifest() const { return manifest_; }
  TaskKind task() const { return task_; }
  const Vocabulary& vocabulary() const { return vocabulary_; }
  std::vector<std::string> split_names() const;
  const DatasetSplit& split(std::string_view name) const;  // lab::Error if there is no such split

  // CRC-32C of every file against the manifest; throws lab::Error naming the first corrupt file.
  void verify_checksums() const;

 private:
  std::filesystem::path dir_;
  nlohmann::json manifest_;
  TaskKind task_ = TaskKind::phonebook;
  Vocabulary vocabulary_;
  std::vector<DatasetSplit> splits_;
};

// How many distinct examples of `split` have a prompt that also occurs in `from` (exact token match).
std::uint64_t count_shared_prompts(const DatasetSplit& split, const DatasetSplit& from);

}  // namespace lab
