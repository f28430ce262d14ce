// `lab export-model RUN [--checkpoint FILE] [--out FILE]`: a run's weights as a model file, the
// safetensors file with config.json inside that python/lab_model.py loads (trainer/model_file.h).
#include <iostream>

#include <fmt/format.h>

#include "cli/commands.h"
#include "core/run_files.h"
#include "trainer/model_file.h"

namespace lab {

Command add_export_model_command(CLI::App& app, const GlobalOptions& global) {
  CLI::App* cmd =
      app.add_subcommand("export-model",
                         "Write a run's weights with its config.json as one safetensors file, for PyTorch "
                         "(python/lab_model.py) and other tools");
  struct Options {
    std::string run;
    std::string checkpoint;
    std::string out;
  };
  auto o = std::make_shared<Options>();
  cmd->add_option("RUN", o->run, "Run directory written by `lab train` or `lab run`")->required();
  cmd->add_option("--checkpoint", o->checkpoint, "Checkpoint file to export (default: the run's newest)")
      ->option_text("FILE");
  cmd->add_option("--out", o->out,
                  "File to write (default: RUN/model.safetensors, which `lab train` also writes when a run "
                  "finishes)")
      ->option_text("FILE.safetensors");
  return {cmd, [o, &global] {
            const std::filesystem::path out = o->out.empty()
                                                  ? std::filesystem::path(o->run) / run_files::kModelFile
                                                  : std::filesystem::path(o->out);
            export_model(o->run, o->checkpoint, out);
            if (!global.quiet) std::cerr << fmt::format("lab export-model: wrote {}\n", out.string());
          }};
}

}  // namespace lab
