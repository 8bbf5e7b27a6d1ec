#pragma once
// Runs external programs for tests (registry, skopeo, curl, htpasswd)
// without a shell: argv goes straight to execvp, so no quoting bugs.
#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace envbuild::testing {

struct ProcessResult {
  int exit_code;  // the child's exit status; 128+N if killed by signal N; 124 on timeout
  std::string out;
  std::string err;  // on timeout, ends with a "[run_process: killed after ...]" line
};

// Runs argv[0] (looked up in PATH) with the current environment plus
// `extra_env` (overriding), stdin from /dev/null, and captures stdout and
// stderr. A child still running at `timeout` is killed with SIGKILL.
// Throws envbuild::Error(Internal) when the program cannot be started.
ProcessResult run_process(const std::vector<std::string>& argv,
                          const std::map<std::string, std::string>& extra_env = {},
                          std::chrono::seconds timeout = std::chrono::seconds(300));

// A long-running child (a server); terminated by the destructor.
class ChildProcess {
 public:
  ChildProcess() = default;
  explicit ChildProcess(pid_t pid) : pid_(pid) {}
  ~ChildProcess();
  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  // True while the child has not exited (reaps it if it has).
  bool running();
  // Sends `signal` if the child is still running.
  void kill(int signal);
  // Blocks until the child exits; returns its status as in ProcessResult.
  int wait();
  // SIGTERM, then SIGKILL if it has not exited after `grace`; reaps it.
  void terminate(std::chrono::milliseconds grace = std::chrono::milliseconds(3000));
  // Exit status once the child has been reaped, -1 before.
  int exit_code() const { return exit_code_; }

 private:
  pid_t pid_ = -1;
  int exit_code_ = -1;
};

// Starts argv like run_process, with stdout and stderr appended to `log_file`,
// and returns at once.
ChildProcess spawn_process(const std::vector<std::string>& argv,
                           const std::map<std::string, std::string>& extra_env,
                           const std::filesystem::path& log_file);

}  // namespace envbuild::testing
