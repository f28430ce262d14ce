#pragma once
// Reading a preset's TOML: values with errors that point into the file (FILE:LINE:COL), the keys each
// table accepts (setters, from the config structs' field lists where there is one), and grid axes
// (a key with one value or a list of values) with their cartesian product. Used by load_preset.

#include <cmath>
#include <concepts>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <toml++/toml.h>

#include "core/error.h"
#include "core/fields.h"
#include "experiments/preset.h"

namespace lab::preset_toml {

namespace fs = std::filesystem;

// A value as the user wrote it, for messages and run identities: 3, 0.5, "rope", true, a list.
std::string show(const toml::node& node);

struct Where {
  const fs::path* file;
  toml::source_region region;
};

// The source of a value a command-line override set (experiments/preset.cpp): "cmdline: KEY".
inline constexpr std::string_view kCmdlineSource = "cmdline: ";

// "FILE:LINE:COL: message", or "cmdline: KEY: message" for a value a command-line override set.
template <typename... Args>
[[noreturn]] void fail_at(const Where& where, fmt::format_string<Args...> format, Args&&... args) {
  const std::string message = fmt::format(format, std::forward<Args>(args)...);
  if (where.region.path && where.region.path->starts_with(kCmdlineSource)) {
    throw Error(fmt::format("{}: {}", *where.region.path, message));
  }
  throw Error(fmt::format("{}:{}:{}: {}", where.file->string(), where.region.begin.line,
                          where.region.begin.column, message));
}

// One key set to one scalar value.
struct Setting {
  std::string key;
  const toml::node* value;
  const fs::path* file;

  Where where() const { return {file, value->source()}; }

