// Leftovers of processes killed mid-write are removed, and only those: a live process's temporary
// files stay, and so does anything that merely looks similar.
#include "core/atomic_file.h"

#include <fstream>

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/support/temp_dir.h"

namespace lab {
namespace {

namespace fs = std::filesystem;

// The PID of a process that has exited and been reaped: no process runs under it now.
pid_t dead_pid() {
  const pid_t pid = fork();
  if (pid == 0) _exit(0);
  int status = 0;
  waitpid(pid, &status, 0);
  return pid;
}

TEST(StaleTemporaries, FilesAndPartialDirectoriesOfDeadProcessesGoTheRestStays) {
  test::TempDir dir;
  const std::string dead = std::to_string(dead_pid());
  const std::string alive = std::to_string(getpid());
  for (const std::string& name :
       {"step-00000010.pt.tmp-" + dead, "config.json.tmp-" + dead, "step-00000020.pt.tmp-" + alive,
        std::string("notes.tmp-later"), std::string("step-00000010.pt")}) {
    std::ofstream(dir / name) << "x";
  }
  fs::create_directories(dir / (".data.partial-" + dead) / "inner");
  fs::create_directories(dir / (".data.partial-" + alive));
  fs::create_directories(dir / ("data.partial-" + dead));  // not hidden: not the writer's name

  // In a user's directory only the dataset writer's own directories go.
  EXPECT_EQ(remove_stale_temporaries(dir.path(), Leftovers::partial_directories), 1);
  EXPECT_TRUE(fs::exists(dir / ("config.json.tmp-" + dead)));
  EXPECT_FALSE(fs::exists(dir / (".data.partial-" + dead)));
  fs::create_directories(dir / (".data.partial-" + dead));  // again, for the check of every kind

  EXPECT_EQ(remove_stale_temporaries(dir.path()), 3);
  EXPECT_FALSE(fs::exists(dir / ("step-00000010.pt.tmp-" + dead)));
  EXPECT_FALSE(fs::exists(dir / ("config.json.tmp-" + dead)));
  EXPECT_FALSE(fs::exists(dir / (".data.partial-" + dead)));
  EXPECT_TRUE(fs::exists(dir / ("step-00000020.pt.tmp-" + alive))) << "a live writer's file";
  EXPECT_TRUE(fs::exists(dir / (".data.partial-" + alive)));
  EXPECT_TRUE(fs::exists(dir / "notes.tmp-later"));
  EXPECT_TRUE(fs::exists(dir / "step-00000010.pt"));
  EXPECT_TRUE(fs::exists(dir / ("data.partial-" + dead)));
  EXPECT_EQ(remove_stale_temporaries(dir / "missing"), 0) << "a missing directory is nothing to do";
}

}  // namespace
}  // namespace lab
