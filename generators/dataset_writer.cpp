#include "generators/dataset_writer.h"

#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "core/atomic_file.h"
#include "core/build_info.h"
#include "core/crc32c.h"
#include "core/error.h"
#include "core/interrupt.h"
#include "core/progress.h"
#include "generators/dataset_format.h"
#include "generators/dataset_reader.h"

namespace lab {
namespace fs = std::filesystem;
namespace {

static_assert(std::endian::native == std::endian::little, "the dataset format is little-endian");

constexpr std::uint64_t kBlock = 1 << 15;  // examples generated between two writes

// A file written front to back, checksummed as it goes.
class ChecksummedFile {
 public:
  explicit ChecksummedFile(const fs::path& path) : path_(path), file_(std::fopen(path.c_str(), "wb")) {
    if (file_ == nullptr) fail("cannot create {}: {}", path.string(), std::strerror(errno));
    std::setvbuf(file_, nullptr, _IOFBF, 1 << 20);
  }
  ~ChecksummedFile() {
    if (file_ != nullptr) std::fclose(file_);
  }
  ChecksummedFile(const ChecksummedFile&) = delete;
  ChecksummedFile& operator=(const ChecksummedFile&) = delete;

  void write(const void* data, std::size_t bytes) {
    if (bytes == 0) return;
    if (std::fwrite(data, 1, bytes, file_) != bytes)
      fail("cannot write {}: {}", path_.string(), std::strerror(errno));
    crc_ = crc32c(crc_, data, bytes);
    bytes_ += bytes;
  }

  nlohmann::json close() {
    int rc = std::fclose(file_);
    file_ = nullptr;
    if (rc != 0) fail("cannot write {}: {}", path_.string(), std::strerror(errno));
    return {{"name", path_.filename().string()}, {"bytes", bytes_}, {"crc32c", fmt::format("{:08x}", crc_)}};
  }

 private:
  fs::path path_;
  std::FILE* file_;
  std::uint32_t crc_ = 0;
  std::uint64_t bytes_ = 0;
};

// The examples one thread generated for one block, offsets relative to the chunk.
struct Chunk {
  std::vector<Token> tokens;
  std::vector<IndexRecord> records;
};

void generate_chunk(const Generator& generator, std::size_t split, std::uint64_t begin, std::uint64_t end,
                    Chunk& chunk) {
  chunk.tokens.clear();
  chunk.records.clear();
  for (std::uint64_t i = begin; i < end; ++i) {
    const std::size_t before = chunk.tokens.size();
    const std::size_t prompt_length = generator.generate(split, i, chunk.tokens);
    chunk.records.push_back({before, static_cast<std::uint32_t>(chunk.tokens.size() - before),
                             static_cast<std::uint32_t>(prompt_length)});
  }
}

nlohmann::json write_split(const Generator& generator, std::size_t split, const SplitSpec& spec,
                           const fs::path& dir, const WriteOptions& options) {
  ChecksummedFile tokens(dir / tokens_file(spec.name));
  ChecksummedFile index(dir / index_file(spec.name));
  Progress progress(fmt::format("{} {}", enum_name(generator.task()), spec.name), spec.count, options.quiet);
  const int threads = std::max(1, options.threads);
  std::vector<Chunk> chunks(threads);
  std::uint64_t offset = 0;
  std::uint32_t max_length = 0;

  for (std::uint64_t start = 0; start < spec.count; start += kBlock) {
    throw_if_interrupted();
    const std::uint64_t n = std::min(kBlock, spec.count - start);
    // Thread t generates examples [start + n*t/T, start + n*(t+1)/T): contiguous, written in order.
    std::vector<std::exception_ptr> errors(threads);
    auto work = [&](int t) {
      try {
        generate_chunk(generator, split, start + n * t / threads, start + n * (t + 1) / threads, chunks[t]);
      } catch (...) {
        errors[t] = std::current_exception();
      }
    };
    std::vector<std::thread> workers;
    for (int t = 1; t < threads; ++t) workers.emplace_back(work, t);
    work(0);
    for (std::thread& worker : workers) worker.join();
    for (const std::exception_ptr& error : errors) {
      if (error) std::rethrow_exception(error);
    }

    for (Chunk& chunk : chunks) {
      for (IndexRecord& record : chunk.records) {
        record.offset += offset;
        max_length = std::max(max_length, record.length);
      }
      tokens.write(chunk.tokens.data(), chunk.tokens.size() * sizeof(Token));
      index.write(chunk.records.data(), chunk.records.size() * sizeof(IndexRecord));
      offset += chunk.tokens.size();
    }
    progress.update(start + n);
  }
  progress.finish();
  return {{"count", spec.count},
          {"tokens", offset},
          {"max_length", max_length},
          {"files", {{"tokens", tokens.close()}, {"index", index.close()}}}};
}

// Refuses an output the user would not want overwritten, before any work is done.
void check_output(const fs::path& out, bool force) {
  std::error_code ec;
  fs::file_status status = fs::status(out, ec);
  if (!fs::exists(status)) return;
  if (!fs::is_directory(status)) fail("--out {} exists and is not a directory", out.string());
  if (!fs::is_empty(out, ec) && !force) {
    fail("--out {} exists and is not empty; choose another directory or pass --force to replace it",
         out.string());
  }
}

// Estimates the bytes a dataset needs from the first examples of each split, and compares with the
// free space, so that a huge --count fails at once rather than after filling the disk.
void check_free_space(const Generator& generator, const fs::path& dir) {
  double bytes = 0;
  std::vector<SplitSpec> splits = generator.splits();
  for (std::size_t s = 0; s < splits.size(); ++s) {
    std::uint64_t probe = std::min<std::uint64_t>(splits[s].count, 64);
    if (probe == 0) continue;
    std::vector<Token> tokens;
    for (std::uint64_t i = 0; i < probe; ++i) generator.generate(s, i, tokens);
    double per_example = static_cast<double>(tokens.size() * sizeof(Token)) / probe + sizeof(IndexRecord);
    bytes += per_example * static_cast<double>(splits[s].count);
  }
  struct statvfs fs_info {};
  if (statvfs(dir.c_str(), &fs_info) != 0) return;
  double free_bytes = static_cast<double>(fs_info.f_bavail) * static_cast<double>(fs_info.f_frsize);
  if (bytes > 0.95 * free_bytes) {
    fail("the dataset needs about {:.1f} GB but {} has {:.1f} GB free; lower --count / --entries",
         bytes / 1e9, dir.string(), free_bytes / 1e9);
  }
}

// Removes the temporary directory unless the dataset was put in place.
class TemporaryDirectory {
 public:
  explicit TemporaryDirectory(fs::path path) : path_(std::move(path)) {
    std::error_code ec;
    fs::remove_all(path_, ec);  // a stale one from a killed run of this process id
    if (!fs::create_directory(path_, ec)) {
      fail("cannot create {}: {}; is the directory writable?", path_.string(), ec.message());
    }
  }
  ~TemporaryDirectory() {
    if (!kept_) {
      std::error_code ec;
      fs::remove_all(path_, ec);
    }
  }
  TemporaryDirectory(const TemporaryDirectory&) = delete;
  TemporaryDirectory& operator=(const TemporaryDirectory&) = delete;

