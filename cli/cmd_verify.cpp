// `lab verify DIR`: every check a reader makes, plus the checksum of every byte.
#include <iostream>

#include <fmt/format.h>

#include "cli/commands.h"
#include "generators/dataset_reader.h"

namespace lab {

Command add_verify_command(CLI::App& app, const GlobalOptions& global) {
  CLI::App* verify = app.add_subcommand(
      "verify", "Check a dataset: manifest checksum, file sizes, index bounds, token ids, file checksums");
  auto dir = std::make_shared<std::string>();
  verify->add_option("DIR", *dir, "Dataset directory")->required();
  return {verify, [dir, &global] {
            Dataset dataset = Dataset::open(*dir);
            dataset.verify_checksums();
            if (global.quiet) return;
            std::cout << fmt::format("{}: ok ({}", *dir, enum_name(dataset.task()));
            for (const std::string& name : dataset.split_names()) {
              std::cout << fmt::format(", {} {}", name, dataset.split(name).size());
            }
            std::cout << ")\n";
          }};
}

}  // namespace lab
