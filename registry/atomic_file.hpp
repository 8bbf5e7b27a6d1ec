#pragma once
// Crash-safe file replacement: content goes to a temp file in the target's
// directory, is fsynced, renamed over the target, and the directory is
// fsynced. A reader sees the old file or the new one, never a partial one,
// even if the writer is killed at any moment.
//
// Temp files are named ".tmp-<16 hex>" and the writer holds an exclusive
// flock on its temp from creation until the rename. So a temp file whose
// flock can be taken belongs to nobody (its writer died) and may be removed;
// remove_abandoned_temp does exactly that, and never touches an in-flight one.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace envbuild::registry {

inline constexpr std::string_view kTempPrefix = ".tmp-";

// True for names made by AtomicFile (readers and listings skip them).
bool is_temp_name(std::string_view file_name);

// fsync a directory so a rename or unlink in it is durable.
void fsync_directory(const std::filesystem::path& dir);

// 16 random hex digits (getrandom), for unique temp names.
std::string random_hex16();

// When a commit is durable: at once (fsync of the file and its directory),
// or when the caller syncs the filesystem later, once for many files (see
// builder/conda/fetch/partial_file.hpp). Atomicity is the same for both.
enum class Durability { OnCommit, Deferred };

class AtomicFile {
 public:
  // Creates and locks a fresh temp file next to `final_path`.
  explicit AtomicFile(std::filesystem::path final_path,
                      Durability durability = Durability::OnCommit);
  // Removes the temp file unless committed.
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const void* data, size_t size);
  void write(std::string_view data) { write(data.data(), data.size()); }
  // fsync, rename over the final path (replacing it), fsync the directory
  // (without the fsyncs for Durability::Deferred).
  void commit();
  // Removes the temp file now.
  void discard();

  const std::filesystem::path& temp_path() const { return temp_path_; }
  const std::filesystem::path& final_path() const { return final_path_; }
  // The temp's descriptor until commit or discard (-1 after).
  int descriptor() const { return fd_; }

 private:
  std::filesystem::path final_path_;
  std::filesystem::path temp_path_;
  Durability durability_;
  int fd_ = -1;
};

// Replaces `path` with `content` atomically.
void write_file_atomic(const std::filesystem::path& path, std::string_view content);

// Removes the temp file `path` if no writer holds it (its writer died).
// Returns its size when it was (or, with dry_run, would be) removed; nullopt
// when it is in flight or already gone.
std::optional<uint64_t> remove_abandoned_temp(const std::filesystem::path& path, bool dry_run);

}  // namespace envbuild::registry
