#pragma once
// Advisory flock(2) locks. flock is tied to the open file description, so a
// lock held by a process disappears when it dies (even by SIGKILL), and two
// descriptors opened separately in one process exclude each other as well.
#include <filesystem>
#include <optional>

namespace envbuild::registry {

enum class LockMode { Shared, Exclusive };

// Locks an open descriptor. Blocks when `wait`; otherwise returns false if
// another holder conflicts. `what` names the file in errors.
bool lock_descriptor(int fd, LockMode mode, bool wait, const std::filesystem::path& what);

// A held lock on a lock file (created if missing), released on destruction.
class FileLock {
 public:
  // Blocks until the lock is held.
  static FileLock acquire(const std::filesystem::path& lock_file,
                          LockMode mode = LockMode::Exclusive);
  // Returns nullopt when another holder conflicts.
  static std::optional<FileLock> try_acquire(const std::filesystem::path& lock_file,
                                             LockMode mode = LockMode::Exclusive);

  ~FileLock();
  FileLock(FileLock&& other) noexcept;
  FileLock& operator=(FileLock&& other) noexcept;
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

  const std::filesystem::path& path() const { return path_; }

 private:
  FileLock(int fd, std::filesystem::path path) : fd_(fd), path_(std::move(path)) {}
  int fd_ = -1;
  std::filesystem::path path_;
};

}  // namespace envbuild::registry
