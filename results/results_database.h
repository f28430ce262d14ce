#pragma once
// The results database (DIR/results.sqlite, WAL mode): table `runs`, one row per probed run in the
// columns of results/result_columns.h, and table `curves`, each run's metrics.jsonl by step. A
// database of an older layout is dropped and rebuilt from the run directories.

#include <filesystem>
#include <string>
#include <vector>

#include "results/report.h"

struct sqlite3;
struct sqlite3_stmt;

namespace lab {

class ResultsDatabase {
 public:
  explicit ResultsDatabase(const std::filesystem::path& file);  // lab::Error naming the file
  ~ResultsDatabase();
  ResultsDatabase(const ResultsDatabase&) = delete;
  ResultsDatabase& operator=(const ResultsDatabase&) = delete;

  // 2: curves gained `seconds`.
  // 3: path_first_hop and the error classes; 4: two-hop's vertices and error classes
  static constexpr int kSchemaVersion = 5;

  void exec(const std::string& sql);
  std::vector<std::string> stored(const std::string& run_id);  // the row of `run_id` as column texts
  void upsert(const ResultRow& row, const std::vector<CurvePoint>& curve);
  std::vector<std::string> run_ids();
  void remove(const std::string& run_id);

 private:
  struct Statement {
    sqlite3_stmt* s = nullptr;
    ~Statement();
  };
  int user_version();
  void prepare(Statement& st, const std::string& sql);
  void step_done(Statement& st);

  std::filesystem::path file_;
  sqlite3* db_ = nullptr;
};

}  // namespace lab