  std::int64_t integer(std::int64_t min, std::int64_t max = INT64_MAX) const {
    std::int64_t v = 0;
    if (auto i = value->value_exact<std::int64_t>()) {
      v = *i;
    } else if (auto d = value->value_exact<double>();
               d && std::isfinite(*d) && *d == std::floor(*d) && std::abs(*d) < 9.2e18) {
      v = static_cast<std::int64_t>(*d);  // 1e5 is a TOML float; a whole one is accepted as a count
    } else {
      fail_at(where(), "'{}' must be a whole number, got {}", key, describe());
    }
    if (v < min || v > max) {
      if (max == INT64_MAX) fail_at(where(), "'{}' must be at least {}, got {}", key, min, v);
      fail_at(where(), "'{}' must be between {} and {}, got {}", key, min, max, v);
    }
    return v;
  }
  double real(double min, double max = HUGE_VAL) const {
    auto d = value->value<double>();  // integers convert
    if (!d || !value->is_number()) fail_at(where(), "'{}' must be a number, got {}", key, describe());
    if (!std::isfinite(*d) || *d < min || *d > max) {
      if (max == HUGE_VAL) fail_at(where(), "'{}' must be at least {}, got {}", key, min, *d);
      fail_at(where(), "'{}' must be between {} and {}, got {}", key, min, max, *d);
    }
    return *d;
  }
  bool boolean() const {
    auto b = value->value_exact<bool>();
    if (!b) fail_at(where(), "'{}' must be true or false, got {}", key, describe());
    return *b;
  }
  std::string text() const {
    auto s = value->value_exact<std::string>();
    if (!s) fail_at(where(), "'{}' must be a string, got {}", key, describe());
    return *s;
  }
  // The value for `field` (core/fields.h), of the field's type and within its range.
  template <typename T>
  T as(const Field& field) const {
    if constexpr (std::same_as<T, bool>) {
      return boolean();
    } else if constexpr (std::same_as<T, std::string>) {
      return text();
    } else if constexpr (NamedEnum<T>) {
      const std::string s = text();
      if (auto v = enum_from_name<T>(s)) return *v;
      fail_at(where(), "'{}' must be {}, got \"{}\"", key, enum_name_list(T{}), s);
    } else {
      T v;
      if constexpr (std::is_unsigned_v<T>)
        v = static_cast<T>(integer(0));
      else if constexpr (std::is_integral_v<T>)
        v = static_cast<T>(integer(INT64_MIN));
      else
        v = real(-HUGE_VAL);
      if (std::string e = field.range_error(v); !e.empty()) fail_at(where(), "'{}' {}", key, e);
      return v;
    }
  }
  std::string describe() const { return show(*value); }
};

template <typename Config>
using Setters = std::map<std::string, std::function<void(Config&, const Setting&)>>;

// The preset keys of a struct with a field list (TrainConfig, ModelConfig): its fields that presets
// may set, each with the field's type and range.
template <typename Config>
Setters<Config> field_setters() {
  Setters<Config> setters;
  const Config defaults{};
  visit_fields(defaults, [&setters]<typename T>(const T&, const Field& field) {
    if (!field.in_presets()) return;
    setters[std::string(field.name())] = [](Config& c, const Setting& s) {
      visit_fields(c, [&s]<typename U>(U& value, const Field& f) {
        if (f.name() == s.key) value = s.template as<U>(f);
      });
    };
  });
  return setters;
}

// The keys of each table: [train], [model] and a [[tasks]] entry (their field lists).
const Setters<TrainConfig>& train_setters();
const Setters<ModelConfig>& model_setters();
const Setters<DataSpec>& data_setters();

// The keys of one table, each with its alternatives (one value, or a list: a grid axis).
struct Axis {
  std::string key;
  std::vector<const toml::node*> values;
};
using Section = std::vector<Axis>;

// Later settings of the same key replace earlier ones ([model] defaults, then the family's keys).
// Later settings of the same key replace earlier ones ([model] defaults, then the family's keys).
void merge(Section& into, const Section& from);

template <typename Config>
Section read_section(const toml::table& table, const fs::path& file, const Setters<Config>& setters,
                     const std::set<std::string>& reserved, std::string_view what) {
  Section section;
  for (const auto& [key_view, node] : table) {
    const std::string key(key_view.str());
    if (reserved.contains(key)) continue;
    if (!setters.contains(key)) {
      std::string known;
      for (const auto& [name, _] : setters) known += (known.empty() ? "" : ", ") + name;
      fail_at(Where{&file, node.source()}, "unknown key '{}' in {} (known keys: {})", key, what, known);
    }
    Axis axis{key, {}};
    if (const toml::array* list = node.as_array()) {
      if (list->empty())
        fail_at(Where{&file, node.source()}, "'{}' is an empty list; give at least one value", key);
      for (const toml::node& value : *list) {
        if (!value.is_value())
          fail_at(Where{&file, value.source()}, "'{}' lists must hold plain values", key);
        axis.values.push_back(&value);
      }
    } else if (node.is_value()) {
      axis.values.push_back(&node);
    } else {
      fail_at(Where{&file, node.source()}, "'{}' must be a value or a list of values, not a table", key);
    }
    section.push_back(std::move(axis));
  }
  return section;
}

// Every combination of the axes' values, the first axis varying slowest.
// Every combination of the axes' values, the first axis varying slowest.
std::vector<std::vector<Setting>> expand(const Section& section, const fs::path& file);

template <typename Config>
void apply(Config& config, const std::vector<Setting>& settings, const Setters<Config>& setters) {
  for (const Setting& s : settings) setters.at(s.key)(config, s);
}

// The table `key` of `parent`, or nullptr if there is none; lab::Error if it is not a table.
const toml::table* optional_table(const toml::table& parent, std::string_view key, const fs::path& file);

// The non-empty array of tables `key` ([[key]]) of `root`; lab::Error naming the file otherwise.
const toml::array& table_array(const toml::table& root, std::string_view key, const fs::path& file);

// Each setting's key and its value as written: a run's identity.
nlohmann::json settings_json(const std::vector<Setting>& settings);

// Run and dataset identities: 8 hex digits of a CRC-32C of the JSON text.
std::string hex8(std::uint32_t v);
std::uint32_t hash_json(const nlohmann::json& j);

}  // namespace lab::preset_toml
