// `lab probe RUN_DIR`: decode the held-out splits with the run's newest checkpoint, score them and
// write RUN_DIR/probe.json (probes/probe.h).
#include <cmath>
#include <iostream>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/validators.h"
#include "core/error.h"
#include "probes/probe.h"

namespace lab {
namespace {

void print_probe(const nlohmann::json& p) {
  const auto& m = p.at("metrics");
  auto pct = [](const nlohmann::json& v) {
    return v.is_number() ? fmt::format("{:.1f}%", 100 * v.get<double>()) : "n/a";
  };
  std::cout << fmt::format("{} ({}, step {}): {} parameters, {} active\n",
                           p.at("run").at("dir").get<std::string>(), p.at("task").get<std::string>(),
                           p.at("run").at("step").get<std::int64_t>(),
                           p.at("parameters").at("total").get<std::int64_t>(),
                           p.at("parameters").at("active").get<std::int64_t>());
  switch (parse_task(p.at("task").get<std::string>(), "probe.json")) {
    case TaskKind::phonebook:
      std::cout << fmt::format("  recall      {} exact, {} of digits ({} queries)\n",
                               pct(m.at("recall_exact")), pct(m.at("recall_per_digit")),
                               m.at("examples").get<std::int64_t>());
      std::cout << fmt::format("  control     {} exact, {} of digits (names not in the book)\n",
                               pct(m.at("control_exact")), pct(m.at("control_per_digit")));
      std::cout << fmt::format(
          "  memorized   ~{:.0f} of {:.0f} entries: {:.3f} bits per parameter, {:.3f} per active\n",
          m.at("memorized_entries").get<double>(), m.at("book_entries").get<double>(),
          m.at("bits_per_param_total").get<double>(), m.at("bits_per_param_active").get<double>());
      break;
    case TaskKind::shortest_path:
      std::cout << fmt::format("  held-out    {} valid, {} exact, {} right first hop ({} graphs)\n",
                               pct(m.at("path_valid")), pct(m.at("path_exact")), pct(m.at("path_first_hop")),
                               m.at("examples").get<std::int64_t>());
      break;
    case TaskKind::connectivity:
      std::cout << fmt::format("  held-out    {} accuracy, {} balanced ({} graphs)\n", pct(m.at("accuracy")),
                               pct(m.at("balanced_accuracy")), m.at("examples").get<std::int64_t>());
      break;
    case TaskKind::two_hop:
      std::cout << fmt::format(
          "  held-out    {} accuracy, {} balanced: {} with one shared middle, {} with none "
          "({} questions)\n",
          pct(m.at("accuracy")), pct(m.at("balanced_accuracy")), pct(m.at("one_middle_accuracy")),
          pct(m.at("no_middle_accuracy")), m.at("examples").get<std::int64_t>());
      break;
  }
  // Where the wrong answers go: every error class with its share of the probed examples.
  if (p.contains("errors")) {
    const nlohmann::json& errors =
        p.at("errors").contains("test") ? p.at("errors").at("test") : p.at("errors");
    std::string line;
    const auto examples = static_cast<double>(m.at("examples").get<std::int64_t>());
    for (const auto& [name, count] : errors.at("counts").items()) {
      if (name == "correct" || name == "exact" || count.get<long>() == 0) continue;
      line +=
          fmt::format("{}{} {:.1f}%", line.empty() ? "" : ", ", name, 100.0 * count.get<double>() / examples);
    }
    std::cout << fmt::format("  errors      {}\n", line.empty() ? "none" : line);
  }
  if (p.contains("predictions")) {
    std::cout << fmt::format("  predictions {} lines in {}\n",
                             p.at("predictions").at("lines").get<std::int64_t>(),
                             p.at("predictions").at("file").get<std::string>());
  }
  for (const auto& layer : p.at("routers")) {
    std::cout << fmt::format(
        "  router {}    imbalance {:.2f} (max/mean), routing entropy {:.2f} of {:.2f} nats\n",
        layer.at("layer").get<int>(), layer.at("imbalance").get<double>(),
        layer.at("routing_entropy").get<double>(), layer.at("routing_entropy_max").get<double>());
  }
  const auto& d = p.at("decode");
  std::cout << fmt::format("  decoded     {} answers in {:.2f} s ({:.0f}/s)\n",
                           d.at("answers").get<std::int64_t>(), d.at("seconds").get<double>(),
                           d.at("answers_per_second").get<double>());
}

}  // namespace

Command add_probe_command(CLI::App& app, const GlobalOptions& global) {
  CLI::App* cmd = app.add_subcommand(
      "probe",
      "Measure a trained run: held-out reasoning accuracy or phone-book recall, bits per parameter, router "
      "statistics; writes RUN/probe.json");
  struct Options {
    std::string run;
    std::string checkpoint;
    ProbeOptions probe;
    bool no_cache = false;
    bool json = false;
  };
  auto o = std::make_shared<Options>();
  cmd->add_option("RUN", o->run, "Run directory written by `lab train` or `lab run`")->required();
  cmd->add_option("--checkpoint", o->checkpoint, "Checkpoint file to probe (default: the run's newest)")
      ->option_text("FILE");
  cmd->add_option("--batch-size", o->probe.decode.batch_size, "Prompts decoded together")
      ->capture_default_str()
      ->check(positive_number());
  cmd->add_option("--limit", o->probe.limit, "Probe only the first N examples of each split (0: all)")
      ->capture_default_str()
      ->check(non_negative_number());
  cmd->add_flag("--no-cache", o->no_cache,
                "Decode without the KV cache (recompute every step; for comparison)");
  cmd->add_option(
         "--predictions", o->probe.predictions,
         "Also write every decoded answer to FILE, one JSON line per probed example: split, index, "
         "prompt, expected and decoded answer (text and ids), each metric's verdict and error class, "
         "and the example's facts (graph size, distance, number of shortest paths; the name)")
      ->option_text("FILE.jsonl");
  cmd->add_flag("--json", o->json, "Print probe.json instead of the summary");
  return {cmd, [o, &global] {
            o->probe.decode.use_cache = !o->no_cache;
            nlohmann::json result = probe_run(o->run, o->probe, o->checkpoint);
            if (o->json) {
              std::cout << result.dump(2) << "\n";
            } else if (!global.quiet) {
              print_probe(result);
            }
          }};
}

}  // namespace lab
