// The preset parser (`lab run PRESET`) with any TOML text: every problem must be a lab::Error naming
// the file and the key, never a crash or another exception.
#include "core/error.h"
#include "experiments/preset.h"
#include "fuzz/bundle.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::filesystem::path file = lab::fuzz::write_input("preset.toml", data, size);
  try {
    lab::Preset preset = lab::load_preset(file);
    for (const lab::RunSpec& run : preset.runs) {
      (void)run.data.label();
      (void)run.data.id();
    }
  } catch (const lab::Error&) {
  }
  return 0;
}
