#include "cli/app.h"

#include <iostream>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/runtime.h"
#include "cli/validators.h"
#include "core/error.h"
#include "core/interrupt.h"

namespace lab {
namespace {

constexpr const char* kDescription =
    "lab: do Mixture-of-Experts models gain memorization more than reasoning?\n"
    "Generates synthetic reasoning (shortest path, connectivity) and memorization (phone book)\n"
    "tasks, trains dense and MoE transformers on them, and measures accuracy against total and\n"
    "active parameters.";

constexpr int kExitUsage = 2;     // the user can fix it: bad flag, bad value, bad input file
constexpr int kExitInternal = 1;  // a bug or an environment failure the lab did not anticipate

// Every subcommand, in the order `lab --help` lists them.
std::vector<Command> add_commands(CLI::App& app, const GlobalOptions& global) {
  return {
      add_gen_command(app, global),          add_verify_command(app, global),
      add_export_command(app, global),       add_inspect_command(app, global),
      add_model_info_command(app, global),   add_train_command(app, global),
      add_export_model_command(app, global), add_probe_command(app, global),
      add_run_command(app, global),          add_report_command(app, global),
      add_fit_command(app, global),
  };
}

}  // namespace

int run_cli(int argc, char** argv) {
  CLI::App app(kDescription, "lab");
  app.get_formatter()->column_width(34);
  app.fallthrough();  // global flags may also follow the subcommand: `lab gen ... --threads 2`
  app.footer(
      "Run `lab COMMAND --help` for a command's flags. Exit codes: 0 ok, 2 bad input, 1 internal error.");

  GlobalOptions global;
  bool show_version = false;
  app.add_flag("--version", show_version, "Print version, git commit, LibTorch, BLAS and threads, then exit");
  app.add_option("--threads", global.threads, "Compute threads (LibTorch intra-op; default: all cores)")
      ->check(positive_number())
      ->option_text("N");
  add_enum_flag(
      &app, "--kernels", global.kernels,
      "fused (default): the fused CPU kernels where they apply (fp32 attention); reference: the plain "
      "LibTorch composition everywhere, to check a result against (slower)",
      {{"fused", Kernels::fused}, {"reference", Kernels::reference}})
      ->option_text("KIND");
  app.add_flag("-q,--quiet", global.quiet, "No progress bars or informational output; errors still print");

  std::vector<Command> commands = add_commands(app, global);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << fmt::format("lab: error: {}\nRun `lab --help` for usage.\n", e.what());
    return kExitUsage;
  }

  try {
    configure_runtime(global);
    if (show_version) {
      std::cout << version_text();
      return 0;
    }
    for (const Command& command : commands) {
      if (command.parser->parsed()) {
        command.run();
        return 0;
      }
    }
    std::cerr << app.help() << "\nlab: error: no command given.\n";
    return kExitUsage;
  } catch (const Interrupted& e) {
    std::cerr << "lab: " << e.what() << '\n';
    return 128 + e.signal();
  } catch (const Error& e) {
    std::cerr << "lab: error: " << e.what() << '\n';
    return kExitUsage;
  } catch (const PeerFailure& e) {
    std::cerr << "lab: error: " << e.what() << '\n';
    return kExitInternal;
  } catch (const std::exception& e) {
    std::cerr << "lab: internal error: " << e.what() << '\n';
    return kExitInternal;
  }
}

}  // namespace lab
