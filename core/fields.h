#pragma once
// Config fields, described once. A config struct lists its fields in one function template next to
// the struct,
//
//   template <typename Config, typename Visit>  // Config: ModelConfig or const ModelConfig
//     requires std::same_as<std::remove_const_t<Config>, ModelConfig>
//   void visit_fields(Config& c, Visit&& visit) {
//     visit(c.d_model, Field("d_model", "Width of the residual stream").positive());
//     visit(c.norm, Field("norm", "Pre-norm kind"));  // an enum: its names come from enum_names()
//     ...
//   }
//
// and everything that needs the fields walks that list with its own visitor: validate() (the ranges),
// config.json in and out (core/field_json.h), the CLI flags (cli/field_flags.h), the preset keys
// (experiments/preset_toml.h), `lab model-info`. Adding a field is one line in that list. The
// generators' parameters (GraphParams, TwoHopParams, PhonebookParams) have lists too: their flags
// in `lab gen`, the keys of a preset's [[tasks]] entry, and the parameters in a dataset's identity
// and manifest.
//
// A visitor is called as visit(value, field) with value an integer, a double, a bool, a std::string
// or an enum with enum_names(); it dispatches on the value's type.

#include <cmath>
#include <concepts>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>

#include <fmt/format.h>

#include "core/error.h"

namespace lab {

// --- enum names ------------------------------------------------------------------------------------
//
// The names of an enum's values, declared once next to the enum and found by argument-dependent
// lookup:
//
//   inline constexpr EnumName<NormKind> kNormNames[] = {{"layer_norm", NormKind::layer_norm}, ...};
//   constexpr std::span<const EnumName<NormKind>> enum_names(NormKind) { return kNormNames; }

template <typename Enum>
struct EnumName {
  std::string_view name;
  Enum value;
};

template <typename T>
concept NamedEnum = std::is_enum_v<T> && requires(T v) {
  enum_names(v);
};

template <NamedEnum Enum>
constexpr std::string_view enum_name(Enum value) {
  for (const auto& entry : enum_names(Enum{})) {
    if (entry.value == value) return entry.name;
  }
  return "?";
}

template <NamedEnum Enum>
constexpr std::optional<Enum> enum_from_name(std::string_view name) {
  for (const auto& entry : enum_names(Enum{})) {
    if (entry.name == name) return entry.value;
  }
  return std::nullopt;
}

// "layer_norm or rms_norm", "warmup-linear, warmup-cosine or constant": for messages and help.
template <NamedEnum Enum>
std::string enum_name_list(Enum) {
  const auto names = enum_names(Enum{});
  std::string out;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += i + 1 == names.size() ? " or " : ", ";
    out += names[i].name;
  }
  return out;
}

// --- fields ----------------------------------------------------------------------------------------

// One field of a config struct: its key, its help line, its range and where it appears. Built with
// the chained setters below: Field("d_ff", "...").positive_or_zero("d_model").
class Field {
 public:
  constexpr Field(std::string_view name, std::string_view help) : name_(name), help_(help) {}

  // The key in config.json and in presets (snake_case), and the one-line help.
  constexpr std::string_view name() const { return name_; }
  constexpr std::string_view help() const { return help_; }

  // --- where it appears
  // The command-line flag; the default is "--" + the name with '-' for '_'.
  constexpr Field flag(std::string_view flag) const {
    return with([&](Field& f) { f.flag_ = flag; });
  }
  std::string flag() const {
    if (!flag_.empty()) return std::string(flag_);
    std::string out = "--" + std::string(name_);
    for (char& c : out) c = c == '_' ? '-' : c;
    return out;
  }
  // The CLI help group (the visitor's default when empty), and the placeholder for its value ("N").
  constexpr Field group(std::string_view group) const {
    return with([&](Field& f) { f.group_ = group; });
  }
  constexpr std::string_view group() const { return group_; }
  constexpr Field type_name(std::string_view t) const {
    return with([&](Field& f) { f.type_name_ = t; });
  }
  constexpr std::string_view type_name() const { return type_name_; }
  // Not a preset key (the dataset or the grid sets it).
  constexpr Field not_in_presets() const {
    return with([](Field& f) { f.in_presets_ = false; });
  }
  constexpr bool in_presets() const { return in_presets_; }
  // Neither a flag nor a preset key: derived from other fields, recorded in config.json.
  constexpr Field json_only() const {
    return with([](Field& f) { f.in_presets_ = false, f.on_command_line_ = false; });
  }
  constexpr bool on_command_line() const { return on_command_line_; }
  // config.json files written before the field existed lack it: reading them keeps the default.
  constexpr Field optional_in_json() const {
    return with([](Field& f) { f.optional_in_json_ = true; });
  }
  constexpr bool is_optional_in_json() const { return optional_in_json_; }
  // A count of examples or entries (a std::uint64_t): its flag also takes 1e6 and 1_000_000
  // (cli/count_option.h), as a preset takes 1e6.
  constexpr Field count() const {
    return with([](Field& f) { f.count_ = true; });
  }
  constexpr bool is_count() const { return count_; }

