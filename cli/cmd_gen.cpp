// `lab gen TASK --out DIR ...`: generate a dataset (TASKS.md) with the generators of generators/.
#include <chrono>
#include <iostream>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/field_flags.h"
#include "cli/runtime.h"
#include "core/error.h"
#include "core/interrupt.h"
#include "generators/dataset_writer.h"
#include "generators/graph_generator.h"
#include "generators/phonebook_generator.h"
#include "generators/two_hop_generator.h"

namespace lab {
namespace {

struct GenFlags {
  std::string out;
  bool force = false;
};

void add_output_flags(CLI::App* app, GenFlags& flags) {
  app->add_option("--out", flags.out,
                  "Dataset directory to create (written under a temporary name, renamed when complete)")
      ->required()
      ->option_text("DIR");
  app->add_flag("--force", flags.force, "Replace --out if it exists and is not empty");
}

void run_generator(const Generator& generator, const GenFlags& flags, const GlobalOptions& global) {
  install_interrupt_handlers();
  auto start = std::chrono::steady_clock::now();
  WriteOptions options{flags.out, flags.force, global.threads > 0 ? global.threads : default_thread_count(),
                       global.quiet};
  nlohmann::json manifest = write_dataset(generator, options);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (global.quiet) return;
  std::cout << fmt::format("wrote {} ({}) in {:.1f} s\n", flags.out, enum_name(generator.task()), seconds);
  for (const SplitSpec& spec : generator.splits()) {
    const auto& split = manifest.at("splits").at(spec.name);
    const std::string& name = spec.name;
    std::cout << fmt::format("  {:<8} {:>10} examples {:>12} tokens\n", name,
                             split.at("count").get<std::uint64_t>(), split.at("tokens").get<std::uint64_t>());
  }
  for (const auto& rule : manifest.at("disjointness")) {
    std::cout << fmt::format("  prompts of '{}' also in '{}': {}\n", rule.at("split").get<std::string>(),
                             rule.at("from").get<std::string>(),
                             rule.at("shared_prompts").get<std::uint64_t>());
  }
}

// The subcommand `lab gen TASK`: --out, --force and the flags of the generator's fields.
template <typename Params>
CLI::App* add_task_command(CLI::App* gen, TaskKind task, std::string description, Params& params,
                           GenFlags& flags) {
  CLI::App* app = gen->add_subcommand(std::string(enum_name(task)), std::move(description));
  add_output_flags(app, flags);
  add_field_flags(app, params, "Options");
  return app;
}

}  // namespace

Command add_gen_command(CLI::App& app, const GlobalOptions& global) {
  CLI::App* gen = app.add_subcommand(
      "gen",
      "Generate a dataset: shortest-path, connectivity, two-hop or phonebook (`lab gen TASK --help` for its "
      "flags)");
  gen->require_subcommand(1);

  auto sp = std::make_shared<GraphParams>(graph_defaults(TaskKind::shortest_path));
  auto conn = std::make_shared<GraphParams>(graph_defaults(TaskKind::connectivity));
  auto two_hop = std::make_shared<TwoHopParams>();
  auto book = std::make_shared<PhonebookParams>();
  auto flags = std::make_shared<GenFlags>();
  CLI::App* sp_app = add_task_command(
      gen, TaskKind::shortest_path,
      "Shortest paths on random graphs: prompt = edges + query (s, t); answer = a shortest path", *sp,
      *flags);
  CLI::App* conn_app = add_task_command(
      gen, TaskKind::connectivity,
      "Connectivity on random graphs: prompt = edges + query (s, t); answer = <yes> or <no>", *conn, *flags);
  CLI::App* two_hop_app = add_task_command(
      gen, TaskKind::two_hop,
      "Two-hop questions (the Mixture-of-Parrots theory's task): |V| labels split into ends and middles, "
      "each end joined to --degree middles; prompt = edges + two ends (s, t); answer = the one middle they "
      "share, or <no>",
      *two_hop, *flags);
  CLI::App* book_app = add_task_command(
      gen, TaskKind::phonebook,
      "A closed-book phone book: name -> 10-digit number; splits train (the book), test, control", *book,
      *flags);
  const CLI::Option* book_test_count = book_app->get_option("--test-count");

  return {gen, [=, &global] {
            if (sp_app->parsed() || conn_app->parsed()) {
              GraphParams& params = sp_app->parsed() ? *sp : *conn;
              run_generator(GraphGenerator(params), *flags, global);
            } else if (two_hop_app->parsed()) {
              run_generator(TwoHopGenerator(*two_hop), *flags, global);
            } else if (book_app->parsed()) {
              if (book_test_count->count() == 0) book->shrink_default_test_count();
              run_generator(PhonebookGenerator(*book), *flags, global);
            }
          }};
}

}  // namespace lab
