#pragma once
// The command-line flags of a config struct with visit_fields() (core/fields.h): one option per
// field, named by the field's flag, with its help, group, placeholder and default; enums take their
// names; bools are plain flags; counts take 1e6 (cli/count_option.h). The ranges are checked by the struct's
// validate(), so the message is the same on the command line, in a preset and in a resumed run.

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/count_option.h"
#include "core/fields.h"

namespace lab {

// Adds a flag for every field of `config` that `wanted(field)` accepts, in the list's order, in the
// field's group (or `default_group`).
template <typename Config, typename Wanted>
void add_field_flags(CLI::App* app, Config& config, const std::string& default_group, Wanted wanted) {
  visit_fields(config, [&]<typename T>(T& value, const Field& field) {
    if (!field.on_command_line() || !wanted(field)) return;
    const std::string flag = field.flag();
    const std::string help(field.help());
    CLI::Option* option = nullptr;
    if constexpr (std::same_as<T, bool>) {
      option = app->add_flag(flag, value, help);
    } else if constexpr (NamedEnum<T>) {
      std::vector<std::string> names;
      for (const auto& entry : enum_names(T{})) names.emplace_back(entry.name);
      option = app->add_option_function<std::string>(
                      flag, [&value](const std::string& text) { value = *enum_from_name<T>(text); }, help)
                   ->check(CLI::IsMember(names))
                   ->default_str(std::string(enum_name(value)));
    } else if (field.is_count()) {
      if constexpr (std::same_as<T, std::uint64_t>) {
        option = add_count_option(app, flag, value, help);
      } else {
        throw std::logic_error("field " + std::string(field.name()) + ": a count must be a std::uint64_t");
      }
    } else {
      option = app->add_option(flag, value, help)->capture_default_str();
      if (!field.type_name().empty()) option->type_name(std::string(field.type_name()));
    }
    option->group(field.group().empty() ? default_group : std::string(field.group()));
  });
}

template <typename Config>
void add_field_flags(CLI::App* app, Config& config, const std::string& default_group) {
  add_field_flags(app, config, default_group, [](const Field&) { return true; });
}

}  // namespace lab
