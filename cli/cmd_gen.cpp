// `lab gen TASK --out DIR ...`: generate a dataset (TASKS.md) with the generators of generators/.
#include <chrono>
#include <iostream>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/count_option.h"
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

CLI::App* add_graph_command(CLI::App* gen, TaskKind task, GraphParams& params, GenFlags& flags) {
  bool shortest = task == TaskKind::shortest_path;
  CLI::App* app = gen->add_subcommand(
      std::string(enum_name(task)),
      shortest ? "Shortest paths on random graphs: prompt = edges + query (s, t); answer = a shortest path"
               : "Connectivity on random graphs: prompt = edges + query (s, t); answer = <yes> or <no>");
  params = graph_defaults(task);
  add_output_flags(app, flags);
  add_count_option(app, "--count", params.train_count, "Training examples");
  add_count_option(app, "--test-count", params.test_count, "Held-out test examples (disjoint from training)");
  app->add_option("--seed", params.seed, "Seed: the same seed gives byte-identical files")
      ->capture_default_str();
  app->add_option("--nodes-min", params.nodes_min, "Fewest vertices per graph")->capture_default_str();
  app->add_option("--nodes-max", params.nodes_max, "Most vertices per graph")->capture_default_str();
  app->add_option("--node-tokens", params.node_tokens, "Vertex label vocabulary (>= --nodes-max)")
      ->capture_default_str();
  app->add_option("--degree", params.degree, "Mean vertex degree of the Erdos-Renyi graphs")
      ->capture_default_str();
  app->add_option("--prompt-format", params.prompt_format,
                  "Prompt format: 2 writes each edge as `<e> u v`; 1 the old undelimited `u v u v ...` "
                  "(only to reproduce format-1 results: small models cannot tell its edges apart)")
      ->capture_default_str();
  if (shortest) {
    app->add_flag("--unique-paths", params.unique_paths,
                  "Only emit queries with exactly one shortest path (then `valid` and `exact` agree)");
  }
  return app;
}

CLI::App* add_two_hop_command(CLI::App* gen, TwoHopParams& params, GenFlags& flags) {
  CLI::App* app = gen->add_subcommand(
      std::string(enum_name(TaskKind::two_hop)),
      "Two-hop questions (the Mixture-of-Parrots theory's task): |V| labels split into ends and middles, "
      "each end joined to --degree middles; prompt = edges + two ends (s, t); answer = the one middle they "
      "share, or <no>");
  add_output_flags(app, flags);
  add_count_option(app, "--count", params.train_count, "Training examples");
  add_count_option(app, "--test-count", params.test_count, "Held-out test examples (disjoint from training)");
  app->add_option("--seed", params.seed, "Seed: the same seed gives byte-identical files")
      ->capture_default_str();
  app->add_option("--vertices", params.vertices,
                  "|V|: vertex labels, half ends and half middles per example (even, 4 to 1024); the width "
                  "knob")
      ->capture_default_str();
  app->add_option("--degree", params.degree, "Middles per end (at most --vertices / 4); 0 = --vertices / 8")
      ->capture_default_str();
  return app;
}

}  // namespace

Command add_gen_command(CLI::App& app, const GlobalOptions& global) {
  CLI::App* gen = app.add_subcommand(
      "gen",
      "Generate a dataset: shortest-path, connectivity, two-hop or phonebook (`lab gen TASK --help` for its "
      "flags)");
  gen->require_subcommand(1);

  auto sp = std::make_shared<GraphParams>();  // add_graph_command sets the task's defaults
  auto conn = std::make_shared<GraphParams>();
  auto two_hop = std::make_shared<TwoHopParams>();
  auto book = std::make_shared<PhonebookParams>();
  auto flags = std::make_shared<GenFlags>();
  CLI::App* sp_app = add_graph_command(gen, TaskKind::shortest_path, *sp, *flags);
  CLI::App* conn_app = add_graph_command(gen, TaskKind::connectivity, *conn, *flags);
  CLI::App* two_hop_app = add_two_hop_command(gen, *two_hop, *flags);

  CLI::App* book_app = gen->add_subcommand(
      std::string(enum_name(TaskKind::phonebook)),
      "A closed-book phone book: name -> 10-digit number; splits train (the book), test, control");
  add_output_flags(book_app, *flags);
  add_count_option(book_app, "--entries", book->entries, "Book size N (1 to 1e9)");
  CLI::Option* book_test_count = add_count_option(book_app, "--test-count", book->test_count,
                                                  "Recall queries drawn from the book (at most --entries)");
  add_count_option(book_app, "--control-count", book->control_count,
                   "Names not in the book, to measure guessing");
  book_app->add_option("--seed", book->seed, "Seed: the same seed gives byte-identical files")
      ->capture_default_str();
  book_app
      ->add_option("--first-names", book->first_names,
                   "File of first names, one per line (default: built-in)")
      ->option_text("FILE");
  book_app
      ->add_option("--last-names", book->last_names, "File of last names, one per line (default: built-in)")
      ->option_text("FILE");

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
