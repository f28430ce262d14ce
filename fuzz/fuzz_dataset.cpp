// The dataset reader with the files a damaged disk or a hostile user could hand `lab train`, `lab
// export` and `lab inspect`: manifest, index and tokens together (a bundle, fuzz/bundle.h). The
// manifest's own checksum is recomputed over whatever the input holds, so that the fuzzer explores
// what lies past that check (the sizes, bounds and token ids). Every path a reader takes runs:
// open, every example to JSON and text, the statistics, the shared-prompt count, the checksums.
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "fuzz/bundle.h"
#include "generators/dataset_export.h"
#include "generators/dataset_reader.h"
#include "generators/dataset_writer.h"
#include "generators/graph_generator.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::vector<std::string> names = {"manifest.json", "train.tokens", "train.index",
                                                 "test.tokens", "test.index"};
  auto files = lab::fuzz::unpack(data, size, names);
  for (auto& [name, bytes] : files) {
    if (name != "manifest.json") continue;
    nlohmann::json manifest = nlohmann::json::parse(bytes, nullptr, /*allow_exceptions=*/false);
    if (manifest.is_object()) {
      manifest["manifest_crc32c"] = lab::manifest_checksum(manifest);
      bytes = manifest.dump();
    }
  }
  const std::filesystem::path& dir = lab::fuzz::scratch_dir();
  lab::fuzz::write_files(dir, files);
  try {
    lab::Dataset dataset = lab::Dataset::open(dir);
    (void)lab::format_statistics(lab::dataset_statistics(dataset));
    (void)lab::graph_format_of(dataset.manifest());
    for (const std::string& name : dataset.split_names()) {
      const lab::DatasetSplit& split = dataset.split(name);
      for (std::uint64_t i = 0; i < split.size(); ++i) {
        lab::ExampleView example = split.example(i);
        (void)lab::example_to_json(dataset, example, i).dump();
        (void)lab::example_to_text(dataset, example);
      }
      (void)lab::count_shared_prompts(split, dataset.split(dataset.split_names().front()));
    }
    dataset.verify_checksums();
  } catch (const lab::Error&) {
    // A clear message for the user: what the reader must do with bad input.
  }
  return 0;
}
