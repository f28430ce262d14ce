#pragma once
// The plumbing of the report's gnuplot figures: quoting, terminals for PNG and SVG, log-axis tics, a
// scratch directory for data files, and running one script that writes every figure, each renamed
// into place only when gnuplot succeeded (so files appear complete or not at all).

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace lab::gnuplot {

// A gnuplot single-quoted string: '' stands for a quote.
std::string gp_string(const std::string& s);

// Panels of a multiplot: 1, 2 or 3 columns.
struct Layout {
  int rows, cols;
};
Layout layout_for(std::size_t panels);

// The terminal lines for both outputs of figure `name` in `dir`: {terminal, output path} for the PNG
// and for the SVG. The script writes each output to its path + ".tmp".
std::vector<std::pair<std::string, std::string>> outputs(const std::filesystem::path& dir,
                                                         const std::string& name, Layout l);

// Tics at 1, 2 and 5 times the powers of ten that cover [lo, hi] (a log axis over less than a
// decade otherwise shows one label or none), with the range padded by 20% on each side.
std::string log_tics(std::pair<double, double> range);

// "plot A, \\\n     B\n": one gnuplot plot command of several series.
std::string plot_line(const std::vector<std::string>& plots);

// A scratch directory for data files and the script, beside the plots (`dir`, created).
std::filesystem::path start_work(const std::filesystem::path& dir);

// Runs the script (which writes NAME.png.tmp and NAME.svg.tmp for each name), renames the outputs
// into place, removes the scratch directory; notes for anything not drawn.
std::vector<std::string> finish(const std::filesystem::path& dir, const std::filesystem::path& work,
                                const std::string& script, const std::vector<std::string>& names);

}  // namespace lab::gnuplot
