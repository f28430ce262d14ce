#include "results/gnuplot.h"

#include <cmath>
#include <fstream>

#include <fcntl.h>
#include <fmt/format.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/error.h"

extern char** environ;

namespace lab::gnuplot {
namespace fs = std::filesystem;

namespace {

// Runs gnuplot on `script`; an error message, or empty on success.
std::string run_gnuplot(const fs::path& script, const fs::path& log) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  std::string program = "gnuplot", path = script.string();
  char* argv[] = {program.data(), path.data(), nullptr};
  pid_t pid = 0;
  const int spawned = posix_spawnp(&pid, "gnuplot", &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) {
    return "gnuplot is not installed, so no plots were drawn (install gnuplot-nox, as scripts/setup.sh does; "
           "the database and CSV are complete)";
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return "";
  std::ifstream in(log);
  std::string first_lines, line;
  for (int i = 0; i < 5 && std::getline(in, line); ++i) first_lines += "\n  " + line;
  return fmt::format("gnuplot failed on {}:{}", script.string(), first_lines);
}

}  // namespace

std::string gp_string(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("''") : std::string(1, c);
  return q + "'";
}

Layout layout_for(std::size_t panels) {
  const int cols = panels <= 1 ? 1 : panels <= 4 ? 2 : 3;
  return {static_cast<int>((panels + cols - 1) / cols), cols};
}

std::vector<std::pair<std::string, std::string>> outputs(const fs::path& dir, const std::string& name,
                                                         Layout l) {
  const int w = 560 * l.cols, h = 420 * l.rows;
  return {{fmt::format("set terminal pngcairo size {},{} font 'sans,10' noenhanced", w, h),
           (dir / (name + ".png")).string()},
          {fmt::format("set terminal svg size {},{} dynamic font 'sans,10' noenhanced", w, h),
           (dir / (name + ".svg")).string()}};
}

std::string log_tics(std::pair<double, double> range) {
  auto [lo, hi] = range;
  if (!(lo > 0) || !(hi >= lo)) return "set xtics autofreq\nset format x '%.0s%c'\nset xrange [*:*]\n";
  lo /= 1.2;
  hi *= 1.2;
  std::string tics;
  for (double decade = std::pow(10.0, std::floor(std::log10(lo))); decade <= hi; decade *= 10) {
    for (double m : {1.0, 2.0, 5.0}) {
      const double v = m * decade;
      if (v < lo || v > hi) continue;
      const char* units[] = {"", "k", "M", "G", "T"};
      int u = 0;
      double shown = v;
      while (shown >= 1000 && u < 4) shown /= 1000, ++u;
      tics += fmt::format("{}'{:g}{}' {:g}", tics.empty() ? "" : ", ", shown, units[u], v);
    }
  }
  return fmt::format("set xrange [{:g}:{:g}]\nset xtics ({})\n", lo, hi, tics);
}

fs::path start_work(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) fail("{}: cannot create the plot directory ({})", dir.string(), ec.message());
  const fs::path work = dir / fmt::format(".tmp-{}", getpid());
  fs::remove_all(work, ec);
  fs::create_directories(work, ec);
  if (ec) fail("{}: cannot write ({})", work.string(), ec.message());
  return work;
}

std::vector<std::string> finish(const fs::path& dir, const fs::path& work, const std::string& script,
                                const std::vector<std::string>& names) {
  std::vector<std::string> notes;
  std::error_code ec;
  const fs::path script_file = work / "plots.gp";
  {
    std::ofstream out(script_file);
    out << script;
  }
  std::string error = run_gnuplot(script_file, work / "gnuplot.log");
  if (error.empty()) {
    for (const std::string& name : names) {
      for (const std::string ext : {".png", ".svg"}) {
        fs::rename(dir / (name + ext + ".tmp"), dir / (name + ext), ec);
        if (ec)
          notes.push_back(fmt::format("{}: not written ({})", (dir / (name + ext)).string(), ec.message()));
      }
    }
  } else {
    notes.push_back(error);
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      if (entry.path().extension() == ".tmp") fs::remove(entry.path(), ec);
    }
  }
  fs::remove_all(work, ec);
  return notes;
}

std::string plot_line(const std::vector<std::string>& plots) {
  std::string line = "plot ";
  for (std::size_t i = 0; i < plots.size(); ++i) line += (i ? ", \\\n     " : "") + plots[i];
  return line + "\n";
}

}  // namespace lab::gnuplot
