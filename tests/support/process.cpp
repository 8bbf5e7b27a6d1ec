#include "tests/support/process.hpp"

#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "registry/error.hpp"
#include "registry/unique_fd.hpp"

extern char** environ;

namespace envbuild::testing {
namespace {

using Clock = std::chrono::steady_clock;

// argv and envp as C arrays, built before fork: a forked child of a
// multithreaded process may only call async-signal-safe functions.
class ExecImage {
 public:
  ExecImage(const std::vector<std::string>& argv,
            const std::map<std::string, std::string>& extra_env)
      : args_(argv) {
    if (args_.empty()) throw Error(ErrorKind::Internal, "run_process: empty argv");
    for (char** e = environ; e && *e; ++e) {
      std::string entry(*e);
      auto eq = entry.find('=');
      if (eq != std::string::npos && extra_env.count(entry.substr(0, eq))) continue;
      env_.push_back(std::move(entry));
    }
    for (const auto& [key, value] : extra_env) env_.push_back(key + "=" + value);
    for (auto& a : args_) argv_ptrs_.push_back(a.data());
    argv_ptrs_.push_back(nullptr);
    for (auto& e : env_) env_ptrs_.push_back(e.data());
    env_ptrs_.push_back(nullptr);
  }
  const std::string& program() const { return args_.front(); }
  char* const* argv() const { return argv_ptrs_.data(); }
  char* const* envp() const { return env_ptrs_.data(); }

 private:
  std::vector<std::string> args_;
  std::vector<std::string> env_;
  std::vector<char*> argv_ptrs_;
  std::vector<char*> env_ptrs_;
};

[[noreturn]] void fail_errno(const std::string& what) {
  throw Error(ErrorKind::Internal, what + ": " + std::strerror(errno));
}

int decode_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

// Forks and execs `image` with the given stdio; throws if exec fails (the
// child reports its errno through a close-on-exec pipe).
pid_t launch(const ExecImage& image, int in_fd, int out_fd, int err_fd) {
  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0) fail_errno("pipe2");
  UniqueFd report_read(report[0]);
  UniqueFd report_write(report[1]);
  pid_t pid = ::fork();
  if (pid < 0) fail_errno("fork for " + image.program());
  if (pid == 0) {
    ::dup2(in_fd, 0);
    ::dup2(out_fd, 1);
    ::dup2(err_fd, 2);
    // Don't leak the test's sockets to the child: a child holding a copy
    // of a proxied socket would keep the peer from seeing it close.
    ::syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);
    ::execvpe(image.program().c_str(), image.argv(), image.envp());
    int code = errno;
    ssize_t ignored = ::write(report[1], &code, sizeof code);
    (void)ignored;
    ::_exit(127);
  }
  report_write.reset();
  int code = 0;
  ssize_t n;
  do {
    n = ::read(report_read.get(), &code, sizeof code);
  } while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(sizeof code)) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    throw Error(ErrorKind::Internal, "cannot run " + image.program() + ": " + std::strerror(code));
  }
  return pid;
}

UniqueFd open_dev_null() {
  int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail_errno("open /dev/null");
  return UniqueFd(fd);
}

// Blocking waitpid that survives EINTR; returns decoded status.
int reap(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return decode_status(status);
}

}  // namespace

ProcessResult run_process(const std::vector<std::string>& argv,
                          const std::map<std::string, std::string>& extra_env,
                          std::chrono::seconds timeout) {
  ExecImage image(argv, extra_env);
  UniqueFd dev_null = open_dev_null();
  int out_pipe[2], err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) fail_errno("pipe2");
  UniqueFd out_read(out_pipe[0]), out_write(out_pipe[1]);
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) fail_errno("pipe2");
  UniqueFd err_read(err_pipe[0]), err_write(err_pipe[1]);

  pid_t pid = launch(image, dev_null.get(), out_write.get(), err_write.get());
  out_write.reset();
  err_write.reset();

  ProcessResult result{-1, {}, {}};
  const auto deadline = Clock::now() + timeout;
  bool timed_out = false;
  // Drain both pipes together so a child filling one can't deadlock us.
  pollfd fds[2] = {{out_read.get(), POLLIN, 0}, {err_read.get(), POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  int open_count = 2;
  char buffer[65536];
  while (open_count > 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    int ready = ::poll(fds, 2, static_cast<int>(std::min<long long>(left.count(), 1000)));
    if (ready < 0 && errno != EINTR) fail_errno("poll");
    for (int i = 0; i < 2 && ready > 0; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      ssize_t n = ::read(fds[i].fd, buffer, sizeof buffer);
      if (n > 0) {
        sinks[i]->append(buffer, static_cast<size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        fds[i].fd = -1;  // poll ignores negative fds
        --open_count;
      }
    }
  }
  // The child may have closed its output but still run: wait for it, bounded.
  int status = 0;
  while (!timed_out) {
    pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) {
      result.exit_code = decode_status(status);
      return result;
    }
    if (done < 0 && errno != EINTR) fail_errno("waitpid");
    if (Clock::now() >= deadline) {
      timed_out = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::kill(pid, SIGKILL);
  reap(pid);
  result.exit_code = 124;
  result.err += "\n[run_process: killed after " + std::to_string(timeout.count()) +
                " s: " + image.program() + "]\n";
  return result;
}

ChildProcess spawn_process(const std::vector<std::string>& argv,
                           const std::map<std::string, std::string>& extra_env,
                           const std::filesystem::path& log_file) {
  ExecImage image(argv, extra_env);
  UniqueFd dev_null = open_dev_null();
  UniqueFd log(::open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  if (log.get() < 0) fail_errno("open " + log_file.string());
  return ChildProcess(launch(image, dev_null.get(), log.get(), log.get()));
}

ChildProcess::~ChildProcess() { terminate(); }

ChildProcess::ChildProcess(ChildProcess&& other) noexcept
    : pid_(other.pid_), exit_code_(other.exit_code_) {
  other.pid_ = -1;
}

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
  if (this != &other) {
    terminate();
    pid_ = other.pid_;
    exit_code_ = other.exit_code_;
    other.pid_ = -1;
  }
  return *this;
}

bool ChildProcess::running() {
  if (pid_ < 0) return false;
  int status = 0;
  pid_t done = ::waitpid(pid_, &status, WNOHANG);
  if (done == pid_) {
    exit_code_ = decode_status(status);
    pid_ = -1;
    return false;
  }
  return done == 0;
}

void ChildProcess::kill(int signal) {
  if (running()) ::kill(pid_, signal);
}

int ChildProcess::wait() {
  if (pid_ >= 0) {
    exit_code_ = reap(pid_);
    pid_ = -1;
  }
  return exit_code_;
}

void ChildProcess::terminate(std::chrono::milliseconds grace) {
  if (!running()) return;
  ::kill(pid_, SIGTERM);
  const auto deadline = Clock::now() + grace;
  while (running() && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (pid_ >= 0) {
    ::kill(pid_, SIGKILL);
    wait();
  }
}

}  // namespace envbuild::testing
