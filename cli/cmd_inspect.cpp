// `lab inspect DIR [--json]`: counts, length histogram, the task's distributions, the vocabulary.
#include <iostream>

#include "cli/commands.h"
#include "generators/dataset_export.h"

namespace lab {

Command add_inspect_command(CLI::App& app, const GlobalOptions&) {
  CLI::App* command = app.add_subcommand(
      "inspect",
      "Describe a dataset: counts, lengths, path-length / label / digit distributions, vocabulary");
  auto dir = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  command->add_option("DIR", *dir, "Dataset directory")->required();
  command->add_flag("--json", *json, "Print the statistics as one JSON object");
  return {command, [dir, json] {
            nlohmann::json statistics = dataset_statistics(Dataset::open(*dir));
            std::cout << (*json ? statistics.dump(2) + "\n" : format_statistics(statistics));
          }};
}

}  // namespace lab
