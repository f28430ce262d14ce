// The run-directory reader behind `lab report`: config.json, metrics.jsonl, probe.json and run.json as
// a crash, a full disk or a hand edit could leave them (a bundle, fuzz/bundle.h). A bad run must be
// skipped with a note or a lab::Error, never crash the report.
#include "core/error.h"
#include "fuzz/bundle.h"
#include "results/report.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::vector<std::string> names = {"config.json", "metrics.jsonl", "probe.json", "run.json"};
  const std::filesystem::path& dir = lab::fuzz::scratch_dir();
  lab::fuzz::write_files(dir, lab::fuzz::unpack(data, size, names));
  try {
    std::string note;
    if (auto run = lab::read_run(dir, note)) {
      for (std::size_t i = 0; i < lab::result_columns().size(); ++i) (void)lab::result_value(run->row, i);
    }
  } catch (const lab::Error&) {
  }
  return 0;
}
