#include "results/results_database.h"

#include <cmath>

#include <fmt/format.h>
#include <sqlite3.h>

#include "core/error.h"
#include "results/result_columns.h"

namespace lab {
namespace fs = std::filesystem;

ResultsDatabase::ResultsDatabase(const fs::path& file) : file_(file) {
  if (sqlite3_open(file.c_str(), &db_) != SQLITE_OK) {
    std::string message = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    fail("{}: cannot open the results database ({})", file.string(), message);
  }
  sqlite3_busy_timeout(db_, 10'000);  // another `lab report` or a shard writing at the same time
  exec("PRAGMA journal_mode=WAL");
  std::string runs = "CREATE TABLE IF NOT EXISTS runs (";
  for (const ResultColumn& c : result_column_table()) {
    runs += fmt::format("{}{} {}", c.name == result_column_table().front().name ? "" : ", ", c.name,
                        c.text ? "TEXT" : "REAL");
  }
  runs += ", PRIMARY KEY (run_id))";
  // A database of an older layout is rebuilt: every run is added again from its directory.
  if (user_version() < kSchemaVersion) {
    exec("DROP TABLE IF EXISTS runs");
    exec("DROP TABLE IF EXISTS curves");
    exec(fmt::format("PRAGMA user_version = {}", kSchemaVersion));
  }
  exec(runs);
  exec(
      "CREATE TABLE IF NOT EXISTS curves (run_id TEXT, step INTEGER, tokens REAL, loss REAL, eval_loss "
      "REAL, seconds REAL, probe_accuracy REAL, PRIMARY KEY (run_id, step))");
}
ResultsDatabase::~ResultsDatabase() { sqlite3_close(db_); }

ResultsDatabase::Statement::~Statement() { sqlite3_finalize(s); }

int ResultsDatabase::user_version() {
  Statement st;
  prepare(st, "PRAGMA user_version");
  return sqlite3_step(st.s) == SQLITE_ROW ? sqlite3_column_int(st.s, 0) : 0;
}

void ResultsDatabase::exec(const std::string& sql) {
  char* error = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
    std::string message = error ? error : "unknown error";
    sqlite3_free(error);
    fail("{}: {} (while running: {})", file_.string(), message, sql.substr(0, 60));
  }
}

void ResultsDatabase::prepare(Statement& st, const std::string& sql) {
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st.s, nullptr) != SQLITE_OK) {
    fail("{}: {}", file_.string(), sqlite3_errmsg(db_));
  }
}
void ResultsDatabase::step_done(Statement& st) {
  if (sqlite3_step(st.s) != SQLITE_DONE) fail("{}: {}", file_.string(), sqlite3_errmsg(db_));
  sqlite3_reset(st.s);
  sqlite3_clear_bindings(st.s);
}

std::vector<std::string> ResultsDatabase::stored(const std::string& run_id) {
  Statement st;
  std::string sql = "SELECT ";
  for (std::size_t i = 0; i < result_column_table().size(); ++i)
    sql += fmt::format("{}{}", i ? ", " : "", result_column_table()[i].name);
  prepare(st, sql + " FROM runs WHERE run_id = ?");
  sqlite3_bind_text(st.s, 1, run_id.c_str(), -1, SQLITE_TRANSIENT);
  std::vector<std::string> values;
  if (sqlite3_step(st.s) == SQLITE_ROW) {
    for (std::size_t i = 0; i < result_column_table().size(); ++i) {
      if (sqlite3_column_type(st.s, static_cast<int>(i)) == SQLITE_NULL) {
        values.emplace_back();
      } else if (result_column_table()[i].text) {
        values.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(st.s, static_cast<int>(i))));
      } else {
        values.push_back(format_number(sqlite3_column_double(st.s, static_cast<int>(i))));
      }
    }
  }
  return values;
}

void ResultsDatabase::upsert(const ResultRow& row, const std::vector<CurvePoint>& curve) {
  Statement st;
  std::string sql = "INSERT OR REPLACE INTO runs VALUES (";
  for (std::size_t i = 0; i < result_column_table().size(); ++i) sql += i ? ", ?" : "?";
  prepare(st, sql + ")");
  for (std::size_t i = 0; i < result_column_table().size(); ++i) {
    const ResultColumn& c = result_column_table()[i];
    const int at = static_cast<int>(i + 1);
    if (c.text) {
      sqlite3_bind_text(st.s, at, (row.*c.text).c_str(), -1, SQLITE_TRANSIENT);
    } else if (auto v = row.*c.value) {
      sqlite3_bind_double(st.s, at, *v);
    } else {
      sqlite3_bind_null(st.s, at);
    }
  }
  step_done(st);
  Statement del;
  prepare(del, "DELETE FROM curves WHERE run_id = ?");
  sqlite3_bind_text(del.s, 1, row.run_id.c_str(), -1, SQLITE_TRANSIENT);
  step_done(del);
  Statement ins;
  prepare(ins, "INSERT OR REPLACE INTO curves VALUES (?, ?, ?, ?, ?, ?, ?)");
  for (const CurvePoint& point : curve) {
    sqlite3_bind_text(ins.s, 1, row.run_id.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(ins.s, 2, static_cast<sqlite3_int64>(point.step));
    int at = 3;
    for (double v : {point.tokens, point.loss, point.eval_loss, point.seconds, point.probe_accuracy}) {
      if (std::isnan(v))
        sqlite3_bind_null(ins.s, at++);
      else
        sqlite3_bind_double(ins.s, at++, v);
    }
    step_done(ins);
  }
}

std::vector<std::string> ResultsDatabase::run_ids() {
  Statement st;
  prepare(st, "SELECT run_id FROM runs");
  std::vector<std::string> ids;
  while (sqlite3_step(st.s) == SQLITE_ROW)
    ids.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(st.s, 0)));
  return ids;
}

void ResultsDatabase::remove(const std::string& run_id) {
  for (const char* table : {"runs", "curves"}) {
    Statement st;
    prepare(st, fmt::format("DELETE FROM {} WHERE run_id = ?", table));
    sqlite3_bind_text(st.s, 1, run_id.c_str(), -1, SQLITE_TRANSIENT);
    step_done(st);
  }
}

}  // namespace lab
