// Every field of ModelConfig, TrainConfig and the generators' parameters, walked through its one field
// list (core/fields.h), set to a value other than its default and read back through config.json (or
// the dataset's identity and manifest), a preset and the command line. A field added to a list without
// a path through any of them fails here.
#include <fstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <gtest/gtest.h>

#include "cli/field_flags.h"
#include "core/error.h"
#include "experiments/preset.h"
#include "generators/generator.h"
#include "models/model_config_json.h"
#include "tests/support/temp_dir.h"
#include "trainer/train_config_json.h"

namespace lab {
namespace {

// A value other than `value` that the field's range accepts: a bool flipped, another enum name,
// a number doubled (or halved, or 1 for 0), "cuda" for the device string.
template <typename T>
T other_value(const T& value, const Field& field) {
  if constexpr (std::same_as<T, bool>) {
    return !value;
  } else if constexpr (NamedEnum<T>) {
    for (const auto& entry : enum_names(T{})) {
      if (entry.value != value) return entry.value;
    }
    return value;
  } else if constexpr (std::same_as<T, std::string>) {
    return value == "cpu" ? "cuda" : "cpu";
  } else if constexpr (std::is_integral_v<T>) {
    const T doubled = value == 0 ? 1 : value * 2;
    if (field.range_error(doubled).empty()) return doubled;
    return field.range_error(value + 1).empty() ? value + 1 : value - 1;
  } else {
    return value == 0 ? (std::isfinite(field.highest()) ? field.highest() / 2 : 1.0) : value / 2;
  }
}

// The value as a TOML literal and as a command-line argument.
template <typename T>
std::string literal(const T& value, bool toml) {
  if constexpr (std::same_as<T, bool>) {
    return value ? "true" : "false";
  } else if constexpr (NamedEnum<T>) {
    return toml ? fmt::format("\"{}\"", enum_name(value)) : std::string(enum_name(value));
  } else if constexpr (std::same_as<T, std::string>) {
    return toml ? "\"" + value + "\"" : value;
  } else {
    return fmt::format("{}", value);
  }
}

// One field of `base` changed: the config it gives, and the field's key, TOML and CLI forms.
template <typename Config>
struct Change {
  std::string key;
  std::string flag;
  std::string toml_value;
  std::vector<std::string> cli_args;
  bool in_presets = true;
  bool on_command_line = true;
  Config expected;
};

template <typename Config>
std::vector<Change<Config>> one_change_per_field(const Config& base) {
  std::vector<Change<Config>> changes;
  std::size_t index = 0;
  visit_fields(base, [&]<typename T>(const T& value, const Field& field) {
    Change<Config> change{std::string(field.name()), field.flag(), "", {}, field.in_presets(),
                          field.on_command_line(),   base};
    std::size_t i = 0;
    visit_fields(change.expected, [&]<typename U>(U& target, const Field&) {
      if constexpr (std::same_as<T, U>) {
        if (i == index) target = other_value(value, field);
        if (i == index) {
          EXPECT_NE(target, value) << field.name() << ": no other value found in its range";
          if constexpr (FieldNumber<T>) {
            EXPECT_EQ(field.range_error(target), "") << field.name();
          }
          change.toml_value = literal(target, true);
          change.cli_args = {change.flag};
          if (!std::same_as<T, bool>) change.cli_args.push_back(literal(target, false));
        }
      }
      ++i;
    });
    changes.push_back(change);
    ++index;
  });
  return changes;
}

// A dense model, an MoE of 8 experts, and a fine-grained MoE: every model field has a base in which a
// change to it alone is valid.
ModelConfig base_for(const std::string& key) {
  ModelConfig c;
  c.vocab_size = c.max_seq_len = 0;  // a preset leaves them to the dataset
  if (key == "granularity" || key == "expansion") {
    c.ffn = FfnKind::moe;
    c.granularity = 1;
    c.expansion = 8;
  } else if (key == "experts" || key == "top_k" || key == "expert_width" || key == "router" ||
             key == "capacity_factor" || key == "group_size" || key == "load_balance_coef" ||
             key == "z_loss_coef" || key == "moe_output_norm") {
    c.ffn = FfnKind::moe;
    c.experts = 8;
  }
  return c;
}

std::string model_table(const ModelConfig& c) {
  std::string t;
  if (c.experts > 0) t += fmt::format("experts = {}\n", c.experts);
  if (c.granularity > 0) t += fmt::format("granularity = {}\nexpansion = {}\n", c.granularity, c.expansion);
  return t;
}

Preset load(const test::TempDir& dir, const std::string& train, const std::string& model) {
  const auto file = dir / "fields.toml";
  std::ofstream(file) << "[train]\n"
                      << train << "\n[[tasks]]\ntask = \"phonebook\"\nentries = 100\n\n[[models]]\n"
                      << model;
  return load_preset(file);
}

TEST(ConfigFields, EveryModelFieldRoundTripsThroughJsonPresetsAndFlags) {
  test::TempDir dir;
  std::vector<std::string> keys;
  const ModelConfig defaults;
  visit_fields(defaults, [&]<typename T>(const T&, const Field& f) { keys.emplace_back(f.name()); });
  std::size_t index = 0;
  for (const std::string& key : keys) {
    const ModelConfig base = base_for(key);
    const Change<ModelConfig> change = one_change_per_field(base).at(index++);
    ASSERT_EQ(change.key, key);
    SCOPED_TRACE(key);

    EXPECT_EQ(model_config_from_json(model_config_to_json(change.expected), "test"), change.expected);

    if (change.on_command_line) {
      CLI::App app;
      ModelConfig parsed = base;
      add_field_flags(&app, parsed, "Model");
      std::vector<std::string> args(change.cli_args.rbegin(), change.cli_args.rend());  // CLI11 pops the back
      app.parse(args);
      EXPECT_EQ(parsed, change.expected) << "flag " << change.flag;
    }

    if (!change.in_presets) continue;
    std::string table = model_table(base);
    if (key != "experts" && key != "granularity" && key != "expansion")
      table += key + " = " + change.toml_value + "\n";
    else
      table = model_table(change.expected);
    const Preset p = load(dir, "", table);
    ASSERT_EQ(p.runs.size(), 1u);
    EXPECT_EQ(p.runs[0].model, change.expected) << table;
  }
}

TEST(ConfigFields, EveryTrainFieldRoundTripsThroughJsonPresetsAndFlags) {
  test::TempDir dir;
  TrainConfig base;
  base.data_dir = "data";
  for (const Change<TrainConfig>& change : one_change_per_field(base)) {
    SCOPED_TRACE(change.key);
    TrainConfig read = train_config_from_json(train_config_to_json(change.expected), TrainConfig{}, "test");
    read.resume = false;  // reading a stored config is for resuming
    EXPECT_EQ(read, change.expected);

    CLI::App app;
    TrainConfig parsed = base;
    add_field_flags(&app, parsed, "Train");
    std::vector<std::string> args(change.cli_args.rbegin(), change.cli_args.rend());
    app.parse(args);
    EXPECT_EQ(parsed, change.expected) << "flag " << change.flag;

    if (!change.in_presets) continue;
    const Preset p = load(dir, change.key + " = " + change.toml_value + "\n", "d_model = 16\n");
    ASSERT_EQ(p.runs.size(), 1u);
    TrainConfig expected = change.expected;
    expected.data_dir = "";  // the runner's
    EXPECT_EQ(p.runs[0].train, expected);
  }
}

// The generator parameters of `task` that a [[tasks]] entry with only `task = ...` gives, then each
// field changed alone: by its `lab gen` flag, by its preset key, and found under its key in the
// dataset's identity (DataSpec::parameters) and manifest.
template <typename Params>
void expect_generator_fields_round_trip(TaskKind task, Params DataSpec::*params) {
  test::TempDir dir;
  const auto preset = [&](const std::string& keys) {
    const auto file = dir / "task.toml";
    std::ofstream(file) << fmt::format("[[tasks]]\ntask = \"{}\"\n{}\n[[models]]\nd_model = 16\n",
                                       enum_name(task), keys);
    const Preset p = load_preset(file);
    EXPECT_EQ(p.runs.size(), 1u);
    return p.runs.at(0).data;
  };
  const DataSpec base = preset("");
  for (const Change<Params>& change : one_change_per_field(base.*params)) {
    SCOPED_TRACE(fmt::format("{} {}", enum_name(task), change.key));

    ASSERT_TRUE(change.on_command_line);
    CLI::App app;
    Params parsed = base.*params;
    add_field_flags(&app, parsed, "Options");
    std::vector<std::string> args(change.cli_args.rbegin(), change.cli_args.rend());
    app.parse(args);
    EXPECT_EQ(parsed, change.expected) << "flag " << change.flag;

    if (!change.in_presets) continue;  // the phone book's name files: `lab gen` only
    EXPECT_EQ(preset(change.key + " = " + change.toml_value).*params, change.expected);

    DataSpec data = base;
    data.*params = change.expected;
    const std::string manifest_key = change.key == "count" ? "train_count" : change.key;
    const nlohmann::json expected = fields_to_json(change.expected).at(change.key);
    EXPECT_EQ(data.parameters().at(change.key), expected) << "the dataset's identity";
    EXPECT_EQ(data.generator()->parameters().at(manifest_key), expected) << "the manifest";
    EXPECT_NE(data.id(), base.id());
  }
}

TEST(ConfigFields, EveryGeneratorFieldRoundTripsThroughFlagsPresetsAndTheDatasetsIdentity) {
  expect_generator_fields_round_trip(TaskKind::shortest_path, &DataSpec::graph);
  expect_generator_fields_round_trip(TaskKind::connectivity, &DataSpec::graph);
  expect_generator_fields_round_trip(TaskKind::two_hop, &DataSpec::two_hop);
  expect_generator_fields_round_trip(TaskKind::phonebook, &DataSpec::book);
}

TEST(ConfigFields, ATaskKeyOfAnotherTaskNamesTheTasksThatHaveIt) {
  test::TempDir dir;
  const auto file = dir / "task.toml";
  std::ofstream(file) << "[[tasks]]\ntask = \"phonebook\"\ncount = 100\n\n[[models]]\nd_model = 16\n";
  try {
    load_preset(file);
    ADD_FAILURE() << "count accepted in a phone book";
  } catch (const Error& e) {
    EXPECT_NE(
        std::string(e.what()).find(
            "'count' is a shortest-path, connectivity and two-hop key; task \"phonebook\" has no such key"),
        std::string::npos)
        << e.what();
  }
}

TEST(ConfigFields, RangesAreCheckedWithTheFieldsName) {
  ModelConfig m;
  m.init_scale = 1000;
  try {
    m.validate();
    ADD_FAILURE() << "init_scale 1000 accepted";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "model config: init_scale must be at most 100, got 1000");
  }
  TrainConfig t;
  t.data_dir = "-";
  t.out_dir = "-";
  t.keep_checkpoints = 0;
  try {
    t.validate();
    ADD_FAILURE() << "keep_checkpoints 0 accepted";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "--keep-checkpoints must be between 1 and 1000, got 0");
  }
  EXPECT_EQ(Field("x", "").positive_or_zero("d_model").range_error(-1),
            "must be positive (or 0 for d_model), got -1");
  EXPECT_EQ(Field("x", "").at_least(0).below(1).range_error(1.0), "must be in [0, 1), got 1");
  EXPECT_EQ(Field("x", "").positive().range_error(std::nan("")), "must be positive, got nan");
  EXPECT_EQ(Field("x", "").at_least(0).range_error(HUGE_VAL), "must be a finite number, got inf");
}

}  // namespace
}  // namespace lab