  const fs::path& path() const { return path_; }
  void keep() { kept_ = true; }

 private:
  fs::path path_;
  bool kept_ = false;
};

void put_in_place(const fs::path& temporary, const fs::path& out) {
  std::error_code ec;
  if (fs::exists(out) && !fs::is_empty(out)) {
    fs::path old = out;
    old += fmt::format(".old-{}", getpid());
    fs::rename(out, old, ec);
    if (ec) fail("cannot replace {}: {}", out.string(), ec.message());
    fs::rename(temporary, out, ec);
    if (ec) fail("cannot rename {} to {}: {}", temporary.string(), out.string(), ec.message());
    fs::remove_all(old, ec);
    return;
  }
  if (fs::exists(out)) fs::remove(out, ec);  // an empty directory
  fs::rename(temporary, out, ec);
  if (ec) fail("cannot rename {} to {}: {}", temporary.string(), out.string(), ec.message());
}

}  // namespace

std::string manifest_checksum(const nlohmann::json& manifest) {
  nlohmann::json body = manifest;
  body.erase("manifest_crc32c");
  std::string text = body.dump();
  return fmt::format("{:08x}", crc32c(0, text.data(), text.size()));
}

nlohmann::json write_dataset(const Generator& generator, const WriteOptions& options) {
  fs::path out = options.out.lexically_normal();
  if (out.has_filename() == false) out = out.parent_path();
  if (out.empty()) fail("--out must name a directory");
  check_output(out, options.force);

  fs::path parent = fs::absolute(out).parent_path();
  std::error_code ec;
  fs::create_directories(parent, ec);
  if (ec) fail("cannot create the directory {}: {}", parent.string(), ec.message());
  check_free_space(generator, parent);
  remove_stale_temporaries(parent, Leftovers::partial_directories);  // of writers killed mid-write

  TemporaryDirectory temporary(parent / fmt::format(".{}.partial-{}", out.filename().string(), getpid()));

  const Vocabulary& vocabulary = generator.vocabulary();
  nlohmann::json manifest = {{"format", "lab-dataset"},
                             {"format_version", kDatasetFormatVersion},
                             {"task", generator.task()},
                             {"generator_version", kGeneratorVersion},
                             {"lab_version", std::string(project_version())},
                             {"parameters", generator.parameters()},
                             {"vocabulary", vocabulary.texts()},
                             {"vocabulary_separator", vocabulary.separator()}};
  std::vector<SplitSpec> splits = generator.splits();
  for (std::size_t s = 0; s < splits.size(); ++s) {
    manifest["splits"][splits[s].name] = write_split(generator, s, splits[s], temporary.path(), options);
  }

  // Prove the disjointness the generator promises on the bytes actually written.
  manifest["disjointness"] = nlohmann::json::array();
  {
    nlohmann::json draft = manifest;
    draft["manifest_crc32c"] = manifest_checksum(draft);
    Dataset written = Dataset::from_manifest(temporary.path(), draft);
    for (const DisjointSplits& rule : generator.disjoint_splits()) {
      std::uint64_t overlap = count_shared_prompts(written.split(rule.split), written.split(rule.from));
      manifest["disjointness"].push_back(
          {{"split", rule.split}, {"from", rule.from}, {"shared_prompts", overlap}});
      if (overlap != 0) {
        throw std::logic_error(
            fmt::format("{} prompts of split {} also occur in {}", overlap, rule.split, rule.from));
      }
    }
  }
  manifest["manifest_crc32c"] = manifest_checksum(manifest);

  {
    fs::path path = temporary.path() / kManifestFile;
    std::FILE* file = std::fopen(path.c_str(), "wb");
    if (file == nullptr) fail("cannot create {}: {}", path.string(), std::strerror(errno));
    std::string text = manifest.dump(2) + "\n";
    bool ok = std::fwrite(text.data(), 1, text.size(), file) == text.size();
    ok = (std::fclose(file) == 0) && ok;
    if (!ok) fail("cannot write {}", path.string());
  }
  throw_if_interrupted();
  put_in_place(temporary.path(), out);
  temporary.keep();
  return manifest;
}

}  // namespace lab