  // --- the range of a number (validate() checks it; so do presets, with the file position)
  constexpr Field positive() const {
    return with([](Field& f) { f.lo_ = 0, f.lo_open_ = true; });
  }
  // 0 is allowed and means `what`: "must be positive (or 0 for d_model)".
  constexpr Field positive_or_zero(std::string_view what) const {
    return with([&](Field& f) { f.lo_ = 0, f.lo_open_ = false, f.zero_means_ = what; });
  }
  constexpr Field at_least(double lo) const {
    return with([&](Field& f) { f.lo_ = lo, f.lo_open_ = false; });
  }
  constexpr Field at_most(double hi) const {
    return with([&](Field& f) { f.hi_ = hi, f.hi_open_ = false; });
  }
  constexpr Field below(double hi) const {
    return with([&](Field& f) { f.hi_ = hi, f.hi_open_ = true; });
  }
  constexpr double highest() const { return hi_; }

  // Empty if `value` is in range (and finite), else what is wrong with it, e.g. "must be positive,
  // got 0"; callers put the field's name (or flag, or file position) in front.
  template <typename T>
  requires std::is_arithmetic_v<T> std::string range_error(T value)
  const {
    const double v = static_cast<double>(value);
    const bool low = !(lo_open_ ? v > lo_ : v >= lo_) || std::isnan(v);
    const bool high = !(hi_open_ ? v < hi_ : v <= hi_) || std::isinf(v);
    if (!low && !high) return {};
    if (std::isinf(v) && std::isinf(hi_)) return fmt::format("must be a finite number, got {}", value);
    return fmt::format("must be {}, got {}", range_text(low), value);
  }
  // "positive", "positive (or 0 for d_model)", "at least 1", "at most 100", "between 1 and 2",
  // "in [0, 1)": both bounds when they are a plain interval, else the side that failed.
  std::string range_text(bool low_side_failed = true) const {
    const bool plain_interval =
        std::isfinite(lo_) && std::isfinite(hi_) && zero_means_.empty() && !(lo_ == 0 && lo_open_);
    if (plain_interval) {
      if (!lo_open_ && !hi_open_) return fmt::format("between {} and {}", lo_, hi_);
      return fmt::format("in {}{}, {}{}", lo_open_ ? '(' : '[', lo_, hi_, hi_open_ ? ')' : ']');
    }
    if (low_side_failed) {
      if (!zero_means_.empty()) return fmt::format("positive (or 0 for {})", zero_means_);
      if (lo_ == 0 && lo_open_) return "positive";
      return lo_open_ ? fmt::format("greater than {}", lo_) : fmt::format("at least {}", lo_);
    }
    return hi_open_ ? fmt::format("below {}", hi_) : fmt::format("at most {}", hi_);
  }

 private:
  template <typename Change>
  constexpr Field with(Change change) const {
    Field f = *this;
    change(f);
    return f;
  }

  std::string_view name_;
  std::string_view help_;
  std::string_view flag_;
  std::string_view group_;
  std::string_view type_name_;
  std::string_view zero_means_;
  double lo_ = -HUGE_VAL;
  double hi_ = HUGE_VAL;
  bool lo_open_ = false;
  bool hi_open_ = false;
  bool in_presets_ = true;
  bool on_command_line_ = true;
  bool optional_in_json_ = false;
  bool count_ = false;
};

// The value types a field may have.
template <typename T>
concept FieldNumber = std::is_arithmetic_v<T> && !std::same_as<T, bool>;

// lab::Error "--flag must be ..., got ..." for the first number of `config` outside its field's range:
// the part of a validate() that the field list says.
template <typename Config>
void check_field_ranges(const Config& config) {
  visit_fields(config, []<typename T>(const T& value, const Field& field) {
    if constexpr (FieldNumber<T>) {
      if (std::string e = field.range_error(value); !e.empty()) fail("{} {}", field.flag(), e);
    }
  });
}

}  // namespace lab
