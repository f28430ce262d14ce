// `lab export DIR --split S --format jsonl|text [--limit K]`: examples on stdout.
#include <iostream>

#include "cli/commands.h"
#include "cli/count_option.h"
#include "generators/dataset_export.h"

namespace lab {

Command add_export_command(CLI::App& app, const GlobalOptions& global) {
  CLI::App* command = app.add_subcommand("export", "Print a split's examples as JSON lines or text");
  struct Flags {
    std::string dir;
    std::string split = "test";
    std::string format = "jsonl";
    std::uint64_t limit = 0;
    bool verify = false;
  };
  auto flags = std::make_shared<Flags>();
  command->add_option("DIR", flags->dir, "Dataset directory")->required();
  command->add_option("--split", flags->split, "Split to print (train, test; phonebook also control)")
      ->capture_default_str();
  command->add_option("--format", flags->format, "jsonl: one JSON object per line; text: prompt => answer")
      ->check(CLI::IsMember({"jsonl", "text"}))
      ->capture_default_str();
  add_count_option(command, "--limit", flags->limit, "Print at most this many examples (0: all)");
  command->add_flag("--verify", flags->verify,
                    "Check every file's checksum before printing (`lab verify DIR` alone); without it a "
                    "token changed inside the vocabulary is printed as it is");
  return {command, [flags, &global] {
            Dataset dataset = Dataset::open(flags->dir);
            if (flags->verify) {
              dataset.verify_checksums();
            } else if (!global.quiet) {
              std::cerr << "lab export: checksums not verified (sizes, bounds and token ids were); pass "
                           "--verify or run `lab verify "
                        << flags->dir << "`\n";
            }
            const DatasetSplit& split = dataset.split(flags->split);
            std::uint64_t n = flags->limit > 0 ? std::min(flags->limit, split.size()) : split.size();
            std::string line;
            for (std::uint64_t i = 0; i < n; ++i) {
              ExampleView example = split.example(i);
              line = flags->format == "jsonl" ? example_to_json(dataset, example, i).dump()
                                              : example_to_text(dataset, example);
              line += '\n';
              std::cout.write(line.data(), static_cast<std::streamsize>(line.size()));
            }
            std::cout.flush();
          }};
}

}  // namespace lab
