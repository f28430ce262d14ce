#pragma once
// One function per subcommand, each defined in its own cli/cmd_<name>.cpp: it registers the
// subcommand's parser and flags on `app` and returns what runs when the user chooses it.

#include "cli/app.h"

namespace lab {

Command add_gen_command(CLI::App& app, const GlobalOptions& global);
Command add_verify_command(CLI::App& app, const GlobalOptions& global);
Command add_export_command(CLI::App& app, const GlobalOptions& global);
Command add_inspect_command(CLI::App& app, const GlobalOptions& global);
Command add_train_command(CLI::App& app, const GlobalOptions& global);
Command add_model_info_command(CLI::App& app, const GlobalOptions& global);
Command add_export_model_command(CLI::App& app, const GlobalOptions& global);
Command add_probe_command(CLI::App& app, const GlobalOptions& global);
Command add_run_command(CLI::App& app, const GlobalOptions& global);
Command add_report_command(CLI::App& app, const GlobalOptions& global);
Command add_fit_command(CLI::App& app, const GlobalOptions& global);

}  // namespace lab
