// Damaged datasets: every reader check fails with a lab::Error naming the damaged file and saying what
// is wrong, never with a crash or an out-of-bounds read (the suite also runs under AddressSanitizer).
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "core/error.h"
#include "generators/dataset_export.h"
#include "generators/dataset_reader.h"
#include "generators/dataset_writer.h"
#include "generators/graph_generator.h"
#include "tests/generators/dataset_files.h"
#include "tests/support/temp_dir.h"

namespace lab {
namespace {

namespace fs = std::filesystem;
using test::read_text;
using test::write_text;

// A fresh small connectivity dataset in its own temporary directory.
class CorruptDataset : public ::testing::Test {
 protected:
  void SetUp() override {
    GraphParams params;
    params.task = TaskKind::connectivity;
    params.degree = 1.5;
    params.seed = 5;
    params.train_count = 256;  // an index of exactly one 4096-byte page
    params.test_count = 40;
    WriteOptions options;
    options.out = dir();
    options.quiet = true;
    write_dataset(GraphGenerator(params), options);
  }

  fs::path dir() const { return tmp_ / "data"; }
  fs::path file(const std::string& name) const { return dir() / name; }

  // The lab::Error message of opening the dataset (and verifying checksums if asked); "" if it succeeds.
  std::string error(bool verify) const {
    try {
      Dataset dataset = Dataset::open(dir());
      if (verify) dataset.verify_checksums();
      // A dataset that opens must be safe to read through completely.
      dataset_statistics(dataset);
      for (const std::string& name : dataset.split_names()) {
        const DatasetSplit& split = dataset.split(name);
        for (std::uint64_t i = 0; i < split.size(); ++i) example_to_json(dataset, split.example(i), i);
      }
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  }

  // Opening fails, naming `name`, with a message containing `what`.
  void expect_open_fails(const std::string& name, const std::string& what) const {
    std::string message = error(false);
    EXPECT_NE(message.find(file(name).string()), std::string::npos) << "'" << message << "'";
    EXPECT_NE(message.find(what), std::string::npos) << "'" << message << "'";
  }

  // Opening succeeds (sizes and bounds are fine), but verifying checksums fails naming `name`.
  void expect_checksum_fails(const std::string& name) const {
    EXPECT_EQ(error(false), "");
    std::string message = error(true);
    EXPECT_NE(message.find(file(name).string()), std::string::npos) << "'" << message << "'";
    EXPECT_NE(message.find("checksum"), std::string::npos) << "'" << message << "'";
  }

  void edit_record(const std::string& split, std::uint64_t record, std::uint64_t offset, std::uint32_t length,
                   std::uint32_t prompt_length) const {
    std::string bytes = read_text(file(split + ".index"));
    ASSERT_LE((record + 1) * 16, bytes.size());
    std::memcpy(bytes.data() + record * 16, &offset, 8);
    std::memcpy(bytes.data() + record * 16 + 8, &length, 4);
    std::memcpy(bytes.data() + record * 16 + 12, &prompt_length, 4);
    write_text(file(split + ".index"), bytes);
  }

  struct Record {
    std::uint64_t offset;
    std::uint32_t length, prompt_length;
  };
  Record record(const std::string& split, std::uint64_t i) const {
    std::string bytes = read_text(file(split + ".index"));
    Record r{};
    std::memcpy(&r.offset, bytes.data() + i * 16, 8);
    std::memcpy(&r.length, bytes.data() + i * 16 + 8, 4);
    std::memcpy(&r.prompt_length, bytes.data() + i * 16 + 12, 4);
    return r;
  }

 private:
  test::TempDir tmp_;
};

TEST_F(CorruptDataset, IntactDatasetOpensAndVerifies) {
  EXPECT_EQ(error(true), "");
  EXPECT_EQ(Dataset::open(dir()).split("train").size(), 256u);
}

TEST_F(CorruptDataset, TruncatedTokenFileIsReportedOnOpen) {
  for (std::size_t cut : {1u, 2u, 1000u}) {
    std::string bytes = read_text(file("train.tokens"));
    write_text(file("train.tokens"), bytes.substr(0, bytes.size() - cut));
    expect_open_fails("train.tokens", "bytes");
    write_text(file("train.tokens"), bytes);
  }
  write_text(file("test.tokens"), "");
  expect_open_fails("test.tokens", "truncated");
}

TEST_F(CorruptDataset, TruncatedOrExtendedIndexIsReportedOnOpen) {
  std::string bytes = read_text(file("train.index"));
  write_text(file("train.index"), bytes.substr(0, bytes.size() - 16));
  expect_open_fails("train.index", "bytes");
  write_text(file("train.index"), bytes.substr(0, bytes.size() - 3));
  expect_open_fails("train.index", "bytes");
  write_text(file("train.index"), bytes + std::string(16, '\0'));
  expect_open_fails("train.index", "bytes");
}

TEST_F(CorruptDataset, FlippedTokenByteIsCaughtByTheChecksum) {
  std::string bytes = read_text(file("train.tokens"));
  // Flip the low bit of a label token in the middle: still a valid token id, so only the checksum sees it.
  std::size_t at = bytes.size() / 2 & ~std::size_t{1};
  while (static_cast<unsigned char>(bytes[at]) < 8) at += 2;
  bytes[at] = static_cast<char>(bytes[at] ^ 1);
  write_text(file("train.tokens"), bytes);
  expect_checksum_fails("train.tokens");
}

TEST_F(CorruptDataset, TokenOutsideTheVocabularyIsReportedOnOpen) {
  std::string bytes = read_text(file("test.tokens"));
  bytes[bytes.size() - 1] = static_cast<char>(0xFF);  // the high byte of the last token: id >= 65280
  write_text(file("test.tokens"), bytes);
  expect_open_fails("test.tokens", "vocabulary");
}

TEST_F(CorruptDataset, FlippedIndexByteIsReportedOnOpenOrByTheChecksum) {
  const std::string original = read_text(file("train.index"));
  // Every single-bit flip in the first records: either opening rejects the index, or (a flip that keeps
  // the records consistent cannot exist here, since offsets are contiguous) the checksum does.
  for (std::size_t byte = 0; byte < 48; ++byte) {
    for (int bit : {0, 3, 7}) {
      std::string bytes = original;
      bytes[byte] = static_cast<char>(bytes[byte] ^ (1 << bit));
      write_text(file("train.index"), bytes);
      std::string message = error(true);
      EXPECT_NE(message.find(file("train.index").string()), std::string::npos)
          << "byte " << byte << " bit " << bit << ": '" << message << "'";
    }
  }
}

TEST_F(CorruptDataset, IndexRecordsOutOfBoundsAreReportedOnOpen) {
  const std::string original = read_text(file("train.index"));
  const Record first = record("train", 0), last = record("train", 255);
  const std::uint64_t tokens = last.offset + last.length;
  struct Case {
    std::uint64_t i, offset;
    std::uint32_t length, prompt_length;
  };
  const Case cases[] = {
      {255, last.offset, last.length + 1, last.prompt_length},  // runs past the end
      {255, last.offset, 0xFFFFFFFFu, last.prompt_length},      // far past the end
      {255, tokens, last.length, last.prompt_length},           // starts at the end
      {255, 1ULL << 60, last.length, last.prompt_length},       // starts far away
      {255, last.offset - 1, last.length, last.prompt_length},  // overlaps its neighbour
      {0, 0, 0, 0},                                             // empty example
      {0, 0, first.length, first.length + 1},                   // prompt longer than example
      {0, 0, first.length, 0xFFFFFFFFu},                        // prompt far longer
      {255, last.offset, last.length - 1, std::min(last.prompt_length, last.length - 1)},  // gap at the end
  };
  for (const Case& c : cases) {
    edit_record("train", c.i, c.offset, c.length, c.prompt_length);
    std::string message = error(false);
    EXPECT_NE(message.find(file("train.index").string()), std::string::npos)
        << "record " << c.i << " offset " << c.offset << " length " << c.length << ": '" << message << "'";
    write_text(file("train.index"), original);
  }
}

TEST_F(CorruptDataset, ExampleWithoutAnAnswerIsReportedOnOpen) {
  // Every example ends with an answer (at least <eos>); a record whose prompt is the whole example
  // would make readers index an empty answer.
  const Record last = record("test", 39);
  edit_record("test", 39, last.offset, last.length, last.length);
  expect_open_fails("test.index", "record 39");
}

TEST_F(CorruptDataset, EditedManifestFailsItsChecksum) {
  nlohmann::json manifest = nlohmann::json::parse(read_text(file("manifest.json")));
  manifest["splits"]["train"]["count"] = 255;
  write_text(file("manifest.json"), manifest.dump(2));
  expect_open_fails("manifest.json", "checksum");

  manifest = nlohmann::json::parse(read_text(file("manifest.json")));
  manifest["splits"]["train"]["count"] = 256;
  manifest["parameters"]["seed"] = 6;
  write_text(file("manifest.json"), manifest.dump(2));
  expect_open_fails("manifest.json", "checksum");
}

TEST_F(CorruptDataset, ReformattedManifestStillOpens) {
  // The checksum covers the content, not the whitespace.
  nlohmann::json manifest = nlohmann::json::parse(read_text(file("manifest.json")));
  write_text(file("manifest.json"), manifest.dump(7));
  EXPECT_EQ(error(true), "");
}

TEST_F(CorruptDataset, ManifestThatIsNotJsonOrMissesFieldsIsReported) {
  std::string text = read_text(file("manifest.json"));
  write_text(file("manifest.json"), text.substr(0, text.size() / 2));
  expect_open_fails("manifest.json", "JSON");
  write_text(file("manifest.json"), "[1, 2, 3]");
  expect_open_fails("manifest.json", "manifest");
  write_text(file("manifest.json"), "");
  expect_open_fails("manifest.json", "JSON");

  nlohmann::json manifest = nlohmann::json::parse(text);
  manifest.erase("manifest_crc32c");
  write_text(file("manifest.json"), manifest.dump());
  expect_open_fails("manifest.json", "missing");
}

TEST_F(CorruptDataset, AManifestWithoutAFileChecksumIsReportedOnOpen) {
  // Found by fuzz_dataset: with the manifest's own checksum recomputed, a split file without its
  // "crc32c" opened, and verify_checksums() then threw a JSON exception (an internal error, exit 1).
  for (const char* kind : {"tokens", "index"}) {
    nlohmann::json manifest = nlohmann::json::parse(read_text(file("manifest.json")));
    manifest["splits"]["test"]["files"][kind].erase("crc32c");
    manifest["manifest_crc32c"] = manifest_checksum(manifest);
    write_text(file("manifest.json"), manifest.dump(2));
    expect_open_fails("manifest.json", "missing or has the wrong type");
    manifest["splits"]["test"]["files"][kind]["crc32c"] = 7;  // not a string
    manifest["manifest_crc32c"] = manifest_checksum(manifest);
    write_text(file("manifest.json"), manifest.dump(2));
    expect_open_fails("manifest.json", "missing or has the wrong type");
  }
}

TEST_F(CorruptDataset, ManifestThatLiesConsistentlyIsCaughtByTheFileChecks) {
  // Someone edits the manifest and recomputes its checksum: the data files no longer agree with it.
  nlohmann::json manifest = nlohmann::json::parse(read_text(file("manifest.json")));
  manifest["splits"]["train"]["tokens"] = manifest["splits"]["train"]["tokens"].get<std::uint64_t>() + 1;
  manifest["manifest_crc32c"] = manifest_checksum(manifest);
  write_text(file("manifest.json"), manifest.dump(2));
  expect_open_fails("train.tokens", "bytes");

  manifest["splits"]["train"]["tokens"] = manifest["splits"]["train"]["tokens"].get<std::uint64_t>() - 1;
  manifest["splits"]["train"]["count"] = (1ULL << 60) + 256;  // count * 16 wraps around to the real size
  manifest["manifest_crc32c"] = manifest_checksum(manifest);
  write_text(file("manifest.json"), manifest.dump(2));
  expect_open_fails("train.index", "bytes");

  manifest["splits"]["train"]["count"] = 256;
  manifest["splits"]["train"]["files"]["index"]["crc32c"] = "00000000";
  manifest["manifest_crc32c"] = manifest_checksum(manifest);
  write_text(file("manifest.json"), manifest.dump(2));
  expect_checksum_fails("train.index");
}

TEST_F(CorruptDataset, MissingFilesAreReportedByName) {
  for (const char* name : {"train.tokens", "train.index", "test.tokens", "test.index", "manifest.json"}) {
    fs::rename(file(name), file(std::string(name) + ".moved"));
    expect_open_fails(name, name == std::string("manifest.json") ? "missing" : "cannot open");
    fs::rename(file(std::string(name) + ".moved"), file(name));
  }
  EXPECT_EQ(error(true), "");
}

TEST_F(CorruptDataset, DirectoryInPlaceOfAFileIsReported) {
  fs::remove(file("test.index"));
  fs::create_directory(file("test.index"));
  std::string message = error(false);
  EXPECT_NE(message.find(file("test.index").string()), std::string::npos) << message;
}

TEST_F(CorruptDataset, NonexistentDirectoryIsReported) {
  fs::remove_all(dir());
  std::string message = error(false);
  EXPECT_NE(message.find(dir().string()), std::string::npos) << message;
  EXPECT_NE(message.find("not a dataset directory"), std::string::npos) << message;
}

TEST_F(CorruptDataset, AskingForAMissingSplitOrExampleIsAnError) {
  Dataset dataset = Dataset::open(dir());
  EXPECT_THROW(dataset.split("control"), Error);
  EXPECT_THROW(dataset.split("train").example(256), Error);
  EXPECT_NO_THROW(dataset.split("train").example(255));
}

}  // namespace
}  // namespace lab
